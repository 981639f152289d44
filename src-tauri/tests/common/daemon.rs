//! A real notification daemon for tests: dunst on a private X display
//! (Xvfb) and a given session bus, with `dbus-monitor` writing every
//! `Notify` call on that bus to a file, as `tests/headless/run.sh` observes
//! the app's notifications. Gone when dropped. Needs Xvfb, dunst and
//! dbus-monitor (.ci/install-deps): without them a test fails, saying so;
//! it is never skipped.

#![allow(clippy::unwrap_used, dead_code)]

use lockbox_core::testing::real_clock;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

pub struct Daemon {
    /// What `dbus-monitor` heard: the `Notify` calls.
    pub log: PathBuf,
    children: Vec<Child>,
    /// Dropped after the children (`Drop` below stops them first).
    _display: lockbox_core::testing::Display,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Our own children, by handle: the monitor, then dunst (then the display).
        for c in self.children.iter_mut().rev() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn need(tool: &str) {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        found,
        "{tool} is missing: the notification tests need Xvfb, dunst and dbus-monitor \
         (apt-get install xvfb dunst dbus; .ci/install-deps does)"
    );
}

/// dunst serving `org.freedesktop.Notifications` on `bus`, and the monitor.
pub fn start_notification_daemon(dir: &Path, bus: &str) -> Daemon {
    for tool in ["Xvfb", "dunst", "dbus-monitor", "dbus-send"] {
        need(tool);
    }
    // A free display of its own (Xvfb), shared with the real browser's tests.
    let display = lockbox_core::testing::start_display();
    let mut d = Daemon {
        log: dir.join("notify-calls.log"),
        children: Vec::new(),
        _display: display,
    };
    let display = d._display.name.clone();
    let config = dir.join("dunst-config");
    std::fs::create_dir_all(&config).unwrap();
    d.children.push(
        real_clock("dunst")
            .env("DISPLAY", &display)
            .env("DBUS_SESSION_BUS_ADDRESS", bus)
            .env("XDG_CONFIG_HOME", &config)
            .env_remove("WAYLAND_DISPLAY")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until("dunst on the bus", || {
        real_clock("dbus-send")
            .args([
                &format!("--bus={bus}"),
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                "string:org.freedesktop.Notifications",
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true"))
            .unwrap_or(false)
    });
    let out = std::fs::File::create(&d.log).unwrap();
    d.children.push(
        real_clock("dbus-monitor")
            .args([
                "--address",
                bus,
                "type='method_call',interface='org.freedesktop.Notifications',member='Notify'",
            ])
            .stdout(out)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // The monitor says it became one (a NameLost/NameAcquired line) first.
    let log = d.log.clone();
    wait_until("dbus-monitor", || {
        std::fs::metadata(&log)
            .map(|m| m.len() > 0)
            .unwrap_or(false)
    });
    d
}

impl Daemon {
    /// The `Notify` calls heard so far, each its whole text (summary, body,
    /// actions, hints) as dbus-monitor printed it.
    pub fn calls(&self) -> Vec<String> {
        self.timed_calls().into_iter().map(|(_, c)| c).collect()
    }

    /// The `Notify` calls heard so far, each with the time dbus-monitor
    /// stamped it with (seconds since the epoch, the bus's clock).
    pub fn timed_calls(&self) -> Vec<(f64, String)> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let mut calls = Vec::new();
        let mut current: Option<(f64, String)> = None;
        for line in text.lines() {
            if line.starts_with("method call ") || line.starts_with("signal ") {
                calls.extend(current.take());
                if line.contains("member=Notify") {
                    let at = line
                        .split_whitespace()
                        .find_map(|w| w.strip_prefix("time="))
                        .and_then(|t| t.parse().ok())
                        .unwrap_or(f64::NAN);
                    current = Some((at, String::new()));
                }
                continue;
            }
            if let Some((_, c)) = current.as_mut() {
                c.push_str(line);
                c.push('\n');
            }
        }
        calls.extend(current);
        calls
    }

    /// How many `Notify` calls held `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.calls().iter().filter(|c| c.contains(needle)).count()
    }

    /// Wait (a bound on a failure: 20 s) for a `Notify` call holding `needle`.
    pub fn wait_for(&self, needle: &str) {
        for _ in 0..200 {
            if self.count(needle) > 0 {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "no notification with {needle:?} in 20 s; heard: {:#?}",
            self.calls()
        );
    }
}

fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    for _ in 0..100 {
        if ready() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} did not come up within 10 s");
}
