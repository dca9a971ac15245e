//! One agent connection's SSH client side: the check of the root proxy's host certificate
//! (against the root's host CAs this leaf stores, or a key they endorsed), the transports the
//! root opens on it, and their count, which decides when the connection is replaced.

use std::sync::{Arc, Mutex};

use russh::Channel;
use russh::keys::PublicKey;
use tether_auth::AuthService;
use tether_shared::current::Current;
use tether_shared::proxy_header::Signer;
use tokio::sync::Notify;

/// The transports of one tunnel connection: how many so far, how many running.
pub(super) struct Transports {
    pub(super) recycle_after: u64,
    total: std::sync::atomic::AtomicU64,
    active: std::sync::atomic::AtomicUsize,
    /// Wakes the agent once, when the connection has carried `recycle_after` transports.
    pub(super) recycle: Notify,
    /// Wakes a retiring connection when a transport ends.
    pub(super) ended: Notify,
}

/// A running transport, counted until dropped.
pub(super) struct TransportGuard(Arc<Transports>);

impl Transports {
    pub(super) fn new(recycle_after: u64) -> Arc<Self> {
        Arc::new(Transports {
            recycle_after,
            total: Default::default(),
            active: Default::default(),
            recycle: Notify::new(),
            ended: Notify::new(),
        })
    }

    pub(super) fn start(self: &Arc<Self>) -> TransportGuard {
        use std::sync::atomic::Ordering;
        self.active.fetch_add(1, Ordering::AcqRel);
        if self.total.fetch_add(1, Ordering::AcqRel) + 1 == self.recycle_after {
            self.recycle.notify_one();
        }
        TransportGuard(self.clone())
    }

    pub(super) fn active(&self) -> usize {
        self.active.load(std::sync::atomic::Ordering::Acquire)
    }
}

impl Drop for TransportGuard {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
        self.0.ended.notify_waiters();
    }
}

/// The SSH client configuration of every agent connection.
pub(super) fn client_config() -> Arc<russh::client::Config> {
    let config = russh::client::Config {
        nodelay: true,
        preferred: tether_shared::ssh_algorithms::client_preferred(),
        window_size: tether_edge::ssh_config::WINDOW_SIZE,
        maximum_packet_size: tether_edge::ssh_config::MAX_PACKET_SIZE,
        // Room for every frame a transport may have in flight (flow.rs).
        channel_buffer_size: tether_edge::ssh_config::CHANNEL_QUEUE,
        inactivity_timeout: None,
        ..Default::default()
    };
    Arc::new(config)
}

/// Whether `key` is the host certificate of a proxy of `root`, from one of `host_cas` (or a key
/// they endorsed: a root whose host CA rotated while this leaf was away vouches for the new key
/// with the old one; its CAs follow over the tunnel).
fn root_proxy_verdict(
    key: &russh::keys::PublicKeyOrCertificate,
    root: &str,
    host_cas: &[PublicKey],
) -> Result<(), String> {
    let now = std::time::SystemTime::now();
    let cas = match key {
        russh::keys::PublicKeyOrCertificate::Certificate(cert) => {
            tether_shared::endorse::reach(cert, root, host_cas, now)
        }
        russh::keys::PublicKeyOrCertificate::PublicKey { .. } => host_cas.to_vec(),
    };
    let host = tether_shared::ssh_cert::verify_server_key(key, &cas, root, now)?;
    // A proxy of the root, not one of its nodes (same host CA).
    if host.host_id == tether_auth::proxy_host_id(root) {
        Ok(())
    } else {
        Err(format!("host {:?} is not a proxy of cluster {root}", host.host_id))
    }
}

/// Why the trust doctor's tunnel login did not pass.
pub(super) enum ProbeError {
    /// The server's host certificate is not a proxy of the root's.
    Untrusted(String),
    /// The root refused the leaf's host certificate.
    Refused,
    /// The connection or handshake failed.
    Failed(String),
}

/// The trust doctor's SSH handler: checks the root's host certificate, nothing more.
struct ProbeHandler {
    root: String,
    host_cas: Vec<PublicKey>,
    refusal: Arc<Mutex<Option<String>>>,
}

impl russh::client::Handler for ProbeHandler {
    type Error = russh::Error;

