//! The accept loop: the node's [`SshdConfig`], [`serve`] on the shared listener, and each
//! connection's life around its russh session.
//!
//! The shared listener (`listen.rs`) caps connections and closes those that do not finish
//! authenticating within `login_grace_time`; keepalives and the inactivity limit (russh, from
//! `teleport.connection_limits`) end dead or idle ones. Every connection and channel task is
//! owned: the server stops them all when `shutdown` turns true, and a connection's processes are
//! killed when it goes away. At shutdown an unauthenticated connection is told goodbye (within
//! [`DISCONNECT_GRACE`]) and closed; running sessions get the listener's shutdown grace.
//!
//! russh itself refuses certificates outside their validity window or with a broken signature
//! *before* any handler runs, so Tether cannot see those: a connection that started
//! authenticating and ends (or times out) without success and without a refusal of ours is
//! audited once at its end (`auth.failure`, `T3007W`) as `kind: "refused_by_ssh_library"`, or
//! `"auth_timeout"` when the grace time ran out.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tether_audit::{Event, Outcome};

use russh::Disconnect;
use russh::keys::{Certificate, PrivateKey};
use serde_json::json;
use tokio::sync::watch;

use super::conn::{AuthProgress, Conn, NodeCtx};
use super::policy::NodeTrust;
use super::proxied::ProxyJudge;
use crate::session;
use tether_edge::limits::ConnectionLimits;
use tether_edge::listen::{Conn as Accepted, Listener};
use tether_shared::current::Current;

/// How long the node waits for a client to take its goodbye before the socket is closed.
pub const DISCONNECT_GRACE: Duration = Duration::from_secs(2);

/// The SSH server's settings.
pub struct SshdConfig {
    /// The node's host key.
    pub host_key: PrivateKey,
    /// The node's host certificate (for `host_key`, signed by the cluster's host CA).
    pub host_cert: Certificate,
    /// The node's name (in messages and audit events).
    pub node_name: String,
    /// Keepalives and inactivity (`teleport.connection_limits`).
    pub limits: ConnectionLimits,
    /// Delay of each authentication refusal.
    pub auth_rejection_time: Duration,
    /// The algorithms offered (`teleport.kex_algorithms`, `ciphers`, `mac_algorithms`).
    pub algorithms: tether_shared::ssh_algorithms::AlgorithmLists,
    /// Renewed host certificates (after a CA rotation phase), presented from the next
    /// connection on.
    pub renewals: Option<watch::Receiver<Certificate>>,
}

impl SshdConfig {
    /// Settings for this host key and certificate, with `limits`.
    pub fn new(host_key: PrivateKey, host_cert: Certificate, node_name: String, limits: ConnectionLimits) -> Self {
        SshdConfig {
            host_key,
            host_cert,
            node_name,
            limits,
            auth_rejection_time: tether_edge::ssh_config::AUTH_REJECTION_TIME,
            algorithms: Default::default(),
            renewals: None,
        }
    }

    fn russh_config(&self) -> russh::server::Config {
        let mut config = tether_edge::ssh_config::server_config(
            self.host_key.clone(),
            self.host_cert.clone(),
            &self.limits,
            self.algorithms.server_preferred(),
        );
        config.auth_rejection_time = self.auth_rejection_time;
        config
    }
}

/// Serves SSH on `listener` until `shutdown` turns true (or its sender goes away); every spawned
/// task is owned, and stopped before this returns.
pub async fn serve(
    listener: Listener,
    mut config: SshdConfig,
    trust: Arc<dyn NodeTrust>,
    shutdown: watch::Receiver<bool>,
) {
    let russh_config = Arc::new(Current::new(config.russh_config()));
    let ctx = Arc::new(NodeCtx {
        node_name: config.node_name.clone(),
        trust,
        max_forwards: config.limits.max_forwards_per_connection,
    });
    let grace = listener.limits().login_grace_time;
    // Proxies of this cluster vouch for their users' addresses; refused clients are told why.
    let host_ca = russh::keys::PublicKey::from(config.host_cert.signature_key().clone());
    let judge = Arc::new(ProxyJudge::new(config.node_name.clone(), vec![host_ca], ctx.trust.clone()));
    let refusals = Arc::new(tether_edge::ssh_config::SshRefusal(russh_config.clone()));
    let listener = listener.with_judge(judge).with_refusals(refusals);
    tracing::info!(node = %ctx.node_name, addr = ?listener.local_addr().ok(), "SSH server listening");
    let node_name = ctx.node_name.clone();
    let presented = russh_config.clone();
    let renew = async move {
        let Some(mut renewals) = config.renewals.take() else { return std::future::pending().await };
        while renewals.changed().await.is_ok() {
            config.host_cert = renewals.borrow_and_update().clone();
            presented.set(config.russh_config());
            tracing::info!(node = %config.node_name, "presenting the renewed host certificate");
        }
        std::future::pending().await
    };
    tokio::select! {
        () = listener.serve(shutdown, move |conn| serve_connection(conn, ctx.clone(), russh_config.get(), grace)) => {}
        () = renew => {}
    }
    tracing::info!(node = %node_name, "SSH server stopped");
}

