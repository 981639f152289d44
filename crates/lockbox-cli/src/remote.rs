//! `lockbox login`, `logout` and `remote`: the CLI as a client of a team
//! server's admin API (`lockbox serve --oidc-issuer …`), on
//! `lockbox_client` (sign-in, keyring, calls with one renewal); here only
//! what the CLI adds: its arguments, what it prints, and its config file
//! (the server last logged in to and its `--ca`, in
//! `$XDG_CONFIG_HOME/lockbox/cli.json`; never a token).
//!
//! - `login --server URL`: the device flow; `--browser`: the code flow
//!   through the system browser (`$BROWSER`, else xdg-open).
//! - `remote --follow`: the live change feed, a line per event
//!   (`lockbox_client::changes`).
//! - `remote COMMAND [JSON]`: the call, the sign-in renewed once when its
//!   session has expired by the CLI's clock (`LOCKBOX_NOW` pins it) or the
//!   server answers 401.
//! - `logout`: the session ends on the server (when it answers), and the
//!   keyring entry is deleted.

use crate::print::Out;
use lockbox_client::changes::{self, FeedEvent, FeedNews};
use lockbox_client::{
    browser_flow, call, claim, device_flow, http_client, keep, kept, keyring_error,
    open_in_browser, server_url, sign_out,
};
use lockbox_core::secrets::{self, SIGN_IN_SERVICE};
use lockbox_core::text::one_line;
use lockbox_core::{Clock, Error, ErrorCode, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::process::ExitCode;

/// The non-secret config file: the server last logged in to, and its CA file.
#[derive(Serialize, Deserialize, Default, Debug)]
struct Config {
    server: Option<String>,
    ca: Option<PathBuf>,
}

/// `$XDG_CONFIG_HOME/lockbox/cli.json` on Linux.
fn config_path() -> Result<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "lockbox")
        .ok_or_else(|| Error::input("cannot find the user's config folder (is HOME set?)"))?;
    Ok(dirs.config_dir().join("cli.json"))
}

fn read_config() -> Result<Config> {
    let path = config_path()?;
    match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b)
            .map_err(|e| Error::input(format!("{} is not valid: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
        Err(e) => Err(Error::input(format!("cannot read {}: {e}", path.display()))),
    }
}

fn write_config(c: &Config) -> Result<()> {
    let path = config_path()?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::input(format!("cannot create {}: {e}", dir.display())))?;
    }
    lockbox_core::files::write_atomically(&path, |f| {
        serde_json::to_writer_pretty(&mut *f, c)
            .map_err(|e| Error::internal(format!("cannot write {}: {e}", path.display())))
    })
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("cannot start the async runtime: {e}")))
}

/// `lockbox login --server URL [--ca FILE] [--browser]`.
pub fn login(server: &str, ca: Option<PathBuf>, in_browser: bool, out: &Out) -> Result<ExitCode> {
    let server = server_url(server)?;
    // No keyring, no sign-in to keep: say so before the person signs in.
    secrets::secret_get(SIGN_IN_SERVICE, &server).map_err(keyring_error)?;
    let http = http_client(ca.as_deref())?;
    let show = |prompt: &str| {
        if out.json {
            eprintln!("{prompt}");
        } else {
            outln!("{prompt}");
        }
    };
    let tokens = if in_browser {
        runtime()?.block_on(browser_flow(&http, &server, open_in_browser, show))?
    } else {
        runtime()?.block_on(device_flow(&http, &server, show))?
    };
    keep(&server, &tokens)?;
    write_config(&Config {
        server: Some(server.clone()),
        ca: ca.map(|p| std::path::absolute(&p).unwrap_or(p)),
    })?;
    let who = claim(&tokens.id_token, "email")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "?".into());
    out.value(
        &serde_json::json!({ "server": server, "email": who }),
        &format!("Logged in to {server} as {}", one_line(&who)),
    );
    Ok(ExitCode::SUCCESS)
}

/// `lockbox logout [--server URL]`.
pub fn logout(server: Option<String>, out: &Out) -> Result<ExitCode> {
    let config = read_config()?;
    let server = match server.or(config.server.clone()) {
        Some(s) => server_url(&s)?,
        None => return Err(Error::input("which server? give --server URL")),
    };
    // The session ends on the server when it can be reached (best effort:
    // the keyring entry goes either way).
    let ca = config
        .ca
        .clone()
        .filter(|_| config.server.as_deref() == Some(server.as_str()));
    if let (Ok(http), Ok(tokens)) = (http_client(ca.as_deref()), kept(&server)) {
        runtime()?.block_on(sign_out(&http, &server, &tokens));
    }
    secrets::secret_delete(SIGN_IN_SERVICE, &server).map_err(keyring_error)?;
    if config.server.as_deref() == Some(server.as_str()) {
        write_config(&Config::default())?;
    }
    out.done(&format!("Logged out of {server}"));
    Ok(ExitCode::SUCCESS)
}

