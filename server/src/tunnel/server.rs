//! The root's tunnel listener (`proxy_service.tunnel_listen_addr`): leaf agents log in here with
//! their cluster's host certificate and keep a control channel open; transports are opened
//! through the registry.
//!
//! An agent is accepted only when its login names a `remote_cluster` of this root and its host
//! certificate verifies against the host CA stored for that cluster, with the cluster's name
//! among the principals. A control channel that stays silent for the offline window is closed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use russh::keys::Certificate;
use russh::server::{Auth, Handle, Msg, Session};
use russh::{Channel, ChannelId};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use super::registry::Registry;
use super::{Control, SUBSYSTEM};
use crate::auth::Auth as AuthService;

/// How long an agent has to finish the SSH handshake and log in.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(20);
/// The most tunnels one root proxy holds.
pub const MAX_TUNNELS: usize = 20_000;

/// Serves agents until `shutdown` fires.
pub async fn serve(
    listener: TcpListener,
    config: Arc<russh::server::Config>,
    auth: Arc<AuthService>,
    registry: Arc<Registry>,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(MAX_TUNNELS));
    let mut sessions = tokio::task::JoinSet::new();
    loop {
        let (tcp, addr) = tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!("tunnel: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%addr, "tunnel: limit of {MAX_TUNNELS} tunnels reached, refusing");
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let (control_tx, control_rx) = tokio::sync::oneshot::channel();
        let handler =
            TunnelPeer { auth: auth.clone(), addr, cluster: None, control: None, control_tx: Some(control_tx) };
        let config = config.clone();
        let registry = registry.clone();
        let stop = shutdown.clone();
        sessions.spawn(async move {
            let _permit = permit;
            let session =
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, russh::server::run_stream(config, tcp, handler)).await {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => return tracing::debug!(%addr, "tunnel: handshake failed: {e}"),
                    Err(_) => return tracing::debug!(%addr, "tunnel: handshake timed out"),
                };
            let handle = session.handle();
            // An agent must log in and open its control channel within the handshake timeout;
            // a connection that does not is closed, so idle strangers cannot hold slots.
            let control = async {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, control_rx).await {
                    Ok(Ok((cluster, channel))) => run_control(&registry, &cluster, channel, handle.clone(), stop).await,
                    Ok(Err(_)) => std::future::pending().await,
                    Err(_) => tracing::debug!(%addr, "tunnel: no control channel within {HANDSHAKE_TIMEOUT:?}"),
                }
            };
            tokio::pin!(session);
            tokio::select! {
                result = &mut session => match result {
                    Err(e) => tracing::info!(%addr, "tunnel: connection ended: {e}"),
                    Ok(()) => tracing::debug!(%addr, "tunnel: connection closed"),
                },
                () = control => {
                    let _ = handle.disconnect(russh::Disconnect::ByApplication, String::new(), "en".into()).await;
                    let _ = tokio::time::timeout(Duration::from_secs(2), &mut session).await;
                }
            }
        });
        while sessions.try_join_next().is_some() {}
    }
    sessions.shutdown().await;
}

/// Runs one tunnel's control channel: hello, heartbeats, discovery updates, drain on shutdown.
async fn run_control(
    registry: &Registry,
    cluster: &str,
    channel: Channel<Msg>,
    handle: Handle,
    mut stop: watch::Receiver<bool>,
) {
    // Unregistered on every way out, including when the connection ends first and this future
    // is dropped.
    let _registration = Registration { registry, cluster, id: registry.register(cluster, handle) };
    tracing::info!(%cluster, proxy = registry.proxy_id(), "tunnel: leaf connected");
    let (read, mut write) = tokio::io::split(channel.into_stream());
    let mut read = BufReader::with_capacity(512, read);
    let mut proxies = registry.proxies();
    let hello = |ids: Vec<String>| Control::Hello {
        proxy_id: registry.proxy_id().to_string(),
        heartbeat_ms: registry.heartbeat_interval().as_millis() as u64,
        proxies: ids,
    };
    let first = hello(proxies.borrow_and_update().clone());
    let reason = if write.write_all(first.line().as_bytes()).await.is_err() {
        "the control channel closed".to_string()
    } else {
        loop {
            tokio::select! {
                line = tokio::time::timeout(registry.window(), super::read_line(&mut read)) => match line {
                    Ok(Ok(Some(line))) => match serde_json::from_str::<Control>(&line) {
                        Ok(Control::Heartbeat { .. }) => registry.heartbeat(cluster),
                        Ok(other) => tracing::debug!(%cluster, "tunnel: ignoring {other:?} from an agent"),
                        Err(e) => break format!("unreadable control message: {e}"),
                    },
                    Ok(Ok(None)) => break "the agent closed the tunnel".into(),
                    Ok(Err(e)) => break format!("control channel error: {e}"),
                    Err(_) => break format!("no heartbeat for {:?}", registry.window()),
                },
                changed = proxies.changed() => {
                    if changed.is_err() { break "shutting down".into() }
                    let msg = hello(proxies.borrow_and_update().clone());
                    if write.write_all(msg.line().as_bytes()).await.is_err() {
                        break "the control channel closed".into();
                    }
                }
                _ = stop.changed() => {
                    let _ = write.write_all(Control::Drain.line().as_bytes()).await;
                    break "this proxy is stopping".into();
                }
            }
        }
    };
    tracing::info!(%cluster, proxy = registry.proxy_id(), "tunnel: leaf disconnected: {reason}");
}

/// A tunnel's entry in the registry, removed when dropped.
struct Registration<'a> {
    registry: &'a Registry,
    cluster: &'a str,
    id: u64,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.registry.unregister(self.cluster, self.id);
    }
}

struct TunnelPeer {
    auth: Arc<AuthService>,
    addr: SocketAddr,
    cluster: Option<String>,
    control: Option<Channel<Msg>>,
    control_tx: Option<tokio::sync::oneshot::Sender<(String, Channel<Msg>)>>,
}

impl russh::server::Handler for TunnelPeer {
    type Error = russh::Error;

    async fn auth_openssh_certificate(&mut self, user: &str, cert: &Certificate) -> Result<Auth, Self::Error> {
        match self.auth.check_tunnel_cert(user, cert).await {
            Ok(()) => {
                self.cluster = Some(user.to_string());
                Ok(Auth::Accept)
            }
            Err(reason) => {
                tracing::warn!(addr = %self.addr, cluster = user, "tunnel: agent refused: {reason}");
                self.auth.audit().emit(
                    "tunnel.refused",
                    "T7200W",
                    &format!("@cluster:{user}"),
                    false,
                    serde_json::json!({"addr": self.addr.to_string(), "reason": reason}),
                );
                Ok(Auth::reject())
            }
        }
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: russh::server::ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.cluster.is_some() && self.control.is_none() && self.control_tx.is_some() {
            self.control = Some(channel);
            reply.accept().await;
        }
        Ok(())
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let ok = name == SUBSYSTEM && self.control.as_ref().is_some_and(|c| c.id() == channel);
        match (ok, self.cluster.clone(), self.control.take(), self.control_tx.take()) {
            (true, Some(cluster), Some(control), Some(tx)) => {
                session.channel_success(channel)?;
                let _ = tx.send((cluster, control));
            }
            (_, _, control, tx) => {
                self.control = control;
                self.control_tx = tx;
                session.channel_failure(channel)?;
            }
        }
        Ok(())
    }
}
