//! The root's side of trust: validating a leaf (`POST /webapi/trustedclusters/validate`), its
//! `remote_cluster` and CAs, the tunnel certificates of its proxies, and certificates bound to it.

use tether_audit::{Event, Outcome};

use tether_shared::api::{ValidateTrustedClusterRequest, ValidateTrustedClusterResponse};
use tether_shared::identity::Identity;
use tether_shared::resource::{
    CaKeys, CaType, CertAuthority, Kind, RemoteCluster, RemoteClusterSpec, RemoteClusterStatus, Resource,
};

use super::super::refusal::TrustRefusal;
use std::time::Duration;

use tether_shared::api::LoginResponse;
use tether_shared::rbac::AccessChecker;

use super::super::certs::CertRequest;
use super::super::{AuthError, grantable_roles, internal};
use tether_storage::StorageError;
use tether_storage::records;

use super::{CA_TYPES, Trust};

impl Trust {
    /// Certificates for `caller` (a user of this cluster, as their client certificate says) bound
    /// to the leaf `cluster`, issued only when the user's *current* roles allow the leaf's labels
    /// (`cluster_labels`), and only for `public_key` equal to `holder_key`, the key of the client
    /// certificate the caller proved to hold. They live `auth_service.leaf_cert_ttl`
    /// ([`super::super::LEAF_CERT_TTL`]) at most and never beyond the caller's own certificate,
    /// so a label change reaches even direct paths to the leaf within that time.
    pub async fn issue_leaf_cert(
        &self,
        caller: &Identity,
        holder_key: &[u8; 32],
        cluster: &str,
        public_key: &str,
    ) -> Result<LoginResponse, AuthError> {
        let result: Result<LoginResponse, AuthError> = async {
            // A trusted cluster's user must not be mistaken for a local user of the same name.
            if caller.cluster != self.core.cluster {
                return Err(AuthError::Forbidden(format!(
                    "only users of {} get certificates for its leaves",
                    self.core.cluster
                )));
            }
            if caller.route_to_cluster.is_some() {
                return Err(AuthError::Forbidden(
                    "a leaf-bound certificate cannot ask for another; use your root certificate".into(),
                ));
            }
            // Only the key the caller proved to hold: a stolen copy of someone's public key must not
            // become a certificate in their name.
            let (_, asked) = super::super::parse_ed25519(public_key)?;
            if asked.as_ref() != holder_key {
                return Err(AuthError::Forbidden(
                    "public_key is not the key of your certificate: a leaf certificate is issued only for the key \
                     you logged in with"
                        .into(),
                ));
            }
            let rc = self.remote_clusters().await?.into_iter().find(|rc| rc.metadata.name == cluster);
            let Some(rc) = rc else {
                return Err(AuthError::NotFound(format!("cluster {cluster:?} is not a leaf of {}", self.core.cluster)));
            };
            let Some(Resource::User(user)) =
                records::get(&self.core.backend, &records::key(Kind::User, &caller.user)).await?
            else {
                return Err(AuthError::Forbidden(format!("user {:?} no longer exists", caller.user)));
            };
            let role_names = grantable_roles(&user.spec.roles);
            let roles = self.core.roles(&role_names).await?;
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
            let ttl = self.authority.leaf_cert_ttl().min(left);
            let req = CertRequest {
                user: &caller.user,
                roles: role_names,
                traits: user.spec.traits.clone(),
                public_key,
                ttl,
                leaf: Some(cluster.to_string()),
            };
            self.authority.issue(req, &checker)
        }
        .await;
        let error = result.as_ref().err().map(ToString::to_string);
        self.core.audit.emit(
            Event::CertLeaf,
            Outcome::of(result.is_ok()),
            &caller.user,
            serde_json::json!({"leaf_cluster": cluster, "error": error}),
        );
        result
    }

    /// Validates a leaf's request for trust: the token, the name, the CAs. Stores the leaf's
    /// CAs and its `remote_cluster` and answers with this cluster's public CAs.
    pub async fn validate_trusted_cluster(
        &self,
        req: &ValidateTrustedClusterRequest,
        source: &str,
    ) -> Result<ValidateTrustedClusterResponse, AuthError> {
        let result = self.validate_inner(req).await;
        let error = result.as_ref().err().map(ToString::to_string);
        // The root's operator sees refusals in the log too, not only in the audit log.
        if let Some(error) = &error {
            tracing::warn!(leaf = %req.leaf_cluster, addr = %source, "refused the trust of leaf {:?} from {source}: {error}", req.leaf_cluster);
        }
        self.core.audit.emit(
            Event::TrustedClusterValidate,
            Outcome::of(result.is_ok()),
            &format!("@cluster:{}", req.leaf_cluster),
            serde_json::json!({"leaf_cluster": req.leaf_cluster, "addr": source, "error": error}),
        );
        result
    }

