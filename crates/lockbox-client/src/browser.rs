//! The browser sign-in (`lockbox login --browser`): OpenID Connect's authorization code flow with
//! PKCE through the person's own browser, the way a native app signs in
//! (RFC 8252): the CLI listens on a loopback IP literal and a free port of
//! its own (`http://127.0.0.1:PORT/callback`, §7.3; the provider must allow
//! any port there), opens the provider's authorization page in the system
//! browser (`$BROWSER`, else `xdg-open` / `open`) and prints its address in
//! case no browser opens, then waits for the provider's redirect.
//!
//! A redirect that does not carry this sign-in's `state` is answered 400 and
//! ignored (another page may send the browser to the port); the ID token
//! must carry this sign-in's `nonce`. The code is exchanged with the PKCE
//! verifier at the issuer's token endpoint, as the device flow's tokens are.

use crate::{claim, client_of, refused, sign_in_info, tokens_of, Tokens};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use lockbox_core::text::one_line;
use lockbox_core::{Error, ErrorCode, Result};
use openidconnect::core::{CoreAuthPrompt, CoreAuthenticationFlow, CoreClient};
use openidconnect::{AuthorizationCode, CsrfToken, Nonce, PkceCodeChallenge, RedirectUrl, Scope};
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long the person has to finish signing in in the browser.
const WAIT: Duration = Duration::from_secs(300);

/// What the provider's redirect said: a code, or the error it names.
type Answer = std::result::Result<String, String>;

#[derive(Clone)]
struct Waiting {
    state: String,
    answers: mpsc::Sender<Answer>,
}

/// Sign in to `server` in a browser: `open` opens the provider's page
/// (e.g. [`open_in_browser`]; an error is told, not fatal), `show` gets what
/// to tell the person (the page's address, one line, no escapes, in case no
/// browser opened). Waits up to five minutes for the redirect.
pub async fn browser_flow(
    http: &reqwest::Client,
    server: &str,
    open: impl FnOnce(&str) -> std::result::Result<(), String>,
    show: impl FnOnce(&str),
) -> Result<Tokens> {
    let info = sign_in_info(http, server).await?;
    let (meta, client_id) = client_of(http, &info).await?;
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .map_err(|e| Error::internal(format!("cannot listen on a loopback port: {e}")))?;
    let port = listener
        .local_addr()
        .map_err(|e| Error::internal(format!("cannot read the loopback port: {e}")))?
        .port();
    let redirect = RedirectUrl::new(format!("http://127.0.0.1:{port}/callback"))
        .map_err(|e| Error::internal(format!("the loopback address: {e}")))?;
    let client =
        CoreClient::from_provider_metadata(meta, client_id, None).set_redirect_uri(redirect);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    // offline_access (a refresh token) is granted only with consent asked
    // (OpenID Connect Core §11).
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("offline_access".into()))
        .add_prompt(CoreAuthPrompt::Consent)
        .set_pkce_challenge(challenge)
        .url();

    let (answers, mut answered) = mpsc::channel(4);
    let app = Router::new()
        .route("/callback", get(callback))
        .with_state(Waiting {
            state: state.secret().clone(),
            answers,
        });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });

    // The address is the provider's (from its discovery document): one line,
    // no escapes, when printed.
    let shown = one_line(url.as_str()).into_owned();
    let opened = open(url.as_str());
    let prompt = match &opened {
        Ok(()) => format!(
            "Sign in to {server} in your browser.\nIf no browser opened, open this address:\n{shown}"
        ),
        Err(why) => format!(
            "Cannot open a browser ({}).\nTo sign in to {server}, open this address:\n{shown}",
            one_line(why)
        ),
    };
    show(&prompt);

    let answer = tokio::time::timeout(WAIT, answered.recv()).await;
    let _ = stop.send(());
    // Let the browser get its page (the answer was sent before it was).
    let _ = tokio::time::timeout(Duration::from_secs(2), serving).await;
    let code = match answer {
        Err(_) => {
            return Err(Error::new(
                ErrorCode::Unauthorized,
                format!(
                    "the sign-in was not finished in the browser within {} minutes: sign in again",
                    WAIT.as_secs() / 60
                ),
            ))
        }
        Ok(None) => return Err(Error::internal("the loopback listener stopped")),
        Ok(Some(Err(why))) => {
            return Err(Error::new(
                ErrorCode::Unauthorized,
                format!(
                    "the OpenID provider {} did not sign you in: {}",
                    info.issuer,
                    one_line(&why)
                ),
            ))
        }
        Ok(Some(Ok(code))) => code,
    };
    let resp = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| Error::internal(format!("the browser sign-in: {e}")))?
        .set_pkce_verifier(verifier)
        .request_async(http)
        .await
        .map_err(|e| refused("sign you in", &info.issuer, &e))?;
    let tokens = tokens_of(&resp, None)?;
    // The ID token answers this sign-in, not another one's (Core §3.1.3.7).
    let said = claim(&tokens.id_token, "nonce");
    if said.as_ref().and_then(|v| v.as_str()) != Some(nonce.secret().as_str()) {
        return Err(Error::new(
            ErrorCode::Unauthorized,
            format!(
                "the OpenID provider {} sent an ID token for another sign-in (its nonce differs)",
                info.issuer
            ),
        ));
    }
    crate::open_session(http, server, tokens).await
}

