//! Email to approvers (lettre over SMTP). When a request becomes pending (and
//! at the reminder), every approver of the tenant with an email address gets a
//! plain-text message with the case number, requester, workload, resource,
//! reason and expiry — and **no links**, as Microsoft does, so that a phishing
//! mail cannot look like ours (URLs inside fields are defanged).
//!
//! Delivery never blocks a transition: notices are written with the change,
//! then a worker claims them (`claim`, under the engine lock), sends without
//! the lock (`send`), and records the result (`record`). Failures are retried
//! with backoff, then reported (`lockbox notifications status`, the UI).

use crate::clock::rfc3339;
use crate::machine::AuditRecord;
use crate::model::{limits, required, Operation};
use crate::model::{DeliveryRow, NoticeRow, SmtpRow};
use crate::{secrets, Engine, Error, ErrorCode, Principal, Result};
use chrono::Duration;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Message, SmtpTransport, Transport};
use serde_json::json;

pub const CHANNEL: &str = "email";
/// Attempts before a delivery is reported as failed for good.
pub const MAX_ATTEMPTS: i64 = 6;
pub const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Emails claimed at a time: a process killed mid-send strands at most these.
pub const CLAIM_BATCH: u32 = 5;
/// How long a claim is its claimer's: an email claimed longer ago and never
/// recorded (its process was killed, or stalled) is claimed again. A batch
/// sends well within it (each SMTP step times out after `SEND_TIMEOUT`). The
/// one window for a duplicate: killed after the server took the message,
/// before the claim was recorded as sent.
pub const CLAIM_LEASE: Duration = Duration::minutes(2);

/// Wait before attempt `n + 1` after `n` failed attempts.
pub fn backoff(attempts: i64) -> Duration {
    match attempts {
        ..=1 => Duration::seconds(30),
        2 => Duration::minutes(2),
        3 => Duration::minutes(10),
        4 => Duration::minutes(30),
        _ => Duration::hours(1),
    }
}

/// An email ready to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub notice_id: i64,
    pub tenant: String,
    pub smtp: Option<SmtpRow>,
    /// The keyring account of the tenant's SMTP password.
    pub account: String,
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
}

/// Replace anything that a mail client would turn into a link: schemes
/// (`http`, `://`), `www.`, and every dot between two letters or digits, so
/// that a bare host name (`contoso-lockbox.example/approve`) or an address is
/// not linked either.
fn defang(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let lower = s.to_ascii_lowercase();
    let mut prev: Option<char> = None;
    let mut i = 0;
    while i < s.len() {
        let c = s[i..].chars().next().unwrap_or(' ');
        if lower[i..].starts_with("http") {
            out.push_str("hxxp");
            i += 4;
            prev = Some('p');
            continue;
        } else if s[i..].starts_with("://") {
            out.push_str("[:]//");
            i += 3;
        } else if c == '.'
            && prev.is_some_and(char::is_alphanumeric)
            && s[i + 1..].chars().next().is_some_and(char::is_alphanumeric)
        {
            out.push_str("[.]");
            i += 1;
        } else {
            out.push(c);
            i += c.len_utf8();
        }
        prev = Some(c);
    }
    out
}

/// A provider-sent one-line field, as the email shows it: no line breaks (so
/// it cannot forge a line such as `Request ID:`), no format characters, no links.
fn field(s: &str) -> String {
    defang(&crate::text::one_line(s))
}

/// A provider-sent multi-line field (the reason): continuation lines indented
/// under the value, so none can pass for a line of ours.
fn block(s: &str) -> String {
    defang(&crate::text::multi_line(s)).replace('\n', "\n               ")
}

