//! Invariants of the source tree, checked (in the spirit of rust-analyzer's
//! `tidy`). The first: **no test reads the wall clock to decide an outcome.**
//! A test that builds a store at a fixed instant and then checks it "now"
//! passes until the day the real clock catches up with it (this happened:
//! main went red on 2026-11-29). Tests pin time with `ManualClock`,
//! `LOCKBOX_NOW`, `vi.useFakeTimers` or a fixed `now`; a line that must read
//! the real clock (a unique name, a real-time measurement of the real app)
//! says why with a `wall-clock:` comment on the same or the previous line.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Test sources: Rust integration tests, `#[cfg(test)]` files are not
/// included (unit tests in src/ use `ManualClock` through the engine), UI
/// and E2E tests.
fn test_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if p.is_dir() {
            if !matches!(
                name,
                "node_modules" | "target" | "dist" | ".git" | ".venv" | "gen"
            ) {
                test_files(&p, out);
            }
            continue;
        }
        let s = p.to_string_lossy();
        let in_tests = s.contains("/tests/");
        let is_test = (in_tests && (name.ends_with(".rs") || name.ends_with(".mjs")))
            || name.ends_with(".test.ts")
            || name.ends_with(".test.tsx");
        if is_test {
            out.push(p);
        }
    }
}

const WALL_CLOCK: &[&str] = &[
    "Utc::now()",
    "Local::now()",
    "SystemTime::now()",
    "SystemClock",
    "Date.now()",
    "new Date()",
];

/// Lines of `text` that read the wall clock without a `wall-clock:` reason.
fn unexplained_wall_clock(text: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut bad = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let code = line.trim_start();
        if code.starts_with("//") || code.starts_with("//!") || code.starts_with('*') {
            continue;
        }
        if !WALL_CLOCK.iter().any(|w| line.contains(w)) {
            continue;
        }
        let explained = line.contains("wall-clock:")
            || i.checked_sub(1)
                .is_some_and(|j| lines[j].contains("wall-clock:"));
        if !explained {
            bad.push((i + 1, line.trim().to_string()));
        }
    }
    bad
}