/// Runs one accepted connection to its end, and audits an authentication that failed unseen.
async fn serve_connection(conn: Accepted, ctx: Arc<NodeCtx>, config: Arc<russh::server::Config>, grace: Duration) {
    let Accepted { stream, peer, via, gate, killer, mut shutdown } = conn;
    // This end of the socket, for the sessions' SSH_CONNECTION.
    let Ok(local) = stream.local_addr() else {
        return tracing::debug!(%peer, "SSH connection closed before it started");
    };
    let started = tokio::time::Instant::now();
    let progress = Arc::new(Mutex::new(AuthProgress::default()));
    let (authed_tx, mut authed_rx) = watch::channel(false);
    let handler =
        Conn::new(ctx.clone(), (peer, via, local), progress.clone(), authed_tx, gate.clone(), shutdown.clone());
    // The listener closes the socket when authentication does not finish within `grace`.
    let mut running = match russh::server::run_stream(config, stream, handler).await {
        Ok(running) => running,
        Err(e) => {
            tracing::debug!(%peer, "SSH handshake failed: {e}");
            return;
        }
    };
    let handle = running.handle();
    let mut authenticated = false;
    let mut watching_auth = true;
    let finished = loop {
        tokio::select! {
            result = &mut running => break Some(result),
            changed = authed_rx.changed(), if watching_auth => match changed {
                Ok(()) => authenticated = *authed_rx.borrow(),
                Err(_) => watching_auth = false,
            },
            () = session::until_shutdown(&mut shutdown) => {
                if authenticated {
                    // Running sessions may finish within the shutdown grace; the listener then
                    // closes what is left.
                    break Some(running.await);
                }
                let bye = handle.disconnect(Disconnect::ByApplication, "the node is shutting down".into(), String::new());
                let _ = tokio::time::timeout(DISCONNECT_GRACE, bye).await;
                killer.kill();
                break None;
            }
        }
    };
    match finished {
        Some(Ok(())) => tracing::debug!(%peer, "SSH connection closed"),
        Some(Err(e)) => tracing::debug!(%peer, "SSH connection ended: {e}"),
        None => tracing::debug!(%peer, "SSH connection closed at shutdown"),
    }

    let timed_out = !authenticated && started.elapsed() >= grace;
    if timed_out {
        tracing::debug!(%peer, "SSH client did not authenticate within {grace:?}; closed");
    }
    let progress = std::mem::take(&mut *progress.lock().unwrap_or_else(|p| p.into_inner()));
    if progress.userauth_started && !authenticated && progress.refusals == 0 {
        let reason = if timed_out {
            format!("authentication did not complete within {grace:?}")
        } else {
            "the client gave up without an accepted certificate; certificates outside their validity window or \
             with an invalid signature are refused by the SSH library before Tether's checks"
                .to_string()
        };
        tracing::warn!(%peer, node = %ctx.node_name, "SSH authentication failed: {reason}");
        ctx.trust.audit(
            Event::AuthFailure,
            Outcome::Failure,
            &progress.last_user,
            json!({
                "node": ctx.node_name,
                "remote_addr": peer.to_string(),
                "proxy_addr": via.map(|a| a.to_string()),
                "reason": reason,
                "kind": if timed_out { "auth_timeout" } else { "refused_by_ssh_library" },
            }),
        );
    }
}
