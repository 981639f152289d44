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

    /// Show `state`; does nothing if it is what is shown already.
    pub fn update(&self, state: &TrayStateDto) {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.as_ref() == Some(state) {
            return;
        }
        let icon = if state.pending > 0 { ICON_ALERT } else { ICON };
        let result = (|| -> tauri::Result<()> {
            self.icon.set_icon(Some(Image::from_bytes(icon)?))?;
            self.icon.set_tooltip(Some(&state.tooltip))?;
            self.requests.set_text(requests_label(state.pending))?;
            self.notifications
                .set_checked(state.notifications_enabled)?;
            if last.as_ref().map(|l| &l.requests) != Some(&state.requests) {
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
