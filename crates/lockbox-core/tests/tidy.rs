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
