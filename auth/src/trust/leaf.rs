//! The leaf's side of trust: `trusted_cluster` resources, asking the root for its CAs, storing
//! them with the role map, enabling and disabling.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

use tether_client::client::{ApiClient, ClientError, ServerTrust};
use tether_shared::api::{ValidateTrustedClusterRequest, ValidateTrustedClusterResponse};
use tether_shared::resource::{CaKeys, CaType, CertAuthority, Kind, Resource, TrustedCluster};
use tether_shared::rolemap::RoleMap;

use super::super::{AuthError, internal};
use tether_storage::records;

use super::{CA_TYPES, Trust, TrustChanges};

impl Trust {
    /// Creates or updates a `trusted_cluster` (leaf side). Establishes the trust with the root
    /// when this cluster holds none of its CAs yet; otherwise updates the role map and
    /// activates or deactivates the root's CAs. Returns whether it existed.
    pub async fn upsert_trusted_cluster(&self, mut tc: TrustedCluster, force: bool) -> Result<bool, AuthError> {
        let root = tc.metadata.name.clone();
        if root == self.core.cluster {
            return Err(AuthError::BadRequest(format!(
                "trusted_cluster {root:?}: that is this cluster's own name; name the root cluster"
            )));
        }
        RoleMap::compile(&tc.spec.role_map)
            .map_err(|e| AuthError::BadRequest(format!("trusted_cluster {root:?}: spec.role_map: {e}")))?;
        let key = records::key(Kind::TrustedCluster, &root);
        let existed = self.core.backend.get(&key).await?.is_some();
        if existed && !force {
            return Err(AuthError::Conflict(format!(
                "trusted_cluster {root:?} already exists; use tctl create --force to update it"
            )));
        }
        if records::get(&self.core.backend, &records::key(Kind::RemoteCluster, &root)).await?.is_some() {
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
                if let Err(e) = records::upsert(&self.core.backend, &Resource::CertAuthority(ca)).await {
                    let _ = self.delete_cas_of(&root).await;
                    return Err(e.into());
                }
            }
        } else if have_cas {
            // A token with an update asks the root again: after `tctl rm rc/LEAF` there, this
            // is how the leaf is registered anew. A token the root no longer takes (spent by the
            // first join, or expired) changes nothing: the trust keeps the CAs it has.
            if tc.spec.enabled && !tc.spec.token.trim().is_empty() {
                match self.ask_root(&tc).await {
                    Ok(cas) => {
                        self.sync_cas(super::Peer::Root, &root, &cas).await?;
                    }
                    Err(e) => tracing::info!(%root, "trusted_cluster updated without asking the root again: {e}"),
                }
            }
            self.set_root_cas(&root, tc.spec.enabled, Some(&tc.spec.role_map)).await?;
        }
        // The token has done its work (or will be asked for again): it is not kept.
        tc.spec.token.clear();
        tc.metadata.id = None;
        if let Err(e) = records::upsert(&self.core.backend, &Resource::TrustedCluster(tc)).await {
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
        if !self.core.backend.delete(&records::key(Kind::TrustedCluster, root)).await? {
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
    pub(super) async fn active_root_user_ca(&self, root: &str) -> Option<CertAuthority> {
        // Both reads at once: each is a hop to a blocking thread, on every transport's path.
        let key = records::key(Kind::TrustedCluster, root);
        let (tc, ca) = tokio::join!(records::get(&self.core.backend, &key), self.ca_of(root, CaType::User));
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
        Ok(records::list(&self.core.backend, &records::prefix(Kind::TrustedCluster))
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
            let key = records::ca_key(root, ca_type);
            // Compare-and-swap: a sync over the tunnel at the same moment never undoes this.
            let mut done = false;
            for _ in 0..5 {
                let Some((Resource::CertAuthority(mut ca), revision)) =
                    records::get_revision(&self.core.backend, &key).await?
                else {
                    done = true;
                    break;
                };
                if enabled {
                    // Keys deactivated during a rotation come back as one set; the root's next
                    // sync sorts them into active and additional again.
                    let old = std::mem::take(&mut ca.spec.deactivated_keys);
                    ca.spec.active_keys.merge(&old);
                } else {
                    let mut all = std::mem::take(&mut ca.spec.active_keys);
                    all.merge(&std::mem::take(&mut ca.spec.additional_trusted_keys));
                    all.merge(&std::mem::take(&mut ca.spec.deactivated_keys));
                    ca.spec.deactivated_keys = all;
                }
                if ca_type == CaType::User
                    && let Some(map) = role_map
                {
                    ca.spec.role_map = map.to_vec();
                }
                ca.metadata.id = None;
                match records::replace(&self.core.backend, &Resource::CertAuthority(ca), revision).await {
                    Ok(_) => {
                        done = true;
                        break;
                    }
                    Err(tether_storage::StorageError::Conflict { .. }) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            if !done {
                return Err(AuthError::Conflict(format!("the {ca_type} CA of {root} kept changing; try again")));
            }
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
                self.ca_of(&self.core.cluster, ca_type)
                    .await?
                    .ok_or_else(|| AuthError::fault(format!("this cluster's {ca_type} CA is missing")))?,
            );
        }
        let insecure = self.insecure.load(Ordering::Relaxed);
        let trust = if insecure { ServerTrust::Insecure } else { ServerTrust::WebPki };
        let client =
            ApiClient::new(addr, &trust, None).map_err(internal("building the client for the root cluster"))?;
        let req = ValidateTrustedClusterRequest {
            token: tc.spec.token.clone(),
            leaf_cluster: self.core.cluster.clone(),
            cas,
        };
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
        TrustChanges { watcher: self.core.backend.watch("/resources/") }
    }

    /// Whether outbound calls to a root skip HTTPS verification (`tether start --insecure`).
    pub fn insecure(&self) -> bool {
        self.insecure.load(Ordering::Relaxed)
    }

    /// What this daemon's tunnel agents hold, per root.
    pub fn links(&self) -> &crate::tunnel_status::LinkBoard {
        &self.links
    }

    /// Whether outbound calls to a root skip HTTPS verification (`tether start --insecure`).
    pub fn set_insecure(&self, insecure: bool) {
        self.insecure.store(insecure, Ordering::Relaxed);
    }

    /// The names of clusters this cluster trusts (it holds a `trusted_cluster` for them).
    pub async fn trusted_names(&self) -> Result<BTreeSet<String>, AuthError> {
        Ok(self.trusted_clusters().await?.into_iter().map(|tc| tc.metadata.name).collect())
    }
}
