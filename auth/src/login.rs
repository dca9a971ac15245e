//! Logging in: passwords and invites, the optional TOTP second factor, and the failed-login
//! limits per user and per source address.

use std::time::{Duration, SystemTime};
use tether_audit::{Event, Outcome};

use serde::{Deserialize, Serialize};
use tether_shared::api::{InviteResponse, LoginResponse};
use tether_shared::rbac::AccessChecker;
use tether_shared::resource::{Kind, Resource};

use std::sync::Arc;

use super::{AuthError, Authority, Core, INVITE_TTL, grantable_roles, internal, password};
use tether_storage::{StorageError, records};

/// A stored password hash or invite.
#[derive(Debug, Serialize, Deserialize)]
struct Secret {
    user: String,
    hash: String,
}

/// A user's enrolled TOTP secret and the last step used (codes are single-use).
#[derive(Debug, Serialize, Deserialize)]
struct TotpRecord {
    secret: String,
    last_step: u64,
}

/// Passwords, invites, second factors and lockouts.
pub struct Logins {
    pub(crate) core: Arc<Core>,
    authority: Arc<Authority>,
    require_otp: bool,
}

impl Logins {
    /// Logins that issue certificates from `authority`; `require_otp` asks every login for a
    /// one-time code.
    pub fn new(core: Arc<Core>, authority: Arc<Authority>, require_otp: bool) -> Self {
        Logins { core, authority, require_otp }
    }

    /// Password login (or first login with an invite, which sets the password).
    pub async fn login(
        &self,
        req: &tether_shared::api::LoginRequest,
        source: &str,
    ) -> Result<LoginResponse, AuthError> {
        self.login_for(req, source, None).await
    }

    /// [`Logins::login`], audited with `session` (`web` for the web UI's sessions).
    pub(crate) async fn login_for(
        &self,
        req: &tether_shared::api::LoginRequest,
        source: &str,
        session: Option<&str>,
    ) -> Result<LoginResponse, AuthError> {
        self.reserve_attempt(&req.user, source).await?;
        let result = self.login_inner(req).await;
        match &result {
            Ok(_) => {
                self.release_attempt(&req.user, source).await;
                self.core.audit.emit(
                    Event::UserLogin,
                    Outcome::Success,
                    &req.user,
                    with_session(serde_json::json!({"addr": source}), session),
                );
            }
            Err(e) => {
                tracing::warn!(user = %tether_audit::truncate(&req.user, 64), addr = %source, "login failed: {e}");
                self.core.audit.emit(
                    Event::UserLogin,
                    Outcome::Failure,
                    &req.user,
                    with_session(serde_json::json!({"addr": source, "error": e.to_string()}), session),
                );
            }
        }
        result
    }

