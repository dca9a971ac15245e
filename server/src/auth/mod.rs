//! The auth service: the cluster's certificate authorities, users, passwords, join tokens and
//! RBAC, over a storage [`Backend`].
//!
//! On first start [`Auth::init`] generates the SSH user CA, SSH host CA and TLS CA (Ed25519),
//! stores their private keys under `/secrets/ca/` and their public parts as `cert_authority`
//! resources, and creates the preset roles. Every API call is checked against the caller's roles
//! ([`Auth::checker`]); the built-in `@admin` identity that local `tctl` uses may do everything.

pub mod nodes;
pub mod password;
pub mod store;
pub mod tokens;
pub mod trust;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use tether_shared::api::{InviteResponse, LoginResponse, TrustedKey};
use tether_shared::identity::{Identity, Traits};
use tether_shared::rbac::AccessChecker;
use tether_shared::resource::{
    CaKeys, CaType, CertAuthority, CertAuthoritySpec, Kind, Resource, Role, RoleConditions, RoleSpec, Rule, presets,
};
use tether_shared::ssh_cert::SshCa;
use tether_shared::tls_cert::TlsCa;

use crate::audit::Audit;
use crate::storage::{Backend, StorageError};

/// The role name of the local admin identity; names starting with `@` are reserved.
pub const ADMIN_ROLE: &str = "@admin";
/// Built-in roles (`@admin`, `@node`) belong to identities the auth service mints itself; a
/// stored user can never hold one.
pub fn is_reserved_role(name: &str) -> bool {
    name.starts_with('@')
}

/// A stored user's roles as certificates may carry them: reserved names are dropped, so a user
/// record that somehow names `@admin` grants nothing from it.
pub fn grantable_roles(roles: &[String]) -> Vec<String> {
    roles.iter().filter(|r| !is_reserved_role(r)).cloned().collect()
}

/// The host ID in the certificates of a cluster's proxies (relay and tunnel agents). It starts
/// with `@`, which node names may not, so no node can present itself as its cluster's proxy.
pub fn proxy_host_id(cluster: &str) -> String {
    format!("@proxy.{cluster}")
}

/// How long an invite from `tctl users add` stays valid.
pub const INVITE_TTL: Duration = Duration::from_secs(3600);
/// The default longest life of a leaf-bound certificate (`auth_service.leaf_cert_ttl`; never
/// beyond the root certificate).
pub const LEAF_CERT_TTL: Duration = Duration::from_secs(3600);
/// Failed logins allowed per user or source address within [`LOCKOUT_WINDOW`].
pub const MAX_FAILED_LOGINS: u32 = 5;
/// The window failed logins are counted in.
pub const LOCKOUT_WINDOW: Duration = Duration::from_secs(60);

/// An error with the HTTP status it maps to.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// 400: the request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no or wrong credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: RBAC said no.
    #[error("access denied: {0}")]
    Forbidden(String),
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 409.
    #[error("{0}")]
    Conflict(String),
    /// 413.
    #[error("{0}")]
    TooLarge(String),
    /// 429.
    #[error("{0}")]
    RateLimited(String),
    /// 500: something on the server failed.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StorageError> for AuthError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound(k) => AuthError::NotFound(format!("{k} not found")),
            StorageError::AlreadyExists(k) => AuthError::Conflict(format!("{k} already exists")),
            other => AuthError::Internal(other.to_string()),
        }
    }
}

/// A stored password hash or invite.
#[derive(Debug, Serialize, Deserialize)]
struct Secret {
    user: String,
    hash: String,
}

/// The auth service of one cluster.
pub struct Auth {
    backend: Arc<dyn Backend>,
    cluster: String,
    user_ca: SshCa,
    host_ca: SshCa,
    tls_ca: TlsCa,
    audit: Arc<Audit>,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
    require_otp: bool,
    /// Outbound calls to a root skip HTTPS verification (`tether start --insecure`).
    insecure: std::sync::atomic::AtomicBool,
    /// `auth_service.leaf_cert_ttl`, in seconds.
    leaf_cert_ttl_secs: std::sync::atomic::AtomicU64,
    /// Signalled when a trusted cluster changes (the tunnel agents reconcile).
    trust_changed: tokio::sync::Notify,
}

/// A user's enrolled TOTP secret and the last step used (codes are single-use).
#[derive(Debug, Serialize, Deserialize)]
struct TotpRecord {
    secret: String,
    last_step: u64,
}

