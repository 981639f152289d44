//! Benchmark 10, the provider API of a team server: two `lockbox serve`
//! instances (the release `lockbox` binary beside this one, or
//! `LOCKBOX_BIN`) on one PostgreSQL database holding T tenants (a provider
//! token each) and N requests already stored; 16 HTTP clients (threads,
//! each a kept-alive `reqwest` blocking client on one of the instances,
//! 8 per instance) send an even mix of "file a request" (`POST
//! /v1/requests`) and "access check" (`GET /v1/requests/{id}/access` on a
//! stored request of the client's tenant), each call on a random tenant.
//!
//! Two runs on the big store: paced (open loop, 200 calls/s in all, each
//! call at its scheduled time; latency is measured from that time, so a
//! stall counts for every call it delays) and unpaced (each client sends
//! its next call when the last returns: the most the pair sustains). Then
//! the growth: both runs again on stores of 10 000 requests with T and
//! with 10 tenants.
//!
//! The stored requests (filed, provider-approved, expired unanswered: 3
//! audit entries each, on valid chains) are written by COPY
//! (`lockbox_bench::fixture::pg`); tenants and tokens through the engine.

use crate::common::{Cfg, Row};
use crate::pg_server::{add_tenants, admin_url, create_db, db_size, describe, drop_db};
use chrono::Utc;
use lockbox_bench::fixture::{pg, DAY, HOUR};
use lockbox_bench::{cores, percentile, BoxResult};
use lockbox_core::store::StoreLocation;
use lockbox_core::{Engine, Principal, SystemClock};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const CLIENTS: usize = 16;
const PACED_RATE: f64 = 200.0;
/// Stored requests kept per tenant for the access checks.
const SAMPLE_PER_TENANT: usize = 64;

/// The `lockbox` binary: `LOCKBOX_BIN`, else beside this one.
fn lockbox_bin() -> BoxResult<PathBuf> {
    if let Some(b) = std::env::var_os("LOCKBOX_BIN") {
        return Ok(PathBuf::from(b));
    }
    let exe = std::env::current_exe()?;
    let b = exe.with_file_name("lockbox");
    if b.is_file() {
        Ok(b)
    } else {
        Err(format!(
            "no `lockbox` binary at {}: build it (`cargo build --release -p lockbox-cli`; \
             `make bench` does) or set LOCKBOX_BIN",
            b.display()
        )
        .into())
    }
}

/// A database ready for the load: its tenants' tokens and stored request ids.
struct Store {
    name: String,
    url: String,
    key: PathBuf,
    /// (tenant, token, stored request ids of the tenant)
    tenants: Vec<(String, String, Vec<String>)>,
}

fn setup(admin: &str, dir: &Path, name: &str, nt: usize, n: usize) -> BoxResult<Store> {
    let url = create_db(admin, name, None)?;
    let key = dir.join(format!("{name}.key"));
    let _ = std::fs::remove_file(&key);
    let t = Instant::now();
    let mut tenants = Vec::with_capacity(nt);
    {
        let mut e = Engine::open_at(
            &StoreLocation::Postgres(url.clone()),
            &key,
            Arc::new(SystemClock),
            "root",
        )?;
        let root = Principal::os_user("root", 0);
        for t in add_tenants(&mut e, nt)? {
            let (_, token) = e.issue_token(&t, &root, "ticketing", None)?;
            tenants.push((t, token, Vec::new()));
        }
    }
    let engine_s = t.elapsed().as_secs_f64();
    // Stored requests over the last 60 days, each expired 12 h after filing.
    let t = Instant::now();
    let mut c = postgres::Client::connect(&url, postgres::NoTls)?;
    let mut load = pg::PgLoad::open(&mut c)?;
    let now = Utc::now().timestamp_millis();
    let span = 60 * DAY;
    let start = now - span - 13 * HOUR;
    let stride = (n / nt.max(1) / SAMPLE_PER_TENANT).max(1);
    for i in 0..n {
        let created = start + (i as i64 * span) / n.max(1) as i64;
        let k = i % nt;
        let id = pg::expired_request(&mut load, i, &tenants[k].0, created, created + 12 * HOUR);
        if (i / nt).is_multiple_of(stride) && tenants[k].2.len() < SAMPLE_PER_TENANT {
            tenants[k].2.push(id);
        }
        if load.buffered >= 20_000 {
            load.flush(&mut c)?;
        }
    }
    load.flush(&mut c)?;
    let copy_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    c.batch_execute("VACUUM ANALYZE")?;
    println!(
        "   store {name}: {nt} tenants + tokens through the engine {engine_s:.1} s; {n} stored \
         requests (3 audit entries each) by COPY {copy_s:.1} s ({:.0} requests/s), VACUUM ANALYZE \
         {:.1} s; {}",
        n as f64 / copy_s.max(1e-9),
        t.elapsed().as_secs_f64(),
        db_size(&mut c)?
    );
    drop(c);
    tick_cost(&url, &key)?;
    if tenants.iter().any(|t| t.2.is_empty()) {
        return Err("a tenant without stored requests (more tenants than requests?)".into());
    }
    Ok(Store {
        name: name.into(),
        url,
        key,
        tenants,
    })
}

