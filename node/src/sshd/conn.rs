//! One connection's state, [`Conn`]: who authenticated, the session channels and what runs on
//! them, the port forwards and their count, the throttle on the client's data, and the tasks
//! that end with the connection. `Conn` is the russh handler (the trait impl is `handler.rs`;
//! `launch.rs` and `forward.rs` add the methods for their requests). Also what the accept loop
//! (`accept.rs`) and the handler share: the node's name and trust, and how authentication went.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard};

use russh::ChannelId;
use serde_json::json;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

use super::agent::AgentSocket;
use super::policy::{Authed, NodeTrust};
use crate::inbound;
use crate::session::{self, Control, PtySpec};
use tether_edge::listen::Gate;

/// What the connection task learns from its handler.
#[derive(Debug, Default)]
pub(super) struct AuthProgress {
    /// The client asked for the `ssh-userauth` service.
    pub(super) userauth_started: bool,
    /// Refusals audited by the handler.
    pub(super) refusals: u32,
    /// Who tried (the last certificate's key ID or the requested login), for the end-of-connection audit.
    pub(super) last_user: String,
}

/// What every connection shares.
pub(super) struct NodeCtx {
    pub(super) node_name: String,
    pub(super) trust: Arc<dyn NodeTrust>,
    /// Port forwards one connection may hold (`connection_limits.max_forwards_per_connection`).
    pub(super) max_forwards: usize,
}

/// A process running on a channel: where the client's input goes.
pub(super) struct RunningIo {
    /// stdin; `None` after the client's EOF.
    pub(super) data: Option<mpsc::UnboundedSender<inbound::Chunk>>,
    /// What waits for stdin, counted against the connection's throttle.
    pub(super) queue: Arc<inbound::Queue>,
    pub(super) control: mpsc::UnboundedSender<Control>,
}

/// A session channel's state.
#[derive(Default)]
pub(super) struct ChannelState {
    pub(super) pty: Option<PtySpec>,
    pub(super) env: Vec<(String, String)>,
    pub(super) agent: Option<AgentSocket>,
    pub(super) started: bool,
    pub(super) running: Option<RunningIo>,
}

/// One connection's handler.
pub(super) struct Conn {
    pub(super) ctx: Arc<NodeCtx>,
    /// The client's address (the user's, when a proxy relayed the connection and signed it).
    pub(super) peer: SocketAddr,
    /// The relaying proxy's address, when one did.
    pub(super) via: Option<SocketAddr>,
    /// The address the client connected to (for `SSH_CONNECTION`).
    pub(super) local: SocketAddr,
    progress: Arc<Mutex<AuthProgress>>,
    pub(super) authed_tx: watch::Sender<bool>,
    /// Passed on successful authentication (the listener's pre-authentication limits).
    pub(super) gate: Gate,
    pub(super) user: Option<Authed>,
    /// A valid certificate whose roles do not allow this login here: the connection is let in
    /// only to tell the user why on their first session request, then closed.
    pub(super) denied: Option<String>,
    pub(super) channels: HashMap<ChannelId, ChannelState>,
    /// Port forwards running on this connection (forwarded channels and remote forward
    /// listeners), counted against `ctx.max_forwards` apart from the session channels.
    pub(super) forwards: Arc<AtomicUsize>,
    /// Remote forward listeners by the port they listen on; dropping the sender stops one.
    pub(super) remote_forwards: HashMap<u16, oneshot::Sender<()>>,
    /// Slows the client when a channel has too much of its data waiting (inbound.rs).
    pub(super) throttle: Arc<inbound::Throttle>,
    /// Channel tasks (processes, forwards, agent listeners): aborted when the connection ends.
    pub(super) tasks: JoinSet<()>,
    /// The login's lookup, started as soon as the user is in (see [`Conn::look_up_login`]).
    login_lookup: Option<oneshot::Receiver<Result<session::PreparedLogin, session::SessionError>>>,
    pub(super) shutdown: watch::Receiver<bool>,
}

impl Conn {
    /// A connection from `peer` to `local`, before authentication: it reports how authentication goes in
    /// `progress`, sends `true` on `authed_tx` and passes `gate` once a user is in.
    pub(super) fn new(
        ctx: Arc<NodeCtx>,
        (peer, via, local): (SocketAddr, Option<SocketAddr>, SocketAddr),
        progress: Arc<Mutex<AuthProgress>>,
        authed_tx: watch::Sender<bool>,
        gate: Gate,
        shutdown: watch::Receiver<bool>,
    ) -> Conn {
        Conn {
            ctx,
            peer,
            via,
            local,
            progress,
            authed_tx,
            gate,
            user: None,
            denied: None,
            channels: HashMap::new(),
            forwards: Arc::default(),
            remote_forwards: HashMap::new(),
            throttle: inbound::Throttle::new(),
            tasks: JoinSet::new(),
            login_lookup: None,
            shutdown,
        }
    }

    /// How authentication is going, shared with the accept loop.
    pub(super) fn progress(&self) -> MutexGuard<'_, AuthProgress> {
        self.progress.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The audit details every event of `authed`'s sessions and forwards carries.
    pub(super) fn audit_details(&self, authed: &Authed) -> serde_json::Value {
        json!({
            "login": authed.login,
            "node": self.ctx.node_name,
            "roles": authed.roles,
            "user_cluster": authed.identity.cluster,
            "ca_cluster": authed.ca_cluster,
            "remote_addr": self.peer.to_string(),
            "proxy_addr": self.via.map(|a| a.to_string()),
        })
    }

    /// Starts reading the login's account and groups as soon as the user is in, while the
    /// client opens its channel: the first session request finds it done
    /// ([`Conn::prepare_login`]).
    pub(super) fn look_up_login(&mut self) {
        let Some(authed) = self.user.as_ref() else { return };
        let (login, node) = (authed.login.clone(), self.ctx.node_name.clone());
        let (tx, rx) = oneshot::channel();
        self.tasks.spawn(async move {
            let _ = tx.send(session::prepare_login(&login, &node).await);
        });
        self.login_lookup = Some(rx);
    }

    /// The login's account and groups, read on a blocking thread (the user database may be
    /// slow: NSS, LDAP): the lookup started at authentication for the first request, a fresh
    /// one after. `None` before authentication.
    pub(super) async fn prepare_login(&mut self) -> Option<Result<session::PreparedLogin, session::SessionError>> {
        if let Some(started) = self.login_lookup.take()
            && let Ok(prepared) = started.await
        {
            return Some(prepared);
        }
        self.look_up_login_now().await
    }

    /// A fresh lookup of the login (what agent forwarding needs before the session starts; the
    /// one started at authentication stays for the session itself).
    pub(super) async fn look_up_login_now(&self) -> Option<Result<session::PreparedLogin, session::SessionError>> {
        let authed = self.user.as_ref()?;
        Some(session::prepare_login(&authed.login, &self.ctx.node_name).await)
    }
}
