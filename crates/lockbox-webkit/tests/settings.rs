//! `WebKitSettings` built after `paint_without_compositing` ask WebKit to
//! paint without compositing, the ones a web view makes for itself (as
//! wry's do) included; settings built before keep WebKit's default. GTK
//! needs a display: a private Xvfb (without Xvfb the test fails, saying so;
//! .ci/install-deps installs it). `no_gpu_here`'s decision is unit-tested in
//! the crate.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

use webkit2gtk::{
    HardwareAccelerationPolicy, Settings, SettingsExt, WebContext, WebView, WebViewExt,
};

#[test]
fn settings_built_after_the_call_paint_without_compositing() {
    let display = lockbox_core::testing::start_display();
    // One test in this binary: nothing else reads the environment meanwhile.
    std::env::set_var("DISPLAY", &display.name);
    gtk::init().unwrap();
    let never = HardwareAccelerationPolicy::Never;
    // A context of the test's own: WebKit's default one outlives the test
    // and aborts the process when it is released at exit off its thread.
    let context = WebContext::new();

    // Before: WebKit's default (so the checks below can fail).
    let before = Settings::new();
    assert_ne!(before.hardware_acceleration_policy(), never);
    let view = WebView::with_context(&context);
    assert_ne!(
        view.settings().unwrap().hardware_acceleration_policy(),
        never
    );

    lockbox_webkit::paint_without_compositing().unwrap();
    assert_eq!(Settings::new().hardware_acceleration_policy(), never);
    let view = WebView::with_context(&context);
    assert_eq!(
        view.settings().unwrap().hardware_acceleration_policy(),
        never,
        "a web view's own settings, as wry uses them"
    );
    // Settings made before are left alone; calling it again changes nothing.
    assert_ne!(before.hardware_acceleration_policy(), never);
    lockbox_webkit::paint_without_compositing().unwrap();
    assert_eq!(Settings::new().hardware_acceleration_policy(), never);
}