    async fn login_inner(&self, req: &tether_shared::api::LoginRequest) -> Result<LoginResponse, AuthError> {
        let bad = || AuthError::Unauthorized("invalid user name or password".into());
        let mut enrollment = None;
        // Both records are read for every name, known or not, so storage work tells nothing
        // either (the password record is only used below for a login without an invite).
        let (user_key, password_key) =
            (records::key(Kind::User, &req.user), format!("/secrets/passwords/{}", req.user));
        let (user, stored) =
            tokio::join!(records::get(&self.core.backend, &user_key), self.core.backend.get(&password_key));
        let Some(Resource::User(user)) = user? else {
            // Spend the same argon2 work as a real check so unknown users are not revealed by
            // timing.
            password::verify_unknown_user(req.password.clone()).await;
            return Err(bad());
        };
        if let Some(invite) = &req.invite_token {
            let key = format!("/secrets/invites/{}", password::hash_token(invite));
            let item = self.core.backend.get(&key).await?.ok_or_else(|| {
                AuthError::Unauthorized(
                    "the invite is unknown or has expired; ask for a new one (tctl users reset)".into(),
                )
            })?;
            let secret: Secret = serde_json::from_slice(&item.value).map_err(internal("reading a stored record"))?;
            if !password::constant_time_eq(secret.user.as_bytes(), req.user.as_bytes()) {
                return Err(AuthError::Unauthorized("the invite belongs to another user".into()));
            }
            if req.password.chars().count() < 8 {
                return Err(AuthError::BadRequest("the password must be at least 8 characters".into()));
            }
            let hash =
                password::hash_password_async(req.password.clone()).await.map_err(internal("hashing the password"))?;
            let stored = serde_json::to_vec(&Secret { user: req.user.clone(), hash })
                .map_err(internal("encoding a password record"))?;
            self.core.backend.put(&format!("/secrets/passwords/{}", req.user), stored, None).await?;
            self.core.backend.delete(&key).await?;
            if self.require_otp {
                let secret = tether_shared::totp::generate_secret().ok_or_else(|| AuthError::fault("no randomness"))?;
                let record = serde_json::to_vec(&TotpRecord { secret: secret.clone(), last_step: 0 })
                    .map_err(internal("encoding a TOTP record"))?;
                self.core.backend.put(&format!("/secrets/totp/{}", req.user), record, None).await?;
                enrollment = Some(tether_shared::totp::otpauth_uri(&self.core.cluster, &req.user, &secret));
            }
        } else {
            let Some(item) = stored? else {
                // Invited but no password yet: as costly as a wrong password, like unknown users.
                password::verify_unknown_user(req.password.clone()).await;
                return Err(bad());
            };
            let secret: Secret = serde_json::from_slice(&item.value).map_err(internal("reading a stored record"))?;
            if !password::verify_password_async(req.password.clone(), secret.hash).await {
                return Err(bad());
            }
            if self.require_otp {
                self.check_otp(&req.user, req.otp.as_deref()).await?;
            }
        }
        let role_names = grantable_roles(&user.spec.roles);
        let roles = self.core.roles(&role_names).await?;
        let checker = AccessChecker::new(&roles, &user.spec.traits);
        let ttl = Duration::from_secs(req.ttl_secs.unwrap_or(12 * 3600));
        let cert = super::certs::CertRequest {
            user: &req.user,
            roles: role_names,
            traits: user.spec.traits.clone(),
            public_key: &req.public_key,
            ttl,
            leaf: None,
        };
        let mut issued = self.authority.issue(cert, &checker)?;
        issued.totp_enrollment = enrollment;
        Ok(issued)
    }

    /// Checks a TOTP code for `user` and marks its time step used.
    async fn check_otp(&self, user: &str, code: Option<&str>) -> Result<(), AuthError> {
        let key = format!("/secrets/totp/{user}");
        let item = self.core.backend.get(&key).await?.ok_or_else(|| {
            AuthError::Unauthorized(format!(
                "this cluster requires a second factor and {user} has none enrolled; ask an admin for tctl users reset {user}"
            ))
        })?;
        let mut record: TotpRecord =
            serde_json::from_slice(&item.value).map_err(internal("reading a stored record"))?;
        let code = code.filter(|c| !c.trim().is_empty()).ok_or_else(|| {
            AuthError::Unauthorized("this cluster requires a one-time code from your authenticator app".into())
        })?;
        let secret = tether_shared::totp::base32_decode(&record.secret)
            .ok_or_else(|| AuthError::fault("damaged TOTP secret"))?;
        let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let step = tether_shared::totp::verify(&secret, code, now)
            .ok_or_else(|| AuthError::Unauthorized("invalid one-time code".into()))?;
        if step <= record.last_step {
            return Err(AuthError::Unauthorized("this one-time code was already used; wait for the next one".into()));
        }
        record.last_step = step;
        let value = serde_json::to_vec(&record).map_err(internal("encoding a stored record"))?;
        // Compare-and-swap so two logins racing with one code cannot both pass.
        self.core.backend.compare_and_swap(&key, item.revision, value, None).await.map_err(|e| match e {
            StorageError::Conflict { .. } => AuthError::Unauthorized("this one-time code was already used".into()),
            other => other.into(),
        })?;
        Ok(())
    }

    /// Stores a one-time invite for `user`, replacing none (invites expire on their own).
    pub async fn invite(&self, user: &str) -> Result<InviteResponse, AuthError> {
        let token = password::random_token().map_err(internal("generating a random token"))?;
        let expires = time::OffsetDateTime::now_utc() + INVITE_TTL;
        let value = serde_json::to_vec(&Secret { user: user.to_string(), hash: String::new() })
            .map_err(internal("encoding a password record"))?;
        self.core
            .backend
            .put(&format!("/secrets/invites/{}", password::hash_token(&token)), value, Some(SystemTime::from(expires)))
            .await?;
        Ok(InviteResponse { user: user.to_string(), token, expires })
    }

