//! WebKitGTK settings Tauri does not expose.
//!
//! Every 30 s (WebKit's default `poll-interval`) the web process measures its
//! own memory footprint by reading `/proc/self/smaps` whole: ~1 350 reads of
//! 1 KiB, ~30 ms of CPU on this machine, about a fifth of what the idle app
//! spends (issue 15; BENCHMARKS.md §6). The page is one small admin center, so
//! once every [`WEB_PROCESS_MEMORY_POLL_S`] is plenty for WebKit's memory
//! pressure relief.
//!
//! The interval is a construct-only property of `WebKitWebContext`
//! (`memory-pressure-settings`, WebKitGTK ≥ 2.34), and the context is built
//! inside wry, out of reach. So [`set_web_process_memory_poll`] wraps the
//! class's GObject `constructor` once, before any context exists: a context
//! built with no settings of its own gets ours, and everything else WebKit
//! decides (thresholds, the memory limit) stays its default.
//!
//! Without a GPU (no DRM render node: Xvfb, a VM, a remote display) WebKit
//! composites every frame through software OpenGL (llvmpipe): ~80–120 ms of
//! CPU a frame however small the change, and most of the first frame's cost.
//! [`paint_without_compositing_when_no_gpu`] makes every `WebKitSettings`
//! built from then on ask for `hardware-acceleration-policy` NEVER, the way
//! [`set_web_process_memory_poll`] does for the context: WebKit then paints
//! with its CPU renderer straight into the window (a few ms a frame). With a
//! GPU nothing changes, and a `WEBKIT_DISABLE_COMPOSITING_MODE` the user set
//! is left to decide. (The environment variable itself is not used: every
//! process the app starts, a browser for sign-in among them, would inherit it.)
//!
//! This is the workspace's only crate with unsafe code (the others forbid
//! it); each unsafe block says why it is sound. Linux only: elsewhere the
//! crate is empty.
#![cfg(target_os = "linux")]

use std::ffi::{c_uint, CStr};
use std::sync::OnceLock;
use webkit2gtk::ffi as webkit;
use webkit2gtk::glib::ffi::GType;
use webkit2gtk::glib::gobject_ffi as gobject;
use webkit2gtk::glib::translate::IntoGlib;
use webkit2gtk::glib::StaticType;
use webkit2gtk::{Settings, WebContext};

/// The web process's memory footprint poll, in seconds.
pub const WEB_PROCESS_MEMORY_POLL_S: f64 = 300.0;

const PROPERTY: &CStr = c"memory-pressure-settings";

type Constructor = unsafe extern "C" fn(
    GType,
    c_uint,
    *mut gobject::GObjectConstructParam,
) -> *mut gobject::GObject;

static WEBKIT_CONSTRUCTOR: OnceLock<Constructor> = OnceLock::new();

/// Makes web contexts built from now on poll the web process's footprint
/// every `WEB_PROCESS_MEMORY_POLL_S`. Call before the first window. Returns
/// why not, if this WebKit has no such construct property.
pub fn set_web_process_memory_poll() -> Result<(), String> {
    wrap_constructor(
        WebContext::static_type(),
        &WEBKIT_CONSTRUCTOR,
        construct_web_context,
        |class| {
            // SAFETY: `class` is the referenced, initialised class; the pspec
            // it returns (if any) lives as long as the class.
            unsafe {
                let pspec = gobject::g_object_class_find_property(class, PROPERTY.as_ptr());
                if pspec.is_null() {
                    return Err("this WebKitGTK has no memory-pressure-settings (< 2.34)".into());
                }
                if (*pspec).flags & gobject::G_PARAM_CONSTRUCT_ONLY == 0 {
                    return Err(
                        "memory-pressure-settings is not a construct-only property here".into(),
                    );
                }
            }
            Ok(())
        },
    )
}

/// Swaps the GObject `constructor` of TYPE's class for WRAPPER, which chains
/// to the original kept in ORIGINAL; once per process (again: nothing). CHECK
/// looks at the class first and may refuse, leaving it as it was.
fn wrap_constructor(
    type_: webkit2gtk::glib::Type,
    original: &OnceLock<Constructor>,
    wrapper: Constructor,
    check: impl FnOnce(*mut gobject::GObjectClass) -> Result<(), String>,
) -> Result<(), String> {
    if original.get().is_some() {
        return Ok(());
    }
    // SAFETY: the class is referenced (and so initialised) for the life of the
    // process; its constructor pointer is read, kept, and swapped for one that
    // chains to it, before any instance of the type is built by the caller.
    unsafe {
        let class = gobject::g_type_class_ref(type_.into_glib()) as *mut gobject::GObjectClass;
        check(class)?;
        let Some(chained) = (*class).constructor else {
            return Err(format!("{type_} has no constructor to wrap"));
        };
        let _ = original.set(chained);
        (*class).constructor = Some(wrapper);
    }
    Ok(())
}

