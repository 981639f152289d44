//! Where the SMTP password lives: never in the store. It is kept in the OS
//! keyring (the Secret Service on Linux, through the `keyring` crate), one
//! entry per store and tenant. Where no keyring runs (a headless server), the
//! sending process takes it from `LOCKBOX_SMTP_PASSWORD` instead.
//!
//! `lockbox login` keeps a team server's sign-in (the ID and refresh tokens)
//! there too, service [`SIGN_IN_SERVICE`], one entry per server URL; it has
//! no environment fallback: no keyring, no kept sign-in.
//!
//! These calls may talk D-Bus (and a locked keyring may prompt): callers do
//! not hold the engine lock across them.

/// The keyring service name of Lockbox's SMTP passwords.
pub const SERVICE: &str = "lockbox-smtp";
/// The keyring service name of the team-server sign-ins `lockbox login` keeps.
pub const SIGN_IN_SERVICE: &str = "lockbox-sign-in";
/// The environment variable that gives the SMTP password where no keyring runs.
pub const ENV_PASSWORD: &str = "LOCKBOX_SMTP_PASSWORD";

/// The keyring account (user name) of `tenant`'s SMTP password in the store `store_id`.
pub fn smtp_account(store_id: &str, tenant: &str) -> String {
    format!("{store_id}/{tenant}")
}

/// The keyring could not be used: no Secret Service, locked, refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable(pub String);

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no usable OS keyring ({})", self.0)
    }
}

fn entry(service: &str, account: &str) -> Result<keyring::Entry, Unavailable> {
    keyring::Entry::new(service, account).map_err(|e| Unavailable(e.to_string()))
}

/// Save the SMTP password of `account` in the OS keyring.
pub fn keyring_set(account: &str, password: &str) -> Result<(), Unavailable> {
    secret_set(SERVICE, account, password)
}

/// The SMTP password of `account` in the OS keyring, `None` if it has none.
pub fn keyring_get(account: &str) -> Result<Option<String>, Unavailable> {
    secret_get(SERVICE, account)
}

/// Forget the SMTP password of `account` (none there is fine).
pub fn keyring_delete(account: &str) -> Result<(), Unavailable> {
    secret_delete(SERVICE, account)
}

/// Save `secret` as `account` of `service` in the OS keyring.
pub fn secret_set(service: &str, account: &str, secret: &str) -> Result<(), Unavailable> {
    entry(service, account)?
        .set_password(secret)
        .map_err(|e| Unavailable(e.to_string()))
}

/// The secret of `account` of `service` in the OS keyring, `None` if none.
pub fn secret_get(service: &str, account: &str) -> Result<Option<String>, Unavailable> {
    match entry(service, account)?.get_password() {
        Ok(p) => Ok(Some(p)),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(Unavailable(e.to_string())),
    }
}

/// Forget `account` of `service` (none there is fine).
pub fn secret_delete(service: &str, account: &str) -> Result<(), Unavailable> {
    match entry(service, account)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(Unavailable(e.to_string())),
    }
}

/// The password from the environment, if set and not empty.
pub fn env_password() -> Option<String> {
    std::env::var(ENV_PASSWORD).ok().filter(|p| !p.is_empty())
}

/// The SMTP password to log in with: the keyring's entry for `account`,
/// else `LOCKBOX_SMTP_PASSWORD`; else why neither gave one, naming both.
pub fn smtp_password(account: &str) -> Result<String, String> {
    let keyring = match keyring_get(account) {
        Ok(Some(p)) => return Ok(p),
        Ok(None) => "the OS keyring has no SMTP password for this tenant".to_string(),
        Err(e) => e.to_string(),
    };
    env_password().ok_or_else(|| {
        format!(
            "the SMTP login has no password: {keyring}, and {ENV_PASSWORD} is not set. Save it \
             in the keyring with `lockbox smtp set ... --password` (or the admin center) where \
             a Secret Service runs, or set {ENV_PASSWORD} for the process that sends email \
             (`lockbox serve`, the app)"
        )
    })
}

/// Is `host` this machine, by name or loopback address? No name is resolved:
/// anything but `localhost` and a literal loopback address counts as remote.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim().trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "smtp.contoso.example",
            "0.0.0.0",
            "10.0.0.1",
            "localhost.contoso.example",
            "::",
            "",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }
}
