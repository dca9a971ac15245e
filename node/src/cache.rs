//! The node's view of who may log in: the trusted user CAs and the cluster's roles, kept fresh
//! by long-polling the auth API (`/webapi/nodes/trust?known=REV&wait=S` answers as soon as
//! anything changes), so a new role, a removed role, a new trust or a deactivated CA takes
//! effect at once, without a restart. After a failure it retries every [`REFRESH_INTERVAL`]. It implements the SSH server's [`NodeTrust`].
//!
//! Roles of a user certified by the local cluster's CA are looked up by name; a user certified by
//! a trusted cluster's CA gets the local roles its `role_map` yields.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tether_client::client::ApiClient;
use tether_shared::api::NodeTrustState;
use tether_shared::current::Current;
use tether_shared::identity::Identity;
use tether_shared::labels::Labels;
use tether_shared::resource::{CaType, CertAuthority, Role};
use tether_shared::rolemap::RoleMap;

use tether_audit::{Event, Outcome};

use super::sshd::{NoRoles, NodeTrust};
use tether_audit::Audit;

/// How long to wait before asking again after a failure.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(1);
/// How long one long poll may wait for a change (below the client's request timeout).
pub const LONG_POLL: Duration = Duration::from_secs(15);

#[derive(Default)]
struct State {
    /// (cluster, key) for every active user CA, local first.
    cas: Vec<(String, russh::keys::PublicKey)>,
    /// Role maps of trusted clusters' user CAs.
    role_maps: HashMap<String, RoleMap>,
    roles: HashMap<String, Role>,
    /// The own cluster's host and TLS CAs.
    own_cas: Vec<CertAuthority>,
    /// The own cluster's trusted host CA keys.
    host_cas: Vec<russh::keys::PublicKey>,
    loaded: bool,
}

/// The node's cache of CAs and roles.
pub struct TrustCache {
    cluster: String,
    labels: Labels,
    audit: Arc<Audit>,
    state: RwLock<State>,
    /// Counts updates, for the node's certificate renewal.
    updates: tokio::sync::watch::Sender<u64>,
}

impl TrustCache {
    /// An empty cache for a node of `cluster` with `labels`.
    pub fn new(cluster: &str, labels: Labels, audit: Arc<Audit>) -> Arc<Self> {
        Arc::new(TrustCache {
            cluster: cluster.to_string(),
            labels,
            audit,
            state: RwLock::new(State::default()),
            updates: tokio::sync::watch::channel(0).0,
        })
    }

    /// Replaces the cached state.
    pub fn update(&self, fresh: NodeTrustState) {
        let mut state = State { loaded: true, ..State::default() };
        let mut cas = fresh.user_cas;
        // The local cluster's CA first.
        cas.sort_by_key(|ca| ca.spec.cluster_name != self.cluster);
        for ca in cas {
            let cluster = ca.spec.cluster_name.clone();
            for key in &ca.spec.trusted().ssh {
                match russh::keys::PublicKey::from_openssh(key) {
                    Ok(k) => state.cas.push((cluster.clone(), k)),
                    Err(e) => tracing::warn!(%cluster, "skipping an unreadable user CA key: {e}"),
                }
            }
            if cluster != self.cluster {
                match RoleMap::compile(&ca.spec.role_map) {
                    Ok(map) => {
                        state.role_maps.insert(cluster, map);
                    }
                    Err(e) => tracing::warn!(%cluster, "skipping an invalid role map: {e}"),
                }
            }
        }
        state.roles = fresh.roles.into_iter().map(|r| (r.metadata.name.clone(), r)).collect();
        state.own_cas = fresh.own_cas.into_iter().filter(|ca| ca.spec.cluster_name == self.cluster).collect();
        state.host_cas = state
            .own_cas
            .iter()
            .filter(|ca| ca.spec.ca_type == CaType::Host)
            .flat_map(|ca| ca.spec.trusted().ssh)
            .filter_map(|k| russh::keys::PublicKey::from_openssh(&k).ok())
            .collect();
        match self.state.write() {
            Ok(mut guard) => *guard = state,
            Err(poisoned) => *poisoned.into_inner() = state,
        }
        self.updates.send_modify(|n| *n += 1);
    }

    /// The own cluster's CA of `ca_type` (host or TLS), as last fetched.
    pub fn own_ca(&self, ca_type: CaType) -> Option<CertAuthority> {
        self.read().own_cas.iter().find(|ca| ca.spec.ca_type == ca_type).cloned()
    }

    /// Says when the cache was updated.
    pub fn updates(&self) -> tokio::sync::watch::Receiver<u64> {
        self.updates.subscribe()
    }

    /// Whether the first refresh has happened.
    pub fn loaded(&self) -> bool {
        self.state.read().map(|s| s.loaded).unwrap_or(false)
    }

    /// Refreshes from the API until `shutdown` fires.
    pub async fn refresh_loop(
        self: Arc<Self>,
        client: Arc<Current<ApiClient>>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut failing = false;
        let mut known = String::new();
        loop {
            let path = if known.is_empty() {
                "/webapi/nodes/trust".to_string()
            } else {
                format!("/webapi/nodes/trust?known={known}&wait={}", LONG_POLL.as_secs())
            };
            let api = client.get();
            let fetched = tokio::select! {
                _ = shutdown.changed() => return,
                fetched = api.get::<NodeTrustState>(&path) => fetched,
            };
            match fetched {
                Ok(fresh) => {
                    if failing {
                        tracing::info!("node: reached the auth API again");
                    }
                    failing = false;
                    let unchanged = !fresh.revision.is_empty() && fresh.revision == known;
                    known = fresh.revision.clone();
                    let long_poll = !known.is_empty();
                    if !unchanged {
                        self.update(fresh);
                    }
                    if long_poll {
                        continue;
                    }
                }
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!("node: cannot refresh CAs and roles (keeping the last ones): {e}");
                }
                Err(_) => {}
            }
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tokio::time::sleep(REFRESH_INTERVAL) => {}
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }
}

impl NodeTrust for TrustCache {
    fn user_cas(&self) -> Vec<(String, russh::keys::PublicKey)> {
        self.read().cas.clone()
    }

    fn cluster(&self) -> &str {
        &self.cluster
    }

    fn host_cas(&self) -> Vec<russh::keys::PublicKey> {
        self.read().host_cas.clone()
    }

    fn roles_for(&self, identity: &Identity, ca_cluster: &str) -> Result<Vec<Role>, NoRoles> {
        let state = self.read();
        let names = if ca_cluster == self.cluster {
            identity.roles.clone()
        } else {
            let map = state.role_maps.get(ca_cluster).ok_or_else(|| NoRoles::Untrusted(ca_cluster.to_string()))?;
            map.map(&identity.roles).map_err(|error| NoRoles::Mapping { cluster: ca_cluster.to_string(), error })?
        };
        let roles: Vec<Role> = names.iter().filter_map(|n| state.roles.get(n).cloned()).collect();
        if roles.is_empty() {
            return Err(NoRoles::Missing(names));
        }
        Ok(roles)
    }

    fn labels(&self) -> Labels {
        self.labels.clone()
    }

    fn audit(&self, event: Event, outcome: Outcome, user: &str, details: serde_json::Value) {
        self.audit.emit(event, outcome, user, details);
    }
}