/// What every write costs each instance besides the call itself: a write
/// (from either instance: NOTIFY) wakes both instances' background loop,
/// whose scheduler tick holds the instance's engine; its parts timed here on
/// an engine of this store (medians of 5, after one to warm up).
fn tick_cost(url: &str, key: &Path) -> BoxResult<()> {
    let mut e = Engine::open_at(
        &StoreLocation::Postgres(url.into()),
        key,
        Arc::new(SystemClock),
        "root",
    )?;
    let mut sched = lockbox_core::scheduler::Scheduler::default();
    let time = |f: &mut dyn FnMut() -> BoxResult<()>| -> BoxResult<f64> {
        f()?;
        let mut t = Vec::new();
        for _ in 0..5 {
            let s = Instant::now();
            f()?;
            t.push(s.elapsed().as_secs_f64() * 1000.0);
        }
        Ok(lockbox_bench::median(&t))
    };
    let tick = time(&mut || {
        // A fresh scheduler state: as after a write, the reminder scan runs too.
        sched = lockbox_core::scheduler::Scheduler::default();
        sched.tick(&mut e)?;
        Ok(())
    })?;
    let checkpoints = time(&mut || {
        e.sign_due_checkpoints()?;
        Ok(())
    })?;
    let due = time(&mut || {
        e.apply_due()?;
        Ok(())
    })?;
    println!(
        "   one scheduler tick (run by both instances after every write): {tick:.1} ms, of \
         which sign_due_checkpoints {checkpoints:.1} ms (reads every tenant's head and last \
         checkpoint), apply_due {due:.1} ms"
    );
    Ok(())
}

fn free_port() -> BoxResult<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Two `lockbox serve` instances on the store; stopped (SIGTERM) on drop.
struct Servers {
    children: Vec<Child>,
    ports: Vec<u16>,
}

