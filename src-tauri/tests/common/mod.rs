//! What the IPC tests share: a window of the app under Tauri's mock runtime
//! (no display), with the same handler as the app, called as the UI calls
//! it (command name, camelCase JSON arguments); and a store with three
//! provider-approved requests, one of them approved by the customer.

#![allow(dead_code, clippy::unwrap_used)]

use lockbox_core::model::NewRequest;
use lockbox_core::{Engine, Principal};
use serde_json::Value;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{
    get_ipc_response, mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY,
};
use tauri::webview::InvokeRequest;
use tauri::WebviewWindow;

/// An app managing `state`, and its main window.
pub struct Window {
    _app: tauri::App<MockRuntime>,
    pub window: WebviewWindow<MockRuntime>,
}

impl Window {
    pub fn new(state: lockbox_app::state::AppState) -> Window {
        let app = mock_builder()
            .manage(state)
            .manage(lockbox_app::api::ApiRuntime::default())
            .invoke_handler(lockbox_app::handlers!())
            .build(mock_context(noop_assets()))
            .unwrap();
        let window = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .unwrap();
        Window { _app: app, window }
    }

    /// The command's result, or the `{code, message}` it failed with.
    pub fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        let req = InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        };
        get_ipc_response(&self.window, req).map(|b| b.deserialize::<Value>().unwrap())
    }

    pub fn ok(&self, cmd: &str, args: Value) -> Value {
        self.call(cmd, args.clone())
            .unwrap_or_else(|e| panic!("{cmd} {args} failed: {e}"))
    }

    /// Calls `cmd` expecting an error with `code`; returns the message.
    pub fn err(&self, cmd: &str, args: Value, code: &str) -> String {
        let e = self
            .call(cmd, args.clone())
            .err()
            .unwrap_or_else(|| panic!("{cmd} {args} should fail"));
        assert_eq!(e["code"], code, "{cmd}: {e}");
        e["message"].as_str().unwrap().to_string()
    }
}

/// Three requests (SR-0..SR-2) filed and provider-approved, the last one
/// approved by root too. Returns (the two pending ids, the approved id).
pub fn three_requests(engine: &mut Engine) -> (Vec<String>, String) {
    let mut ids = Vec::new();
    for i in 0..3 {
        let r = engine
            .file_request(
                "default",
                &NewRequest {
                    engineer: format!("eng{i}"),
                    case: format!("SR-{i}"),
                    workload: "Exchange Online".into(),
                    resource: "mbx".into(),
                    reason: "fix".into(),
                    duration_s: Some(3600),
                },
            )
            .unwrap();
        engine
            .provider_approve("default", &r.id, "mgr", None)
            .unwrap();
        ids.push(r.id);
    }
    let approved = ids.pop().unwrap();
    let root = Principal::os_user("root", 0);
    engine
        .approve("default", &approved, &root, None, None)
        .unwrap();
    (ids, approved)
}
