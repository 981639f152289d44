//! The SMTP use cases that talk to the outside (the OS keyring over D-Bus,
//! an SMTP server) without holding the engine lock, written once for every
//! host: the desktop shell, `lockbox serve`, and (synchronously) the CLI.

use crate::dto::{SmtpDto, SmtpInput};
use crate::runtime::EngineHandle;
use crate::store::SmtpRow;
use crate::{mail, Engine, Error, Principal, Result};

/// The row to save for `input`. A blank user means no login; an empty or
/// missing password keeps the saved one (it lives in the keyring).
pub fn row_of(input: SmtpInput) -> SmtpRow {
    SmtpRow {
        host: input.host,
        port: input.port,
        security: input.security,
        username: input.username.filter(|u| !u.trim().is_empty()),
        password: input.password.filter(|p| !p.is_empty()),
        from_address: input.from_address,
    }
}

/// Set (`Some`) or clear (`None`) the tenant's SMTP server: the engine checks
/// it (rules, an admin), the keyring is written without the engine lock (it
/// may prompt to unlock), then the row is saved and audited.
pub async fn set(
    h: &EngineHandle,
    by: &Principal,
    tenant: &str,
    input: Option<SmtpInput>,
) -> Result<Option<SmtpDto>> {
    let row = input.map(row_of);
    let (t, r, me) = (tenant.to_string(), row.clone(), by.clone());
    let change = h.run(move |e| e.prepare_smtp(&t, &me, r.as_ref())).await?;
    tokio::task::spawn_blocking(move || change.apply_secret())
        .await
        .map_err(|e| Error::internal(e.to_string()))??;
    let (t, me) = (tenant.to_string(), by.clone());
    h.write(move |e| {
        e.save_smtp(&t, &me, row)?;
        Ok(e.smtp(&t)?.as_ref().map(SmtpDto::from))
    })
    .await
}

/// The test message every host sends.
const TEST_SUBJECT: &str = "Lockbox test message";
const TEST_BODY: &str = "This is a test message from Lockbox. It contains no links.\n";

/// What a test message needs from the engine: the server and its keyring account.
pub fn test_target(e: &mut Engine, tenant: &str) -> Result<(SmtpRow, String)> {
    let smtp = e
        .smtp(tenant)?
        .ok_or_else(|| Error::input("no SMTP server is set for this tenant"))?;
    Ok((smtp, e.smtp_account(tenant)?))
}

/// Send the test message (network I/O: no engine lock). A refusal by the
/// server, or no server reached, is `invalid_input` with the reason: the
/// settings under test are the input.
pub fn send_test((smtp, account): &(SmtpRow, String), to: &str) -> Result<()> {
    mail::send_with(
        smtp,
        account,
        std::slice::from_ref(&to.to_string()),
        TEST_SUBJECT,
        TEST_BODY,
    )
    .map_err(|why| Error::input(format!("test message not sent: {why}")))
}

/// Send a test message to `to` now, without holding the engine lock.
pub async fn test(h: &EngineHandle, tenant: &str, to: &str) -> Result<()> {
    let t = tenant.to_string();
    let target = h.run(move |e| test_target(e, &t)).await?;
    let to = to.to_string();
    tokio::task::spawn_blocking(move || send_test(&target, &to))
        .await
        .map_err(|e| Error::internal(e.to_string()))?
}
