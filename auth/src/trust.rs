//! Trust between clusters: the root's side (`POST /webapi/trustedclusters/validate`, remote
//! clusters and their CAs) and the leaf's side (`trusted_cluster` resources, the root's CAs with
//! the role map, enabling and disabling).
//!
//! A join token only bootstraps trust: the leaf sends it with its public CAs, the root checks it,
//! stores the leaf's CAs and a `remote_cluster`, and answers with its own public CAs, which the
//! leaf stores under the root's name. From then on the clusters know each other by certificates
//! alone. Disabling a trust moves the root's keys from `active_keys` to `deactivated_keys`, so
//! every check (node SSH, API TLS, tunnel) stops accepting them at once, and enabling moves them
//! back. Every failure stores nothing.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use tether_audit::{Event, Outcome};

use tether_client::client::{ApiClient, ClientError, ServerTrust};
use tether_shared::api::{ValidateTrustedClusterRequest, ValidateTrustedClusterResponse};
use tether_shared::identity::Identity;
use tether_shared::resource::{
    CaKeys, CaType, CertAuthority, Kind, RemoteCluster, RemoteClusterSpec, RemoteClusterStatus, Resource,
    TrustedCluster,
};
use tether_shared::rolemap::RoleMap;

use super::refusal::{ClientRefusal, RemoteRefusal, TrustRefusal};
use super::{AuthError, AuthService, internal};
use tether_storage::records;
use tether_storage::{StorageError, WatchEvent, Watcher};

/// The CA types a trust exchanges.
pub const CA_TYPES: [CaType; 3] = [CaType::User, CaType::Host, CaType::Tls];

/// A user of a trusted (root) cluster, as this leaf sees them.
#[derive(Debug, Clone)]
pub struct RemoteUser {
    /// The identity with the mapped local roles in `roles`.
    pub identity: Identity,
    /// The roles the root gave them.
    pub remote_roles: Vec<String>,
}

/// A stream of trust changes; see [`AuthService::trust_changes`].
#[derive(Debug)]
pub struct TrustChanges {
    watcher: Watcher,
}

impl TrustChanges {
    /// Waits for the next change to a trusted cluster or a CA (or for events lost to a slow
    /// reader, which may have been such a change). Never returns once storage has closed.
    pub async fn next(&mut self) {
        let trusted = records::prefix(Kind::TrustedCluster);
        let cas = records::prefix(Kind::CertAuthority);
        loop {
            match self.watcher.next().await {
                Some(WatchEvent::Event(e)) if e.item.key.starts_with(&trusted) || e.item.key.starts_with(&cas) => {
                    return;
                }
                Some(WatchEvent::Event(_)) => {}
                Some(WatchEvent::Lagged(_)) => return,
                None => std::future::pending().await,
            }
        }
    }
}

impl AuthService {
    // ----- the root's side -----