/// The team server to call (`--server`, else the one last logged in to)
/// and the CA to trust for it (`--ca`, else the one given to its login).
fn target(server: Option<String>, ca: Option<PathBuf>) -> Result<(String, Option<PathBuf>)> {
    let config = read_config()?;
    let server = match server.as_deref().or(config.server.as_deref()) {
        Some(s) => server_url(s)?,
        None => {
            return Err(Error::new(
                ErrorCode::Unauthorized,
                "no team server: log in with `lockbox login --server URL`",
            ))
        }
    };
    let ca = ca.or_else(|| {
        (config.server.as_deref() == Some(server.as_str()))
            .then_some(config.ca)
            .flatten()
    });
    Ok((server, ca))
}

/// `lockbox remote [--server URL] COMMAND [JSON_ARGS]`.
pub fn remote(
    server: Option<String>,
    ca: Option<PathBuf>,
    command: &str,
    args: Option<String>,
    clock: &dyn Clock,
    out: &Out,
) -> Result<ExitCode> {
    let (server, ca) = target(server, ca)?;
    let body: serde_json::Value = match args.as_deref().map(str::trim) {
        None | Some("") => serde_json::json!({}),
        Some(a) => serde_json::from_str(a)
            .map_err(|e| Error::input(format!("JSON_ARGS is not JSON: {e}")))?,
    };
    if command.is_empty()
        || !command
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(Error::input(format!(
            "'{}' is not a command name (like list_users)",
            one_line(command)
        )));
    }
    let tokens = kept(&server)?;
    let http = http_client(ca.as_deref())?;
    let now = clock.now().timestamp();
    let called = runtime()?.block_on(call(&http, &server, command, &body, tokens, now))?;
    if called.renewed {
        eprintln!("lockbox: renewed the sign-in to {server}");
    }
    let text = serde_json::to_string_pretty(&called.value).unwrap_or_default();
    out.value(&called.value, &text);
    Ok(ExitCode::SUCCESS)
}

/// `lockbox remote [--server URL] --follow`: the live change feed, one line
/// per event until interrupted or the server cannot be reached. Text:
/// `scope TENANT…` (the tenants you hear), `KIND TENANT` per change
/// (`requests_changed default`), flattened for the terminal; `--json`: each
/// event as one JSON line, `{"event", "id", "data"}`.
pub fn follow(
    server: Option<String>,
    ca: Option<PathBuf>,
    clock: &dyn Clock,
    out: &Out,
) -> Result<ExitCode> {
    let (server, ca) = target(server, ca)?;
    let tokens = kept(&server)?;
    let http = changes::stream_client(ca.as_deref())?;
    let now = clock.now().timestamp();
    let print = |news: FeedNews| match news {
        FeedNews::Event(e) => print_event(&e, out),
        FeedNews::Renewed => eprintln!("lockbox: renewed the sign-in to {server}"),
        FeedNews::Ended(why) => eprintln!(
            "lockbox: the server ended the feed: {}",
            one_line(why["message"].as_str().unwrap_or_default())
        ),
    };
    runtime()?.block_on(changes::follow(&http, &server, tokens, now, print))?;
    Ok(ExitCode::SUCCESS)
}

/// `lockbox remote [--server URL] --replica FILE`: pull your tenants' audit
/// log into FILE; a line per tenant.
pub fn replica(
    server: Option<String>,
    ca: Option<PathBuf>,
    file: &std::path::Path,
    clock: &dyn Clock,
    out: &Out,
) -> Result<ExitCode> {
    let (server, ca) = target(server, ca)?;
    let http = http_client(ca.as_deref())?;
    let now = clock.now().timestamp();
    let pulled = runtime()?.block_on(lockbox_client::replica::pull(&http, &server, now, file))?;
    if pulled.renewed {
        eprintln!("lockbox: renewed the sign-in to {server}");
    }
    let tenants: Vec<serde_json::Value> = pulled
        .tenants
        .iter()
        .map(|(t, added, head, vouched)| {
            serde_json::json!({"tenant": t, "added": added, "entries": head, "checkpoint": vouched})
        })
        .collect();
    let text: Vec<String> = pulled
        .tenants
        .iter()
        .map(|(t, added, head, vouched)| {
            let vouched = vouched.map_or("no signed checkpoint yet".to_string(), |n| {
                format!("signed checkpoint at {n}")
            });
            format!("{}: {added} new, {head} entries, {vouched}", one_line(t))
        })
        .collect();
    out.value(
        &serde_json::json!({ "replica": file, "tenants": tenants }),
        &format!("Replica {}\n{}", file.display(), text.join("\n")),
    );
    Ok(ExitCode::SUCCESS)
}

fn print_event(e: &FeedEvent, out: &Out) {
    if out.json {
        let v = serde_json::json!({ "event": e.event, "id": e.id, "data": e.data });
        outln!("{v}");
        return;
    }
    let name = |v: &serde_json::Value| one_line(v.as_str().unwrap_or("-")).into_owned();
    let line = match e.event.as_str() {
        "scope" => {
            let tenants: Vec<String> = e.data["tenants"]
                .as_array()
                .map(|a| a.iter().map(name).collect())
                .unwrap_or_default();
            format!("scope {}", tenants.join(" "))
        }
        "message" => format!("{} {}", name(&e.data["kind"]), name(&e.data["tenant"])),
        other => format!("{} {}", one_line(other), one_line(&e.data.to_string())),
    };
    outln!("{line}");
}
