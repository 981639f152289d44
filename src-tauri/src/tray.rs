//! The tray icon: a badge icon and tooltip with the pending count, and a menu
//! whose ids are an enum, plus the newest pending requests (up to 5), each an
//! item that opens it (id `open:` + its route). Under Xvfb the tray is
//! invisible, so every update is also logged (`tray updated`) and readable
//! through the `tray_state` command.

use lockbox_core::alerts::{self, Target};
use lockbox_core::dto::{TrayRequestDto, TrayStateDto};
use lockbox_core::model::Request;
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Emitter, Manager, Runtime};

pub const TRAY_ID: &str = "lockbox-tray";

/// Tray menu entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenuId {
    Open,
    ServiceRequests,
    OpenArchive,
    ToggleNotifications,
    Quit,
}

impl MenuId {
    pub const ALL: [MenuId; 5] = [
        MenuId::Open,
        MenuId::ServiceRequests,
        MenuId::OpenArchive,
        MenuId::ToggleNotifications,
        MenuId::Quit,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            MenuId::Open => "open",
            MenuId::ServiceRequests => "service-requests",
            MenuId::OpenArchive => "open-archive",
            MenuId::ToggleNotifications => "toggle-notifications",
            MenuId::Quit => "quit",
        }
    }
    pub fn parse(s: &str) -> Option<MenuId> {
        MenuId::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// The id prefix of a menu item that opens a route (a pending request).
pub const OPEN_PREFIX: &str = "open:";

pub fn tray_state(pending: u64, notifications_enabled: bool, newest: &[Request]) -> TrayStateDto {
    TrayStateDto {
        pending,
        tooltip: format!("Lockbox — {pending} pending"),
        notifications_enabled,
        requests: newest
            .iter()
            .map(|r| TrayRequestDto {
                label: alerts::tray_label(r),
                route: Target::Request {
                    tenant: r.tenant.clone(),
                    id: r.id.clone(),
                }
                .route(),
            })
            .collect(),
    }
}

/// The route a menu item id opens, if it is a request item.
pub fn route_of_item(id: &str) -> Option<&str> {
    id.strip_prefix(OPEN_PREFIX)
}

fn requests_label(pending: u64) -> String {
    format!("Service requests ({pending} pending)")
}

pub struct Tray<R: Runtime> {
    icon: TrayIcon<R>,
    menu: Menu<R>,
    requests: MenuItem<R>,
    /// The request items shown, right after `requests`.
    request_items: std::sync::Mutex<Vec<MenuItem<R>>>,
    notifications: CheckMenuItem<R>,
    last: std::sync::Mutex<Option<TrayStateDto>>,
}

const ICON: &[u8] = include_bytes!("../../icons/tray.png");
const ICON_ALERT: &[u8] = include_bytes!("../../icons/tray-alert.png");

impl<R: Runtime> Tray<R> {
    pub fn build(app: &AppHandle<R>, notifications_enabled: bool) -> tauri::Result<Self> {
        let open = MenuItem::with_id(
            app,
            MenuId::Open.as_str(),
            "Open Lockbox",
            true,
            None::<&str>,
        )?;
        let requests = MenuItem::with_id(
            app,
            MenuId::ServiceRequests.as_str(),
            requests_label(0),
            true,
            None::<&str>,
        )?;
        let archive = MenuItem::with_id(
            app,
            MenuId::OpenArchive.as_str(),
            "Open audit archive…",
            true,
            None::<&str>,
        )?;
        let notifications = CheckMenuItem::with_id(
            app,
            MenuId::ToggleNotifications.as_str(),
            "Notifications",
            true,
            notifications_enabled,
            None::<&str>,
        )?;
        let quit = MenuItem::with_id(app, MenuId::Quit.as_str(), "Quit", true, None::<&str>)?;
        let sep = PredefinedMenuItem::separator(app)?;
        let menu = Menu::with_items(
            app,
            &[&open, &requests, &archive, &notifications, &sep, &quit],
        )?;
        let icon = TrayIconBuilder::with_id(TRAY_ID)
            .icon(Image::from_bytes(ICON)?)
            .tooltip("Lockbox")
            .menu(&menu)
            .show_menu_on_left_click(false)
            .on_menu_event(|app, ev| {
                if let Some(id) = MenuId::parse(ev.id().as_ref()) {
                    crate::on_menu(app, id);
                } else if let Some(route) = route_of_item(ev.id().as_ref()) {
                    tracing::info!(%route, "tray item chosen");
                    crate::open_route(app, route);
                }
            })
            .on_tray_icon_event(|tray, ev| {
                if let TrayIconEvent::Click {
                    button: MouseButton::Left,
                    button_state: MouseButtonState::Up,
                    ..
                } = ev
                {
                    crate::show_main(tray.app_handle());
                }
            })
            .build(app)?;
        Ok(Tray {
            icon,
            menu,
            requests,
            request_items: std::sync::Mutex::new(Vec::new()),
            notifications,
            last: std::sync::Mutex::new(None),
        })
    }

    /// Show `state`: only the parts that differ from what is shown (a new
    /// pending count changes the labels, not the icon); nothing if it is all
    /// the same.
    pub fn update(&self, state: &TrayStateDto) {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let todo = TrayChanges::between(last.as_ref(), state);
        if todo.is_empty() {
            return;
        }
        let result = (|| -> tauri::Result<()> {
            if todo.icon {
                let icon = if state.pending > 0 { ICON_ALERT } else { ICON };
                self.icon.set_icon(Some(Image::from_bytes(icon)?))?;
            }
            if todo.tooltip {
                self.icon.set_tooltip(Some(&state.tooltip))?;
            }
            if todo.label {
                self.requests.set_text(requests_label(state.pending))?;
            }
            if todo.checked {
                self.notifications
                    .set_checked(state.notifications_enabled)?;
            }
            if todo.requests {
                self.set_requests(&state.requests)?;
            }
            Ok(())
        })();
        match result {
            Ok(()) => {
                let items: Vec<&str> = state.requests.iter().map(|r| r.label.as_str()).collect();
                tracing::info!(pending = state.pending, tooltip = %state.tooltip, ?items, "tray updated")
            }
            Err(e) => tracing::warn!("tray update failed: {e}"),
        }
        let _ = self.icon.app_handle().emit("lockbox://tray", state);
        *last = Some(state.clone());
    }
}

/// Which parts of the tray an update touches. Setting the icon decodes a PNG
/// and, with an app indicator, writes it to a file and signals D-Bus; the
/// menu's parts each send a D-Bus layout update. So only what differs is set.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TrayChanges {
    pub icon: bool,
    pub tooltip: bool,
    pub label: bool,
    pub checked: bool,
    pub requests: bool,
}

