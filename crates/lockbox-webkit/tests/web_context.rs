//! A real WebKitGTK web context, built after `set_web_process_memory_poll`,
//! is given the poll interval; one built with settings of its own keeps
//! them. The property is write-only, so the test wraps the class's
//! `set_property` to see what WebKit's own setter receives. GTK needs a
//! display: a private Xvfb (without Xvfb the test fails, saying so;
//! .ci/install-deps installs it).
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

use std::ffi::CStr;
use std::sync::{Mutex, OnceLock};
use webkit2gtk::glib::gobject_ffi as gobject;
use webkit2gtk::glib::translate::IntoGlib;
use webkit2gtk::glib::StaticType;
use webkit2gtk::{MemoryPressureSettings, WebContext};

type SetProperty = unsafe extern "C" fn(
    *mut gobject::GObject,
    u32,
    *mut gobject::GValue,
    *mut gobject::GParamSpec,
);

static WEBKIT_SET_PROPERTY: OnceLock<SetProperty> = OnceLock::new();
/// The poll interval of each memory-pressure-settings WebKit was given
/// (`None`: no settings, WebKit's defaults).
static GIVEN: Mutex<Vec<Option<f64>>> = Mutex::new(Vec::new());

unsafe extern "C" fn record_set_property(
    object: *mut gobject::GObject,
    id: u32,
    value: *mut gobject::GValue,
    pspec: *mut gobject::GParamSpec,
) {
    // SAFETY: GObject calls this as the class's set_property, with a live
    // pspec and a value of its type (a boxed WebKitMemoryPressureSettings,
    // or NULL, for the property looked at); then WebKit's own setter runs.
    unsafe {
        if CStr::from_ptr((*pspec).name) == c"memory-pressure-settings" {
            let settings = gobject::g_value_get_boxed(value)
                as *mut webkit2gtk::ffi::WebKitMemoryPressureSettings;
            let interval = (!settings.is_null()).then(|| {
                webkit2gtk::ffi::webkit_memory_pressure_settings_get_poll_interval(settings)
            });
            GIVEN.lock().unwrap().push(interval);
        }
        WEBKIT_SET_PROPERTY.get().unwrap()(object, id, value, pspec)
    }
}

/// What the next context's construction hands WebKit's setter.
fn given(build: impl FnOnce() -> WebContext) -> Option<f64> {
    GIVEN.lock().unwrap().clear();
    drop(build());
    let given = GIVEN.lock().unwrap().clone();
    assert_eq!(
        given.len(),
        1,
        "the property is set once at construction: {given:?}"
    );
    given[0]
}

#[test]
fn web_contexts_poll_the_web_process_footprint_every_five_minutes() {
    let display = lockbox_core::testing::start_display();
    // One test in this binary: nothing else reads the environment meanwhile.
    std::env::set_var("DISPLAY", &display.name);
    gtk::init().unwrap();
    // SAFETY: the class is referenced for the life of the process; its
    // set_property is swapped, before any context exists, for one that chains to it.
    unsafe {
        let class = gobject::g_type_class_ref(WebContext::static_type().into_glib())
            as *mut gobject::GObjectClass;
        WEBKIT_SET_PROPERTY
            .set((*class).set_property.unwrap())
            .unwrap();
        (*class).set_property = Some(record_set_property);
    }

    // Without the wrapper: no settings, so WebKit's 30 s (the check can fail).
    assert_eq!(given(|| WebContext::builder().build()), None);

    lockbox_webkit::set_web_process_memory_poll().unwrap();
    let poll = Some(lockbox_webkit::WEB_PROCESS_MEMORY_POLL_S);
    assert_eq!(
        given(|| WebContext::builder().build()),
        poll,
        "as wry builds one"
    );
    assert_eq!(given(|| webkit2gtk::glib::Object::new()), poll);
    // Calling it again changes nothing.
    lockbox_webkit::set_web_process_memory_poll().unwrap();
    assert_eq!(given(|| WebContext::builder().build()), poll);

    // Settings a caller gives are kept.
    let mut own = MemoryPressureSettings::new();
    own.set_poll_interval(7.0);
    assert_eq!(
        given(|| WebContext::builder().memory_pressure_settings(&own).build()),
        Some(7.0)
    );
}
