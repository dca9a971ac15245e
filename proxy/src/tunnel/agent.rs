//! The leaf's tunnel agents: for every enabled trusted cluster, a pool of agents that dial the
//! root's `tunnel_addr` (outbound only) and keep one tunnel to every root proxy.
//!
//! The manager ([`run`]) reconciles pools with the trusted clusters whenever one changes (and
//! every [`RECONCILE_INTERVAL`] in case another auth server changed it): a disabled or removed
//! trust closes its pool, and with it every tunnel, at once. Inside a pool, each agent
//! reconnects with jittered exponential backoff capped at [`BACKOFF_CAP`]; the root's `Hello`
//! names the proxy it reached and every live proxy, and an agent that lands on a proxy another
//! agent already holds hangs up and tries again, so behind a round-robin balancer the pool ends
//! up with one tunnel per root proxy.
//!
//! Transport channels from the root name their target: a node of this cluster (dialled at its
//! inventory address) or `@web` (this cluster's web API); `transport.rs` dials it, answers with a
//! status line, then relays bytes.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::ChannelMsg;
use russh::keys::{Certificate, PrivateKey, PublicKey};
use tether_shared::current::Current;
use tether_shared::proxy_header::Signer;
use tether_shared::resource::CaType;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::sync::{Notify, watch};

use tether_auth::AuthService;
use tether_auth::trust::Peer;
use tether_shared::tunnel::{Control, SUBSYSTEM, read_line};

use super::link::{AgentHandler, Transports, client_config};

/// How often the manager re-reads trusted clusters even without a change signal.
pub const RECONCILE_INTERVAL: Duration = Duration::from_secs(5);
/// How long dialling the root and logging in may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The first reconnect delay.
pub const BACKOFF_START: Duration = Duration::from_millis(100);
/// The longest reconnect delay (a leaf is back within about this of its root returning).
pub const BACKOFF_CAP: Duration = Duration::from_secs(2);
/// How long an agent waits before trying again after landing on a proxy another agent holds.
pub const DUPLICATE_RETRY: Duration = Duration::from_millis(200);
/// A replaced connection stays up at least this long (and while transports run), so the root
/// has the replacement before it loses the old one.
pub const RETIRE_MIN: Duration = Duration::from_secs(2);

/// A tunnel connection being replaced: kept (with its control channel open, so the root keeps
/// it) until its last transport ends, then hung up.
struct Retiring {
    handle: russh::client::Handle<AgentHandler>,
    _control: Box<dyn Send>,
    transports: Arc<Transports>,
}

impl Retiring {
    async fn finish(self, mut stop: watch::Receiver<bool>) {
        let since = tokio::time::Instant::now();
        loop {
            let ended = self.transports.ended.notified();
            if self.transports.active() == 0 && since.elapsed() >= RETIRE_MIN {
                break;
            }
            tokio::select! {
                () = tether_edge::listen::until_shutdown(&mut stop) => break,
                () = ended => {}
                () = tokio::time::sleep(RETIRE_MIN) => {}
            }
        }
        let _ = self.handle.disconnect(russh::Disconnect::ByApplication, "", "en").await;
    }
}

/// What a pool needs to know about its root.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    root: String,
    tunnel_addr: String,
}

