//! The SSH relay: users authenticate with their SSH certificate and request the subsystem
//! `proxy:HOST:PORT@CLUSTER`; the relay finds the node, checks RBAC, dials it, and then only
//! copies bytes, so the user's own SSH session runs end to end between `tsh` and the node.
//!
//! A refusal is written to the channel's stderr before the subsystem request is answered with a
//! failure, with distinct messages for an unknown node, denied access and an unreachable node.
//! The relay presents a host certificate from the cluster's host CA so `tsh` never trusts on
//! first use.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tether_audit::{Event, Outcome};

use russh::keys::Certificate;
use russh::server::{Auth, Msg, Session};
use russh::{Channel, ChannelId};
use tether_shared::current::Current;
use tether_shared::identity::Identity;
use tether_shared::labels::Labels;
use tether_shared::proxy_header::Signer;
use tether_shared::rbac::AccessChecker;
use tether_shared::resource::{Kind, Resource};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::tunnel::flow::Pump;
use crate::tunnel::registry::{OpenError, Registry};
use tether_auth::AuthService;
use tether_auth::refusal::TrustRefusal;
use tether_edge::listen::{Conn, Gate, Listener};
use tether_storage::records;

/// Channels one connection may hold (open, or relaying), as OpenSSH's MaxSessions.
pub const MAX_CHANNELS_PER_CONNECTION: usize = 10;
/// How long the relay waits for a client to take its goodbye before the socket is closed.
const GOODBYE_WAIT: Duration = Duration::from_secs(2);

/// Serves the relay on `listener` until `shutdown` fires; running sessions then get the
/// listener's shutdown grace to finish.
pub async fn serve(
    listener: Listener,
    config: Arc<Current<russh::server::Config>>,
    auth: Arc<AuthService>,
    tunnels: Arc<Registry>,
    signer: Arc<Current<Signer>>,
    shutdown: watch::Receiver<bool>,
) {
    let listener = listener.with_refusals(Arc::new(tether_edge::ssh_config::SshRefusal(config.clone())));
    listener
        .serve(shutdown, move |conn: Conn| {
            let handler = Relay {
                auth: auth.clone(),
                tunnels: tunnels.clone(),
                signer: signer.clone(),
                addr: conn.peer,
                gate: conn.gate.clone(),
                identity: None,
                denied: None,
                refused: 0,
                login: String::new(),
                channels: HashMap::new(),
                relays: JoinSet::new(),
            };
            run_connection(conn, config.get(), handler)
        })
        .await;
}

async fn run_connection(conn: Conn, config: Arc<russh::server::Config>, handler: Relay) {
    let Conn { stream, peer: addr, gate, killer, mut shutdown, .. } = conn;
    let session = match russh::server::run_stream(config, stream, handler).await {
        Ok(s) => s,
        Err(e) => return tracing::debug!(%addr, "proxy ssh: handshake failed: {e}"),
    };
    let handle = session.handle();
    tokio::pin!(session);
    tokio::select! {
        result = &mut session => if let Err(e) = result {
            tracing::debug!(%addr, "proxy ssh: session ended: {e}");
        },
        () = tether_edge::listen::until_shutdown(&mut shutdown) => {
            if gate.passed() {
                // A user's session: it may finish within the shutdown grace (the listener then
                // closes it).
                if let Err(e) = session.await {
                    tracing::debug!(%addr, "proxy ssh: session ended: {e}");
                }
            } else {
                let bye = handle.disconnect(russh::Disconnect::ByApplication, "proxy shutting down".into(), "en".into());
                let _ = tokio::time::timeout(GOODBYE_WAIT, bye).await;
                killer.kill();
            }
        }
    }
}

struct Relay {
    auth: Arc<AuthService>,
    tunnels: Arc<Registry>,
    /// Signs the user's address for the node (`dial.rs`).
    signer: Arc<Current<Signer>>,
    addr: SocketAddr,
    gate: Gate,
    identity: Option<Identity>,
    /// Why a genuine certificate of a trusted root is refused here (not bound to this cluster):
    /// let in far enough to read it at the first request, then closed.
    denied: Option<String>,
    login: String,
    /// Session channels opened and not yet relaying.
    channels: HashMap<ChannelId, Channel<Msg>>,
    /// Channels this side refused and closed: russh keeps a little state for each (the peer's
    /// answering close is dropped), so they count against the connection's channel cap.
    refused: usize,
    /// The byte copies of this connection's relayed channels: they end with the connection
    /// (the handler is dropped with the session).
    relays: JoinSet<()>,
}

