//! Tunnel status and root-proxy discovery, shared through storage so every root proxy (and
//! every auth server reading `remote_cluster` status) sees the same picture.
//!
//! Each root proxy owns one record `/tunnel_status/PROXY_ID`: when it was written and, per leaf,
//! the last heartbeat and whether a tunnel is up. It is rewritten at most once per heartbeat
//! interval (and soon after a tunnel comes or goes), never per heartbeat, so 10,000 leaves cost
//! one write every few seconds. A leaf is `online` when a record written within the offline
//! window says its tunnel is up and its last heartbeat is within the window; a proxy that dies
//! stops rewriting its record, so its leaves turn `offline` by themselves.
//!
//! Each root proxy also registers `/proxies/PROXY_ID` with a short expiry: the discovery list
//! agents learn in their `Hello`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tether_shared::resource::{Connection, RemoteClusterStatus};
use time::OffsetDateTime;

use tether_storage::{Backend, StorageError};

/// Where proxies keep their tunnel status records.
pub const STATUS_PREFIX: &str = "/tunnel_status/";
/// Where proxies register for discovery.
pub const PROXY_PREFIX: &str = "/proxies/";
/// How long a dead proxy's status record is kept (it still tells `last_heartbeat`).
pub const STATUS_RECORD_TTL: Duration = Duration::from_secs(3600);

/// One leaf in a proxy's status record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeafStatus {
    /// The last heartbeat, Unix milliseconds.
    pub last_heartbeat_ms: i64,
    /// Whether a tunnel to this proxy is up.
    pub connected: bool,
}

/// A proxy's status record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusRecord {
    /// The proxy.
    pub proxy_id: String,
    /// When the record was written, Unix milliseconds.
    pub written_ms: i64,
    /// Per leaf.
    pub leaves: BTreeMap<String, LeafStatus>,
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Writes a proxy's record.
pub async fn write_record(backend: &Arc<dyn Backend>, record: &StatusRecord) -> Result<(), StorageError> {
    let value = serde_json::to_vec(record).map_err(|e| StorageError::backend_msg(e.to_string()))?;
    backend
        .put(&format!("{STATUS_PREFIX}{}", record.proxy_id), value, Some(SystemTime::now() + STATUS_RECORD_TTL))
        .await?;
    Ok(())
}

/// Each leaf's connection and last heartbeat, from every proxy's record.
pub async fn leaf_statuses(
    backend: &Arc<dyn Backend>,
    window: Duration,
) -> Result<HashMap<String, RemoteClusterStatus>, StorageError> {
    let now = now_ms();
    let window = window.as_millis() as i64;
    let mut out: HashMap<String, RemoteClusterStatus> = HashMap::new();
    for item in backend.range(STATUS_PREFIX).await? {
        let Ok(record) = serde_json::from_slice::<StatusRecord>(&item.value) else {
            tracing::warn!(key = %item.key, "skipping an unreadable tunnel status record");
            continue;
        };
        let fresh = now - record.written_ms <= window;
        for (leaf, s) in record.leaves {
            let online = fresh && s.connected && now - s.last_heartbeat_ms <= window;
            let entry = out.entry(leaf).or_default();
            if online {
                entry.connection = Connection::Online;
            }
            let beat = OffsetDateTime::from_unix_timestamp_nanos(i128::from(s.last_heartbeat_ms) * 1_000_000).ok();
            if beat > entry.last_heartbeat {
                entry.last_heartbeat = beat;
            }
        }
    }
    Ok(out)
}

/// The tunnel each live root proxy (its record written within `window`) records for `leaf`:
/// (proxy ID, up now, last heartbeat).
pub async fn leaf_tunnels(
    backend: &Arc<dyn Backend>,
    leaf: &str,
    window: Duration,
) -> Result<Vec<(String, bool, Option<OffsetDateTime>)>, StorageError> {
    let now = now_ms();
    let window = window.as_millis() as i64;
    let mut out = Vec::new();
    for item in backend.range(STATUS_PREFIX).await? {
        let Ok(record) = serde_json::from_slice::<StatusRecord>(&item.value) else { continue };
        if now - record.written_ms > window {
            continue;
        }
        let s = record.leaves.get(leaf);
        let up = s.is_some_and(|s| s.connected && now - s.last_heartbeat_ms <= window);
        let beat =
            s.and_then(|s| OffsetDateTime::from_unix_timestamp_nanos(i128::from(s.last_heartbeat_ms) * 1_000_000).ok());
        out.push((record.proxy_id, up, beat));
    }
    Ok(out)
}