/// Subject and body of the email for a notice.
pub fn render(n: &NoticeRow) -> (String, String) {
    let r = &n.request;
    let subject = match n.kind.as_str() {
        "reminder" => format!(
            "Reminder: Customer Lockbox request for case {} expires at {}",
            field(&r.case),
            rfc3339(r.expires_at)
        ),
        _ => format!(
            "Customer Lockbox request for case {}: your approval is needed",
            field(&r.case)
        ),
    };
    let body = format!(
        "A Customer Lockbox request needs your decision.\n\n\
         Support case:  {}\nRequested by:  {}\nWorkload:      {}\nResource:      {}\nReason:        {}\n\
         Duration:      {}\nExpires at:    {} (UTC)\nRequest ID:    {}\n\n\
         To approve or reject it, open the Lockbox admin center yourself (Service requests)\n\
         or run `lockbox request list --state pending`. This message contains no links on purpose:\n\
         never follow a link in an email that claims to be a Lockbox request.\n",
        field(&r.case),
        field(&r.requester),
        field(&r.workload),
        field(&r.resource),
        block(&r.reason),
        crate::duration::format_duration(r.requested_duration_s),
        rfc3339(r.expires_at),
        r.id
    );
    (subject, body)
}

/// The notice kinds email is sent for.
fn is_email_event(kind: &str) -> bool {
    matches!(kind, "pending" | "reminder")
}

/// Claim the email notices due now (new ones, and failed ones whose retry time has come).
pub fn claim(engine: &mut Engine) -> Result<Vec<Outgoing>> {
    let now = engine.now();
    // Email is for new requests and reminders; other notices (expiries, ends
    // of access) are marked skipped as they are claimed.
    let mut notices = engine.claim_notices_of(
        CHANNEL,
        now - crate::scheduler::NOTICE_MAX_AGE,
        CLAIM_BATCH,
        is_email_event,
    )?;
    notices.extend(engine.store().write(|tx| {
        let mut v = Vec::new();
        let mut ids = tx.reclaim_due_retries(CHANNEL, now)?;
        ids.extend(tx.reclaim_stale_claims(CHANNEL, now - CLAIM_LEASE, now)?);
        for id in ids {
            if let Some(n) = tx.notice(id)? {
                v.push(n);
            }
        }
        Ok(v)
    })?);
    let mut out = Vec::new();
    for n in notices {
        if !is_email_event(&n.kind) {
            // (A retried or reclaimed claim from before claims were by kind.)
            engine.store().write(|tx| {
                tx.end_attempt(n.id, CHANNEL, false, Some("not an email event"), None)
            })?;
            continue;
        }
        let (smtp, to, store_id) = engine.store().read(|tx| {
            let to: Vec<String> = tx
                .users(&n.request.tenant)?
                .into_iter()
                .filter_map(|u| u.email)
                .collect();
            Ok((tx.smtp(&n.request.tenant)?, to, tx.store_id()?))
        })?;
        let (subject, body) = render(&n);
        out.push(Outgoing {
            notice_id: n.id,
            tenant: n.request.tenant.clone(),
            smtp,
            account: secrets::smtp_account(&store_id, &n.request.tenant),
            to,
            subject,
            body,
        });
    }
    Ok(out)
}

/// Refuse a login over an unencrypted connection to another machine: the
/// password would cross the network in clear text.
pub fn check_login_security(s: &SmtpRow) -> Result<(), String> {
    let login = s.username.is_some() || s.password.is_some();
    if login && s.security == "none" && !secrets::is_loopback_host(&s.host) {
        return Err(format!(
            "refusing to send the SMTP password unencrypted to {}: with a login, use security \
             starttls or tls (security none is only for a server on this machine: localhost, \
             127.0.0.1, ::1)",
            s.host
        ));
    }
    Ok(())
}

fn transport(s: &SmtpRow, password: Option<String>) -> Result<SmtpTransport, String> {
    let builder = match s.security.as_str() {
        "none" => SmtpTransport::builder_dangerous(&s.host),
        "starttls" => SmtpTransport::starttls_relay(&s.host).map_err(|e| e.to_string())?,
        "tls" => SmtpTransport::relay(&s.host).map_err(|e| e.to_string())?,
        other => return Err(format!("unknown SMTP security '{other}'")),
    };
    let mut builder = builder.port(s.port).timeout(Some(SEND_TIMEOUT));
    if let (Some(u), Some(p)) = (&s.username, password) {
        builder = builder.credentials(Credentials::new(u.clone(), p));
    }
    Ok(builder.build())
}

