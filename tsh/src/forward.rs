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

use std::collections::HashMap;
use std::io::IsTerminal;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use russh::client::{Handle, Msg};
use russh::keys::Certificate;
use russh::{Channel, ChannelMsg, ChannelOpenFailure};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;

use crate::handler::{HostCheck, Inbound, NodeEvents, Refusals};

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

/// `-L [bind_address:]port:host:hostport`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalForward {
    /// Where tsh listens.
    pub bind: String,
    /// The local port (0: one the kernel picks, printed).
    pub port: u16,
    /// The target, as the node resolves it.
    pub host: String,
    /// The target's port.
    pub host_port: u16,
}

/// `-R [bind_address:]port:host:hostport`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteForward {
    /// The address sent to the node (it listens on loopback whatever this says).
    pub bind: String,
    /// The node's port (0: one the node picks, printed).
    pub port: u16,
    /// The target, as tsh resolves it.
    pub host: String,
    /// The target's port.
    pub host_port: u16,
}

/// `-D [bind_address:]port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamicForward {
    /// Where the SOCKS5 proxy listens.
    pub bind: String,
    /// Its port (0: one the kernel picks, printed).
    pub port: u16,
}

/// Everything `tsh ssh` forwards, from its flags.
#[derive(Debug, Default)]
pub struct Forwarding {
    /// `-L`.
    pub local: Vec<LocalForward>,
    /// `-R`.
    pub remote: Vec<RemoteForward>,
    /// `-D`.
    pub dynamic: Vec<DynamicForward>,
    /// `-N`: no command; hold the forwards until interrupted.
    pub no_command: bool,
    /// `-A`: the local agent's socket.
    pub agent: Option<PathBuf>,
}

/// Splits a spec at the colons outside `[...]`, dropping the brackets; `None` if they do not pair.
fn fields(spec: &str) -> Option<Vec<String>> {
    let mut out = vec![String::new()];
    let mut bracket = false;
    for c in spec.chars() {
        match c {
            '[' if !bracket => bracket = true,
            ']' if bracket => bracket = false,
            '[' | ']' => return None,
            ':' if !bracket => out.push(String::new()),
            c => out.last_mut()?.push(c),
        }
    }
    (!bracket).then_some(out)
}

/// A local bind address: empty or `*` means every interface, `localhost` the IPv4 loopback.
fn local_bind(bind: &str) -> String {
    match bind {
        "" | "*" => "0.0.0.0".into(),
        "localhost" => "127.0.0.1".into(),
        other => other.to_string(),
    }
}

/// `host:port`, with brackets around an IPv6 host.
pub fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

/// `[bind:]port:host:hostport` → (bind, port, host, hostport).
fn parse_forward(flag: &str, spec: &str) -> Result<(Option<String>, u16, String, u16)> {
    let bad = || anyhow::anyhow!("bad {flag} spec {spec:?}: expected [bind_address:]port:host:hostport");
    let parts = fields(spec).ok_or_else(bad)?;
    let (bind, rest) = match parts.len() {
        3 => (None, &parts[..]),
        4 => (Some(parts[0].clone()), &parts[1..]),
        _ => return Err(bad()),
    };
    let port = rest[0].parse::<u16>().map_err(|_| bad())?;
    let host = rest[1].clone();
    let target_port = rest[2].parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(bad)?;
    if host.is_empty() || host.chars().any(char::is_whitespace) {
        return Err(bad());
    }
    Ok((bind, port, host, target_port))
}

impl Forwarding {
    /// Reads the flags; `agent` needs `SSH_AUTH_SOCK`.
    pub fn parse(
        local: &[String],
        remote: &[String],
        dynamic: &[String],
        no_command: bool,
        agent: bool,
    ) -> Result<Forwarding> {
        let mut fwd = Forwarding { no_command, ..Forwarding::default() };
        for spec in local {
            let (bind, port, host, host_port) = parse_forward("-L", spec)?;
            let bind = bind.map_or_else(|| "127.0.0.1".into(), |b| local_bind(&b));
            fwd.local.push(LocalForward { bind, port, host, host_port });
        }
        for spec in remote {
            let (bind, port, host, host_port) = parse_forward("-R", spec)?;
            let bind = bind.filter(|b| !b.is_empty()).unwrap_or_else(|| DEFAULT_REMOTE_BIND.into());
            fwd.remote.push(RemoteForward { bind, port, host, host_port });
        }
        for spec in dynamic {
            let bad = || anyhow::anyhow!("bad -D spec {spec:?}: expected [bind_address:]port");
            let parts = fields(spec).ok_or_else(bad)?;
            let (bind, port) = match parts.as_slice() {
                [port] => ("127.0.0.1".to_string(), port),
                [bind, port] => (local_bind(bind), port),
                _ => return Err(bad()),
            };
            let port = port.parse::<u16>().map_err(|_| bad())?;
            fwd.dynamic.push(DynamicForward { bind, port });
        }
        if agent {
            match std::env::var_os("SSH_AUTH_SOCK").filter(|s| !s.is_empty()) {
                Some(sock) => fwd.agent = Some(PathBuf::from(sock)),
                None => bail!(
                    "-A forwards your SSH agent, but SSH_AUTH_SOCK is not set: start one (eval \"$(ssh-agent)\"; ssh-add) or drop -A"
                ),
            }
        }
        Ok(fwd)
    }
}

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