/// Runs the agent pools of this leaf until `stop` fires.
pub async fn run(auth: Arc<AuthService>, web_addr: String, recycle_after: u64, mut stop: watch::Receiver<bool>) {
    let mut pools: HashMap<String, (Target, watch::Sender<bool>, tokio::task::JoinHandle<()>)> = HashMap::new();
    // Trust changed through any host sharing the storage wakes the reconcile at once.
    let mut changes = auth.trust().trust_changes();
    loop {
        match targets(&auth).await {
            Ok(wanted) => {
                let stale: Vec<String> = pools
                    .iter()
                    .filter(|(root, (target, _, _))| wanted.get(*root) != Some(target))
                    .map(|(root, _)| root.clone())
                    .collect();
                for root in stale {
                    if let Some((_, tx, task)) = pools.remove(&root) {
                        tracing::info!(%root, "tunnel: closing the tunnels to {root}");
                        let _ = tx.send(true);
                        let _ = task.await;
                    }
                }
                for (root, target) in wanted {
                    if pools.contains_key(&root) {
                        continue;
                    }
                    match Pool::new(&auth, &web_addr, &target, recycle_after) {
                        Ok(pool) => {
                            let (tx, rx) = watch::channel(false);
                            tracing::info!(%root, addr = %target.tunnel_addr, "tunnel: connecting to root cluster");
                            pools.insert(root, (target, tx, tokio::spawn(pool.run(rx))));
                        }
                        Err(e) => tracing::error!(%root, "tunnel: cannot start the agents: {e}"),
                    }
                }
            }
            Err(e) => tracing::warn!("tunnel: cannot read trusted clusters: {e}"),
        }
        tokio::select! {
            _ = stop.changed() => break,
            () = changes.next() => {}
            _ = tokio::time::sleep(RECONCILE_INTERVAL) => {}
        }
    }
    for (_, (_, tx, task)) in pools {
        let _ = tx.send(true);
        let _ = task.await;
    }
}

/// The enabled trusted clusters whose host CA is active here.
async fn targets(auth: &AuthService) -> Result<HashMap<String, Target>, tether_auth::AuthError> {
    let mut out = HashMap::new();
    for tc in auth.trust().trusted_clusters().await? {
        if !tc.spec.enabled {
            continue;
        }
        if root_host_cas(auth, &tc.metadata.name).await?.is_empty() {
            continue;
        }
        let root = tc.metadata.name.clone();
        out.insert(root.clone(), Target { root, tunnel_addr: tc.spec.tunnel_addr.clone() });
    }
    Ok(out)
}

/// The root's host CA keys this leaf trusts now (two while the root rotates them): read at each
/// connection, so a rotation on the root changes no running tunnel.
async fn root_host_cas(auth: &AuthService, root: &str) -> Result<Vec<PublicKey>, tether_auth::AuthError> {
    let Some(ca) = auth.trust().ca_of(root, CaType::Host).await? else { return Ok(Vec::new()) };
    Ok(ca
        .spec
        .active_keys
        .ssh
        .iter()
        .chain(&ca.spec.additional_trusted_keys.ssh)
        .filter_map(|k| PublicKey::from_openssh(k).ok())
        .collect())
}

#[derive(Default)]
struct PoolState {
    /// Root proxies an agent of this pool holds a tunnel to.
    claimed: HashSet<String>,
    /// How many root proxies the last `Hello` listed.
    known: usize,
    /// Agents running.
    agents: usize,
}

/// The agents of one trusted cluster.
struct Pool {
    target: Target,
    leaf: String,
    key: Arc<PrivateKey>,
    /// The pool's host certificate, renewed when this leaf's host CA rotates.
    cert: Current<Certificate>,
    /// Signs, with the same key and certificate, the address of each user it relays to a node.
    signer: Arc<Current<Signer>>,
    auth: Arc<AuthService>,
    web_addr: String,
    recycle_after: u64,
    state: Mutex<PoolState>,
    wake: Notify,
}