/// Send one message to every recipient. Blocking network I/O (and keyring
/// D-Bus I/O for the password of `account`): no engine lock held.
pub fn send_with(
    smtp: &SmtpRow,
    account: &str,
    to: &[String],
    subject: &str,
    body: &str,
) -> Result<(), String> {
    // Before any password is looked up or any connection made.
    check_login_security(smtp)?;
    let password = match (&smtp.username, &smtp.password) {
        (None, _) => None,
        (Some(_), Some(p)) => Some(p.clone()),
        (Some(_), None) => Some(secrets::smtp_password(account)?),
    };
    let t = transport(smtp, password)?;
    let mut b = Message::builder()
        .from(
            smtp.from_address
                .parse()
                .map_err(|e| format!("bad from address: {e}"))?,
        )
        .subject(subject)
        .header(ContentType::TEXT_PLAIN);
    for addr in to {
        b = b.to(addr
            .parse()
            .map_err(|e| format!("bad recipient {addr}: {e}"))?);
    }
    let msg = b.body(body.to_string()).map_err(|e| e.to_string())?;
    t.send(&msg).map(|_| ()).map_err(|e| format!("SMTP: {e}"))
}

/// Send a claimed email. `Err` says why it was not sent.
pub fn send(o: &Outgoing) -> Result<(), String> {
    let Some(smtp) = &o.smtp else {
        return Err("no SMTP server is set for this tenant".into());
    };
    if o.to.is_empty() {
        return Err("no admin or approver of this tenant has an email address".into());
    }
    send_with(smtp, &o.account, &o.to, &o.subject, &o.body)
}

/// Record how sending went; schedules a retry unless attempts are used up or retrying cannot help.
pub fn record(engine: &mut Engine, o: &Outgoing, result: &Result<(), String>) -> Result<()> {
    let now = engine.now();
    engine.store().write(|tx| match result {
        Ok(()) => tx.end_attempt(o.notice_id, CHANNEL, true, None, None),
        Err(why) => {
            let attempts = tx.delivery_attempts(o.notice_id, CHANNEL)?.max(1);
            let retryable = o.smtp.is_some() && !o.to.is_empty();
            let retry = (retryable && attempts < MAX_ATTEMPTS).then(|| now + backoff(attempts));
            tracing::warn!(notice = o.notice_id, attempts, retry = ?retry.map(rfc3339), "email not sent: {why}");
            tx.end_attempt(o.notice_id, CHANNEL, false, Some(why), retry)
        }
    })
}

/// Claim, send and record every due email. Sends while holding `&mut Engine`:
/// shells that share the engine use `claim` / `send` / `record` instead.
pub fn deliver_all(engine: &mut Engine) -> Result<(usize, usize)> {
    let (mut sent, mut failed) = (0, 0);
    // `claim` takes a few at a time: until none is due.
    while let Some(batch) = Some(claim(engine)?).filter(|b| !b.is_empty()) {
        for o in batch {
            deliver_one(engine, &o, &mut sent, &mut failed)?;
        }
    }
    Ok((sent, failed))
}

fn deliver_one(
    engine: &mut Engine,
    o: &Outgoing,
    sent: &mut usize,
    failed: &mut usize,
) -> Result<()> {
    let r = send(o);
    if r.is_ok() {
        *sent += 1
    } else {
        *failed += 1
    }
    record(engine, o, &r)
}