/// Why a subsystem request was refused: each has its own words.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("tether: unsupported subsystem {0:?} (use proxy:HOST:PORT@CLUSTER)")]
    BadRequest(String),
    #[error("tether: cluster {0:?} is not known to this proxy")]
    UnknownCluster(String),
    #[error("tether: node {host:?} not found in cluster {cluster}")]
    UnknownNode { host: String, cluster: String },
    #[error("tether: access denied to {login}@{host}: {reason}{hint}")]
    Denied { login: String, host: String, reason: String, hint: String },
    #[error("tether: node {host:?} at {addr} is unreachable: {cause}")]
    Unreachable { host: String, addr: String, cause: String },
    #[error("tether: access to cluster {cluster:?} denied: {reason}{hint}")]
    ClusterDenied { cluster: String, reason: String, hint: String },
    #[error("tether: {0}")]
    Remote(String),
    #[error("tether: internal error: {0}")]
    Internal(String),
}

/// A byte pipe to the target: a TCP connection to a local node, or a transport through a leaf's
/// tunnel.
pub trait Upstream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Upstream for T {}

/// The way to the target: the pipe, and for a tunnel transport the pump that moves its frames
/// (run alongside the copy until both end).
type Route = (Box<dyn Upstream>, Option<Pump>);

/// Parses `proxy:HOST:PORT@CLUSTER` (PORT and @CLUSTER optional).
pub fn parse_target(subsystem: &str) -> Option<(String, Option<u16>, Option<String>)> {
    let rest = subsystem.strip_prefix("proxy:")?;
    let (hostport, cluster) = match rest.rsplit_once('@') {
        Some((hp, c)) if !c.is_empty() => (hp, Some(c.to_string())),
        Some(_) => return None,
        None => (rest, None),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, Some(p.parse::<u16>().ok()?)),
        None => (hostport, None),
    };
    if host.is_empty() {
        return None;
    }
    Some((host.to_string(), port, cluster))
}

impl Relay {
    /// The authenticated user and their access checker here.
    async fn checker(&self) -> Result<(&Identity, AccessChecker), Refusal> {
        let identity = self.identity.as_ref().ok_or_else(|| Refusal::Internal("not authenticated".into()))?;
        let roles = self.auth.core().roles(&identity.roles).await.map_err(|e| Refusal::Internal(e.to_string()))?;
        Ok((identity, AccessChecker::new(&roles, &identity.traits)))
    }

    /// After a refusal by the roles of the user's certificate: when an admin changed this
    /// user's roles or traits since it was issued, what to do (`allowed_now`: whether the
    /// current ones would let them through). Empty for a user of another cluster.
    async fn changed_roles_hint(&self, identity: &Identity, allowed_now: impl Fn(&AccessChecker) -> bool) -> String {
        if identity.cluster != self.auth.cluster_name() {
            return String::new();
        }
        let key = records::key(Kind::User, &identity.user);
        let Ok(Some(Resource::User(user))) = records::get(self.auth.backend(), &key).await else {
            return String::new();
        };
        let mut now = tether_auth::grantable_roles(&user.spec.roles);
        let mut then = identity.roles.clone();
        now.sort();
        then.sort();
        if now == then && user.spec.traits == identity.traits {
            return String::new();
        }
        let Ok(roles) = self.auth.core().roles(&now).await else { return String::new() };
        if allowed_now(&AccessChecker::new(&roles, &user.spec.traits)) {
            " (your roles changed since you logged in and now allow this: run tsh login again)".into()
        } else {
            " (your roles changed since you logged in: run tsh login to use them)".into()
        }
    }

    /// Audits an RBAC refusal (`details` says of what) with the reason.
    fn audit_denied(&self, identity: &Identity, mut details: serde_json::Value, reason: &str) {
        if let Some(map) = details.as_object_mut() {
            map.insert("login".into(), self.login.clone().into());
            map.insert("reason".into(), reason.into());
        }
        self.auth.audit().emit(Event::AccessDenied, Outcome::Failure, &identity.user, details);
    }

    /// A leaf's node (or its web API, `@web`) through the leaf's tunnel to this proxy, after
    /// the user's roles here allow the leaf's `cluster_labels`. The leaf checks the user again.
    async fn resolve_remote(&self, cluster: &str, host: &str, port: Option<u16>) -> Result<Route, Refusal> {
        // Two storage reads, each a hop to a blocking thread: made at the same time.
        let key = records::key(Kind::RemoteCluster, cluster);
        let (rc, checker) = tokio::join!(records::get(self.auth.backend(), &key), self.checker());
        let rc = rc.map_err(|e| Refusal::Internal(e.to_string()))?;
        let Some(Resource::RemoteCluster(rc)) = rc else {
            return Err(Refusal::UnknownCluster(cluster.to_string()));
        };
        let (identity, checker) = checker?;
        let decision = checker.check_cluster(&rc.metadata.labels);
        if !decision.allowed {
            self.audit_denied(identity, serde_json::json!({"leaf_cluster": cluster, "node": host}), &decision.reason);
            let hint = self.changed_roles_hint(identity, |now| now.check_cluster(&rc.metadata.labels).allowed).await;
            return Err(Refusal::ClusterDenied { cluster: cluster.to_string(), reason: decision.reason, hint });
        }
        let transport = self.tunnels.open(cluster, host, port.unwrap_or(0), self.addr).await.map_err(|e| match e {
            OpenError::Refused(msg) => Refusal::Remote(msg),
            other => Refusal::Remote(other.to_string()),
        })?;
        Ok((Box::new(transport.stream), Some(transport.pump)))
    }

