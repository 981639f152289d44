//! Who makes a customer decision. A customer decision (approve, reject,
//! revoke), a settings change or a user change is made by an *authenticated*
//! identity, never by a name the caller typed: on a local store that is the OS
//! user running the process (looked up from the real uid, not from `USER` or
//! any other variable the caller controls). Provider-side names (engineer,
//! manager) are asserted by the provider and stay plain strings.
//!
//! On a team server (`lockbox serve --oidc-issuer`) it is a person the server
//! verified with OpenID Connect: an ID token signed by the configured issuer,
//! for the configured client, not expired, with a verified email. The
//! principal's name is that email, lower-cased: it is the Lockbox user name
//! (the `users` table, a role per tenant).
//!
//! Trust model of a local store: whoever can write the store file holds every
//! role (they can edit it directly); the engine's rules bind the processes
//! that go through it. The store's files are the OS user's alone (0600).

use crate::model::Actor;
use serde_json::{json, Value};

/// An authenticated customer-side identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    name: String,
    authn: Authn,
}

/// How a [`Principal`] was authenticated; recorded in its audit entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authn {
    /// The OS user running the process, by real uid.
    OsUser { uid: u32 },
    /// A person whose OpenID Connect ID token the server verified: the
    /// token's issuer (`iss`) and subject (`sub`).
    Oidc { issuer: String, subject: String },
}

impl Principal {
    /// An OS user, by name and uid. Adapters use [`Principal::current_os_user`];
    /// tests of the engine build principals directly.
    pub fn os_user(name: impl Into<String>, uid: u32) -> Principal {
        Principal {
            name: name.into(),
            authn: Authn::OsUser { uid },
        }
    }

    /// A person the server verified with OpenID Connect: `issuer` and
    /// `subject` from a verified ID token, `email` its `email` claim, which
    /// the issuer said is verified (`email_verified`). Only an adapter that
    /// checked all of that calls this. The name is the email, lower-cased;
    /// an email that cannot be a user name (empty, control or format
    /// characters, too long, no `@`) is refused.
    pub fn verified_oidc(issuer: &str, subject: &str, email: &str) -> crate::Result<Principal> {
        use crate::model::{limits, required};
        let name = required("the ID token's email", &email.to_lowercase(), limits::NAME)?;
        crate::mail::parse_email(&name)?;
        if issuer.is_empty() || subject.is_empty() {
            return Err(crate::Error::input(
                "an ID token without an issuer or a subject",
            ));
        }
        Ok(Principal {
            name,
            authn: Authn::Oidc {
                issuer: issuer.to_string(),
                subject: subject.to_string(),
            },
        })
    }

    /// The OS user running this process: the real uid and its passwd name
    /// (`uid-N` when the uid has no passwd entry). Environment variables such
    /// as `USER` or `LOCKBOX_USER` are not consulted.
    pub fn current_os_user() -> Principal {
        let (name, uid) = current_uid_and_name();
        Principal::os_user(name, uid)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn authn(&self) -> &Authn {
        &self.authn
    }

    /// The audit actor for this principal (customer side).
    pub fn actor(&self) -> Actor {
        Actor::customer(&self.name)
    }

    /// How this principal was authenticated, as audit details.
    pub fn authn_details(&self) -> Value {
        match &self.authn {
            Authn::OsUser { uid } => json!({ "method": "os_user", "uid": uid }),
            Authn::Oidc { issuer, subject } => {
                json!({ "method": "oidc", "issuer": issuer, "sub": subject })
            }
        }
    }

    /// `details` with `"authn"` added (details are always an object).
    pub fn with_authn(&self, mut details: Value) -> Value {
        if let Value::Object(m) = &mut details {
            m.insert("authn".into(), self.authn_details());
        }
        details
    }
}

#[cfg(unix)]
fn current_uid_and_name() -> (String, u32) {
    let uid = nix::unistd::getuid();
    let name = nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map(|u| u.name)
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| format!("uid-{}", uid.as_raw()));
    (name, uid.as_raw())
}

#[cfg(not(unix))]
fn current_uid_and_name() -> (String, u32) {
    let name = whoami::username()
        .ok()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "user".to_string());
    (name, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_os_user_ignores_the_environment() {
        let before = Principal::current_os_user();
        // The variables a caller controls do not change who they are.
        std::env::set_var("LOCKBOX_USER", "mallory-from-env");
        std::env::set_var("USER", "mallory-from-env");
        let after = Principal::current_os_user();
        assert_eq!(before, after);
        assert_ne!(after.name(), "mallory-from-env");
        let Authn::OsUser { uid } = *after.authn() else {
            panic!("not an OS user: {after:?}")
        };
        assert_eq!(uid, nix::unistd::getuid().as_raw());
    }

    #[test]
    fn authn_is_added_to_details() {
        let p = Principal::os_user("alice", 1001);
        let d = p.with_authn(json!({ "comment": null }));
        assert_eq!(d["authn"], json!({ "method": "os_user", "uid": 1001 }));
    }

    #[test]
    fn a_verified_person_is_named_by_their_email_lower_cased() {
        let p = Principal::verified_oidc(
            "https://id.example",
            "248289761001",
            " Ana@Contoso.Example ",
        )
        .unwrap();
        assert_eq!(p.name(), "ana@contoso.example");
        let d = p.with_authn(json!({}));
        assert_eq!(
            d["authn"],
            json!({ "method": "oidc", "issuer": "https://id.example", "sub": "248289761001" })
        );
        for bad in ["", "no-at-sign", "ana\u{202e}@x.example", "ana\n@x.example"] {
            assert!(
                Principal::verified_oidc("https://id.example", "s", bad).is_err(),
                "{bad:?}"
            );
        }
        assert!(Principal::verified_oidc("", "s", "a@b.example").is_err());
        assert!(Principal::verified_oidc("https://id.example", "", "a@b.example").is_err());
    }
}
