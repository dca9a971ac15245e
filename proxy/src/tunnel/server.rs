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
use tether_audit::{Event, Outcome};

use russh::keys::Certificate;
use russh::server::{Auth, Handle, Msg, Session};
use russh::{Channel, ChannelId};
use tether_shared::current::Current;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::sync::watch;

use super::registry::Registry;
use tether_auth::AuthService;
use tether_auth::trust::Peer;
use tether_edge::listen::{Conn, Gate, Listener};
use tether_shared::tunnel::{Control, SUBSYSTEM, read_line};

/// How long a logged-in agent has to open its control channel.
pub const CONTROL_TIMEOUT: Duration = Duration::from_secs(20);
/// After the drain message, how long the root waits for the agent to hang up.
pub const DRAIN_WAIT: Duration = Duration::from_secs(5);

/// Serves agents on `listener` until `shutdown` fires: each tunnel then gets
/// [`Control::Drain`], flushed, and the agent hangs up to reconnect elsewhere.
pub async fn serve(
    listener: Listener,
    config: Arc<Current<russh::server::Config>>,
    auth: Arc<AuthService>,
    registry: Arc<Registry>,
    shutdown: watch::Receiver<bool>,
) {
    let listener = listener.with_refusals(Arc::new(tether_edge::ssh_config::SshRefusal(config.clone())));
    listener
        .serve(shutdown, move |conn: Conn| {
            let (control_tx, control_rx) = tokio::sync::oneshot::channel();
            let handler = TunnelPeer {
                auth: auth.clone(),
                addr: conn.peer,
                gate: conn.gate.clone(),
                cluster: None,
                control: None,
                control_tx: Some(control_tx),
            };
            run_connection(conn, config.get(), registry.clone(), auth.clone(), handler, control_rx)
        })
        .await;
}

async fn run_connection(
    conn: Conn,
    config: Arc<russh::server::Config>,
    registry: Arc<Registry>,
    auth: Arc<AuthService>,
    handler: TunnelPeer,
    control_rx: tokio::sync::oneshot::Receiver<(String, Channel<Msg>)>,
) {
    let Conn { stream, peer: addr, killer, shutdown, gate, .. } = conn;
    let session = match russh::server::run_stream(config, stream, handler).await {
        Ok(s) => s,
        Err(e) => return tracing::debug!(%addr, "tunnel: handshake failed: {e}"),
    };
    let handle = session.handle();
    // Logging in is bounded by the listener's grace time; a logged-in agent must then open its
    // control channel in time, or the connection is closed.
    let control = async {
        let mut stop = shutdown.clone();
        tokio::select! {
            opened = control_rx => match opened {
                Ok((cluster, channel)) => run_control(&registry, &auth, &cluster, channel, handle.clone(), shutdown).await,
                Err(_) => std::future::pending().await,
            },
            () = tokio::time::sleep(CONTROL_TIMEOUT) => {
                tracing::debug!(%addr, "tunnel: no control channel within {CONTROL_TIMEOUT:?}");
            }
            () = tether_edge::listen::until_shutdown(&mut stop) => {}
        }
    };
    tokio::pin!(session);
    tokio::select! {
        result = &mut session => match result {
            // Strangers closed at their deadline are the listener's business (throttled there).
            Err(e) if gate.passed() => tracing::info!(%addr, "tunnel: connection ended: {e}"),
            Err(e) => tracing::debug!(%addr, "tunnel: unauthenticated connection ended: {e}"),
            Ok(()) => tracing::debug!(%addr, "tunnel: connection closed"),
        },
        () = control => {
            // The agent hangs up after a drain; otherwise (or if it does not) close it here.
            if tokio::time::timeout(DRAIN_WAIT, &mut session).await.is_err() {
                let bye = handle.disconnect(russh::Disconnect::ByApplication, String::new(), "en".into());
                let _ = tokio::time::timeout(Duration::from_millis(500), bye).await;
                killer.kill();
            }
        }
    }
}