    async fn resolve(&self, subsystem: &str) -> Result<Route, Refusal> {
        let (host, port, cluster) = parse_target(subsystem).ok_or_else(|| Refusal::BadRequest(subsystem.into()))?;
        let local = self.auth.cluster_name().to_string();
        if let Some(c) = &cluster
            && *c != local
        {
            return self.resolve_remote(c, &host, port).await;
        }
        let node = self
            .auth
            .nodes()
            .find_node(&host, port)
            .await
            .map_err(|e| Refusal::Internal(e.to_string()))?
            .ok_or_else(|| Refusal::UnknownNode { host: host.clone(), cluster: local.clone() })?;
        let (identity, checker) = self.checker().await?;
        let labels: Labels = node.metadata.labels.clone();
        let decision = checker.check_login(&self.login, &labels);
        if !decision.allowed {
            self.audit_denied(identity, serde_json::json!({"node": node.metadata.name}), &decision.reason);
            let hint = self.changed_roles_hint(identity, |now| now.check_login(&self.login, &labels).allowed).await;
            return Err(Refusal::Denied { login: self.login.clone(), host, reason: decision.reason, hint });
        }
        let addr = node.spec.addr.clone();
        match crate::dial::node(&addr, &node.metadata.name, self.addr, &self.signer.get()).await {
            Ok(tcp) => Ok((Box::new(tcp), None)),
            Err(cause) => Err(Refusal::Unreachable { host, addr, cause }),
        }
    }
}

/// What a client that asks the proxy itself for a shell or a command reads.
const NOT_A_NODE: &str = "this is a Tether proxy: it relays to nodes and runs no commands itself. Reach a node with \
                          `tsh ssh LOGIN@NODE`, or with OpenSSH through the ProxyCommand `tsh config` prints\r\n";

impl Relay {
    /// Refuses a subsystem request with `text` on stderr. OpenSSH exits at a refused subsystem
    /// without printing what came before: it gets the request accepted, so the reason shows,
    /// then the channel ends with status 1; tsh reads the reason before the failure.
    fn refuse_subsystem(&mut self, channel: ChannelId, text: &str, session: &mut Session) -> Result<(), russh::Error> {
        session.extended_data(channel, 1, text.as_bytes().to_vec())?;
        if session.remote_sshid().windows(7).any(|w| w == b"OpenSSH") {
            session.channel_success(channel)?;
            session.exit_status_request(channel, 1)?;
            session.eof(channel)?;
            session.close(channel)?;
            self.channels.remove(&channel);
            self.refused += 1;
        } else {
            session.channel_failure(channel)?;
        }
        Ok(())
    }

    fn refuse_command(&mut self, channel: ChannelId, session: &mut Session) -> Result<(), russh::Error> {
        tracing::info!(addr = %self.addr, login = %self.login, "proxy ssh: refused a shell or command on the proxy itself");
        // Accepted, so that the client prints the message (OpenSSH drops the data of a request
        // it was refused), then ended with status 1.
        session.channel_success(channel)?;
        let text = self.denied.clone().unwrap_or_else(|| NOT_A_NODE.to_string());
        session.extended_data(channel, 1, text.into_bytes())?;
        session.exit_status_request(channel, 1)?;
        session.eof(channel)?;
        session.close(channel)?;
        self.channels.remove(&channel);
        self.refused += 1;
        Ok(())
    }
}

impl russh::server::Handler for Relay {
    type Error = russh::Error;

    // Plain public keys are refused by russh's default `auth_publickey`: only certificates pass.

