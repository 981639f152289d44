//! `lockbox audit verify --file` and the independent Python verifier
//! (`tests/python/verify_audit_export.py`, written from
//! `docs/audit-format.md`) on exports of a store built with the CLI: both
//! accept every tenant's export alone, in both formats, and both name the
//! same first bad line for every edit. The clock is pinned by `LOCKBOX_NOW`.
//!
//! The Python interpreter is `LOCKBOX_PYTHON` (the Makefile sets it to the
//! project venv) or else `python3`; a missing one fails the test.

#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use lockbox_core::audit::{entry_hash, AuditEntry, HashInput, GENESIS};
use lockbox_core::clock::from_millis;
use lockbox_core::export::{ExportFormat, ExportWriter};
use lockbox_core::model::ActorKind;
use serde_json::Value;
use std::path::{Path, PathBuf};

struct Store {
    dir: tempfile::TempDir,
    db: PathBuf,
    now: String,
}

impl Store {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("lockbox.db");
        Store {
            dir,
            db,
            now: "2026-11-29T09:00:00Z".into(),
        }
    }

    fn at(&mut self, now: &str) -> &mut Self {
        self.now = now.into();
        self
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::cargo_bin("lockbox")
            .unwrap()
            .env("LOCKBOX_DB", &self.db)
            .env("LOCKBOX_NOW", &self.now)
            .env_remove("LOCKBOX_TENANT")
            .args(args)
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "lockbox {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.push("--json");
        serde_json::from_str(&self.ok(&a)).unwrap()
    }

    /// File a request in `tenant`; returns its id.
    fn file(&self, tenant: &str, engineer: &str, reason: &str) -> String {
        let engineer = format!("--engineer={engineer}");
        let reason = format!("--reason={reason}");
        let v = self.json(&[
            "--tenant",
            tenant,
            "request",
            "new",
            &engineer,
            "--case",
            "SR-4821907",
            "--workload",
            "Exchange Online",
            "--resource",
            "Mailbox: finance@contoso.example",
            &reason,
            "--duration",
            "1h",
        ]);
        v["id"].as_str().unwrap().to_string()
    }

    fn export(&self, tenant: &str, format: &str, extra: &[&str]) -> PathBuf {
        let name = format!("{tenant}-{}{}.{format}", extra.len(), extra.join("").len());
        let path = self.dir.path().join(name);
        let mut a = vec![
            "--tenant",
            tenant,
            "audit",
            "export",
            "--format",
            format,
            "--out",
            path.to_str().unwrap(),
        ];
        a.extend_from_slice(extra);
        self.ok(&a);
        path
    }
}

/// The Python that runs the independent verifier.
fn python() -> PathBuf {
    let p: PathBuf = std::env::var_os("LOCKBOX_PYTHON")
        .filter(|p| !p.is_empty())
        .map_or_else(|| "python3".into(), Into::into);
    let ok = std::process::Command::new(&p)
        .args(["-c", "import hashlib, json, csv, sys"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "no Python at {} (LOCKBOX_PYTHON, else python3): the independent verifier needs one",
        p.display()
    );
    p
}

fn python_verifier() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/python/verify_audit_export.py")
}

/// The outcome of one verifier: exit code and stdout.
struct Verdict {
    code: i32,
    out: String,
}