unsafe extern "C" fn construct_web_context(
    type_: GType,
    n: c_uint,
    params: *mut gobject::GObjectConstructParam,
) -> *mut gobject::GObject {
    // SAFETY: GObject hands the constructor `n` construct parameters; each
    // value is a GValue of its pspec's type, a default one where the caller
    // set none (so a NULL boxed here means "not given"). g_value_set_boxed
    // copies the settings; GObject unsets the value after construction.
    unsafe {
        for i in 0..n as usize {
            let p = &*params.add(i);
            if p.pspec.is_null() || p.value.is_null() {
                continue;
            }
            if CStr::from_ptr((*p.pspec).name) == PROPERTY
                && gobject::g_value_get_boxed(p.value).is_null()
            {
                // Plain FFI, not the gtk-rs wrapper: that one asserts GTK is
                // initialised, and a panic here (called from C) aborts.
                let settings = webkit::webkit_memory_pressure_settings_new();
                webkit::webkit_memory_pressure_settings_set_poll_interval(
                    settings,
                    WEB_PROCESS_MEMORY_POLL_S,
                );
                gobject::g_value_set_boxed(p.value, settings as *const _);
                webkit::webkit_memory_pressure_settings_free(settings);
            }
        }
        let original = WEBKIT_CONSTRUCTOR
            .get()
            .expect("set before the constructor is swapped");
        original(type_, n, params)
    }
}

/// Whether WebKit should paint without compositing: there is no GPU to
/// composite on (no DRM render node, or software GL forced with
/// `LIBGL_ALWAYS_SOFTWARE`), and the user did not decide it themselves
/// (`WEBKIT_DISABLE_COMPOSITING_MODE` set, whatever its value).
pub fn without_compositing(render_node: bool, software_gl: bool, user_decides: bool) -> bool {
    !user_decides && (!render_node || software_gl)
}

/// [`without_compositing`] for this machine and environment.
pub fn no_gpu_here() -> bool {
    let render_node = std::fs::read_dir("/dev/dri").is_ok_and(|d| {
        d.flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
    });
    let software_gl = std::env::var("LIBGL_ALWAYS_SOFTWARE").is_ok_and(|v| v == "1" || v == "true");
    without_compositing(
        render_node,
        software_gl,
        std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_some(),
    )
}

/// Without a GPU ([`no_gpu_here`]), makes every `WebKitSettings` built from
/// now on paint without compositing; returns whether it did. Call before the
/// first window (a web view's page takes its settings when it is created).
pub fn paint_without_compositing_when_no_gpu() -> Result<bool, String> {
    if !no_gpu_here() {
        return Ok(false);
    }
    paint_without_compositing().map(|()| true)
}

static SETTINGS_CONSTRUCTOR: OnceLock<Constructor> = OnceLock::new();

/// Makes every `WebKitSettings` built from now on (the one each web view
/// makes for itself included) ask for hardware acceleration policy NEVER,
/// GPU or not. [`paint_without_compositing_when_no_gpu`] is the app's entry.
pub fn paint_without_compositing() -> Result<(), String> {
    wrap_constructor(
        Settings::static_type(),
        &SETTINGS_CONSTRUCTOR,
        construct_settings,
        |_| Ok(()),
    )
}

unsafe extern "C" fn construct_settings(
    type_: GType,
    n: c_uint,
    params: *mut gobject::GObjectConstructParam,
) -> *mut gobject::GObject {
    // SAFETY: the original constructor returns a WebKitSettings instance
    // (its instance init has made the preferences the setter writes to), or
    // NULL, which is passed on untouched. Plain FFI: the gtk-rs wrappers
    // assert GTK is initialised, and a panic here (called from C) aborts.
    unsafe {
        let original = SETTINGS_CONSTRUCTOR
            .get()
            .expect("set before the constructor is swapped");
        let object = original(type_, n, params);
        if !object.is_null() {
            webkit::webkit_settings_set_hardware_acceleration_policy(
                object as *mut webkit::WebKitSettings,
                webkit::WEBKIT_HARDWARE_ACCELERATION_POLICY_NEVER,
            );
        }
        object
    }
}

#[cfg(test)]
mod tests {
    use super::without_compositing;

    #[test]
    fn compositing_goes_only_without_a_gpu_and_never_over_the_users_choice() {
        // (render node, software GL forced, the user set WEBKIT_DISABLE_COMPOSITING_MODE)
        assert!(
            without_compositing(false, false, false),
            "no GPU: Xvfb, a VM"
        );
        assert!(
            without_compositing(true, true, false),
            "a GPU, software GL forced"
        );
        assert!(
            !without_compositing(true, false, false),
            "a GPU: keep compositing"
        );
        assert!(!without_compositing(false, false, true), "the user decides");
        assert!(!without_compositing(true, true, true), "the user decides");
    }
}
