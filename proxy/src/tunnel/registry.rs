//! The root proxy's live tunnels: which leaf has which SSH connections here, their heartbeats,
//! and opening transport channels through them.
//!
//! Heartbeats only touch memory; [`Registry::run_flusher`] writes this proxy's status record
//! (see `tether_auth::tunnel_status`) once per heartbeat interval and soon after a tunnel comes or goes, keeps
//! the proxy registered for discovery, and drops tunnels of leaves whose `remote_cluster` was
//! deleted (by this or another auth server).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::server::Handle;
use tether_shared::resource::Kind;
use tokio::io::BufReader;
use tokio::sync::{Notify, watch};

use super::flow::{self, FlowStream, Pump};
use tether_auth::AuthService;
use tether_auth::tunnel_status::{self as status, LeafStatus, ProxyRecord, StatusRecord, now_ms};
use tether_storage::{EventKind, WatchEvent, records};

/// How long opening a transport channel (and the agent's dial behind it) may take.
pub const OPEN_TIMEOUT: Duration = Duration::from_secs(10);
/// How soon after a tunnel comes or goes the status record is rewritten.
pub const FLUSH_DEBOUNCE: Duration = Duration::from_millis(150);

/// A transport channel into a leaf, after the agent reported a successful dial.
pub struct Transport {
    /// The bytes to and from the target.
    pub stream: BufReader<FlowStream>,
    /// Moves them: run it alongside the stream's user until both end (see `flow.rs`).
    pub pump: Pump,
}

/// Why a transport could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// No tunnel from that leaf to this proxy.
    #[error("cluster {0:?} is offline: it has no tunnel to this proxy")]
    Offline(String),
    /// The agent could not reach the target (its words).
    #[error("{0}")]
    Refused(String),
    /// The tunnel failed.
    #[error("the tunnel to cluster {cluster:?} failed: {cause}")]
    Tunnel {
        /// The leaf.
        cluster: String,
        /// Why.
        cause: String,
    },
}

struct Tunnel {
    id: u64,
    handle: Handle,
    /// The agent is replacing this connection: new transports go here only when no other
    /// tunnel of the leaf answers.
    retiring: bool,
}

#[derive(Default)]
struct Inner {
    tunnels: HashMap<String, Vec<Tunnel>>,
    leaves: BTreeMap<String, LeafStatus>,
}

/// The registry of one root proxy.
pub struct Registry {
    proxy_id: String,
    tunnel_addr: String,
    heartbeat: Duration,
    window: Duration,
    inner: Mutex<Inner>,
    dirty: Notify,
    next_id: AtomicU64,
    proxies: watch::Sender<Vec<String>>,
    /// This cluster's CAs as one `Control::Authorities` line, built once per revision of the
    /// key record and shared by every tunnel (10,000 hellos need it at once).
    ca_line: Mutex<Option<(u64, Arc<str>)>>,
}

impl Registry {
    /// A registry for proxy `proxy_id`, whose agents heartbeat every `heartbeat` and count as
    /// offline after `window` of silence.
    pub fn new(proxy_id: String, tunnel_addr: String, heartbeat: Duration, window: Duration) -> Arc<Self> {
        let (proxies, _) = watch::channel(vec![proxy_id.clone()]);
        Arc::new(Registry {
            proxy_id,
            tunnel_addr,
            heartbeat,
            window,
            inner: Mutex::new(Inner::default()),
            dirty: Notify::new(),
            next_id: AtomicU64::new(1),
            proxies,
            ca_line: Mutex::new(None),
        })
    }

