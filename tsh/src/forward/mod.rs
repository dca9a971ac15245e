//! `tsh ssh -L/-R/-D/-N/-A`: port and agent forwarding over the node session. This module owns
//! parsing the forward specs, the local listeners of `-L` and `-D` (with the SOCKS5 handshake),
//! the node's `forwarded-tcpip` and `auth-agent@openssh.com` channels (handed over by the node
//! session's handler through [`NodeEvents`]), the `-A` request, `-N`'s wait, and how the node's
//! refusals reach the user: one `tsh: ...` line naming the forward and the node's reason.
//!
//! Flow control: every forwarded channel is relayed by its own task with
//! `copy_bidirectional` on the channel's stream, which polls both directions, so a channel's
//! data is read as soon as the local socket takes it and never waits on the node session itself.
//! Channels are opened concurrently; a slow dial on the node holds up only its own connection.
//! Every task is owned by a [`Forwarder`] (listeners, and the relays each listener or the
//! dispatcher started), and dropping the forwarder stops them all. Relays are capped at
//! [`MAX_RELAYS`]; a listener at the cap stops accepting until one ends.
//!
//! Layout: `spec.rs` parses the flags, `socks.rs` speaks SOCKS5 for `-D`; this file holds the
//! listeners, the channels and the relays.

mod socks;
mod spec;

use std::collections::HashMap;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use russh::client::{Handle, Msg};
use russh::keys::Certificate;
use russh::{Channel, ChannelMsg, ChannelOpenFailure};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;

use crate::handler::{HostCheck, Inbound, NodeEvents, Refusals};
use socks::{SOCKS_FAILURE, SOCKS_NOT_ALLOWED, SOCKS_REFUSED, socks};
pub use spec::{Forwarding, join_host_port};

/// How long a SOCKS5 client may take to say where it wants to go.
pub const SOCKS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connecting to a local target of `-R` (or the local agent) may take.
pub const LOCAL_DIAL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the node may take to answer a channel open.
pub const OPEN_TIMEOUT: Duration = Duration::from_secs(20);
/// How long to wait for the node's text of a refusal after the refusal itself.
const REFUSAL_TEXT_WAIT: Duration = Duration::from_secs(1);
/// Forwarded connections tsh relays at once, all forwards together.
pub const MAX_RELAYS: usize = 256;
/// The copy buffer of each relay direction.
const RELAY_BUFFER: usize = 64 * 1024;
/// How often `-N` checks that the node connection is still there.
const CLOSED_POLL: Duration = Duration::from_millis(500);
/// What tsh asks the node to listen on for `-R` when no bind address is given (as OpenSSH).
const DEFAULT_REMOTE_BIND: &str = "localhost";

/// Prints one line for the user on stderr (with a carriage return on a terminal, which may be
/// in raw mode).
fn say(line: &str) {
    if std::io::stderr().is_terminal() {
        eprint!("{line}\r\n");
    } else {
        eprintln!("{line}");
    }
}

/// Why the node did not open a forward's channel.
enum OpenError {
    /// Not allowed (roles, certificate).
    Prohibited(String),
    /// The node could not reach the target.
    Unreachable(String),
    /// Anything else.
    Failed(String),
}

impl OpenError {
    fn show(&self, what: &str) {
        match self {
            OpenError::Prohibited(why) => say(&format!("tsh: the node refused {what}: {why}")),
            OpenError::Unreachable(why) | OpenError::Failed(why) => say(&format!("tsh: {what} failed: {why}")),
        }
    }

    /// The SOCKS5 reply code.
    fn socks_code(&self) -> u8 {
        match self {
            OpenError::Prohibited(_) => SOCKS_NOT_ALLOWED,
            OpenError::Unreachable(_) => SOCKS_REFUSED,
            OpenError::Failed(_) => SOCKS_FAILURE,
        }
    }
}

/// Opens `direct-tcpip` channels on the node session, and explains refusals with the node's text.
struct Opener {
    node: Arc<Handle<HostCheck>>,
    refusals: watch::Receiver<(u64, Refusals)>,
}