impl Pool {
    fn new(auth: &Arc<AuthService>, web_addr: &str, target: &Target, recycle_after: u64) -> Result<Arc<Pool>, String> {
        let key = tether_shared::ssh_cert::generate_ed25519_key().map_err(|e| e.to_string())?;
        let leaf = auth.cluster_name().to_string();
        let cert = auth.authority().proxy_host_cert(key.public_key(), vec![leaf.clone()]).map_err(|e| e.to_string())?;
        let signer = Arc::new(Current::new(Signer::new(&key, &cert).map_err(|e| e.to_string())?));
        Ok(Arc::new(Pool {
            signer,
            target: target.clone(),
            leaf,
            key: Arc::new(key),
            cert: Current::new(cert),
            auth: auth.clone(),
            web_addr: web_addr.to_string(),
            recycle_after: recycle_after.max(1),
            state: Mutex::new(PoolState::default()),
            wake: Notify::new(),
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A host certificate for the pool's key from the key this leaf's host CA signs with now,
    /// and the signer of users' addresses with both: after a rotation phase, new tunnels log in
    /// with it, and every node keeps believing the addresses the pool signs.
    fn renew(&self) -> Result<(), String> {
        let cert = self
            .auth
            .authority()
            .proxy_host_cert(self.key.public_key(), vec![self.leaf.clone()])
            .map_err(|e| e.to_string())?;
        self.signer.set(Signer::new(&self.key, &cert).map_err(|e| e.to_string())?);
        self.cert.set(cert);
        Ok(())
    }

    /// Keeps one agent per known root proxy (at least one) until `stop` fires.
    async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut agents = tokio::task::JoinSet::new();
        let mut cas = self.auth.authority().changes();
        loop {
            {
                let mut state = self.lock();
                while state.agents < state.known.max(1) {
                    state.agents += 1;
                    agents.spawn(self.clone().agent(stop.clone()));
                }
            }
            tokio::select! {
                _ = stop.changed() => break,
                () = self.wake.notified() => {}
                Some(_) = agents.join_next() => {}
                Ok(()) = cas.changed() => {
                    if let Err(e) = self.renew() {
                        tracing::warn!(root = %self.target.root, "tunnel: cannot renew the agents' certificate: {e}");
                    }
                }
            }
        }
        // Agents see `stop` and hang up; anything still dialling is cancelled.
        let _ =
            tokio::time::timeout(Duration::from_secs(2), async { while agents.join_next().await.is_some() {} }).await;
        agents.shutdown().await;
    }

    /// One agent: connect, serve, reconnect with backoff. Returns when stopped or when the pool
    /// has more agents than root proxies.
    async fn agent(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut delay = BACKOFF_START;
        let mut failing = false;
        // Connections this agent replaced, finishing their transports.
        let mut retiring = tokio::task::JoinSet::new();
        loop {
            while retiring.try_join_next().is_some() {}
            // connect_once watches `stop` itself, so a tunnel that is up is always closed with a
            // disconnect message rather than dropped (a dropped russh handle can linger).
            let outcome = self.connect_once(stop.clone()).await;
            let wait = match outcome {
                Ok(Outcome::Served) => {
                    failing = false;
                    delay = BACKOFF_START;
                    jitter(BACKOFF_START)
                }
                Ok(Outcome::Duplicate) => {
                    let state = self.lock();
                    if state.agents > state.known.max(1) {
                        break;
                    }
                    jitter(DUPLICATE_RETRY)
                }
                Ok(Outcome::Retired(old)) => {
                    retiring.spawn(old.finish(stop.clone()));
                    failing = false;
                    delay = BACKOFF_START;
                    Duration::ZERO
                }
                Ok(Outcome::Stopped) => break,
                Err(e) => {
                    self.auth.trust().links().failed(&self.target.root, &e);
                    if !failing {
                        tracing::warn!(root = %self.target.root, addr = %self.target.tunnel_addr, "tunnel: {e}; retrying");
                    } else {
                        tracing::debug!(root = %self.target.root, "tunnel: {e}");
                    }
                    failing = true;
                    let wait = jitter(delay);
                    delay = (delay * 2).min(BACKOFF_CAP);
                    wait
                }
            };
            tokio::select! {
                _ = stop.changed() => break,
                _ = tokio::time::sleep(wait) => {}
            }
        }
        // Retiring connections see `stop` too and hang up.
        let _ =
            tokio::time::timeout(Duration::from_secs(2), async { while retiring.join_next().await.is_some() {} }).await;
        self.lock().agents -= 1;
        self.wake.notify_one();
    }

    async fn connect_once(&self, mut stop: watch::Receiver<bool>) -> Result<Outcome, String> {
        let addr = &self.target.tunnel_addr;
        let refusal = Arc::new(Mutex::new(None));
        let counts = Transports::new(self.recycle_after);
        let handler = AgentHandler {
            root: self.target.root.clone(),
            leaf: self.leaf.clone(),
            host_cas: root_host_cas(&self.auth, &self.target.root).await.map_err(|e| e.to_string())?,
            refusal: refusal.clone(),
            auth: self.auth.clone(),
            signer: self.signer.clone(),
            web_addr: self.web_addr.clone(),
            transports: tokio::task::JoinSet::new(),
            counts: counts.clone(),
        };
        let connect = async {
            let tcp = tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("cannot reach {addr}: {e}"))?;
            let _ = tcp.set_nodelay(true);
            let mut handle = russh::client::connect_stream(client_config(), tcp, handler).await.map_err(|e| {
                match refusal.lock().ok().and_then(|r| r.clone()) {
                    Some(why) => format!("the root at {addr} is not trusted: {why}"),
                    None => format!("SSH handshake with {addr} failed: {e}"),
                }
            })?;
            let auth = handle
                .authenticate_openssh_cert(&self.leaf, self.key.clone(), (*self.cert.get()).clone())
                .await
                .map_err(|e| format!("login at {addr} failed: {e}"))?;
            if !auth.success() {
                return Err(format!(
                    "the root at {addr} refused this leaf's tunnel (was the remote cluster removed on the root? then create the trust again)"
                ));
            }
            let mut channel = handle.channel_open_session().await.map_err(|e| format!("control channel: {e}"))?;
            channel.request_subsystem(true, SUBSYSTEM).await.map_err(|e| format!("control channel: {e}"))?;
            loop {
                match channel.wait().await {
                    Some(ChannelMsg::Success) => break,
                    Some(ChannelMsg::Failure) | Some(ChannelMsg::Close) | None => {
                        return Err(format!("the root at {addr} refused the tunnel's control channel"));
                    }
                    Some(_) => {}
                }
            }
            Ok::<_, String>((handle, channel))
        };
        let (handle, channel) = tokio::select! {
            _ = stop.changed() => return Ok(Outcome::Stopped),
            connected = tokio::time::timeout(CONNECT_TIMEOUT, connect) => {
                connected.map_err(|_| format!("connecting to {addr} timed out"))??
            }
        };
        let (read, mut write) = tokio::io::split(channel.into_stream());
        let mut read = BufReader::with_capacity(1024, read);
        let hello = match tokio::time::timeout(CONNECT_TIMEOUT, read_line(&mut read)).await {
            Ok(Ok(Some(line))) => match serde_json::from_str::<Control>(&line) {
                Ok(Control::Hello { proxy_id, heartbeat_ms, proxies, ca_sync }) => {
                    Ok((proxy_id, heartbeat_ms, proxies, ca_sync))
                }
                _ => Err(format!("unexpected first control message from the root: {line}")),
            },
            Ok(Ok(None)) => Err("the root closed the control channel".to_string()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("no hello from the root".to_string()),
        };
        let (proxy_id, mut heartbeat, ca_sync) = match hello {
            Ok((proxy_id, heartbeat_ms, proxies, ca_sync)) => {
                self.lock().known = proxies.len();
                self.wake.notify_one();
                (proxy_id, Duration::from_millis(heartbeat_ms.max(100)), ca_sync)
            }
            Err(e) => {
                let _ = handle.disconnect(russh::Disconnect::ByApplication, "", "en").await;
                return Err(e);
            }
        };
        if !self.lock().claimed.insert(proxy_id.clone()) {
            let _ = handle.disconnect(russh::Disconnect::ByApplication, "", "en").await;
            return Ok(Outcome::Duplicate);
        }
        tracing::info!(root = %self.target.root, proxy = %proxy_id, "tunnel: connected");
        let links = self.auth.trust().links();
        links.up(&self.target.root, &proxy_id);
        let beat = Control::Heartbeat { version: tether_shared::VERSION.to_string() }.line();
        let mut ticker = tokio::time::interval(heartbeat);
        // This leaf's CAs, now and after each of their rotation phases (for a root that reads them).
        let mut cas = self.auth.authority().changes();
        cas.mark_changed();
        let mut last_sync = None;
        let outcome = loop {
            tokio::select! {
                Ok(()) = cas.changed(), if ca_sync => {
                    match self.auth.trust().own_cas() {
                        Ok(own) => if write.write_all(Control::Authorities { cas: own }.line().as_bytes()).await.is_err() {
                            break Outcome::Served;
                        },
                        Err(e) => tracing::warn!("tunnel: cannot send this cluster's CAs: {}", e.chain()),
                    }
                }
                _ = stop.changed() => break Outcome::Stopped,
                () = counts.recycle.notified() => {
                    if write.write_all(Control::Retire.line().as_bytes()).await.is_err() || write.flush().await.is_err() {
                        break Outcome::Served;
                    }
                    tracing::info!(root = %self.target.root, proxy = %proxy_id, "tunnel: replacing a connection after {} transports", self.recycle_after);
                    self.lock().claimed.remove(&proxy_id);
                    links.down(&self.target.root, &proxy_id);
                    return Ok(Outcome::Retired(Retiring { handle, _control: Box::new((read, write)), transports: counts }));
                }
                _ = ticker.tick() => {
                    if write.write_all(beat.as_bytes()).await.is_err() {
                        break Outcome::Served;
                    }
                    links.beat(&self.target.root, &proxy_id);
                }
                line = read_line(&mut read) => match line {
                    Ok(Some(line)) => match serde_json::from_str::<Control>(&line) {
                        Ok(Control::Hello { proxies, heartbeat_ms, .. }) => {
                            self.lock().known = proxies.len();
                            self.wake.notify_one();
                            let every = Duration::from_millis(heartbeat_ms.max(100));
                            if every != heartbeat {
                                heartbeat = every;
                                ticker = tokio::time::interval(heartbeat);
                            }
                        }
                        Ok(Control::Authorities { cas }) => {
                            tether_shared::tunnel::pace_ca_sync(&mut last_sync).await;
                            if let Err(e) = self.auth.trust().sync_cas(Peer::Root, &self.target.root, &cas).await {
                                tracing::warn!(root = %self.target.root, "tunnel: cannot store the CAs the root sent: {}", e.chain());
                            }
                        }
                        Ok(Control::Drain) => {
                            tracing::info!(root = %self.target.root, proxy = %proxy_id, "tunnel: the root proxy is stopping");
                            break Outcome::Served;
                        }
                        _ => tracing::debug!("tunnel: ignoring control message {line}"),
                    },
                    Ok(None) | Err(_) => break Outcome::Served,
                },
            }
        };
        self.lock().claimed.remove(&proxy_id);
        links.down(&self.target.root, &proxy_id);
        let _ = handle.disconnect(russh::Disconnect::ByApplication, "", "en").await;
        tracing::info!(root = %self.target.root, proxy = %proxy_id, "tunnel: disconnected");
        Ok(outcome)
    }
}

/// How a connection ended.
enum Outcome {
    /// It was up, then closed: reconnect soon.
    Served,
    /// It reached a proxy another agent holds.
    Duplicate,
    /// The pool is stopping.
    Stopped,
    /// It carried enough transports: a fresh one replaces it (at once) while it finishes.
    Retired(Retiring),
}

/// A delay between half and all of `max`, so agents do not reconnect in lockstep.
fn jitter(max: Duration) -> Duration {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 2];
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    let frac = f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX);
    max.mul_f64(0.5 + 0.5 * frac)
}
