//! What the .deb ships beside the binary is generated from the binary's own
//! clap grammar (`lockbox completions SHELL`, `lockbox man`), commands that
//! open no store.

#![allow(clippy::unwrap_used)]

use std::process::Command;

fn lockbox(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("never.db");
    let out = Command::new(assert_cmd::cargo::cargo_bin("lockbox"))
        .args(args)
        .env("LOCKBOX_DB", &db)
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    assert!(!db.exists(), "{args:?} opened a store");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn completions_for_bash_zsh_and_fish_know_the_subcommands() {
    let bash = lockbox(&["completions", "bash"]);
    assert!(bash.contains("complete -F _lockbox"), "{bash:.200}");
    let zsh = lockbox(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef lockbox"), "{zsh:.200}");
    let fish = lockbox(&["completions", "fish"]);
    assert!(fish.contains("complete -c lockbox"), "{fish:.200}");
    for script in [&bash, &zsh, &fish] {
        for word in ["serve", "audit", "log-format", "tls-cert", "read-only"] {
            assert!(script.contains(word), "no {word}");
        }
    }
}

#[test]
fn the_man_page_is_lockbox_1_with_every_subcommand() {
    let man = lockbox(&["man"]);
    assert!(man.contains(".TH lockbox 1"), "{man:.300}");
    assert!(man.contains("\\-\\-log\\-format"), "no --log-format");
    // `--out DIR`: the page each SUBCOMMANDS entry names is there too.
    let dir = tempfile::tempdir().unwrap();
    lockbox(&["man", "--out", dir.path().to_str().unwrap()]);
    let named: Vec<&str> = man
        .lines()
        .filter(|l| l.starts_with("lockbox\\-") && l.ends_with("(1)"))
        .collect();
    assert!(named.len() >= 10, "{named:?}");
    for line in named {
        let file = format!("{}.1", line.trim_end_matches("(1)").replace("\\-", "-"));
        let page = std::fs::read_to_string(dir.path().join(&file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(page.contains(".TH "), "{file}");
    }
    let serve = std::fs::read_to_string(dir.path().join("lockbox-serve.1")).unwrap();
    assert!(serve.contains("\\-\\-tls\\-cert"), "{serve:.300}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("lockbox.1")).unwrap(),
        man,
        "the file and stdout differ"
    );
}