    /// The `Control::Authorities` line of this cluster's CAs now (built at most once per
    /// revision of the key record).
    pub fn ca_line(&self, auth: &AuthService) -> Result<Arc<str>, tether_auth::AuthError> {
        let revision = auth.authority().keyring().revision;
        let mut cached = self.ca_line.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, line)) = &*cached
            && *at == revision
        {
            return Ok(line.clone());
        }
        let line: Arc<str> = tether_shared::tunnel::Control::Authorities { cas: auth.trust().own_cas()? }.line().into();
        *cached = Some((revision, line.clone()));
        Ok(line)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// This proxy's ID.
    pub fn proxy_id(&self) -> &str {
        &self.proxy_id
    }

    /// The heartbeat interval agents are told.
    pub fn heartbeat_interval(&self) -> Duration {
        self.heartbeat
    }

    /// The silence after which a tunnel is dropped and its leaf is offline.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// The live root proxies, as last read from storage.
    pub fn proxies(&self) -> watch::Receiver<Vec<String>> {
        self.proxies.subscribe()
    }

    /// Records a new tunnel from `cluster`; returns its ID for [`Registry::unregister`].
    pub fn register(&self, cluster: &str, handle: Handle) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut inner = self.lock();
        inner.tunnels.entry(cluster.to_string()).or_default().push(Tunnel { id, handle, retiring: false });
        inner.leaves.insert(cluster.to_string(), LeafStatus { last_heartbeat_ms: now_ms(), connected: true });
        drop(inner);
        self.dirty.notify_one();
        id
    }

    /// Forgets a tunnel.
    pub fn unregister(&self, cluster: &str, id: u64) {
        let mut inner = self.lock();
        let left = match inner.tunnels.get_mut(cluster) {
            Some(list) => {
                list.retain(|t| t.id != id);
                list.len()
            }
            None => 0,
        };
        if left == 0 {
            inner.tunnels.remove(cluster);
            if let Some(s) = inner.leaves.get_mut(cluster) {
                s.connected = false;
            }
        }
        drop(inner);
        self.dirty.notify_one();
    }

    /// Marks a tunnel as being replaced by its agent (see `agent.rs`): it keeps its transports
    /// but gets new ones only as a last resort.
    pub fn retire(&self, cluster: &str, id: u64) {
        if let Some(t) = self.lock().tunnels.get_mut(cluster).and_then(|l| l.iter_mut().find(|t| t.id == id)) {
            t.retiring = true;
        }
    }

    /// Records a heartbeat (memory only).
    pub fn heartbeat(&self, cluster: &str) {
        if let Some(s) = self.lock().leaves.get_mut(cluster) {
            s.last_heartbeat_ms = now_ms();
        }
    }

    /// How many tunnels this proxy holds, per leaf.
    pub fn tunnel_counts(&self) -> BTreeMap<String, usize> {
        self.lock().tunnels.iter().map(|(k, v)| (k.clone(), v.len())).collect()
    }

    /// Drops every tunnel of `cluster` and forgets it (its remote cluster was deleted).
    pub async fn drop_cluster(&self, cluster: &str) {
        let tunnels = {
            let mut inner = self.lock();
            inner.leaves.remove(cluster);
            inner.tunnels.remove(cluster).unwrap_or_default()
        };
        for t in tunnels {
            let _ = t
                .handle
                .disconnect(russh::Disconnect::ByApplication, "the remote cluster was removed".into(), "en".into())
                .await;
        }
        self.dirty.notify_one();
    }

    /// Opens a transport to `target:port` inside `cluster` for the user at `client` (the
    /// channel's originator: the leaf's agent signs it for its node), newest tunnel first,
    /// retiring ones last.
    pub async fn open(
        &self,
        cluster: &str,
        target: &str,
        port: u16,
        client: std::net::SocketAddr,
    ) -> Result<Transport, OpenError> {
        let handles: Vec<Handle> = {
            let inner = self.lock();
            let list = inner.tunnels.get(cluster).map(Vec::as_slice).unwrap_or_default();
            let fresh = list.iter().rev().filter(|t| !t.retiring);
            fresh.chain(list.iter().rev().filter(|t| t.retiring)).map(|t| t.handle.clone()).collect()
        };
        if handles.is_empty() {
            return Err(OpenError::Offline(cluster.to_string()));
        }
        let mut last = String::new();
        for handle in handles {
            let opened = tokio::time::timeout(OPEN_TIMEOUT, async {
                let channel = handle
                    .channel_open_direct_tcpip(
                        target,
                        u32::from(port),
                        client.ip().to_string(),
                        u32::from(client.port()),
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                let (stream, mut pump) = flow::wrap(channel);
                let mut stream = BufReader::with_capacity(16 * 1024, stream);
                let line = tokio::select! {
                    line = tether_shared::tunnel::read_line(&mut stream) => line.map_err(|e| e.to_string())?,
                    () = &mut pump => None,
                };
                Ok::<_, String>((Transport { stream, pump }, line))
            })
            .await;
            match opened {
                Ok(Ok((transport, Some(line)))) if line == tether_shared::tunnel::STATUS_OK => return Ok(transport),
                Ok(Ok((_, Some(line)))) => {
                    return Err(OpenError::Refused(line.strip_prefix("ERR ").unwrap_or(&line).to_string()));
                }
                Ok(Ok((_, None))) => last = "the agent closed the channel".into(),
                Ok(Err(e)) => last = e,
                Err(_) => last = format!("no answer within {OPEN_TIMEOUT:?}"),
            }
        }
        Err(OpenError::Tunnel { cluster: cluster.to_string(), cause: last })
    }

    fn record(&self) -> StatusRecord {
        StatusRecord { proxy_id: self.proxy_id.clone(), written_ms: now_ms(), leaves: self.lock().leaves.clone() }
    }

    /// Writes the status record and discovery entry until `stop` fires; removes the discovery
    /// entry and marks every leaf disconnected on the way out.
    pub async fn run_flusher(self: Arc<Self>, auth: Arc<AuthService>, mut stop: watch::Receiver<bool>) {
        let backend = auth.backend().clone();
        let me = ProxyRecord { id: self.proxy_id.clone(), tunnel_addr: self.tunnel_addr.clone() };
        let mut tick = tokio::time::interval(self.heartbeat);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // A remote cluster deleted through any host sharing the storage drops its tunnels here
        // at once; the full check on every tick stays as the backstop (and after lost events).
        let rc_prefix = records::prefix(Kind::RemoteCluster);
        let mut removals = backend.watch(&rc_prefix);
        let mut watching = true;
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                event = removals.next(), if watching => {
                    match event {
                        Some(WatchEvent::Event(e)) if e.kind == EventKind::Delete => {
                            if let Some(cluster) = e.item.key.strip_prefix(&rc_prefix) {
                                tracing::info!(%cluster, "tunnel: remote cluster removed, dropping its tunnels");
                                self.drop_cluster(cluster).await;
                            }
                        }
                        Some(WatchEvent::Event(_)) => {}
                        Some(WatchEvent::Lagged(_)) => self.drop_removed(&auth).await,
                        // Storage closed: the tick's full check is all that is left.
                        None => watching = false,
                    }
                    continue;
                }
                _ = tick.tick() => {
                    if let Err(e) = status::register_proxy(&backend, &me, self.window).await {
                        tracing::warn!("tunnel: cannot register this proxy for discovery: {e}");
                    }
                    match status::proxy_ids(&backend).await {
                        Ok(mut ids) => {
                            if !ids.contains(&self.proxy_id) {
                                ids.push(self.proxy_id.clone());
                            }
                            ids.sort();
                            self.proxies.send_if_modified(|old| if *old != ids { *old = ids; true } else { false });
                        }
                        Err(e) => tracing::warn!("tunnel: cannot read the proxy list: {e}"),
                    }
                    self.drop_removed(&auth).await;
                }
                _ = self.dirty.notified() => tokio::time::sleep(FLUSH_DEBOUNCE).await,
            }
            if let Err(e) = status::write_record(&backend, &self.record()).await {
                tracing::warn!("tunnel: cannot write the tunnel status: {e}");
            }
        }
        let mut last = self.record();
        for s in last.leaves.values_mut() {
            s.connected = false;
        }
        let _ = status::write_record(&backend, &last).await;
        let _ = status::unregister_proxy(&backend, &self.proxy_id).await;
    }

    /// Drops tunnels and entries of leaves that no longer have a `remote_cluster`.
    async fn drop_removed(&self, auth: &AuthService) {
        let known: HashSet<String> = match auth.backend().range(&records::prefix(Kind::RemoteCluster)).await {
            Ok(items) => items.iter().filter_map(|i| i.key.rsplit('/').next().map(str::to_string)).collect(),
            Err(e) => return tracing::warn!("tunnel: cannot list remote clusters: {e}"),
        };
        let gone: Vec<String> = self.lock().leaves.keys().filter(|k| !known.contains(*k)).cloned().collect();
        for cluster in gone {
            tracing::info!(%cluster, "tunnel: remote cluster removed, dropping its tunnels");
            self.drop_cluster(&cluster).await;
        }
    }
}
