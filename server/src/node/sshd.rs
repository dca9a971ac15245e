//! The node's SSH server (russh): certificate-only authentication, RBAC, and session channels.
//!
//! # Authentication
//!
//! Only OpenSSH **user certificates** are accepted; there are no passwords and no plain keys.
//! russh offers the `publickey` method only, accepts every key *offer* (the offer of a certificate
//! arrives as its inner key, so refusing there would break certificate login), refuses every plain
//! key in `auth_publickey`, and leaves the decision on certificates to `auth_openssh_certificate`,
//! which accepts when, in order:
//!
//! 1. the signer is one of [`NodeTrust::user_cas`] (local cluster, trusted clusters);
//! 2. the validity window holds, the signature verifies, it is a *user* certificate, the requested
//!    login is among its principals and it carries no critical option
//!    ([`verify_user_cert`] checks these, each with its own error);
//! 3. the cluster named inside the certificate is the one whose CA signed it;
//! 4. [`NodeTrust::roles_for`] yields roles, and [`AccessChecker::check_login`] allows the login
//!    on a node with [`NodeTrust::labels`].
//!
//! Every refusal is logged and audited (`auth.failure`, `T3007W`) with its reason and a `kind`.
//! russh itself refuses certificates outside their validity window or with a broken signature
//! *before* any handler runs, so Tether cannot see those: a connection that started
//! authenticating and ends (or times out) without success and without a refusal of ours is
//! audited once at its end as `kind: "refused_by_ssh_library"`.
//!
//! # Sessions
//!
//! `session` channels support `pty-req` (needs `permit-pty`), `window-change`, `env`
//! ([`session::allowed_env`]), `exec`, `shell`, `signal`, stdin/stdout/stderr streaming with EOF,
//! then `exit-status` or `exit-signal`, EOF and close. `subsystem sftp` runs the SFTP server
//! (`sftp.rs`: this binary again, started as the login like a shell); its file operations are
//! audited (`sftp`, `T3004I`). Other subsystems and X11 are refused.
//! Agent forwarding (`auth-agent-req@openssh.com`) is granted when the certificate carries
//! `permit-agent-forwarding` and a role sets `forward_agent`: a socket in a fresh 0700 directory
//! owned by the login is exported as `SSH_AUTH_SOCK`, and each connection to it opens an
//! `auth-agent@openssh.com` channel back to the client.
//!
//! Port forwarding needs `permit-port-forwarding` in the certificate and no role turning
//! `port_forwarding` off. Local forwards (`direct-tcpip`) dial the target within [`DIAL_TIMEOUT`].
//! Remote forwards (`tcpip-forward`) make the daemon listen on **loopback only**, whatever address
//! the client asks for (OpenSSH's `GatewayPorts no`), on the port asked for (0: one the kernel
//! picks, returned in the reply; below 1024 only for the login `root`); each connection opens a
//! `forwarded-tcpip` channel back to the client naming the address and port the client asked
//! for. `cancel-tcpip-forward` stops a listener (its open connections finish). A refused channel
//! carries the reason as its description (`port forwarding is not allowed by your roles`, the
//! dial error), which `tsh` shows. Every listener and every forwarded channel counts against
//! [`MAX_CHANNELS_PER_CONNECTION`] with the session channels; a connection arriving at a listener
//! past the cap is closed. Listeners and their relays are tasks of the connection and end with
//! it. Audit: `session.start`, `session.end`, `exec` failures (`T3002E`), `port` forwards of
//! both kinds (`forward: local|remote`, refusals included).
//!
//! # Resources
//!
//! The shared listener (`listen.rs`) caps connections and closes those that do not finish
//! authenticating within `login_grace_time`; keepalives detect dead clients. Every
//! connection and channel task is owned: the server stops them all when `shutdown` turns true, and
//! a connection's processes are killed when it goes away.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use russh::keys::{Certificate, PrivateKey, PublicKey};
use russh::server::{Auth, ChannelOpenHandle, Msg, PublicKeyOffer, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId, ChannelOpenFailure, Disconnect, Sig};
use serde_json::json;
use tether_shared::identity::{CertError, Identity};
use tether_shared::labels::Labels;
use tether_shared::rbac::AccessChecker;
use tether_shared::resource::Role;
use tether_shared::ssh_cert::verify_user_cert;
use tokio::net::{TcpStream, UnixListener};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::inbound;
use super::session::{self, Control, Inputs, Outcome, PtySpec, SessionRequest, TermSize};
use crate::config::ConnectionLimits;
use crate::listen::{Conn as Accepted, Gate, Listener};

/// What the SSH server needs to know, kept fresh by the caller (the node's cache of CAs and roles).
pub trait NodeTrust: Send + Sync + 'static {
    /// The active user CAs this node trusts: (cluster name, CA public key). Local cluster first.
    fn user_cas(&self) -> Vec<(String, PublicKey)>;
    /// The node's own cluster.
    fn cluster(&self) -> &str;
    /// The roles that apply to an identity whose certificate was signed by `ca_cluster`'s CA (role
    /// names resolved for the local cluster; later, role_map for trusted ones). Err = why none apply.
    fn roles_for(&self, identity: &Identity, ca_cluster: &str) -> Result<Vec<Role>, String>;
    /// This node's labels (static + hostname).
    fn labels(&self) -> Labels;
    /// Records an audit event (name, code, user, success, JSON details).
    fn audit(&self, event: &str, code: &str, user: &str, success: bool, details: serde_json::Value);
}

/// Channels (sessions and forwards) one connection may hold open (OpenSSH's MaxSessions).
pub const MAX_CHANNELS_PER_CONNECTION: usize = 10;
/// How long the node waits for a client to take its goodbye before the socket is closed.
pub const DISCONNECT_GRACE: Duration = Duration::from_secs(2);
pub use crate::listen::DIAL_TIMEOUT;
/// Ports below this may be forwarded remotely only by the login `root` (as in OpenSSH).
const FIRST_UNPRIVILEGED_PORT: u16 = 1024;

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
}

impl SshdConfig {
    /// Settings for this host key and certificate, with `limits`.
    pub fn new(host_key: PrivateKey, host_cert: Certificate, node_name: String, limits: ConnectionLimits) -> Self {
        SshdConfig {
            host_key,
            host_cert,
            node_name,
            limits,
            auth_rejection_time: crate::ssh_config::AUTH_REJECTION_TIME,
        }
    }

    fn russh_config(&self) -> russh::server::Config {
        let mut config = crate::ssh_config::server_config(self.host_key.clone(), self.host_cert.clone(), &self.limits);
        config.auth_rejection_time = self.auth_rejection_time;
        config
    }
}

/// Why a certificate (or key) was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthRefusal {
    /// A check of [`verify_user_cert`] failed.
    #[error("{0}")]
    Certificate(#[from] CertError),
    /// The certificate names another cluster than the one whose CA signed it.
    #[error("the certificate claims cluster {claimed:?} but was signed by the user CA of cluster {signer:?}")]
    ClusterMismatch {
        /// The cluster named in the certificate.
        claimed: String,
        /// The cluster whose CA signed it.
        signer: String,
    },
    /// No role applies to the identity on this node.
    #[error("no roles apply: {0}")]
    NoRoles(String),
    /// The roles do not allow this login on this node.
    #[error("access denied: {0}")]
    Denied(String),
    /// A plain public key (no certificate) was presented.
    #[error("plain public keys are not accepted: log in with a certificate issued by the cluster (tsh login)")]
    PlainKey,
    /// Another cluster's certificate that is not bound to this one (see
    /// [`Identity::route_to_cluster`]).
    #[error("{0}")]
    NotBound(String),
}

impl AuthRefusal {
    /// A short machine-readable name of the reason, for the audit log.
    pub fn kind(&self) -> &'static str {
        match self {
            AuthRefusal::Certificate(e) => match e {
                CertError::WrongCa { .. } => "untrusted_ca",
                CertError::NotYetValid { .. } => "not_yet_valid",
                CertError::Expired { .. } => "expired",
                CertError::BadSignature => "bad_signature",
                CertError::WrongCertType { .. } => "wrong_cert_type",
                CertError::MissingPrincipal { .. } => "login_not_a_principal",
                CertError::CriticalOption { .. } => "critical_option",
                _ => "malformed_certificate",
            },
            AuthRefusal::ClusterMismatch { .. } => "cluster_mismatch",
            AuthRefusal::NoRoles(_) => "no_roles",
            AuthRefusal::Denied(_) => "access_denied",
            AuthRefusal::PlainKey => "plain_key",
            AuthRefusal::NotBound(_) => "not_bound",
        }
    }
}

/// A successfully authenticated user, kept for the connection's lifetime.
struct Authed {
    identity: Identity,
    login: String,
    ca_cluster: String,
    roles: Vec<String>,
    checker: AccessChecker,
}

