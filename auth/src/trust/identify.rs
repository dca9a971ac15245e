//! Who a trusted cluster's user is here: a TLS client certificate or an SSH certificate
//! verified against the trusted cluster's active CAs, with roles through the role map.

use tether_audit::{Event, Outcome};

use tether_shared::identity::Identity;
use tether_shared::resource::CaType;
use tether_shared::rolemap::RoleMap;

use super::super::refusal::{ClientRefusal, RemoteRefusal, TrustRefusal};

use super::{RemoteUser, Trust};

impl Trust {
    /// Identifies a TLS client certificate: one of this cluster's, or a user of a trusted
    /// cluster whose TLS CA is active here (with roles through the role map, and the original
    /// roles beside). When it verifies against neither, the reason, for the caller to see.
    pub async fn identify_tls_client(&self, der: &[u8]) -> Result<(Identity, Option<Vec<String>>), ClientRefusal> {
        let now = std::time::SystemTime::now();
        let local = tether_shared::tls_cert::verify_client_cert(der, &self.authority.tls_cas_der(), now);
        let err = match local {
            Ok(id) => return Ok((id, None)),
            Err(e) => e,
        };
        let claimed = tether_shared::tls_cert::identity_from_client_cert(der).map_err(ClientRefusal::Unreadable)?;
        if claimed.cluster == self.core.cluster {
            tracing::debug!("web: client certificate refused: {err}");
            return Err(ClientRefusal::Local(err));
        }
        let result = self.remote_user(der, &claimed.cluster).await;
        // Every API connection of a trusted cluster's verified user records its role mapping
        // (a certificate whose chain does not verify is only logged, so strangers cannot fill
        // the audit log).
        let decided = match &result {
            Ok(user) => Some((Outcome::Success, user.identity.roles.clone(), None)),
            Err(refused) if refused.chain_verified => Some((Outcome::Failure, Vec::new(), Some(refused.to_string()))),
            Err(_) => None,
        };
        if let Some((outcome, local, error)) = decided {
            self.core.audit.emit(
                Event::RoleMapping,
                outcome,
                &claimed.user,
                serde_json::json!({
                    "service": "api",
                    "user_cluster": claimed.cluster,
                    "remote_roles": claimed.roles,
                    "local_roles": local,
                    "error": error,
                }),
            );
        }
        match result {
            Ok(user) => Ok((user.identity, Some(user.remote_roles))),
            Err(refusal) => {
                tracing::info!(cluster = %claimed.cluster, user = %claimed.user, "web: remote client certificate refused: {refusal}");
                Err(ClientRefusal::Remote { user: claimed.user, cluster: claimed.cluster, refusal })
            }
        }
    }

    /// A root's user presenting an SSH certificate to this cluster's proxy: verified against the
    /// root's active user CA, bound to this cluster (see `Identity::route_to_cluster`), with the
    /// roles mapped through the trust's role map. `Err` says why not.
    pub async fn identify_remote_ssh_user(&self, cert: &russh::keys::Certificate) -> Result<Identity, TrustRefusal> {
        let claimed = tether_shared::ssh_cert::inspect_user_cert(cert)?;
        let cluster = claimed.cluster.clone();
        if cluster == self.core.cluster {
            return Err(TrustRefusal::NotTrusted(cluster));
        }
        let Some(user_ca) = self.active_root_user_ca(&cluster).await else {
            return Err(TrustRefusal::NotTrusted(cluster));
        };
        let keys: Vec<russh::keys::PublicKey> =
            user_ca.spec.trusted().ssh.iter().filter_map(|k| russh::keys::PublicKey::from_openssh(k).ok()).collect();
        let mut identity = tether_shared::ssh_cert::verify_user_cert(cert, &keys, None, std::time::SystemTime::now())?;
        if let Some(why) = identity.unbound_for(&self.core.cluster) {
            return Err(TrustRefusal::NotBound(why));
        }
        let map = RoleMap::compile(&user_ca.spec.role_map)?;
        let mapped = map.map(&identity.roles)?;
        identity.roles = super::super::grantable_roles(&mapped);
        Ok(identity)
    }

    /// A trusted cluster's user, or why not and whether the chain had verified.
    async fn remote_user(&self, der: &[u8], cluster: &str) -> Result<RemoteUser, RemoteRefusal> {
        let user = self.verified_remote_identity(der, cluster).await.map_err(RemoteRefusal::unverified)?;
        // Only certificates the root bound to this cluster (after its cluster_labels check).
        if let Some(why) = user.unbound_for(&self.core.cluster) {
            return Err(RemoteRefusal::verified(TrustRefusal::NotBound(why)));
        }
        let user_ca = self.ca_of(cluster, CaType::User).await.map_err(RemoteRefusal::verified)?;
        let rules = user_ca.map(|ca| ca.spec.role_map).unwrap_or_default();
        let map = RoleMap::compile(&rules).map_err(RemoteRefusal::verified)?;
        let mapped = map.map(&user.roles).map_err(RemoteRefusal::verified)?;
        let remote_roles = user.roles.clone();
        let mut identity = user;
        identity.roles = super::super::grantable_roles(&mapped);
        Ok(RemoteUser { identity, remote_roles })
    }

    /// Verifies a trusted cluster user's certificate chain against that cluster's active TLS CA.
    async fn verified_remote_identity(&self, der: &[u8], cluster: &str) -> Result<Identity, TrustRefusal> {
        // Only a cluster this one trusts (a root): a root also stores its leaves' CAs, but its
        // leaves' users get nothing here.
        if !self.trust_active(cluster).await {
            return Err(TrustRefusal::NotTrusted(cluster.to_string()));
        }
        let Some(tls) = self.ca_of(cluster, CaType::Tls).await? else {
            return Err(TrustRefusal::NotTrusted(cluster.to_string()));
        };
        let trusted = tls.spec.trusted();
        if trusted.tls.is_empty() {
            return Err(TrustRefusal::Disabled(cluster.to_string()));
        }
        let mut roots = Vec::new();
        for pem in &trusted.tls {
            use rustls_pki_types::pem::PemObject;
            let root = rustls_pki_types::CertificateDer::from_pem_slice(pem.as_bytes())
                .map_err(|e| TrustRefusal::StoredCa { cluster: cluster.to_string(), cause: e.to_string() })?;
            roots.push(root);
        }
        Ok(tether_shared::tls_cert::verify_client_cert(der, &roots, std::time::SystemTime::now())?)
    }
}