impl Opener {
    async fn direct(&self, host: &str, port: u16, origin: SocketAddr) -> Result<Channel<Msg>, OpenError> {
        let mut refusals = self.refusals.clone();
        let seen = refusals.borrow_and_update().0;
        let open = self.node.channel_open_direct_tcpip(
            host,
            u32::from(port),
            origin.ip().to_string(),
            u32::from(origin.port()),
        );
        let kind = match tokio::time::timeout(OPEN_TIMEOUT, open).await {
            Ok(Ok(channel)) => return Ok(channel),
            Ok(Err(russh::Error::ChannelOpenFailure(kind))) => kind,
            Ok(Err(e)) => return Err(OpenError::Failed(format!("the connection to the node failed: {e}"))),
            Err(_) => return Err(OpenError::Failed(format!("the node did not answer within {OPEN_TIMEOUT:?}"))),
        };
        // The text of this refusal: a newer one with the same code; a failed dial names its
        // target (a refusal for lack of rights reads the same for every open).
        let code = kind.code();
        let target = format!("{host}:{port}");
        let ours = |kept: &Refusals| {
            kept.iter()
                .rev()
                .find(|(n, c, text)| *n > seen && *c == code && (code != 2 || text.contains(&target)))
                .map(|(_, _, text)| text.clone())
        };
        let said =
            match tokio::time::timeout(REFUSAL_TEXT_WAIT, refusals.wait_for(|(_, kept)| ours(kept).is_some())).await {
                Ok(Ok(kept)) => ours(&kept.1),
                _ => None,
            };
        // russh's stock texts say no more than the code.
        let said = said.filter(|t| !t.is_empty() && *t != kind.description());
        Err(match kind {
            ChannelOpenFailure::AdministrativelyProhibited => OpenError::Prohibited(said.unwrap_or_else(|| {
                "the node does not allow port forwarding to you (your roles or certificate)".into()
            })),
            ChannelOpenFailure::ConnectFailed => OpenError::Unreachable(
                said.unwrap_or_else(|| format!("the node cannot connect to {}", join_host_port(host, port))),
            ),
            ChannelOpenFailure::ResourceShortage => OpenError::Failed(
                said.unwrap_or_else(|| "too many channels are open on this connection (the node allows 10)".into()),
            ),
            ChannelOpenFailure::UnknownChannelType => {
                OpenError::Failed("the node does not support port forwarding".into())
            }
            ChannelOpenFailure::Other { code, reason } => {
                OpenError::Failed(said.unwrap_or_else(|| format!("{reason} (code {code})")))
            }
        })
    }
}

/// Relays a channel and a local stream until both directions end, each direction on its own.
async fn relay<S>(channel: Channel<Msg>, mut local: S)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut stream = channel.into_stream();
    if let Err(e) = tokio::io::copy_bidirectional_with_sizes(&mut local, &mut stream, RELAY_BUFFER, RELAY_BUFFER).await
    {
        tracing::debug!("forwarded connection ended: {e}");
    }
}

/// Whether the user certificate carries `extension` (`permit-port-forwarding`, …).
fn permits(cert: &Certificate, extension: &str) -> bool {
    cert.extensions().contains_key(extension)
}

/// The forwards of one `tsh ssh`, running; dropping it stops every listener and relay.
pub(crate) struct Forwarder {
    tasks: JoinSet<()>,
    node_name: String,
}

