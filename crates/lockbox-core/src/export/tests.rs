//! Unit tests of the export writer and the file verifier.

use super::verify::*;
use super::*;
use crate::audit::{entry_hash, HashInput, GENESIS};
use crate::clock::from_millis;
use crate::model::ActorKind;

/// Text a provider could send, or a store could hold: formula starts,
/// the escape character, quotes, separators, line breaks, control and
/// format characters, U+2028, non-BMP.
pub(crate) const HOSTILE: &[&str] = &[
    "=HYPERLINK(\"https://evil.example/\",\"x\")",
    "'already quoted",
    "''two",
    "-1",
    "+1",
    "@SUM(A1)",
    "\tTAB first",
    "\rCR first",
    "a,b;\"c\"\\d",
    "line1\nline2\r\nline3\rend",
    "esc\u{1b}[31m nul\u{0} del\u{7f}",
    "sep\u{2028}para\u{2029}",
    "bidi\u{202e}txt.exe zw\u{200b}",
    "emoji 😀 flag 🇩🇪 math 𝔸 cjk 漢字",
    "",
    " spaced ",
];

/// Details texts that are not what serde_json would write: they are
/// hashed as they are.
const ODD_DETAILS: &[&str] = &[
    "{}",
    r#"{"b": 1, "a": [1e400, 123456789012345678901234567890, -0, 1.0]}"#,
    "{\"s\":\"\\u00e9\\ud83d\\ude00\\/\"}",
    "{\n  \"pretty\": true\n}",
    "{\"raw\":\"\u{2028}😀\"}",
    "{\"ctl\":\"\\u001f\\u001F\\b\\f\\n\\r\\t\"}",
];

fn entry(
    seq: i64,
    tenant: &str,
    tenant_seq: i64,
    prev: &str,
    text: &str,
    details: &str,
) -> AuditEntry {
    let at_ms = 1_795_942_800_000 + seq * 1001;
    let request_id = (seq % 3 != 0).then(|| format!("req-{text}"));
    let hash = entry_hash(&HashInput {
        tenant_seq,
        at_ms,
        recorded_ms: at_ms + 7,
        tenant,
        actor_kind: "provider",
        actor: text,
        operation: text,
        request_id: request_id.as_deref(),
        details,
        prev_hash: prev,
    });
    AuditEntry {
        seq,
        tenant_seq,
        at: from_millis(at_ms),
        recorded_at: from_millis(at_ms + 7),
        tenant: tenant.to_string(),
        actor_kind: ActorKind::Provider,
        actor: text.to_string(),
        operation: text.to_string(),
        request_id,
        details: details.to_string(),
        prev_hash: prev.to_string(),
        hash,
    }
}

/// Two tenants (one named like a formula) written in turns, every
/// hostile text in actor, operation and request id, odd details.
pub(crate) fn hostile_chain() -> Vec<AuditEntry> {
    let tenants = ["default", "=evil,\"t\""];
    let mut heads = [GENESIS.to_string(), GENESIS.to_string()];
    let mut counts = [0i64, 0];
    let mut out = Vec::new();
    let mut seq = 10;
    for (i, text) in HOSTILE.iter().enumerate() {
        let t = i % 2;
        counts[t] += 1;
        seq += 1 + i as i64 % 3;
        let details = if i < ODD_DETAILS.len() {
            ODD_DETAILS[i].to_string()
        } else {
            serde_json::json!({ "comment": text, "n": u64::MAX, "i": i }).to_string()
        };
        let e = entry(seq, tenants[t], counts[t], &heads[t], text, &details);
        heads[t] = e.hash.clone();
        out.push(e);
    }
    out
}

fn export(entries: &[AuditEntry], format: ExportFormat) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = ExportWriter::new(format, &mut out).unwrap();
    for e in entries {
        w.write(e).unwrap();
    }
    assert_eq!(w.finish().unwrap(), entries.len() as u64);
    out
}

fn verify(format: ExportFormat, bytes: &[u8]) -> ExportOutcome {
    verify_export(format, &mut &bytes[..]).unwrap()
}

fn bad_line(format: ExportFormat, bytes: &[u8]) -> BadLine {
    let v = verify(format, bytes);
    assert!(v.chains.is_empty());
    v.first_bad
        .unwrap_or_else(|| panic!("{format:?} verified:\n{}", String::from_utf8_lossy(bytes)))
}