impl Servers {
    fn start(bin: &Path, store: &Store, dir: &Path) -> BoxResult<Servers> {
        let mut s = Servers {
            children: Vec::new(),
            ports: Vec::new(),
        };
        for name in ["a", "b"] {
            let port = free_port()?;
            let log = std::fs::File::create(dir.join(format!("serve-{}-{name}.log", store.name)))?;
            let child = Command::new(bin)
                .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
                .args(["--rate", "1000000"])
                .env("LOCKBOX_STORE", &store.url)
                .env("LOCKBOX_RECEIPT_KEY", &store.key)
                .env_remove("LOCKBOX_NOW")
                .env_remove("LOCKBOX_DB")
                .env_remove("LOCKBOX_TENANT")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()?;
            s.children.push(child);
            s.ports.push(port);
        }
        let http = reqwest::blocking::Client::new();
        for &port in &s.ports {
            let t = Instant::now();
            loop {
                let ok = http
                    .get(format!("http://127.0.0.1:{port}/readyz"))
                    .send()
                    .is_ok_and(|r| r.status().is_success());
                if ok {
                    break;
                }
                if t.elapsed() > Duration::from_secs(60) {
                    return Err(format!("lockbox serve on port {port} not ready in 60 s").into());
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Ok(s)
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let _ = c.wait();
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    File,
    Access,
}

/// One call: (operation, latency ms, ok).
type Call = (Op, f64, bool);

/// One client's calls, when its last returned, and its first error.
type ClientRun = (Vec<Call>, Instant, Option<String>);

struct Outcome {
    calls: Vec<Call>,
    elapsed_s: f64,
    first_error: Option<String>,
}

/// `CLIENTS` clients for `secs` seconds, paced at `rate` calls/s in all or unpaced.
/// `reads_only`: access checks only (no writes, so no NOTIFY and no tick).
fn drive(
    servers: &Servers,
    store: &Store,
    rate: Option<f64>,
    secs: f64,
    reads_only: bool,
) -> BoxResult<Outcome> {
    let start = Barrier::new(CLIENTS + 1);
    let t0_cell = std::sync::OnceLock::<Instant>::new();
    let results: Vec<Result<ClientRun, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|k| {
                let (start, t0_cell) = (&start, &t0_cell);
                let port = servers.ports[k % servers.ports.len()];
                s.spawn(move || client(k, port, store, (rate, reads_only), secs, start, t0_cell))
            })
            .collect();
        start.wait();
        let _ = t0_cell.set(Instant::now());
        // The clients read t0 after a second barrier, so it is set.
        start.wait();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("a client panicked".into())))
            .collect()
    });
    let t0 = *t0_cell.get().ok_or("no start time")?;
    let mut calls = Vec::new();
    let mut end = t0;
    let mut first_error = None;
    for r in results {
        let (c, done, err) = r?;
        calls.extend(c);
        end = end.max(done);
        if first_error.is_none() {
            first_error = err;
        }
    }
    Ok(Outcome {
        calls,
        elapsed_s: (end - t0).as_secs_f64(),
        first_error,
    })
}

fn client(
    k: usize,
    port: u16,
    store: &Store,
    (rate, reads_only): (Option<f64>, bool),
    secs: f64,
    start: &Barrier,
    t0_cell: &std::sync::OnceLock<Instant>,
) -> Result<ClientRun, String> {
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build();
    let mut rng = lockbox_bench::rng(1000 + k as u64);
    let base = format!("http://127.0.0.1:{port}");
    let mut first_error = None;
    let mut one = |http: &reqwest::blocking::Client, op: Op, j: usize| -> Result<(), String> {
        let (tenant, token, ids) = &store.tenants[rng.usize(..store.tenants.len())];
        let r = match op {
            Op::File => http
                .post(format!("{base}/v1/requests"))
                .bearer_auth(token)
                .json(&serde_json::json!({
                    "engineer": format!("eng{k:02}@provider.example"),
                    "case": format!("SR-{k}-{j}"),
                    "workload": "Exchange Online",
                    "resource": format!("Mailbox: user{j}@{tenant}.example"),
                    "reason": "Mail flow rule drops messages for this mailbox",
                    "duration": "1h",
                }))
                .send(),
            Op::Access => http
                .get(format!(
                    "{base}/v1/requests/{}/access",
                    ids[rng.usize(..ids.len())]
                ))
                .bearer_auth(token)
                .send(),
        };
        let want = if op == Op::File { 201 } else { 200 };
        match r {
            Ok(r) if r.status().as_u16() == want => r.bytes().map(drop).map_err(|e| e.to_string()),
            Ok(r) => {
                let status = r.status();
                Err(format!("{status}: {}", r.text().unwrap_or_default()))
            }
            Err(e) => Err(e.to_string()),
        }
    };
    let prepared = http.map_err(|e| e.to_string()).and_then(|http| {
        // Warm up: the kept-alive connection, both routes.
        one(&http, Op::File, 0)?;
        one(&http, Op::Access, 0)?;
        Ok(http)
    });
    start.wait();
    start.wait();
    let http = prepared?;
    let t0 = *t0_cell.get().ok_or("no start time")?;
    let stop = t0 + Duration::from_secs_f64(secs);
    let mut calls = Vec::new();
    let mut last = t0;
    for j in 1.. {
        let due = match rate {
            Some(r) => t0 + Duration::from_secs_f64(((j - 1) * CLIENTS + k) as f64 / r),
            None => Instant::now(),
        };
        if due >= stop {
            break;
        }
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        let op = if !reads_only && (j + k).is_multiple_of(2) {
            Op::File
        } else {
            Op::Access
        };
        let sent = Instant::now();
        let res = one(&http, op, j);
        last = Instant::now();
        let from = if rate.is_some() { due } else { sent };
        calls.push((op, (last - from).as_secs_f64() * 1000.0, res.is_ok()));
        if let Err(e) = res {
            first_error.get_or_insert(e);
        }
    }
    Ok((calls, last, first_error))
}

