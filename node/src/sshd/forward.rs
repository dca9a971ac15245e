//! Port forwarding. Both kinds need `permit-port-forwarding` in the certificate and no role
//! turning `port_forwarding` off ([`forwarding_refusal`]).
//!
//! - Local forwards (`direct-tcpip`) dial the target within [`DIAL_TIMEOUT`], from a task of the
//!   connection, and only then answer the open.
//! - Remote forwards (`tcpip-forward`) make the daemon listen on **loopback only**, whatever
//!   address the client asks for (OpenSSH's `GatewayPorts no`), on the port asked for (0: one the
//!   kernel picks, returned in the reply; below 1024 only for the login `root`,
//!   [`privileged_port_refusal`]); each connection opens a `forwarded-tcpip` channel back to the
//!   client naming the address and port the client asked for. `cancel-tcpip-forward` stops a
//!   listener (its open connections finish).
//!
//! A refused channel carries the reason as its description (`port forwarding is not allowed by
//! your roles`, the dial error), which `tsh` shows. Every listener and every forwarded channel
//! counts against the connection's forward cap (`connection_limits.max_forwards_per_connection`,
//! 256 by default; [`Counted`]), apart from its session channels: a forward past the cap is
//! refused with the reason, and a connection arriving at a listener past it is closed. Listeners and their relays are tasks
//! of the connection and end with it. Audit: `port` (`forward: local|remote`), refusals included
//! (`T3003E`, with the reason).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tether_audit::{Event, Outcome};

use russh::server::{ChannelOpenHandle, Msg, Session};
use russh::{Channel, ChannelOpenFailure};
use serde_json::json;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use super::conn::Conn;
use super::policy::{forwarding_refusal, privileged_port_refusal};
use super::relay::relay_channel;
use crate::inbound;
use tether_edge::listen::DIAL_TIMEOUT;

impl Conn {
    /// Counts one more port forward on this connection, or says why not: it holds its cap.
    fn reserve_forward(&self) -> Result<Counted, String> {
        let max = self.ctx.max_forwards;
        Counted::reserve(&self.forwards, max).ok_or_else(|| {
            format!("this connection already has {max} port forwards open (the node's max_forwards_per_connection)")
        })
    }

    /// Answers a `direct-tcpip` open (a local forward): refused unless the user may forward
    /// ports and the connection has room, else the target is dialled from a task of the
    /// connection and the channel relays to it.
    pub(super) async fn open_direct_tcpip(
        &mut self,
        channel: Channel<Msg>,
        host_to_connect: &str,
        port_to_connect: u32,
        originator_address: &str,
        originator_port: u32,
        reply: ChannelOpenHandle,
    ) {
        let Some(authed) = self.user.as_ref() else {
            reply.reject(ChannelOpenFailure::AdministrativelyProhibited).await;
            return;
        };
        let refusal = forwarding_refusal(authed);
        let mut details = self.audit_details(authed);
        if let Some(obj) = details.as_object_mut() {
            obj.insert("forward".into(), json!("local"));
            obj.insert("addr".into(), json!(format!("{host_to_connect}:{port_to_connect}")));
            obj.insert("origin".into(), json!(format!("{originator_address}:{originator_port}")));
        }
        let Ok(port) = u16::try_from(port_to_connect) else {
            reply.reject(open_failure(2, format!("{port_to_connect} is not a TCP port"))).await;
            return;
        };
        if let Some(reason) = refusal {
            tracing::info!(peer = %self.peer, user = %authed.identity.user, "port forwarding refused: {reason}");
            if let Some(obj) = details.as_object_mut() {
                obj.insert("error".into(), json!(reason));
            }
            self.ctx.trust.audit(Event::Port, Outcome::Failure, &authed.identity.user, details);
            reply.reject(open_failure(1, reason.to_string())).await;
            return;
        }
        let counted = match self.reserve_forward() {
            Ok(counted) => counted,
            Err(full) => {
                tracing::info!(peer = %self.peer, "port forward refused: {full}");
                reply.reject(open_failure(RESOURCE_SHORTAGE, full)).await;
                return;
            }
        };
        self.ctx.trust.audit(Event::Port, Outcome::Success, &authed.identity.user, details);
        let host = host_to_connect.to_string();
        let throttle = self.throttle.clone();
        // Dialing may take a while: do it outside the connection's event loop.
        self.tasks.spawn(async move {
            let _counted = counted;
            match tokio::time::timeout(DIAL_TIMEOUT, TcpStream::connect((host.as_str(), port))).await {
                Ok(Ok(mut tcp)) => {
                    let _ = tcp.set_nodelay(true);
                    reply.accept().await;
                    relay_channel(channel, &throttle, &mut tcp).await;
                }
                Ok(Err(e)) => {
                    tracing::debug!("direct-tcpip to {host}:{port} failed: {e}");
                    reply.reject(open_failure(2, format!("the node cannot connect to {host}:{port}: {e}"))).await;
                }
                Err(_) => {
                    let why = format!("the node cannot connect to {host}:{port}: no answer within {DIAL_TIMEOUT:?}");
                    reply.reject(open_failure(2, why)).await;
                }
            }
        });
    }

