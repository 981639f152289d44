//! Audit export as CSV or JSON Lines, and the check of such a file on its
//! own ([`verify_export`]: no store needed).
//!
//! Both formats carry the same columns ([`COLUMNS`]), and with them
//! everything that is hashed, exactly: `tenant_seq`, the times as integer
//! milliseconds (`at_ms`, `recorded_at_ms`; `at` and `recorded_at` are
//! their RFC 3339 renderings for people), and `details` as the stored JSON
//! *text*, byte for byte (a JSON string in JSON Lines, not an object), so
//! that a verifier needs no JSON re-serialization rules to get the hashed
//! bytes back. `docs/audit-format.md` specifies the format.
//!
//! CSV cells that a spreadsheet would take for a formula (`= + - @`, tab,
//! CR) start with `'` (and a cell starting with `'` gets one more), so
//! opening an export never evaluates what a provider wrote;
//! `text::csv_cell_decode` gives the value back.

use crate::audit::{AuditEntry, RawEntry, Verifier, GENESIS};
use crate::clock::{from_millis, rfc3339, to_millis};
use crate::store::AuditQuery;
use crate::text::{csv_cell, csv_cell_decode};
use crate::{Engine, Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Jsonl,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "csv" => Ok(ExportFormat::Csv),
            "jsonl" | "json-lines" => Ok(ExportFormat::Jsonl),
            _ => Err(Error::input(format!(
                "'{s}' is not an export format: use csv or jsonl"
            ))),
        }
    }

    /// The format a file name says (`.csv`, `.jsonl`), if it says one.
    pub fn from_path(p: &std::path::Path) -> Option<Self> {
        match p.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(ExportFormat::Csv),
            "jsonl" => Some(ExportFormat::Jsonl),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Jsonl => "jsonl",
        }
    }
}

/// The columns of an export, in order: the CSV header, and the keys of
/// each JSON Lines object.
pub const COLUMNS: [&str; 14] = [
    "seq",
    "tenant_seq",
    "at",
    "at_ms",
    "recorded_at",
    "recorded_at_ms",
    "tenant",
    "actor_kind",
    "actor",
    "operation",
    "request_id",
    "details",
    "prev_hash",
    "hash",
];

/// The CSV header (the same as [`COLUMNS`]).
pub const CSV_HEADER: [&str; 14] = COLUMNS;

/// One exported entry (a JSON Lines object; CSV cells in the same order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportRow {
    /// Position in the store (all tenants); not hashed.
    pub seq: i64,
    pub tenant_seq: i64,
    /// `at_ms` in RFC 3339 (not hashed; a verifier checks it against `at_ms`).
    pub at: String,
    pub at_ms: i64,
    pub recorded_at: String,
    pub recorded_at_ms: i64,
    pub tenant: String,
    pub actor_kind: String,
    pub actor: String,
    pub operation: String,
    /// `null` when the entry is about no request; the key must be present.
    #[serde(deserialize_with = "present_option")]
    pub request_id: Option<String>,
    /// The hashed JSON text, exactly as stored.
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

/// An `Option` field that must be present (`null` for none): serde would
/// take a missing `Option` field for `None`.
fn present_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<String>, D::Error> {
    Option::deserialize(d)
}

impl From<&AuditEntry> for ExportRow {
    fn from(e: &AuditEntry) -> Self {
        ExportRow {
            seq: e.seq,
            tenant_seq: e.tenant_seq,
            at: rfc3339(e.at),
            at_ms: to_millis(e.at),
            recorded_at: rfc3339(e.recorded_at),
            recorded_at_ms: to_millis(e.recorded_at),
            tenant: e.tenant.clone(),
            actor_kind: e.actor_kind.as_str().to_string(),
            actor: e.actor.clone(),
            operation: e.operation.clone(),
            request_id: e.request_id.clone(),
            details: e.details.clone(),
            prev_hash: e.prev_hash.clone(),
            hash: e.hash.clone(),
        }
    }
}

fn write_error(e: impl std::fmt::Display) -> Error {
    Error::input(format!("cannot write the export: {e}"))
}

/// Writes entries, one at a time, in either format.
pub struct ExportWriter<'w> {
    inner: Inner<'w>,
    rows: u64,
}