impl TrayChanges {
    /// What to set to go from `last` (None: nothing set yet, so everything) to `next`.
    pub fn between(last: Option<&TrayStateDto>, next: &TrayStateDto) -> TrayChanges {
        let Some(l) = last else {
            return TrayChanges {
                icon: true,
                tooltip: true,
                label: true,
                checked: true,
                requests: true,
            };
        };
        TrayChanges {
            icon: (l.pending > 0) != (next.pending > 0),
            tooltip: l.tooltip != next.tooltip,
            label: l.pending != next.pending,
            checked: l.notifications_enabled != next.notifications_enabled,
            requests: l.requests != next.requests,
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == TrayChanges::default()
    }
}

impl<R: Runtime> Tray<R> {
    /// Replace the request items (after "Service requests"): labels are one
    /// line of plain text already; `&` is the menu's mnemonic mark.
    fn set_requests(&self, rows: &[TrayRequestDto]) -> tauri::Result<()> {
        let mut items = self.request_items.lock().unwrap_or_else(|p| p.into_inner());
        for old in items.drain(..) {
            self.menu.remove(&old)?;
        }
        let app = self.icon.app_handle();
        for (i, r) in rows.iter().enumerate() {
            let id = format!("{OPEN_PREFIX}{}", r.route);
            let label = lockbox_core::text::menu_escape(&r.label);
            let item = MenuItem::with_id(app, id, label, true, None::<&str>)?;
            self.menu.insert(&item, 2 + i)?;
            items.push(item);
        }
        Ok(())
    }
}

/// Used by the menu handler to reach the tray from an AppHandle.
pub fn get<R: Runtime>(app: &AppHandle<R>) -> Option<tauri::State<'_, Tray<R>>> {
    app.try_state::<Tray<R>>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(pending: u64, enabled: bool, labels: &[&str]) -> TrayStateDto {
        TrayStateDto {
            pending,
            tooltip: format!("Lockbox — {pending} pending"),
            notifications_enabled: enabled,
            requests: labels
                .iter()
                .map(|l| TrayRequestDto {
                    label: l.to_string(),
                    route: format!("requests?request={l}"),
                })
                .collect(),
        }
    }

    #[test]
    fn the_first_update_sets_everything() {
        let c = TrayChanges::between(None, &state(0, true, &[]));
        assert!(c.icon && c.tooltip && c.label && c.checked && c.requests);
    }

    #[test]
    fn a_new_count_sets_the_labels_but_not_the_icon_or_menu_items() {
        let a = state(10_000, true, &["a", "b"]);
        let b = state(9_999, true, &["a", "b"]);
        assert_eq!(
            TrayChanges::between(Some(&a), &b),
            TrayChanges {
                tooltip: true,
                label: true,
                ..TrayChanges::default()
            }
        );
        assert!(TrayChanges::between(Some(&b), &b).is_empty());
    }

    #[test]
    fn the_icon_changes_only_when_pending_requests_come_or_go() {
        let none = state(0, true, &[]);
        let one = state(1, true, &["a"]);
        let c = TrayChanges::between(Some(&none), &one);
        assert!(c.icon && c.label && c.requests && !c.checked);
        assert!(TrayChanges::between(Some(&one), &none).icon);
        let off = state(1, false, &["a"]);
        assert_eq!(
            TrayChanges::between(Some(&one), &off),
            TrayChanges {
                checked: true,
                ..TrayChanges::default()
            }
        );
    }
}
