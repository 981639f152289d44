//! Checking an export file on its own: [`verify_export`] (no store needed).

use super::*;
use crate::audit::{RawEntry, Verifier, GENESIS};
use crate::clock::{from_millis, rfc3339};
use crate::text::{csv_cell, csv_cell_decode};
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::io::{BufRead, Read};

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
pub(super) struct LineError {
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
pub(super) fn strict_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && s != "-0";
    canonical.then(|| s.parse().ok()).flatten()
}

pub(super) fn parse_csv_record(rec: &csv::ByteRecord) -> std::result::Result<ExportRow, LineError> {
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