enum Inner<'w> {
    Csv(csv::Writer<&'w mut dyn Write>),
    Jsonl(std::io::BufWriter<&'w mut dyn Write>),
}

impl<'w> ExportWriter<'w> {
    /// Starts an export (the CSV header is written here).
    pub fn new(format: ExportFormat, out: &'w mut dyn Write) -> Result<Self> {
        let inner = match format {
            ExportFormat::Csv => {
                let mut w = csv::WriterBuilder::new()
                    .terminator(csv::Terminator::Any(b'\n'))
                    .from_writer(out);
                w.write_record(COLUMNS).map_err(write_error)?;
                Inner::Csv(w)
            }
            ExportFormat::Jsonl => Inner::Jsonl(std::io::BufWriter::new(out)),
        };
        Ok(ExportWriter { inner, rows: 0 })
    }

    pub fn write(&mut self, e: &AuditEntry) -> Result<()> {
        let row = ExportRow::from(e);
        match &mut self.inner {
            Inner::Csv(w) => {
                let ints = [
                    row.seq.to_string(),
                    row.tenant_seq.to_string(),
                    row.at_ms.to_string(),
                    row.recorded_at_ms.to_string(),
                ];
                // Every cell goes through `csv_cell`: a value a provider sent
                // (an engineer named `=HYPERLINK(…)`) is never a formula.
                let cells: [&str; 14] = [
                    &ints[0],
                    &ints[1],
                    &row.at,
                    &ints[2],
                    &row.recorded_at,
                    &ints[3],
                    &row.tenant,
                    &row.actor_kind,
                    &row.actor,
                    &row.operation,
                    row.request_id.as_deref().unwrap_or(""),
                    &row.details,
                    &row.prev_hash,
                    &row.hash,
                ];
                w.write_record(cells.iter().map(|c| csv_cell(c).into_owned()))
                    .map_err(write_error)?;
            }
            Inner::Jsonl(w) => {
                serde_json::to_writer(&mut *w, &row)?;
                w.write_all(b"\n").map_err(write_error)?;
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Flushes; returns the number of entries written.
    pub fn finish(self) -> Result<u64> {
        match self.inner {
            Inner::Csv(mut w) => w.flush().map_err(write_error)?,
            Inner::Jsonl(mut w) => w.flush().map_err(write_error)?,
        }
        Ok(self.rows)
    }
}

/// Does `q` select by time alone (or not at all)? Such an export is a
/// contiguous part of the chain; any other filter picks single entries,
/// which link to nothing.
pub fn is_time_window(q: &AuditQuery) -> bool {
    let none = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
    none(&q.request_id)
        && none(&q.actor)
        && none(&q.operation)
        && none(&q.text)
        && q.before_seq.is_none()
}

/// Write every entry of `tenant` matching `q`, oldest first. Returns the
/// row count. A time window (`since`/`until` alone) is exported as a
/// contiguous part of the chain: from its oldest to its newest entry,
/// with the entries written late in between ([`Engine::for_each_audit_span`]),
/// so that it verifies on its own.
pub fn export_audit(
    engine: &mut Engine,
    tenant: &str,
    q: &AuditQuery,
    format: ExportFormat,
    out: &mut dyn Write,
) -> Result<u64> {
    let mut w = ExportWriter::new(format, out)?;
    if is_time_window(q) && (q.since.is_some() || q.until.is_some()) {
        engine.for_each_audit_span(tenant, q, |e| w.write(e))?;
    } else {
        engine.for_each_audit(tenant, q, |e| w.write(e))?;
    }
    w.finish()
}

// ---------------------------------------------------------------------------
// Verifying an export file on its own.

/// One tenant's entries in a verified export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChain {
    pub tenant: String,
    pub entries: u64,
    pub first_tenant_seq: i64,
    pub last_tenant_seq: i64,
    /// The `prev_hash` of the first entry in the file ([`GENESIS`] when the
    /// file starts at the chain's first entry).
    pub first_prev_hash: String,
    pub head_hash: String,
    /// The file starts at the chain's first entry (tenant_seq 1, after
    /// GENESIS): the whole history up to the head is proven.
    pub from_genesis: bool,
    /// The line of the tenant's first entry in the file.
    pub first_line: u64,
}

/// Where an export file first fails to verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// Physical line, from 1 (a CSV record: the line it starts on; the header is line 1).
    pub line: u64,
    /// The entry's tenant and chain position, when the line could be read.
    pub tenant: Option<String>,
    pub tenant_seq: Option<i64>,
    /// The line could not be read as an entry (bad JSON or CSV, a missing
    /// or extra field, a wrong type); otherwise the chain breaks there.
    pub malformed: bool,
    pub problem: String,
}

/// The result of [`verify_export`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOutcome {
    pub format: ExportFormat,
    /// Entries that verified (before the first bad line, if any).
    pub entries: u64,
    /// Each tenant's entries, in the order the file first meets them
    /// (empty when a line is bad).
    pub chains: Vec<FileChain>,
    pub first_bad: Option<BadLine>,
}

impl ExportOutcome {
    pub fn ok(&self) -> bool {
        self.first_bad.is_none()
    }
}

/// What a line says about itself before its hash is checked.
struct LineError {
    malformed: bool,
    problem: String,
}

fn malformed(problem: impl Into<String>) -> LineError {
    LineError {
        malformed: true,
        problem: problem.into(),
    }
}

/// Recompute the hash chains of an export file from its content alone.
/// Every tenant's chain in the file must link entry to entry; one that
/// starts at tenant_seq 1 must start after [`GENESIS`]; one that starts
/// later (a filtered export) is taken up where the file starts it, and
/// [`FileChain::from_genesis`] says so. Stops at the first bad line.
/// `Err` only when the file cannot be read at all.
pub fn verify_export(format: ExportFormat, input: &mut dyn Read) -> Result<ExportOutcome> {
    let mut check = FileCheck::new(format);
    match format {
        ExportFormat::Jsonl => {
            let mut rd = std::io::BufReader::new(input);
            let mut line = Vec::new();
            let mut n = 0u64;
            loop {
                line.clear();
                let read = rd
                    .read_until(b'\n', &mut line)
                    .map_err(|e| Error::input(format!("cannot read the export: {e}")))?;
                if read == 0 {
                    break;
                }
                n += 1;
                if line.last() == Some(&b'\n') {
                    line.pop();
                }
                let row = parse_json_line(&line);
                if !check.take(n, row) {
                    break;
                }
            }
        }
        ExportFormat::Csv => {
            let mut rd = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(input);
            let mut rec = csv::ByteRecord::new();
            let mut header = true;
            loop {
                let line_before = rd.position().line();
                match rd.read_byte_record(&mut rec) {
                    Ok(false) => {
                        if header {
                            check.bad(1, None, malformed("the file is empty: no CSV header"));
                        }
                        break;
                    }
                    Ok(true) => {
                        let line = rec.position().map_or(line_before, |p| p.line());
                        if header {
                            header = false;
                            if let Err(e) = check_header(&rec) {
                                check.bad(line, None, e);
                                break;
                            }
                            continue;
                        }
                        if !check.take(line, parse_csv_record(&rec)) {
                            break;
                        }
                    }
                    Err(e) => {
                        let line = e.position().map_or(line_before, |p| p.line());
                        check.bad(line, None, malformed(format!("not CSV: {e}")));
                        break;
                    }
                }
            }
        }
    }
    Ok(check.finish())
}

fn parse_json_line(line: &[u8]) -> std::result::Result<ExportRow, LineError> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Err(malformed("an empty line (each line holds one entry)"));
    }
    serde_json::from_slice::<ExportRow>(line).map_err(|e| {
        // serde_json names the line of its input (always 1 here): keep the column.
        let what = match e.classify() {
            serde_json::error::Category::Data => "not an export entry",
            _ => "not JSON",
        };
        let msg = e.to_string();
        let msg = msg
            .rsplit_once(" at line ")
            .map_or(msg.as_str(), |(m, _)| m)
            .to_string();
        malformed(format!("{what}: {msg} (column {})", e.column()))
    })
}