/// Checks a user certificate for `login` against what the node trusts. See the module docs.
fn check_certificate(trust: &dyn NodeTrust, login: &str, cert: &Certificate) -> Result<Authed, AuthRefusal> {
    let cas = trust.user_cas();
    let keys: Vec<PublicKey> = cas.iter().map(|(_, key)| key.clone()).collect();
    let identity = verify_user_cert(cert, &keys, Some(login), SystemTime::now())?;
    let signer = cert.signature_key();
    let ca_cluster =
        cas.iter().find(|(_, key)| key.key_data() == signer).map(|(cluster, _)| cluster.clone()).ok_or_else(|| {
            CertError::WrongCa { signer: signer.fingerprint(russh::keys::HashAlg::Sha256).to_string() }
        })?;
    if identity.cluster != ca_cluster {
        return Err(AuthRefusal::ClusterMismatch { claimed: identity.cluster.clone(), signer: ca_cluster });
    }
    // A root's certificate counts here only when the root bound it to this cluster, which it does
    // only for users whose cluster_labels allow it: no path around the root's check.
    if ca_cluster != trust.cluster()
        && let Some(why) = identity.unbound_for(trust.cluster())
    {
        return Err(AuthRefusal::NotBound(why));
    }
    let roles = trust.roles_for(&identity, &ca_cluster).map_err(AuthRefusal::NoRoles)?;
    let checker = AccessChecker::new(&roles, &identity.traits);
    let decision = checker.check_login(login, &trust.labels());
    if !decision.allowed {
        return Err(AuthRefusal::Denied(decision.reason));
    }
    Ok(Authed { roles: checker.role_names(), identity, login: login.to_string(), ca_cluster, checker })
}

/// What the connection task learns from its handler.
#[derive(Debug, Default)]
struct AuthProgress {
    /// The client asked for the `ssh-userauth` service.
    userauth_started: bool,
    /// Refusals audited by the handler.
    refusals: u32,
    /// Who tried (the last certificate's key ID or the requested login), for the end-of-connection audit.
    last_user: String,
}

/// What every connection shares.
struct NodeCtx {
    node_name: String,
    trust: Arc<dyn NodeTrust>,
}

/// Serves SSH on `listener` until `shutdown` turns true (or its sender goes away); every spawned
/// task is owned, and stopped before this returns.
pub async fn serve(listener: Listener, config: SshdConfig, trust: Arc<dyn NodeTrust>, shutdown: watch::Receiver<bool>) {
    let russh_config = Arc::new(config.russh_config());
    let ctx = Arc::new(NodeCtx { node_name: config.node_name.clone(), trust });
    let grace = listener.limits().login_grace_time;
    tracing::info!(node = %ctx.node_name, addr = ?listener.local_addr().ok(), "SSH server listening");
    let node_name = ctx.node_name.clone();
    listener.serve(shutdown, move |conn| serve_connection(conn, ctx.clone(), russh_config.clone(), grace)).await;
    tracing::info!(node = %node_name, "SSH server stopped");
}

async fn serve_connection(conn: Accepted, ctx: Arc<NodeCtx>, config: Arc<russh::server::Config>, grace: Duration) {
    let Accepted { stream, peer, gate, killer, mut shutdown } = conn;
    let started = tokio::time::Instant::now();
    let progress = Arc::new(Mutex::new(AuthProgress::default()));
    let (authed_tx, mut authed_rx) = watch::channel(false);
    let handler = Conn {
        ctx: ctx.clone(),
        peer,
        progress: progress.clone(),
        authed_tx,
        gate: gate.clone(),
        user: None,
        denied: None,
        channels: HashMap::new(),
        forwards: Arc::default(),
        sessions: Arc::default(),
        remote_forwards: HashMap::new(),
        throttle: inbound::Throttle::new(),
        tasks: JoinSet::new(),
        shutdown: shutdown.clone(),
    };
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
            "auth.failure",
            "T3007W",
            &progress.last_user,
            false,
            json!({
                "node": ctx.node_name,
                "remote_addr": peer.to_string(),
                "reason": reason,
                "kind": if timed_out { "auth_timeout" } else { "refused_by_ssh_library" },
            }),
        );
    }
}

/// A process running on a channel: where the client's input goes.
struct RunningIo {
    /// stdin; `None` after the client's EOF.
    data: Option<mpsc::UnboundedSender<inbound::Chunk>>,
    /// What waits for stdin, counted against the connection's throttle.
    queue: Arc<inbound::Queue>,
    control: mpsc::UnboundedSender<Control>,
}

/// A forwarded agent's socket; removed (and its listener stopped) when dropped.
struct AgentSocket {
    dir: PathBuf,
    socket: PathBuf,
    listener: tokio::task::AbortHandle,
}

