//! The provider API inside the desktop app (a setting, on by default): the
//! same axum server as `lockbox serve`, sharing this app's engine.

use crate::state::AppState;
use lockbox_core::dto::ApiSettingsDto;
use std::sync::{Arc, Mutex};

/// What the in-app server is doing.
#[derive(Debug, Default, Clone)]
pub struct ApiStatus {
    pub listening_on: Option<String>,
    pub error: Option<String>,
}

#[derive(Default, Clone)]
pub struct ApiRuntime {
    pub status: Arc<Mutex<ApiStatus>>,
    handle: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl ApiRuntime {
    pub fn status(&self) -> ApiStatus {
        self.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set(&self, s: ApiStatus) {
        *self.status.lock().unwrap_or_else(|p| p.into_inner()) = s;
    }

    /// (Re)start the server from the stored settings; `LOCKBOX_API_BIND` overrides the address.
    pub async fn restart(&self, state: &AppState) {
        if let Some(h) = self.handle.lock().unwrap_or_else(|p| p.into_inner()).take() {
            h.abort();
        }
        let settings = match state.run(|e, _| e.api_settings()).await {
            Ok(s) => s,
            Err(e) => {
                return self.set(ApiStatus {
                    listening_on: None,
                    error: Some(e.message),
                })
            }
        };
        if !settings.enabled || std::env::var("LOCKBOX_API").is_ok_and(|v| v == "off") {
            return self.set(ApiStatus::default());
        }
        let bind = std::env::var("LOCKBOX_API_BIND")
            .ok()
            .filter(|b| !b.is_empty())
            .unwrap_or(settings.bind);
        let Ok(addr) = bind.parse() else {
            return self.set(ApiStatus {
                listening_on: None,
                error: Some(format!("'{bind}' is not an address")),
            });
        };
        let tls = settings
            .tls_cert
            .zip(settings.tls_key)
            .map(|(c, k)| (c.into(), k.into()));
        let api_state = lockbox_api::ApiState::new(state.engine.clone(), 50, 250);
        match lockbox_api::bind(api_state, lockbox_api::ServeConfig { bind: addr, tls }).await {
            Ok((addr, h)) => {
                tracing::info!(%addr, "provider API listening");
                *self.handle.lock().unwrap_or_else(|p| p.into_inner()) = Some(h);
                self.set(ApiStatus {
                    listening_on: Some(addr.to_string()),
                    error: None,
                });
            }
            Err(e) => {
                tracing::warn!("provider API not started: {}", e.message);
                self.set(ApiStatus {
                    listening_on: None,
                    error: Some(e.message),
                });
            }
        }
    }

    pub fn dto(&self, s: &lockbox_core::engine::ApiSettings) -> ApiSettingsDto {
        let st = self.status();
        ApiSettingsDto {
            enabled: s.enabled,
            bind: s.bind.clone(),
            tls_cert: s.tls_cert.clone(),
            tls_key: s.tls_key.clone(),
            listening_on: st.listening_on,
            error: st.error,
        }
    }
}