    async fn auth_openssh_certificate(&mut self, user: &str, cert: &Certificate) -> Result<Auth, Self::Error> {
        let cas = self.auth.authority().user_cas_trusted();
        // The relay only checks who the user is; whether they may use this login on the node is
        // RBAC's answer at the subsystem request (with a reason), and the node checks it again.
        // A root's user needs a certificate the root bound to this cluster (their roles mapped).
        let verified = match tether_shared::ssh_cert::verify_user_cert(cert, &cas, None, SystemTime::now()) {
            Ok(identity) => Ok(identity),
            Err(local) => match tether_shared::ssh_cert::inspect_user_cert(cert) {
                // Only a cluster trusted here; anyone else gets the untrusted-CA answer.
                Ok(claimed)
                    if claimed.cluster != self.auth.cluster_name()
                        && self.auth.trust().trust_active(&claimed.cluster).await =>
                {
                    self.auth.trust().identify_remote_ssh_user(cert).await
                }
                _ => Err(TrustRefusal::Certificate(local)),
            },
        };
        match verified {
            Ok(identity) => {
                self.identity = Some(identity);
                self.login = user.to_string();
                self.gate.pass();
                Ok(Auth::Accept)
            }
            Err(e) => {
                tracing::info!(addr = %self.addr, login = user, "proxy ssh: certificate refused: {e}");
                self.auth.audit().emit(
                    Event::AuthFailure,
                    Outcome::Failure,
                    cert.key_id(),
                    serde_json::json!({"addr": self.addr.to_string(), "login": user, "reason": e.to_string()}),
                );
                if let TrustRefusal::NotBound(reason) = e {
                    // Verified and from a root trusted here, only not bound to this cluster: the
                    // user reads why at the first request instead of "Permission denied". The
                    // connection never passes the gate, so the authentication timer closes it.
                    self.denied = Some(format!("tether: {reason}\r\n"));
                    self.login = user.to_string();
                    return Ok(Auth::Accept);
                }
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
        while self.relays.try_join_next().is_some() {}
        if self.identity.is_none() && self.denied.is_none() {
            reply.reject(russh::ChannelOpenFailure::AdministrativelyProhibited).await;
            return Ok(());
        }
        if self.channels.len() + self.relays.len() + self.refused >= MAX_CHANNELS_PER_CONNECTION {
            tracing::info!(addr = %self.addr, "proxy ssh: refusing a channel past {MAX_CHANNELS_PER_CONNECTION} on one connection");
            reply.reject(russh::ChannelOpenFailure::ResourceShortage).await;
            return Ok(());
        }
        self.channels.insert(channel.id(), channel);
        reply.accept().await;
        Ok(())
    }

    async fn channel_close(&mut self, channel: ChannelId, _session: &mut Session) -> Result<(), Self::Error> {
        self.channels.remove(&channel);
        Ok(())
    }

    // A client that asks the proxy itself for a shell or a command (OpenSSH pointed straight at
    // this port) is told at once what to do instead, rather than left waiting.
    async fn shell_request(&mut self, channel: ChannelId, session: &mut Session) -> Result<(), Self::Error> {
        self.refuse_command(channel, session)
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.refuse_command(channel, session)
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if let Some(denied) = self.denied.clone() {
            tracing::info!(addr = %self.addr, login = %self.login, "proxy ssh: {}", denied.trim_end());
            return self.refuse_subsystem(channel, &denied, session);
        }
        match self.resolve(name).await {
            Ok((upstream, pump)) => {
                let Some(ch) = self.channels.remove(&channel) else {
                    session.channel_failure(channel)?;
                    return Ok(());
                };
                session.channel_success(channel)?;
                let addr = self.addr;
                self.relays.spawn(async move {
                    let mut stream = ch.into_stream();
                    let mut upstream = upstream;
                    // Both ends are dropped (closed) as soon as the copy ends.
                    let copy = async move {
                        let copied =
                            tokio::io::copy_bidirectional_with_sizes(&mut stream, &mut upstream, 64 * 1024, 64 * 1024)
                                .await;
                        if let Err(e) = copied {
                            tracing::debug!(%addr, "proxy ssh: relay ended: {e}");
                        }
                    };
                    match pump {
                        Some(pump) => drop(tokio::join!(copy, pump)),
                        None => copy.await,
                    }
                });
            }
            Err(refusal) => {
                tracing::info!(addr = %self.addr, login = %self.login, "proxy ssh: {refusal}");
                self.refuse_subsystem(channel, &format!("{refusal}\r\n"), session)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::parse_target;

    #[test]
    fn targets() {
        assert_eq!(parse_target("proxy:mynode:3022@leaf"), Some(("mynode".into(), Some(3022), Some("leaf".into()))));
        assert_eq!(parse_target("proxy:mynode"), Some(("mynode".into(), None, None)));
        assert_eq!(parse_target("proxy:10.0.0.1:22@root.example.com").map(|t| t.1), Some(Some(22)));
        assert!(parse_target("sftp").is_none());
        assert!(parse_target("proxy::22").is_none());
        assert!(parse_target("proxy:host:notaport").is_none());
        assert!(parse_target("proxy:host@").is_none());
    }
}