    async fn validate_inner(
        &self,
        req: &ValidateTrustedClusterRequest,
    ) -> Result<ValidateTrustedClusterResponse, AuthError> {
        self.tokens.check_token(&req.token, tether_shared::resource::TokenType::TrustedCluster).await?;
        let leaf = req.leaf_cluster.as_str();
        tether_shared::names::validate_cluster_name(leaf)
            .map_err(|e| AuthError::BadRequest(format!("leaf cluster name: {e}")))?;
        if leaf == self.core.cluster {
            return Err(AuthError::Conflict(format!(
                "the leaf cluster is named {leaf:?}, the same as this root cluster; cluster names must be unique"
            )));
        }
        // Exactly one CA of each type, all of the leaf, keys only (no role map from outside).
        let mut cas = Vec::new();
        for ca_type in CA_TYPES {
            let mut found = req.cas.iter().filter(|ca| ca.spec.ca_type == ca_type);
            let (Some(ca), None) = (found.next(), found.next()) else {
                return Err(AuthError::BadRequest(format!("the request must carry exactly one {ca_type} CA")));
            };
            if ca.spec.cluster_name != leaf || ca.metadata.name != leaf || ca.spec.active_keys.is_empty() {
                return Err(AuthError::BadRequest(format!(
                    "the {ca_type} CA must belong to cluster {leaf:?} and carry active keys"
                )));
            }
            let mut ca = ca.clone();
            ca.metadata.id = None;
            ca.spec.role_map.clear();
            ca.spec.deactivated_keys = CaKeys::default();
            cas.push(ca);
        }
        // A remote cluster of that name: the same leaf joining again (same CAs) is fine; anything
        // else is a name clash. A name that this cluster trusts as a root, or that holds CAs
        // without a remote cluster, is never given to a leaf: its CAs would replace trusted ones.
        let clash = || {
            AuthError::Conflict(format!(
                "a remote cluster named {leaf:?} is already registered with other CAs; remove it on the root (tctl rm rc/{leaf}) or rename the leaf"
            ))
        };
        let existing = records::get(&self.core.backend, &records::key(Kind::RemoteCluster, leaf)).await?;
        if existing.is_some() {
            for ca in &cas {
                let stored = records::get(&self.core.backend, &records::ca_key(leaf, ca.spec.ca_type)).await?;
                let same = matches!(&stored, Some(Resource::CertAuthority(s)) if s.spec.trusted() == ca.spec.trusted());
                if !same {
                    return Err(clash());
                }
            }
        } else {
            let trusted = records::get(&self.core.backend, &records::key(Kind::TrustedCluster, leaf)).await?.is_some();
            let has_cas =
                records::list(&self.core.backend, &format!("{}{leaf}/", records::prefix(Kind::CertAuthority))).await?;
            if trusted || !has_cas.is_empty() {
                return Err(AuthError::Conflict(format!(
                    "the name {leaf:?} belongs to a cluster this one already trusts or knows; rename the leaf"
                )));
            }
            // Claim the name first: of two leaves racing for it, one gets a clash.
            let mut rc = RemoteCluster::new(leaf, RemoteClusterSpec {});
            rc.status = Some(RemoteClusterStatus::default());
            records::create(&self.core.backend, &Resource::RemoteCluster(rc)).await.map_err(|e| match e {
                StorageError::AlreadyExists(_) => clash(),
                other => other.into(),
            })?;
            for ca in cas {
                if let Err(e) = records::upsert(&self.core.backend, &Resource::CertAuthority(ca)).await {
                    let _ = self.delete_remote_cluster(leaf).await;
                    return Err(e.into());
                }
            }
        }
        let mut own = Vec::new();
        for ca_type in CA_TYPES {
            match records::get(&self.core.backend, &records::ca_key(&self.core.cluster, ca_type)).await? {
                Some(Resource::CertAuthority(ca)) => own.push(ca),
                _ => return Err(AuthError::fault(format!("this cluster's {ca_type} CA is missing"))),
            }
        }
        Ok(ValidateTrustedClusterResponse { root_cluster: self.core.cluster.clone(), cas: own })
    }

    /// Deletes a remote cluster and its CAs (`tctl rm rc/NAME`); its tunnels are dropped by the
    /// caller.
    pub async fn delete_remote_cluster(&self, name: &str) -> Result<(), AuthError> {
        if !self.core.backend.delete(&records::key(Kind::RemoteCluster, name)).await? {
            return Err(AuthError::NotFound(format!("remote cluster {name:?} not found")));
        }
        self.delete_cas_of(name).await
    }

