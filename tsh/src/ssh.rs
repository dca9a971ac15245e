//! `tsh ssh` and `tsh proxy ssh`: an SSH client that reaches nodes through the proxy's relay.
//!
//! The outer connection goes to the proxy's SSH address with the user's certificate; the
//! subsystem `proxy:HOST:PORT@CLUSTER` turns one channel into a byte pipe to the node, and the
//! inner SSH session runs over that pipe end to end, so the proxy never sees inside it. Both the
//! proxy's and the node's host certificates are checked against the cluster's host CAs, with the
//! name dialled among their principals: never trust on first use.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use russh::ChannelMsg;
use russh::keys::{Certificate, PrivateKey, PublicKey};
use tether_client::credentials::Credentials;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::handler::{HostCheck, NodeEvents};

/// How long the whole connection setup (both handshakes) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// The SSH window tsh grants each channel.
const WINDOW_SIZE: u32 = 8 * 1024 * 1024;
/// How much of stdin `tsh ssh` reads at once.
const STDIN_BUFFER: usize = 256 * 1024;
/// The copy buffer of `tsh proxy ssh`, each way.
const PROXY_BUFFER: usize = 256 * 1024;
/// What the node session may have written but the proxy hop not yet taken, each way: twice a
/// channel's window, so the node session never waits on the hop (see [`decouple`]).
const HOP_BUFFER: usize = 2 * WINDOW_SIZE as usize;

fn client_config() -> Arc<russh::client::Config> {
    let config = russh::client::Config {
        nodelay: true,
        preferred: tether_shared::ssh_algorithms::client_preferred(),
        window_size: WINDOW_SIZE,
        inactivity_timeout: None,
        ..Default::default()
    };
    Arc::new(config)
}

/// The user's key, certificate and the host CAs, read from credentials.
pub struct Keys {
    key: Arc<PrivateKey>,
    cert: Certificate,
    /// The root cluster's host CAs (the proxy, and nodes of the root).
    host_cas: Vec<PublicKey>,
    /// The host CAs nodes are checked against: the target cluster's.
    node_cas: Vec<PublicKey>,
}

impl Keys {
    /// Reads the key material out of credentials.
    pub fn from(creds: &Credentials) -> Result<Keys> {
        let key = PrivateKey::from_openssh(&creds.private_key).context("cannot read the private key")?;
        let cert =
            tether_shared::ssh_cert::cert_from_openssh(&creds.ssh_cert).context("cannot read the certificate")?;
        let host_cas =
            creds.host_cas.iter().filter_map(|k| PublicKey::from_openssh(&k.public_key).ok()).collect::<Vec<_>>();
        if host_cas.is_empty() {
            bail!("the profile holds no host CA; run tsh login again");
        }
        Ok(Keys { key: Arc::new(key), cert, node_cas: host_cas.clone(), host_cas })
    }

    /// Checks nodes against a leaf cluster's host CAs (as the root listed them) instead.
    pub fn for_leaf(mut self, leaf: &tether_shared::api::ClusterInfo) -> Result<Keys> {
        self.node_cas = leaf_cas(leaf);
        if self.node_cas.is_empty() {
            bail!("the root sent no host CA for cluster {}; cannot verify its nodes", leaf.name);
        }
        Ok(self)
    }

    /// Takes the leaf's host CAs from a newer row; returns whether they changed (whether trying
    /// again can end differently: the node is checked against them the same way).
    pub fn refresh_leaf(&mut self, leaf: &tether_shared::api::ClusterInfo) -> bool {
        match changed_cas(&self.node_cas, leaf) {
            Some(cas) => {
                self.node_cas = cas;
                true
            }
            None => false,
        }
    }
}

/// The leaf's host CAs when they differ from `current` and are not empty; `None` otherwise.
fn changed_cas(current: &[PublicKey], leaf: &tether_shared::api::ClusterInfo) -> Option<Vec<PublicKey>> {
    let cas = leaf_cas(leaf);
    (!cas.is_empty() && cas != current).then_some(cas)
}

fn leaf_cas(leaf: &tether_shared::api::ClusterInfo) -> Vec<PublicKey> {
    leaf.host_cas.iter().filter_map(|k| PublicKey::from_openssh(k).ok()).collect()
}

/// A node whose host certificate did not verify against the CAs `tsh` holds for its cluster.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UntrustedNode(String);

