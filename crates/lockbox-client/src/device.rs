//! The OpenID Connect device authorization grant (RFC 8628): the person
//! enters a code at the provider on any device; this polls until they did.

use crate::{client_of, refused, sign_in_info, tokens_of, Tokens};
use lockbox_core::text::one_line;
use lockbox_core::{Error, Result};
use openidconnect::core::{CoreClient, CoreDeviceAuthorizationResponse};
use openidconnect::Scope;

/// Sign in to `server` with the device flow. `show` gets what to tell the
/// person (where to go, the code to enter), one line each, no escapes.
pub async fn device_flow(
    http: &reqwest::Client,
    server: &str,
    show: impl FnOnce(&str),
) -> Result<Tokens> {
    let info = sign_in_info(http, server).await?;
    let (meta, client_id) = client_of(http, &info).await?;
    let device_url = meta
        .additional_metadata()
        .device_authorization_endpoint
        .clone()
        .ok_or_else(|| {
            Error::input(format!(
                "the OpenID provider {} offers no device sign-in (no device_authorization_endpoint)",
                info.issuer
            ))
        })?;
    let client = CoreClient::from_provider_metadata(meta, client_id, None)
        .set_device_authorization_url(device_url);
    let details: CoreDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("offline_access".into()))
        .request_async(http)
        .await
        .map_err(|e| refused("ask for a device code", &info.issuer, &e))?;
    // Everything here is the provider's text: one line each, no escapes.
    let uri = one_line(details.verification_uri().as_str()).into_owned();
    let code = one_line(details.user_code().secret()).into_owned();
    let prompt = match details.verification_uri_complete() {
        Some(full) => format!(
            "To sign in to {server}, open {uri}\nand enter the code {code}\n(or open {})",
            one_line(full.secret())
        ),
        None => format!("To sign in to {server}, open {uri}\nand enter the code {code}"),
    };
    show(&prompt);
    // Polls every `interval` (5 s unless the provider says), 5 s more at
    // each slow_down, until approved, denied or expired.
    let resp = client
        .exchange_device_access_token(&details)
        .map_err(|e| Error::internal(format!("the device sign-in: {e}")))?
        .request_async(http, tokio::time::sleep, None)
        .await
        .map_err(|e| refused("sign you in", &info.issuer, &e))?;
    crate::open_session(http, server, tokens_of(&resp, None)?).await
}