/// `GET /callback?code=…&state=…` (or `?error=…`): the provider's redirect.
async fn callback(
    State(w): State<Waiting>,
    Query(q): Query<HashMap<String, String>>,
) -> (StatusCode, Html<String>) {
    if q.get("state") != Some(&w.state) {
        return (
            StatusCode::BAD_REQUEST,
            Html(page(
                "This is not the sign-in lockbox is waiting for. Nothing was done.",
            )),
        );
    }
    let answer = match (q.get("code"), q.get("error")) {
        (Some(code), None) => Ok(code.clone()),
        (_, error) => {
            let error = error.map_or("no code", String::as_str);
            Err(match q.get("error_description") {
                Some(d) => format!("{error}: {d}"),
                None => error.to_string(),
            })
        }
    };
    let ok = answer.is_ok();
    if w.answers.send(answer).await.is_err() {
        return (
            StatusCode::GONE,
            Html(page("lockbox is no longer waiting for this sign-in.")),
        );
    }
    if ok {
        (
            StatusCode::OK,
            Html(page(
                "Signed in. You can close this tab and go back to lockbox.",
            )),
        )
    } else {
        (
            StatusCode::OK,
            Html(page(
                "The sign-in did not succeed: lockbox says why. You can close this tab.",
            )),
        )
    }
}

/// A page of fixed text (never the provider's words: the CLI prints them, escaped).
fn page(text: &'static str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Lockbox sign-in</title></head>\
         <body><p>{text}</p></body></html>"
    )
}

/// Open `url` in the person's browser: `$BROWSER` (its first entry; `%s`
/// stands for the address), else the desktop's opener. Run without a shell;
/// not waited for.
pub fn open_in_browser(url: &str) -> std::result::Result<(), String> {
    let (program, args): (String, Vec<String>) = match std::env::var("BROWSER") {
        Ok(b) if !b.trim().is_empty() => {
            let first = b.split(':').next().unwrap_or_default().trim().to_string();
            let mut words: Vec<String> = first.split_whitespace().map(str::to_string).collect();
            if words.is_empty() {
                return Err("$BROWSER names no program".into());
            }
            let program = words.remove(0);
            if words.iter().any(|w| w.contains("%s")) {
                let args = words.iter().map(|w| w.replace("%s", url)).collect();
                (program, args)
            } else {
                words.push(url.to_string());
                (program, words)
            }
        }
        _ if cfg!(target_os = "macos") => ("open".into(), vec![url.to_string()]),
        _ => ("xdg-open".into(), vec![url.to_string()]),
    };
    std::process::Command::new(&program)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(drop)
        .map_err(|e| format!("{program}: {e}"))
}