fn check_header(rec: &csv::ByteRecord) -> std::result::Result<(), LineError> {
    let got: Vec<String> = rec
        .iter()
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    if got.iter().map(String::as_str).eq(COLUMNS) {
        Ok(())
    } else {
        Err(malformed(format!(
            "the header is not that of an audit export: expected {}, found {}",
            COLUMNS.join(","),
            got.join(",")
        )))
    }
}

/// A decimal integer as the export writes it: `0` or an optional `-` and
/// digits without a leading zero, within i64.
fn strict_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && s != "-0";
    canonical.then(|| s.parse().ok()).flatten()
}

fn parse_csv_record(rec: &csv::ByteRecord) -> std::result::Result<ExportRow, LineError> {
    if rec.len() != COLUMNS.len() {
        return Err(malformed(format!(
            "{} cells where the header has {}",
            rec.len(),
            COLUMNS.len()
        )));
    }
    let mut cells = Vec::with_capacity(COLUMNS.len());
    for (i, c) in rec.iter().enumerate() {
        let s = std::str::from_utf8(c)
            .map_err(|_| malformed(format!("{} is not UTF-8", COLUMNS[i])))?;
        let value = csv_cell_decode(s);
        // The escape is exact: a `'` only where the export writes one.
        if csv_cell(value) != s {
            return Err(malformed(format!(
                "{} starts with a `'` that the export does not write there",
                COLUMNS[i]
            )));
        }
        cells.push(value.to_string());
    }
    let int = |i: usize| {
        strict_int(&cells[i]).ok_or_else(|| {
            malformed(format!(
                "{} must be a decimal integer, found '{}'",
                COLUMNS[i], cells[i]
            ))
        })
    };
    let [seq, tenant_seq, at_ms, recorded_at_ms] = [int(0)?, int(1)?, int(3)?, int(5)?];
    let mut it = cells.into_iter();
    let mut next = || it.next().unwrap_or_default();
    let (_, _, at, _, recorded_at, _) = (next(), next(), next(), next(), next(), next());
    let (tenant, actor_kind, actor, operation, request_id) =
        (next(), next(), next(), next(), next());
    let (details, prev_hash, hash) = (next(), next(), next());
    Ok(ExportRow {
        seq,
        tenant_seq,
        at,
        at_ms,
        recorded_at,
        recorded_at_ms,
        tenant,
        actor_kind,
        actor,
        operation,
        // Request ids are never empty: an empty cell is "none".
        request_id: (!request_id.is_empty()).then_some(request_id),
        details,
        prev_hash,
        hash,
    })
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The times an export may hold: 0001-01-01T00:00:00Z to
/// 9999-12-31T23:59:59.999Z (RFC 3339 has four-digit years).
pub const MIN_MS: i64 = -62_135_596_800_000;
pub const MAX_MS: i64 = 253_402_300_799_999;

/// The checks of one row that need no other row (steps 1 and 2 of
/// `docs/audit-format.md` section 6).
fn check_row(r: &ExportRow) -> std::result::Result<(), LineError> {
    for (name, n) in [("seq", r.seq), ("tenant_seq", r.tenant_seq)] {
        if n < 1 {
            return Err(malformed(format!(
                "{name} {n} is not a position (they count from 1)"
            )));
        }
    }
    for (name, ms) in [("at", r.at_ms), ("recorded_at", r.recorded_at_ms)] {
        if !(MIN_MS..=MAX_MS).contains(&ms) {
            return Err(malformed(format!(
                "{name}_ms {ms} is outside the years 1 to 9999"
            )));
        }
    }
    for (name, h) in [("prev_hash", &r.prev_hash), ("hash", &r.hash)] {
        if !is_hex64(h) {
            return Err(malformed(format!(
                "{name} must be 64 lowercase hex digits, found '{h}'"
            )));
        }
    }
    for (name, text, ms) in [
        ("at", &r.at, r.at_ms),
        ("recorded_at", &r.recorded_at, r.recorded_at_ms),
    ] {
        let want = rfc3339(from_millis(ms));
        if *text != want {
            return Err(LineError {
                malformed: false,
                problem: format!(
                    "{name} '{text}' is not {name}_ms {ms} ({want}): the unhashed time was edited"
                ),
            });
        }
    }
    Ok(())
}

/// The state of one file's check.
struct FileCheck {
    format: ExportFormat,
    verifier: Verifier,
    chains: Vec<FileChain>,
    index: BTreeMap<String, usize>,
    entries: u64,
    /// The `seq` of the last entry taken.
    last_seq: i64,
    first_bad: Option<BadLine>,
}

impl FileCheck {
    fn new(format: ExportFormat) -> Self {
        FileCheck {
            format,
            // Chains are taken up where the file first meets them; `take`
            // holds a chain that starts at tenant_seq 1 to GENESIS.
            verifier: Verifier::for_export(false),
            chains: Vec::new(),
            index: BTreeMap::new(),
            entries: 0,
            last_seq: 0,
            first_bad: None,
        }
    }

    fn bad(&mut self, line: u64, row: Option<&ExportRow>, e: LineError) {
        self.first_bad = Some(BadLine {
            line,
            tenant: row.map(|r| r.tenant.clone()),
            tenant_seq: row.map(|r| r.tenant_seq),
            malformed: e.malformed,
            problem: e.problem,
        });
    }

    /// Steps 3 to 5 of `docs/audit-format.md` section 6 (the verifier
    /// checks them again, with the hash): order, chain position, link.
    fn chain_problem(&self, r: &ExportRow) -> std::result::Result<(), String> {
        if r.seq <= self.last_seq {
            return Err(format!(
                "seq {} does not come after {} (entries were reordered)",
                r.seq, self.last_seq
            ));
        }
        match self.index.get(&r.tenant).map(|&i| &self.chains[i]) {
            Some(c) if r.tenant_seq != c.last_tenant_seq + 1 => Err(format!(
                "tenant '{}' chain position {} found where {} was expected: an entry was \
                 deleted, inserted or moved here, or the file was exported with a filter other \
                 than a time window (only a complete export or --since/--until keeps the chain \
                 whole)",
                r.tenant,
                r.tenant_seq,
                c.last_tenant_seq + 1
            )),
            Some(c) if r.prev_hash != c.head_hash => Err(format!(
                "its prev_hash does not match the hash of tenant '{}''s previous entry \
                 (entries were removed, reordered or forged)",
                r.tenant
            )),
            Some(_) => Ok(()),
            None if r.tenant_seq == 1 && r.prev_hash != GENESIS => Err(format!(
                "tenant '{}''s first entry (tenant_seq 1) must follow GENESIS (64 zeros), but \
                 its prev_hash is {}",
                r.tenant, r.prev_hash
            )),
            None => Ok(()),
        }
    }

    /// Check the entry on `line`; false once a line is bad.
    fn take(&mut self, line: u64, row: std::result::Result<ExportRow, LineError>) -> bool {
        let r = match row {
            Ok(r) => r,
            Err(e) => {
                self.bad(line, None, e);
                return false;
            }
        };
        if let Err(e) = check_row(&r) {
            self.bad(line, Some(&r), e);
            return false;
        }
        if let Err(problem) = self.chain_problem(&r) {
            self.bad(
                line,
                Some(&r),
                LineError {
                    malformed: false,
                    problem,
                },
            );
            return false;
        }
        let raw = RawEntry {
            seq: r.seq,
            tenant_seq: r.tenant_seq,
            at_ms: r.at_ms,
            recorded_ms: r.recorded_at_ms,
            tenant: r.tenant.as_bytes(),
            actor_kind: r.actor_kind.as_bytes(),
            actor: r.actor.as_bytes(),
            operation: r.operation.as_bytes(),
            request_id: r.request_id.as_deref().map(str::as_bytes),
            details: r.details.as_bytes(),
            prev_hash: r.prev_hash.as_bytes(),
            hash: r.hash.as_bytes(),
        };
        if !self.verifier.feed(&raw) {
            let problem = std::mem::replace(&mut self.verifier, Verifier::for_export(false))
                .finish()
                .first_bad
                .map_or_else(|| "the entry does not verify".to_string(), |b| b.1);
            self.bad(
                line,
                Some(&r),
                LineError {
                    malformed: false,
                    problem,
                },
            );
            return false;
        }
        self.entries += 1;
        self.last_seq = r.seq;
        match self.index.get(&r.tenant) {
            Some(&i) => {
                let c = &mut self.chains[i];
                c.entries += 1;
                c.last_tenant_seq = r.tenant_seq;
                c.head_hash = r.hash;
            }
            None => {
                self.index.insert(r.tenant.clone(), self.chains.len());
                self.chains.push(FileChain {
                    from_genesis: r.tenant_seq == 1,
                    tenant: r.tenant,
                    entries: 1,
                    first_tenant_seq: r.tenant_seq,
                    last_tenant_seq: r.tenant_seq,
                    first_prev_hash: r.prev_hash,
                    head_hash: r.hash,
                    first_line: line,
                });
            }
        }
        true
    }

    fn finish(self) -> ExportOutcome {
        let bad = self.first_bad.is_some();
        ExportOutcome {
            format: self.format,
            entries: self.entries,
            chains: if bad { Vec::new() } else { self.chains },
            first_bad: self.first_bad,
        }
    }
}

impl std::fmt::Display for FileChain {
    /// What the file proves about this chain, in one sentence.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (t, a, b) = (&self.tenant, self.first_tenant_seq, self.last_tenant_seq);
        if self.from_genesis {
            write!(
                f,
                "entries {a}..{b} of tenant {t} link together from the chain's first entry (GENESIS); head {}",
                self.head_hash
            )
        } else {
            write!(
                f,
                "entries {a}..{b} of tenant {t} link together; the file does not start at the chain's first entry, so it proves nothing about entries before {a}; head {}",
                self.head_hash
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{entry_hash, HashInput};
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
}