/// Per operation: (calls, errors, p50 ms, p99 ms, max ms).
fn stats(calls: &[Call], op: Op) -> (usize, usize, f64, f64, f64) {
    let lat: Vec<f64> = calls
        .iter()
        .filter(|c| c.0 == op && c.2)
        .map(|c| c.1)
        .collect();
    let all = calls.iter().filter(|c| c.0 == op).count();
    let max = lat.iter().copied().fold(0.0, f64::max);
    (
        all,
        all - lat.len(),
        percentile(&lat, 50.0),
        percentile(&lat, 99.0),
        max,
    )
}

/// Print a run; its figures per operation.
fn report(label: &str, o: &Outcome) -> [(usize, usize, f64, f64, f64); 2] {
    let ok = o.calls.iter().filter(|c| c.2).count();
    println!(
        "   {label}: {} calls in {:.1} s = {:.1} calls/s sustained ({} failed{})",
        o.calls.len(),
        o.elapsed_s,
        ok as f64 / o.elapsed_s,
        o.calls.len() - ok,
        o.first_error
            .as_deref()
            .map_or(String::new(), |e| format!("; first: {e}"))
    );
    let mut out = [(0, 0, 0.0, 0.0, 0.0); 2];
    for (i, (op, name)) in [(Op::File, "file a request"), (Op::Access, "access check")]
        .into_iter()
        .enumerate()
    {
        let s = stats(&o.calls, op);
        println!(
            "      {name:<15} {:>6} calls, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            s.0, s.2, s.3, s.4
        );
        out[i] = s;
    }
    out
}

fn ms2(p50: f64, p99: f64) -> String {
    format!("p50 {p50:.1} ms, p99 {p99:.1} ms")
}