async fn load_or_create_secret(
    backend: &Arc<dyn Backend>,
    key: &str,
    make: impl FnOnce() -> Result<String, AuthError>,
) -> Result<String, AuthError> {
    if let Some(item) = backend.get(key).await? {
        return String::from_utf8(item.value).map_err(|e| AuthError::Internal(format!("{key}: {e}")));
    }
    let value = make()?;
    match backend.create(key, value.clone().into_bytes(), None).await {
        Ok(_) => Ok(value),
        // Another auth server won the race: use its key.
        Err(StorageError::AlreadyExists(_)) => {
            let item = backend.get(key).await?.ok_or_else(|| AuthError::Internal(format!("{key} vanished")))?;
            String::from_utf8(item.value).map_err(|e| AuthError::Internal(format!("{key}: {e}")))
        }
        Err(e) => Err(e.into()),
    }
}

/// Parses a client's OpenSSH public key, which must be Ed25519 (it is certified for both SSH and
/// TLS).
pub(crate) fn parse_ed25519(
    public_key: &str,
) -> Result<(russh::keys::PublicKey, russh::keys::ssh_key::public::Ed25519PublicKey), AuthError> {
    let key = russh::keys::ssh_key::PublicKey::from_openssh(public_key)
        .map_err(|e| AuthError::BadRequest(format!("public_key: not an OpenSSH public key: {e}")))?;
    let ed25519 = *key
        .key_data()
        .ed25519()
        .ok_or_else(|| AuthError::BadRequest("public_key: only Ed25519 keys are accepted".into()))?;
    Ok((key, ed25519))
}

fn internal(e: impl std::fmt::Display) -> AuthError {
    AuthError::Internal(e.to_string())
}

