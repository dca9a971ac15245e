//! Browser sessions of the web UI: made at a password login (the same rules, lockouts and
//! audit as `tsh login`), kept in storage so that any proxy host sharing it resolves them, and
//! ended by logout or expiry.
//!
//! The browser holds only a random session ID (256 bits, in an `HttpOnly; Secure;
//! SameSite=Strict` cookie) and sends a CSRF token on every state-changing request: a hash of
//! the ID under its own label ([`csrf_token`]), which the page gets from the server (the cookie
//! itself is out of its reach) and no other site can read. Storage keeps the ID's SHA-256 hash,
//! never the ID. No private key exists for a session:
//! the identity it carries is the one a login certificate would (user, roles and traits at
//! login, the certificate's expiry), and the proxy acts for it in process, as for a client
//! certificate. CSRF tokens are compared in constant time.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tether_shared::identity::Identity;
use tether_storage::StorageError;

use super::password::{constant_time_eq, hash_token};
use super::{AuthError, Core, Logins};

/// Where sessions live in storage, by the hash of their ID.
pub const PREFIX: &str = "/web_sessions/";
/// The longest a session lives (never past the login's certificate lifetime).
pub const MAX_SESSION: Duration = Duration::from_secs(12 * 3600);

/// A session as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    identity: Identity,
}

/// The CSRF token of session `id`.
pub fn csrf_token(id: &str) -> String {
    hash_token(&format!("tether-csrf:{id}"))
}

/// Whether `token` is session `id`'s CSRF token (constant time).
pub fn csrf_matches(id: &str, token: &str) -> bool {
    constant_time_eq(csrf_token(id).as_bytes(), token.as_bytes())
}

/// A new session: what the browser gets. (Its `Debug` leaves the secrets out.)
#[derive(Clone)]
pub struct NewSession {
    /// The cookie's value.
    pub id: String,
    /// Who logged in.
    pub identity: Identity,
    /// After an invite on a cluster that asks for one-time codes: the user's new TOTP secret as
    /// an `otpauth://` URI, shown once.
    pub totp_enrollment: Option<String>,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession").field("user", &self.identity.user).finish_non_exhaustive()
    }
}

/// 256 random bits, hex.
fn secret() -> Result<String, AuthError> {
    let a = super::password::random_token().map_err(AuthError::fault)?;
    let b = super::password::random_token().map_err(AuthError::fault)?;
    Ok(format!("{a}{b}"))
}

/// The web UI's sessions.
pub struct WebSessions {
    core: std::sync::Arc<Core>,
    logins: std::sync::Arc<Logins>,
}

impl WebSessions {
    /// Sessions over storage and the login rules.
    pub fn new(core: std::sync::Arc<Core>, logins: std::sync::Arc<Logins>) -> Self {
        WebSessions { core, logins }
    }

    /// Logs `user` in with `password` (and `otp`) from `source`, as `tsh login` does, and stores
    /// a session for them.
    /// With `invite`, the password is set through that invite first, as `tsh login --invite`
    /// does.
    pub async fn login(
        &self,
        user: &str,
        password: &str,
        otp: Option<String>,
        invite: Option<String>,
        source: &str,
    ) -> Result<NewSession, AuthError> {
        // The login issues certificates for a key; the session keeps only the identity, so the
        // key is made here and dropped.
        let key = tether_shared::ssh_cert::generate_ed25519_key().map_err(|e| AuthError::fault(e.to_string()))?;
        let public_key = key.public_key().to_openssh().map_err(|e| AuthError::fault(e.to_string()))?;
        let req = tether_shared::api::LoginRequest {
            user: user.to_string(),
            password: password.to_string(),
            otp,
            invite_token: invite,
            public_key,
            ttl_secs: Some(MAX_SESSION.as_secs()),
        };
        let resp = self.logins.login_for(&req, source, Some("web")).await?;
        let id = secret()?;
        let stored = Stored { identity: resp.identity.clone() };
        let value = serde_json::to_vec(&stored).map_err(|e| AuthError::fault(e.to_string()))?;
        let expires = SystemTime::from(resp.identity.valid_before);
        self.core.backend.put(&format!("{PREFIX}{}", hash_token(&id)), value, Some(expires)).await?;
        Ok(NewSession { id, identity: resp.identity, totp_enrollment: resp.totp_enrollment })
    }

    /// The identity of the live session `id` names, if any.
    pub async fn resolve(&self, id: &str) -> Result<Option<Identity>, AuthError> {
        if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let Some(item) = self.core.backend.get(&format!("{PREFIX}{}", hash_token(id))).await? else {
            return Ok(None);
        };
        let Ok(stored) = serde_json::from_slice::<Stored>(&item.value) else { return Ok(None) };
        if stored.identity.valid_before <= time::OffsetDateTime::now_utc() {
            return Ok(None);
        }
        Ok(Some(stored.identity))
    }

    /// Ends session `id` (logout from `source`, audited as the session's own user); true when
    /// it existed.
    pub async fn end(&self, id: &str, source: &str) -> Result<bool, AuthError> {
        let owner = self.resolve(id).await?.map(|identity| identity.user).unwrap_or_default();
        let user = owner.as_str();
        let existed = match self.core.backend.delete(&format!("{PREFIX}{}", hash_token(id))).await {
            Ok(existed) => existed,
            Err(StorageError::NotFound(_)) => false,
            Err(e) => return Err(e.into()),
        };
        if existed {
            self.core.audit.emit(
                tether_audit::Event::UserLogout,
                tether_audit::Outcome::Success,
                user,
                serde_json::json!({"addr": source}),
            );
        }
        Ok(existed)
    }
}