impl Drop for AgentSocket {
    fn drop(&mut self) {
        self.listener.abort();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A session channel's state.
#[derive(Default)]
struct ChannelState {
    pty: Option<PtySpec>,
    env: Vec<(String, String)>,
    agent: Option<AgentSocket>,
    started: bool,
    running: Option<RunningIo>,
}

/// One connection's handler.
struct Conn {
    ctx: Arc<NodeCtx>,
    peer: SocketAddr,
    progress: Arc<Mutex<AuthProgress>>,
    authed_tx: watch::Sender<bool>,
    /// Passed on successful authentication (the listener's pre-authentication limits).
    gate: Gate,
    user: Option<Authed>,
    /// A valid certificate whose roles do not allow this login here: the connection is let in
    /// only to tell the user why on their first session request, then closed.
    denied: Option<String>,
    channels: HashMap<ChannelId, ChannelState>,
    /// Port forwards running on this connection (forwarded channels and remote forward
    /// listeners); they count against [`MAX_CHANNELS_PER_CONNECTION`] with the session channels.
    forwards: Arc<std::sync::atomic::AtomicUsize>,
    /// `channels.len()`, for the remote forward listeners, which count channels from their tasks.
    sessions: Arc<std::sync::atomic::AtomicUsize>,
    /// Remote forward listeners by the port they listen on; dropping the sender stops one.
    remote_forwards: HashMap<u16, tokio::sync::oneshot::Sender<()>>,
    /// Slows the client when a channel has too much of its data waiting (inbound.rs).
    throttle: Arc<inbound::Throttle>,
    /// Channel tasks (processes, forwards, agent listeners): aborted when the connection ends.
    tasks: JoinSet<()>,
    shutdown: watch::Receiver<bool>,
}

impl Conn {
    /// Session channels and port forwards open on this connection.
    fn open_channels(&self) -> usize {
        self.channels.len() + self.forwards.load(std::sync::atomic::Ordering::Acquire)
    }

    fn progress(&self) -> std::sync::MutexGuard<'_, AuthProgress> {
        self.progress.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn refuse(&self, user: &str, login: &str, refusal: &AuthRefusal) {
        {
            let mut progress = self.progress();
            progress.refusals += 1;
            progress.last_user = user.to_string();
        }
        tracing::warn!(
            peer = %self.peer,
            node = %self.ctx.node_name,
            user,
            login,
            kind = refusal.kind(),
            "SSH authentication refused: {refusal}"
        );
        self.ctx.trust.audit(
            "auth.failure",
            "T3007W",
            user,
            false,
            json!({
                "login": login,
                "node": self.ctx.node_name,
                "remote_addr": self.peer.to_string(),
                "reason": refusal.to_string(),
                "kind": refusal.kind(),
            }),
        );
    }

    /// The role-mapping decision for a user of a trusted cluster: their remote roles and the
    /// local roles they mapped to (or why none did).
    fn audit_role_mapping(&self, identity: &Identity, ca_cluster: &str, mapped: Result<&[String], &str>) {
        let (success, code, local, error) = match mapped {
            Ok(roles) => (true, "T7300I", roles.to_vec(), None),
            Err(e) => (false, "T7300W", Vec::new(), Some(e.to_string())),
        };
        self.ctx.trust.audit(
            "role.mapping",
            code,
            &identity.user,
            success,
            json!({
                "node": self.ctx.node_name,
                "user_cluster": identity.cluster,
                "ca_cluster": ca_cluster,
                "remote_roles": identity.roles,
                "local_roles": local,
                "error": error,
                "remote_addr": self.peer.to_string(),
            }),
        );
    }

    fn audit_details(&self, authed: &Authed) -> serde_json::Value {
        json!({
            "login": authed.login,
            "node": self.ctx.node_name,
            "roles": authed.roles,
            "user_cluster": authed.identity.cluster,
            "ca_cluster": authed.ca_cluster,
            "remote_addr": self.peer.to_string(),
        })
    }

    /// The login's account and groups, read on a blocking thread (the user database may be
    /// slow: NSS, LDAP); `None` before authentication.
    async fn prepare_login(&self) -> Option<Result<session::PreparedLogin, session::SessionError>> {
        let authed = self.user.as_ref()?;
        Some(session::prepare_login(&authed.login, &self.ctx.node_name).await)
    }

    /// Starts the channel's program (shell, exec or subsystem). Replies to the request itself.
    async fn start(&mut self, channel: ChannelId, launch: Launch, session: &mut Session) -> Result<(), russh::Error> {
        let (command, program) = match launch {
            Launch::Shell => (None, None),
            Launch::Exec(command) => (Some(command), None),
            Launch::Sftp => (None, Some(session::Program::sftp_server())),
        };
        let sftp = program.is_some();
        let prepared = self.prepare_login().await;
        let Some(authed) = self.user.as_ref() else {
            if let Some(reason) = &self.denied {
                session.channel_success(channel)?;
                session.extended_data(channel, 1, format!("tether: {reason}\r\n").into_bytes())?;
                session.exit_status_request(channel, 1)?;
                session.eof(channel)?;
                return session.close(channel);
            }
            return session.channel_failure(channel);
        };
        let mut details = self.audit_details(authed);
        let Some(state) = self.channels.get_mut(&channel) else {
            return session.channel_failure(channel);
        };
        if state.started {
            return session.channel_failure(channel);
        }
        state.started = true;
        session.channel_success(channel)?;
        let req = SessionRequest {
            command: command.clone(),
            program,
            pty: state.pty.clone(),
            env: state.env.clone(),
            agent_socket: state.agent.as_ref().map(|a| a.socket.clone()),
        };
        if let Some(obj) = details.as_object_mut() {
            obj.insert("command".into(), json!(command));
            obj.insert("pty".into(), json!(req.pty.is_some() && !sftp));
            if sftp {
                obj.insert("subsystem".into(), json!("sftp"));
            }
        }
        let started = match prepared {
            Some(prepared) => prepared.and_then(|login| session::spawn_prepared(&login, &req)),
            None => Err(session::SessionError::Lookup {
                login: authed.login.clone(),
                node: self.ctx.node_name.clone(),
                reason: "not authenticated".into(),
            }),
        };
        let running = match started {
            Ok(running) => running,
            Err(e) => {
                tracing::warn!(peer = %self.peer, user = %authed.identity.user, login = %authed.login, "cannot start the session: {e}");
                if let Some(obj) = details.as_object_mut() {
                    obj.insert("error".into(), json!(e.to_string()));
                }
                self.ctx.trust.audit("exec", "T3002E", &authed.identity.user, false, details);
                session.extended_data(channel, 1, e.client_message(req.pty.is_some()).into_bytes())?;
                session.exit_status_request(channel, 1)?;
                session.eof(channel)?;
                return session.close(channel);
            }
        };
        tracing::info!(peer = %self.peer, user = %authed.identity.user, login = %authed.login, pid = ?running.pid(), "session started");
        // The SFTP server reports each file operation on stderr: each becomes an audit event.
        let running = if sftp {
            let (ctx, user, base) = (self.ctx.clone(), authed.identity.user.clone(), details.clone());
            running.with_stderr_lines(Arc::new(move |line: String| {
                let Ok(serde_json::Value::Object(op)) = serde_json::from_str::<serde_json::Value>(&line) else {
                    tracing::debug!("sftp server: {line}");
                    return;
                };
                let mut event = base.clone();
                if let Some(obj) = event.as_object_mut() {
                    obj.remove("command");
                    obj.remove("pty");
                    for (key, value) in op {
                        if matches!(key.as_str(), "op" | "path" | "flags" | "to" | "target") {
                            obj.insert(key, value);
                        }
                    }
                }
                ctx.trust.audit("sftp", "T3004I", &user, true, event);
            }))
        } else {
            running
        };
        self.ctx.trust.audit("session.start", "T2000I", &authed.identity.user, true, details.clone());

        let (data_tx, data_rx) = mpsc::unbounded_channel();
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let queue = inbound::Queue::new(&self.throttle);
        state.running = Some(RunningIo { data: Some(data_tx), queue, control: control_tx });
        let handle = session.handle();
        let ctx = self.ctx.clone();
        let user = authed.identity.user.clone();
        let shutdown = self.shutdown.clone();
        self.tasks.spawn(async move {
            let began = std::time::Instant::now();
            let inputs = Inputs { data: data_rx, control: control_rx };
            let outcome = running.run(handle.clone(), channel, inputs, shutdown).await;
            let _ = match &outcome {
                Outcome::Exited(code) => handle.exit_status_request(channel, *code).await,
                Outcome::Signaled { signal, core_dumped } => {
                    handle
                        .exit_signal_request(channel, to_ssh_signal(signal), *core_dumped, String::new(), String::new())
                        .await
                }
            };
            let _ = handle.eof(channel).await;
            let _ = handle.close(channel).await;
            if let Some(obj) = details.as_object_mut() {
                obj.insert("exit_code".into(), json!(outcome.exit_code()));
                if let Outcome::Signaled { signal, .. } = &outcome {
                    obj.insert("signal".into(), json!(signal));
                }
                obj.insert("duration_ms".into(), json!(u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX)));
            }
            ctx.trust.audit("session.end", "T2004I", &user, true, details);
        });
        Ok(())
    }

    /// Sets up agent forwarding for `channel`'s session. Returns whether it was granted.
    async fn forward_agent(&mut self, channel: ChannelId, session: &mut Session) -> bool {
        let prepared = self.prepare_login().await;
        let Some(authed) = self.user.as_ref() else { return false };
        let Some(state) = self.channels.get_mut(&channel) else { return false };
        if state.started || state.agent.is_some() {
            return false;
        }
        if !authed.identity.permit_agent_forwarding || !authed.checker.forward_agent() {
            tracing::info!(peer = %self.peer, user = %authed.identity.user, "agent forwarding refused: the certificate or the roles do not allow it");
            return false;
        }
        let user = match prepared {
            Some(Ok(login)) => login.user,
            // The session itself reports this clearly when it starts.
            _ => return false,
        };
        match agent_socket(&user, session.handle(), &self.throttle, &mut self.tasks) {
            Ok(agent) => {
                state.agent = Some(agent);
                true
            }
            Err(e) => {
                tracing::warn!(peer = %self.peer, "cannot set up agent forwarding: {e}");
                false
            }
        }
    }
}

/// What a session channel runs.
enum Launch {
    /// The login's shell, interactive.
    Shell,
    /// A command through the login's shell.
    Exec(String),
    /// The SFTP server (`subsystem sftp`), as the login.
    Sftp,
}

/// One port forward (a remote forward's listener, or a forwarded channel), counted against
/// [`MAX_CHANNELS_PER_CONNECTION`] while it lives.
struct Counted(Arc<std::sync::atomic::AtomicUsize>);

impl Counted {
    fn new(forwards: &Arc<std::sync::atomic::AtomicUsize>) -> Counted {
        forwards.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        Counted(forwards.clone())
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// Why `authed` may not forward ports, if it may not: sent to the client as the refusal's text.
fn forwarding_refusal(authed: &Authed) -> Option<&'static str> {
    if !authed.checker.port_forwarding() {
        Some("port forwarding is not allowed by your roles")
    } else if !authed.identity.permit_port_forwarding {
        Some(
            "port forwarding is not permitted by your certificate (it has no permit-port-forwarding: the roles it was issued for did not allow it; log in again)",
        )
    } else {
        None
    }
}

/// A channel-open refusal with our own reason text (code 1, administratively prohibited, or 2,
/// connect failed), which clients show.
fn open_failure(code: u32, reason: String) -> ChannelOpenFailure {
    ChannelOpenFailure::Other { code, reason }
}

/// What a remote forward's listener needs of its connection.
struct ForwardConn {
    handle: russh::server::Handle,
    /// The connection's forwards, and its session channels, counted against the cap.
    forwards: Arc<std::sync::atomic::AtomicUsize>,
    sessions: Arc<std::sync::atomic::AtomicUsize>,
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
    mut stop: tokio::sync::oneshot::Receiver<()>,
    _listening: Counted,
) {
    let ForwardConn { handle, forwards, sessions, throttle } = conn;
    let open =
        || forwards.load(std::sync::atomic::Ordering::Acquire) + sessions.load(std::sync::atomic::Ordering::Acquire);
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
                if open() >= MAX_CHANNELS_PER_CONNECTION {
                    tracing::info!("remote forward on port {port}: connection from {origin} closed: {MAX_CHANNELS_PER_CONNECTION} channels already open");
                    continue;
                }
                let counted = Counted::new(&forwards);
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

/// Relays bytes between a forwarded channel and a local socket until both directions end; the
/// client's data is drained off the connection at once (inbound.rs).
async fn relay_channel<S, L>(channel: Channel<S>, throttle: &Arc<inbound::Throttle>, local: &mut L)
where
    S: From<(ChannelId, russh::ChannelMsg)> + Send + Sync + 'static,
    L: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut reader, writer, pump) = inbound::drain(channel, throttle);
    let (mut local_r, mut local_w) = tokio::io::split(local);
    let outward = async {
        let _ = tokio::io::copy(&mut reader, &mut local_w).await;
        let _ = local_w.shutdown().await;
    };
    let inward = async {
        let mut buf = vec![0u8; session::READ_CHUNK];
        while let Ok(n) = local_r.read(&mut buf).await {
            let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else { break };
            if writer.data_bytes(chunk.to_vec()).await.is_err() {
                return;
            }
        }
        let _ = writer.eof().await;
    };
    tokio::join!(outward, inward, pump);
}

/// Creates a socket for the forwarded agent, owned by `user`, and serves it: each connection
/// opens an `auth-agent@openssh.com` channel to the client and relays bytes.
fn agent_socket(
    user: &session::LoginUser,
    handle: russh::server::Handle,
    throttle: &Arc<inbound::Throttle>,
    tasks: &mut JoinSet<()>,
) -> std::io::Result<AgentSocket> {
    use std::os::unix::fs::DirBuilderExt;
    let mut random = [0u8; 8];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut random)
        .map_err(|_| std::io::Error::other("no randomness"))?;
    let name: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let dir = std::env::temp_dir().join(format!("tether-agent-{name}"));
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    let socket = dir.join("agent.sock");
    let cleanup = |e: std::io::Error| {
        let _ = std::fs::remove_dir_all(&dir);
        e
    };
    let listener = UnixListener::bind(&socket).map_err(cleanup)?;
    if nix::unistd::geteuid().is_root() {
        std::os::unix::fs::chown(&dir, Some(user.uid), Some(user.gid)).map_err(cleanup)?;
        std::os::unix::fs::chown(&socket, Some(user.uid), Some(user.gid)).map_err(cleanup)?;
    }
    let throttle = throttle.clone();
    let task = tasks.spawn(async move {
        let mut relays = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((mut local, _)) = accepted else { return };
                    let (handle, throttle) = (handle.clone(), throttle.clone());
                    relays.spawn(async move {
                        match handle.channel_open_agent().await {
                            Ok(channel) => relay_channel(channel, &throttle, &mut local).await,
                            Err(e) => tracing::debug!("the client refused the agent channel: {e}"),
                        }
                    });
                }
                Some(_) = relays.join_next(), if !relays.is_empty() => {}
            }
        }
    });
    Ok(AgentSocket { dir, socket, listener: task })
}