// SOCKS5 (RFC 1928): no authentication, CONNECT only.
const SOCKS_VERSION: u8 = 5;
const SOCKS_NO_AUTH: u8 = 0;
const SOCKS_NO_METHOD: u8 = 0xFF;
const SOCKS_CONNECT: u8 = 1;
const SOCKS_IPV4: u8 = 1;
const SOCKS_DOMAIN: u8 = 3;
const SOCKS_IPV6: u8 = 4;
const SOCKS_OK: u8 = 0;
const SOCKS_FAILURE: u8 = 1;
const SOCKS_NOT_ALLOWED: u8 = 2;
const SOCKS_REFUSED: u8 = 5;
const SOCKS_BAD_COMMAND: u8 = 7;
const SOCKS_BAD_ADDRESS: u8 = 8;

/// Why a SOCKS5 handshake ended without a target.
#[derive(Debug)]
struct SocksRefusal(&'static str);

/// Reads a SOCKS5 greeting and CONNECT request; replies to failures itself.
async fn socks_target<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S) -> Result<(String, u16), SocksRefusal> {
    let io = |_| SocksRefusal("the client went away during the handshake");
    let mut head = [0u8; 2];
    s.read_exact(&mut head).await.map_err(io)?;
    if head[0] != SOCKS_VERSION {
        return Err(SocksRefusal("not a SOCKS5 client"));
    }
    let mut methods = vec![0u8; usize::from(head[1])];
    s.read_exact(&mut methods).await.map_err(io)?;
    if !methods.contains(&SOCKS_NO_AUTH) {
        let _ = s.write_all(&[SOCKS_VERSION, SOCKS_NO_METHOD]).await;
        return Err(SocksRefusal("the client offers no method without authentication"));
    }
    s.write_all(&[SOCKS_VERSION, SOCKS_NO_AUTH]).await.map_err(io)?;
    let mut request = [0u8; 4];
    s.read_exact(&mut request).await.map_err(io)?;
    if request[0] != SOCKS_VERSION {
        return Err(SocksRefusal("not a SOCKS5 request"));
    }
    if request[1] != SOCKS_CONNECT {
        socks_reply(s, SOCKS_BAD_COMMAND).await;
        return Err(SocksRefusal("only CONNECT is supported"));
    }
    let host = match request[3] {
        SOCKS_IPV4 => {
            let mut a = [0u8; 4];
            s.read_exact(&mut a).await.map_err(io)?;
            Ipv4Addr::from(a).to_string()
        }
        SOCKS_IPV6 => {
            let mut a = [0u8; 16];
            s.read_exact(&mut a).await.map_err(io)?;
            Ipv6Addr::from(a).to_string()
        }
        SOCKS_DOMAIN => {
            let mut len = [0u8; 1];
            s.read_exact(&mut len).await.map_err(io)?;
            let mut name = vec![0u8; usize::from(len[0])];
            s.read_exact(&mut name).await.map_err(io)?;
            match String::from_utf8(name) {
                Ok(name) if !name.is_empty() => name,
                _ => {
                    socks_reply(s, SOCKS_BAD_ADDRESS).await;
                    return Err(SocksRefusal("the host name is not valid text"));
                }
            }
        }
        _ => {
            socks_reply(s, SOCKS_BAD_ADDRESS).await;
            return Err(SocksRefusal("unknown address type"));
        }
    };
    let mut port = [0u8; 2];
    s.read_exact(&mut port).await.map_err(io)?;
    Ok((host, u16::from_be_bytes(port)))
}

/// A SOCKS5 reply with `code` and an unspecified bound address.
async fn socks_reply<S: AsyncWrite + Unpin>(s: &mut S, code: u8) {
    let _ = s.write_all(&[SOCKS_VERSION, code, 0, SOCKS_IPV4, 0, 0, 0, 0, 0, 0]).await;
}

