//! The TypeScript types in `ui/src/bindings/` are generated from the Rust wire
//! types. This test fails when the committed files drift from the Rust types;
//! `make bindings` (UPDATE_BINDINGS=1) rewrites them.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn read_tree(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "ts") {
                out.insert(
                    p.strip_prefix(root).unwrap().to_path_buf(),
                    std::fs::read_to_string(&p).unwrap(),
                );
            }
        }
    }
    out
}

#[test]
fn generated_typescript_bindings_match_the_committed_ones() {
    let committed_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/bindings");
    let tmp = tempfile::tempdir().unwrap();
    lockbox_core::commands::export_typescript(tmp.path()).unwrap();
    let generated = read_tree(tmp.path());
    assert!(
        generated.len() >= 15,
        "expected every wire type, got {:?}",
        generated.keys()
    );
    let committed = read_tree(&committed_dir);
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        for rel in committed.keys().filter(|r| !generated.contains_key(*r)) {
            std::fs::remove_file(committed_dir.join(rel)).unwrap();
        }
        for (rel, text) in &generated {
            let dest = committed_dir.join(rel);
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::write(dest, text).unwrap();
        }
        return;
    }
    let mut drift = Vec::new();
    for rel in committed.keys().filter(|r| !generated.contains_key(*r)) {
        drift.push(format!(
            "stale: ui/src/bindings/{} (no command uses it any more)",
            rel.display()
        ));
    }
    for (rel, text) in &generated {
        match committed.get(rel) {
            None => drift.push(format!("missing: ui/src/bindings/{}", rel.display())),
            Some(c) if c != text => {
                drift.push(format!("differs: ui/src/bindings/{}", rel.display()))
            }
            _ => {}
        }
    }
    assert!(
        drift.is_empty(),
        "TypeScript bindings drifted from the Rust types; run `make bindings`:\n{}",
        drift.join("\n")
    );
}