/// Whether `e` is an [`UntrustedNode`].
pub(crate) fn untrusted_node(e: &anyhow::Error) -> bool {
    e.downcast_ref::<UntrustedNode>().is_some()
}

/// A refusal a CA rotation explains: the proxy's host certificate from a key the profile does
/// not know yet, or a certificate of the user's that a server no longer accepts. Renewing the
/// profile's certificates and CAs once may fix it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Stale(pub(crate) String);

/// Whether `e` is a [`Stale`] refusal.
pub(crate) fn stale(e: &anyhow::Error) -> bool {
    e.downcast_ref::<Stale>().is_some()
}

/// A connection that ended before authentication (refused, reset, closed during the
/// handshake): worth another try, unlike a refused certificate.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Dropped(pub(crate) String);

/// Whether `e` is a [`Dropped`] connection (worth another try).
pub(crate) fn dropped(e: &anyhow::Error) -> bool {
    e.downcast_ref::<Dropped>().is_some()
}

async fn handshake<S>(
    stream: S,
    host: &str,
    login: &str,
    keys: &Keys,
    what: &str,
) -> Result<russh::client::Handle<HostCheck>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    handshake_with(stream, host, login, keys, what, None).await
}

/// [`handshake`], passing the node's channels and refusal texts to `events` (forward/).
async fn handshake_with<S>(
    stream: S,
    host: &str,
    login: &str,
    keys: &Keys,
    what: &str,
    events: Option<NodeEvents>,
) -> Result<russh::client::Handle<HostCheck>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let refusal = Arc::new(std::sync::Mutex::new(None));
    let cas = if what == "node" { keys.node_cas.clone() } else { keys.host_cas.clone() };
    let goodbye = Arc::new(std::sync::Mutex::new(None));
    let check = HostCheck {
        cas,
        name: host.to_string(),
        refusal: refusal.clone(),
        goodbye: goodbye.clone(),
        verified: false,
        events,
    };
    tracing::debug!("{what} {host}: SSH handshake");
    let mut handle = match russh::client::connect_stream(client_config(), stream, check).await {
        Ok(h) => h,
        Err(e) => {
            let why = refusal.lock().ok().and_then(|r| r.clone());
            match why {
                Some(why) => {
                    let msg =
                        format!("refusing to connect to {what} {host:?}: its host certificate is not trusted: {why}");
                    if what == "node" {
                        return Err(UntrustedNode(msg).into());
                    }
                    return Err(Stale(msg).into());
                }
                None => {
                    // A server that hung up with a reason (at its connection limits) is quoted.
                    let said = goodbye.lock().ok().and_then(|g| g.clone());
                    let msg = match said {
                        Some(said) => format!("{what} {host:?} refused the connection: {said}"),
                        None => format!("SSH handshake with {what} {host:?} failed: {e}"),
                    };
                    return Err(Dropped(msg).into());
                }
            }
        }
    };
    tracing::debug!("{what} {host}: host certificate verified, keys exchanged; authenticating as {login}");
    let auth = handle.authenticate_openssh_cert(login, keys.key.clone(), keys.cert.clone()).await;
    if !auth.as_ref().is_ok_and(|a| a.success()) && handle.is_closed() {
        // The server hung up after the key exchange; if it said why (at its limits), that is
        // the answer. Its words reach the handler as the session ends.
        for _ in 0..20 {
            if let Some(said) = goodbye.lock().ok().and_then(|g| g.clone()) {
                return Err(Dropped(format!("{what} {host:?} refused the connection: {said}")).into());
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
    let auth = auth.with_context(|| format!("authentication with {what} {host:?} failed"))?;
    if !auth.success() {
        return Err(Stale(format!(
            "{what} {host:?} refused the certificate for login {login:?} (the login may not be allowed, or the certificate expired: run tsh status)"
        ))
        .into());
    }
    tracing::debug!("{what} {host}: authenticated");
    Ok(handle)
}

/// Opens the relay channel to `host:port` in `cluster`; returns the proxy connection (keep it
/// alive) and the byte stream to the node.
pub async fn dial_node(
    proxy_ssh: &str,
    host: &str,
    port: u16,
    cluster: &str,
    login: &str,
    keys: &Keys,
) -> Result<(russh::client::Handle<HostCheck>, russh::ChannelStream<russh::client::Msg>)> {
    let proxy_host = proxy_ssh.rsplit_once(':').map_or(proxy_ssh, |(h, _)| h).trim_matches(['[', ']']);
    // A proxy under load sheds connections that have not logged in yet: try again a few times,
    // with jittered backoff. A refused certificate or host key is final.
    let mut attempt = 0;
    let proxy = loop {
        let connected = async {
            tracing::debug!("connecting to the SSH proxy at {proxy_ssh}");
            let tcp = tokio::net::TcpStream::connect(proxy_ssh)
                .await
                .map_err(|e| Dropped(format!("cannot reach the SSH proxy at {proxy_ssh}: {e}")))?;
            let _ = tcp.set_nodelay(true);
            handshake(tcp, proxy_host, login, keys, "proxy").await
        };
        match connected.await {
            Ok(proxy) => break proxy,
            Err(e) if attempt < tether_client::client::CONNECT_RETRIES && dropped(&e) => {
                tokio::time::sleep(tether_client::client::retry_delay(attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    };
    let mut channel = proxy.channel_open_session().await.context("the proxy refused a session channel")?;
    tracing::debug!("asking the proxy for a relay to {host}:{port} in {cluster}");
    channel.request_subsystem(true, format!("proxy:{host}:{port}@{cluster}")).await?;
    let mut stderr = Vec::new();
    loop {
        match channel.wait().await {
            Some(ChannelMsg::ExtendedData { data, .. }) => stderr.extend_from_slice(&data),
            Some(ChannelMsg::Success) => break,
            Some(ChannelMsg::Failure) | Some(ChannelMsg::Close) | Some(ChannelMsg::Eof) | None => {
                let msg = String::from_utf8_lossy(&stderr).trim().to_string();
                if msg.is_empty() {
                    bail!("the proxy refused to connect to {host}:{port}");
                }
                bail!("{}", msg.trim_start_matches("tether: "));
            }
            Some(_) => {}
        }
    }
    tracing::debug!("relay to {host}:{port} open");
    Ok((proxy, channel.into_stream()))
}

/// The node's SSH session runs inside a channel of the proxy's; both are russh sessions in this
/// process. A russh session stops reading while a write of its own waits, and the proxy
/// session stops taking window adjustments while the node session does not read: so writing
/// straight into the proxy channel deadlocks once data flows both ways faster than the windows
/// turn over (`cat` with 16 MiB stalled). The node session gets one end of an in-memory pipe
/// instead, with room for more than it can ever have in flight ([`HOP_BUFFER`]: its data waits
/// for the node's window, which the node re-opens on receipt), and a copy task moves bytes to
/// and from the proxy channel, each direction on its own.
pub(crate) struct Hop {
    copy: tokio::task::JoinHandle<()>,
}

impl Drop for Hop {
    fn drop(&mut self) {
        self.copy.abort();
    }
}

/// Puts a pipe between the proxy channel `stream` and the node session (see [`Hop`]).
pub(crate) fn decouple(mut stream: russh::ChannelStream<russh::client::Msg>) -> (tokio::io::DuplexStream, Hop) {
    let (session_end, mut hop_end) = tokio::io::duplex(HOP_BUFFER);
    let copy = tokio::spawn(async move {
        let _ = tokio::io::copy_bidirectional_with_sizes(&mut hop_end, &mut stream, 64 * 1024, 64 * 1024).await;
    });
    (session_end, Hop { copy })
}

/// What `tsh ssh` runs.
pub struct SshRequest<'a> {
    /// The node.
    pub host: &'a str,
    /// The node's SSH port.
    pub port: u16,
    /// The cluster the node is in.
    pub cluster: &'a str,
    /// The Unix login.
    pub login: &'a str,
    /// The command (empty: an interactive shell).
    pub command: Vec<String>,
    /// Force (`Some(true)`) or forbid (`Some(false)`) a PTY; `None`: a PTY for a shell on a terminal.
    pub tty: Option<bool>,
}

/// An SSH connection to a node through the proxy's relay. Keep it whole while in use.
pub struct NodeConnection {
    /// The session with the node (shared with the forwarding tasks, forward/).
    pub node: Arc<russh::client::Handle<HostCheck>>,
    proxy: russh::client::Handle<HostCheck>,
    _hop: Hop,
}

impl NodeConnection {
    /// Says goodbye to the node and the proxy.
    pub async fn close(self) {
        let _ = self.node.disconnect(russh::Disconnect::ByApplication, "", "en").await;
        let _ = self.proxy.disconnect(russh::Disconnect::ByApplication, "", "en").await;
    }
}

/// Connects to `login@host:port` in `cluster` through the proxy at `proxy_ssh`. The node (or a
/// leaf proxy's hop to it) may shed the handshake under load like the proxy does: the whole
/// path is dialled again, a few times, with jittered backoff.
pub async fn connect(
    proxy_ssh: &str,
    keys: &Keys,
    host: &str,
    port: u16,
    cluster: &str,
    login: &str,
) -> Result<NodeConnection> {
    connect_with(proxy_ssh, keys, host, port, cluster, login, None).await
}

/// [`connect`], passing the node's channels and refusal texts to `events` (forward/).
pub(crate) async fn connect_with(
    proxy_ssh: &str,
    keys: &Keys,
    host: &str,
    port: u16,
    cluster: &str,
    login: &str,
    events: Option<NodeEvents>,
) -> Result<NodeConnection> {
    let mut attempt = 0;
    loop {
        let connected = async {
            let (proxy, stream) =
                tokio::time::timeout(CONNECT_TIMEOUT, dial_node(proxy_ssh, host, port, cluster, login, keys))
                    .await
                    .map_err(|_| anyhow::anyhow!("connecting to {host} took longer than {CONNECT_TIMEOUT:?}"))??;
            let (pipe, hop) = decouple(stream);
            let node = handshake_with(pipe, host, login, keys, "node", events.clone()).await?;
            Ok::<_, anyhow::Error>(NodeConnection { node: Arc::new(node), proxy, _hop: hop })
        };
        match connected.await {
            Ok(connection) => return Ok(connection),
            Err(e) if attempt < tether_client::client::CONNECT_RETRIES && dropped(&e) => {
                tokio::time::sleep(tether_client::client::retry_delay(attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Runs `tsh ssh` with its port and agent forwarding (forward/); returns the remote exit code.
/// With `-N`, holds the forwards instead of running a command.
pub async fn run(proxy_ssh: &str, keys: &Keys, req: &SshRequest<'_>, fwd: &crate::forward::Forwarding) -> Result<i32> {
    use std::io::IsTerminal;
    let (events, inbound) = NodeEvents::new();
    let connection =
        connect_with(proxy_ssh, keys, req.host, req.port, req.cluster, req.login, Some(events.clone())).await?;
    let node = &connection.node;
    let mut forwarder =
        crate::forward::Forwarder::start(node.clone(), fwd, req.host, &events, inbound, &keys.cert).await?;
    if fwd.no_command {
        let code = forwarder.hold(node).await;
        drop(forwarder);
        connection.close().await;
        return Ok(code);
    }
    let mut channel = node.channel_open_session().await.context("the node refused a session channel")?;
    if fwd.agent.is_some() {
        crate::forward::request_agent(&mut channel, &keys.cert, req.host).await?;
    }
    let interactive = req.command.is_empty();
    let want_tty = req.tty.unwrap_or(interactive && std::io::stdin().is_terminal());
    let _raw = if want_tty {
        let (cols, rows) = crossterm::terminal::size().unwrap_or((80, 24));
        let term = std::env::var("TERM").unwrap_or_else(|_| "xterm".into());
        channel.request_pty(true, &term, u32::from(cols), u32::from(rows), 0, 0, &[]).await?;
        RawMode::enable(std::io::stdin().is_terminal())
    } else {
        RawMode(false)
    };
    if interactive {
        channel.request_shell(true).await?;
    } else {
        channel.exec(true, shell_join(&req.command)).await?;
    }

    tracing::debug!("session requested on {}", req.host);
    // stdin → channel, in its own task; EOF on stdin sends EOF.
    let writer = channel.make_writer();
    let stdin_task = tokio::spawn(async move {
        let mut stdin = crate::stdio::stdin();
        let mut writer = writer;
        let mut buf = vec![0u8; STDIN_BUFFER];
        loop {
            match stdin.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if writer.write_all(buf.get(..n).unwrap_or_default()).await.is_err() {
                        return;
                    }
                }
            }
        }
        let _ = writer.shutdown().await;
    });
    let mut winch = if want_tty {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change()).ok()
    } else {
        None
    };
    let mut stdout = crate::stdio::stdout();
    let mut stderr = tokio::io::stderr();
    let mut code = None;
    loop {
        let msg = tokio::select! {
            msg = channel.wait() => msg,
            Some(()) = async { match winch.as_mut() { Some(s) => s.recv().await, None => std::future::pending().await } } => {
                if let Ok((cols, rows)) = crossterm::terminal::size() {
                    let _ = channel.window_change(u32::from(cols), u32::from(rows), 0, 0).await;
                }
                continue;
            }
        };
        match msg {
            Some(ChannelMsg::Data { data }) => {
                stdout.write_all(&data).await?;
                stdout.flush().await?;
            }
            Some(ChannelMsg::ExtendedData { data, .. }) => {
                stderr.write_all(&data).await?;
                stderr.flush().await?;
            }
            Some(ChannelMsg::ExitStatus { exit_status }) => {
                tracing::debug!("exit status {exit_status}");
                code = Some(exit_status as i32)
            }
            Some(ChannelMsg::ExitSignal { signal_name, .. }) => {
                eprintln!("\r\ntsh: remote command killed by signal {signal_name:?}");
                code = Some(255);
            }
            Some(ChannelMsg::Failure) => {
                drop(_raw);
                bail!("the node refused the session request");
            }
            Some(ChannelMsg::Close) | None => break,
            Some(_) => {}
        }
    }
    stdin_task.abort();
    drop(forwarder);
    connection.close().await;
    tracing::debug!("closed");
    Ok(code.unwrap_or(255))
}

/// Joins argv words into one command line, quoting words that need it.
pub fn shell_join(words: &[String]) -> String {
    if let [word] = words {
        return word.clone();
    }
    words
        .iter()
        .map(|w| {
            if !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c)) {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Puts the local terminal in raw mode for an interactive session, restoring it when dropped.
struct RawMode(bool);

impl RawMode {
    fn enable(on_terminal: bool) -> RawMode {
        RawMode(on_terminal && crossterm::terminal::enable_raw_mode().is_ok())
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if self.0 {
            let _ = crossterm::terminal::disable_raw_mode();
        }
    }
}

/// `tsh proxy ssh USER@HOST:PORT`: the OpenSSH `ProxyCommand`, piping stdin/stdout to the node.
pub async fn proxy_command(
    proxy_ssh: &str,
    keys: &Keys,
    host: &str,
    port: u16,
    cluster: &str,
    login: &str,
) -> Result<()> {
    let (_proxy, mut stream) = dial_node(proxy_ssh, host, port, cluster, login, keys).await?;
    let mut stdio = tokio::io::join(crate::stdio::stdin(), crate::stdio::stdout());
    // Large reads: OpenSSH's packets arrive in pipe-sized bursts (and when stdin is not a pipe,
    // every read is a hand-off to a blocking thread).
    let _ = tokio::io::copy_bidirectional_with_sizes(&mut stdio, &mut stream, PROXY_BUFFER, PROXY_BUFFER).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{changed_cas, shell_join};

    #[test]
    fn only_different_leaf_cas_are_worth_another_try() {
        let key = |seed: u8| {
            russh::keys::PrivateKey::from(russh::keys::ssh_key::private::Ed25519Keypair::from_seed(&[seed; 32]))
                .public_key()
                .clone()
        };
        let row = |cas: Vec<String>| tether_shared::api::ClusterInfo {
            name: "leaf.example.com".into(),
            status: "online".into(),
            cluster_type: "leaf".into(),
            host_cas: cas,
            tls_cas: Vec::new(),
            last_heartbeat: None,
        };
        let (old, new) = (key(1), key(2));
        let openssh = |k: &russh::keys::PublicKey| k.to_openssh().unwrap();
        // The root lists what tsh already held: trying again would fail the same way.
        assert_eq!(changed_cas(std::slice::from_ref(&old), &row(vec![openssh(&old)])), None);
        // Nothing usable: keep the error.
        assert_eq!(changed_cas(std::slice::from_ref(&old), &row(vec![])), None);
        assert_eq!(changed_cas(std::slice::from_ref(&old), &row(vec!["not a key".into()])), None);
        // A rotated CA: try again against it.
        assert_eq!(changed_cas(std::slice::from_ref(&old), &row(vec![openssh(&new)])), Some(vec![new]));
    }

    #[test]
    fn joins_words_safely() {
        assert_eq!(shell_join(&["echo hi".into()]), "echo hi");
        assert_eq!(shell_join(&["echo".into(), "hi there".into()]), "echo 'hi there'");
        assert_eq!(shell_join(&["printf".into(), "it's".into()]), "printf 'it'\\''s'");
    }
}