    /// Validates a leaf's request for trust: the token, the name, the CAs. Stores the leaf's
    /// CAs and its `remote_cluster` and answers with this cluster's public CAs.
    pub async fn validate_trusted_cluster(
        &self,
        req: &ValidateTrustedClusterRequest,
        source: &str,
    ) -> Result<ValidateTrustedClusterResponse, AuthError> {
        let result = self.validate_inner(req).await;
        let error = result.as_ref().err().map(ToString::to_string);
        self.audit.emit(
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
        self.check_token(&req.token, tether_shared::resource::TokenType::TrustedCluster).await?;
        let leaf = req.leaf_cluster.as_str();
        tether_shared::names::validate_cluster_name(leaf)
            .map_err(|e| AuthError::BadRequest(format!("leaf cluster name: {e}")))?;
        if leaf == self.cluster {
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
        let existing = records::get(&self.backend, &records::key(Kind::RemoteCluster, leaf)).await?;
        if existing.is_some() {
            for ca in &cas {
                let stored = records::get(&self.backend, &records::ca_key(leaf, ca.spec.ca_type)).await?;
                let same =
                    matches!(&stored, Some(Resource::CertAuthority(s)) if s.spec.active_keys == ca.spec.active_keys);
                if !same {
                    return Err(clash());
                }
            }
        } else {
            let trusted = records::get(&self.backend, &records::key(Kind::TrustedCluster, leaf)).await?.is_some();
            let has_cas =
                records::list(&self.backend, &format!("{}{leaf}/", records::prefix(Kind::CertAuthority))).await?;
            if trusted || !has_cas.is_empty() {
                return Err(AuthError::Conflict(format!(
                    "the name {leaf:?} belongs to a cluster this one already trusts or knows; rename the leaf"
                )));
            }
            // Claim the name first: of two leaves racing for it, one gets a clash.
            let mut rc = RemoteCluster::new(leaf, RemoteClusterSpec {});
            rc.status = Some(RemoteClusterStatus::default());
            records::create(&self.backend, &Resource::RemoteCluster(rc)).await.map_err(|e| match e {
                StorageError::AlreadyExists(_) => clash(),
                other => other.into(),
            })?;
            for ca in cas {
                if let Err(e) = records::upsert(&self.backend, &Resource::CertAuthority(ca)).await {
                    let _ = self.delete_remote_cluster(leaf).await;
                    return Err(e.into());
                }
            }
        }
        let mut own = Vec::new();
        for ca_type in CA_TYPES {
            match records::get(&self.backend, &records::ca_key(&self.cluster, ca_type)).await? {
                Some(Resource::CertAuthority(ca)) => own.push(ca),
                _ => return Err(AuthError::fault(format!("this cluster's {ca_type} CA is missing"))),
            }
        }
        Ok(ValidateTrustedClusterResponse { root_cluster: self.cluster.clone(), cas: own })
    }

    /// Deletes a remote cluster and its CAs (`tctl rm rc/NAME`); its tunnels are dropped by the
    /// caller.
    pub async fn delete_remote_cluster(&self, name: &str) -> Result<(), AuthError> {
        if !self.backend.delete(&records::key(Kind::RemoteCluster, name)).await? {
            return Err(AuthError::NotFound(format!("remote cluster {name:?} not found")));
        }
        self.delete_cas_of(name).await
    }

    async fn delete_cas_of(&self, cluster: &str) -> Result<(), AuthError> {
        if cluster == self.cluster {
            return Err(AuthError::fault("refusing to delete this cluster's own CAs"));
        }
        for ca_type in CA_TYPES {
            self.backend.delete(&records::ca_key(cluster, ca_type)).await?;
        }
        Ok(())
    }

    /// A stored CA of another cluster.
    pub async fn ca_of(&self, cluster: &str, ca_type: CaType) -> Result<Option<CertAuthority>, AuthError> {
        Ok(match records::get(&self.backend, &records::ca_key(cluster, ca_type)).await? {
            Some(Resource::CertAuthority(ca)) => Some(ca),
            _ => None,
        })
    }

    /// The remote clusters (root side), sorted by name.
    pub async fn remote_clusters(&self) -> Result<Vec<RemoteCluster>, AuthError> {
        Ok(records::list(&self.backend, &records::prefix(Kind::RemoteCluster))
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
            let Some(item) = self.backend.get(&key).await? else {
                return Err(AuthError::NotFound(format!("remote cluster {name:?} not found")));
            };
            let Some(Resource::RemoteCluster(mut rc)) = records::get(&self.backend, &key).await? else {
                return Err(AuthError::NotFound(format!("remote cluster {name:?} not found")));
            };
            rc.metadata.labels = labels.clone();
            rc.metadata.id = None;
            let value =
                serde_json::to_vec(&Resource::RemoteCluster(rc)).map_err(internal("encoding a remote cluster"))?;
            match self.backend.compare_and_swap(&key, item.revision, value, None).await {
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
        if records::get(&self.backend, &records::key(Kind::RemoteCluster, cluster)).await?.is_none() {
            return Err(TrustRefusal::NotRemoteCluster(cluster.to_string()));
        }
        let ca = self.ca_of(cluster, CaType::Host).await?;
        let keys: Vec<russh::keys::PublicKey> = ca
            .iter()
            .flat_map(|ca| ca.spec.active_keys.ssh.iter())
            .filter_map(|k| russh::keys::PublicKey::from_openssh(k).ok())
            .collect();
        if keys.is_empty() {
            return Err(TrustRefusal::NoHostCa(cluster.to_string()));
        }
        let host = tether_shared::ssh_cert::verify_host_cert(cert, &keys, cluster, std::time::SystemTime::now())?;
        if host.cluster != cluster {
            return Err(TrustRefusal::WrongCluster { got: host.cluster, want: cluster.to_string() });
        }
        // Only the leaf's proxies: its nodes hold host certificates from the same CA.
        if host.host_id != super::proxy_host_id(cluster) {
            return Err(TrustRefusal::NotAProxy { host: host.host_id, cluster: cluster.to_string() });
        }
        Ok(())
    }

    // ----- the leaf's side -----

    /// Creates or updates a `trusted_cluster` (leaf side). Establishes the trust with the root
    /// when this cluster holds none of its CAs yet; otherwise updates the role map and
    /// activates or deactivates the root's CAs. Returns whether it existed.
    pub async fn upsert_trusted_cluster(&self, mut tc: TrustedCluster, force: bool) -> Result<bool, AuthError> {
        let root = tc.metadata.name.clone();
        if root == self.cluster {
            return Err(AuthError::BadRequest(format!(
                "trusted_cluster {root:?}: that is this cluster's own name; name the root cluster"
            )));
        }
        RoleMap::compile(&tc.spec.role_map)
            .map_err(|e| AuthError::BadRequest(format!("trusted_cluster {root:?}: spec.role_map: {e}")))?;
        let key = records::key(Kind::TrustedCluster, &root);
        let existed = self.backend.get(&key).await?.is_some();
        if existed && !force {
            return Err(AuthError::Conflict(format!(
                "trusted_cluster {root:?} already exists; use tctl create --force to update it"
            )));
        }
        if records::get(&self.backend, &records::key(Kind::RemoteCluster, &root)).await?.is_some() {
            return Err(AuthError::Conflict(format!(
                "trusted_cluster {root:?}: that name is a leaf of this cluster (a remote cluster); trust runs one way"
            )));
        }
        // The root's CAs count only with the trusted_cluster they came with; strays left by an
        // interrupted attempt are cleared and trust is established again.
        let mut have_cas = self.ca_of(&root, CaType::User).await?.is_some();
        if have_cas && !existed {
            self.delete_cas_of(&root).await?;
            have_cas = false;
        }
        if !have_cas && tc.spec.enabled {
            let cas = self.ask_root(&tc).await?;
            for mut ca in cas {
                if ca.spec.ca_type == CaType::User {
                    ca.spec.role_map = tc.spec.role_map.clone();
                }
                if let Err(e) = records::upsert(&self.backend, &Resource::CertAuthority(ca)).await {
                    let _ = self.delete_cas_of(&root).await;
                    return Err(e.into());
                }
            }
        } else if have_cas {
            self.set_root_cas(&root, tc.spec.enabled, Some(&tc.spec.role_map)).await?;
        }
        // The token has done its work (or will be asked for again): it is not kept.
        tc.spec.token.clear();
        tc.metadata.id = None;
        if let Err(e) = records::upsert(&self.backend, &Resource::TrustedCluster(tc)).await {
            if !have_cas {
                let _ = self.delete_cas_of(&root).await;
            }
            return Err(e.into());
        }
        Ok(existed)
    }

    /// Removes a `trusted_cluster` and the root's CAs: root-signed certificates stop working at
    /// once and the tunnels close.
    pub async fn delete_trusted_cluster(&self, root: &str) -> Result<(), AuthError> {
        if !self.backend.delete(&records::key(Kind::TrustedCluster, root)).await? {
            return Err(AuthError::NotFound(format!("trusted_cluster {root:?} not found")));
        }
        self.delete_cas_of(root).await?;
        Ok(())
    }

    /// Whether this leaf trusts `root` right now: the trusted cluster exists, is enabled, and the
    /// root's user CA is active. Every transport through a tunnel checks it.
    pub async fn trust_active(&self, root: &str) -> bool {
        self.active_root_user_ca(root).await.is_some()
    }

    /// `root`'s user CA when this leaf trusts `root` right now (see [`Self::trust_active`]).
    async fn active_root_user_ca(&self, root: &str) -> Option<CertAuthority> {
        // Both reads at once: each is a hop to a blocking thread, on every transport's path.
        let key = records::key(Kind::TrustedCluster, root);
        let (tc, ca) = tokio::join!(records::get(&self.backend, &key), self.ca_of(root, CaType::User));
        match (tc, ca) {
            (Ok(Some(Resource::TrustedCluster(tc))), Ok(Some(ca)))
                if tc.spec.enabled && !ca.spec.active_keys.ssh.is_empty() =>
            {
                Some(ca)
            }
            _ => None,
        }
    }

    /// The trusted clusters (leaf side).
    pub async fn trusted_clusters(&self) -> Result<Vec<TrustedCluster>, AuthError> {
        Ok(records::list(&self.backend, &records::prefix(Kind::TrustedCluster))
            .await?
            .into_iter()
            .filter_map(|r| match r {
                Resource::TrustedCluster(tc) => Some(tc),
                _ => None,
            })
            .collect())
    }

    /// Moves the root's keys between active and deactivated, and sets the role map.
    async fn set_root_cas(
        &self,
        root: &str,
        enabled: bool,
        role_map: Option<&[tether_shared::rolemap::RoleMapRule]>,
    ) -> Result<(), AuthError> {
        for ca_type in CA_TYPES {
            let Some(mut ca) = self.ca_of(root, ca_type).await? else { continue };
            let mut all = std::mem::take(&mut ca.spec.active_keys);
            let old = std::mem::take(&mut ca.spec.deactivated_keys);
            for k in old.ssh {
                if !all.ssh.contains(&k) {
                    all.ssh.push(k);
                }
            }
            for k in old.tls {
                if !all.tls.contains(&k) {
                    all.tls.push(k);
                }
            }
            if enabled {
                ca.spec.active_keys = all;
            } else {
                ca.spec.deactivated_keys = all;
            }
            if ca_type == CaType::User
                && let Some(map) = role_map
            {
                ca.spec.role_map = map.to_vec();
            }
            ca.metadata.id = None;
            records::upsert(&self.backend, &Resource::CertAuthority(ca)).await?;
        }
        Ok(())
    }

    /// Calls the root's validate endpoint; every failure names its cause.
    async fn ask_root(&self, tc: &TrustedCluster) -> Result<Vec<CertAuthority>, AuthError> {
        let root = &tc.metadata.name;
        let addr = &tc.spec.web_proxy_addr;
        if tc.spec.token.trim().is_empty() {
            return Err(AuthError::BadRequest(format!(
                "trusted_cluster {root:?}: spec.token: the root's trusted_cluster join token is needed to establish trust (tctl tokens add --type=trusted_cluster on the root)"
            )));
        }
        let mut cas = Vec::new();
        for ca_type in CA_TYPES {
            cas.push(
                self.ca_of(&self.cluster, ca_type)
                    .await?
                    .ok_or_else(|| AuthError::fault(format!("this cluster's {ca_type} CA is missing")))?,
            );
        }
        let insecure = self.insecure.load(Ordering::Relaxed);
        let trust = if insecure { ServerTrust::Insecure } else { ServerTrust::WebPki };
        let client =
            ApiClient::new(addr, &trust, None).map_err(internal("building the client for the root cluster"))?;
        let req =
            ValidateTrustedClusterRequest { token: tc.spec.token.clone(), leaf_cluster: self.cluster.clone(), cas };
        let resp: ValidateTrustedClusterResponse =
            client.post("/webapi/trustedclusters/validate", &req).await.map_err(|e| match e {
                ClientError::Tls { cause, .. } => AuthError::BadRequest(format!(
                    "the trusted cluster uses misconfigured HTTP/TLS certificate: {addr}: {cause}; fix the root's HTTPS certificate, or (for testing only) start this leaf's tether daemon with --insecure"
                )),
                ClientError::Connect { cause, .. } => AuthError::BadRequest(format!(
                    "cannot reach the root cluster's web proxy at {addr} (spec.web_proxy_addr): {cause}"
                )),
                ClientError::Api { message, .. } => {
                    AuthError::BadRequest(format!("the root cluster at {addr} refused the trust: {message}"))
                }
                other => AuthError::BadRequest(format!("establishing trust with {addr}: {other}")),
            })?;
        if resp.root_cluster != *root {
            return Err(AuthError::BadRequest(format!(
                "the cluster at {addr} is named {:?}, not {root:?}; set metadata.name to the root cluster's name",
                resp.root_cluster
            )));
        }
        let mut out = Vec::new();
        for ca_type in CA_TYPES {
            let ca = resp
                .cas
                .iter()
                .find(|ca| ca.spec.ca_type == ca_type && ca.spec.cluster_name == *root && ca.metadata.name == *root)
                .ok_or_else(|| AuthError::BadRequest(format!("the root at {addr} sent no {ca_type} CA")))?;
            let mut ca = ca.clone();
            ca.metadata.id = None;
            ca.spec.role_map.clear();
            ca.spec.deactivated_keys = CaKeys::default();
            out.push(ca);
        }
        Ok(out)
    }

    /// Changes to trust as storage reports them: a trusted cluster or a CA written or removed,
    /// through this host or any other sharing the storage.
    pub fn trust_changes(&self) -> TrustChanges {
        TrustChanges { watcher: self.backend.watch("/resources/") }
    }

    /// Whether outbound calls to a root skip HTTPS verification (`tether start --insecure`).
    pub fn set_insecure(&self, insecure: bool) {
        self.insecure.store(insecure, Ordering::Relaxed);
    }

    /// The names of clusters this cluster trusts (it holds a `trusted_cluster` for them).
    pub async fn trusted_names(&self) -> Result<BTreeSet<String>, AuthError> {
        Ok(self.trusted_clusters().await?.into_iter().map(|tc| tc.metadata.name).collect())
    }

    /// Identifies a TLS client certificate: one of this cluster's, or a user of a trusted
    /// cluster whose TLS CA is active here (with roles through the role map, and the original
    /// roles beside). When it verifies against neither, the reason, for the caller to see.
    pub async fn identify_tls_client(&self, der: &[u8]) -> Result<(Identity, Option<Vec<String>>), ClientRefusal> {
        let now = std::time::SystemTime::now();
        let local = tether_shared::tls_cert::verify_client_cert(der, std::slice::from_ref(self.tls_ca.cert_der()), now);
        let err = match local {
            Ok(id) => return Ok((id, None)),
            Err(e) => e,
        };
        let claimed = tether_shared::tls_cert::identity_from_client_cert(der).map_err(ClientRefusal::Unreadable)?;
        if claimed.cluster == self.cluster {
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
            self.audit.emit(
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
        if cluster == self.cluster {
            return Err(TrustRefusal::NotTrusted(cluster));
        }
        let Some(user_ca) = self.active_root_user_ca(&cluster).await else {
            return Err(TrustRefusal::NotTrusted(cluster));
        };
        let keys: Vec<russh::keys::PublicKey> =
            user_ca.spec.active_keys.ssh.iter().filter_map(|k| russh::keys::PublicKey::from_openssh(k).ok()).collect();
        let mut identity = tether_shared::ssh_cert::verify_user_cert(cert, &keys, None, std::time::SystemTime::now())?;
        if let Some(why) = identity.unbound_for(&self.cluster) {
            return Err(TrustRefusal::NotBound(why));
        }
        let map = RoleMap::compile(&user_ca.spec.role_map)?;
        let mapped = map.map(&identity.roles)?;
        identity.roles = super::grantable_roles(&mapped);
        Ok(identity)
    }

    /// A trusted cluster's user, or why not and whether the chain had verified.
    async fn remote_user(&self, der: &[u8], cluster: &str) -> Result<RemoteUser, RemoteRefusal> {
        let user = self.verified_remote_identity(der, cluster).await.map_err(RemoteRefusal::unverified)?;
        // Only certificates the root bound to this cluster (after its cluster_labels check).
        if let Some(why) = user.unbound_for(&self.cluster) {
            return Err(RemoteRefusal::verified(TrustRefusal::NotBound(why)));
        }
        let user_ca = self.ca_of(cluster, CaType::User).await.map_err(RemoteRefusal::verified)?;
        let rules = user_ca.map(|ca| ca.spec.role_map).unwrap_or_default();
        let map = RoleMap::compile(&rules).map_err(RemoteRefusal::verified)?;
        let mapped = map.map(&user.roles).map_err(RemoteRefusal::verified)?;
        let remote_roles = user.roles.clone();
        let mut identity = user;
        identity.roles = super::grantable_roles(&mapped);
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
        if tls.spec.active_keys.tls.is_empty() {
            return Err(TrustRefusal::Disabled(cluster.to_string()));
        }
        let mut roots = Vec::new();
        for pem in &tls.spec.active_keys.tls {
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

    use tether_shared::api::ValidateTrustedClusterRequest;
    use tether_shared::resource::{
        CaKeys, CaType, CertAuthority, CertAuthoritySpec, Resource, TokenType, TrustedCluster, TrustedClusterSpec,
    };
    use tether_shared::ssh_cert::{HostIdentity, SshCa, generate_ed25519_key};

    use super::super::refusal::TrustRefusal;
    use super::super::{AuthError, AuthService};
    use tether_audit::Audit;
    use tether_storage::records;
    use tether_storage::sqlite::SqliteBackend;

    const LEAF: &str = "leaf.example.com";

    async fn cluster(dir: &tempfile::TempDir, name: &str) -> Arc<AuthService> {
        let backend = SqliteBackend::open(dir.path().join(format!("{name}.db"))).await.unwrap();
        let audit = Arc::new(Audit::open(&dir.path().join(format!("{name}-log")), name).unwrap());
        AuthService::init(backend, name, audit, false).await.unwrap()
    }

    fn cas(name: &str, user: &SshCa, host: &SshCa) -> Vec<CertAuthority> {
        let tls = tether_shared::tls_cert::TlsCa::generate(name).unwrap();
        let ca = |ca_type, keys| {
            CertAuthority::new(
                name,
                CertAuthoritySpec { ca_type, cluster_name: name.into(), active_keys: keys, ..Default::default() },
            )
        };
        vec![
            ca(CaType::User, CaKeys { ssh: vec![user.public_key_openssh().unwrap()], tls: vec![] }),
            ca(CaType::Host, CaKeys { ssh: vec![host.public_key_openssh().unwrap()], tls: vec![] }),
            ca(CaType::Tls, CaKeys { ssh: vec![], tls: vec![tls.cert_pem()] }),
        ]
    }

    async fn token(auth: &AuthService) -> String {
        auth.add_token(TokenType::TrustedCluster, Duration::from_secs(600), Default::default()).await.unwrap().token
    }

    fn host_cert(ca: &SshCa, host_id: &str, cluster: &str) -> russh::keys::Certificate {
        let key = generate_ed25519_key().unwrap();
        let now = time::OffsetDateTime::now_utc();
        let host = HostIdentity {
            host_id: host_id.into(),
            principals: vec![cluster.into()],
            cluster: cluster.into(),
            valid_after: now - time::Duration::minutes(1),
            valid_before: now + time::Duration::hours(1),
        };
        ca.issue_host_cert(key.public_key(), &host, 1).unwrap()
    }

    #[tokio::test]
    async fn only_a_registered_leafs_proxy_may_open_its_tunnel() {
        let dir = tempfile::tempdir().unwrap();
        let root = cluster(&dir, "root.example.com").await;
        let (user, host) = (SshCa::generate().unwrap(), SshCa::generate().unwrap());
        let req = ValidateTrustedClusterRequest {
            token: token(&root).await,
            leaf_cluster: LEAF.into(),
            cas: cas(LEAF, &user, &host),
        };
        root.validate_trusted_cluster(&req, "test").await.unwrap();

        root.check_tunnel_cert(LEAF, &host_cert(&host, "@proxy.leaf.example.com", LEAF)).await.unwrap();
        // A node of the leaf holds a certificate from the same CA, naming the cluster: refused.
        let node = root.check_tunnel_cert(LEAF, &host_cert(&host, "mynode", LEAF)).await.unwrap_err();
        assert!(matches!(node, TrustRefusal::NotAProxy { .. }), "{node:?}");
        assert_eq!(node.to_string(), format!("host \"mynode\" is not a proxy of cluster \"{LEAF}\""));
        // Another CA is refused as untrusted; another cluster's name as not a remote cluster.
        let other = SshCa::generate().unwrap();
        let wrong_ca =
            root.check_tunnel_cert(LEAF, &host_cert(&other, "@proxy.leaf.example.com", LEAF)).await.unwrap_err();
        assert!(wrong_ca.to_string().contains("untrusted certificate authority"), "{wrong_ca}");
        let stranger = root
            .check_tunnel_cert("x.example.com", &host_cert(&host, "@proxy.x.example.com", "x.example.com"))
            .await
            .unwrap_err();
        assert!(matches!(stranger, TrustRefusal::NotRemoteCluster(ref c) if c == "x.example.com"), "{stranger:?}");
        // Once the remote cluster is removed, nothing gets in.
        root.delete_remote_cluster(LEAF).await.unwrap();
        let removed =
            root.check_tunnel_cert(LEAF, &host_cert(&host, "@proxy.leaf.example.com", LEAF)).await.unwrap_err();
        assert!(removed.to_string().contains("is not a remote cluster of this root"), "{removed}");
    }

    #[tokio::test]
    async fn validate_never_replaces_the_cas_of_a_trusted_or_registered_cluster() {
        let dir = tempfile::tempdir().unwrap();
        let mid = cluster(&dir, "mid.example.com").await;
        let tok = token(&mid).await;
        let (user, host) = (SshCa::generate().unwrap(), SshCa::generate().unwrap());

        // mid trusts a root "root.example.com" (its CAs and trusted_cluster are stored).
        let root_cas = cas("root.example.com", &user, &host);
        for ca in &root_cas {
            records::upsert(mid.backend(), &Resource::CertAuthority(ca.clone())).await.unwrap();
        }
        let spec = TrustedClusterSpec {
            tunnel_addr: "127.0.0.1:1".into(),
            web_proxy_addr: "127.0.0.1:1".into(),
            role_map: vec![tether_shared::rolemap::RoleMapRule {
                remote: "access".into(),
                local: vec!["access".into()],
            }],
            ..Default::default()
        };
        records::upsert(mid.backend(), &Resource::TrustedCluster(TrustedCluster::new("root.example.com", spec)))
            .await
            .unwrap();
        let (evil_user, evil_host) = (SshCa::generate().unwrap(), SshCa::generate().unwrap());
        let posing = ValidateTrustedClusterRequest {
            token: tok.clone(),
            leaf_cluster: "root.example.com".into(),
            cas: cas("root.example.com", &evil_user, &evil_host),
        };
        let posed = mid.validate_trusted_cluster(&posing, "test").await;
        assert!(matches!(posed, Err(AuthError::Conflict(_))), "{posed:?}");
        let kept = mid.ca_of("root.example.com", CaType::Host).await.unwrap().unwrap();
        assert_eq!(kept.spec.active_keys.ssh, [host.public_key_openssh().unwrap()], "the trusted CA is untouched");

        // Its own name, and a registered leaf presented with other CAs, are clashes; the same
        // leaf joining again is not.
        let own = ValidateTrustedClusterRequest {
            token: tok.clone(),
            leaf_cluster: "mid.example.com".into(),
            cas: cas("mid.example.com", &user, &host),
        };
        assert!(matches!(mid.validate_trusted_cluster(&own, "test").await, Err(AuthError::Conflict(_))));
        let leaf = ValidateTrustedClusterRequest {
            token: tok.clone(),
            leaf_cluster: LEAF.into(),
            cas: cas(LEAF, &user, &host),
        };
        mid.validate_trusted_cluster(&leaf, "test").await.unwrap();
        let mut again = leaf.clone();
        again.cas.retain(|ca| ca.spec.ca_type != CaType::Tls);
        again.cas.push(leaf.cas.iter().find(|ca| ca.spec.ca_type == CaType::Tls).cloned().unwrap());
        mid.validate_trusted_cluster(&again, "test").await.unwrap();
        let impostor = ValidateTrustedClusterRequest {
            token: tok,
            leaf_cluster: LEAF.into(),
            cas: cas(LEAF, &evil_user, &evil_host),
        };
        assert!(matches!(mid.validate_trusted_cluster(&impostor, "test").await, Err(AuthError::Conflict(_))));
    }

    #[tokio::test]
    async fn nodes_cannot_take_a_proxy_host_id_and_leaves_cannot_be_trusted_back() {
        let dir = tempfile::tempdir().unwrap();
        let auth = cluster(&dir, "root.example.com").await;
        let key = generate_ed25519_key().unwrap().public_key().to_openssh().unwrap();
        let err = auth.node_credentials("@proxy.root.example.com", "h", &key).await.unwrap_err();
        assert!(matches!(err, AuthError::BadRequest(_)), "{err}");
        let err = auth.node_credentials("n1", "@proxy.root.example.com", &key).await.unwrap_err();
        assert!(matches!(err, AuthError::BadRequest(_)), "{err}");

        // A leaf of this cluster cannot be made a trusted (root) cluster of it.
        let (user, host) = (SshCa::generate().unwrap(), SshCa::generate().unwrap());
        let req = ValidateTrustedClusterRequest {
            token: token(&auth).await,
            leaf_cluster: LEAF.into(),
            cas: cas(LEAF, &user, &host),
        };
        auth.validate_trusted_cluster(&req, "test").await.unwrap();
        let spec = TrustedClusterSpec {
            tunnel_addr: "127.0.0.1:1".into(),
            web_proxy_addr: "127.0.0.1:1".into(),
            role_map: vec![tether_shared::rolemap::RoleMapRule { remote: "*".into(), local: vec!["access".into()] }],
            ..Default::default()
        };
        let err = auth.upsert_trusted_cluster(TrustedCluster::new(LEAF, spec), true).await.unwrap_err();
        assert!(err.to_string().contains("trust runs one way"), "{err}");
        assert!(!auth.trust_active(LEAF).await, "the leaf's users are not trusted here");
    }
}