    async fn check_server_key(&mut self, key: &russh::keys::PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        match root_proxy_verdict(key, &self.root, &self.host_cas) {
            Ok(()) => Ok(true),
            Err(why) => {
                if let Ok(mut r) = self.refusal.lock() {
                    *r = Some(why);
                }
                Ok(false)
            }
        }
    }
}

/// Logs in to the root's tunnel listener over `tcp` as this leaf's agents do (a fresh key, a
/// host certificate from this leaf's host CA), then hangs up before opening a control channel,
/// so the root registers no tunnel.
pub(super) async fn probe_login(
    auth: &AuthService,
    tcp: tokio::net::TcpStream,
    root: &str,
    host_cas: Vec<PublicKey>,
) -> Result<(), ProbeError> {
    let leaf = auth.cluster_name().to_string();
    let key = tether_shared::ssh_cert::generate_ed25519_key().map_err(|e| ProbeError::Failed(e.to_string()))?;
    let cert = auth
        .authority()
        .proxy_host_cert(key.public_key(), vec![leaf.clone()])
        .map_err(|e| ProbeError::Failed(e.to_string()))?;
    let refusal = Arc::new(Mutex::new(None));
    let handler = ProbeHandler { root: root.to_string(), host_cas, refusal: refusal.clone() };
    let mut handle = russh::client::connect_stream(client_config(), tcp, handler).await.map_err(|e| {
        match refusal.lock().ok().and_then(|r| r.clone()) {
            Some(why) => ProbeError::Untrusted(why),
            None => ProbeError::Failed(format!("SSH handshake failed: {e}")),
        }
    })?;
    let login = handle
        .authenticate_openssh_cert(&leaf, Arc::new(key), cert)
        .await
        .map_err(|e| ProbeError::Failed(format!("login failed: {e}")))?;
    let _ = handle.disconnect(russh::Disconnect::ByApplication, "trust doctor", "en").await;
    if login.success() { Ok(()) } else { Err(ProbeError::Refused) }
}

/// The agent's SSH client side: checks the root's host certificate and serves transports.
pub(super) struct AgentHandler {
    pub(super) root: String,
    pub(super) leaf: String,
    pub(super) host_cas: Vec<PublicKey>,
    pub(super) refusal: Arc<Mutex<Option<String>>>,
    pub(super) auth: Arc<AuthService>,
    pub(super) signer: Arc<Current<Signer>>,
    pub(super) web_addr: String,
    /// Transports in progress; dropped (aborted) with the connection.
    pub(super) transports: tokio::task::JoinSet<()>,
    /// Their count, for recycling.
    pub(super) counts: Arc<Transports>,
}

impl russh::client::Handler for AgentHandler {
    type Error = russh::Error;

    async fn check_server_key(&mut self, key: &russh::keys::PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        let verdict = root_proxy_verdict(key, &self.root, &self.host_cas);
        match verdict {
            Ok(()) => Ok(true),
            Err(why) => {
                if let Ok(mut r) = self.refusal.lock() {
                    *r = Some(why);
                }
                Ok(false)
            }
        }
    }

    async fn server_channel_open_direct_tcpip(
        &mut self,
        channel: Channel<russh::client::Msg>,
        host_to_connect: &str,
        port_to_connect: u32,
        originator_address: &str,
        originator_port: u32,
        reply: russh::client::ChannelOpenHandle,
        _session: &mut russh::client::Session,
    ) -> Result<(), Self::Error> {
        reply.accept().await;
        let auth = self.auth.clone();
        let signer = self.signer.get();
        let web_addr = self.web_addr.clone();
        // The user's address as the root's relay saw it (the root is the tunnel's authenticated
        // peer); passed on to the node signed by this proxy.
        let client = super::transport::originator(originator_address, originator_port);
        let leaf = self.leaf.clone();
        let root = self.root.clone();
        let target = host_to_connect.to_string();
        let port = u16::try_from(port_to_connect).unwrap_or(0);
        let counted = self.counts.start();
        // Owned by this connection's handler: they end when the tunnel does.
        self.transports.spawn(async move {
            let _counted = counted;
            let to = super::transport::Wanted { name: &target, port, client, signer: &signer };
            super::transport::run(channel, &auth, (&root, &leaf), &web_addr, to).await
        });
        while self.transports.try_join_next().is_some() {}
        Ok(())
    }
}
