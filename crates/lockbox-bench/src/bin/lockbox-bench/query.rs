//! Benchmark 5, page queries on the big store: `Engine::audit_page` and
//! `Engine::list_requests` against the same SQL on a raw connection; p50/p99.

use crate::big_store::{big_store, open_big};
use crate::common::{raw_conn, result_line, Cfg, Row};
use lockbox_bench::fixture::{self, t_ref_ms};
use lockbox_bench::{ms, percentile, BoxResult};
use lockbox_core::clock::from_millis;
use lockbox_core::model::State;
use lockbox_core::store::{AuditQuery, RequestQuery, RequestSort};
use rusqlite::{params, params_from_iter, Connection};
use std::hint::black_box;
use std::time::Instant;

struct Lat {
    p50: f64,
    p99: f64,
}

fn lat(mut f: impl FnMut() -> BoxResult<usize>, iters: usize) -> BoxResult<Lat> {
    for _ in 0..5 {
        f()?;
    }
    let mut s = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t = Instant::now();
        black_box(f()?);
        s.push(ms(t.elapsed()));
    }
    Ok(Lat {
        p50: percentile(&s, 50.0),
        p99: percentile(&s, 99.0),
    })
}

/// Raw: the same SELECT in one read transaction (as the engine reads),
/// rows mapped to owned values.
fn raw_rows(c: &Connection, sql: &str, args: &[rusqlite::types::Value]) -> BoxResult<usize> {
    let tx = c.unchecked_transaction()?;
    let mut n = 0;
    {
        let mut stmt = tx.prepare_cached(sql)?;
        let mut rows = stmt.query(params_from_iter(args.iter()))?;
        while let Some(r) = rows.next()? {
            let mut v = Vec::with_capacity(r.as_ref().column_count());
            for i in 0..r.as_ref().column_count() {
                v.push(r.get::<_, rusqlite::types::Value>(i)?);
            }
            black_box(v);
            n += 1;
        }
    }
    tx.commit()?;
    Ok(n)
}