/// A user's email address, as the sender will read it: lettre's parser (the
/// RFC 5321 / 6531 address grammar: a dot-atom or quoted local part, a host
/// name, an IDN or an IP literal). On top of lettre, two rules Lockbox always
/// had: the domain has a dot (`admin@localhost` is refused) and there is no
/// white space (not even in a quoted local part).
pub fn parse_email(s: &str) -> Result<lettre::Address> {
    match s.parse::<lettre::Address>() {
        Ok(a) if a.domain().contains('.') && !s.contains(char::is_whitespace) => Ok(a),
        _ => Err(Error::input(format!("'{s}' is not an email address"))),
    }
}

/// The rules of an SMTP setting (the one place the CLI and the app go through).
pub fn validate_smtp(s: &SmtpRow) -> Result<()> {
    required("SMTP host", &s.host, limits::NAME)?;
    if s.port == 0 {
        return Err(Error::input("SMTP port must be between 1 and 65535"));
    }
    if !matches!(s.security.as_str(), "none" | "starttls" | "tls") {
        return Err(Error::input(format!(
            "SMTP security must be none, starttls or tls, not '{}'",
            s.security
        )));
    }
    if s.from_address.parse::<lettre::Address>().is_err() {
        return Err(Error::input(format!(
            "'{}' is not an email address",
            s.from_address
        )));
    }
    if s.password.is_some() && s.username.is_none() {
        return Err(Error::input("an SMTP password needs a user name (--user)"));
    }
    if let Some(u) = &s.username {
        required("SMTP user", u, limits::NAME)?;
    }
    check_login_security(s).map_err(Error::input)
}

/// What the keyring must do for a new SMTP setting.
#[derive(Clone)]
pub struct SmtpChange {
    pub account: String,
    /// A new password to save.
    pub password: Option<String>,
    /// No login any more: forget the saved password.
    pub forget: bool,
}

impl std::fmt::Debug for SmtpChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpChange")
            .field("account", &self.account)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("forget", &self.forget)
            .finish()
    }
}

impl SmtpChange {
    /// Save or forget the password in the OS keyring. D-Bus I/O: do not hold the engine lock.
    pub fn apply_secret(&self) -> Result<()> {
        if let Some(p) = &self.password {
            secrets::keyring_set(&self.account, p).map_err(|e| {
                Error::new(
                    ErrorCode::StoreUnavailable,
                    format!(
                        "the SMTP password was not saved: there is {e}, and Lockbox never keeps it \
                         in the store. Save it where a Secret Service keyring runs (the desktop \
                         session), or leave the password out here and set {} for the process \
                         that sends email (`lockbox serve`, the app). Nothing was changed.",
                        secrets::ENV_PASSWORD
                    ),
                )
            })?;
        } else if self.forget {
            if let Err(e) = secrets::keyring_delete(&self.account) {
                tracing::debug!("no saved SMTP password to forget: {e}");
            }
        }
        Ok(())
    }
}

impl Engine {
    pub fn smtp(&mut self, tenant: &str) -> Result<Option<SmtpRow>> {
        self.store().read(|tx| {
            crate::engine::ensure_tenant(tx, tenant)?;
            tx.smtp(tenant)
        })
    }

    /// The keyring account of `tenant`'s SMTP password.
    pub fn smtp_account(&mut self, tenant: &str) -> Result<String> {
        self.store().read(|tx| {
            crate::engine::ensure_tenant(tx, tenant)?;
            Ok(secrets::smtp_account(&tx.store_id()?, tenant))
        })
    }

    /// Set (or clear with `None`) the tenant's SMTP server (admins); audited
    /// without the password, which goes to the OS keyring, never the store.
    /// `password: None` with a login keeps the saved one. Shells that share
    /// the engine use [`Engine::prepare_smtp`], [`SmtpChange::apply_secret`]
    /// (without the engine lock: D-Bus) and [`Engine::save_smtp`].
    pub fn set_smtp(&mut self, tenant: &str, by: &Principal, smtp: Option<SmtpRow>) -> Result<()> {
        let change = self.prepare_smtp(tenant, by, smtp.as_ref())?;
        change.apply_secret()?;
        self.save_smtp(tenant, by, smtp)
    }