#[test]
fn no_test_reads_the_wall_clock_to_decide_an_outcome() {
    let root = root();
    let mut files = Vec::new();
    for d in ["crates", "src-tauri", "tests", "ui/src"] {
        test_files(&root.join(d), &mut files);
    }
    assert!(files.len() > 20, "found only {} test files", files.len());
    let me = Path::new(file!()).file_name().unwrap_or_default();
    let mut bad = Vec::new();
    for f in files {
        if f.file_name() == Some(me) {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        for (n, line) in unexplained_wall_clock(&text) {
            bad.push(format!(
                "{}:{n}: {line}",
                f.strip_prefix(&root).unwrap_or(&f).display()
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "tests that read the wall clock (pin a clock, or say why on the line with `wall-clock:`):\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_wall_clock_check_catches_what_it_should() {
    let planted = "let e = Engine::open(p, Arc::new(ManualClock::new(Utc::now())), \"root\");";
    assert_eq!(unexplained_wall_clock(planted).len(), 1);
    assert_eq!(unexplained_wall_clock("const t = Date.now();").len(), 1);
    assert_eq!(unexplained_wall_clock("const d = new Date();").len(), 1);
    assert!(unexplained_wall_clock("const d = new Date(0);").is_empty());
    assert!(unexplained_wall_clock("// wall-clock: unique name\nconst t = Date.now();").is_empty());
    assert!(unexplained_wall_clock("const t = Date.now(); // wall-clock: unique name").is_empty());
    assert!(unexplained_wall_clock("let c = ManualClock::new(t0());").is_empty());
}

// ---------- The architecture's invariants --------------------------------

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every package `name` depends on (transitively, dev-dependencies included),
/// from the lock file's `[[package]]` entries.
fn lock_closure(lock: &str, name: &str) -> std::collections::BTreeSet<String> {
    let mut deps: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for block in lock.split("[[package]]").skip(1) {
        let field = |k: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{k} = \"")))
                .map(|v| v.trim_end_matches('"').to_string())
        };
        let Some(pkg) = field("name") else { continue };
        let list = block
            .split_once("dependencies = [")
            .map(|(_, rest)| rest.split_once(']').map_or(rest, |(l, _)| l))
            .unwrap_or("");
        let names = list
            .lines()
            .filter_map(|l| l.trim().trim_end_matches(',').strip_prefix('"'))
            .map(|d| {
                d.trim_end_matches('"')
                    .split(' ')
                    .next()
                    .unwrap_or("")
                    .to_string()
            });
        deps.entry(pkg).or_default().extend(names);
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut todo = vec![name.to_string()];
    while let Some(p) = todo.pop() {
        if seen.insert(p.clone()) {
            todo.extend(deps.get(&p).cloned().unwrap_or_default());
        }
    }
    seen
}

/// Packages of a UI or HTTP framework in `closure`.
fn frameworks(closure: &std::collections::BTreeSet<String>) -> Vec<String> {
    closure
        .iter()
        .filter(|p| {
            ["tauri", "axum", "wry", "tao", "hyper", "tower"]
                .iter()
                .any(|f| *p == f || p.starts_with(&format!("{f}-")))
        })
        .cloned()
        .collect()
}

#[test]
fn the_engine_depends_on_no_ui_or_http_framework() {
    let closure = lock_closure(&read("Cargo.lock"), "lockbox-core");
    assert!(
        closure.contains("rusqlite"),
        "the lock file was not read: {closure:?}"
    );
    let bad = frameworks(&closure);
    assert!(
        bad.is_empty(),
        "lockbox-core must not depend on tauri/axum (adapters do): it pulls in {bad:?}"
    );
}

#[test]
fn the_dependency_check_catches_a_framework() {
    let lock = "[[package]]\nname = \"lockbox-core\"\ndependencies = [\n \"serde\",\n \"reqwest 0.12.1\",\n]\n\n\
                [[package]]\nname = \"reqwest\"\nversion = \"0.12.1\"\ndependencies = [\n \"hyper\",\n]\n\n\
                [[package]]\nname = \"hyper\"\n";
    assert_eq!(
        frameworks(&lock_closure(lock, "lockbox-core")),
        vec!["hyper".to_string()]
    );
    assert!(
        frameworks(&lock_closure(&read("Cargo.lock"), "lockbox-app")).contains(&"tauri".into())
    );
}

/// Rust sources under `dir` (recursive).
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

const SQL: &[&str] = &[
    "SELECT ",
    "INSERT INTO",
    "DELETE FROM",
    "CREATE TABLE",
    "CREATE INDEX",
    "PRAGMA ",
    "rusqlite",
    "BEGIN IMMEDIATE",
];

/// Lines of `text` (code, not comments) that hold SQL or name the SQLite driver.
fn sql_lines(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .filter(|(_, l)| {
            SQL.iter().any(|s| l.contains(s)) || (l.contains("UPDATE ") && l.contains(" SET "))
        })
        .map(|(i, l)| (i + 1, l.trim().to_string()))
        .collect()
}

#[test]
fn sql_lives_only_in_the_store_layer() {
    let root = root();
    let mut files = Vec::new();
    for d in [
        "crates/lockbox-core/src",
        "crates/lockbox-cli/src",
        "crates/lockbox-api/src",
        "src-tauri/src",
    ] {
        rust_files(&root.join(d), &mut files);
    }
    assert!(files.len() > 30, "found only {} sources", files.len());
    let store = root.join("crates/lockbox-core/src/store");
    let mut bad = Vec::new();
    for f in files.iter().filter(|f| !f.starts_with(&store)) {
        for (n, line) in sql_lines(&std::fs::read_to_string(f).unwrap()) {
            bad.push(format!(
                "{}:{n}: {line}",
                f.strip_prefix(&root).unwrap().display()
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "SQL (or the SQLite driver) outside crates/lockbox-core/src/store/: the engine and \
         the adapters must not know which backend runs:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_sql_check_catches_what_it_should() {
    assert_eq!(
        sql_lines(
            r#"let n: i64 = tx.query_row("SELECT count(*) FROM requests", [], |r| r.get(0))?;"#
        )
        .len(),
        1
    );
    assert_eq!(
        sql_lines(r#"c.execute("UPDATE requests SET state = 'expired'", [])?;"#).len(),
        1
    );
    assert_eq!(sql_lines("impl From<rusqlite::Error> for Error {").len(), 1);
    assert!(sql_lines("// SELECT in a comment is prose").is_empty());
    assert!(sql_lines("let s = \"Select a request\";").is_empty());
}

/// The statements of each command body in `text` longer than `budget`:
/// functions whose signature starts with `sig` at indent `indent`.
/// A statement is a line at the body's indent that does not close a block
/// (rustfmt's continuation lines are indented deeper).
fn over_budget(text: &str, sig: &str, indent: usize, budget: usize) -> Vec<(String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let pad = " ".repeat(indent);
    let (close, body) = (format!("{pad}}}"), " ".repeat(indent + 4));
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(rest) = lines[i].strip_prefix(&format!("{pad}{sig}")) else {
            i += 1;
            continue;
        };
        let name = rest.split(['(', '<']).next().unwrap_or("").to_string();
        let mut n = 0;
        i += 1;
        while i < lines.len() && lines[i] != close {
            let l = lines[i];
            let starts =
                l.starts_with(&body) && !l[body.len()..].starts_with([' ', '}', ')', ']', '.']);
            if starts && !l.trim().starts_with("//") {
                n += 1;
            }
            i += 1;
        }
        if n > budget {
            out.push((name, n));
        }
    }
    out
}

/// A command body does one use case: at most this many statements.
const COMMAND_BUDGET: usize = 5;

#[test]
fn every_command_body_stays_within_its_budget() {
    let engine = read("crates/lockbox-core/src/commands/engine_cmds.rs");
    let shell = read("src-tauri/src/shell.rs");
    assert!(
        engine.matches("pub(super) fn ").count() >= 20,
        "engine commands not found"
    );
    assert!(
        shell.matches("    async fn ").count() >= 10,
        "shell commands not found"
    );
    let mut bad = over_budget(&engine, "pub(super) fn ", 0, COMMAND_BUDGET);
    bad.extend(over_budget(&shell, "async fn ", 4, COMMAND_BUDGET));
    assert!(
        bad.is_empty(),
        "command bodies over {COMMAND_BUDGET} statements (move the rule into the engine): {bad:?}"
    );
}

#[test]
fn the_budget_check_catches_a_fat_command() {
    let fat =
        "pub(super) fn approve(e: &mut Engine) -> R<()> {\n    let a = 1;\n    let b = 2;\n    \
               let c = f(\n        a,\n    );\n    g(c);\n    h(c);\n    i(c);\n    Ok(())\n}\n";
    assert_eq!(
        over_budget(fat, "pub(super) fn ", 0, 5),
        vec![("approve".to_string(), 7)]
    );
    assert!(over_budget(fat, "pub(super) fn ", 0, 7).is_empty());
    let shell = "impl Shell for D {\n    async fn ui_ready(&self) -> R<u64> {\n        let ms = 1;\n        Ok(ms)\n    }\n}\n";
    assert!(over_budget(shell, "async fn ", 4, 1).len() == 1);
}

/// The packages of the workspace (`members` in the root `Cargo.toml`) whose
/// manifest does not take the workspace's lints (`[lints] workspace = true`).
fn off_workspace_lints(manifests: &[(String, String)]) -> Vec<String> {
    manifests
        .iter()
        .filter(|(_, toml)| {
            let lints = toml.split("\n[lints]").nth(1).unwrap_or("");
            !lints.trim_start().starts_with("workspace = true")
        })
        .map(|(member, _)| member.clone())
        .collect()
}

#[test]
fn unsafe_code_lives_only_in_lockbox_webkit() {
    // The workspace's lints forbid unsafe code; one crate opts out of them
    // to wrap WebKit's GObject class (ARCHITECTURE.md, Invariants).
    let root_toml = read("Cargo.toml");
    let members = root_toml
        .split("members = [")
        .nth(1)
        .and_then(|s| s.split(']').next())
        .expect("the workspace's members");
    let manifests: Vec<(String, String)> = members
        .split(',')
        .map(|m| m.trim().trim_matches('"').to_string())
        .filter(|m| !m.is_empty())
        .map(|m| {
            let toml = read(&format!("{m}/Cargo.toml"));
            (m, toml)
        })
        .collect();
    assert!(manifests.len() >= 6, "members read: {manifests:?}");
    assert!(
        root_toml.contains("unsafe_code = \"forbid\""),
        "the workspace forbids unsafe code"
    );
    assert_eq!(
        off_workspace_lints(&manifests),
        vec!["crates/lockbox-webkit".to_string()]
    );
}

/// The lint lines of TOML's `[HEADER]` table, blank lines and comments left out.
fn lint_lines(toml: &str, header: &str) -> Vec<String> {
    let toml = format!("\n{toml}");
    let Some(table) = toml.split(&format!("\n[{header}]\n")).nth(1) else {
        return Vec::new();
    };
    table
        .lines()
        .take_while(|l| !l.starts_with('['))
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

/// The workspace's lints of HEADER (`workspace.lints.clippy`) that CRATE's
/// own table (`lints.clippy`) does not repeat word for word.
fn lints_not_kept(workspace: &str, krate: &str, table: &str) -> Vec<String> {
    let kept = lint_lines(krate, &format!("lints.{table}"));
    lint_lines(workspace, &format!("workspace.lints.{table}"))
        .into_iter()
        .filter(|l| !kept.contains(l))
        .collect()
}

#[test]
fn lockbox_webkit_keeps_the_workspace_clippy_lints() {
    // Cargo cannot take the workspace's lints and allow one of them
    // (unsafe_code), so lockbox-webkit repeats the clippy table by hand.
    let workspace = read("Cargo.toml");
    assert!(lint_lines(&workspace, "workspace.lints.clippy").len() >= 5);
    assert_eq!(
        lints_not_kept(
            &workspace,
            &read("crates/lockbox-webkit/Cargo.toml"),
            "clippy"
        ),
        Vec::<String>::new(),
        "add them to crates/lockbox-webkit/Cargo.toml's [lints.clippy]"
    );
    // The check can fail: a lint the crate drops is named.
    let planted =
        "[workspace.lints.clippy]\ntodo = \"warn\"\nnew_lint = \"deny\"\n\n[profile.dev]\n";
    let krate = "[lints.clippy]\n# ours\ntodo = \"warn\"\nextra = \"deny\"\n";
    assert_eq!(
        lints_not_kept(planted, krate, "clippy"),
        vec!["new_lint = \"deny\"".to_string()]
    );
}

#[test]
fn the_lints_check_catches_a_crate_off_them() {
    let on = (
        "a".to_string(),
        "[package]\nname = \"a\"\n\n[lints]\nworkspace = true\n".to_string(),
    );
    let off = (
        "b".to_string(),
        "[package]\nname = \"b\"\n\n[lints.rust]\nunsafe_code = \"allow\"\n".to_string(),
    );
    let none = ("c".to_string(), "[package]\nname = \"c\"\n".to_string());
    assert_eq!(
        off_workspace_lints(&[on, off, none]),
        vec!["b".to_string(), "c".to_string()]
    );
}