    /// Answers `tcpip-forward` (a remote forward): refused unless the user may forward ports,
    /// the port is theirs to take and the connection has room; else a loopback listener on the
    /// port asked for (0: one the kernel picks, written back to `port`) whose connections become
    /// `forwarded-tcpip` channels. Whether it was granted.
    pub(super) async fn listen_remote_forward(&mut self, address: &str, port: &mut u32, session: &mut Session) -> bool {
        let Some(authed) = self.user.as_ref() else { return false };
        let refusal = forwarding_refusal(authed);
        let user = authed.identity.user.clone();
        let login = authed.login.clone();
        let mut details = self.audit_details(authed);
        let requested = *port;
        if let Some(obj) = details.as_object_mut() {
            obj.insert("forward".into(), json!("remote"));
            obj.insert("addr".into(), json!(format!("{address}:{requested}")));
        }
        let refuse = |why: String, mut details: serde_json::Value| {
            tracing::info!(peer = %self.peer, user = %user, "remote forward of {address}:{requested} refused: {why}");
            if let Some(obj) = details.as_object_mut() {
                obj.insert("error".into(), json!(why));
            }
            self.ctx.trust.audit(Event::Port, Outcome::Failure, &user, details);
            false
        };
        if let Some(reason) = refusal {
            return refuse(reason.to_string(), details);
        }
        let Ok(wanted) = u16::try_from(requested) else {
            return refuse(format!("{requested} is not a TCP port"), details);
        };
        if let Some(why) = privileged_port_refusal(&login, wanted) {
            return refuse(why, details);
        }
        if self.remote_forwards.contains_key(&wanted) {
            return refuse(format!("port {wanted} is already forwarded on this connection"), details);
        }
        let listening = match self.reserve_forward() {
            Ok(counted) => counted,
            Err(full) => return refuse(full, details),
        };
        // GatewayPorts no: loopback only, whatever address was asked for.
        let listener = match tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, wanted)).await {
            Ok(l) => l,
            Err(e) => return refuse(format!("cannot listen on 127.0.0.1:{wanted}: {e}"), details),
        };
        let bound = match listener.local_addr() {
            Ok(a) => a.port(),
            Err(e) => return refuse(format!("cannot read the listening address: {e}"), details),
        };
        if let Some(obj) = details.as_object_mut() {
            obj.insert("listen".into(), json!(format!("127.0.0.1:{bound}")));
        }
        self.ctx.trust.audit(Event::Port, Outcome::Success, &user, details);
        tracing::info!(peer = %self.peer, user = %user, "remote forward listening on 127.0.0.1:{bound}");
        let (stop_tx, stop_rx) = oneshot::channel();
        self.remote_forwards.insert(bound, stop_tx);
        self.tasks.spawn(serve_remote_forward(
            listener,
            address.to_string(),
            bound,
            ForwardConn {
                handle: session.handle(),
                forwards: self.forwards.clone(),
                max: self.ctx.max_forwards,
                throttle: self.throttle.clone(),
            },
            stop_rx,
            listening,
        ));
        *port = u32::from(bound);
        true
    }

    /// Answers `cancel-tcpip-forward`: stops the listener on `port` (its open connections
    /// finish). Whether there was one.
    pub(super) fn cancel_remote_forward(&mut self, address: &str, port: u32) -> bool {
        let Some(stop) = u16::try_from(port).ok().and_then(|p| self.remote_forwards.remove(&p)) else {
            return false;
        };
        tracing::info!(peer = %self.peer, "remote forward of {address}:{port} cancelled");
        let _ = stop.send(());
        true
    }
}