impl Auth {
    /// Loads the cluster's CAs (generating them on first start) and makes sure the preset roles
    /// and public CA resources exist.
    pub async fn init(
        backend: Arc<dyn Backend>,
        cluster: &str,
        audit: Arc<Audit>,
        require_otp: bool,
    ) -> Result<Arc<Self>, AuthError> {
        let user_pem = load_or_create_secret(&backend, "/secrets/ca/user", || {
            SshCa::generate().and_then(|ca| ca.to_openssh()).map(|p| p.to_string()).map_err(internal)
        })
        .await?;
        let host_pem = load_or_create_secret(&backend, "/secrets/ca/host", || {
            SshCa::generate().and_then(|ca| ca.to_openssh()).map(|p| p.to_string()).map_err(internal)
        })
        .await?;
        let tls_pair = load_or_create_secret(&backend, "/secrets/ca/tls", || {
            let ca = TlsCa::generate(cluster).map_err(internal)?;
            Ok(format!("{}\n{}", ca.cert_pem(), ca.key_pem().as_str()))
        })
        .await?;
        let split = tls_pair.find("-----BEGIN PRIVATE KEY-----").ok_or_else(|| internal("stored TLS CA is damaged"))?;
        let tls_ca = TlsCa::from_pem(&tls_pair[..split], &tls_pair[split..]).map_err(internal)?;
        let auth = Auth {
            user_ca: SshCa::from_openssh(&user_pem).map_err(internal)?,
            host_ca: SshCa::from_openssh(&host_pem).map_err(internal)?,
            tls_ca,
            backend,
            cluster: cluster.to_string(),
            audit,
            failures: Mutex::new(HashMap::new()),
            require_otp,
            insecure: std::sync::atomic::AtomicBool::new(false),
            leaf_cert_ttl_secs: std::sync::atomic::AtomicU64::new(LEAF_CERT_TTL.as_secs()),
            trust_changed: tokio::sync::Notify::new(),
        };
        for (ca_type, keys) in [
            (CaType::User, CaKeys { ssh: vec![auth.user_ca.public_key_openssh().map_err(internal)?], tls: vec![] }),
            (CaType::Host, CaKeys { ssh: vec![auth.host_ca.public_key_openssh().map_err(internal)?], tls: vec![] }),
            (CaType::Tls, CaKeys { ssh: vec![], tls: vec![auth.tls_ca.cert_pem()] }),
        ] {
            let ca = CertAuthority::new(
                cluster,
                CertAuthoritySpec {
                    ca_type,
                    cluster_name: cluster.to_string(),
                    active_keys: keys,
                    ..Default::default()
                },
            );
            store::upsert(&auth.backend, &Resource::CertAuthority(ca)).await?;
        }
        for role in presets::all() {
            match store::create(&auth.backend, &Resource::Role(role)).await {
                Ok(_) | Err(StorageError::AlreadyExists(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Arc::new(auth))
    }

    /// The cluster's name.
    pub fn cluster_name(&self) -> &str {
        &self.cluster
    }

    /// The cluster's SSH user CA public key.
    pub fn user_ca_public(&self) -> &russh::keys::PublicKey {
        self.user_ca.public_key()
    }

    /// Issues the proxy's SSH host certificate for `key`, valid for the given names.
    pub fn proxy_host_cert(
        &self,
        key: &russh::keys::PublicKey,
        principals: Vec<String>,
    ) -> Result<russh::keys::Certificate, AuthError> {
        let now = time::OffsetDateTime::now_utc();
        let host = tether_shared::ssh_cert::HostIdentity {
            host_id: proxy_host_id(&self.cluster),
            principals,
            cluster: self.cluster.clone(),
            valid_after: now - time::Duration::minutes(1),
            valid_before: now + nodes::NODE_CERT_TTL,
        };
        let serial = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        self.host_ca.issue_host_cert(key, &host, serial).map_err(internal)
    }

    /// The storage backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// The audit log.
    pub fn audit(&self) -> &Audit {
        &self.audit
    }

    /// The cluster's TLS CA.
    pub fn tls_ca(&self) -> &TlsCa {
        &self.tls_ca
    }

    /// The role the local admin identity holds: every verb on every resource.
    fn admin_role() -> Role {
        Role::new(
            ADMIN_ROLE,
            RoleSpec {
                allow: RoleConditions { rules: vec![Rule::new(&["*"], &["*"])], ..Default::default() },
                ..Default::default()
            },
        )
    }

    /// Loads roles by name; unknown names are skipped (a deleted role grants nothing).
    pub async fn roles(&self, names: &[String]) -> Result<Vec<Role>, AuthError> {
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            if name == ADMIN_ROLE {
                out.push(Self::admin_role());
            } else if name == nodes::NODE_ROLE {
                out.push(nodes::node_role());
            } else if let Some(Resource::Role(role)) = store::get(&self.backend, &store::key(Kind::Role, name)).await? {
                out.push(role);
            }
        }
        Ok(out)
    }

    /// The access checker of an authenticated identity.
    pub async fn checker(&self, identity: &Identity) -> Result<AccessChecker, AuthError> {
        Ok(AccessChecker::new(&self.roles(&identity.roles).await?, &identity.traits))
    }

    /// Checks `verb` on `kind` for an identity, auditing denials.
    pub async fn authorize(&self, identity: &Identity, kind: &str, verb: &str) -> Result<AccessChecker, AuthError> {
        let checker = self.checker(identity).await?;
        let decision = checker.check_rule(kind, verb);
        if !decision.allowed {
            self.audit.emit(
                "access.denied",
                "T9000W",
                &identity.user,
                false,
                serde_json::json!({"resource": kind, "verb": verb, "reason": decision.reason}),
            );
            return Err(AuthError::Forbidden(decision.reason));
        }
        Ok(checker)
    }

    /// Signs an SSH user certificate and a TLS client certificate for `public_key`.
    pub fn issue(
        &self,
        user: &str,
        roles: Vec<String>,
        traits: Traits,
        checker: &AccessChecker,
        public_key: &str,
        ttl: Duration,
    ) -> Result<LoginResponse, AuthError> {
        self.issue_bound(user, roles, traits, checker, public_key, ttl, None)
    }

    /// [`Auth::issue`], the certificates bound to one leaf cluster when `leaf` is given.
    #[allow(clippy::too_many_arguments)]
    pub fn issue_bound(
        &self,
        user: &str,
        roles: Vec<String>,
        traits: Traits,
        checker: &AccessChecker,
        public_key: &str,
        ttl: Duration,
        leaf: Option<String>,
    ) -> Result<LoginResponse, AuthError> {
        let (key, ed25519) = parse_ed25519(public_key)?;
        let ttl = ttl.min(checker.max_session_ttl());
        let now = time::OffsetDateTime::now_utc();
        let mut logins = checker.logins();
        if logins.is_empty() {
            // OpenSSH reads an empty principal list as "any login"; carry a placeholder instead.
            logins.push(format!("-{user}-no-logins"));
        }
        let identity = Identity {
            user: user.to_string(),
            roles,
            traits,
            logins,
            cluster: self.cluster.clone(),
            valid_after: now - time::Duration::minutes(1),
            valid_before: now + ttl,
            permit_pty: true,
            permit_agent_forwarding: checker.forward_agent(),
            permit_port_forwarding: checker.port_forwarding(),
            route_to_cluster: leaf,
        };
        let serial = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        let ssh = self.user_ca.issue_user_cert(&key, &identity, serial).map_err(internal)?;
        let tls = self.tls_ca.issue_client_cert(&ed25519, &identity).map_err(internal)?;
        Ok(LoginResponse {
            ssh_cert: tether_shared::ssh_cert::cert_to_openssh(&ssh).map_err(internal)?,
            tls_cert: tls.cert_pem,
            cluster_name: self.cluster.clone(),
            host_cas: vec![TrustedKey {
                cluster: self.cluster.clone(),
                public_key: self.host_ca.public_key_openssh().map_err(internal)?,
            }],
            tls_cas: vec![self.tls_ca.cert_pem()],
            identity,
            totp_enrollment: None,
        })
    }

    /// The keys failed logins are counted under. The user name is hashed, so each entry is
    /// small whatever name a client sends (a request body may carry a 256 KiB one).
    fn failure_keys(user: &str, source: &str) -> [String; 2] {
        [format!("user:{}", password::hash_token(user)), format!("addr:{source}")]
    }

    /// Refuses when the user or the source is over the failed-login limit.
    fn check_rate(&self, user: &str, source: &str) -> Result<(), AuthError> {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        failures.retain(|_, (_, since)| now.duration_since(*since) < LOCKOUT_WINDOW);
        for key in Self::failure_keys(user, source) {
            if failures.get(&key).is_some_and(|(n, _)| *n >= MAX_FAILED_LOGINS) {
                return Err(AuthError::RateLimited(format!(
                    "too many failed logins for {} or from {source}; try again in a minute",
                    crate::audit::truncate(user, 64)
                )));
            }
        }
        Ok(())
    }

    /// Records a failed login for the user and the source.
    fn record_failure(&self, user: &str, source: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        for key in Self::failure_keys(user, source) {
            let entry = failures.entry(key).or_insert((0, now));
            entry.0 += 1;
        }
    }

    /// Password login (or first login with an invite, which sets the password).
    pub async fn login(
        &self,
        req: &tether_shared::api::LoginRequest,
        source: &str,
    ) -> Result<LoginResponse, AuthError> {
        self.check_rate(&req.user, source)?;
        let result = self.login_inner(req).await;
        match &result {
            Ok(_) => self.audit.emit("user.login", "T1000I", &req.user, true, serde_json::json!({"addr": source})),
            Err(e) => {
                self.record_failure(&req.user, source);
                tracing::warn!(user = %crate::audit::truncate(&req.user, 64), addr = %source, "login failed: {e}");
                self.audit.emit(
                    "user.login",
                    "T1000W",
                    &req.user,
                    false,
                    serde_json::json!({"addr": source, "error": e.to_string()}),
                );
            }
        }
        result
    }

    async fn login_inner(&self, req: &tether_shared::api::LoginRequest) -> Result<LoginResponse, AuthError> {
        let bad = || AuthError::Unauthorized("invalid user name or password".into());
        let mut enrollment = None;
        let Some(Resource::User(user)) = store::get(&self.backend, &store::key(Kind::User, &req.user)).await? else {
            // Spend the same argon2 work as a real check so unknown users are not revealed by
            // timing.
            password::verify_unknown_user(req.password.clone()).await;
            return Err(bad());
        };
        if let Some(invite) = &req.invite_token {
            let key = format!("/secrets/invites/{}", password::hash_token(invite));
            let item = self.backend.get(&key).await?.ok_or_else(|| {
                AuthError::Unauthorized(
                    "the invite is unknown or has expired; ask for a new one (tctl users reset)".into(),
                )
            })?;
            let secret: Secret = serde_json::from_slice(&item.value).map_err(internal)?;
            if !password::constant_time_eq(secret.user.as_bytes(), req.user.as_bytes()) {
                return Err(AuthError::Unauthorized("the invite belongs to another user".into()));
            }
            if req.password.chars().count() < 8 {
                return Err(AuthError::BadRequest("the password must be at least 8 characters".into()));
            }
            let hash = password::hash_password_async(req.password.clone()).await.map_err(internal)?;
            let stored = serde_json::to_vec(&Secret { user: req.user.clone(), hash }).map_err(internal)?;
            self.backend.put(&format!("/secrets/passwords/{}", req.user), stored, None).await?;
            self.backend.delete(&key).await?;
            if self.require_otp {
                let secret = tether_shared::totp::generate_secret().ok_or_else(|| internal("no randomness"))?;
                let record =
                    serde_json::to_vec(&TotpRecord { secret: secret.clone(), last_step: 0 }).map_err(internal)?;
                self.backend.put(&format!("/secrets/totp/{}", req.user), record, None).await?;
                enrollment = Some(tether_shared::totp::otpauth_uri(&self.cluster, &req.user, &secret));
            }
        } else {
            let Some(item) = self.backend.get(&format!("/secrets/passwords/{}", req.user)).await? else {
                // Invited but no password yet: as costly as a wrong password, like unknown users.
                password::verify_unknown_user(req.password.clone()).await;
                return Err(bad());
            };
            let secret: Secret = serde_json::from_slice(&item.value).map_err(internal)?;
            if !password::verify_password_async(req.password.clone(), secret.hash).await {
                return Err(bad());
            }
            if self.require_otp {
                self.check_otp(&req.user, req.otp.as_deref()).await?;
            }
        }
        let role_names = grantable_roles(&user.spec.roles);
        let roles = self.roles(&role_names).await?;
        let checker = AccessChecker::new(&roles, &user.spec.traits);
        let ttl = Duration::from_secs(req.ttl_secs.unwrap_or(12 * 3600));
        let mut issued = self.issue(&req.user, role_names, user.spec.traits.clone(), &checker, &req.public_key, ttl)?;
        issued.totp_enrollment = enrollment;
        Ok(issued)
    }

    /// Checks a TOTP code for `user` and marks its time step used.
    async fn check_otp(&self, user: &str, code: Option<&str>) -> Result<(), AuthError> {
        let key = format!("/secrets/totp/{user}");
        let item = self.backend.get(&key).await?.ok_or_else(|| {
            AuthError::Unauthorized(format!(
                "this cluster requires a second factor and {user} has none enrolled; ask an admin for tctl users reset {user}"
            ))
        })?;
        let mut record: TotpRecord = serde_json::from_slice(&item.value).map_err(internal)?;
        let code = code.filter(|c| !c.trim().is_empty()).ok_or_else(|| {
            AuthError::Unauthorized("this cluster requires a one-time code from your authenticator app".into())
        })?;
        let secret =
            tether_shared::totp::base32_decode(&record.secret).ok_or_else(|| internal("damaged TOTP secret"))?;
        let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let step = tether_shared::totp::verify(&secret, code, now)
            .ok_or_else(|| AuthError::Unauthorized("invalid one-time code".into()))?;
        if step <= record.last_step {
            return Err(AuthError::Unauthorized("this one-time code was already used; wait for the next one".into()));
        }
        record.last_step = step;
        let value = serde_json::to_vec(&record).map_err(internal)?;
        // Compare-and-swap so two logins racing with one code cannot both pass.
        self.backend.compare_and_swap(&key, item.revision, value, None).await.map_err(|e| match e {
            StorageError::Conflict { .. } => AuthError::Unauthorized("this one-time code was already used".into()),
            other => other.into(),
        })?;
        Ok(())
    }

    /// Sets `auth_service.leaf_cert_ttl`.
    pub fn set_leaf_cert_ttl(&self, ttl: Duration) {
        self.leaf_cert_ttl_secs.store(ttl.as_secs(), std::sync::atomic::Ordering::Relaxed);
    }

    fn leaf_cert_ttl(&self) -> Duration {
        Duration::from_secs(self.leaf_cert_ttl_secs.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Certificates for `caller` (a user of this cluster, as their client certificate says) bound
    /// to the leaf `cluster`, issued only when the user's *current* roles allow the leaf's labels
    /// (`cluster_labels`). They live `auth_service.leaf_cert_ttl` ([`LEAF_CERT_TTL`]) at most and never beyond the caller's own
    /// certificate, so a label change reaches even direct paths to the leaf within that time.
    pub async fn issue_leaf_cert(
        &self,
        caller: &Identity,
        cluster: &str,
        public_key: &str,
    ) -> Result<LoginResponse, AuthError> {
        let result = self.issue_leaf_cert_inner(caller, cluster, public_key).await;
        let (code, error) = match &result {
            Ok(_) => ("TC001I", None),
            Err(e) => ("TC001W", Some(e.to_string())),
        };
        self.audit.emit(
            "cert.leaf",
            code,
            &caller.user,
            result.is_ok(),
            serde_json::json!({"cluster": cluster, "error": error}),
        );
        result
    }

    async fn issue_leaf_cert_inner(
        &self,
        caller: &Identity,
        cluster: &str,
        public_key: &str,
    ) -> Result<LoginResponse, AuthError> {
        if caller.route_to_cluster.is_some() {
            return Err(AuthError::Forbidden(
                "a leaf-bound certificate cannot ask for another; use your root certificate".into(),
            ));
        }
        let rc = self.remote_clusters().await?.into_iter().find(|rc| rc.metadata.name == cluster);
        let Some(rc) = rc else {
            return Err(AuthError::NotFound(format!("cluster {cluster:?} is not a leaf of {}", self.cluster)));
        };
        let Some(Resource::User(user)) = store::get(&self.backend, &store::key(Kind::User, &caller.user)).await? else {
            return Err(AuthError::Forbidden(format!("user {:?} no longer exists", caller.user)));
        };
        let role_names = grantable_roles(&user.spec.roles);
        let roles = self.roles(&role_names).await?;
        let checker = AccessChecker::new(&roles, &user.spec.traits);
        let decision = checker.check_cluster(&rc.metadata.labels);
        if !decision.allowed {
            return Err(AuthError::Forbidden(format!(
                "your roles do not allow cluster {cluster}: {}",
                decision.reason
            )));
        }
        let left = caller.valid_before - time::OffsetDateTime::now_utc();
        let left = Duration::from_secs(u64::try_from(left.whole_seconds()).unwrap_or(0));
        if left.is_zero() {
            return Err(AuthError::Unauthorized("your certificate has expired; run tsh login".into()));
        }
        let ttl = self.leaf_cert_ttl().min(left);
        self.issue_bound(
            &caller.user,
            role_names,
            user.spec.traits.clone(),
            &checker,
            public_key,
            ttl,
            Some(cluster.to_string()),
        )
    }

    /// Stores a one-time invite for `user`, replacing none (invites expire on their own).
    pub async fn invite(&self, user: &str) -> Result<InviteResponse, AuthError> {
        let token = password::random_token().map_err(internal)?;
        let expires = time::OffsetDateTime::now_utc() + INVITE_TTL;
        let value = serde_json::to_vec(&Secret { user: user.to_string(), hash: String::new() }).map_err(internal)?;
        self.backend
            .put(&format!("/secrets/invites/{}", password::hash_token(&token)), value, Some(SystemTime::from(expires)))
            .await?;
        Ok(InviteResponse { user: user.to_string(), token, expires })
    }

    /// Removes a user's password and second factor (for `tctl users reset` and `rm`).
    pub async fn clear_password(&self, user: &str) -> Result<(), AuthError> {
        self.backend.delete(&format!("/secrets/passwords/{user}")).await?;
        self.backend.delete(&format!("/secrets/totp/{user}")).await?;
        Ok(())
    }

    /// Writes the local admin identity `tctl` uses on the auth host.
    pub async fn write_admin_identity(&self, path: &std::path::Path, proxy: &str) -> Result<(), AuthError> {
        let key = tether_shared::ssh_cert::generate_ed25519_key().map_err(internal)?;
        let public = key.public_key().to_openssh().map_err(internal)?;
        let roles = vec![ADMIN_ROLE.to_string()];
        let checker = AccessChecker::new(&[Self::admin_role()], &Traits::new());
        let issued = self.issue("@admin", roles, Traits::new(), &checker, &public, Duration::from_secs(365 * 86400))?;
        let creds = tether_client::credentials::Credentials {
            proxy: proxy.to_string(),
            ssh_proxy: String::new(),
            cluster: self.cluster.clone(),
            user: "@admin".into(),
            private_key: key.to_openssh(russh::keys::ssh_key::LineEnding::LF).map_err(internal)?.to_string(),
            ssh_cert: issued.ssh_cert,
            tls_cert: issued.tls_cert,
            tls_cas: issued.tls_cas,
            host_cas: issued.host_cas,
        };
        creds.save(path).map_err(internal)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reserved_roles_are_never_granted_from_a_user_record() {
        let roles = vec!["@admin".to_string(), "editor".into(), "@node".into(), "access".into()];
        assert_eq!(super::grantable_roles(&roles), ["editor", "access"]);
        assert!(super::is_reserved_role("@admin") && !super::is_reserved_role("admin"));
    }
}