/// One `-D` connection: the handshake (within [`SOCKS_HANDSHAKE_TIMEOUT`]), then a channel.
async fn socks(mut tcp: TcpStream, origin: SocketAddr, bound: SocketAddr, opener: &Opener) {
    let (host, port) = match tokio::time::timeout(SOCKS_HANDSHAKE_TIMEOUT, socks_target(&mut tcp)).await {
        Ok(Ok(target)) => target,
        Ok(Err(SocksRefusal(why))) => {
            tracing::debug!("SOCKS5 client {origin}: {why}");
            return;
        }
        Err(_) => {
            tracing::debug!("SOCKS5 client {origin}: no request within {SOCKS_HANDSHAKE_TIMEOUT:?}");
            return;
        }
    };
    match opener.direct(&host, port, origin).await {
        Ok(channel) => {
            socks_reply(&mut tcp, SOCKS_OK).await;
            relay(channel, tcp).await;
        }
        Err(e) => {
            e.show(&format!("dynamic forward {bound} -> {}", join_host_port(&host, port)));
            socks_reply(&mut tcp, e.socks_code()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(l: &[&str], r: &[&str], d: &[&str]) -> Result<Forwarding> {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        Forwarding::parse(&v(l), &v(r), &v(d), false, false)
    }

    #[test]
    fn specs_parse() {
        let f = parse(&["8080:db:5432", "0.0.0.0:1:[::1]:22"], &["0:localhost:80", "[::1]:9:h:1"], &["1080", "*:1081"])
            .unwrap();
        assert_eq!(
            f.local[0],
            LocalForward { bind: "127.0.0.1".into(), port: 8080, host: "db".into(), host_port: 5432 }
        );
        assert_eq!(f.local[1], LocalForward { bind: "0.0.0.0".into(), port: 1, host: "::1".into(), host_port: 22 });
        assert_eq!(f.remote[0].bind, "localhost");
        assert_eq!((f.remote[1].bind.as_str(), f.remote[1].port), ("::1", 9));
        assert_eq!(
            f.dynamic,
            vec![
                DynamicForward { bind: "127.0.0.1".into(), port: 1080 },
                DynamicForward { bind: "0.0.0.0".into(), port: 1081 }
            ]
        );
        assert_eq!(join_host_port("::1", 22), "[::1]:22");
    }

    #[test]
    fn bad_specs_say_what_is_expected() {
        for bad in ["x", "8080:db", "a:b:c:d:e", "70000:db:1", "1:db:0", "1:db:x", "1::2", "[::1:1:h:2", "1:h h:2"] {
            let e = parse(&[bad], &[], &[]).unwrap_err().to_string();
            assert_eq!(e, format!("bad -L spec {bad:?}: expected [bind_address:]port:host:hostport"));
        }
        let e = parse(&[], &["1:2"], &[]).unwrap_err().to_string();
        assert!(e.starts_with("bad -R spec \"1:2\""), "{e}");
        let e = parse(&[], &[], &["a:b:c"]).unwrap_err().to_string();
        assert_eq!(e, "bad -D spec \"a:b:c\": expected [bind_address:]port");
    }

    #[tokio::test]
    async fn socks_handshake() {
        // Domain name request.
        let (mut client, mut server) = tokio::io::duplex(1024);
        let task = tokio::spawn(async move { socks_target(&mut server).await.map_err(|e| e.0) });
        client.write_all(&[5, 2, 2, 0]).await.unwrap();
        let mut reply = [0u8; 2];
        client.read_exact(&mut reply).await.unwrap();
        assert_eq!(reply, [5, 0]);
        client.write_all(&[5, 1, 0, 3, 2, b'd', b'b', 0x15, 0x38]).await.unwrap();
        assert_eq!(task.await.unwrap(), Ok(("db".to_string(), 5432)));

        // IPv6, and a BIND command refused with code 7.
        let (mut client, mut server) = tokio::io::duplex(1024);
        let task = tokio::spawn(async move { socks_target(&mut server).await.map_err(|e| e.0) });
        client.write_all(&[5, 1, 0]).await.unwrap();
        let mut reply = [0u8; 2];
        client.read_exact(&mut reply).await.unwrap();
        client.write_all(&[5, 2, 0, 4]).await.unwrap();
        let mut refused = [0u8; 10];
        client.read_exact(&mut refused).await.unwrap();
        assert_eq!(refused[..2], [5, SOCKS_BAD_COMMAND]);
        assert_eq!(task.await.unwrap(), Err("only CONNECT is supported"));

        // Authentication required by the client: no acceptable method.
        let (mut client, mut server) = tokio::io::duplex(1024);
        let task = tokio::spawn(async move { socks_target(&mut server).await.map_err(|e| e.0) });
        client.write_all(&[5, 1, 2]).await.unwrap();
        let mut reply = [0u8; 2];
        client.read_exact(&mut reply).await.unwrap();
        assert_eq!(reply, [5, SOCKS_NO_METHOD]);
        assert!(task.await.unwrap().is_err());
    }
}