#[test]
fn hostile_entries_round_trip_exactly_and_verify_in_both_formats() {
    let entries = hostile_chain();
    for format in [ExportFormat::Jsonl, ExportFormat::Csv] {
        let bytes = export(&entries, format);
        let v = verify(format, &bytes);
        assert!(v.ok(), "{format:?}: {:?}", v.first_bad);
        assert_eq!(v.entries, entries.len() as u64);
        assert_eq!(v.chains.len(), 2);
        for c in &v.chains {
            assert!(c.from_genesis);
            let last = entries.iter().rev().find(|e| e.tenant == c.tenant).unwrap();
            assert_eq!(c.head_hash, last.hash);
            assert_eq!(c.last_tenant_seq, last.tenant_seq);
        }
    }
    // Every field comes back exactly, from either format.
    let want: Vec<ExportRow> = entries.iter().map(ExportRow::from).collect();
    let jsonl = export(&entries, ExportFormat::Jsonl);
    let from_jsonl: Vec<ExportRow> = jsonl
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(from_jsonl, want);
    let csv = export(&entries, ExportFormat::Csv);
    let mut rd = csv::ReaderBuilder::new().from_reader(&csv[..]);
    let from_csv: Vec<ExportRow> = rd
        .byte_records()
        .map(|r| parse_csv_record(&r.unwrap()).ok().unwrap())
        .collect();
    assert_eq!(from_csv, want);
    // No CSV cell is a formula.
    let mut rd = csv::ReaderBuilder::new().from_reader(&csv[..]);
    for r in rd.records() {
        for cell in r.unwrap().iter() {
            assert!(
                !matches!(
                    cell.chars().next(),
                    Some('=' | '+' | '-' | '@' | '\t' | '\r')
                ),
                "{cell:?}"
            );
        }
    }
}

/// The lines of a JSON Lines export, or the records (with their start
/// lines) of a CSV export, edited and put back together.
fn jsonl_lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn join(lines: &[String]) -> Vec<u8> {
    lines
        .iter()
        .flat_map(|l| format!("{l}\n").into_bytes())
        .collect()
}

#[test]
fn every_kind_of_edit_names_its_line() {
    let entries = hostile_chain();
    let lines = jsonl_lines(&export(&entries, ExportFormat::Jsonl));
    let j = ExportFormat::Jsonl;
    let edit = |i: usize, f: &dyn Fn(&mut serde_json::Value)| {
        let mut l = lines.clone();
        let mut v: serde_json::Value = serde_json::from_str(&l[i]).unwrap();
        f(&mut v);
        l[i] = v.to_string();
        join(&l)
    };
    // A hashed field edited: that line, not malformed.
    for (i, key) in [
        (0, "actor"),
        (3, "details"),
        (5, "tenant_seq"),
        (7, "at_ms"),
    ] {
        let b = bad_line(
            j,
            &edit(i, &|v| {
                v[key] = match &v[key] {
                    serde_json::Value::Number(n) => (n.as_i64().unwrap() + 1).into(),
                    serde_json::Value::String(s) => format!("{s}x").into(),
                    o => o.clone(),
                }
            }),
        );
        assert_eq!((b.line, b.malformed), (i as u64 + 1, false), "{key}: {b:?}");
    }
    // The readable time edited: caught although it is not hashed.
    let b = bad_line(j, &edit(4, &|v| v["at"] = "2026-11-29T09:00:00Z".into()));
    assert_eq!(b.line, 5);
    assert!(b.problem.contains("unhashed time"), "{}", b.problem);
    // request_id: null vs "" differ; a missing key is malformed.
    let b = bad_line(j, &edit(0, &|v| v["request_id"] = serde_json::Value::Null));
    assert_eq!(b.line, 1);
    let b = bad_line(
        j,
        &edit(2, &|v| {
            v.as_object_mut().unwrap().remove("request_id");
        }),
    );
    assert!(b.malformed && b.line == 3, "{b:?}");
    // Types, extra fields, duplicate keys, JSON errors: malformed, named.
    for (i, bad) in [
        (1, lines[1].replacen("\"seq\":", "\"seq\":1.0,\"x\":", 1)),
        (2, lines[2].replacen('{', "{\"note\":\"trust me\",", 1)),
        (3, lines[3].replacen('{', "{\"actor\":\"a\",", 1)),
        (4, lines[4][..lines[4].len() - 1].to_string()),
        (
            5,
            lines[5].replacen("\"tenant_seq\":", "\"tenant_seq\":\"", 1),
        ),
        (6, String::new()),
    ] {
        let mut l = lines.clone();
        l[i] = bad;
        let b = bad_line(j, &join(&l));
        assert!(b.malformed && b.line == i as u64 + 1, "line {i}: {b:?}");
    }
    // Deleted, swapped, duplicated lines.
    let mut l = lines.clone();
    l.remove(4);
    // Tenants take turns: line 6 is now the deleted entry's tenant's next.
    assert_eq!(bad_line(j, &join(&l)).line, 6);
    let mut l = lines.clone();
    l.remove(4);
    l.remove(4);
    // Lines 5 and 6 were both tenants' next: the first line after them breaks.
    assert_eq!(bad_line(j, &join(&l)).line, 5);
    let mut l = lines.clone();
    l.swap(6, 8);
    assert_eq!(bad_line(j, &join(&l)).line, 7);
    let mut l = lines.clone();
    l.insert(6, lines[6].clone());
    assert_eq!(bad_line(j, &join(&l)).line, 8);
    // The first line removed: the file now starts mid-chain and says so.
    let v = verify(j, &join(&lines[1..]));
    assert!(v.ok());
    assert!(!v.chains[1].from_genesis);
    assert!(v.chains[1]
        .to_string()
        .contains("proves nothing about entries before 2"));
    // A forged first entry must still follow GENESIS.
    let b = bad_line(j, &edit(0, &|v| v["prev_hash"] = "1".repeat(64).into()));
    assert_eq!(b.line, 1);
    // The newest line removed: invisible (truncation), a shorter chain.
    let v = verify(j, &join(&lines[..lines.len() - 1]));
    assert!(v.ok());
}