fn to_ssh_signal(name: &str) -> Sig {
    match name {
        "ABRT" => Sig::ABRT,
        "ALRM" => Sig::ALRM,
        "FPE" => Sig::FPE,
        "HUP" => Sig::HUP,
        "ILL" => Sig::ILL,
        "INT" => Sig::INT,
        "KILL" => Sig::KILL,
        "PIPE" => Sig::PIPE,
        "QUIT" => Sig::QUIT,
        "SEGV" => Sig::SEGV,
        "TERM" => Sig::TERM,
        "USR1" => Sig::USR1,
        other => Sig::Custom(other.to_string()),
    }
}

fn from_ssh_signal(sig: &Sig) -> Option<nix::sys::signal::Signal> {
    let name = match sig {
        Sig::ABRT => "ABRT",
        Sig::ALRM => "ALRM",
        Sig::FPE => "FPE",
        Sig::HUP => "HUP",
        Sig::ILL => "ILL",
        Sig::INT => "INT",
        Sig::KILL => "KILL",
        Sig::PIPE => "PIPE",
        Sig::QUIT => "QUIT",
        Sig::SEGV => "SEGV",
        Sig::TERM => "TERM",
        Sig::USR1 => "USR1",
        Sig::Custom(name) => name.as_str(),
    };
    session::signal_from_name(name)
}

impl russh::server::Handler for Conn {
    type Error = russh::Error;

    async fn authentication_banner(&mut self) -> Result<Option<String>, Self::Error> {
        // Called when the client asks for the ssh-userauth service.
        self.progress().userauth_started = true;
        Ok(None)
    }

    async fn auth_none(&mut self, user: &str) -> Result<Auth, Self::Error> {
        // A method probe (OpenSSH sends it first), not a refusal worth auditing.
        self.progress().last_user = user.to_string();
        Ok(Auth::reject())
    }

    async fn auth_publickey_offered(&mut self, _user: &str, _offer: PublicKeyOffer<'_>) -> Result<Auth, Self::Error> {
        // The offer of a certificate arrives as its inner key: refusing here would break
        // certificate login. The decision is in auth_openssh_certificate / auth_publickey.
        Ok(Auth::Accept)
    }

    async fn auth_publickey(&mut self, user: &str, _key: VerifiedPublicKey<'_>) -> Result<Auth, Self::Error> {
        self.refuse(user, user, &AuthRefusal::PlainKey);
        Ok(Auth::reject())
    }

    async fn auth_openssh_certificate(&mut self, user: &str, certificate: &Certificate) -> Result<Auth, Self::Error> {
        match check_certificate(self.ctx.trust.as_ref(), user, certificate) {
            Ok(authed) => {
                tracing::info!(
                    peer = %self.peer,
                    user = %authed.identity.user,
                    login = user,
                    roles = ?authed.roles,
                    ca_cluster = %authed.ca_cluster,
                    "SSH authentication accepted"
                );
                if authed.ca_cluster != self.ctx.trust.cluster() {
                    self.audit_role_mapping(&authed.identity, &authed.ca_cluster, Ok(&authed.roles));
                }
                self.user = Some(authed);
                Ok(Auth::Accept)
            }
            Err(refusal) => {
                self.refuse(certificate.key_id(), user, &refusal);
                // A genuine certificate that RBAC turns away: let the user in far enough to
                // read why (on the first session request), as the audit log says.
                if let AuthRefusal::NoRoles(reason) | AuthRefusal::Denied(reason) | AuthRefusal::NotBound(reason) =
                    &refusal
                {
                    if let Ok(identity) = tether_shared::ssh_cert::inspect_user_cert(certificate)
                        && identity.cluster != self.ctx.trust.cluster()
                    {
                        let err: Result<&[String], &str> = Err(reason);
                        self.audit_role_mapping(&identity, &identity.cluster, err);
                    }
                    self.denied = Some(format!("access denied to {user} on node {}: {reason}", self.ctx.node_name));
                    return Ok(Auth::Accept);
                }
                Ok(Auth::reject())
            }
        }
    }

    async fn auth_succeeded(&mut self, _session: &mut Session) -> Result<(), Self::Error> {
        // A connection let in only to be told it is denied keeps the authentication timer, which
        // closes it.
        if self.user.is_some() {
            let _ = self.authed_tx.send(true);
            self.gate.pass();
        }
        Ok(())
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.user.is_none() && self.denied.is_none() {
            reply.reject(ChannelOpenFailure::AdministrativelyProhibited).await;
        } else if self.open_channels() >= MAX_CHANNELS_PER_CONNECTION {
            reply.reject(ChannelOpenFailure::ResourceShortage).await;
        } else {
            // Requests and data arrive through the handler's callbacks, so the Channel object
            // itself is not needed (dropping it neither closes nor blocks the channel).
            self.channels.insert(channel.id(), ChannelState::default());
            self.sessions.store(self.channels.len(), std::sync::atomic::Ordering::Release);
            reply.accept().await;
        }
        Ok(())
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        channel: Channel<Msg>,
        host_to_connect: &str,
        port_to_connect: u32,
        originator_address: &str,
        originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let Some(authed) = self.user.as_ref() else {
            reply.reject(ChannelOpenFailure::AdministrativelyProhibited).await;
            return Ok(());
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
            return Ok(());
        };
        if let Some(reason) = refusal {
            tracing::info!(peer = %self.peer, user = %authed.identity.user, "port forwarding refused: {reason}");
            if let Some(obj) = details.as_object_mut() {
                obj.insert("error".into(), json!(reason));
            }
            self.ctx.trust.audit("port", "T3003E", &authed.identity.user, false, details);
            reply.reject(open_failure(1, reason.to_string())).await;
            return Ok(());
        }
        if self.open_channels() >= MAX_CHANNELS_PER_CONNECTION {
            tracing::info!(peer = %self.peer, "port forward refused: {MAX_CHANNELS_PER_CONNECTION} channels already open");
            reply.reject(ChannelOpenFailure::ResourceShortage).await;
            return Ok(());
        }
        self.ctx.trust.audit("port", "T3003I", &authed.identity.user, true, details);
        let host = host_to_connect.to_string();
        let throttle = self.throttle.clone();
        let counted = Counted::new(&self.forwards);
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
        Ok(())
    }

