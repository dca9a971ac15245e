//! Certificates the auth service signs: a user's SSH and TLS pair after login or for `tctl
//! auth sign`, certificates bound to one leaf (`route_to_cluster`, after the leaf's
//! `cluster_labels` check), and the local admin identity `tctl` uses on the auth host.

use std::time::{Duration, SystemTime};
use tether_audit::{Event, Outcome};

use tether_shared::api::{LoginResponse, TrustedKey};
use tether_shared::identity::{Identity, Traits};
use tether_shared::rbac::AccessChecker;
use tether_shared::resource::{Kind, Resource};

use super::{ADMIN_ROLE, AuthError, AuthService, grantable_roles, internal, parse_ed25519};
use tether_storage::records;

/// What a user's certificates are to say: who, with which roles and traits, for which key, for
/// how long, and (for a root user going to a leaf) the one leaf they are bound to.
#[derive(Debug, Clone)]
pub struct CertRequest<'a> {
    /// The user's name (the SSH key ID, the TLS common name).
    pub user: &'a str,
    /// The roles the certificates carry.
    pub roles: Vec<String>,
    /// The user's traits, for role templates on the far side.
    pub traits: Traits,
    /// The client's Ed25519 public key, OpenSSH format.
    pub public_key: &'a str,
    /// How long they live at most (never beyond the roles' `max_session_ttl`).
    pub ttl: Duration,
    /// The leaf cluster they are bound to (`route_to_cluster`), if any.
    pub leaf: Option<String>,
}

impl AuthService {
    /// Signs an SSH user certificate and a TLS client certificate for `req.public_key`, with the
    /// logins and permissions `checker` (the user's roles) grants.
    pub fn issue(&self, req: CertRequest<'_>, checker: &AccessChecker) -> Result<LoginResponse, AuthError> {
        let CertRequest { user, roles, traits, public_key, ttl, leaf } = req;
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
        let ssh = self
            .user_ca
            .issue_user_cert(&key, &identity, serial)
            .map_err(internal("signing the user's SSH certificate"))?;
        let tls =
            self.tls_ca.issue_client_cert(&ed25519, &identity).map_err(internal("signing a TLS client certificate"))?;
        Ok(LoginResponse {
            ssh_cert: tether_shared::ssh_cert::cert_to_openssh(&ssh)
                .map_err(internal("encoding an SSH certificate"))?,
            tls_cert: tls.cert_pem,
            cluster_name: self.cluster.clone(),
            host_cas: vec![TrustedKey {
                cluster: self.cluster.clone(),
                public_key: self.host_ca.public_key_openssh().map_err(internal("encoding the host CA's public key"))?,
            }],
            tls_cas: vec![self.tls_ca.cert_pem()],
            identity,
            totp_enrollment: None,
        })
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
    /// (`cluster_labels`). They live `auth_service.leaf_cert_ttl` ([`super::LEAF_CERT_TTL`]) at most and never beyond the caller's own
    /// certificate, so a label change reaches even direct paths to the leaf within that time.
    pub async fn issue_leaf_cert(
        &self,
        caller: &Identity,
        cluster: &str,
        public_key: &str,
    ) -> Result<LoginResponse, AuthError> {
        let result = self.issue_leaf_cert_inner(caller, cluster, public_key).await;
        let error = result.as_ref().err().map(ToString::to_string);
        self.audit.emit(
            Event::CertLeaf,
            Outcome::of(result.is_ok()),
            &caller.user,
            serde_json::json!({"leaf_cluster": cluster, "error": error}),
        );
        result
    }

    async fn issue_leaf_cert_inner(
        &self,
        caller: &Identity,
        cluster: &str,
        public_key: &str,
    ) -> Result<LoginResponse, AuthError> {
        // A trusted cluster's user must not be mistaken for a local user of the same name.
        if caller.cluster != self.cluster {
            return Err(AuthError::Forbidden(format!(
                "only users of {} get certificates for its leaves",
                self.cluster
            )));
        }
        if caller.route_to_cluster.is_some() {
            return Err(AuthError::Forbidden(
                "a leaf-bound certificate cannot ask for another; use your root certificate".into(),
            ));
        }
        let rc = self.remote_clusters().await?.into_iter().find(|rc| rc.metadata.name == cluster);
        let Some(rc) = rc else {
            return Err(AuthError::NotFound(format!("cluster {cluster:?} is not a leaf of {}", self.cluster)));
        };
        let Some(Resource::User(user)) = records::get(&self.backend, &records::key(Kind::User, &caller.user)).await?
        else {
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
        let req = CertRequest {
            user: &caller.user,
            roles: role_names,
            traits: user.spec.traits.clone(),
            public_key,
            ttl,
            leaf: Some(cluster.to_string()),
        };
        self.issue(req, &checker)
    }

    /// Writes the local admin identity `tctl` uses on the auth host.
    pub async fn write_admin_identity(&self, path: &std::path::Path, proxy: &str) -> Result<(), AuthError> {
        let key = tether_shared::ssh_cert::generate_ed25519_key().map_err(internal("generating a key"))?;
        let public = key.public_key().to_openssh().map_err(internal("encoding a public key"))?;
        let roles = vec![ADMIN_ROLE.to_string()];
        let checker = AccessChecker::new(&[Self::admin_role()], &Traits::new());
        let req = CertRequest {
            user: "@admin",
            roles,
            traits: Traits::new(),
            public_key: &public,
            ttl: Duration::from_secs(365 * 86400),
            leaf: None,
        };
        let issued = self.issue(req, &checker)?;
        let creds = tether_client::credentials::Credentials {
            proxy: proxy.to_string(),
            ssh_proxy: String::new(),
            cluster: self.cluster.clone(),
            user: "@admin".into(),
            private_key: key
                .to_openssh(russh::keys::ssh_key::LineEnding::LF)
                .map_err(internal("encoding a private key"))?
                .to_string(),
            ssh_cert: issued.ssh_cert,
            tls_cert: issued.tls_cert,
            tls_cas: issued.tls_cas,
            host_cas: issued.host_cas,
        };
        creds.save(path).map_err(internal("writing the credentials"))
    }
}