impl Forwarder {
    /// Starts the listeners of `-L` and `-D`, asks the node for the `-R` forwards, and serves
    /// the channels the node opens. A listener that cannot bind, or a remote forward the node
    /// refuses, is an error.
    pub(crate) async fn start(
        node: Arc<Handle<HostCheck>>,
        fwd: &Forwarding,
        node_name: &str,
        events: &NodeEvents,
        inbound: mpsc::Receiver<Inbound>,
        cert: &Certificate,
    ) -> Result<Forwarder> {
        let mut tasks = JoinSet::new();
        let slots = Arc::new(Semaphore::new(MAX_RELAYS));
        let opener = Arc::new(Opener { node: node.clone(), refusals: events.subscribe_refusals() });

        for l in &fwd.local {
            let target = join_host_port(&l.host, l.host_port);
            let listener = TcpListener::bind((l.bind.as_str(), l.port))
                .await
                .with_context(|| format!("cannot listen on {} for -L", join_host_port(&l.bind, l.port)))?;
            let bound = listener.local_addr().context("cannot read the listening address")?;
            if l.port == 0 {
                say(&format!("tsh: local port forwarded: {bound} -> {target}"));
            }
            let what = format!("local forward {bound} -> {target}");
            let (host, port) = (l.host.clone(), l.host_port);
            let (opener, slots) = (opener.clone(), slots.clone());
            tasks.spawn(serve_listener(listener, slots, move |tcp, origin| {
                let (opener, host, what) = (opener.clone(), host.clone(), what.clone());
                async move {
                    match opener.direct(&host, port, origin).await {
                        Ok(channel) => relay(channel, tcp).await,
                        Err(e) => e.show(&what),
                    }
                }
            }));
        }

        for d in &fwd.dynamic {
            let listener = TcpListener::bind((d.bind.as_str(), d.port))
                .await
                .with_context(|| format!("cannot listen on {} for -D", join_host_port(&d.bind, d.port)))?;
            let bound = listener.local_addr().context("cannot read the listening address")?;
            if d.port == 0 {
                say(&format!("tsh: SOCKS5 proxy listening on {bound}"));
            }
            let (opener, slots) = (opener.clone(), slots.clone());
            tasks.spawn(serve_listener(listener, slots, move |tcp, origin| {
                let opener = opener.clone();
                async move { socks(tcp, origin, bound, &opener).await }
            }));
        }

        // Remote forwards: the port → local target map the dispatcher reads.
        let targets: Arc<Mutex<HashMap<u32, (String, u16)>>> = Arc::default();
        tasks.spawn(dispatch(inbound, targets.clone(), fwd.agent.clone(), slots.clone(), node_name.to_string()));
        for r in &fwd.remote {
            let target = (r.host.clone(), r.host_port);
            let shown = format!(
                "remote forward {} -> {}",
                join_host_port(&r.bind, r.port),
                join_host_port(&r.host, r.host_port)
            );
            // A fixed port may see a connection as soon as the node answers: map it first.
            if r.port != 0 {
                lock(&targets).insert(u32::from(r.port), target.clone());
            }
            match node.tcpip_forward(r.bind.as_str(), u32::from(r.port)).await {
                Ok(port) => {
                    if r.port == 0 {
                        lock(&targets).insert(port, target);
                        say(&format!(
                            "tsh: remote port forwarded: {node_name}:{port} -> {}",
                            join_host_port(&r.host, r.host_port)
                        ));
                    }
                }
                Err(russh::Error::RequestDenied) => {
                    let why = if permits(cert, "permit-port-forwarding") {
                        format!(
                            "port forwarding is not allowed by your roles on {node_name}, or the node cannot listen on port {} (in use, or below 1024 for a login other than root)",
                            r.port
                        )
                    } else {
                        "port forwarding is not allowed by your roles (your certificate has no permit-port-forwarding)"
                            .into()
                    };
                    bail!("the node refused {shown}: {why}");
                }
                Err(e) => bail!("{shown} failed: {e}"),
            }
        }
        Ok(Forwarder { tasks, node_name: node_name.to_string() })
    }

    /// `-N`: waits for Ctrl-C or SIGTERM (0) or the node connection to end (255).
    pub(crate) async fn hold(&mut self, node: &Handle<HostCheck>) -> i32 {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let mut poll = tokio::time::interval(CLOSED_POLL);
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => return 0,
                Some(()) = async { match term.as_mut() { Some(t) => t.recv().await, None => std::future::pending().await } } => return 0,
                _ = poll.tick() => if node.is_closed() {
                    say(&format!("tsh: the connection to {} ended", self.node_name));
                    return 255;
                },
                Some(ended) = self.tasks.join_next() => if let Err(e) = ended && e.is_panic() {
                    tracing::error!("a forwarding task failed: {e}");
                },
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Accepts connections while a relay slot is free and runs `serve` for each in a task of its own.
async fn serve_listener<F, Fut>(listener: TcpListener, slots: Arc<Semaphore>, serve: F)
where
    F: Fn(TcpStream, SocketAddr) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut relays = JoinSet::new();
    loop {
        tokio::select! {
            slot = slots.clone().acquire_owned() => {
                let Ok(slot) = slot else { return };
                let (tcp, origin) = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok(pair) => pair,
                        Err(e) => {
                            tracing::debug!("accept failed: {e}");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    },
                    // Keep reaping while waiting for a connection.
                    Some(_) = relays.join_next(), if !relays.is_empty() => continue,
                };
                let _ = tcp.set_nodelay(true);
                let work = serve(tcp, origin);
                relays.spawn(async move {
                    work.await;
                    drop(slot);
                });
            }
            Some(_) = relays.join_next(), if !relays.is_empty() => {}
        }
    }
}

