//! The auth service: the cluster's certificate authorities, users, passwords, join tokens,
//! RBAC and trust with other clusters, over a storage backend.
//!
//! [`AuthService`] is a handle on a few parts, each a type with a narrow API and a file of its
//! own, built once by [`AuthService::init`]:
//!
//! - [`Core`] (`base.rs`): storage, the audit log, the cluster's name, and RBAC (the roles of an
//!   identity, [`Core::authorize`]). Every other part holds it.
//! - [`Authority`] (`certs.rs`): the SSH user, SSH host and TLS CAs (generated on first start,
//!   private keys sealed together in `/secrets/ca/sealed` under a key-encryption key,
//!   `keys.rs` and `sealed.rs`; public parts as `cert_authority` resources), every certificate
//!   they sign, and their rotation (`rotation.rs`).
//! - [`Tokens`] (`tokens.rs`): join tokens, stored hashed.
//! - [`Logins`] (`login.rs`, with `lockout.rs` and `password.rs`): passwords, invites, second
//!   factors, and login attempts counted in storage for every host.
//! - [`Trust`] (`trust.rs`, refusals in `refusal.rs`): trusted and remote clusters, their CAs,
//!   certificates bound to a leaf, and identifying a trusted cluster's users.
//! - [`Nodes`] (`nodes.rs`): node joins, heartbeats and the trust state nodes poll.
//! - [`Resources`] (`resources.rs`): the API's rules for `tctl` and `tsh`: every call checked
//!   against the caller's roles; the built-in `@admin` identity of the local `tctl` may do
//!   everything.
//!
//! `tunnel_status.rs` holds what root proxies record about their tunnels in storage, read here
//! for `remote_cluster` status. The parts depend on each other one way: core ← tokens, authority
//! ← logins, trust ← nodes ← resources.

pub mod base;
pub mod certs;
pub mod keys;
pub mod lockout;
pub mod login;
pub mod nodes;
pub mod password;
pub mod pkcs11;
pub mod refusal;
pub mod resources;
pub mod rotation;
pub mod sealed;
pub mod sessions;
pub mod tokens;
pub mod trust;
pub mod tunnel_status;

pub use base::Core;
pub use certs::Authority;
pub use login::Logins;
pub use nodes::Nodes;
pub use resources::Resources;
pub use tokens::Tokens;
pub use trust::Trust;

use std::sync::Arc;
use std::time::Duration;

use tether_audit::Audit;
use tether_shared::resource::{Resource, presets};
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

// The host ID in the certificates of a cluster's proxies (relay and tunnel agents).
pub use tether_shared::names::proxy_host_id;

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
    /// 405: the route exists, not with this method.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 409.
    #[error("{0}")]
    Conflict(String),
    /// 413.
    #[error("{0}")]
    TooLarge(String),
    /// 429: a limit refused the request; `retry_after` says when trying again may succeed (the
    /// web API sends it as `Retry-After`).
    #[error("{message}")]
    RateLimited {
        /// Why, in words the caller reads.
        message: String,
        /// When a retry may succeed.
        retry_after: Duration,
    },
    /// The CA keys in storage could not be opened or sealed (a missing or wrong key-encryption
    /// key): the auth service does not start.
    #[error(transparent)]
    Sealed(#[from] sealed::SealError),
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

/// The auth service of one cluster: a handle on its parts.
pub struct AuthService {
    core: Arc<Core>,
    authority: Arc<Authority>,
    tokens: Arc<Tokens>,
    logins: Arc<Logins>,
    trust: Arc<Trust>,
    nodes: Arc<Nodes>,
    resources: Resources,
    web_sessions: sessions::WebSessions,
}

impl AuthService {
    /// Loads the cluster's CAs (generating them on first start), makes sure the preset roles and
    /// public CA resources exist, and builds the parts.
    pub async fn init(
        backend: Arc<dyn Backend>,
        cluster: &str,
        audit: Arc<Audit>,
        require_otp: bool,
        kek: &sealed::KekSource,
    ) -> Result<Arc<Self>, AuthError> {
        Self::init_with_hsm(backend, cluster, audit, require_otp, kek, None).await
    }

    /// [`AuthService::init`] with new CA keys made and used in `hsm` (`pkcs11.rs`).
    pub async fn init_with_hsm(
        backend: Arc<dyn Backend>,
        cluster: &str,
        audit: Arc<Audit>,
        require_otp: bool,
        kek: &sealed::KekSource,
        hsm: Option<Arc<pkcs11::Hsm>>,
    ) -> Result<Arc<Self>, AuthError> {
        let core = Arc::new(Core::new(backend, cluster, audit));
        let authority = Arc::new(Authority::load(core.clone(), kek, hsm).await?);
        for role in presets::all() {
            match records::create(&core.backend, &Resource::Role(role)).await {
                Ok(_) | Err(StorageError::AlreadyExists(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let tokens = Arc::new(Tokens::new(core.clone()));
        let logins = Arc::new(Logins::new(core.clone(), authority.clone(), require_otp));
        let trust = Arc::new(Trust::new(core.clone(), authority.clone(), tokens.clone()));
        let nodes = Arc::new(Nodes::new(core.clone(), authority.clone(), tokens.clone(), trust.clone()));
        let resources = Resources::new(core.clone(), authority.clone(), tokens.clone(), logins.clone(), trust.clone());
        let web_sessions = sessions::WebSessions::new(core.clone(), logins.clone());
        Ok(Arc::new(AuthService { core, authority, tokens, logins, trust, nodes, resources, web_sessions }))
    }

    /// Storage, the audit log, the cluster's name and RBAC.
    pub fn core(&self) -> &Core {
        &self.core
    }

    /// The cluster's CAs and the certificates they sign.
    pub fn authority(&self) -> &Arc<Authority> {
        &self.authority
    }

    /// Join tokens.
    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    /// Passwords, invites, second factors and lockouts.
    pub fn logins(&self) -> &Logins {
        &self.logins
    }

    /// Trusted and remote clusters.
    pub fn trust(&self) -> &Trust {
        &self.trust
    }

    /// Node joins, heartbeats and trust state.
    pub fn nodes(&self) -> &Nodes {
        &self.nodes
    }

    /// The API's resource rules.
    pub fn resources(&self) -> &Resources {
        &self.resources
    }

    /// The web UI's browser sessions.
    pub fn web_sessions(&self) -> &sessions::WebSessions {
        &self.web_sessions
    }

    /// The cluster's name.
    pub fn cluster_name(&self) -> &str {
        self.core.cluster_name()
    }

    /// The storage backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        self.core.backend()
    }

    /// The audit log.
    pub fn audit(&self) -> &Audit {
        self.core.audit()
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

/// What the crate's unit tests share.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::Arc;

    use tether_audit::Audit;
    use tether_storage::sqlite::SqliteBackend;

    use super::AuthService;

    /// A cluster's auth service on its own SQLite file and audit log in `dir`.
    pub async fn cluster(dir: &tempfile::TempDir, name: &str) -> Arc<AuthService> {
        cluster_with(dir, name, false).await
    }

    /// [`cluster`], asking every login for a one-time code when `require_otp`.
    pub async fn cluster_with(dir: &tempfile::TempDir, name: &str, require_otp: bool) -> Arc<AuthService> {
        let backend = SqliteBackend::open(dir.path().join(format!("{name}.db"))).await.unwrap();
        let audit = Arc::new(Audit::open(&dir.path().join(format!("{name}-log")), name).unwrap());
        let kek = crate::sealed::KekSource::Fixed([7; 32]);
        AuthService::init(backend, name, audit, require_otp, &kek).await.unwrap()
    }
}
