//! One running app per session (`tauri-plugin-single-instance`): a second
//! start hands its arguments to the running one over the session D-Bus and
//! exits. If the running one quits while that hand-off is in flight, the bus
//! answers "recipient disconnected without replying", the plugin fails the
//! start, and nobody holds the name any more: a user who opened Lockbox as it
//! was quitting would get nothing. So such a start begins again, as a fresh
//! process with the same arguments, and becomes the running instance.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// How many times one start begins again after a lost hand-off.
pub const HANDOFF_RESTARTS: u32 = 3;
/// Which restart a process is (1, 2, …); unset on a user's start.
pub const RESTART_ENV: &str = "LOCKBOX_HANDOFF_RESTART";

/// Whether `e` is the single-instance plugin failing to hand this start's
/// arguments to the running instance (as opposed to any other start error).
pub fn handoff_lost(e: &tauri::Error) -> bool {
    matches!(e, tauri::Error::PluginInitialization(plugin, message)
        if plugin == "single-instance" && message.contains("forward arguments to the running instance"))
}

/// The number of the restart to make, given `RESTART_ENV`'s value in this
/// process; `None` once `HANDOFF_RESTARTS` were made.
pub fn next_restart(env_value: Option<&str>) -> Option<u32> {
    let made = env_value
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(0);
    (made < HANDOFF_RESTARTS).then_some(made + 1)
}

/// Replaces this process by a fresh start of the same executable with the
/// same arguments, restart number `n`, after a pause that grows with `n`
/// (the quitting instance's name is released when its connection closes).
/// Returns only if that cannot be done.
pub fn restart(n: u32) -> std::io::Error {
    std::thread::sleep(Duration::from_millis(200 * u64::from(n)));
    let exe = match this_program() {
        Ok(exe) => exe,
        Err(e) => return e,
    };
    exec(
        std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .env(RESTART_ENV, n.to_string()),
    )
}

/// This program's file, to start it again (a new start, an archive window).
/// When the file was replaced while this process ran (an upgrade, a
/// rebuild), Linux names the old one "PATH (deleted)": the new file at PATH
/// is the one to start.
pub fn this_program() -> std::io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    Ok(match replaced_by(&exe) {
        Some(new) if new.is_file() => new,
        _ => exe,
    })
}

/// `PATH` for an executable Linux reports as `PATH (deleted)`.
fn replaced_by(exe: &Path) -> Option<PathBuf> {
    let name = exe.file_name()?.to_str()?;
    let kept = name.strip_suffix(" (deleted)")?;
    (!kept.is_empty()).then(|| exe.with_file_name(kept))
}

#[cfg(unix)]
fn exec(cmd: &mut std::process::Command) -> std::io::Error {
    use std::os::unix::process::CommandExt;
    cmd.exec()
}

#[cfg(not(unix))]
fn exec(_cmd: &mut std::process::Command) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::Unsupported, "no exec on this platform")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_handoff_is_told_from_other_start_errors() {
        let lost = tauri::Error::PluginInitialization(
            "single-instance".into(),
            "failed to forward arguments to the running instance: org.freedesktop.DBus.Error.NoReply: \
             Message recipient disconnected from message bus without replying"
                .into(),
        );
        assert!(handoff_lost(&lost));
        let other_plugin = tauri::Error::PluginInitialization(
            "dialog".into(),
            "failed to forward arguments to the running instance".into(),
        );
        assert!(!handoff_lost(&other_plugin));
        let no_bus =
            tauri::Error::PluginInitialization("single-instance".into(), "I/O error".into());
        assert!(!handoff_lost(&no_bus));
    }

    #[test]
    fn a_replaced_program_is_started_from_its_new_file() {
        assert_eq!(
            replaced_by(Path::new("/opt/lockbox/lockbox-app (deleted)")),
            Some(PathBuf::from("/opt/lockbox/lockbox-app"))
        );
        assert_eq!(replaced_by(Path::new("/opt/lockbox/lockbox-app")), None);
        assert_eq!(replaced_by(Path::new("/opt/lockbox/ (deleted)")), None);
    }

    #[test]
    fn restarts_are_counted_and_bounded() {
        assert_eq!(next_restart(None), Some(1));
        assert_eq!(next_restart(Some("1")), Some(2));
        assert_eq!(next_restart(Some("2")), Some(3));
        assert_eq!(next_restart(Some("3")), None);
        assert_eq!(next_restart(Some("99")), None);
        // A value nobody we know wrote counts as none made.
        assert_eq!(next_restart(Some("x")), Some(1));
    }
}