pub fn run(
    cfg: &Cfg,
    pg: Option<&str>,
    stored: Option<usize>,
    tenants: Option<usize>,
    seconds: Option<u64>,
) -> BoxResult<Vec<Row>> {
    let n = stored.unwrap_or(cfg.size(100_000, 10_000));
    let nt = tenants.unwrap_or(cfg.size(500, 50)).max(1);
    let secs = seconds.unwrap_or(cfg.size(20, 5) as u64).max(1) as f64;
    let bin = lockbox_bin()?;
    println!(
        "\n== 10. provider API on 2 `lockbox serve` instances on PostgreSQL: {nt} tenants, {n} \
         stored requests; {CLIENTS} kept-alive clients, file + access check, paced at \
         {PACED_RATE} calls/s and unpaced, {secs} s each (server: {}; {} cores shared by \
         clients, servers and PostgreSQL)",
        describe(pg),
        cores()
    );
    let admin = admin_url(pg);
    let dir = cfg.dir.join("api-pg");
    std::fs::create_dir_all(&dir)?;
    let mut rows = Vec::new();
    let met_p99 = |s: &(usize, usize, f64, f64, f64)| s.1 == 0 && s.3 < 50.0;

    let main = setup(&admin, &dir, "lockbox_bench_api_main", nt, n)?;
    let (paced, paced_rate, unpaced, unpaced_rate);
    {
        let servers = Servers::start(&bin, &main, &dir)?;
        let o = drive(&servers, &main, Some(PACED_RATE), secs, false)?;
        paced = report(&format!("paced {PACED_RATE} calls/s"), &o);
        let rate = sustained(&o);
        paced_rate = rate;
        for (s, name) in paced.iter().zip(["file a request", "access check"]) {
            let met = met_p99(s);
            crate::common::result_line(
                &format!("API {name} at {PACED_RATE} calls/s ({nt} tenants, {n} stored)"),
                &ms2(s.2, s.3),
                "-",
                "-",
                "p99 < 50 ms",
                met,
            );
            rows.push(Row {
                op: format!(
                    "10. API {name}, paced {PACED_RATE} calls/s ({rate:.0} sustained), 2 instances, \
                     {nt} tenants, {n} stored"
                ),
                lockbox: ms2(s.2, s.3),
                baseline: "-".into(),
                ratio: "-".into(),
                target: "p99 < 50 ms".into(),
                met: Some(met),
            });
        }
        let o = drive(&servers, &main, None, secs, false)?;
        let un = report("unpaced", &o);
        let rate = sustained(&o);
        (unpaced, unpaced_rate) = (un, rate);
        println!(
            "RESULT API max throughput ({nt} tenants, {n} stored, 2 instances, {CLIENTS} clients): \
             {rate:.0} calls/s | file {} | access {} | {} cores",
            ms2(un[0].2, un[0].3),
            ms2(un[1].2, un[1].3),
            cores()
        );
        rows.push(Row {
            op: format!("10. API unpaced, {CLIENTS} clients, {nt} tenants, {n} stored"),
            lockbox: format!(
                "{rate:.0} calls/s; file {}; access {}",
                ms2(un[0].2, un[0].3),
                ms2(un[1].2, un[1].3)
            ),
            baseline: "-".into(),
            ratio: "-".into(),
            target: "-".into(),
            met: None,
        });
        // Control: the same pace, access checks only: no write, so no NOTIFY
        // and no scheduler tick (what the mix pays for its writes).
        let o = drive(&servers, &main, Some(PACED_RATE), secs, true)?;
        let ro = report(
            &format!("control: access checks only, paced {PACED_RATE} calls/s"),
            &o,
        );
        rows.push(Row {
            op: format!(
                "10. control: access checks only, paced {PACED_RATE} calls/s, {nt} tenants, {n} stored"
            ),
            lockbox: format!("{:.0} calls/s sustained; {}", sustained(&o), ms2(ro[1].2, ro[1].3)),
            baseline: "-".into(),
            ratio: "-".into(),
            target: "-".into(),
            met: None,
        });
    }
    drop_db(&admin, &main.name)?;

    // Growth: the paced and unpaced runs on 10 000 stored requests, with nt
    // and 10 tenants.
    let small = 10_000.min(n);
    let mut growth = vec![((nt, n), paced, paced_rate, unpaced, unpaced_rate)];
    for (t, name) in [
        (nt, "lockbox_bench_api_small"),
        (10.min(nt), "lockbox_bench_api_few"),
    ] {
        if growth.iter().any(|g| g.0 == (t, small)) {
            continue;
        }
        let s = setup(&admin, &dir, name, t, small)?;
        {
            let servers = Servers::start(&bin, &s, &dir)?;
            let o = drive(&servers, &s, Some(PACED_RATE), secs, false)?;
            let p = report(
                &format!("paced {PACED_RATE} calls/s, {t} tenants, {small} stored"),
                &o,
            );
            let pr = sustained(&o);
            let o = drive(&servers, &s, None, secs, false)?;
            let u = report(&format!("unpaced, {t} tenants, {small} stored"), &o);
            growth.push(((t, small), p, pr, u, sustained(&o)));
        }
        drop_db(&admin, name)?;
    }
    println!("   growth (paced {PACED_RATE} calls/s | unpaced):");
    for ((t, k), p, pr, u, ur) in &growth {
        let line = format!(
            "paced: {pr:.0} calls/s sustained, file {}, access {} | unpaced: {ur:.0} calls/s, \
             file {}, access {}",
            ms2(p[0].2, p[0].3),
            ms2(p[1].2, p[1].3),
            ms2(u[0].2, u[0].3),
            ms2(u[1].2, u[1].3)
        );
        println!("      {t:>4} tenants, {k:>8} stored: {line}");
        rows.push(Row {
            op: format!("10. growth: {t} tenants, {k} stored"),
            lockbox: line,
            baseline: "-".into(),
            ratio: "-".into(),
            target: "-".into(),
            met: None,
        });
    }
    Ok(rows)
}

/// Successful calls per second over the run.
fn sustained(o: &Outcome) -> f64 {
    o.calls.iter().filter(|c| c.2).count() as f64 / o.elapsed_s
}
