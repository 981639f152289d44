//! kill -9: a writer process (`lockbox-crash-writer`) files, approves,
//! rejects, cancels, revokes and logs access, printing each operation only
//! after it committed; we SIGKILL it at random moments and restart it. After
//! every kill the store must open and verify; at the end every acknowledged
//! operation must be present, the store's integrity check ok (SQLite's
//! `PRAGMA integrity_check`; amcheck on PostgreSQL), `lockbox audit verify`
//! ok and no request half-changed. On PostgreSQL
//! (LOCKBOX_TEST_BACKEND=postgres) the killed writer is the server's client:
//! its open transaction must roll back, its commits stay.
//!
//! 24 kills by default; LOCKBOX_STRESS=1 makes it 200.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn acknowledged_operations_survive_sigkill_and_nothing_is_half_written() {
    let kills = if stress() { 200 } else { 24 };
    let dir = tempfile::tempdir().unwrap();
    let db = Db::new(dir.path(), "lockbox.db");
    let seed = std::env::var("LOCKBOX_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!("seed {seed} (LOCKBOX_SEED reproduces the kill moments)");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut acked: Vec<(String, String)> = Vec::new();
    let started = Instant::now();
    let mut verified = 0;
    for k in 0..kills {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lockbox-crash-writer"))
            .args(db.args())
            .args(["--seed", &rng.u64(..).to_string()])
            .env("USER", "root")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(out)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<String>>()
        });
        // Random moments: sometimes while the store opens (k < 3: while it is created).
        let wait_ms = if k < 3 || rng.u8(..10) == 0 {
            rng.u64(0..15)
        } else {
            rng.u64(20..250)
        };
        std::thread::sleep(Duration::from_millis(wait_ms));
        let still_running = child.try_wait().unwrap().is_none();
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        assert!(
            still_running,
            "the writer exited by itself ({status}) before the kill: {err}"
        );
        for line in reader.join().unwrap() {
            let (op, id) = line.split_once(' ').unwrap();
            acked.push((op.to_string(), id.to_string()));
        }
        // The restart: the store opens, recovers and its chain verifies.
        if db.exists() {
            let (code, v) = verify(&db);
            assert_eq!(code, 0, "after kill {}: audit verify {v}", k + 1);
            verified += 1;
        }
    }
    println!(
        "{kills} kills ({verified} verified after), {} acknowledged operations, {:.1} s",
        acked.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        acked.len() >= kills,
        "too few operations acknowledged to mean anything"
    );

    assert_eq!(integrity(&db), "ok");
    let (code, v) = verify(&db);
    assert_eq!(code, 0, "audit verify: {v}");
    let stored = load(&db);
    let problems: Vec<String> = stored.iter().flat_map(|(id, s)| problems(id, s)).collect();
    assert!(problems.is_empty(), "half-changed requests: {problems:#?}");

    // Every acknowledged operation is there.
    let mut access: HashMap<&str, usize> = HashMap::new();
    for (op, id) in &acked {
        let s = stored
            .get(id)
            .unwrap_or_else(|| panic!("acknowledged {op} of {id}, but the request is gone"));
        match op.as_str() {
            "filed" => {}
            "access_used" => *access.entry(id).or_default() += 1,
            "provider_approved" | "approved" | "rejected" | "canceled" | "revoked" => {
                assert_eq!(s.count_op(op), 1, "acknowledged {op} of {id}: {:?}", s.ops)
            }
            other => panic!("unknown ack {other}"),
        }
        let after = match op.as_str() {
            "rejected" | "canceled" | "revoked" => Some(op.as_str()),
            _ => None,
        };
        if let Some(state) = after {
            assert_eq!(s.state, state, "{id}");
        }
    }
    for (id, n) in access {
        assert!(
            stored[id].count_op("access_used") >= n,
            "{id}: {n} access entries acknowledged"
        );
    }
}
