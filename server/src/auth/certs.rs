//! Certificates the auth service signs: a user's SSH and TLS pair after login or for `tctl
//! auth sign`, certificates bound to one leaf (`route_to_cluster`, after the leaf's
//! `cluster_labels` check), and the local admin identity `tctl` uses on the auth host.

use std::time::{Duration, SystemTime};

use tether_shared::api::{LoginResponse, TrustedKey};
use tether_shared::identity::{Identity, Traits};
use tether_shared::rbac::AccessChecker;
use tether_shared::resource::{Kind, Resource};

use super::{ADMIN_ROLE, AuthError, AuthService, grantable_roles, internal, parse_ed25519};
use crate::storage::records;

impl AuthService {
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

    /// [`AuthService::issue`], the certificates bound to one leaf cluster when `leaf` is given.
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