    /// Removes a user's password and second factor (for `tctl users reset` and `rm`).
    pub async fn clear_password(&self, user: &str) -> Result<(), AuthError> {
        self.core.backend.delete(&format!("/secrets/passwords/{user}")).await?;
        self.core.backend.delete(&format!("/secrets/totp/{user}")).await?;
        Ok(())
    }
}

/// An audit event's fields with `session` added when there is one.
fn with_session(mut fields: serde_json::Value, session: Option<&str>) -> serde_json::Value {
    if let (Some(map), Some(session)) = (fields.as_object_mut(), session) {
        map.insert("session".into(), session.into());
    }
    fields
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tether_shared::api::LoginRequest;
    use tether_shared::resource::{Resource, parse_resources};
    use tether_shared::ssh_cert::generate_ed25519_key;
    use tether_storage::records;

    use super::super::testing::cluster_with;
    use super::super::{AuthError, AuthService};

    async fn with_user(require_otp: bool) -> (tempfile::TempDir, Arc<AuthService>) {
        let dir = tempfile::tempdir().unwrap();
        let auth = cluster_with(&dir, "c.example.com", require_otp).await;
        let yaml = "kind: user\nversion: v2\nmetadata: {name: alice}\nspec:\n  roles: [access, '@admin']\n  traits: {logins: [alice]}\n";
        for resource in parse_resources("alice.yaml", yaml).unwrap() {
            assert!(matches!(resource, Resource::User(_)));
            records::create(auth.backend(), &resource).await.unwrap();
        }
        (dir, auth)
    }

    fn request(password: &str, invite: Option<&str>, otp: Option<&str>) -> LoginRequest {
        LoginRequest {
            user: "alice".into(),
            password: password.into(),
            otp: otp.map(str::to_string),
            invite_token: invite.map(str::to_string),
            public_key: generate_ed25519_key().unwrap().public_key().to_openssh().unwrap(),
            ttl_secs: None,
        }
    }

    /// Clears the failed-login counters, so that one test may fail more often than the limit.
    async fn forget_failures(auth: &AuthService) {
        for item in auth.backend().range(super::super::lockout::PREFIX).await.unwrap() {
            auth.backend().delete(&item.key).await.unwrap();
        }
    }

    fn unauthorized(result: Result<tether_shared::api::LoginResponse, AuthError>, expected: &str) {
        match result {
            Err(AuthError::Unauthorized(m)) if m.contains(expected) => {}
            other => panic!("expected {expected:?}, got {:?}", other.map(|_| "a certificate")),
        }
    }

    #[tokio::test]
    async fn an_invite_sets_the_password_once_and_only_that_password_logs_in() {
        let (_dir, auth) = with_user(false).await;
        let logins = auth.logins();
        unauthorized(logins.login(&request("horse 42", None, None), "10.0.0.1").await, "invalid user name or password");
        let invite = logins.invite("alice").await.unwrap();
        let other = logins.invite("bob").await.unwrap();
        unauthorized(
            logins.login(&request("horse 42", Some(&other.token), None), "10.0.0.1").await,
            "the invite belongs to another user",
        );
        // Eight characters is the least a password may have.
        let short = logins.login(&request("horse 4", Some(&invite.token), None), "10.0.0.1").await;
        assert!(matches!(&short, Err(AuthError::BadRequest(m)) if m.contains("at least 8 characters")), "{short:?}");
        let first = logins.login(&request("horse 42", Some(&invite.token), None), "10.0.0.1").await.unwrap();
        assert!(first.totp_enrollment.is_none());
        unauthorized(
            logins.login(&request("horse 42", Some(&invite.token), None), "10.0.0.1").await,
            "the invite is unknown or has expired",
        );
        let again = logins.login(&request("horse 42", None, None), "10.0.0.1").await.unwrap();
        assert!(again.ssh_cert.starts_with("ssh-ed25519-cert-v01@openssh.com "), "{}", again.ssh_cert);
        unauthorized(
            logins.login(&request("wrong horse", None, None), "10.0.0.1").await,
            "invalid user name or password",
        );
        forget_failures(&auth).await;
        let mut stranger = request("horse 42", None, None);
        stranger.user = "mallory".into();
        unauthorized(logins.login(&stranger, "10.0.0.1").await, "invalid user name or password");
        // The certificate carries the grantable roles only, and the user's logins.
        let identity = tether_shared::ssh_cert::inspect_user_cert(
            &russh::keys::Certificate::from_openssh(&again.ssh_cert).unwrap(),
        )
        .unwrap();
        assert_eq!(identity.roles, ["access"]);
        assert_eq!(identity.logins, ["alice"]);
        // Without a TTL asked for, it lives 12 hours.
        let left = identity.valid_before - time::OffsetDateTime::now_utc();
        assert!(left > time::Duration::hours(12) - time::Duration::minutes(1), "{left}");
        assert!(left <= time::Duration::hours(12), "{left}");
        logins.clear_password("alice").await.unwrap();
        unauthorized(logins.login(&request("horse 42", None, None), "10.0.0.1").await, "invalid user name or password");
        // Each outcome is audited, with the address.
        let events = auth.audit().read(None, 100).await.unwrap();
        let logins: Vec<_> =
            events.iter().filter(|e| e.get("event").and_then(|v| v.as_str()) == Some("user.login")).collect();
        assert_eq!(logins.iter().filter(|e| e.get("success") == Some(&true.into())).count(), 2, "{logins:?}");
        assert!(logins.iter().all(|e| e.get("addr") == Some(&"10.0.0.1".into())), "{logins:?}");
        assert!(logins.iter().any(|e| e.get("error").is_some_and(|m| m.as_str().unwrap().contains("another user"))));
    }

    #[tokio::test]
    async fn a_second_factor_is_enrolled_by_the_invite_and_each_code_works_once() {
        let (_dir, auth) = with_user(true).await;
        let logins = auth.logins();
        let invite = logins.invite("alice").await.unwrap();
        let first = logins.login(&request("correct horse", Some(&invite.token), None), "10.0.0.1").await.unwrap();
        let uri = first.totp_enrollment.expect("an enrollment URI");
        let secret = uri.split("secret=").nth(1).and_then(|s| s.split('&').next()).unwrap();
        let secret = tether_shared::totp::base32_decode(secret).unwrap();
        unauthorized(logins.login(&request("correct horse", None, None), "10.0.0.2").await, "requires a one-time code");
        unauthorized(
            logins.login(&request("correct horse", None, Some(" ")), "10.0.0.2").await,
            "requires a one-time code",
        );
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let code = tether_shared::totp::code(&secret, now);
        let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
        unauthorized(
            logins.login(&request("correct horse", None, Some(&wrong)), "10.0.0.2").await,
            "invalid one-time code",
        );
        logins.login(&request("correct horse", None, Some(&code)), "10.0.0.2").await.unwrap();
        unauthorized(logins.login(&request("correct horse", None, Some(&code)), "10.0.0.2").await, "already used");
        // A user without an enrolled factor is told what to ask for.
        logins.clear_password("alice").await.unwrap();
        let invite = logins.invite("alice").await.unwrap();
        auth.backend().delete("/secrets/totp/alice").await.unwrap();
        let again = logins.login(&request("correct horse", Some(&invite.token), None), "10.0.0.3").await.unwrap();
        assert!(again.totp_enrollment.is_some());
    }

    #[tokio::test]
    async fn a_web_login_is_audited_with_its_session_kind() {
        let (_dir, auth) = with_user(false).await;
        let invite = auth.logins().invite("alice").await.unwrap();
        auth.logins()
            .login_for(&request("correct horse", Some(&invite.token), None), "10.0.0.1", Some("web"))
            .await
            .unwrap();
        auth.logins().login(&request("correct horse", None, None), "10.0.0.1").await.unwrap();
        let events = auth.audit().read(None, 100).await.unwrap();
        let sessions: Vec<_> = events
            .iter()
            .filter(|e| e.get("event").and_then(|v| v.as_str()) == Some("user.login"))
            .map(|e| e.get("session").cloned())
            .collect();
        assert_eq!(sessions, [Some("web".into()), None]);
    }
}
