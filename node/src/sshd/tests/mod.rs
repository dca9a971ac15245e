//! The server end to end over loopback: a real listener and [`serve`], russh clients, and
//! processes run as the login (the user running the tests; root in CI). The fixtures here are
//! shared with the unit tests of `policy.rs`.
//!
//! `session.rs`: exec, shell, PTY, signals, environment, running as the login, shutdown.
//! `auth.rs`: refusals, audited with distinct kinds. `forward.rs`: agent and port forwarding.

mod auth;
mod forward;
mod session;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::keys::{Certificate, PrivateKey, PublicKey, PublicKeyOrCertificate};
use russh::{Channel, ChannelMsg, Sig, client};
use tether_audit::{Event, Outcome};
use tether_shared::identity::Identity;
use tether_shared::labels::{LabelSelectors, Labels};
use tether_shared::resource::{Role, RoleConditions, RoleOptions, RoleSpec};
use tether_shared::ssh_cert::{HostIdentity, SshCa, generate_ed25519_key};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

use super::{NoRoles, NodeTrust, SshdConfig, serve};
use tether_edge::listen::Listener;

/// The node's cluster, and the one the test certificates name.
pub(super) const CLUSTER: &str = "main";
/// How long any one step may take before a test fails.
const WAIT: Duration = Duration::from_secs(20);

/// An audited event: name, code, user, success, details.
pub(super) type Recorded = (String, String, String, bool, serde_json::Value);

/// What the node trusts, fixed at construction; audited events are kept in `events`.
pub(super) struct TestTrust {
    pub(super) cas: Vec<(String, PublicKey)>,
    pub(super) roles: Vec<Role>,
    pub(super) labels: Labels,
    pub(super) events: Mutex<Vec<Recorded>>,
}

impl NodeTrust for TestTrust {
    fn user_cas(&self) -> Vec<(String, PublicKey)> {
        self.cas.clone()
    }
    fn cluster(&self) -> &str {
        CLUSTER
    }
    fn roles_for(&self, identity: &Identity, _ca_cluster: &str) -> Result<Vec<Role>, NoRoles> {
        let roles: Vec<Role> =
            self.roles.iter().filter(|r| identity.roles.contains(&r.metadata.name)).cloned().collect();
        if roles.is_empty() {
            return Err(NoRoles::Missing(identity.roles.clone()));
        }
        Ok(roles)
    }
    fn labels(&self) -> Labels {
        self.labels.clone()
    }
    fn audit(&self, event: Event, outcome: Outcome, user: &str, details: serde_json::Value) {
        let undeclared = event.spec().undeclared(&details);
        assert!(undeclared.is_empty(), "{}: undeclared fields {undeclared:?}", event.name());
        let code = event.code(outcome).to_string();
        self.events.lock().unwrap().push((event.name().into(), code, user.into(), outcome.is_success(), details));
    }
}

/// The login the tests use: the user running them (root here and in CI).
pub(super) fn me() -> String {
    nix::unistd::User::from_uid(nix::unistd::geteuid()).unwrap().unwrap().name
}

/// A role allowing `logins` on nodes whose `env` label is `env`.
pub(super) fn role(name: &str, logins: &[&str], env: &str, options: RoleOptions) -> Role {
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

/// Alice of [`CLUSTER`], valid for the next hour, with every `permit-*` flag.
pub(super) fn identity(roles: &[&str], logins: &[&str]) -> Identity {
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
    /// The descriptions of every channel-open refusal the test clients received.
    refusals: Arc<Mutex<Vec<String>>>,
}

/// The port forwards one connection may hold in these tests (the default, 256, is for real use).
pub(super) const TEST_MAX_FORWARDS: usize = 12;

impl Harness {
    async fn start() -> Harness {
        let login = me();
        let ca = SshCa::generate().unwrap();
        let full = RoleOptions { forward_agent: Some(true), ..RoleOptions::default() };
        let roles = vec![
            role("dev", &[&login, "nosuchuser"], "test", full),
            role("prod-only", &[&login], "prod", RoleOptions::default()),
            role("other-login", &["nobody-else"], "test", RoleOptions::default()),
            role("no-fwd", &[&login], "test", RoleOptions { port_forwarding: Some(false), ..RoleOptions::default() }),
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
        let limits = tether_edge::limits::ConnectionLimits {
            max_forwards_per_connection: TEST_MAX_FORWARDS,
            ..tether_edge::limits::ConnectionLimits::default()
        };
        let mut config = SshdConfig::new(host_key, host_cert, "node1".into(), limits.clone());
        config.auth_rejection_time = Duration::from_millis(10);
        let listener_limits = tether_edge::listen::Limits {
            login_grace_time: Duration::from_secs(3),
            shutdown_grace: Duration::from_secs(1),
            ..limits.listener
        };
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let listener = Listener::new(tcp, "node test", listener_limits);
        let (shutdown, rx) = watch::channel(false);
        let server = tokio::spawn(serve(listener, config, trust.clone(), rx));
        Harness { addr, ca, trust, shutdown, server, refusals: Arc::default() }
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
        let client = TestClient { refusals: self.refusals.clone() };
        let mut handle = client::connect(config, self.addr, client).await.unwrap();
        let result = handle.authenticate_openssh_cert(login, Arc::new(key.clone()), cert).await.unwrap();
        if result.success() { Ok(handle) } else { Err(()) }
    }

    async fn connect(&self, roles: &[&str], logins: &[&str], login: &str) -> Result<client::Handle<TestClient>, ()> {
        let key = generate_ed25519_key().unwrap();
        let cert = self.ca.issue_user_cert(key.public_key(), &identity(roles, logins), 1).unwrap();
        self.connect_with(login, &key, cert).await
    }

    async fn login(&self) -> client::Handle<TestClient> {
        let login = me();
        self.connect(&["dev"], &[&login], &login).await.expect("authentication should succeed")
    }

    /// The last channel-open refusal's description.
    fn last_refusal(&self) -> String {
        self.refusals.lock().unwrap().last().cloned().unwrap_or_default()
    }

    fn events(&self, name: &str) -> Vec<Recorded> {
        self.trust.events.lock().unwrap().iter().filter(|e| e.0 == name).cloned().collect()
    }

    /// Waits until an `auth.failure` of `kind` is audited, and returns it.
    async fn refusal(&self, kind: &str) -> Recorded {
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

struct TestClient {
    refusals: Arc<Mutex<Vec<String>>>,
}

impl client::Handler for TestClient {
    type Error = russh::Error;

    async fn channel_open_failure(
        &mut self,
        _channel: russh::ChannelId,
        _reason: russh::ChannelOpenFailure,
        description: &str,
        _language: &str,
        _session: &mut client::Session,
    ) -> Result<(), Self::Error> {
        self.refusals.lock().unwrap().push(description.to_string());
        Ok(())
    }

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