    async fn tcpip_forward(
        &mut self,
        address: &str,
        port: &mut u32,
        session: &mut Session,
    ) -> Result<bool, Self::Error> {
        let Some(authed) = self.user.as_ref() else { return Ok(false) };
        let refusal = forwarding_refusal(authed);
        let user = authed.identity.user.clone();
        let login_is_root = authed.login == "root";
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
            self.ctx.trust.audit("port", "T3003E", &user, false, details);
            Ok(false)
        };
        if let Some(reason) = refusal {
            return refuse(reason.to_string(), details);
        }
        let Ok(wanted) = u16::try_from(requested) else {
            return refuse(format!("{requested} is not a TCP port"), details);
        };
        if wanted != 0 && wanted < FIRST_UNPRIVILEGED_PORT && !login_is_root {
            return refuse(format!("port {wanted} is privileged: only the login root may forward it"), details);
        }
        if self.remote_forwards.contains_key(&wanted) {
            return refuse(format!("port {wanted} is already forwarded on this connection"), details);
        }
        if self.open_channels() >= MAX_CHANNELS_PER_CONNECTION {
            return refuse(format!("{MAX_CHANNELS_PER_CONNECTION} channels and forwards already open"), details);
        }
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
        self.ctx.trust.audit("port", "T3003I", &user, true, details);
        tracing::info!(peer = %self.peer, user = %user, "remote forward listening on 127.0.0.1:{bound}");
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        self.remote_forwards.insert(bound, stop_tx);
        let listening = Counted::new(&self.forwards);
        self.tasks.spawn(serve_remote_forward(
            listener,
            address.to_string(),
            bound,
            ForwardConn {
                handle: session.handle(),
                forwards: self.forwards.clone(),
                sessions: self.sessions.clone(),
                throttle: self.throttle.clone(),
            },
            stop_rx,
            listening,
        ));
        *port = u32::from(bound);
        Ok(true)
    }

    async fn cancel_tcpip_forward(
        &mut self,
        address: &str,
        port: u32,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        let Some(stop) = u16::try_from(port).ok().and_then(|p| self.remote_forwards.remove(&p)) else {
            return Ok(false);
        };
        tracing::info!(peer = %self.peer, "remote forward of {address}:{port} cancelled");
        let _ = stop.send(());
        Ok(true)
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        term: &str,
        col_width: u32,
        row_height: u32,
        pix_width: u32,
        pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let permitted = self.user.as_ref().is_some_and(|a| a.identity.permit_pty);
        let valid_term = term.len() <= 64 && !term.contains('\0');
        match self.channels.get_mut(&channel) {
            Some(state) if permitted && valid_term && !state.started && state.pty.is_none() => {
                let term = if term.is_empty() { "xterm".to_string() } else { term.to_string() };
                let size = TermSize::from_ssh(col_width, row_height, pix_width, pix_height);
                state.pty = Some(PtySpec { term, size });
                session.channel_success(channel)
            }
            _ => session.channel_failure(channel),
        }
    }

    async fn window_change_request(
        &mut self,
        channel: ChannelId,
        col_width: u32,
        row_height: u32,
        pix_width: u32,
        pix_height: u32,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if let Some(state) = self.channels.get_mut(&channel) {
            let size = TermSize::from_ssh(col_width, row_height, pix_width, pix_height);
            if let Some(pty) = state.pty.as_mut() {
                pty.size = size;
            }
            if let Some(running) = &state.running {
                let _ = running.control.send(Control::Resize(size));
            }
        }
        Ok(())
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        variable_name: &str,
        variable_value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        match self.channels.get_mut(&channel) {
            Some(state)
                if !state.started
                    && state.env.len() < session::MAX_ENV_VARS
                    && session::allowed_env(variable_name)
                    && session::valid_env_value(variable_value) =>
            {
                state.env.push((variable_name.to_string(), variable_value.to_string()));
                session.channel_success(channel)
            }
            _ => {
                tracing::debug!(peer = %self.peer, "env request for {variable_name:?} refused");
                session.channel_failure(channel)
            }
        }
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        match std::str::from_utf8(data) {
            Ok(command) if !command.contains('\0') => {
                self.start(channel, Launch::Exec(command.to_string()), session).await
            }
            _ => {
                tracing::info!(peer = %self.peer, "exec request refused: the command is not valid UTF-8 text");
                session.channel_failure(channel)
            }
        }
    }

    async fn shell_request(&mut self, channel: ChannelId, session: &mut Session) -> Result<(), Self::Error> {
        self.start(channel, Launch::Shell, session).await
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if name == "sftp" {
            return self.start(channel, Launch::Sftp, session).await;
        }
        tracing::info!(peer = %self.peer, "subsystem {name:?} refused: not supported");
        session.channel_failure(channel)
    }

    async fn x11_request(
        &mut self,
        channel: ChannelId,
        _single_connection: bool,
        _x11_auth_protocol: &str,
        _x11_auth_cookie: &str,
        _x11_screen_number: u32,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }

    async fn agent_request(&mut self, channel: ChannelId, session: &mut Session) -> Result<bool, Self::Error> {
        Ok(self.forward_agent(channel, session).await)
    }

    async fn signal(&mut self, channel: ChannelId, signal: Sig, _session: &mut Session) -> Result<(), Self::Error> {
        let running = self.channels.get(&channel).and_then(|s| s.running.as_ref());
        if let (Some(running), Some(sig)) = (running, from_ssh_signal(&signal)) {
            let _ = running.control.send(Control::Signal(sig));
        }
        Ok(())
    }

    async fn data(&mut self, channel: ChannelId, data: &[u8], _session: &mut Session) -> Result<(), Self::Error> {
        let Some(running) = self.channels.get(&channel).and_then(|s| s.running.as_ref()) else {
            return Ok(());
        };
        let Some(sender) = running.data.clone() else { return Ok(()) };
        // Never wait here: the loop must keep reading the client's window adjustments. Too much
        // waiting shrinks the window instead (inbound.rs). A send error means the process is
        // gone: the data is dropped.
        let _ = sender.send(running.queue.chunk(data.to_vec()));
        Ok(())
    }

    fn adjust_window(&mut self, _channel: ChannelId, _current: u32) -> u32 {
        self.throttle.window()
    }

    async fn channel_eof(&mut self, channel: ChannelId, _session: &mut Session) -> Result<(), Self::Error> {
        if let Some(running) = self.channels.get_mut(&channel).and_then(|s| s.running.as_mut()) {
            running.data = None;
        }
        Ok(())
    }

    async fn channel_close(&mut self, channel: ChannelId, _session: &mut Session) -> Result<(), Self::Error> {
        // Dropping the state closes the process's inputs (it gets SIGHUP if still running) and
        // removes the agent socket.
        self.channels.remove(&channel);
        self.sessions.store(self.channels.len(), std::sync::atomic::Ordering::Release);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use russh::ChannelMsg;
    use russh::client;
    use russh::keys::PublicKeyOrCertificate;
    use tether_shared::labels::LabelSelectors;
    use tether_shared::resource::{RoleConditions, RoleOptions, RoleSpec};
    use tether_shared::ssh_cert::{HostIdentity, SshCa, generate_ed25519_key};
    use time::OffsetDateTime;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const CLUSTER: &str = "main";
    const WAIT: Duration = Duration::from_secs(20);

    type Event = (String, String, String, bool, serde_json::Value);

    struct TestTrust {
        cas: Vec<(String, PublicKey)>,
        roles: Vec<Role>,
        labels: Labels,
        events: Mutex<Vec<Event>>,
    }

    impl NodeTrust for TestTrust {
        fn user_cas(&self) -> Vec<(String, PublicKey)> {
            self.cas.clone()
        }
        fn cluster(&self) -> &str {
            CLUSTER
        }
        fn roles_for(&self, identity: &Identity, _ca_cluster: &str) -> Result<Vec<Role>, String> {
            let roles: Vec<Role> =
                self.roles.iter().filter(|r| identity.roles.contains(&r.metadata.name)).cloned().collect();
            if roles.is_empty() {
                return Err(format!("none of the roles [{}] exists on this cluster", identity.roles.join(", ")));
            }
            Ok(roles)
        }
        fn labels(&self) -> Labels {
            self.labels.clone()
        }
        fn audit(&self, event: &str, code: &str, user: &str, success: bool, details: serde_json::Value) {
            self.events.lock().unwrap().push((event.into(), code.into(), user.into(), success, details));
        }
    }

    /// The login the tests use: the user running them (root here and in CI).
    fn me() -> String {
        nix::unistd::User::from_uid(nix::unistd::geteuid()).unwrap().unwrap().name
    }

    fn role(name: &str, logins: &[&str], env: &str, options: RoleOptions) -> Role {
        Role::new(
            name,
            RoleSpec {
                options,
                allow: RoleConditions {
                    logins: logins.iter().map(|l| l.to_string()).collect(),
                    node_labels: LabelSelectors::from([("env".to_string(), vec![env.to_string()])]),
                    ..RoleConditions::default()
                },
                deny: RoleConditions::default(),
            },
        )
    }

    fn identity(roles: &[&str], logins: &[&str]) -> Identity {
        let now = OffsetDateTime::now_utc();
        Identity {
            user: "alice".into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            traits: Default::default(),
            logins: logins.iter().map(|l| l.to_string()).collect(),
            cluster: CLUSTER.into(),
            valid_after: now - time::Duration::minutes(1),
            valid_before: now + time::Duration::hours(1),
            permit_pty: true,
            permit_agent_forwarding: true,
            permit_port_forwarding: true,
            route_to_cluster: None,
        }
    }

    struct Harness {
        addr: SocketAddr,
        ca: SshCa,
        trust: Arc<TestTrust>,
        shutdown: watch::Sender<bool>,
        server: tokio::task::JoinHandle<()>,
    }

    impl Harness {
        async fn start() -> Harness {
            let login = me();
            let ca = SshCa::generate().unwrap();
            let full = RoleOptions { forward_agent: Some(true), ..RoleOptions::default() };
            let roles = vec![
                role("dev", &[&login, "nosuchuser"], "test", full),
                role("prod-only", &[&login], "prod", RoleOptions::default()),
                role("other-login", &["nobody-else"], "test", RoleOptions::default()),
                role(
                    "no-fwd",
                    &[&login],
                    "test",
                    RoleOptions { port_forwarding: Some(false), ..RoleOptions::default() },
                ),
            ];
            let trust = Arc::new(TestTrust {
                cas: vec![(CLUSTER.to_string(), ca.public_key().clone())],
                roles,
                labels: Labels::from([("env".to_string(), "test".to_string())]),
                events: Mutex::new(Vec::new()),
            });
            Harness::start_with(ca, trust).await
        }

        async fn start_with(ca: SshCa, trust: Arc<TestTrust>) -> Harness {
            let host_ca = SshCa::generate().unwrap();
            let host_key = generate_ed25519_key().unwrap();
            let now = OffsetDateTime::now_utc();
            let host = HostIdentity {
                host_id: "node1-id".into(),
                principals: vec!["node1".into()],
                cluster: CLUSTER.into(),
                valid_after: now - time::Duration::minutes(1),
                valid_before: now + time::Duration::hours(1),
            };
            let host_cert = host_ca.issue_host_cert(host_key.public_key(), &host, 1).unwrap();
            let limits = crate::config::ConnectionLimits::default();
            let mut config = SshdConfig::new(host_key, host_cert, "node1".into(), limits.clone());
            config.auth_rejection_time = Duration::from_millis(10);
            let listener_limits = crate::listen::Limits {
                login_grace_time: Duration::from_secs(3),
                shutdown_grace: Duration::from_secs(1),
                ..limits.listener
            };
            let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = tcp.local_addr().unwrap();
            let listener = Listener::new(tcp, "node test", listener_limits);
            let (shutdown, rx) = watch::channel(false);
            let server = tokio::spawn(serve(listener, config, trust.clone(), rx));
            Harness { addr, ca, trust, shutdown, server }
        }

        async fn stop(self) {
            self.shutdown.send(true).unwrap();
            tokio::time::timeout(WAIT, self.server).await.unwrap().unwrap();
        }

        /// Connects as `login` with `cert` (for `key`); `Err(())` when authentication is refused.
        async fn connect_with(
            &self,
            login: &str,
            key: &PrivateKey,
            cert: Certificate,
        ) -> Result<client::Handle<TestClient>, ()> {
            let config = Arc::new(client::Config::default());
            let mut handle = client::connect(config, self.addr, TestClient).await.unwrap();
            let result = handle.authenticate_openssh_cert(login, Arc::new(key.clone()), cert).await.unwrap();
            if result.success() { Ok(handle) } else { Err(()) }
        }

        async fn connect(
            &self,
            roles: &[&str],
            logins: &[&str],
            login: &str,
        ) -> Result<client::Handle<TestClient>, ()> {
            let key = generate_ed25519_key().unwrap();
            let cert = self.ca.issue_user_cert(key.public_key(), &identity(roles, logins), 1).unwrap();
            self.connect_with(login, &key, cert).await
        }

        async fn login(&self) -> client::Handle<TestClient> {
            let login = me();
            self.connect(&["dev"], &[&login], &login).await.expect("authentication should succeed")
        }

        fn events(&self, name: &str) -> Vec<Event> {
            self.trust.events.lock().unwrap().iter().filter(|e| e.0 == name).cloned().collect()
        }

        /// Waits until an `auth.failure` of `kind` is audited, and returns it.
        async fn refusal(&self, kind: &str) -> Event {
            let deadline = tokio::time::Instant::now() + WAIT;
            loop {
                if let Some(e) = self.events("auth.failure").into_iter().find(|e| e.4["kind"] == kind) {
                    return e;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "no {kind} refusal audited: {:?}",
                    self.events("auth.failure")
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    struct TestClient;

    impl client::Handler for TestClient {
        type Error = russh::Error;

        async fn check_server_key(&mut self, key: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
            // tsh verifies the host certificate; these tests are about the server's side.
            let _ = key;
            Ok(true)
        }

        async fn server_channel_open_agent_forward(
            &mut self,
            channel: Channel<client::Msg>,
            reply: client::ChannelOpenHandle,
            _session: &mut client::Session,
        ) -> Result<(), Self::Error> {
            reply.accept().await;
            // A minimal agent: answers "no identities" to whatever it is asked.
            tokio::spawn(async move {
                let mut stream = channel.into_stream();
                let mut len = [0u8; 4];
                while stream.read_exact(&mut len).await.is_ok() {
                    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
                    if stream.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    // SSH_AGENT_IDENTITIES_ANSWER (12) with zero keys.
                    let _ = stream.write_all(&[0, 0, 0, 5, 12, 0, 0, 0, 0]).await;
                }
            });
            Ok(())
        }

        async fn server_channel_open_forwarded_tcpip(
            &mut self,
            channel: Channel<client::Msg>,
            connected_address: &str,
            connected_port: u32,
            _originator_address: &str,
            _originator_port: u32,
            reply: client::ChannelOpenHandle,
            _session: &mut client::Session,
        ) -> Result<(), Self::Error> {
            reply.accept().await;
            // Says which forward the connection came through, then hangs up.
            let hello = format!("forwarded:{connected_address}:{connected_port}");
            tokio::spawn(async move {
                let mut stream = channel.into_stream();
                let _ = stream.write_all(hello.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
            Ok(())
        }
    }

    #[derive(Debug, Default)]
    struct Ran {
        stdout: Vec<u8>,
        stderr: Vec<u8>,
        status: Option<u32>,
        signal: Option<Sig>,
    }

    impl Ran {
        fn out(&self) -> String {
            String::from_utf8_lossy(&self.stdout).into_owned()
        }
        fn err(&self) -> String {
            String::from_utf8_lossy(&self.stderr).into_owned()
        }
    }

    async fn collect(channel: &mut Channel<client::Msg>) -> Ran {
        let mut ran = Ran::default();
        loop {
            let msg = tokio::time::timeout(WAIT, channel.wait()).await.expect("the session did not end");
            match msg {
                None | Some(ChannelMsg::Close) => return ran,
                Some(ChannelMsg::Data { data }) => ran.stdout.extend_from_slice(&data),
                Some(ChannelMsg::ExtendedData { data, ext: 1 }) => ran.stderr.extend_from_slice(&data),
                Some(ChannelMsg::ExitStatus { exit_status }) => ran.status = Some(exit_status),
                Some(ChannelMsg::ExitSignal { signal_name, .. }) => ran.signal = Some(signal_name),
                Some(_) => {}
            }
        }
    }

    async fn exec(handle: &client::Handle<TestClient>, command: &str, stdin: Option<&[u8]>) -> Ran {
        let mut channel = handle.channel_open_session().await.unwrap();
        channel.exec(true, command).await.unwrap();
        if let Some(input) = stdin {
            channel.data_bytes(input.to_vec()).await.unwrap();
            channel.eof().await.unwrap();
        }
        collect(&mut channel).await
    }

    #[tokio::test]
    async fn exec_streams_and_reports_exit_status() {
        let h = Harness::start().await;
        let client = h.login().await;
        let ran = exec(&client, "echo hi", None).await;
        assert_eq!(ran.out(), "hi\n");
        assert_eq!(ran.status, Some(0));
        let ran = exec(&client, "exit 7", None).await;
        assert_eq!(ran.status, Some(7));
        let ran = exec(&client, "echo oops >&2; exit 3", None).await;
        assert_eq!((ran.err().as_str(), ran.status), ("oops\n", Some(3)));
        // 1 MiB through stdin, counted on the far side.
        let input = vec![b'x'; 1 << 20];
        let ran = exec(&client, "wc -c", Some(&input)).await;
        assert_eq!(ran.out().trim(), "1048576");
        assert_eq!(ran.status, Some(0));
        // The environment is the login's.
        let ran = exec(&client, "echo $USER:$LOGNAME:$HOME:$(pwd)", None).await;
        let user = nix::unistd::User::from_name(&me()).unwrap().unwrap();
        let home = user.dir.display().to_string();
        let cwd = if user.dir.is_dir() { home.clone() } else { "/".to_string() };
        assert_eq!(ran.out().trim(), format!("{0}:{0}:{home}:{cwd}", me()));
        // A process killed by a signal reports exit-signal.
        let ran = exec(&client, "kill -TERM $$", None).await;
        assert!(matches!(ran.signal, Some(Sig::TERM)), "{ran:?}");
        assert_eq!(ran.status, None);

        let starts = h.events("session.start");
        assert_eq!(starts.len(), 6, "{starts:?}");
        assert_eq!(starts[0].2, "alice");
        assert_eq!(starts[0].4["login"], me());
        assert_eq!(starts[0].4["node"], "node1");
        assert_eq!(starts[0].4["roles"], json!(["dev"]));
        assert!(starts[0].4["remote_addr"].as_str().unwrap().starts_with("127.0.0.1:"));
        let deadline = tokio::time::Instant::now() + WAIT;
        while h.events("session.end").len() < 6 {
            assert!(tokio::time::Instant::now() < deadline);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let codes: Vec<serde_json::Value> = h.events("session.end").iter().map(|e| e.4["exit_code"].clone()).collect();
        assert!(codes.contains(&json!(7)) && codes.contains(&json!(143)), "{codes:?}");
        drop(client);
        h.stop().await;
    }

    #[tokio::test]
    async fn echo_of_bulk_data_does_not_deadlock() {
        // stdin → cat → stdout with more data in flight than every buffer on the path holds.
        let h = Harness::start().await;
        let client = h.login().await;
        let mut channel = client.channel_open_session().await.unwrap();
        channel.exec(true, "cat").await.unwrap();
        let input: Vec<u8> = (0..32u32 << 20).map(|i| (i % 251) as u8).collect();
        let writer = channel.make_writer();
        let sent = input.clone();
        let feeder = tokio::spawn(async move {
            let mut writer = writer;
            writer.write_all(&sent).await.unwrap();
            writer.shutdown().await.unwrap();
        });
        let mut ran = Ran::default();
        loop {
            let Ok(msg) = tokio::time::timeout(WAIT, channel.wait()).await else {
                panic!("stalled after {} bytes; feeder finished: {}", ran.stdout.len(), feeder.is_finished())
            };
            let Some(msg) = msg else { break };
            match msg {
                ChannelMsg::Data { data } => ran.stdout.extend_from_slice(&data),
                ChannelMsg::ExitStatus { exit_status } => ran.status = Some(exit_status),
                ChannelMsg::Close => break,
                _ => {}
            }
        }
        feeder.await.unwrap();
        assert_eq!(ran.stdout.len(), input.len());
        assert!(ran.stdout == input);
        assert_eq!(ran.status, Some(0));
        h.stop().await;
    }

    #[tokio::test]
    async fn client_signal_and_env() {
        let h = Harness::start().await;
        let client = h.login().await;
        let mut channel = client.channel_open_session().await.unwrap();
        channel.set_env(true, "LANG", "C.UTF-8").await.unwrap();
        channel.set_env(true, "LD_PRELOAD", "/evil.so").await.unwrap();
        channel.exec(true, "echo \"$LANG|$LD_PRELOAD\"; exec sleep 30").await.unwrap();
        // Wait for the output, then interrupt.
        let mut out = Vec::new();
        while !out.ends_with(b"\n") {
            match tokio::time::timeout(WAIT, channel.wait()).await.unwrap() {
                Some(ChannelMsg::Data { data }) => out.extend_from_slice(&data),
                Some(_) => {}
                None => panic!("channel closed early"),
            }
        }
        assert_eq!(String::from_utf8_lossy(&out), "C.UTF-8|\n");
        channel.signal(Sig::INT).await.unwrap();
        let ran = collect(&mut channel).await;
        assert!(matches!(ran.signal, Some(Sig::INT)), "{ran:?}");
        drop(client);
        h.stop().await;
    }

    #[tokio::test]
    async fn pty_sessions() {
        let h = Harness::start().await;
        let client = h.login().await;
        let mut channel = client.channel_open_session().await.unwrap();
        channel.request_pty(true, "xterm-256color", 80, 24, 0, 0, &[]).await.unwrap();
        // The resize reaches the shell as SIGWINCH; no timing involved.
        let script = "trap 'stty size; exit 0' WINCH; tty; echo $TERM; stty size; while :; do sleep 0.05; done";
        channel.exec(true, script).await.unwrap();
        let mut out = String::new();
        while !out.contains("24 80") {
            match tokio::time::timeout(WAIT, channel.wait()).await.unwrap() {
                Some(ChannelMsg::Data { data }) => out.push_str(&String::from_utf8_lossy(&data)),
                Some(_) => {}
                None => panic!("channel closed early: {out:?}"),
            }
        }
        channel.window_change(100, 30, 0, 0).await.unwrap();
        let ran = collect(&mut channel).await;
        out.push_str(&ran.out());
        assert!(out.starts_with("/dev/pts/"), "{out:?}");
        let lines: Vec<&str> = out.lines().map(str::trim).collect();
        assert_eq!(lines.get(1..4), Some(&["xterm-256color", "24 80", "30 100"][..]), "{out:?}");
        assert_eq!(ran.status, Some(0));

        // An interactive login shell on a PTY.
        let mut channel = client.channel_open_session().await.unwrap();
        channel.request_pty(true, "xterm", 80, 24, 0, 0, &[]).await.unwrap();
        channel.request_shell(true).await.unwrap();
        channel.data_bytes(b"echo \"shell:$0\"; exit 5\n".to_vec()).await.unwrap();
        let ran = collect(&mut channel).await;
        assert!(ran.out().contains("shell:-"), "{:?}", ran.out());
        assert_eq!(ran.status, Some(5));
        drop(client);
        h.stop().await;
    }

    /// Removes the temporary account and group of `sessions_run_as_the_login`, even on failure.
    struct TempAccount(String);

    impl Drop for TempAccount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("userdel").arg(&self.0).status();
            let _ = std::process::Command::new("groupdel").arg(&self.0).status();
        }
    }

    /// As root, a session for another login runs with that login's uid, primary gid and its
    /// supplementary groups (initgroups), in its home. Creates a temporary account and group
    /// (root only; a non-root daemon can only run as itself, tested above).
    #[tokio::test]
    async fn sessions_run_as_the_login() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let name = format!("tethert{}", std::process::id() % 100_000);
        let _cleanup = TempAccount(name.clone());
        let ok = |cmd: &mut std::process::Command| cmd.status().map(|s| s.success()).unwrap_or(false);
        assert!(ok(std::process::Command::new("groupadd").arg(&name)), "groupadd");
        assert!(
            ok(std::process::Command::new("useradd")
                .args(["-m", "-s", "/bin/sh", "-G", &name, "-U"])
                .arg(format!("{name}u"))),
            "useradd"
        );
        let login = format!("{name}u");
        let _cleanup_user = TempAccount(login.clone());
        let user = nix::unistd::User::from_name(&login).unwrap().expect("the account exists");
        let extra = nix::unistd::Group::from_name(&name).unwrap().expect("the group exists").gid;
        let ca = SshCa::generate().unwrap();
        let trust = Arc::new(TestTrust {
            cas: vec![(CLUSTER.to_string(), ca.public_key().clone())],
            roles: vec![role("other", &[&login], "test", RoleOptions::default())],
            labels: Labels::from([("env".to_string(), "test".to_string())]),
            events: Mutex::new(Vec::new()),
        });
        let h = Harness::start_with(ca, trust).await;
        let client = h.connect(&["other"], &[&login], &login).await.unwrap();
        let ran = exec(&client, "id -u; id -g; id -G; pwd", None).await;
        let out = ran.out();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 4, "{out} {}", ran.err());
        assert_eq!(lines[0], user.uid.to_string());
        assert_eq!(lines[1], user.gid.to_string());
        let groups: Vec<&str> = lines[2].split_whitespace().collect();
        assert!(groups.contains(&extra.to_string().as_str()), "supplementary group applied: {groups:?}");
        assert!(!groups.contains(&"0"), "root's groups are dropped: {groups:?}");
        assert_eq!(lines[3], user.dir.display().to_string());
        drop(client);
        h.stop().await;
        let _ = std::process::Command::new("rm").arg("-rf").arg(&user.dir).status();
    }

    #[tokio::test]
    async fn missing_login_is_reported_not_hung() {
        let h = Harness::start().await;
        let client = h.connect(&["dev"], &["nosuchuser"], "nosuchuser").await.expect("RBAC allows nosuchuser");
        let ran = exec(&client, "true", None).await;
        assert_eq!(ran.status, Some(1));
        assert_eq!(ran.err(), "tether: login \"nosuchuser\" does not exist on node node1\n");
        assert_eq!(h.events("exec").len(), 1);
        drop(client);
        h.stop().await;
    }

    #[tokio::test]
    async fn refusals_are_audited_with_distinct_reasons() {
        let h = Harness::start().await;
        let login = me();
        let key = generate_ed25519_key().unwrap();

        // Signed by a CA the node does not trust.
        let other = SshCa::generate().unwrap();
        let cert = other.issue_user_cert(key.public_key(), &identity(&["dev"], &[&login]), 1).unwrap();
        assert!(h.connect_with(&login, &key, cert).await.is_err());
        let e = h.refusal("untrusted_ca").await;
        assert_eq!((e.1.as_str(), e.2.as_str(), e.3), ("T3007W", "alice", false));
        assert!(e.4["reason"].as_str().unwrap().contains("untrusted certificate authority"), "{e:?}");

        // A host certificate from the trusted CA presented as a user certificate.
        let now = OffsetDateTime::now_utc();
        let host = HostIdentity {
            host_id: "alice".into(),
            principals: vec![login.clone()],
            cluster: CLUSTER.into(),
            valid_after: now - time::Duration::minutes(1),
            valid_before: now + time::Duration::hours(1),
        };
        let cert = h.ca.issue_host_cert(key.public_key(), &host, 2).unwrap();
        assert!(h.connect_with(&login, &key, cert).await.is_err());
        h.refusal("wrong_cert_type").await;

        // A login outside the principals.
        assert!(h.connect(&["dev"], &["someone"], &login).await.is_err());
        let e = h.refusal("login_not_a_principal").await;
        assert_eq!(e.4["login"], login);

        // Roles that do not allow the login, or do not match the node's labels, or do not exist:
        // a genuine certificate gets in far enough to read why, and nothing runs.
        let denied = |client: client::Handle<TestClient>| async move {
            let ran = exec(&client, "touch /tmp/tether-must-not-run", None).await;
            assert_eq!(ran.status, Some(1));
            assert!(ran.err().starts_with("tether: access denied to "), "{:?}", ran.err());
            ran.err()
        };
        let why = denied(h.connect(&["other-login"], &[&login], &login).await.expect("let in to be told")).await;
        assert!(why.contains("allow.logins"), "{why}");
        let denied_login = h.refusal("access_denied").await;
        assert!(denied_login.4["reason"].as_str().unwrap().contains("allow.logins"), "{denied_login:?}");
        h.trust.events.lock().unwrap().clear();
        let why = denied(h.connect(&["prod-only"], &[&login], &login).await.expect("let in to be told")).await;
        assert!(why.contains("node_labels"), "{why}");
        let denied_labels = h.refusal("access_denied").await;
        assert!(denied_labels.4["reason"].as_str().unwrap().contains("node_labels"), "{denied_labels:?}");
        denied(h.connect(&["ghost"], &[&login], &login).await.expect("let in to be told")).await;
        h.refusal("no_roles").await;
        assert!(h.events("exec").is_empty() && h.events("session.start").is_empty(), "nothing ran");
        assert!(!std::path::Path::new("/tmp/tether-must-not-run").exists());

        // A plain key (no certificate).
        let config = Arc::new(client::Config::default());
        let mut plain = client::connect(config, h.addr, TestClient).await.unwrap();
        let auth = plain
            .authenticate_publickey(&login, russh::keys::PrivateKeyWithHashAlg::new(Arc::new(key.clone()), None))
            .await
            .unwrap();
        assert!(!auth.success());
        h.refusal("plain_key").await;
        drop(plain);

        // An expired certificate: russh refuses it before Tether's handler sees it; the
        // connection's end is audited.
        let mut expired = identity(&["dev"], &[&login]);
        expired.valid_after = now - time::Duration::hours(2);
        expired.valid_before = now - time::Duration::hours(1);
        let cert = h.ca.issue_user_cert(key.public_key(), &expired, 3).unwrap();
        let config = Arc::new(client::Config::default());
        let mut handle = client::connect(config, h.addr, TestClient).await.unwrap();
        let auth = handle.authenticate_openssh_cert(&login, Arc::new(key.clone()), cert).await.unwrap();
        assert!(!auth.success());
        let _ = handle.disconnect(Disconnect::ByApplication, "", "").await;
        drop(handle);
        h.refusal("refused_by_ssh_library").await;

        // No session ever started.
        assert!(h.events("session.start").is_empty());
        h.stop().await;
    }

    #[test]
    fn certificate_checks_directly() {
        // The same checks without the network, including the cases russh filters first.
        let ca = SshCa::generate().unwrap();
        let login = me();
        let trust = TestTrust {
            cas: vec![(CLUSTER.to_string(), ca.public_key().clone())],
            roles: vec![role("dev", &[&login], "test", RoleOptions::default())],
            labels: Labels::from([("env".to_string(), "test".to_string())]),
            events: Mutex::new(Vec::new()),
        };
        let key = generate_ed25519_key().unwrap();
        let ok = ca.issue_user_cert(key.public_key(), &identity(&["dev"], &[&login]), 1).unwrap();
        let authed = check_certificate(&trust, &login, &ok).unwrap();
        assert_eq!((authed.ca_cluster.as_str(), authed.roles.as_slice()), (CLUSTER, &["dev".to_string()][..]));

        let now = OffsetDateTime::now_utc();
        let mut expired = identity(&["dev"], &[&login]);
        expired.valid_after = now - time::Duration::hours(2);
        expired.valid_before = now - time::Duration::hours(1);
        let cert = ca.issue_user_cert(key.public_key(), &expired, 2).unwrap();
        assert_eq!(check_certificate(&trust, &login, &cert).err().map(|e| e.kind()), Some("expired"));

        let mut elsewhere = identity(&["dev"], &[&login]);
        elsewhere.cluster = "leaf".into();
        let cert = ca.issue_user_cert(key.public_key(), &elsewhere, 3).unwrap();
        assert_eq!(check_certificate(&trust, &login, &cert).err().map(|e| e.kind()), Some("cluster_mismatch"));

        // No trusted CA at all.
        let empty = TestTrust { cas: vec![], ..trust };
        assert_eq!(check_certificate(&empty, &login, &ok).err().map(|e| e.kind()), Some("untrusted_ca"));
    }

    #[tokio::test]
    async fn agent_forwarding_when_roles_allow_it() {
        let h = Harness::start().await;
        let client = h.login().await;
        let mut channel = client.channel_open_session().await.unwrap();
        channel.agent_forward(true).await.unwrap();
        channel.exec(true, "test -S \"$SSH_AUTH_SOCK\" && ssh-add -l; echo rc=$?").await.unwrap();
        let ran = collect(&mut channel).await;
        assert!(ran.out().contains("no identities"), "{ran:?} {}", ran.err());
        assert!(ran.out().ends_with("rc=1\n"), "{ran:?}");

        // A role without forward_agent: refused, no socket.
        let login = me();
        let client = h.connect(&["no-fwd"], &[&login], &login).await.unwrap();
        let mut channel = client.channel_open_session().await.unwrap();
        channel.agent_forward(true).await.unwrap();
        channel.exec(true, "echo \"[$SSH_AUTH_SOCK]\"").await.unwrap();
        let mut refused = false;
        let mut out = Vec::new();
        loop {
            match tokio::time::timeout(WAIT, channel.wait()).await.unwrap() {
                Some(ChannelMsg::Failure) => refused = true,
                Some(ChannelMsg::Data { data }) => out.extend_from_slice(&data),
                None | Some(ChannelMsg::Close) => break,
                Some(_) => {}
            }
        }
        assert!(refused);
        assert_eq!(String::from_utf8_lossy(&out), "[]\n");
        h.stop().await;
    }

    #[tokio::test]
    async fn port_forwarding_follows_the_roles() {
        let h = Harness::start().await;
        let echo = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = echo.local_addr().unwrap().port();
        let echo_task = tokio::spawn(async move {
            while let Ok((mut s, _)) = echo.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        let client = h.login().await;
        let channel = client.channel_open_direct_tcpip("127.0.0.1", port.into(), "127.0.0.1", 5555).await.unwrap();
        let mut stream = channel.into_stream();
        stream.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        tokio::time::timeout(WAIT, stream.read_exact(&mut buf)).await.unwrap().unwrap();
        assert_eq!(&buf, b"ping");
        assert_eq!(h.events("port").len(), 1);

        // Forwards count against the connection's channel cap.
        let mut held = vec![stream];
        for _ in 1..MAX_CHANNELS_PER_CONNECTION {
            let ch = client.channel_open_direct_tcpip("127.0.0.1", port.into(), "127.0.0.1", 5555).await.unwrap();
            held.push(ch.into_stream());
        }
        assert!(
            client.channel_open_direct_tcpip("127.0.0.1", port.into(), "127.0.0.1", 5555).await.is_err(),
            "forward {} past the cap was accepted",
            MAX_CHANNELS_PER_CONNECTION + 1
        );
        assert!(client.channel_open_session().await.is_err(), "a session past the cap was accepted");
        drop(held);

        let login = me();
        let denied = h.connect(&["no-fwd"], &[&login], &login).await.unwrap();
        assert!(denied.channel_open_direct_tcpip("127.0.0.1", port.into(), "127.0.0.1", 5555).await.is_err());
        echo_task.abort();
        h.stop().await;
    }

    #[tokio::test]
    async fn remote_forwards_listen_on_loopback_and_count() {
        let h = Harness::start().await;
        let client = h.login().await;
        // Port 0: the node picks one and says which; it listens on loopback whatever was asked.
        let port = client.tcpip_forward("0.0.0.0", 0).await.unwrap();
        let port = u16::try_from(port).unwrap();
        assert_ne!(port, 0);
        let read = |port: u16| async move {
            let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            let mut got = String::new();
            tokio::time::timeout(WAIT, s.read_to_string(&mut got)).await.unwrap().unwrap();
            got
        };
        assert_eq!(read(port).await, format!("forwarded:0.0.0.0:{port}"));
        let remote: Vec<_> = h.events("port").into_iter().filter(|e| e.4["forward"] == "remote").collect();
        assert_eq!(remote.len(), 1);
        assert_eq!(
            (remote[0].1.as_str(), remote[0].4["listen"].as_str()),
            ("T3003I", Some(&*format!("127.0.0.1:{port}")))
        );

        // The listener counts against the cap: 9 more channels fill it (once the forwarded
        // connection above has wound down on the node).
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut held = Vec::new();
        for _ in 1..MAX_CHANNELS_PER_CONNECTION {
            held.push(client.channel_open_session().await.unwrap());
        }
        assert!(client.channel_open_session().await.is_err(), "a channel past the cap was accepted");
        assert!(client.tcpip_forward("localhost", 0).await.is_err(), "a listener past the cap was accepted");
        assert_eq!(read(port).await, "", "a forwarded connection past the cap is closed");
        for channel in held {
            channel.close().await.unwrap();
        }

        // Cancelled: the port closes; an unknown forward cannot be cancelled.
        client.cancel_tcpip_forward("0.0.0.0", u32::from(port)).await.unwrap();
        let deadline = std::time::Instant::now() + WAIT;
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            assert!(std::time::Instant::now() < deadline, "still listening after cancel");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(client.cancel_tcpip_forward("0.0.0.0", u32::from(port)).await.is_err());

        // A fixed port, then the connection ends: the listener goes with it.
        let fixed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
        assert_eq!(client.tcpip_forward("localhost", u32::from(fixed)).await.unwrap(), 0, "no port in the reply");
        assert_eq!(read(fixed).await, format!("forwarded:localhost:{fixed}"));
        drop(client);
        while tokio::net::TcpStream::connect(("127.0.0.1", fixed)).await.is_ok() {
            assert!(std::time::Instant::now() < deadline, "still listening after the connection ended");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }

        // Roles that turn port forwarding off: refused, and audited with the reason.
        let login = me();
        let denied = h.connect(&["no-fwd"], &[&login], &login).await.unwrap();
        assert!(denied.tcpip_forward("localhost", 0).await.is_err());
        let refused: Vec<String> = h
            .events("port")
            .into_iter()
            .filter(|e| e.1 == "T3003E")
            .map(|e| e.4["error"].as_str().unwrap_or_default().to_string())
            .collect();
        let cap = format!("{MAX_CHANNELS_PER_CONNECTION} channels and forwards already open");
        assert_eq!(refused, vec![cap, "port forwarding is not allowed by your roles".to_string()]);
        h.stop().await;
    }

    #[tokio::test]
    async fn shutdown_stops_running_sessions() {
        let h = Harness::start().await;
        let client = h.login().await;
        let mut channel = client.channel_open_session().await.unwrap();
        // A unique command line, so the check below finds only this test's process.
        let marker = format!("sleep 6{}.25", std::process::id() % 1000);
        channel.exec(true, marker.as_str()).await.unwrap();
        let running =
            || std::process::Command::new("pgrep").args(["-f", &marker]).output().is_ok_and(|o| o.status.success());
        let deadline = std::time::Instant::now() + WAIT;
        while !running() {
            assert!(std::time::Instant::now() < deadline, "the session never started");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let begun = std::time::Instant::now();
        h.stop().await;
        assert!(begun.elapsed() < Duration::from_secs(8));
        // The client sees the connection go, and the process is gone.
        tokio::time::timeout(WAIT, async { while channel.wait().await.is_some() {} }).await.unwrap();
        while running() {
            assert!(std::time::Instant::now() < deadline, "the session's process outlived the server");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
