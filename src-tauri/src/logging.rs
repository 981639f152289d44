//! tracing to stderr and to a daily-rotated file (7 kept) in the log dir.
//! The logs name requests, users and tenants: the log dir is 0700 and the
//! files 0600 (the app's umask is 077, so rotated files are born private).

use std::path::Path;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{Builder, Rotation};
use tracing_subscriber::prelude::*;
use tracing_subscriber::{fmt, EnvFilter};

pub fn init(log_dir: &Path) -> Option<WorkerGuard> {
    init_named(log_dir, "lockbox")
}

/// [`init`] with the log files named `PREFIX.YYYY-MM-DD.log`.
pub fn init_named(log_dir: &Path, prefix: &str) -> Option<WorkerGuard> {
    let filter =
        || EnvFilter::try_from_env("LOCKBOX_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let file = private_log_dir(log_dir).ok().and_then(|_| {
        Builder::new()
            .rotation(Rotation::DAILY)
            .filename_prefix(prefix)
            .filename_suffix("log")
            .max_log_files(7)
            .build(log_dir)
            .ok()
    });
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let stderr = fmt::layer()
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .with_filter(filter());
    match file {
        Some(appender) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let file_layer = fmt::layer()
                .with_ansi(false)
                .with_writer(writer)
                .with_filter(filter());
            let _ = tracing_subscriber::registry()
                .with(stderr)
                .with(file_layer)
                .try_init();
            Some(guard)
        }
        None => {
            let _ = tracing_subscriber::registry().with(stderr).try_init();
            None
        }
    }
}

/// Make the app's new files private (umask 077: rotated logs, preferences),
/// create the log dir 0700 and tighten existing log files to 0600.
fn private_log_dir(log_dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(log_dir)?;
        for entry in std::fs::read_dir(log_dir)?.flatten() {
            let meta = entry.metadata()?;
            let mode = meta.permissions().mode();
            if meta.is_file() && mode & 0o077 != 0 {
                std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o600))?;
            }
        }
        let mode = std::fs::metadata(log_dir)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(log_dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(log_dir)
}

#[cfg(all(test, unix))]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &std::path::Path) -> String {
        format!(
            "{:o}",
            std::fs::metadata(p).unwrap().permissions().mode() & 0o777
        )
    }

    #[test]
    fn log_dir_and_files_are_private() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("logs");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let old = dir.join("lockbox.2026-11-28.log");
        std::fs::write(&old, "yesterday\n").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        let guard = super::init(&dir);
        tracing::info!("a line for today's file");
        drop(guard); // flushes
        let files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(files.len() >= 2, "today's log was written: {files:?}");
        for f in &files {
            assert_eq!(mode(f), "600", "{}", f.display());
        }
        assert_eq!(mode(&dir), "700");
    }
}