/// Runs one tunnel's control channel: hello, heartbeats, discovery updates, the CAs of both
/// sides (this root's after each rotation phase; the leaf's, stored as they come), drain on
/// shutdown.
async fn run_control(
    registry: &Registry,
    auth: &AuthService,
    cluster: &str,
    channel: Channel<Msg>,
    handle: Handle,
    mut stop: watch::Receiver<bool>,
) {
    // Unregistered on every way out, including when the connection ends first and this future
    // is dropped.
    let registration = Registration { registry, cluster, id: registry.register(cluster, handle) };
    tracing::info!(%cluster, proxy = registry.proxy_id(), "tunnel: leaf connected");
    let (read, mut write) = tokio::io::split(channel.into_stream());
    let mut read = BufReader::with_capacity(512, read);
    let mut proxies = registry.proxies();
    let hello = |ids: Vec<String>| Control::Hello {
        proxy_id: registry.proxy_id().to_string(),
        heartbeat_ms: registry.heartbeat_interval().as_millis() as u64,
        proxies: ids,
        ca_sync: true,
    };
    let mut cas = auth.authority().changes();
    let mut last_sync = None;
    let own_cas = || registry.ca_line(auth);
    let first = hello(proxies.borrow_and_update().clone()).line() + own_cas().as_deref().unwrap_or_default();
    let reason = if write.write_all(first.as_bytes()).await.is_err() {
        "the control channel closed".to_string()
    } else {
        loop {
            tokio::select! {
                line = tokio::time::timeout(registry.window(), read_line(&mut read)) => match line {
                    Ok(Ok(Some(line))) => match serde_json::from_str::<Control>(&line) {
                        Ok(Control::Heartbeat { .. }) => registry.heartbeat(cluster),
                        Ok(Control::Retire) => break retired(registry, cluster, registration.id, &mut write, stop.clone()).await,
                        Ok(Control::Authorities { cas }) => {
                            tether_shared::tunnel::pace_ca_sync(&mut last_sync).await;
                            if let Err(e) = auth.trust().sync_cas(Peer::Leaf, cluster, &cas).await {
                                tracing::warn!(%cluster, "tunnel: cannot store the CAs the leaf sent: {}", e.chain());
                            }
                        }
                        Ok(other) => tracing::debug!(%cluster, "tunnel: ignoring {other:?} from an agent"),
                        Err(e) => break format!("unreadable control message: {e}"),
                    },
                    Ok(Ok(None)) => break "the agent closed the tunnel".into(),
                    Ok(Err(e)) => break format!("control channel error: {e}"),
                    Err(_) => break format!("no heartbeat for {:?}", registry.window()),
                },
                Ok(()) = cas.changed() => {
                    match own_cas() {
                        Ok(line) => if write.write_all(line.as_bytes()).await.is_err() {
                            break "the control channel closed".into();
                        },
                        Err(e) => tracing::warn!("tunnel: cannot send this cluster's CAs: {}", e.chain()),
                    }
                }
                changed = proxies.changed() => {
                    if changed.is_err() { break "shutting down".into() }
                    let msg = hello(proxies.borrow_and_update().clone());
                    if write.write_all(msg.line().as_bytes()).await.is_err() {
                        break "the control channel closed".into();
                    }
                }
                () = tether_edge::listen::until_shutdown(&mut stop) => {
                    // Flushed and followed by EOF, so the agent reads it before anything ends.
                    let _ = write.write_all(Control::Drain.line().as_bytes()).await;
                    let _ = write.flush().await;
                    let _ = write.shutdown().await;
                    break "this proxy is stopping".into();
                }
            }
        }
    };
    tracing::info!(%cluster, proxy = registry.proxy_id(), "tunnel: leaf disconnected: {reason}");
}

/// A tunnel its agent is replacing: no heartbeats are expected any more; it stays registered
/// (as a last resort for new transports) until the agent hangs up, or is drained at shutdown.
async fn retired<W: tokio::io::AsyncWrite + Unpin>(
    registry: &Registry,
    cluster: &str,
    id: u64,
    write: &mut W,
    mut stop: watch::Receiver<bool>,
) -> String {
    registry.retire(cluster, id);
    tracing::debug!(%cluster, "tunnel: the agent is replacing this connection");
    tether_edge::listen::until_shutdown(&mut stop).await;
    let _ = write.write_all(Control::Drain.line().as_bytes()).await;
    let _ = write.flush().await;
    let _ = write.shutdown().await;
    "retired, and this proxy is stopping".into()
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
    gate: Gate,
    cluster: Option<String>,
    control: Option<Channel<Msg>>,
    control_tx: Option<tokio::sync::oneshot::Sender<(String, Channel<Msg>)>>,
}

impl russh::server::Handler for TunnelPeer {
    type Error = russh::Error;

    async fn auth_openssh_certificate(&mut self, user: &str, cert: &Certificate) -> Result<Auth, Self::Error> {
        match self.auth.trust().check_tunnel_cert(user, cert).await {
            Ok(()) => {
                self.cluster = Some(user.to_string());
                self.gate.pass();
                Ok(Auth::Accept)
            }
            Err(reason) => {
                tracing::warn!(addr = %self.addr, cluster = user, "tunnel: agent refused: {reason}");
                self.auth.audit().emit(
                    Event::TunnelRefused,
                    Outcome::Failure,
                    &format!("@cluster:{user}"),
                    serde_json::json!({"addr": self.addr.to_string(), "reason": reason.to_string()}),
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