    pub(super) async fn delete_cas_of(&self, cluster: &str) -> Result<(), AuthError> {
        if cluster == self.core.cluster {
            return Err(AuthError::fault("refusing to delete this cluster's own CAs"));
        }
        for ca_type in CA_TYPES {
            self.core.backend.delete(&records::ca_key(cluster, ca_type)).await?;
        }
        Ok(())
    }

    /// A stored CA of another cluster.
    pub async fn ca_of(&self, cluster: &str, ca_type: CaType) -> Result<Option<CertAuthority>, AuthError> {
        Ok(match records::get(&self.core.backend, &records::ca_key(cluster, ca_type)).await? {
            Some(Resource::CertAuthority(ca)) => Some(ca),
            _ => None,
        })
    }

    /// The remote clusters (root side), sorted by name.
    pub async fn remote_clusters(&self) -> Result<Vec<RemoteCluster>, AuthError> {
        Ok(records::list(&self.core.backend, &records::prefix(Kind::RemoteCluster))
            .await?
            .into_iter()
            .filter_map(|r| match r {
                Resource::RemoteCluster(rc) => Some(rc),
                _ => None,
            })
            .collect())
    }

    /// Sets a remote cluster's labels: the only field an admin may change (`tctl update rc`).
    pub async fn set_remote_cluster_labels(
        &self,
        name: &str,
        labels: tether_shared::labels::Labels,
    ) -> Result<(), AuthError> {
        let key = records::key(Kind::RemoteCluster, name);
        for _ in 0..5 {
            let Some(item) = self.core.backend.get(&key).await? else {
                return Err(AuthError::NotFound(format!("remote cluster {name:?} not found")));
            };
            let Some(Resource::RemoteCluster(mut rc)) = records::get(&self.core.backend, &key).await? else {
                return Err(AuthError::NotFound(format!("remote cluster {name:?} not found")));
            };
            rc.metadata.labels = labels.clone();
            rc.metadata.id = None;
            let value =
                serde_json::to_vec(&Resource::RemoteCluster(rc)).map_err(internal("encoding a remote cluster"))?;
            match self.core.backend.compare_and_swap(&key, item.revision, value, None).await {
                Ok(_) => return Ok(()),
                Err(StorageError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AuthError::Conflict(format!("remote cluster {name:?} changed while updating; try again")))
    }

    /// Checks a leaf agent's tunnel login: `cluster` must be a remote cluster of this root and
    /// `cert` a host certificate from the host CA stored for it, naming the cluster.
    pub async fn check_tunnel_cert(&self, cluster: &str, cert: &russh::keys::Certificate) -> Result<(), TrustRefusal> {
        if records::get(&self.core.backend, &records::key(Kind::RemoteCluster, cluster)).await?.is_none() {
            return Err(TrustRefusal::NotRemoteCluster(cluster.to_string()));
        }
        let ca = self.ca_of(cluster, CaType::Host).await?;
        let keys: Vec<russh::keys::PublicKey> = ca
            .iter()
            .flat_map(|ca| ca.spec.trusted().ssh)
            .filter_map(|k| russh::keys::PublicKey::from_openssh(&k).ok())
            .collect();
        if keys.is_empty() {
            return Err(TrustRefusal::NoHostCa(cluster.to_string()));
        }
        // A leaf whose host CA rotated while its tunnel was down vouches for the new key with
        // the old one; its CAs follow over the tunnel.
        let keys = tether_shared::endorse::reach(cert, cluster, &keys, std::time::SystemTime::now());
        let host = tether_shared::ssh_cert::verify_host_cert(cert, &keys, cluster, std::time::SystemTime::now())?;
        if host.cluster != cluster {
            return Err(TrustRefusal::WrongCluster { got: host.cluster, want: cluster.to_string() });
        }
        // Only the leaf's proxies: its nodes hold host certificates from the same CA.
        if host.host_id != super::super::proxy_host_id(cluster) {
            return Err(TrustRefusal::NotAProxy { host: host.host_id, cluster: cluster.to_string() });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use tether_shared::api::ValidateTrustedClusterRequest;
    use tether_shared::resource::{CaKeys, CaType, TokenType};
    use tether_shared::ssh_cert::{SshCa, generate_ed25519_key};

    use super::super::super::AuthError;
    use super::super::super::testing::cluster;
    use super::super::tests::{LEAF, ROOT, caller, cas, root_with_leaf, token};

    #[tokio::test]
    async fn leaf_certificates_only_for_the_callers_own_key_and_allowed_leaves() {
        let dir = tempfile::tempdir().unwrap();
        let root = root_with_leaf(&dir).await;
        let trust = root.trust();
        let key = generate_ed25519_key().unwrap();
        let public = key.public_key().to_openssh().unwrap();
        let holder: [u8; 32] = key.public_key().key_data().ed25519().unwrap().0;
        let hour = time::Duration::hours(1);

        let day = caller("alice", ROOT, time::Duration::hours(24));
        let issued = trust.issue_leaf_cert(&day, &holder, LEAF, &public).await.unwrap();
        assert_eq!(issued.identity.route_to_cluster.as_deref(), Some(LEAF));
        let lifetime = issued.identity.valid_before - issued.identity.valid_after;
        assert_eq!(lifetime, time::Duration::hours(1) + time::Duration::minutes(1), "leaf_cert_ttl, 1h");
        // Never beyond the caller's own certificate.
        let brief = caller("alice", ROOT, time::Duration::minutes(5));
        let short = trust.issue_leaf_cert(&brief, &holder, LEAF, &public).await.unwrap();
        assert!(short.identity.valid_before - time::OffsetDateTime::now_utc() <= time::Duration::minutes(5));

        let refused = |result: Result<tether_shared::api::LoginResponse, AuthError>| match result {
            Ok(_) => panic!("issued"),
            Err(e) => e,
        };
        let e = refused(trust.issue_leaf_cert(&caller("alice", LEAF, hour), &holder, LEAF, &public).await);
        assert!(
            matches!(&e, AuthError::Forbidden(m) if m == "only users of root.example.com get certificates for its leaves"),
            "{e}"
        );
        let mut bound = caller("alice", ROOT, hour);
        bound.route_to_cluster = Some(LEAF.into());
        let e = refused(trust.issue_leaf_cert(&bound, &holder, LEAF, &public).await);
        assert!(matches!(&e, AuthError::Forbidden(m) if m.starts_with("a leaf-bound certificate cannot ask")), "{e}");
        let other = generate_ed25519_key().unwrap().public_key().to_openssh().unwrap();
        let e = refused(trust.issue_leaf_cert(&caller("alice", ROOT, hour), &holder, LEAF, &other).await);
        assert!(
            matches!(&e, AuthError::Forbidden(m) if m.starts_with("public_key is not the key of your certificate")),
            "{e}"
        );
        let e =
            refused(trust.issue_leaf_cert(&caller("alice", ROOT, hour), &holder, "nope.example.com", &public).await);
        assert!(matches!(&e, AuthError::NotFound(m) if m.contains("is not a leaf of root.example.com")), "{e}");
        let e = refused(trust.issue_leaf_cert(&caller("ghost", ROOT, hour), &holder, LEAF, &public).await);
        assert!(matches!(&e, AuthError::Forbidden(m) if m == "user \"ghost\" no longer exists"), "{e}");
        let e = refused(
            trust.issue_leaf_cert(&caller("alice", ROOT, -time::Duration::seconds(1)), &holder, LEAF, &public).await,
        );
        assert!(matches!(&e, AuthError::Unauthorized(m) if m.contains("has expired")), "{e}");
        // Relabelled out of the user's reach: refused from the next request on.
        trust.set_remote_cluster_labels(LEAF, [("env".to_string(), "dev".to_string())].into()).await.unwrap();
        let e = refused(trust.issue_leaf_cert(&caller("alice", ROOT, hour), &holder, LEAF, &public).await);
        assert!(
            matches!(&e, AuthError::Forbidden(m) if m.starts_with(&format!("your roles do not allow cluster {LEAF}"))),
            "{e}"
        );
        // Each answer is audited.
        let events = root.audit().read(None, 100).await.unwrap();
        let leaf_certs: Vec<_> =
            events.iter().filter(|e| e.get("event").and_then(|v| v.as_str()) == Some("cert.leaf")).collect();
        assert_eq!(leaf_certs.len(), 9);
        assert_eq!(leaf_certs.iter().filter(|e| e.get("success") == Some(&true.into())).count(), 2);
    }

    #[tokio::test]
    async fn validation_takes_exactly_the_leafs_own_three_cas_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let root = cluster(&dir, ROOT).await;
        let (user, host) = (SshCa::generate().unwrap(), SshCa::generate().unwrap());
        let tok = token(&root).await;
        let request =
            |leaf: &str, cas| ValidateTrustedClusterRequest { token: tok.clone(), leaf_cluster: leaf.into(), cas };
        let refused = |e: Result<_, AuthError>| e.map(|_| ()).unwrap_err().to_string();

        let node_token =
            root.tokens().add_token(TokenType::Node, std::time::Duration::from_secs(60), Default::default());
        let mut wrong = request(LEAF, cas(LEAF, &user, &host));
        wrong.token = node_token.await.unwrap().token;
        assert!(
            refused(root.trust().validate_trusted_cluster(&wrong, "a").await).contains("not a trusted_cluster token")
        );
        let e = refused(
            root.trust().validate_trusted_cluster(&request("bad name!", cas("bad name!", &user, &host)), "a").await,
        );
        assert!(e.contains("leaf cluster name"), "{e}");
        let mut twice = cas(LEAF, &user, &host);
        twice.push(twice[0].clone());
        let e = refused(root.trust().validate_trusted_cluster(&request(LEAF, twice), "a").await);
        assert!(e.contains("exactly one user CA"), "{e}");
        let mut missing = cas(LEAF, &user, &host);
        missing.retain(|ca| ca.spec.ca_type != CaType::Tls);
        let e = refused(root.trust().validate_trusted_cluster(&request(LEAF, missing), "a").await);
        assert!(e.contains("exactly one tls CA"), "{e}");
        for spoil in 0..3 {
            let mut bad = cas(LEAF, &user, &host);
            match spoil {
                0 => bad[1].spec.cluster_name = "other.example.com".into(),
                1 => bad[1].metadata.name = "other.example.com".into(),
                _ => bad[1].spec.active_keys = CaKeys::default(),
            }
            let e = refused(root.trust().validate_trusted_cluster(&request(LEAF, bad), "a").await);
            assert!(e.contains("must belong to cluster \"leaf.example.com\" and carry active keys"), "{spoil}: {e}");
        }
        assert!(root.trust().remote_clusters().await.unwrap().is_empty(), "no refusal registered the leaf");

        // A role map or deactivated keys from the leaf are dropped.
        let mut offered = cas(LEAF, &user, &host);
        offered[0].spec.role_map =
            vec![tether_shared::rolemap::RoleMapRule { remote: "*".into(), local: vec!["editor".into()] }];
        offered[0].spec.deactivated_keys = offered[0].spec.active_keys.clone();
        let answer = root.trust().validate_trusted_cluster(&request(LEAF, offered), "a").await.unwrap();
        assert_eq!(answer.root_cluster, ROOT);
        assert_eq!(answer.cas.len(), 3);
        assert!(answer.cas.iter().all(|ca| ca.spec.cluster_name == ROOT));
        let stored = root.trust().ca_of(LEAF, CaType::User).await.unwrap().unwrap();
        assert!(stored.spec.role_map.is_empty() && stored.spec.deactivated_keys.is_empty(), "{:?}", stored.spec);
        assert_eq!(root.trust().remote_clusters().await.unwrap().len(), 1);
        let events = root.audit().read(None, 100).await.unwrap();
        let validations: Vec<_> = events
            .iter()
            .filter(|e| e.get("event").and_then(|v| v.as_str()) == Some("trusted_cluster.validate"))
            .collect();
        assert_eq!(validations.len(), 8);
        assert!(validations.iter().all(|e| e.get("addr") == Some(&"a".into())));
        assert_eq!(validations.iter().filter(|e| e.get("error").is_some_and(|v| !v.is_null())).count(), 7);
    }

    #[tokio::test]
    async fn remote_clusters_are_labelled_and_removed_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let root = root_with_leaf(&dir).await;
        let trust = root.trust();
        let listed = trust.remote_clusters().await.unwrap();
        assert_eq!(listed[0].metadata.labels.get("env").map(String::as_str), Some("prod"));
        let e = trust.set_remote_cluster_labels("nope", Default::default()).await.unwrap_err();
        assert!(matches!(&e, AuthError::NotFound(m) if m == "remote cluster \"nope\" not found"), "{e}");
        let e = trust.delete_cas_of(ROOT).await.unwrap_err();
        assert!(e.to_string().contains("refusing to delete this cluster's own CAs"), "{e}");
        assert!(trust.ca_of(ROOT, CaType::Host).await.unwrap().is_some());
        trust.delete_remote_cluster(LEAF).await.unwrap();
        for ca_type in [CaType::User, CaType::Host, CaType::Tls] {
            assert!(trust.ca_of(LEAF, ca_type).await.unwrap().is_none(), "{ca_type}");
        }
        let e = trust.delete_remote_cluster(LEAF).await.unwrap_err();
        assert!(matches!(&e, AuthError::NotFound(m) if m == "remote cluster \"leaf.example.com\" not found"), "{e}");
        assert!(trust.remote_clusters().await.unwrap().is_empty());
    }
}
