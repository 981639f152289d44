//! CLI adapters for the provider side: tokens, receipts, SMTP, email status, `serve`.

use crate::args::{NotificationsCmd, ReceiptCmd, SmtpCmd, TokenCmd};
use crate::print::Out;
use lockbox_core::clock::rfc3339;
use lockbox_core::duration::parse_duration;
use lockbox_core::{mail, receipts, Engine, Error, Principal, Result};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

pub fn token(
    e: &mut Engine,
    tenant: &str,
    me: &Principal,
    cmd: TokenCmd,
    out: &Out,
) -> Result<ExitCode> {
    match cmd {
        TokenCmd::Issue { name, expires } => {
            let life = expires.as_deref().map(parse_duration).transpose()?;
            let (row, secret) = e.issue_token(tenant, me, &name, life)?;
            out.value(
                &json!({ "name": row.name, "id": row.id, "tenant": row.tenant, "token": secret, "expires_at": row.expires_at.map(rfc3339) }),
                &format!("Token for '{}' (shown once; store it in the provider's secret store):\n{secret}", row.name),
            );
        }
        TokenCmd::List => {
            let rows = e.tokens(tenant)?;
            let now = e.now();
            let v: Vec<_> = rows
                .iter()
                .map(|t| json!({ "name": t.name, "id": t.id, "created_at": rfc3339(t.created_at),
                    "expires_at": t.expires_at.map(rfc3339), "revoked_at": t.revoked_at.map(rfc3339), "active": t.is_active(now) }))
                .collect();
            let text = rows
                .iter()
                .map(|t| {
                    format!(
                        "{:<24} {:<8} created {}",
                        t.name,
                        if t.is_active(now) {
                            "active"
                        } else {
                            "inactive"
                        },
                        rfc3339(t.created_at)
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            out.value(
                &json!(v),
                if text.is_empty() {
                    "No provider connections. Add one with `lockbox token issue --name NAME`."
                } else {
                    &text
                },
            );
        }
        TokenCmd::Revoke { name } => {
            e.revoke_token(tenant, me, &name)?;
            out.done(&format!("revoked the token of '{name}'"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn receipt(e: &mut Engine, tenant: &str, cmd: ReceiptCmd, out: &Out) -> Result<ExitCode> {
    match cmd {
        ReceiptCmd::Show { id, out: file } => {
            let id = e.resolve_id(tenant, &id)?;
            let (_, text) = e.receipts(tenant, &id)?.into_iter().last().ok_or_else(|| {
                Error::not_found(format!("request {id} has no decision receipt yet"))
            })?;
            match file {
                Some(p) => {
                    std::fs::write(&p, &text).map_err(|err| {
                        Error::input(format!("cannot write {}: {err}", p.display()))
                    })?;
                    out.done(&format!("wrote the receipt of {id} to {}", p.display()));
                }
                None => out!("{text}"),
            }
        }
        // A read-only copy without its key file knows the key its audit log recorded, if any.
        ReceiptCmd::PublicKey if e.public_key().is_empty() => {
            return Err(Error::not_found(
                "this store has recorded no receipt signing key, and its key file is not beside it",
            ))
        }
        ReceiptCmd::PublicKey => out.value(
            &json!({ "algorithm": "Ed25519", "public_key": e.public_key(), "key_id": e.key_id() }),
            &e.public_key(),
        ),
        // Handled by verify_offline before any store is opened.
        ReceiptCmd::Verify { file, public_key } => return verify_offline(&file, &public_key, out),
        // Handled by rotated_key: the engine is opened with the new key.
        ReceiptCmd::RotateKey => return rotated_key(e, None, out),
    }
    Ok(ExitCode::SUCCESS)
}

/// `lockbox receipt rotate-key`: what was done.
pub fn rotated_key(e: &Engine, old: Option<String>, out: &Out) -> Result<ExitCode> {
    out.value(
        &json!({ "algorithm": "Ed25519", "public_key": e.public_key(), "key_id": e.key_id(), "previous_key_id": old }),
        &format!(
            "new receipt signing key {} (was {}); give providers the new public key:\n{}",
            e.key_id(),
            old.as_deref().unwrap_or("none recorded"),
            e.public_key()
        ),
    );
    Ok(ExitCode::SUCCESS)
}

/// `lockbox receipt verify FILE --public-key KEY`: no store needed, fully offline.
pub fn verify_offline(file: &PathBuf, key: &str, out: &Out) -> Result<ExitCode> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Error::input(format!("cannot read {}: {e}", file.display())))?;
    let key_text = match std::fs::read_to_string(key) {
        Ok(k) => k,
        Err(_) => key.to_string(),
    };
    let pk = receipts::parse_public_key(&key_text)?;
    match receipts::verify(&text, &pk) {
        Ok(body) => {
            let summary = format!(
                "receipt valid: request {} {} (audit head #{})",
                body["request_id"].as_str().unwrap_or("?"),
                body["decision"].as_str().unwrap_or("?"),
                body["audit_head"]["seq"]
            );
            out.value(&json!({ "valid": true, "body": body }), &summary);
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            out.value(&json!({ "valid": false, "error": err }), &err.message);
            Ok(ExitCode::from(1))
        }
    }
}

pub fn smtp(
    e: &mut Engine,
    tenant: &str,
    me: &Principal,
    cmd: SmtpCmd,
    out: &Out,
) -> Result<ExitCode> {
    match cmd {
        SmtpCmd::Show => match e.smtp(tenant)? {
            Some(s) => out.value(
                &json!({ "host": s.host, "port": s.port, "security": s.security, "user": s.username, "from": s.from_address, "password_set": s.username.is_some() }),
                &format!("{}:{} ({}) from {}{}", s.host, s.port, s.security, s.from_address, s.username.map(|u| format!(", login {u}")).unwrap_or_default()),
            ),
            None => out.value(&serde_json::Value::Null, "No SMTP server set: approvers get no email. Set one with `lockbox smtp set`."),
        },
        SmtpCmd::Set { host, port, security, user, password, from } => {
            let input = lockbox_core::dto::SmtpInput { host, port, security, username: user, password, from_address: from };
            e.set_smtp(tenant, me, Some(lockbox_core::commands::smtp::row_of(input)))?;
            out.done("SMTP server saved");
        }
        SmtpCmd::Clear => {
            e.set_smtp(tenant, me, None)?;
            out.done("SMTP server cleared");
        }
        SmtpCmd::Test { to } => {
            let target = lockbox_core::commands::smtp::test_target(e, tenant)?;
            lockbox_core::commands::smtp::send_test(&target, &to)?;
            out.done(&format!("test message sent to {to}"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn notifications(
    e: &mut Engine,
    tenant: &str,
    cmd: NotificationsCmd,
    out: &Out,
) -> Result<ExitCode> {
    match cmd {
        NotificationsCmd::Status { limit } => {
            let rows = e.email_deliveries(tenant, limit)?;
            let v: Vec<_> = rows
                .iter()
                .map(|d| json!({ "notice": d.notice_id, "request_id": d.request_id, "kind": d.kind, "outcome": d.outcome,
                    "attempts": d.attempts, "detail": d.detail, "next_attempt_at": d.next_attempt_at.map(rfc3339) }))
                .collect();
            let text = if rows.is_empty() {
                "No approver emails yet.".to_string()
            } else {
                rows.iter()
                    .map(|d| {
                        format!(
                            "{:<8} {:<9} {} attempt(s)  request {}{}{}",
                            d.outcome,
                            d.kind,
                            d.attempts,
                            d.request_id,
                            d.detail
                                .as_ref()
                                .map(|x| format!("  — {x}"))
                                .unwrap_or_default(),
                            d.next_attempt_at
                                .map(|t| format!("  (retry at {})", rfc3339(t)))
                                .unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            out.value(&json!(v), &text);
        }
        NotificationsCmd::Send => {
            let (sent, failed) = mail::deliver_all(e)?;
            out.done(&format!("{sent} email(s) sent, {failed} failed"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The engines `lockbox serve` works with: on PostgreSQL a pool of `size`
/// (each on its own connection, so requests for different tenants run side
/// by side); on SQLite the one already open (one writer anyway).
pub fn engines(
    engine: Engine,
    store: &lockbox_core::store::StoreLocation,
    receipt_key: &std::path::Path,
    clock: std::sync::Arc<dyn lockbox_core::Clock>,
    creator: &str,
    size: u32,
) -> Result<lockbox_core::runtime::EngineHandle> {
    use lockbox_core::runtime::{EngineHandle, Opener};
    match store {
        lockbox_core::store::StoreLocation::Postgres(_) if size > 1 => {
            drop(engine);
            EngineHandle::pool(
                Opener {
                    location: store.clone(),
                    receipt_key: receipt_key.to_path_buf(),
                    clock,
                    creator: creator.to_string(),
                },
                size,
            )
        }
        _ => Ok(EngineHandle::new(engine)),
    }
}

/// The admin API's sign-in, from `serve --oidc-*` (clap makes the issuer and
/// the client id come together). `clock` is the engines' (ID tokens expire by it).
pub fn oidc(
    issuer: Option<String>,
    client_id: Option<String>,
    ca: Option<PathBuf>,
    clock: std::sync::Arc<dyn lockbox_core::Clock>,
) -> Result<Option<lockbox_api::oidc::OidcVerifier>> {
    let (Some(issuer), Some(client_id)) = (issuer, client_id) else {
        return Ok(None);
    };
    let ca_pem = ca
        .map(|p| {
            std::fs::read(&p).map_err(|e| Error::input(format!("--oidc-ca {}: {e}", p.display())))
        })
        .transpose()?;
    let cfg = lockbox_api::oidc::OidcConfig {
        issuer,
        client_id,
        ca_pem,
    };
    lockbox_api::oidc::OidcVerifier::new(&cfg, clock).map(Some)
}

/// `serve --bootstrap-admin EMAIL`: the engine's use case, said in the log.
pub fn bootstrap_admin(e: &mut Engine, os: &Principal, email: &str) -> Result<()> {
    match e.bootstrap_admin(os, email)? {
        Some(u) => {
            tracing::info!(user = %u.name, "made the bootstrap admin an admin of the default tenant")
        }
        None => tracing::info!(
            email,
            "the bootstrap admin is a user already; nothing changed"
        ),
    }
    Ok(())
}

/// `serve`'s limits: calls per second per token, failed sign-ins per
/// minute per client, change feeds open at once.
pub struct ServeLimits {
    pub rate: u32,
    pub auth_failures: u32,
    pub feeds: usize,
}

pub fn serve(
    engine: lockbox_core::runtime::EngineHandle,
    store: &lockbox_core::store::StoreLocation,
    bind: &str,
    tls: Option<(PathBuf, PathBuf)>,
    limits: ServeLimits,
    oidc: Option<lockbox_api::oidc::OidcVerifier>,
) -> Result<ExitCode> {
    let ServeLimits {
        rate,
        auth_failures,
        feeds,
    } = limits;
    let bind = bind
        .parse()
        .map_err(|_| Error::input(format!("'{bind}' is not an address like 127.0.0.1:8787")))?;
    let cfg = lockbox_api::ServeConfig { bind, tls };
    cfg.check()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(async move {
        let limits = lockbox_api::auth::Limits {
            failures_per_min: auth_failures,
            failures_burst: auth_failures,
            ..lockbox_api::auth::Limits::per_token(rate, rate.saturating_mul(5))
        };
        let mut state = lockbox_api::ApiState::with_limits(
            engine.clone(),
            limits,
            lockbox_api::auth::LimiterClock::monotonic(),
        )
        .with_feed_limits(feeds, lockbox_api::feed::FEEDS_PER_PERSON);
        if let Some(verifier) = oidc {
            // Said early: an issuer that cannot be reached now is asked
            // again on the first call.
            match verifier.discover().await {
                Ok(()) => tracing::info!(issuer = verifier.issuer(), "admin API: signing people in with OpenID Connect"),
                Err(e) => tracing::warn!(issuer = verifier.issuer(), "admin API: {e}; trying again on the first call"),
            }
            state = state.with_oidc(verifier);
        }
        let admin = state.oidc.is_some();
        let wake = engine.changed().clone();
        // On PostgreSQL, other instances' writes wake this one's loop and
        // change feeds too.
        let listener = match store {
            lockbox_core::store::StoreLocation::Postgres(url) => {
                let h = engine.clone();
                Some(tokio::spawn(lockbox_core::store::pg::listen_for_changes(
                    url.clone(),
                    move || h.notify_change(),
                )))
            }
            lockbox_core::store::StoreLocation::File(_) => None,
        };
        let scheme = if cfg.tls.is_some() { "https" } else { "http" };
        // SIGTERM (systemd, docker stop) or SIGINT (Ctrl-C): stop accepting,
        // answer what is in flight, then stop the background loop.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let signals = termination()?;
        let stopping = stop_rx.clone();
        let (addr, server) = lockbox_api::bind_with_shutdown(state, cfg, stopped(stopping)).await?;
        tracing::info!(%addr, scheme, "Lockbox API listening");
        outln!("Lockbox API listening on {scheme}://{addr}/v1  (OpenAPI: {scheme}://{addr}/v1/openapi.json)");
        if admin {
            outln!("Admin API on {scheme}://{addr}/admin/v1/commands/NAME and /admin/v1/changes (OpenID Connect ID tokens)");
        }
        // Deadlines and email, woken by every write through the API.
        let worker = tokio::spawn(lockbox_core::runtime::background_loop_until(
            engine,
            wake,
            stopped(stop_rx),
        ));
        let mut server = server;
        let signal = tokio::select! {
            s = signals => s,
            r = &mut server => {
                // The server ended by itself (an error, logged): stop the rest.
                let _ = stop_tx.send(true);
                let _ = worker.await;
                r.map_err(|e| Error::internal(format!("the API server task failed: {e}")))?;
                return Err(Error::internal("the API server stopped"));
            }
        };
        tracing::info!(signal, "shutting down: finishing requests in flight");
        let _ = stop_tx.send(true);
        server
            .await
            .map_err(|e| Error::internal(format!("the API server task failed: {e}")))?;
        worker
            .await
            .map_err(|e| Error::internal(format!("the background loop failed: {e}")))?;
        if let Some(l) = listener {
            l.abort();
        }
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// Resolves once `stop` says true (or its sender is gone).
async fn stopped(mut stop: tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// The first SIGTERM or SIGINT, by name. Installed before the server starts,
/// so a signal that comes early is not lost.
fn termination() -> Result<impl std::future::Future<Output = &'static str>> {
    use tokio::signal::unix::{signal, SignalKind};
    let fail = |e: std::io::Error| Error::internal(format!("cannot install signal handlers: {e}"));
    let mut term = signal(SignalKind::terminate()).map_err(fail)?;
    let mut int = signal(SignalKind::interrupt()).map_err(fail)?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        }
    })
}