/// A root proxy, as discovery lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyRecord {
    /// The proxy's ID.
    pub id: String,
    /// Its own tunnel address (informational: agents reach proxies through `tunnel_addr`).
    pub tunnel_addr: String,
}

/// Registers (or refreshes) a proxy for `ttl`.
pub async fn register_proxy(
    backend: &Arc<dyn Backend>,
    record: &ProxyRecord,
    ttl: Duration,
) -> Result<(), StorageError> {
    let value = serde_json::to_vec(record).map_err(|e| StorageError::backend_msg(e.to_string()))?;
    backend.put(&format!("{PROXY_PREFIX}{}", record.id), value, Some(SystemTime::now() + ttl)).await?;
    Ok(())
}

/// Removes a proxy from discovery (on shutdown).
pub async fn unregister_proxy(backend: &Arc<dyn Backend>, id: &str) -> Result<(), StorageError> {
    backend.delete(&format!("{PROXY_PREFIX}{id}")).await?;
    Ok(())
}

/// The live proxies' IDs.
pub async fn proxy_ids(backend: &Arc<dyn Backend>) -> Result<Vec<String>, StorageError> {
    Ok(backend
        .range(PROXY_PREFIX)
        .await?
        .iter()
        .filter_map(|item| serde_json::from_slice::<ProxyRecord>(&item.value).ok())
        .map(|p| p.id)
        .collect())
}

/// One tunnel this leaf's agents hold to a root proxy.
#[derive(Debug, Clone)]
pub struct Link {
    /// When it came up.
    pub since: OffsetDateTime,
    /// When the agent last sent a heartbeat on it.
    pub last_heartbeat: OffsetDateTime,
}

/// What this leaf's agents hold for one root: a tunnel per root proxy, and their last failure.
#[derive(Debug, Clone, Default)]
pub struct RootLinks {
    /// By root proxy ID.
    pub tunnels: BTreeMap<String, Link>,
    /// When and why an agent last failed to connect.
    pub last_error: Option<(OffsetDateTime, String)>,
}

/// This daemon's tunnel agents as they stand (the leaf's side; the trust doctor reads it). Kept
/// in memory only: each host knows its own agents.
#[derive(Debug, Default)]
pub struct LinkBoard {
    roots: std::sync::Mutex<HashMap<String, RootLinks>>,
}

impl LinkBoard {
    fn with<T>(&self, root: &str, f: impl FnOnce(&mut RootLinks) -> T) -> T {
        let mut roots = self.roots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(roots.entry(root.to_string()).or_default())
    }

    /// A tunnel to `proxy` of `root` came up.
    pub fn up(&self, root: &str, proxy: &str) {
        let now = OffsetDateTime::now_utc();
        self.with(root, |r| r.tunnels.insert(proxy.to_string(), Link { since: now, last_heartbeat: now }));
    }

    /// A heartbeat went out on it.
    pub fn beat(&self, root: &str, proxy: &str) {
        self.with(root, |r| {
            if let Some(link) = r.tunnels.get_mut(proxy) {
                link.last_heartbeat = OffsetDateTime::now_utc();
            }
        });
    }

    /// It ended.
    pub fn down(&self, root: &str, proxy: &str) {
        self.with(root, |r| r.tunnels.remove(proxy));
    }

    /// An agent failed to connect to `root`.
    pub fn failed(&self, root: &str, why: &str) {
        self.with(root, |r| r.last_error = Some((OffsetDateTime::now_utc(), why.to_string())));
    }

    /// What the agents hold for `root` now.
    pub fn get(&self, root: &str) -> RootLinks {
        self.roots.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(root).cloned().unwrap_or_default()
    }
}
