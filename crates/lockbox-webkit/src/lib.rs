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
use webkit2gtk::WebContext;

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
    if WEBKIT_CONSTRUCTOR.get().is_some() {
        return Ok(());
    }
    // SAFETY: the class is referenced (and so initialised) for the life of the
    // process; its pspec is looked up by name and its flags checked before
    // the class's constructor pointer is swapped for one that chains to it.
    unsafe {
        let class = gobject::g_type_class_ref(WebContext::static_type().into_glib())
            as *mut gobject::GObjectClass;
        let pspec = gobject::g_object_class_find_property(class, PROPERTY.as_ptr());
        if pspec.is_null() {
            return Err("this WebKitGTK has no memory-pressure-settings (< 2.34)".into());
        }
        if (*pspec).flags & gobject::G_PARAM_CONSTRUCT_ONLY == 0 {
            return Err("memory-pressure-settings is not a construct-only property here".into());
        }
        let Some(original) = (*class).constructor else {
            return Err("WebKitWebContext has no constructor to wrap".into());
        };
        let _ = WEBKIT_CONSTRUCTOR.set(original);
        (*class).constructor = Some(construct_web_context);
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
