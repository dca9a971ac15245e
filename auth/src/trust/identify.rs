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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use rustls_pki_types::pem::PemObject;
    use tether_shared::api::LoginResponse;
    use tether_shared::identity::Traits;
    use tether_shared::rbac::AccessChecker;
    use tether_shared::resource::{CaType, Resource};
    use tether_shared::rolemap::RoleMapRule;
    use tether_shared::ssh_cert::generate_ed25519_key;
    use tether_storage::records;

    use super::super::super::AuthService;
    use super::super::super::certs::CertRequest;
    use super::super::super::refusal::{ClientRefusal, TrustRefusal};
    use super::super::super::testing::cluster;
    use super::super::tests::{LEAF, unreachable_trust};

    const ROOT: &str = "root.example.com";

    /// A root, and a leaf that trusts it mapping `access` to `visitor`.
    async fn pair(dir: &tempfile::TempDir) -> (Arc<AuthService>, Arc<AuthService>) {
        let root = cluster(dir, ROOT).await;
        let leaf = cluster(dir, LEAF).await;
        let map = vec![RoleMapRule { remote: "access".into(), local: vec!["visitor".into()] }];
        for mut ca in root.trust().own_cas().unwrap() {
            if ca.spec.ca_type == CaType::User {
                ca.spec.role_map = map.clone();
            }
            records::upsert(leaf.backend(), &Resource::CertAuthority(ca)).await.unwrap();
        }
        records::upsert(leaf.backend(), &Resource::TrustedCluster(unreachable_trust(ROOT, map))).await.unwrap();
        (root, leaf)
    }

    /// Certificates from `auth` for alice with `roles`, bound to `leaf` when given.
    fn issue(auth: &AuthService, roles: &[&str], leaf: Option<&str>) -> LoginResponse {
        let public = generate_ed25519_key().unwrap().public_key().to_openssh().unwrap();
        let req = CertRequest {
            user: "alice",
            roles: roles.iter().map(|r| r.to_string()).collect(),
            traits: Traits::new(),
            public_key: &public,
            ttl: Duration::from_secs(600),
            leaf: leaf.map(str::to_string),
        };
        auth.authority().issue(req, &AccessChecker::new(&[], &Traits::new())).unwrap()
    }

    fn der(issued: &LoginResponse) -> Vec<u8> {
        rustls_pki_types::CertificateDer::from_pem_slice(issued.tls_cert.as_bytes()).unwrap().to_vec()
    }

    fn ssh(issued: &LoginResponse) -> russh::keys::Certificate {
        russh::keys::Certificate::from_openssh(&issued.ssh_cert).unwrap()
    }

    async fn mappings(auth: &AuthService) -> Vec<(bool, serde_json::Value)> {
        let events = auth.audit().read(None, 100).await.unwrap();
        events
            .into_iter()
            .filter(|e| e.get("event").and_then(|v| v.as_str()) == Some("role.mapping"))
            .map(|e| (e.get("success") == Some(&true.into()), e.get("local_roles").cloned().unwrap_or_default()))
            .collect()
    }

    #[tokio::test]
    async fn a_roots_user_bound_here_gets_the_mapped_roles() {
        let dir = tempfile::tempdir().unwrap();
        let (root, leaf) = pair(&dir).await;
        let bound = issue(&root, &["access"], Some(LEAF));
        let (id, remote) = leaf.trust().identify_tls_client(&der(&bound)).await.unwrap();
        assert_eq!((id.user.as_str(), id.cluster.as_str()), ("alice", ROOT));
        assert_eq!(id.roles, ["visitor"]);
        assert_eq!(remote, Some(vec!["access".to_string()]));
        let ssh_id = leaf.trust().identify_remote_ssh_user(&ssh(&bound)).await.unwrap();
        assert_eq!(ssh_id.roles, ["visitor"]);
        assert_eq!(mappings(&leaf).await, [(true, serde_json::json!(["visitor"]))]);
        // The leaf's own users are its own, with no remote roles.
        let own = issue(&leaf, &["access"], None);
        let (id, remote) = leaf.trust().identify_tls_client(&der(&own)).await.unwrap();
        assert_eq!((id.cluster.as_str(), remote), (LEAF, None));
        let e = leaf.trust().identify_remote_ssh_user(&ssh(&own)).await.unwrap_err();
        assert!(matches!(&e, TrustRefusal::NotTrusted(c) if c == LEAF), "{e}");
    }

    #[tokio::test]
    async fn certificates_not_bound_here_or_unmapped_are_refused_and_audited() {
        let dir = tempfile::tempdir().unwrap();
        let (root, leaf) = pair(&dir).await;
        for (issued, why) in [
            (issue(&root, &["access"], None), "not issued for cluster"),
            (issue(&root, &["access"], Some("other.example.com")), "issued for cluster other.example.com"),
            (issue(&root, &["guest"], Some(LEAF)), "no role_map rule matches the remote roles [guest]"),
        ] {
            match leaf.trust().identify_tls_client(&der(&issued)).await {
                Err(ClientRefusal::Remote { user, cluster, refusal }) => {
                    assert_eq!((user.as_str(), cluster.as_str()), ("alice", ROOT));
                    assert!(refusal.chain_verified && refusal.to_string().contains(why), "{refusal}");
                }
                other => panic!("{other:?}"),
            }
            let e = leaf.trust().identify_remote_ssh_user(&ssh(&issued)).await.unwrap_err();
            assert!(e.to_string().contains(why), "{e}");
        }
        let audited = mappings(&leaf).await;
        assert_eq!(audited.len(), 3);
        assert!(audited.iter().all(|(success, _)| !success));
    }

    #[tokio::test]
    async fn strangers_and_forgeries_are_refused_without_filling_the_audit_log() {
        let dir = tempfile::tempdir().unwrap();
        let (root, leaf) = pair(&dir).await;
        let stranger = cluster(&dir, "stranger.example.com").await;
        let forged = issue(&stranger, &["access"], Some(LEAF));
        match leaf.trust().identify_tls_client(&der(&forged)).await {
            Err(ClientRefusal::Remote { refusal, .. }) => {
                assert!(!refusal.chain_verified);
                assert!(matches!(refusal.reason, TrustRefusal::NotTrusted(ref c) if c == "stranger.example.com"));
            }
            other => panic!("{other:?}"),
        }
        // A certificate naming the leaf itself, from another CA: the leaf's own refusal.
        let imposter = cluster(&tempfile::tempdir().unwrap(), LEAF).await;
        let e = leaf.trust().identify_tls_client(&der(&issue(&imposter, &["access"], None))).await.unwrap_err();
        assert!(matches!(e, ClientRefusal::Local(_)), "{e}");
        assert!(e.to_string().ends_with("log in again with tsh login"), "{e}");
        let e = leaf.trust().identify_tls_client(b"not a certificate").await.unwrap_err();
        assert!(matches!(e, ClientRefusal::Unreadable(_)), "{e}");
        // The root's CA, but not trusted any more: a disabled trust.
        let mut tc = leaf.trust().trusted_clusters().await.unwrap().remove(0);
        tc.spec.enabled = false;
        leaf.trust().upsert_trusted_cluster(tc, true).await.unwrap();
        let bound = issue(&root, &["access"], Some(LEAF));
        let e = leaf.trust().identify_tls_client(&der(&bound)).await.unwrap_err();
        assert!(e.to_string().contains("is not trusted here, or the trust is disabled"), "{e}");
        let e = leaf.trust().identify_remote_ssh_user(&ssh(&bound)).await.unwrap_err();
        assert!(matches!(&e, TrustRefusal::NotTrusted(c) if c == ROOT), "{e}");
        assert!(mappings(&leaf).await.is_empty());
    }
}
