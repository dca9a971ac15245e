//! The auth service: the cluster's certificate authorities, users, passwords, join tokens and
//! RBAC, over a storage [`Backend`].
//!
//! On first start [`AuthService::init`] generates the SSH user CA, SSH host CA and TLS CA (Ed25519),
//! stores their private keys under `/secrets/ca/` and their public parts as `cert_authority`
//! resources, and creates the preset roles. Every API call is checked against the caller's roles
//! ([`AuthService::checker`]); the built-in `@admin` identity that local `tctl` uses may do everything.
//!
//! Layout: this file holds the service, its errors and RBAC; `certs.rs` signs certificates,
//! `login.rs` checks passwords, invites and second factors, `lockout.rs` counts login attempts
//! in storage for every host, `resources.rs` holds the API's resource rules, `tokens.rs` join
//! tokens, `nodes.rs` node joins and heartbeats, `trust.rs` trust between clusters with its
//! typed refusals in `refusal.rs`, `password.rs` argon2 and random tokens.

pub mod certs;
pub mod lockout;
pub mod login;
pub mod nodes;
pub mod password;
pub mod refusal;
pub mod resources;
pub mod tokens;
pub mod trust;
pub mod tunnel_status;

use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tether_audit::{Event, Outcome};

use tether_shared::identity::Identity;
use tether_shared::rbac::AccessChecker;
use tether_shared::resource::{
    CaKeys, CaType, CertAuthority, CertAuthoritySpec, Kind, Resource, Role, RoleConditions, RoleSpec, Rule, presets,
};
use tether_shared::ssh_cert::SshCa;
use tether_shared::tls_cert::TlsCa;

use tether_audit::Audit;
use tether_storage::{Backend, StorageError, records};

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
    /// 500: something on the server failed: what was being done, and (when another error stopped
    /// it) that error, kept as the source so that a log shows the whole chain.
    #[error("internal error: {context}")]
    Internal {
        /// What failed, in words a client may read.
        context: String,
        /// The error that stopped it.
        #[source]
        source: Option<BoxError>,
    },
}

/// Any error kept as the source of another.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

impl AuthError {
    /// A server-side failure with no underlying error (a damaged record, a missing CA).
    pub fn fault(context: impl Into<String>) -> Self {
        AuthError::Internal { context: context.into(), source: None }
    }

    /// The error and its sources, `: `-joined: what a log line shows.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut next = std::error::Error::source(self);
        while let Some(source) = next {
            text.push_str(": ");
            text.push_str(&source.to_string());
            next = source.source();
        }
        text
    }
}

/// Wraps an error from another layer as an internal error saying what was being done:
/// `.map_err(internal("signing a host certificate"))`.
pub(crate) fn internal<E: Into<BoxError>>(context: &'static str) -> impl FnOnce(E) -> AuthError {
    move |source| AuthError::Internal { context: context.into(), source: Some(source.into()) }
}

impl From<StorageError> for AuthError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound(k) => AuthError::NotFound(format!("{k} not found")),
            StorageError::AlreadyExists(k) => AuthError::Conflict(format!("{k} already exists")),
            other => internal("the storage backend failed")(other),
        }
    }
}

/// The auth service of one cluster.
pub struct AuthService {
    backend: Arc<dyn Backend>,
    cluster: String,
    user_ca: SshCa,
    host_ca: SshCa,
    tls_ca: TlsCa,
    audit: Arc<Audit>,
    require_otp: bool,
    /// Outbound calls to a root skip HTTPS verification (`tether start --insecure`).
    insecure: std::sync::atomic::AtomicBool,
    /// `auth_service.leaf_cert_ttl`, in seconds.
    leaf_cert_ttl_secs: std::sync::atomic::AtomicU64,
}

