//! The big static store of benchmarks 4, 4b and 5 (built once, cached in the
//! run's folder), also printed by `lockbox-bench big-store` for the desktop
//! archive benchmark.

use crate::common::{remove_db, Cfg};
use lockbox_bench::fixture::{self, t_ref};
use lockbox_bench::BoxResult;
use lockbox_core::{Engine, ManualClock};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Its path, requests and audit entries (building it first if needed).
pub fn big_store(cfg: &Cfg) -> BoxResult<(PathBuf, usize, usize)> {
    let (nreq, naudit) = (cfg.size(10_000, 1_000), cfg.size(1_000_000, 100_000));
    let path = cfg.dir.join(format!(
        "big-v4-schema{}-{nreq}-{naudit}.db",
        lockbox_core::store::SCHEMA_VERSION
    ));
    if !path.exists() {
        println!(
            "   building the fixture {} (cached for later runs)",
            path.display()
        );
        let t = Instant::now();
        let tmp = path.with_extension("partial");
        remove_db(&tmp);
        let _ = std::fs::remove_file(cfg.dir.join("lockbox-receipts.key"));
        fixture::build_big(&tmp, nreq, naudit)?;
        std::fs::rename(&tmp, &path)?;
        println!("   built in {:.1} s", t.elapsed().as_secs_f64());
    }
    Ok((path, nreq, naudit))
}

/// The big store opened by the engine, its clock pinned at the fixture's `t_ref`.
pub fn open_big(path: &Path) -> BoxResult<Engine> {
    Ok(Engine::open(
        path,
        Arc::new(ManualClock::new(t_ref())),
        "root",
    )?)
}