pub fn run(cfg: &Cfg) -> BoxResult<Vec<Row>> {
    let (path, nreq, naudit) = big_store(cfg)?;
    println!(
        "\n== 5. page queries over {naudit} audit entries and {nreq} requests: Engine (audit_page, \
         list_requests) vs the same SQL on a raw connection; p50/p99"
    );
    let mut e = open_big(&path)?;
    let raw = raw_conn(&path)?;
    let iters = cfg.size(300, 100) * cfg.runs.max(1) / 3;
    let some_request: String = raw.query_row(
        "SELECT request_id FROM audit_log WHERE operation = 'access_used' ORDER BY seq DESC LIMIT 1",
        [],
        |r| r.get(0),
    )?;
    let cols = "seq, at, recorded_at, tenant, actor_kind, actor, operation, request_id, details, prev_hash, hash";
    use rusqlite::types::Value as V;
    let since = t_ref_ms() - 7 * fixture::DAY;
    let text_pat = "%export mailbox rules%".to_string();
    // A window from `from` to `to` days ago: bounded by its newest entry as the
    // engine finds it (the in-order probe, then the late entries).
    let past_window = |name: &'static str, from: i64, to: i64| {
        let (a, b) = (
            t_ref_ms() - from * fixture::DAY,
            t_ref_ms() - to * fixture::DAY,
        );
        (
            name,
            AuditQuery {
                since: Some(from_millis(a)),
                until: Some(from_millis(b)),
                ..Default::default()
            },
            format!("SELECT {cols} FROM audit_log WHERE tenant = ?1 AND +at >= ?2 AND +at < ?3
                       AND seq <= MAX(COALESCE((SELECT seq FROM audit_log INDEXED BY audit_in_order_by_time
                                                  WHERE tenant = ?1 AND late = 0 AND at >= ?2 AND at < ?3
                                                  ORDER BY at DESC, seq DESC LIMIT 1), 0),
                                      COALESCE((SELECT MAX(seq) FROM audit_log INDEXED BY audit_late_by_time
                                                  WHERE tenant = ?1 AND late = 1 AND at >= ?2 AND at < ?3), 0))
                     ORDER BY seq DESC LIMIT 50"),
            vec![V::Text("default".into()), V::Integer(a), V::Integer(b)],
        )
    };
    let cases: Vec<(&str, AuditQuery, String, Vec<V>)> = vec![
        (
            "operation = approved",
            AuditQuery {
                operation: Some("approved".into()),
                ..Default::default()
            },
            format!("SELECT {cols} FROM audit_log WHERE tenant = ? AND operation = ? ORDER BY seq DESC LIMIT 50"),
            vec![V::Text("default".into()), V::Text("approved".into())],
        ),
        (
            "actor = eng07",
            AuditQuery {
                actor: Some("eng07@provider.example".into()),
                ..Default::default()
            },
            format!("SELECT {cols} FROM audit_log WHERE tenant = ? AND actor = ? ORDER BY seq DESC LIMIT 50"),
            vec![V::Text("default".into()), V::Text("eng07@provider.example".into())],
        ),
        (
            "request = one request",
            AuditQuery {
                request_id: Some(some_request.clone()),
                ..Default::default()
            },
            format!("SELECT {cols} FROM audit_log WHERE tenant = ? AND request_id = ? ORDER BY seq DESC LIMIT 50"),
            vec![V::Text("default".into()), V::Text(some_request.clone())],
        ),
        // Time windows: the raw SQL uses the plan Lockbox picks for a large
        // window (newest first by seq, `+at` keeps SQLite off the time index;
        // bounded by the window's newest seq when it ends in the past).
        (
            "since 7 days",
            AuditQuery {
                since: Some(from_millis(since)),
                ..Default::default()
            },
            format!("SELECT {cols} FROM audit_log WHERE tenant = ? AND +at >= ? ORDER BY seq DESC LIMIT 50"),
            vec![V::Text("default".into()), V::Integer(since)],
        ),
        (
            "operation = rejected, since 30 days",
            AuditQuery {
                operation: Some("rejected".into()),
                since: Some(from_millis(t_ref_ms() - 30 * fixture::DAY)),
                ..Default::default()
            },
            format!("SELECT {cols} FROM audit_log WHERE tenant = ? AND +at >= ? AND operation = ? ORDER BY seq DESC LIMIT 50"),
            vec![V::Text("default".into()), V::Integer(t_ref_ms() - 30 * fixture::DAY), V::Text("rejected".into())],
        ),
        past_window("from 90 to 60 days ago", 90, 60),
        past_window("one day, 45 days ago", 45, 44),
        (
            "text 'export mailbox rules'",
            AuditQuery {
                text: Some("export mailbox rules".into()),
                ..Default::default()
            },
            format!("SELECT {cols} FROM audit_log WHERE tenant = ? AND (actor LIKE ? ESCAPE '\\' OR operation LIKE ? ESCAPE '\\' OR request_id LIKE ? ESCAPE '\\' OR details LIKE ? ESCAPE '\\') ORDER BY seq DESC LIMIT 50"),
            vec![V::Text("default".into()), V::Text(text_pat.clone()), V::Text(text_pat.clone()), V::Text(text_pat.clone()), V::Text(text_pat)],
        ),
    ];
    let mut rows = Vec::new();
    for (name, q, sql, args) in cases {
        let mut q = q;
        q.limit = Some(50);
        let n = e.audit_page("default", &q)?.len();
        let rn = raw_rows(&raw, &sql, &args)?;
        if n != rn || n == 0 {
            return Err(format!("audit '{name}': lockbox {n} rows, raw {rn}").into());
        }
        let lb = lat(|| Ok(e.audit_page("default", &q)?.len()), iters)?;
        let rw = lat(|| raw_rows(&raw, &sql, &args), iters)?;
        rows.push(query_row(
            &format!("5. audit page (50 rows) of {}k, {name}", naudit / 1000),
            &lb,
            &rw,
        ));
    }
    // The Service requests page: first page (20, as the UI asks), newest first, with the total.
    let req_cols = "id, tenant, state, case_number, workload, resource, reason, requester,
        requested_duration_s, granted_duration_s, created_at, expires_at, approved_at, access_ends_at,
        closed_at, approvals_required, provider_approvals_required, lockbox_required";
    for (name, states) in [("all states", vec![]), ("pending", vec![State::Pending])] {
        let q = RequestQuery {
            states: states.clone(),
            sort: RequestSort::Newest,
            limit: 20,
            ..Default::default()
        };
        let st: Vec<String> = states.iter().map(|s| s.as_str().to_string()).collect();
        let wh = if st.is_empty() {
            "tenant = ?1".to_string()
        } else {
            "tenant = ?1 AND state = ?2".to_string()
        };
        let mut args = vec![V::Text("default".into())];
        args.extend(st.iter().map(|s| V::Text(s.clone())));
        let count_sql = format!("SELECT COUNT(*) FROM requests WHERE {wh}");
        let page_sql = format!(
            "SELECT {req_cols}, created_at FROM requests WHERE {wh} ORDER BY created_at DESC, id DESC LIMIT 21"
        );
        let raw_page = || -> BoxResult<usize> {
            let tx = raw.unchecked_transaction()?;
            let total: i64 = raw
                .prepare_cached(&count_sql)?
                .query_row(params_from_iter(args.iter()), |r| r.get(0))?;
            black_box(total);
            let mut ids = Vec::new();
            {
                let mut stmt = raw.prepare_cached(&page_sql)?;
                let mut rs = stmt.query(params_from_iter(args.iter()))?;
                while let Some(r) = rs.next()? {
                    let mut v = Vec::with_capacity(19);
                    for i in 0..19 {
                        v.push(r.get::<_, V>(i)?);
                    }
                    ids.push(r.get::<_, String>(0)?);
                    black_box(v);
                }
            }
            ids.truncate(20);
            let mut dstmt = raw.prepare_cached(
                "SELECT level, actor, decision, comment, duration_s, at FROM decisions WHERE request_id = ?1 ORDER BY idx",
            )?;
            for id in &ids {
                let mut rs = dstmt.query(params![id])?;
                while let Some(r) = rs.next()? {
                    black_box(r.get::<_, String>(1)?);
                }
            }
            drop(dstmt);
            tx.commit()?;
            Ok(ids.len())
        };
        let n = e.list_requests("default", &q)?.items.len();
        let rn = raw_page()?;
        if n != rn {
            return Err(format!("requests '{name}': lockbox {n} rows, raw {rn}").into());
        }
        let lb = lat(|| Ok(e.list_requests("default", &q)?.items.len()), iters)?;
        let rw = lat(raw_page, iters)?;
        rows.push(query_row(
            &format!(
                "5. Service requests first page (20) of {}k, {name}",
                nreq / 1000
            ),
            &lb,
            &rw,
        ));
    }
    Ok(rows)
}

fn query_row(op: &str, lb: &Lat, rw: &Lat) -> Row {
    let met = lb.p50 < 10.0;
    let f = |l: &Lat| format!("p50 {:.2} ms, p99 {:.2} ms", l.p50, l.p99);
    result_line(
        op,
        &f(lb),
        &f(rw),
        &format!("{:.2}x (p50)", lb.p50 / rw.p50),
        "p50 < 10 ms",
        met,
    );
    Row {
        op: op.to_string(),
        lockbox: f(lb),
        baseline: f(rw),
        ratio: format!("{:.2}x (p50)", lb.p50 / rw.p50),
        target: "p50 < 10 ms".into(),
        met: Some(met),
    }
}