#[test]
fn csv_edits_name_the_line_the_record_starts_on() {
    let entries = hostile_chain();
    let bytes = export(&entries, ExportFormat::Csv);
    let c = ExportFormat::Csv;
    let mut rd = csv::ReaderBuilder::new().from_reader(&bytes[..]);
    let starts: Vec<u64> = rd
        .byte_records()
        .map(|r| r.unwrap().position().unwrap().line())
        .collect();
    assert!(
        starts.windows(2).any(|w| w[1] - w[0] > 1),
        "some record spans lines: {starts:?}"
    );
    let text = String::from_utf8(bytes.clone()).unwrap();
    // Flip one character of each entry's hash cell.
    for (i, e) in entries.iter().enumerate() {
        let flipped: String = e.hash.chars().rev().collect();
        let b = bad_line(c, text.replacen(&e.hash, &flipped, 2).as_bytes());
        // The hash appears as this entry's hash (and the next one's prev_hash).
        assert_eq!(b.line, starts[i], "entry {i}: {b:?}");
    }
    // An escape the export would not write.
    let b = bad_line(c, text.replacen(",default,", ",'default,", 1).as_bytes());
    assert!(b.malformed, "{b:?}");
    let b = bad_line(
        c,
        text.replacen("seq,tenant_seq", "seq,tenant", 1).as_bytes(),
    );
    assert_eq!((b.line, b.malformed), (1, true));
    assert!(bad_line(c, b"").malformed);
}

#[test]
fn times_have_the_documented_form() {
    for (ms, want) in [
        (0, "1970-01-01T00:00:00Z"),
        (1, "1970-01-01T00:00:00.001Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (1_795_943_130_120, "2026-11-29T09:05:30.120Z"),
        (MIN_MS, "0001-01-01T00:00:00Z"),
        (MAX_MS, "9999-12-31T23:59:59.999Z"),
    ] {
        assert_eq!(rfc3339(from_millis(ms)), want);
    }
    assert_eq!(strict_int("0"), Some(0));
    assert_eq!(strict_int("-12"), Some(-12));
    for s in [
        "",
        "-",
        "+1",
        "01",
        "-0",
        " 1",
        "1_000",
        "9223372036854775808",
    ] {
        assert_eq!(strict_int(s), None, "{s:?}");
    }
}
