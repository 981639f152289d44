//! `docs/audit-format.md` stays true: its worked example (an exported entry,
//! the hex of its encoding, its hash) is recomputed from the code, and the
//! example lines verify as exports.

#![allow(clippy::unwrap_used)]

use lockbox_core::audit::{entry_encoding, entry_hash, AuditEntry, HashInput};
use lockbox_core::clock::from_millis;
use lockbox_core::export::{verify_export, ExportFormat, ExportRow, ExportWriter};
use lockbox_core::model::ActorKind;
use sha2::{Digest, Sha256};

fn doc() -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/audit-format.md");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The fenced block that follows `<!-- example:NAME -->`.
fn block(doc: &str, name: &str) -> String {
    let marker = format!("<!-- example:{name} -->");
    let at = doc
        .find(&marker)
        .unwrap_or_else(|| panic!("the doc has no {marker}"));
    let rest = &doc[at + marker.len()..];
    let open = rest.find("```").unwrap();
    let body = &rest[open..];
    let body = &body[body.find('\n').unwrap() + 1..];
    let close = body.find("\n```").unwrap();
    body[..close].to_string()
}

fn input(r: &ExportRow) -> HashInput<'_> {
    HashInput {
        tenant_seq: r.tenant_seq,
        at_ms: r.at_ms,
        recorded_ms: r.recorded_at_ms,
        tenant: &r.tenant,
        actor_kind: &r.actor_kind,
        actor: &r.actor,
        operation: &r.operation,
        request_id: r.request_id.as_deref(),
        details: &r.details,
        prev_hash: &r.prev_hash,
    }
}

#[test]
fn the_worked_example_is_what_the_code_computes() {
    let doc = doc();
    let line = block(&doc, "jsonl");
    let row: ExportRow = serde_json::from_str(&line).unwrap();
    // The encoding block: hex with `#` comments and white space.
    let hex_text: String = block(&doc, "encoding")
        .lines()
        .map(|l| l.split('#').next().unwrap())
        .flat_map(str::split_whitespace)
        .collect();
    let bytes = hex::decode(&hex_text).unwrap();
    assert_eq!(
        hex::encode(entry_encoding(&input(&row))),
        hex_text,
        "the doc's encoding block is not the code's encoding of its example entry"
    );
    let claimed = block(&doc, "hash").trim().to_string();
    assert_eq!(hex::encode(Sha256::digest(&bytes)), claimed);
    assert_eq!(entry_hash(&input(&row)), claimed);
    assert_eq!(row.hash, claimed);
    // The prose's numbers.
    assert!(
        doc.contains(&format!("Its encoding, {} bytes", bytes.len())),
        "the doc states another length than {}",
        bytes.len()
    );
    assert!(doc.contains(&format!("{} bytes of UTF-8", row.details.len())));
    // The readable times are the documented form of the hashed ones.
    assert_eq!(row.at, "2026-11-29T09:05:30.125Z");
    assert!(doc.contains("`1795943130125` is `2026-11-29T09:05:30.125Z`"));
    assert_eq!(row.at_ms, 1_795_943_130_125);
}

#[test]
fn the_example_lines_verify_as_exports_and_say_the_same() {
    let doc = doc();
    let jsonl = format!("{}\n", block(&doc, "jsonl"));
    let csv = format!("{}\n", block(&doc, "csv"));
    for (fmt, text) in [(ExportFormat::Jsonl, &jsonl), (ExportFormat::Csv, &csv)] {
        let v = verify_export(fmt, &mut text.as_bytes()).unwrap();
        assert!(v.ok(), "{fmt:?}: {:?}", v.first_bad);
        assert_eq!(v.entries, 1);
        let c = &v.chains[0];
        assert!(!c.from_genesis, "tenant_seq 5 cannot start at GENESIS");
        assert_eq!(
            c.head_hash,
            "b6016d59a22d1c8749125dbd41f31b339e5fbcacc941bf898c3f8ab9d0b6752e"
        );
    }
    // The example lines are exactly what the writer makes of the entry.
    let row: ExportRow = serde_json::from_str(jsonl.trim_end()).unwrap();
    let entry = AuditEntry {
        seq: row.seq,
        tenant_seq: row.tenant_seq,
        at: from_millis(row.at_ms),
        recorded_at: from_millis(row.recorded_at_ms),
        tenant: row.tenant.clone(),
        actor_kind: ActorKind::parse(&row.actor_kind).unwrap(),
        actor: row.actor.clone(),
        operation: row.operation.clone(),
        request_id: row.request_id.clone(),
        details: row.details.clone(),
        prev_hash: row.prev_hash.clone(),
        hash: row.hash.clone(),
    };
    for (fmt, text) in [(ExportFormat::Jsonl, &jsonl), (ExportFormat::Csv, &csv)] {
        let mut out = Vec::new();
        let mut w = ExportWriter::new(fmt, &mut out).unwrap();
        w.write(&entry).unwrap();
        assert_eq!(w.finish().unwrap(), 1);
        assert_eq!(&String::from_utf8(out).unwrap(), text, "{fmt:?}");
    }
}