    /// Check a new SMTP setting (the rules, an admin) and say what the
    /// keyring must do. Writes nothing.
    pub fn prepare_smtp(
        &mut self,
        tenant: &str,
        by: &Principal,
        smtp: Option<&SmtpRow>,
    ) -> Result<SmtpChange> {
        // Before the keyring is touched: the write would be refused after it.
        self.store().ensure_writable("change the SMTP server")?;
        if let Some(s) = smtp {
            validate_smtp(s)?;
        }
        let account = self.store().read(|tx| {
            crate::engine::need_admin(tx, tenant, by.name())?;
            Ok(secrets::smtp_account(&tx.store_id()?, tenant))
        })?;
        Ok(SmtpChange {
            account,
            password: smtp.and_then(|s| s.password.clone()),
            forget: smtp.is_none_or(|s| s.username.is_none()),
        })
    }

    /// Write the SMTP setting (the password is never written) and audit it.
    pub fn save_smtp(&mut self, tenant: &str, by: &Principal, smtp: Option<SmtpRow>) -> Result<()> {
        if let Some(s) = &smtp {
            validate_smtp(s)?;
        }
        let now = self.now();
        self.with_admin_tx(tenant, by, "change the SMTP server", |tx| {
            tx.put_smtp(tenant, smtp.as_ref())?;
            let details = match &smtp {
                Some(s) => json!({ "changes": [{ "key": "smtp", "new": format!("{}:{} ({}) from {}{}", s.host, s.port, s.security, s.from_address,
                    if s.username.is_some() { ", with login" } else { "" }) }] }),
                None => json!({ "changes": [{ "key": "smtp", "new": "off" }] }),
            };
            let rec = AuditRecord { operation: Operation::SettingsChanged, actor: by.actor(), at: now, request_id: None, details: by.with_authn(details) };
            tx.append_audit(tenant, &[&rec], now)?;
            Ok(())
        })
    }

    /// Move SMTP passwords that older builds stored in plaintext into the OS
    /// keyring and scrub them from the store file. Without a keyring, a
    /// `LOCKBOX_SMTP_PASSWORD` equal to the stored password lets it go (the
    /// environment gives it from now on); otherwise the store is refused.
    pub(crate) fn move_plaintext_smtp_passwords(&mut self) -> Result<()> {
        let (rows, store_id) = self
            .store()
            .read(|tx| Ok((tx.plaintext_smtp_passwords()?, tx.store_id()?)))?;
        for (tenant, password) in rows {
            let account = secrets::smtp_account(&store_id, &tenant);
            match secrets::keyring_set(&account, &password) {
                Ok(()) => tracing::warn!(tenant = %tenant,
                    "moved the SMTP password out of the store into the OS keyring"),
                Err(e) if secrets::env_password().as_deref() == Some(password.as_str()) => {
                    tracing::warn!(tenant = %tenant,
                        "removed the plaintext SMTP password from the store; {e}: {} gives it from now on",
                        secrets::ENV_PASSWORD)
                }
                Err(e) => {
                    return Err(Error::new(
                        ErrorCode::StoreUnavailable,
                        format!(
                        "this store keeps tenant '{tenant}'s SMTP password in plaintext (written \
                             by an older Lockbox), and it must move out of the store, but there is \
                             {e}. Open the store once where a Secret Service keyring runs (the \
                             desktop session), or set {env} to that same password in this \
                             process's environment so that Lockbox can drop the stored copy.",
                        env = secrets::ENV_PASSWORD
                    ),
                    ))
                }
            }
            self.store().scrub_smtp_password(&tenant)?;
        }
        Ok(())
    }