/// One port forward (a remote forward's listener, or a forwarded channel), counted against the
/// connection's forward cap while it lives.
struct Counted(Arc<AtomicUsize>);

impl Counted {
    /// One more forward if fewer than `max` are open, checked and counted atomically.
    fn reserve(forwards: &Arc<AtomicUsize>, max: usize) -> Option<Counted> {
        forwards.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1)).ok()?;
        Some(Counted(forwards.clone()))
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// SSH's channel-open failure code for a resource shortage (RFC 4254 §5.1).
pub(super) const RESOURCE_SHORTAGE: u32 = 4;

/// A channel-open refusal with our own reason text (code 1, administratively prohibited, or 2,
/// connect failed), which clients show.
fn open_failure(code: u32, reason: String) -> ChannelOpenFailure {
    ChannelOpenFailure::Other { code, reason }
}

/// What a remote forward's listener needs of its connection.
struct ForwardConn {
    handle: russh::server::Handle,
    /// The connection's forwards, counted against `max`.
    forwards: Arc<AtomicUsize>,
    max: usize,
    throttle: Arc<inbound::Throttle>,
}

/// Accepts connections on a remote forward's listener until `stop` fires (or its sender goes) and
/// opens a `forwarded-tcpip` channel to the client for each, while the connection has room for
/// another forward. Relays run on after `stop` until they end; the connection ending aborts all.
async fn serve_remote_forward(
    listener: tokio::net::TcpListener,
    address: String,
    port: u16,
    conn: ForwardConn,
    mut stop: oneshot::Receiver<()>,
    _listening: Counted,
) {
    let ForwardConn { handle, forwards, max, throttle } = conn;
    let mut relays = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => {
                let (mut tcp, origin) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        tracing::debug!("remote forward on port {port}: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                // Reserved in one step: listeners on other workers cannot slip past the cap.
                let Some(counted) = Counted::reserve(&forwards, max) else {
                    tracing::info!("remote forward on port {port}: connection from {origin} closed: {max} forwards already open");
                    continue;
                };
                let (handle, throttle, address) = (handle.clone(), throttle.clone(), address.clone());
                relays.spawn(async move {
                    let _counted = counted;
                    let _ = tcp.set_nodelay(true);
                    let open = handle.channel_open_forwarded_tcpip(
                        address,
                        u32::from(port),
                        origin.ip().to_string(),
                        u32::from(origin.port()),
                    );
                    match tokio::time::timeout(DIAL_TIMEOUT, open).await {
                        Ok(Ok(channel)) => relay_channel(channel, &throttle, &mut tcp).await,
                        Ok(Err(e)) => tracing::debug!("the client refused the forwarded-tcpip channel: {e}"),
                        Err(_) => tracing::debug!("the client did not answer the forwarded-tcpip channel within {DIAL_TIMEOUT:?}"),
                    }
                });
            }
            Some(_) = relays.join_next(), if !relays.is_empty() => {}
        }
    }
    drop(listener);
    while relays.join_next().await.is_some() {}
}