impl Verdict {
    /// The line a failed verification names (`… at line N …`).
    fn line(&self) -> u64 {
        let at = self
            .out
            .find("at line ")
            .unwrap_or_else(|| panic!("names no line: {}", self.out));
        self.out[at + 8..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap()
    }
}

fn verdict(o: std::process::Output) -> Verdict {
    Verdict {
        code: o.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    }
}

/// `lockbox audit verify --file`, run with a store path that does not exist
/// (and must not be created).
fn lockbox_verify(path: &Path, extra: &[&str]) -> Verdict {
    let nowhere = tempfile::tempdir().unwrap();
    let db = nowhere.path().join("no-store-here/lockbox.db");
    let o = Command::cargo_bin("lockbox")
        .unwrap()
        .env("LOCKBOX_DB", &db)
        .env_remove("LOCKBOX_NOW")
        .args(["audit", "verify", "--file", path.to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        !db.parent().unwrap().exists(),
        "verify --file created a store"
    );
    verdict(o)
}

fn python_verify(path: &Path) -> Verdict {
    verdict(
        std::process::Command::new(python())
            .arg(python_verifier())
            .arg(path)
            .output()
            .unwrap(),
    )
}

/// Both verifiers accept `path`; returns their outputs.
fn both_accept(path: &Path) -> (String, String) {
    let (r, p) = (lockbox_verify(path, &[]), python_verify(path));
    assert_eq!(r.code, 0, "lockbox rejects {}: {}", path.display(), r.out);
    assert_eq!(p.code, 0, "python rejects {}: {}", path.display(), p.out);
    (r.out, p.out)
}

/// Both verifiers reject `path`, naming `line`.
fn both_reject_at(path: &Path, line: u64, what: &str) {
    for (who, v) in [
        ("lockbox", lockbox_verify(path, &[])),
        ("python", python_verify(path)),
    ] {
        assert_eq!(v.code, 1, "{who} {what}: {}", v.out);
        assert_eq!(v.line(), line, "{who} {what}: {}", v.out);
    }
}

/// An edited export and what both verifiers must say of it: `Some(line)`
/// names the first bad line, `None` accepts it (with `said` in the output).
struct Case {
    path: PathBuf,
    line: Option<u64>,
    said: Option<String>,
    what: String,
}

/// Runs `lockbox audit verify --file` on each case, and the Python verifier
/// once on all of them (it takes many files; Python's start-up is the slow part).
fn check_cases(cases: &[Case]) {
    for c in cases {
        let v = lockbox_verify(&c.path, &[]);
        match c.line {
            Some(line) => {
                assert_eq!(v.code, 1, "lockbox, {}: {}", c.what, v.out);
                assert_eq!(v.line(), line, "lockbox, {}: {}", c.what, v.out);
            }
            None => assert_eq!(v.code, 0, "lockbox, {}: {}", c.what, v.out),
        }
        if let Some(said) = &c.said {
            assert!(v.out.contains(said), "lockbox, {}: {}", c.what, v.out);
        }
    }
    let o = std::process::Command::new(python())
        .arg(python_verifier())
        .args(cases.iter().map(|c| &c.path))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    let expect_fail = cases.iter().any(|c| c.line.is_some());
    assert_eq!(
        o.status.code(),
        Some(i32::from(expect_fail)),
        "python: {out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for c in cases {
        let prefix = format!("{}: ", c.path.display());
        let at = out
            .find(&prefix)
            .unwrap_or_else(|| panic!("python says nothing of {}: {out}", c.what));
        let report = &out[at..];
        let end = report[prefix.len()..]
            .find(&format!("{}: ", c.path.parent().unwrap().display()))
            .map_or(report.len(), |e| e + prefix.len());
        let v = Verdict {
            code: 0,
            out: report[..end].to_string(),
        };
        match c.line {
            Some(line) => assert_eq!(v.line(), line, "python, {}: {}", c.what, v.out),
            None => assert!(
                v.out[prefix.len()..].starts_with("intact"),
                "python, {}: {}",
                c.what,
                v.out
            ),
        }
        if let Some(said) = &c.said {
            assert!(v.out.contains(said), "python, {}: {}", c.what, v.out);
        }
    }
}

const HOSTILE_REASON: &str = "Mail flow \"breaks\" for C:\\Users\\ceo\n\ttab, comma; \u{2028}sep 😀 𝔸 =HYPERLINK(\"x\") \\u0041";
const HOSTILE_COMMENTS: &[&str] = &[
    "=1+1",
    "'quoted' \"dq\" \\ back",
    "-2+3\nsecond line",
    "@SUM(A1:A9) 🇩🇪 漢字",
];

/// Two tenants written in turns; requests in every state; hostile text.
fn build() -> Store {
    let mut s = Store::new();
    s.ok(&["tenant", "add", "fab", "--name", "Fabrikam \"Ltd\""]);
    let mut ids = Vec::new();
    for (i, t) in ["default", "fab", "default", "fab", "default", "fab"]
        .iter()
        .enumerate()
    {
        s.at(&format!("2026-11-29T09:{:02}:00.{:03}Z", 1 + i, i * 7));
        let engineer = ["=cmd|' /C calc'!A0", "-eng", "@eng", "'eng", "eng+1", "eng"][i];
        ids.push((*t, s.file(t, engineer, HOSTILE_REASON), engineer));
    }
    s.at("2026-11-29T09:10:00.5Z");
    for (i, (t, id, eng)) in ids.iter().enumerate() {
        let comment = HOSTILE_COMMENTS[i % HOSTILE_COMMENTS.len()];
        let tenant = ["--tenant", t];
        let run = |args: &[&str]| s.ok(&[&tenant[..], args].concat());
        // `--flag=VALUE`: a value may start with '-'.
        let comment = format!("--comment={comment}");
        let as_eng = format!("--as={eng}");
        let action = "--action==1+1 'x' \"y\" 😀 -- @z";
        match i {
            // Left awaiting the provider (0), pending (1).
            0 => {}
            1 => {
                run(&["request", "provider-approve", id, "--as", "mgr", &comment]);
            }
            // Rejected.
            2 => {
                run(&["request", "provider-approve", id, "--as", "mgr"]);
                run(&["request", "reject", id, &comment]);
            }
            // Canceled by its engineer.
            3 => {
                run(&["request", "cancel", id, &as_eng]);
            }
            // Approved, used, revoked (4) or left to run out (5).
            4 | 5 => {
                run(&["request", "provider-approve", id, "--as", "mgr"]);
                run(&["request", "approve", id, &comment]);
                run(&["access", "log", id, &as_eng, action]);
                if i == 4 {
                    run(&["request", "revoke", id, &comment]);
                }
            }
            _ => unreachable!(),
        }
    }
    // The first request expires (its deadline applies when the next command runs).
    s.at("2026-11-29T21:30:00Z");
    s.ok(&["--tenant", "fab", "request", "list"]);
    // The clock moved back: an entry earlier than the one before it (late).
    s.at("2026-11-29T08:00:00Z");
    s.ok(&[
        "--tenant", "fab", "user", "add", "bob", "--role", "approver",
    ]);
    s.at("2026-11-29T22:00:00Z");
    s.ok(&[
        "--tenant", "fab", "user", "add", "carol", "--role", "approver",
    ]);
    s
}

#[test]
fn exports_verify_alone_and_every_edit_is_named_by_both_verifiers() {
    let s = build();
    let store = s.json(&["audit", "verify"]);
    assert_eq!(store["ok"], true, "{store}");
    let heads: Vec<(String, String, i64)> = store["chains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["tenant"].as_str().unwrap().to_string(),
                c["head_hash"].as_str().unwrap().to_string(),
                c["entries"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(heads.len(), 2);
    let dir = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    for (tenant, head, entries) in &heads {
        for format in ["jsonl", "csv"] {
            let path = s.export(tenant, format, &[]);
            let (r, p) = both_accept(&path);
            let sentence = format!(
                "entries 1..{entries} of tenant {tenant} link together from the chain's first entry (GENESIS); head {head}"
            );
            assert!(r.contains(&sentence), "{r}");
            assert!(
                p.contains(&format!("entries 1..{entries} of tenant '{tenant}'"))
                    && p.contains(head),
                "{p}"
            );
            let j: Value = serde_json::from_str(&lockbox_verify(&path, &["--json"]).out).unwrap();
            assert_eq!(j["ok"], true);
            assert_eq!(j["format"], format);
            assert_eq!(j["entries"], *entries);
            assert_eq!(j["chains"][0]["head_hash"], head.as_str());
            assert_eq!(j["chains"][0]["from_genesis"], true);
            assert!(j["first_bad"].is_null());
            tamper_everywhere(&path, format, *entries as usize, dir.path(), &mut cases);
        }
    }
    assert!(cases.len() > 100, "{} cases", cases.len());
    check_cases(&cases);
}

/// The records of an export as text, with the line each starts on.
fn records(text: &str, format: &str) -> (String, Vec<(u64, String)>) {
    match format {
        "jsonl" => (
            String::new(),
            text.lines()
                .enumerate()
                .map(|(i, l)| (i as u64 + 1, format!("{l}\n")))
                .collect(),
        ),
        _ => {
            let mut rd = csv::ReaderBuilder::new().from_reader(text.as_bytes());
            let starts: Vec<(u64, usize)> = rd
                .byte_records()
                .map(|r| {
                    let p = r.unwrap().position().unwrap().clone();
                    (p.line(), p.byte() as usize)
                })
                .collect();
            let header = text[..starts[0].1].to_string();
            let mut ends: Vec<usize> = starts.iter().skip(1).map(|s| s.1).collect();
            ends.push(text.len());
            (
                header,
                starts
                    .iter()
                    .zip(ends)
                    .map(|(&(line, at), end)| (line, text[at..end].to_string()))
                    .collect(),
            )
        }
    }
}

/// Change the first letter or digit after `needle` in a record to another
/// of its class (hex stays hex), so that the record stays well-formed.
fn flip_after(record: &str, needle: &str) -> String {
    let at = record
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not in {record}"))
        + needle.len();
    let mut bytes = record.as_bytes().to_vec();
    let i = (at..bytes.len())
        .find(|&i| bytes[i].is_ascii_alphanumeric())
        .unwrap();
    bytes[i] = match bytes[i] {
        b'9' => b'0',
        b'f' => b'a',
        b'z' => b'y',
        b'Z' => b'Y',
        c => c + 1,
    };
    String::from_utf8(bytes).unwrap()
}

fn tamper_everywhere(path: &Path, format: &str, n: usize, dir: &Path, cases: &mut Vec<Case>) {
    let text = std::fs::read_to_string(path).unwrap();
    let (header, recs) = records(&text, format);
    assert_eq!(recs.len(), n, "one record per entry");
    let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
    let mut add =
        |what: String, recs: &[(u64, String)], line: Option<u64>, said: Option<String>| {
            let p = dir.join(format!("{stem}-{}.{format}", cases.len()));
            let body: String = recs.iter().map(|r| r.1.as_str()).collect();
            std::fs::write(&p, format!("{header}{body}")).unwrap();
            cases.push(Case {
                path: p,
                line,
                said,
                what: format!("{}: {what}", path.display()),
            });
        };
    // The hash of entry i (a JSON string or a CSV cell), to find fields by.
    let hash_of = |i: usize| -> String {
        let r = &recs[i].1;
        r.trim_end()
            .rsplit([',', '"', ':'])
            .find(|s| s.len() == 64)
            .unwrap()
            .to_string()
    };
    for i in [0, 1, n / 2, n - 2, n - 1] {
        let line = recs[i].0;
        // A byte flipped in the hash, the actor, the details, the time, the
        // chain position.
        let kind = [",provider,", ",customer,", ",system,"]
            .into_iter()
            .find(|k| recs[i].1.contains(k))
            .unwrap_or(",");
        let needles: [(&str, String); 5] = if format == "jsonl" {
            [
                ("hash", format!("\"hash\":\"{}", &hash_of(i)[..10])),
                ("actor", "\"actor\":\"".into()),
                ("details", "comment".into()),
                ("at_ms", "\"at_ms\":".into()),
                ("tenant_seq", "\"tenant_seq\":".into()),
            ]
        } else {
            [
                ("hash", hash_of(i)[..10].to_string()),
                ("actor", kind.to_string()),
                ("details", "comment".into()),
                ("at_ms", "Z,".into()),
                ("tenant_seq", ",".into()),
            ]
        };
        for (what, needle) in needles {
            if !recs[i].1.contains(&needle) {
                continue; // no comment in this entry's details
            }
            let mut t = recs.clone();
            t[i].1 = flip_after(&recs[i].1, &needle);
            assert_ne!(t[i].1, recs[i].1);
            add(format!("{what} of entry {i} flipped"), &t, Some(line), None);
        }
        // A field edited: the operation renamed.
        let ops = [
            "request_created",
            "provider_approved",
            "approved",
            "user_added",
            "tenant_added",
            "access_used",
            "expired",
            "rejected",
            "canceled",
            "revoked",
            "completed",
            "receipt_key_created",
        ];
        let pre = if format == "jsonl" { "\"" } else { "," };
        if let Some(op) = ops
            .iter()
            .find(|o| recs[i].1.contains(&format!("{pre}{o}{pre}")))
        {
            let mut t = recs.clone();
            t[i].1 = recs[i].1.replacen(
                &format!("{pre}{op}{pre}"),
                &format!("{pre}reminded{pre}"),
                1,
            );
            add(
                format!("operation {op} of entry {i} edited"),
                &t,
                Some(line),
                None,
            );
        }
        // A line deleted: the next entry breaks the chain where it now stands
        // (the first: the file starts later and says so; the last:
        // truncation is invisible).
        let mut t = recs.clone();
        t.remove(i);
        let (want, said) = if i == 0 {
            (
                None,
                Some("proves nothing about entries before 2".to_string()),
            )
        } else if i == n - 1 {
            (None, None)
        } else {
            (Some(line), None)
        };
        add(format!("entry {i} deleted"), &t, want, said);
        // Two lines swapped. Swapping the first two makes the file start at
        // the second entry (allowed), and the first breaks the order after it.
        if i + 1 < n {
            let mut t = recs.clone();
            t.swap(i, i + 1);
            let want = if i == 0 { recs[1].0 } else { line };
            add(
                format!("entries {i} and {} swapped", i + 1),
                &t,
                Some(want),
                None,
            );
        }
        // A malformed line: cut short.
        let mut t = recs.clone();
        let r = t[i].1.trim_end().to_string();
        let half = (0..=r.len() / 2)
            .rev()
            .find(|&k| r.is_char_boundary(k))
            .unwrap();
        t[i].1 = format!("{}\n", &r[..half]);
        add(format!("entry {i} cut short"), &t, Some(line), None);
    }
}

#[test]
fn a_time_window_verifies_from_its_first_entry_and_says_so() {
    let s = build();
    // fab's entries since 09:05: its 09:06 request onwards, and the entry
    // written at 22:00 after the clock moved back to 08:00 — with that
    // 08:00 entry in between, which the window alone would leave out.
    for format in ["jsonl", "csv"] {
        let path = s.export("fab", format, &["--since", "2026-11-29T09:05:00Z"]);
        let (r, p) = both_accept(&path);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("2026-11-29T08:00:00Z"),
            "the late entry is in the span"
        );
        let j: Value = serde_json::from_str(&lockbox_verify(&path, &["--json"]).out).unwrap();
        let c = &j["chains"][0];
        assert_eq!(c["from_genesis"], false);
        let first = c["first_tenant_seq"].as_i64().unwrap();
        assert!(first > 1);
        let said = format!(
            "entries {first}..{} of tenant fab link together; the file does not start at the chain's first entry, so it proves nothing about entries before {first}",
            c["last_tenant_seq"]
        );
        assert!(r.contains(&said), "{r}");
        assert!(
            p.contains(&format!("proves nothing about entries before {first}")),
            "{p}"
        );
    }
    // A selection by operation is no chain: both verifiers say where it
    // breaks (fab's two provider approvals have its cancellation between them).
    let path = s.export("fab", "jsonl", &["--operation", "provider_approved"]);
    both_reject_at(&path, 2, "a selection of single entries");
    assert!(lockbox_verify(&path, &[])
        .out
        .contains("other than a time window"));
}

#[test]
fn verify_file_usage() {
    let s = build();
    let path = s.export("default", "jsonl", &[]);
    // The format comes from the name, or --format.
    let odd = path.with_extension("txt");
    std::fs::copy(&path, &odd).unwrap();
    let v = lockbox_verify(&odd, &[]);
    assert_eq!(v.code, 2, "{}", v.out);
    assert!(v.out.contains("--format"), "{}", v.out);
    assert_eq!(lockbox_verify(&odd, &["--format", "jsonl"]).code, 0);
    // A JSON Lines file read as CSV is malformed at its first line.
    let v = lockbox_verify(&odd, &["--format", "csv"]);
    assert_eq!((v.code, v.line()), (1, 1), "{}", v.out);
    assert!(v.out.contains("MALFORMED"), "{}", v.out);
    // A missing file is bad input.
    assert_eq!(
        lockbox_verify(&path.with_extension("gone.jsonl"), &[]).code,
        2
    );
    // An empty export verifies (and says there is nothing to verify).
    let empty = s.export("default", "jsonl", &["--since", "2030-01-01"]);
    let v = lockbox_verify(&empty, &[]);
    assert_eq!(v.code, 0);
    assert!(v.out.contains("no entries"), "{}", v.out);
    // A malformed line in --json: named, with no tenant.
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.insert_str(text.find('\n').unwrap() + 1, "{\"seq\":\n");
    std::fs::write(&path, text).unwrap();
    let j: Value = serde_json::from_str(&lockbox_verify(&path, &["--json"]).out).unwrap();
    assert_eq!(j["ok"], false);
    assert_eq!(j["first_bad"]["line"], 2);
    assert_eq!(j["first_bad"]["malformed"], true);
    assert!(j["first_bad"]["tenant"].is_null());
    assert!(j["chains"].as_array().unwrap().is_empty());
}

/// Entries no CLI command can write (control characters, line breaks and
/// format characters in one-line fields; details not as serde_json writes
/// them), exported by the writer: the Python verifier gets every hashed byte
/// back too, and names the right line when one is edited.
#[test]
fn the_python_verifier_reads_hostile_exports_exactly() {
    let texts = [
        "=HYPERLINK(\"https://evil.example/\")",
        "'quoted",
        "-1",
        "\tTAB",
        "\rCR",
        "a,b;\"c\"\\d",
        "line1\nline2\r\nline3\rend",
        "esc\u{1b}[31m nul\u{0} del\u{7f}",
        "sep\u{2028}para\u{2029} \u{85}nel",
        "bidi\u{202e}txt zw\u{200b} bom\u{feff}",
        "😀 🇩🇪 𝔸 漢字",
        "",
    ];
    let details = [
        r#"{"b": 1, "a": [1e400, 123456789012345678901234567890, -0]}"#,
        "{\"s\":\"\\u00e9\\ud83d\\ude00\\/\\u001F\"}",
        "{\n  \"pretty\": true\r\n}",
        "{\"raw\":\"\u{2028}😀\"}",
    ];
    let mut heads = [GENESIS.to_string(), GENESIS.to_string()];
    let tenants = ["t1", "=t2,\"x\"\n"];
    let mut entries = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let t = i % 2;
        let at_ms = 1_795_942_800_000 + i as i64 * 1001;
        let d = details.get(i).map_or_else(
            || serde_json::json!({ "comment": text, "big": u64::MAX }).to_string(),
            |d| d.to_string(),
        );
        let request_id = (i % 3 != 0).then(|| format!("r{text}"));
        let tenant_seq = (i / 2 + 1) as i64;
        let hash = entry_hash(&HashInput {
            tenant_seq,
            at_ms,
            recorded_ms: at_ms,
            tenant: tenants[t],
            actor_kind: "provider",
            actor: text,
            operation: text,
            request_id: request_id.as_deref(),
            details: &d,
            prev_hash: &heads[t],
        });
        entries.push(AuditEntry {
            seq: 100 + i as i64,
            tenant_seq,
            at: from_millis(at_ms),
            recorded_at: from_millis(at_ms),
            tenant: tenants[t].to_string(),
            actor_kind: ActorKind::Provider,
            actor: text.to_string(),
            operation: text.to_string(),
            request_id,
            details: d,
            prev_hash: heads[t].clone(),
            hash: hash.clone(),
        });
        heads[t] = hash;
    }
    let dir = tempfile::tempdir().unwrap();
    for (format, ext) in [(ExportFormat::Jsonl, "jsonl"), (ExportFormat::Csv, "csv")] {
        let mut out = Vec::new();
        let mut w = ExportWriter::new(format, &mut out).unwrap();
        for e in &entries {
            w.write(e).unwrap();
        }
        w.finish().unwrap();
        let path = dir.path().join(format!("hostile.{ext}"));
        std::fs::write(&path, &out).unwrap();
        let (r, p) = both_accept(&path);
        assert!(r.contains(&heads[0]) && r.contains(&heads[1]), "{r}");
        assert!(p.contains(&heads[0]) && p.contains(&heads[1]), "{p}");
        // Edit an entry's actor (its text is unique): named by both.
        let text = String::from_utf8(out).unwrap();
        let (header, recs) = records(&text, ext);
        let k = recs.iter().position(|r| r.1.contains("😀 🇩🇪")).unwrap();
        let mut t = recs.clone();
        t[k].1 = recs[k].1.replacen("😀 🇩🇪", "😀 🇫🇷", 1);
        assert_ne!(t[k].1, recs[k].1);
        let edited = dir.path().join(format!("edited.{ext}"));
        let body: String = t.iter().map(|r| r.1.as_str()).collect();
        std::fs::write(&edited, format!("{header}{body}")).unwrap();
        both_reject_at(&edited, recs[k].0, "a non-BMP character edited");
    }
}