/// Serves the channels the node opens: remote forward connections and agent requests.
async fn dispatch(
    mut inbound: mpsc::Receiver<Inbound>,
    targets: Arc<Mutex<HashMap<u32, (String, u16)>>>,
    agent: Option<PathBuf>,
    slots: Arc<Semaphore>,
    node_name: String,
) {
    let mut relays = JoinSet::new();
    loop {
        let next = tokio::select! {
            next = inbound.recv() => next,
            Some(_) = relays.join_next(), if !relays.is_empty() => continue,
        };
        let Some(next) = next else { break };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::debug!("{MAX_RELAYS} forwarded connections already open: refusing the node's channel");
            match next {
                Inbound::Forwarded { reply, .. } | Inbound::Agent { reply, .. } => {
                    reply.reject(ChannelOpenFailure::ResourceShortage).await
                }
            }
            continue;
        };
        match next {
            Inbound::Forwarded { channel, port, origin, reply } => {
                let Some((host, host_port)) = lock(&targets).get(&port).cloned() else {
                    tracing::debug!("the node opened a forwarded channel for port {port}, which tsh did not forward");
                    reply.reject(ChannelOpenFailure::AdministrativelyProhibited).await;
                    continue;
                };
                let target = join_host_port(&host, host_port);
                let what = format!("remote forward {node_name}:{port} -> {target}");
                relays.spawn(async move {
                    let _slot = slot;
                    match tokio::time::timeout(LOCAL_DIAL_TIMEOUT, TcpStream::connect((host.as_str(), host_port))).await
                    {
                        Ok(Ok(tcp)) => {
                            let _ = tcp.set_nodelay(true);
                            tracing::debug!("{what}: connection from {origin}");
                            reply.accept().await;
                            relay(channel, tcp).await;
                        }
                        Ok(Err(e)) => {
                            say(&format!("tsh: {what} failed: cannot connect to {target}: {e}"));
                            reply.reject(ChannelOpenFailure::ConnectFailed).await;
                        }
                        Err(_) => {
                            say(&format!("tsh: {what} failed: {target} did not answer within {LOCAL_DIAL_TIMEOUT:?}"));
                            reply.reject(ChannelOpenFailure::ConnectFailed).await;
                        }
                    }
                });
            }
            Inbound::Agent { channel, reply } => {
                let Some(sock) = agent.clone() else {
                    reply.reject(ChannelOpenFailure::AdministrativelyProhibited).await;
                    continue;
                };
                relays.spawn(async move {
                    let _slot = slot;
                    match tokio::time::timeout(LOCAL_DIAL_TIMEOUT, tokio::net::UnixStream::connect(&sock)).await {
                        Ok(Ok(unix)) => {
                            reply.accept().await;
                            relay(channel, unix).await;
                        }
                        Ok(Err(e)) => {
                            say(&format!("tsh: cannot reach your SSH agent at {}: {e}", sock.display()));
                            reply.reject(ChannelOpenFailure::ConnectFailed).await;
                        }
                        Err(_) => {
                            say(&format!("tsh: your SSH agent at {} did not answer", sock.display()));
                            reply.reject(ChannelOpenFailure::ConnectFailed).await;
                        }
                    }
                });
            }
        }
    }
    while relays.join_next().await.is_some() {}
}

/// `-A`: asks for agent forwarding on the session channel, before the command starts. A
/// refusal is a warning line; the session goes on without the agent.
pub(crate) async fn request_agent(channel: &mut Channel<Msg>, cert: &Certificate, node_name: &str) -> Result<()> {
    channel.agent_forward(true).await.context("cannot ask the node for agent forwarding")?;
    loop {
        match channel.wait().await {
            Some(ChannelMsg::Success) => return Ok(()),
            Some(ChannelMsg::Failure) => {
                let why = if permits(cert, "permit-agent-forwarding") {
                    format!("agent forwarding is not allowed by your roles on {node_name} (options.forward_agent)")
                } else {
                    "agent forwarding is not allowed by your roles (your certificate has no permit-agent-forwarding)"
                        .into()
                };
                say(&format!("tsh: the node refused agent forwarding: {why}"));
                return Ok(());
            }
            Some(ChannelMsg::Close) | Some(ChannelMsg::Eof) | None => {
                bail!("the node closed the session while asked for agent forwarding")
            }
            Some(_) => {}
        }
    }
}