async fn load_or_create_secret(
    backend: &Arc<dyn Backend>,
    key: &str,
    make: impl FnOnce() -> Result<String, AuthError>,
) -> Result<String, AuthError> {
    if let Some(item) = backend.get(key).await? {
        return String::from_utf8(item.value).map_err(internal("reading a stored CA key"));
    }
    let value = make()?;
    match backend.create(key, value.clone().into_bytes(), None).await {
        Ok(_) => Ok(value),
        // Another auth server won the race: use its key.
        Err(StorageError::AlreadyExists(_)) => {
            let item = backend.get(key).await?.ok_or_else(|| AuthError::fault(format!("{key} vanished")))?;
            String::from_utf8(item.value).map_err(internal("reading a stored CA key"))
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

impl AuthService {
    /// Loads the cluster's CAs (generating them on first start) and makes sure the preset roles
    /// and public CA resources exist.
    pub async fn init(
        backend: Arc<dyn Backend>,
        cluster: &str,
        audit: Arc<Audit>,
        require_otp: bool,
    ) -> Result<Arc<Self>, AuthError> {
        let user_pem = load_or_create_secret(&backend, "/secrets/ca/user", || {
            SshCa::generate()
                .and_then(|ca| ca.to_openssh())
                .map(|p| p.to_string())
                .map_err(internal("generating an SSH CA"))
        })
        .await?;
        let host_pem = load_or_create_secret(&backend, "/secrets/ca/host", || {
            SshCa::generate()
                .and_then(|ca| ca.to_openssh())
                .map(|p| p.to_string())
                .map_err(internal("generating an SSH CA"))
        })
        .await?;
        let tls_pair = load_or_create_secret(&backend, "/secrets/ca/tls", || {
            let ca = TlsCa::generate(cluster).map_err(internal("generating the TLS CA"))?;
            Ok(format!("{}\n{}", ca.cert_pem(), ca.key_pem().as_str()))
        })
        .await?;
        let split =
            tls_pair.find("-----BEGIN PRIVATE KEY-----").ok_or_else(|| AuthError::fault("stored TLS CA is damaged"))?;
        let tls_ca =
            TlsCa::from_pem(&tls_pair[..split], &tls_pair[split..]).map_err(internal("loading the stored TLS CA"))?;
        let auth = AuthService {
            user_ca: SshCa::from_openssh(&user_pem).map_err(internal("loading a stored SSH CA"))?,
            host_ca: SshCa::from_openssh(&host_pem).map_err(internal("loading a stored SSH CA"))?,
            tls_ca,
            backend,
            cluster: cluster.to_string(),
            audit,
            require_otp,
            insecure: std::sync::atomic::AtomicBool::new(false),
            leaf_cert_ttl_secs: std::sync::atomic::AtomicU64::new(LEAF_CERT_TTL.as_secs()),
        };
        for (ca_type, keys) in [
            (
                CaType::User,
                CaKeys {
                    ssh: vec![
                        auth.user_ca.public_key_openssh().map_err(internal("encoding the user CA's public key"))?,
                    ],
                    tls: vec![],
                },
            ),
            (
                CaType::Host,
                CaKeys {
                    ssh: vec![
                        auth.host_ca.public_key_openssh().map_err(internal("encoding the host CA's public key"))?,
                    ],
                    tls: vec![],
                },
            ),
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
            records::upsert(&auth.backend, &Resource::CertAuthority(ca)).await?;
        }
        for role in presets::all() {
            match records::create(&auth.backend, &Resource::Role(role)).await {
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
        self.host_ca.issue_host_cert(key, &host, serial).map_err(internal("signing a host certificate"))
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
            } else if let Some(Resource::Role(role)) =
                records::get(&self.backend, &records::key(Kind::Role, name)).await?
            {
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
                Event::AccessDenied,
                Outcome::Failure,
                &identity.user,
                serde_json::json!({"resource": kind, "verb": verb, "reason": decision.reason}),
            );
            return Err(AuthError::Forbidden(decision.reason));
        }
        Ok(checker)
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