    /// Email deliveries of `tenant`, newest first.
    pub fn email_deliveries(&mut self, tenant: &str, limit: u32) -> Result<Vec<DeliveryRow>> {
        self.store().read(|tx| {
            crate::engine::ensure_tenant(tx, tenant)?;
            tx.deliveries(tenant, CHANNEL, limit)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// lettre's grammar, plus the two rules Lockbox had before it used
    /// lettre (a dotted domain, no white space). Everything refused here was
    /// refused before, or would have failed when the email was sent.
    #[test]
    fn email_addresses_are_what_the_sender_can_address() {
        for ok in [
            "alex@provider.example",
            "first.last+tag@sub.domain.example",
            "o'brien@b.example",
            "\"quoted\"@b.example",
            "jörg@exämple.de",
            "a@xn--bcher-kva.example",
            "a@[192.0.2.1]",
        ] {
            assert_eq!(parse_email(ok).map(|a| a.to_string()).as_deref(), Ok(ok));
        }
        for bad in [
            "nope",
            "@b.example",
            "a@localhost",
            "a@.b.example",
            "a@b.example.",
            "a b@c.example",
            "\"a b\"@c.example",
            // Accepted before lettre, refused by it.
            "a..b@c.example",
            ".a@b.example",
            "a@b..example",
            "a@b@c.example",
            "<a@b.example>",
            "a,b@c.example",
            "a@-b.example",
            "a@b.example:25",
        ] {
            let e = parse_email(bad).unwrap_err();
            assert_eq!(
                (e.code, e.message),
                (
                    ErrorCode::InvalidInput,
                    format!("'{bad}' is not an email address")
                )
            );
        }
    }

    #[test]
    fn nothing_a_provider_sends_becomes_a_link() {
        assert_eq!(
            field("contoso-lockbox.example/approve"),
            "contoso-lockbox[.]example/approve"
        );
        assert_eq!(field("https://x.example"), "hxxps[:]//x[.]example");
        assert_eq!(field("www.evil.example"), "www[.]evil[.]example");
        assert_eq!(field("alex@provider.example"), "alex@provider[.]example");
        // Plain sentences keep their full stops.
        assert_eq!(field("Mail flow fails. Again."), "Mail flow fails. Again.");
    }

    #[test]
    fn fields_cannot_forge_lines() {
        assert_eq!(
            field("SR-1\nRequest ID:    fake"),
            "SR-1 Request ID:    fake"
        );
        assert_eq!(field("evil\u{202E}gpj.exe"), "evilgpj[.]exe");
        assert_eq!(
            block("first\nRequest ID: fake"),
            "first\n               Request ID: fake"
        );
    }

    fn row(host: &str, security: &str) -> SmtpRow {
        SmtpRow {
            host: host.into(),
            port: 2525,
            security: security.into(),
            username: Some("lockbox".into()),
            password: Some("s3cret".into()),
            from_address: "lockbox@contoso.example".into(),
        }
    }

    #[test]
    fn a_login_in_clear_to_another_machine_is_refused_before_connecting() {
        // 0.0.0.0 would reach this machine if anything connected: nothing does.
        for host in ["0.0.0.0", "smtp.contoso.example", "10.1.2.3"] {
            let err = send_with(
                &row(host, "none"),
                "x/default",
                &["a@contoso.example".into()],
                "s",
                "b",
            )
            .unwrap_err();
            assert!(
                err.contains("refusing to send the SMTP password unencrypted"),
                "{host}: {err}"
            );
            let err = validate_smtp(&row(host, "none")).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidInput);
            assert!(err.message.contains(host), "{}", err.message);
        }
        for host in ["127.0.0.1", "localhost", "::1"] {
            validate_smtp(&row(host, "none")).unwrap();
        }
        for security in ["starttls", "tls"] {
            validate_smtp(&row("smtp.contoso.example", security)).unwrap();
        }
        // No login: nothing secret crosses the network.
        let mut anon = row("smtp.contoso.example", "none");
        anon.username = None;
        anon.password = None;
        validate_smtp(&anon).unwrap();
        // A password needs a user.
        anon.password = Some("x".into());
        assert!(validate_smtp(&anon).unwrap_err().message.contains("--user"));
    }
}
