//! The daemon's configuration file, `tether.yaml`, written with the key names of Teleport's
//! `teleport.yaml` (`teleport`, `auth_service`, `proxy_service`, `ssh_service`).
//!
//! Reading is strict: an unknown key, a wrong type or an invalid value is one [`ConfigError`] that
//! names the file, line, column and key path, e.g. `tether.yaml:12:3: proxy_service.web_listen:
//! unknown field `web_listen` (known fields: ...)`. Values are checked where they are written
//! (addresses, severities, storage types, static tokens); checks that span several keys run after
//! reading and point at the key they concern.
//!
//! What is read becomes a resolved [`Config`]: every default applied, listen addresses parsed into
//! [`SocketAddr`]s (`:3025` means `0.0.0.0:3025`), relative file paths (`storage.path`, a log file,
//! HTTPS key pairs) joined to `data_dir`. Each service is an `Option`: `None` means the service
//! does not run. A service section present in the file runs unless it says `enabled: false`; a
//! section absent from the file does not run, except that a file with no service section at all
//! runs all three (so an empty file, like no file, gives a whole cluster on one host).
//! [`Config::default_all_in_one`] is the configuration used when there is no file at all: the three
//! services on 127.0.0.1 with SQLite storage.

// The daemon wires this module in next; until then parts of the API are unused.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use tether_shared::names::{validate_cluster_name, validate_name};

/// Default port of the auth service's API.
pub const AUTH_PORT: u16 = 3025;
/// Default port of the proxy's HTTPS web API.
pub const WEB_PORT: u16 = 3080;
/// Default port of the proxy's SSH listener for users.
pub const PROXY_SSH_PORT: u16 = 3023;
/// Default port of the proxy's reverse-tunnel listener.
pub const TUNNEL_PORT: u16 = 3024;
/// Default port of a node's SSH server.
pub const SSH_PORT: u16 = 3022;
/// Default data directory.
pub const DEFAULT_DATA_DIR: &str = "./tether-data";
/// Default SQLite database file name, under the data directory.
pub const DEFAULT_SQLITE_FILE: &str = "backend.db";

/// The daemon's resolved configuration: defaults applied, addresses parsed, paths joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The config file's `version` (`v1`, `v2` or `v3`; `v3` when not written).
    pub version: String,
    /// This host's name in the cluster (`teleport.nodename`; default: the machine's host name).
    pub nodename: String,
    /// Where the daemon keeps its state (`teleport.data_dir`; default `./tether-data`).
    pub data_dir: PathBuf,
    /// The join token presented to a remote auth service (`teleport.auth_token`).
    pub auth_token: Option<String>,
    /// The remote auth service to join, `host:port` (`teleport.auth_server`, or the first of
    /// `teleport.auth_servers`).
    pub auth_server: Option<String>,
    /// The proxy to join through, `host:port` (`teleport.proxy_server`).
    pub proxy_server: Option<String>,
    /// Where logs go and how much is logged (`teleport.log`).
    pub log: LogConfig,
    /// The storage backend (`teleport.storage`).
    pub storage: StorageConfig,
    /// The auth service, when it runs here.
    pub auth: Option<AuthConfig>,
    /// The proxy service, when it runs here.
    pub proxy: Option<ProxyConfig>,
    /// The SSH (node) service, when it runs here.
    pub ssh: Option<SshConfig>,
    /// Accept self-signed HTTPS certificates of remote clusters (`--insecure`; not in the file).
    pub insecure: bool,
    /// The limits of every listener (`teleport.connection_limits`).
    pub limits: ConnectionLimits,
    /// The audit log's size, rotation and queue (`teleport.audit`).
    pub audit: crate::audit::AuditConfig,
}

/// The network edge's limits (`teleport.connection_limits`); see `listen.rs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// The SSH listeners' limits (relay, tunnel, node); the web API's differ only in their
    /// pre-authentication deadline, [`ConnectionLimits::web_request_timeout`].
    pub listener: crate::listen::Limits,
    /// Web API: the TLS handshake and each request head must arrive within this; an idle
    /// keep-alive connection is closed after it.
    pub web_request_timeout: Duration,
    /// Web API: requests one source address may have in flight at once.
    pub max_requests_per_source: usize,
    /// Web API: unauthenticated endpoints (login, invites, trusted-cluster validation) allow
    /// this many requests per second per source address…
    pub unauthenticated_rate: u32,
    /// …with bursts of this many.
    pub unauthenticated_burst: u32,
    /// SSH: after this much silence the server sends a keepalive (`None`: never).
    pub client_alive_interval: Option<Duration>,
    /// SSH: unanswered keepalives before the connection is closed.
    pub client_alive_count_max: usize,
    /// SSH: an authenticated connection from which nothing arrives for this long is closed
    /// (`None`: never; the default, so interactive sessions are not cut).
    pub idle_timeout: Option<Duration>,
    /// Leaf tunnel agents replace a tunnel connection after it carried this many transports.
    pub tunnel_recycle_after: u64,
}

/// Default of [`ConnectionLimits::web_request_timeout`].
pub const DEFAULT_WEB_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Default of [`ConnectionLimits::max_requests_per_source`].
pub const DEFAULT_MAX_REQUESTS_PER_SOURCE: usize = 64;
/// Default of [`ConnectionLimits::unauthenticated_rate`].
pub const DEFAULT_UNAUTHENTICATED_RATE: u32 = 5;
/// Default of [`ConnectionLimits::unauthenticated_burst`].
pub const DEFAULT_UNAUTHENTICATED_BURST: u32 = 20;
/// Default of [`ConnectionLimits::client_alive_interval`].
pub const DEFAULT_CLIENT_ALIVE_INTERVAL: Duration = Duration::from_secs(30);
/// Default of [`ConnectionLimits::client_alive_count_max`].
pub const DEFAULT_CLIENT_ALIVE_COUNT_MAX: usize = 3;

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            listener: crate::listen::Limits::default(),
            web_request_timeout: DEFAULT_WEB_REQUEST_TIMEOUT,
            max_requests_per_source: DEFAULT_MAX_REQUESTS_PER_SOURCE,
            unauthenticated_rate: DEFAULT_UNAUTHENTICATED_RATE,
            unauthenticated_burst: DEFAULT_UNAUTHENTICATED_BURST,
            client_alive_interval: Some(DEFAULT_CLIENT_ALIVE_INTERVAL),
            client_alive_count_max: DEFAULT_CLIENT_ALIVE_COUNT_MAX,
            idle_timeout: None,
            tunnel_recycle_after: crate::tunnel::agent::RECYCLE_AFTER,
        }
    }
}

impl ConnectionLimits {
    /// The web API listener's limits.
    pub fn web_listener(&self) -> crate::listen::Limits {
        crate::listen::Limits { login_grace_time: self.web_request_timeout, ..self.listener.clone() }
    }
}

/// Logging settings (`teleport.log`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// Where log lines go.
    pub output: LogOutput,
    /// The least severe level logged.
    pub severity: Severity,
}

/// Where log lines go (`teleport.log.output`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogOutput {
    /// Standard error (the default).
    Stderr,
    /// Standard output.
    Stdout,
    /// A file, appended to (a relative path is under `data_dir`).
    File(PathBuf),
}

/// A log level (`teleport.log.severity`: `DEBUG`, `INFO`, `WARN` or `ERROR`, any case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Everything, for troubleshooting.
    Debug,
    /// Normal operation (the default).
    Info,
    /// Problems that do not stop the service.
    Warn,
    /// Failures only.
    Error,
}

impl Severity {
    /// The level as a `tracing` filter directive (`debug`, `info`, `warn`, `error`).
    pub fn as_filter(self) -> &'static str {
        match self {
            Severity::Debug => "debug",
            Severity::Info => "info",
            Severity::Warn => "warn",
            Severity::Error => "error",
        }
    }
}

impl FromConfigStr for Severity {
    fn from_config_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_uppercase().as_str() {
            "DEBUG" => Ok(Severity::Debug),
            "INFO" => Ok(Severity::Info),
            "WARN" | "WARNING" => Ok(Severity::Warn),
            "ERROR" => Ok(Severity::Error),
            _ => Err(format!("unknown severity {s:?}, expected DEBUG, INFO, WARN or ERROR")),
        }
    }
}

/// The storage backend (`teleport.storage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageConfig {
    /// Embedded SQLite (`type: sqlite`, the default), for one host.
    Sqlite {
        /// The database file (`path`; default `data_dir/backend.db`).
        path: PathBuf,
    },
    /// PostgreSQL (`type: postgresql`), for several auth/proxy hosts sharing state.
    Postgres {
        /// The connection string (`conn_string`, required).
        conn_string: String,
    },
}

/// The auth service (`auth_service`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// The cluster's name (`cluster_name`; default: the nodename).
    pub cluster_name: String,
    /// Where the auth API listens (`listen_addr`; default `0.0.0.0:3025`).
    pub listen_addr: SocketAddr,
    /// Static join tokens (`tokens: ["node:SECRET", ...]`).
    pub tokens: Vec<StaticToken>,
    /// The second factor required at login (`authentication.second_factor`; default off).
    pub second_factor: SecondFactor,
    /// How often leaf tunnels heartbeat (`keep_alive_interval`; default 5s).
    pub keep_alive_interval: Duration,
    /// Missed heartbeats before a leaf is offline (`keep_alive_count_max`; default 3).
    pub keep_alive_count_max: u32,
    /// The longest a certificate bound to a leaf lives (`leaf_cert_ttl`; default 1h).
    pub leaf_cert_ttl: Duration,
}

impl AuthConfig {
    /// The silence after which a leaf's tunnel is dropped and the leaf shows `offline`.
    pub fn offline_window(&self) -> Duration {
        self.keep_alive_interval * self.keep_alive_count_max
    }
}

/// Default heartbeat interval of leaf tunnels.
pub const DEFAULT_KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(5);
/// Default number of missed heartbeats before a leaf is offline.
pub const DEFAULT_KEEP_ALIVE_COUNT_MAX: u32 = 3;

/// A static join token, written `TYPE:TOKEN` in `auth_service.tokens`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticToken {
    /// What the token lets join.
    pub kind: TokenKind,
    /// The secret.
    pub token: String,
}

impl FromConfigStr for StaticToken {
    fn from_config_str(s: &str) -> Result<Self, String> {
        let Some((kind, token)) = s.split_once(':') else {
            return Err(format!("static token {s:?} must be written TYPE:TOKEN (TYPE node or trusted_cluster)"));
        };
        let kind = match kind {
            "node" => TokenKind::Node,
            "trusted_cluster" => TokenKind::TrustedCluster,
            other => {
                return Err(format!("static token type {other:?} is not known, expected node or trusted_cluster"));
            }
        };
        if token.is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("static token {s:?}: the token after ':' must be non-empty, without spaces"));
        }
        Ok(StaticToken { kind, token: token.to_string() })
    }
}

/// The type of a static join token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Lets an SSH node join (`node:`).
    Node,
    /// Lets a leaf cluster establish trust (`trusted_cluster:`).
    TrustedCluster,
}

/// The second factor required at login (`auth_service.authentication.second_factor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecondFactor {
    /// Password only (the default).
    #[default]
    Off,
    /// Password and a TOTP code.
    Otp,
}

impl SecondFactor {
    /// The value as written in the config file and reported by `/webapi/ping` (`off`, `otp`).
    pub fn as_str(self) -> &'static str {
        match self {
            SecondFactor::Off => "off",
            SecondFactor::Otp => "otp",
        }
    }
}

impl FromConfigStr for SecondFactor {
    fn from_config_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "off" | "false" => Ok(SecondFactor::Off),
            "otp" => Ok(SecondFactor::Otp),
            _ => Err(format!("unknown second_factor {s:?}, expected off or otp")),
        }
    }
}

/// The proxy service (`proxy_service`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    /// The HTTPS web API (`web_listen_addr`; default `0.0.0.0:3080`).
    pub web_listen_addr: SocketAddr,
    /// The SSH proxy for users (`listen_addr`; default `0.0.0.0:3023`).
    pub listen_addr: SocketAddr,
    /// The reverse-tunnel listener (`tunnel_listen_addr`; default `0.0.0.0:3024`).
    pub tunnel_listen_addr: SocketAddr,
    /// Public `host:port` names of the web API (`public_addr`).
    pub public_addr: Vec<String>,
    /// Public `host:port` names of the SSH proxy (`ssh_public_addr`).
    pub ssh_public_addr: Vec<String>,
    /// Public `host:port` names of the tunnel listener (`tunnel_public_addr`).
    pub tunnel_public_addr: Vec<String>,
    /// HTTPS certificates of the web API (`https_keypairs`); empty means self-signed.
    pub https_keypairs: Vec<KeyPair>,
}

/// A PEM key and certificate file pair (`proxy_service.https_keypairs[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPair {
    /// The private key file.
    pub key_file: PathBuf,
    /// The certificate chain file.
    pub cert_file: PathBuf,
}

/// The SSH (node) service (`ssh_service`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshConfig {
    /// Where the SSH server listens (`listen_addr`; default `0.0.0.0:3022`).
    pub listen_addr: SocketAddr,
    /// Static labels of this node (`labels`).
    pub labels: BTreeMap<String, String>,
}

/// Why the configuration could not be loaded. Its `Display` is one line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read the config file: {error}")]
    Read {
        /// The path as given.
        file: String,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The file was read but is not a valid configuration.
    #[error("{0}")]
    Invalid(InvalidConfig),
}

impl ConfigError {
    /// True when the file does not exist (the daemon then falls back to
    /// [`Config::default_all_in_one`]).
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn is_not_found(&self) -> bool {
        matches!(self, ConfigError::Read { error, .. } if error.kind() == std::io::ErrorKind::NotFound)
    }
}

/// The first problem found in a config file, with where it is: the same shape and one-line
/// form (`file:line:column: key.path: message`) as resource errors.
pub type InvalidConfig = tether_shared::resource::ParseError;

/// Reads and resolves the config file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read { file: file.clone(), error })?;
    parse(&file, &text)
}

/// Parses and resolves config `text`; `file_name` names it in error messages.
pub fn parse(file_name: &str, text: &str) -> Result<Config, ConfigError> {
    let de = serde_yaml_ng::Deserializer::from_str(text);
    let raw: Option<RawFile> = serde_path_to_error::deserialize(de).map_err(|e| {
        // serde_path_to_error writes `?` for a key it could not read as a name.
        let path = e.path().to_string();
        let path = path.trim_end_matches('?').trim_end_matches('.');
        let path = if path == "." { String::new() } else { path.to_string() };
        let inner = e.into_inner();
        let (line, column) = inner.location().map_or((None, None), |l| (Some(l.line()), Some(l.column())));
        ConfigError::Invalid(InvalidConfig {
            file: file_name.to_string(),
            line,
            column,
            path,
            message: clean_message(&inner.to_string()),
        })
    })?;
    Resolver { file: file_name, text }.resolve(raw.unwrap_or_default())
}

impl Config {
    /// The configuration used when there is no config file: auth, proxy and ssh on 127.0.0.1
    /// (ports 3025; 3080, 3023, 3024; 3022), SQLite in `data_dir/backend.db`, data in `data_dir`
    /// (default `./tether-data`), the cluster named after this host.
    pub fn default_all_in_one(data_dir: Option<PathBuf>) -> Config {
        let data_dir = data_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let nodename = hostname();
        let local = |port| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
        Config {
            version: "v3".into(),
            storage: StorageConfig::Sqlite { path: data_dir.join(DEFAULT_SQLITE_FILE) },
            auth: Some(AuthConfig {
                cluster_name: nodename.clone(),
                listen_addr: local(AUTH_PORT),
                tokens: Vec::new(),
                second_factor: SecondFactor::Off,
                keep_alive_interval: DEFAULT_KEEP_ALIVE_INTERVAL,
                keep_alive_count_max: DEFAULT_KEEP_ALIVE_COUNT_MAX,
                leaf_cert_ttl: crate::auth::LEAF_CERT_TTL,
            }),
            proxy: Some(ProxyConfig {
                web_listen_addr: local(WEB_PORT),
                listen_addr: local(PROXY_SSH_PORT),
                tunnel_listen_addr: local(TUNNEL_PORT),
                public_addr: Vec::new(),
                ssh_public_addr: Vec::new(),
                tunnel_public_addr: Vec::new(),
                https_keypairs: Vec::new(),
            }),
            ssh: Some(SshConfig { listen_addr: local(SSH_PORT), labels: BTreeMap::new() }),
            nodename,
            data_dir,
            auth_token: None,
            auth_server: None,
            proxy_server: None,
            log: LogConfig { output: LogOutput::Stderr, severity: Severity::Info },
            insecure: false,
            limits: ConnectionLimits::default(),
            audit: crate::audit::AuditConfig::default(),
        }
    }

    /// Applies the command line: `data_dir` replaces the data directory (paths that were under
    /// the old one move with it), `debug` sets the severity to DEBUG, `insecure` sets
    /// [`Config::insecure`].
    pub fn with_overrides(mut self, data_dir: Option<PathBuf>, debug: bool, insecure: bool) -> Config {
        if let Some(new) = data_dir {
            let old = std::mem::replace(&mut self.data_dir, new);
            let new = self.data_dir.clone();
            if let StorageConfig::Sqlite { path } = &mut self.storage {
                rebase(path, &old, &new);
            }
            if let LogOutput::File(path) = &mut self.log.output {
                rebase(path, &old, &new);
            }
            if let Some(proxy) = &mut self.proxy {
                for pair in &mut proxy.https_keypairs {
                    rebase(&mut pair.key_file, &old, &new);
                    rebase(&mut pair.cert_file, &old, &new);
                }
            }
        }
        if debug {
            self.log.severity = Severity::Debug;
        }
        self.insecure |= insecure;
        self
    }
}

/// `teleport.connection_limits` with the defaults filled in.
fn resolve_limits(raw: RawLimits) -> ConnectionLimits {
    let d = ConnectionLimits::default();
    let l = d.listener.clone();
    ConnectionLimits {
        listener: crate::listen::Limits {
            max_connections: raw.max_connections.map_or(l.max_connections, |c| c.0),
            max_unauthenticated_per_source: raw
                .max_unauthenticated_per_source
                .map_or(l.max_unauthenticated_per_source, |c| c.0),
            max_startups: raw.max_startups.map_or(l.max_startups, |m| m.0),
            login_grace_time: raw.login_grace_time.map_or(l.login_grace_time, |t| t.0),
            shutdown_grace: raw.shutdown_grace.map_or(l.shutdown_grace, |t| t.0.unwrap_or_default()),
        },
        web_request_timeout: raw.web_request_timeout.map_or(d.web_request_timeout, |t| t.0),
        max_requests_per_source: raw.max_requests_per_source.map_or(d.max_requests_per_source, |c| c.0),
        unauthenticated_rate: raw.unauthenticated_rate.map_or(d.unauthenticated_rate, |c| c.0 as u32),
        unauthenticated_burst: raw.unauthenticated_burst.map_or(d.unauthenticated_burst, |c| c.0 as u32),
        client_alive_interval: raw.client_alive_interval.map_or(d.client_alive_interval, |t| t.0),
        client_alive_count_max: raw.client_alive_count_max.map_or(d.client_alive_count_max, |c| c.0),
        idle_timeout: raw.idle_timeout.map_or(d.idle_timeout, |t| t.0),
        tunnel_recycle_after: raw.tunnel_recycle_after.map_or(d.tunnel_recycle_after, |c| c.0 as u64),
    }
}

/// Moves `path` from under `old` to under `new`, when it is under `old`.
fn rebase(path: &mut PathBuf, old: &Path, new: &Path) {
    if let Ok(rest) = path.strip_prefix(old) {
        *path = if rest.as_os_str().is_empty() { new.to_path_buf() } else { new.join(rest) };
    }
}

/// This machine's host name: `/proc/sys/kernel/hostname`, else `$HOSTNAME`, else `localhost`.
fn hostname() -> String {
    let usable = |s: String| {
        let s = s.trim().to_string();
        validate_name(&s).is_ok().then_some(s)
    };
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .and_then(usable)
        .or_else(|| std::env::var("HOSTNAME").ok().and_then(usable))
        .unwrap_or_else(|| "localhost".to_string())
}

/// The commented sample config printed by `tether configure`. Every key is shown; the values
/// written are the defaults, and lines starting with `#key:` (no space after `#`) are optional
/// keys with an example value.
pub fn sample_config() -> &'static str {
    SAMPLE
}

const SAMPLE: &str = r##"# tether.yaml: the configuration of the tether daemon, with the key names of Teleport's
# teleport.yaml. Every key is optional: the values written below are the defaults, and lines
# starting with "#key:" show an optional key with an example value (remove the "#" to use it).
# Unknown keys are errors.

# version: v1, v2 or v3; all three mean the same to tether.
version: v3

teleport:
  # nodename: this host's name in the cluster. Default: the machine's host name.
  #nodename: host1
  # data_dir: where the daemon keeps its state (keys, certificates, the SQLite database).
  # `tether start --data-dir DIR` overrides it.
  data_dir: ./tether-data
  # auth_token: the join token a node or proxy presents to a remote auth service
  # (from `tctl tokens add --type=node`).
  #auth_token: 0123456789abcdef0123456789abcdef
  # auth_server: the remote auth service (host:port) a node or proxy joins when this host runs
  # no auth_service. A list `auth_servers: [host:port, ...]` is accepted instead; the first is used.
  #auth_server: auth.example.com:3025
  # proxy_server: a node may join through the proxy's web address (host:port) instead.
  #proxy_server: proxy.example.com:3080
  log:
    # output: stderr, stdout or a file path (a relative path is under data_dir).
    output: stderr
    # severity: DEBUG, INFO, WARN or ERROR. `tether start --debug` sets DEBUG.
    severity: INFO
  storage:
    # type: sqlite (embedded, one host) or postgresql (several auth/proxy hosts sharing state).
    type: sqlite
    # path: the SQLite database file, for type sqlite only (a relative path is under data_dir).
    path: backend.db
    # conn_string: the PostgreSQL connection string, required with type postgresql and allowed
    # only then, e.g. conn_string: "postgres://tether@db.example.com:5432/tether"
  # audit: the audit log (data_dir/log/events.log): it is rotated to events.log.1 … when it
  # would pass max_file_mb, keeping max_files rotated files; events wait in a queue of
  # queue_capacity for the writer (a full queue makes emitters wait 100 ms, then drops, counts and
  # reports); every string in an event is cut to max_value_bytes (at least 64).
  audit:
    max_file_mb: 64
    max_files: 5
    queue_capacity: 4096
    max_value_bytes: 1024
  # connection_limits: the network edge, for every listener (web API, SSH proxy, tunnel, node).
  # Unauthenticated connections are those that have not logged in yet (for the web API: that
  # presented no client certificate); durations are Go durations, 0s turns a timer off.
  connection_limits:
    # max_connections: connections one listener serves at once; at the cap it stops accepting.
    max_connections: 16384
    # max_unauthenticated_per_source: unauthenticated connections one source address may hold.
    max_unauthenticated_per_source: 64
    # max_startups: START:RATE:FULL, as OpenSSH's MaxStartups: past START unauthenticated
    # connections a new one is refused with probability RATE% rising to 100% at FULL.
    max_startups: "128:30:1024"
    # login_grace_time: SSH listeners close a connection not logged in within this (100ms-1h).
    login_grace_time: 30s
    # web_request_timeout: the web API's TLS handshake and each request head must arrive within
    # this; idle keep-alive connections are closed after it (100ms-1h).
    web_request_timeout: 10s
    # max_requests_per_source: web API requests one source address may have in flight.
    max_requests_per_source: 64
    # unauthenticated_rate, unauthenticated_burst: requests per second (and burst) per source
    # address to the web API's unauthenticated endpoints (login, invites, trusted-cluster
    # validation); more get 429 with Retry-After.
    unauthenticated_rate: 5
    unauthenticated_burst: 20
    # client_alive_interval, client_alive_count_max: SSH keepalives after this much silence;
    # that many unanswered close the connection (OpenSSH's ClientAliveInterval/CountMax).
    client_alive_interval: 30s
    client_alive_count_max: 3
    # idle_timeout: close an SSH connection from which nothing arrives for this long (keepalive
    # answers count). 0s (the default) never does, so interactive sessions are not cut.
    idle_timeout: 0s
    # tunnel_recycle_after: a leaf's tunnel agent replaces its connection to a root proxy after
    # it carried this many sessions (make-before-break; running sessions finish on the old one).
    # This bounds per-connection state the SSH library keeps for closed channels.
    tunnel_recycle_after: 128
    # shutdown_grace: on SIGTERM, how long running sessions may take to finish before they are
    # closed (tunnels get a drain message first).
    shutdown_grace: 30s

# A service section that is present runs unless it says `enabled: false` (true/false or yes/no).
# A section that is absent does not run, except that a file with no service section at all runs
# all three services.
auth_service:
  enabled: true
  # cluster_name: the cluster's name (DNS-like); it cannot change once certificates are issued.
  # Default: the nodename.
  #cluster_name: example.com
  # listen_addr: the auth API (IP:port; ":3025" means 0.0.0.0:3025).
  listen_addr: 0.0.0.0:3025
  # tokens: static join tokens, TYPE:TOKEN with TYPE node or trusted_cluster. They never expire;
  # prefer short-lived tokens from `tctl tokens add`. Default: none.
  #tokens: ["node:0123456789abcdef", "trusted_cluster:fedcba9876543210"]
  authentication:
    # second_factor: off or otp.
    second_factor: off
  # keep_alive_interval: how often leaf clusters' tunnels heartbeat (Go duration, 100ms to 5m);
  # keep_alive_count_max: missed heartbeats before a leaf shows offline and its tunnel is
  # dropped (1 to 100). Defaults 5s and 3: offline within 15s.
  #keep_alive_interval: 5s
  #keep_alive_count_max: 3
  # leaf_cert_ttl: the longest a certificate the root binds to one leaf lives (Go duration, 5s to
  # 24h; never past the user's login). A leaf accepts a root user only with one; a change of a
  # leaf's labels reaches direct paths to it within this time. Default 1h.
  #leaf_cert_ttl: 1h

proxy_service:
  enabled: true
  # web_listen_addr: the HTTPS web API and login (IP:port).
  web_listen_addr: 0.0.0.0:3080
  # listen_addr: the SSH proxy that tsh connects to (IP:port).
  listen_addr: 0.0.0.0:3023
  # tunnel_listen_addr: where leaf clusters' reverse tunnels arrive (IP:port).
  tunnel_listen_addr: 0.0.0.0:3024
  # public_addr, ssh_public_addr, tunnel_public_addr: the host:port names that users and leaf
  # clusters use to reach this proxy; each is one string or a list. Default: none.
  #public_addr: proxy.example.com:3080
  #ssh_public_addr: proxy.example.com:3023
  #tunnel_public_addr: proxy.example.com:3024
  # https_keypairs: PEM key and certificate files for the web API (a relative path is under
  # data_dir). Default: none, and the proxy serves a self-signed certificate.
  #https_keypairs: [{key_file: /etc/tether/web-key.pem, cert_file: /etc/tether/web-cert.pem}]

ssh_service:
  enabled: true
  # listen_addr: this node's SSH server (IP:port).
  listen_addr: 0.0.0.0:3022
  # labels: static labels of this node, matched by roles' node_labels. Default: none.
  #labels: {env: prod, team: ops}
"##;

// ---------------------------------------------------------------------------------------------
// The file as written.

/// A value read from one YAML scalar and checked while it is read, so that an error carries the
/// scalar's own line and column.
trait FromConfigStr: Sized {
    fn from_config_str(s: &str) -> Result<Self, String>;
}

struct StrVisitor<T>(std::marker::PhantomData<T>);

impl<T: FromConfigStr> serde::de::Visitor<'_> for StrVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
        T::from_config_str(v).map_err(E::custom)
    }
}

macro_rules! deserialize_from_str {
    ($($ty:ty),* $(,)?) => {$(
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_str(StrVisitor(std::marker::PhantomData))
            }
        }
    )*};
}

deserialize_from_str!(
    KeepAlive,
    LeafCertTtl,
    RawMaxStartups,
    Timeout,
    OffOrDuration,
    Severity,
    StaticToken,
    SecondFactor,
    RawLogOutput,
    Flag,
    NonEmpty,
    Name,
    ClusterName,
    HostPort,
    ListenAddr
);

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFile {
    version: Option<Version>,
    #[serde(default, deserialize_with = "section")]
    teleport: Option<RawTeleport>,
    #[serde(default, deserialize_with = "section")]
    auth_service: Option<RawAuth>,
    #[serde(default, deserialize_with = "section")]
    proxy_service: Option<RawProxy>,
    #[serde(default, deserialize_with = "section")]
    ssh_service: Option<RawSsh>,
}

/// A present section, even one written with nothing under it (`ssh_service:`).
fn section<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Some(Option::<T>::deserialize(deserializer)?.unwrap_or_default()))
}

#[derive(Deserialize, Clone, Copy)]
enum Version {
    #[serde(rename = "v1")]
    V1,
    #[serde(rename = "v2")]
    V2,
    #[serde(rename = "v3")]
    V3,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTeleport {
    nodename: Option<Name>,
    data_dir: Option<NonEmpty>,
    auth_token: Option<Name>,
    auth_server: Option<HostPort>,
    auth_servers: Option<Vec<HostPort>>,
    proxy_server: Option<HostPort>,
    #[serde(default, deserialize_with = "section")]
    log: Option<RawLog>,
    #[serde(default, deserialize_with = "section")]
    storage: Option<RawStorage>,
    #[serde(default, deserialize_with = "section")]
    connection_limits: Option<RawLimits>,
    #[serde(default, deserialize_with = "section")]
    audit: Option<RawAudit>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    max_file_mb: Option<Count>,
    max_files: Option<Count>,
    queue_capacity: Option<Count>,
    max_value_bytes: Option<Count>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_connections: Option<Count>,
    max_unauthenticated_per_source: Option<Count>,
    max_startups: Option<RawMaxStartups>,
    login_grace_time: Option<Timeout>,
    web_request_timeout: Option<Timeout>,
    shutdown_grace: Option<OffOrDuration>,
    max_requests_per_source: Option<Count>,
    unauthenticated_rate: Option<Count>,
    unauthenticated_burst: Option<Count>,
    client_alive_interval: Option<OffOrDuration>,
    client_alive_count_max: Option<Count>,
    idle_timeout: Option<OffOrDuration>,
    tunnel_recycle_after: Option<Count>,
}

/// A count from 1 to 10,000,000.
struct Count(usize);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let n = u64::deserialize(deserializer)?;
        if !(1..=10_000_000).contains(&n) {
            return Err(serde::de::Error::custom(format!("expected a number from 1 to 10000000, found {n}")));
        }
        Ok(Count(n as usize))
    }
}

/// `max_startups`: `START:RATE:FULL` (OpenSSH's MaxStartups).
struct RawMaxStartups(crate::listen::MaxStartups);

impl FromConfigStr for RawMaxStartups {
    fn from_config_str(s: &str) -> Result<Self, String> {
        crate::listen::MaxStartups::parse(s).map(RawMaxStartups)
    }
}

/// A deadline: a Go duration from 100ms to 1h.
struct Timeout(Duration);

impl FromConfigStr for Timeout {
    fn from_config_str(s: &str) -> Result<Self, String> {
        let d: tether_shared::duration::GoDuration = s.parse().map_err(|e| format!("{e}"))?;
        if d.0 < Duration::from_millis(100) || d.0 > Duration::from_secs(3600) {
            return Err(format!("{s:?} must be between 100ms and 1h"));
        }
        Ok(Timeout(d.0))
    }
}

/// A Go duration up to 24h, where `0s` means off.
struct OffOrDuration(Option<Duration>);

impl FromConfigStr for OffOrDuration {
    fn from_config_str(s: &str) -> Result<Self, String> {
        let d: tether_shared::duration::GoDuration = s.parse().map_err(|e| format!("{e}"))?;
        if d.0 > Duration::from_secs(24 * 3600) {
            return Err(format!("{s:?} must be at most 24h (0s turns it off)"));
        }
        Ok(OffOrDuration((!d.0.is_zero()).then_some(d.0)))
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLog {
    output: Option<RawLogOutput>,
    severity: Option<Severity>,
}

struct RawLogOutput(LogOutput);

impl FromConfigStr for RawLogOutput {
    fn from_config_str(s: &str) -> Result<Self, String> {
        Ok(RawLogOutput(match s {
            "stderr" => LogOutput::Stderr,
            "stdout" => LogOutput::Stdout,
            "syslog" => return Err("syslog output is not supported; write stderr, stdout or a file path".into()),
            "" => return Err("log output cannot be empty; write stderr, stdout or a file path".into()),
            path => LogOutput::File(PathBuf::from(path)),
        }))
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    #[serde(rename = "type")]
    kind: Option<StorageKind>,
    path: Option<NonEmpty>,
    conn_string: Option<NonEmpty>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum StorageKind {
    Sqlite,
    Postgresql,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAuth {
    enabled: Option<Flag>,
    cluster_name: Option<ClusterName>,
    listen_addr: Option<ListenAddr>,
    tokens: Option<Vec<StaticToken>>,
    #[serde(default, deserialize_with = "section")]
    authentication: Option<RawAuthentication>,
    keep_alive_interval: Option<KeepAlive>,
    keep_alive_count_max: Option<CountMax>,
    leaf_cert_ttl: Option<LeafCertTtl>,
}

/// `leaf_cert_ttl`: a Go duration from 5s to 24h.
struct LeafCertTtl(Duration);

impl FromConfigStr for LeafCertTtl {
    fn from_config_str(s: &str) -> Result<Self, String> {
        let d: tether_shared::duration::GoDuration = s.parse().map_err(|e| format!("{e}"))?;
        if d.0 < Duration::from_secs(5) || d.0 > Duration::from_secs(24 * 3600) {
            return Err(format!("leaf_cert_ttl {s:?} must be between 5s and 24h"));
        }
        Ok(LeafCertTtl(d.0))
    }
}

/// `keep_alive_interval`: a Go duration from 100ms to 5m.
struct KeepAlive(Duration);

impl FromConfigStr for KeepAlive {
    fn from_config_str(s: &str) -> Result<Self, String> {
        let d: tether_shared::duration::GoDuration = s.parse().map_err(|e| format!("{e}"))?;
        if d.0 < Duration::from_millis(100) || d.0 > Duration::from_secs(300) {
            return Err(format!("keep_alive_interval {s:?} must be between 100ms and 5m"));
        }
        Ok(KeepAlive(d.0))
    }
}

/// `keep_alive_count_max`: 1 to 100.
struct CountMax(u32);

impl<'de> Deserialize<'de> for CountMax {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let n = u32::deserialize(deserializer)?;
        if !(1..=100).contains(&n) {
            return Err(serde::de::Error::custom(format!("keep_alive_count_max must be from 1 to 100, found {n}")));
        }
        Ok(CountMax(n))
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAuthentication {
    /// Teleport writes `type: local`; it is the only kind tether has.
    #[serde(rename = "type")]
    #[allow(dead_code)] // validated while parsing; `local` is the only kind
    kind: Option<AuthenticationKind>,
    second_factor: Option<SecondFactor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum AuthenticationKind {
    Local,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawProxy {
    enabled: Option<Flag>,
    web_listen_addr: Option<ListenAddr>,
    listen_addr: Option<ListenAddr>,
    tunnel_listen_addr: Option<ListenAddr>,
    public_addr: Option<AddrList>,
    ssh_public_addr: Option<AddrList>,
    tunnel_public_addr: Option<AddrList>,
    https_keypairs: Option<Vec<RawKeyPair>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeyPair {
    key_file: NonEmpty,
    cert_file: NonEmpty,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSsh {
    enabled: Option<Flag>,
    listen_addr: Option<ListenAddr>,
    labels: Option<BTreeMap<String, String>>,
}

/// `enabled`: a boolean, or Teleport's `"yes"`/`"no"`.
#[derive(Clone, Copy)]
struct Flag(bool);

impl FromConfigStr for Flag {
    fn from_config_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" => Ok(Flag(true)),
            "false" | "no" | "off" => Ok(Flag(false)),
            _ => Err(format!("expected true or false, found {s:?}")),
        }
    }
}

/// A non-empty string.
struct NonEmpty(String);

impl FromConfigStr for NonEmpty {
    fn from_config_str(s: &str) -> Result<Self, String> {
        if s.trim().is_empty() { Err("the value cannot be empty".into()) } else { Ok(NonEmpty(s.to_string())) }
    }
}

/// A name: non-empty, no whitespace, control characters or `/`.
struct Name(String);

impl FromConfigStr for Name {
    fn from_config_str(s: &str) -> Result<Self, String> {
        validate_name(s).map_err(|e| e.to_string())?;
        Ok(Name(s.to_string()))
    }
}

/// A DNS-like cluster name.
struct ClusterName(String);

impl FromConfigStr for ClusterName {
    fn from_config_str(s: &str) -> Result<Self, String> {
        validate_cluster_name(s).map_err(|e| e.to_string())?;
        Ok(ClusterName(s.to_string()))
    }
}

/// A `host:port` address another host dials.
struct HostPort(String);

impl FromConfigStr for HostPort {
    fn from_config_str(s: &str) -> Result<Self, String> {
        check_host_port(s)?;
        Ok(HostPort(s.to_string()))
    }
}

/// Checks `host:port` (`[v6]:port` for IPv6) with a numeric port from 1 to 65535.
fn check_host_port(addr: &str) -> Result<(), String> {
    tether_shared::resource::check_addr(addr, false)?;
    if addr.rsplit_once(':').is_some_and(|(_, port)| port == "0") {
        return Err(format!("address {addr:?}: invalid port \"0\" (a number from 1 to 65535)"));
    }
    Ok(())
}

/// A listen address: `IP:port`, `[v6]:port`, `:port` (all IPv4 interfaces) or `localhost:port`.
#[derive(Clone, Copy)]
struct ListenAddr(SocketAddr);

impl FromConfigStr for ListenAddr {
    fn from_config_str(s: &str) -> Result<Self, String> {
        parse_listen_addr(s).map(ListenAddr)
    }
}

fn parse_listen_addr(s: &str) -> Result<SocketAddr, String> {
    let bad = || format!("listen address {s:?} must be IP:port, e.g. 0.0.0.0:3025, [::]:3025 or :3025");
    let (ip, port) = if let Some(port) = s.strip_prefix(':') {
        (IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)
    } else if let Some(port) = s.strip_prefix("localhost:") {
        (IpAddr::V4(Ipv4Addr::LOCALHOST), port)
    } else {
        return s.parse().map_err(|_| bad());
    };
    let port = port.parse::<u16>().map_err(|_| bad())?;
    Ok(SocketAddr::new(ip, port))
}

/// One `host:port` string or a list of them.
struct AddrList(Vec<String>);

impl<'de> Deserialize<'de> for AddrList {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = AddrList;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a host:port string or a list of them")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<AddrList, E> {
                check_host_port(v).map_err(E::custom)?;
                Ok(AddrList(vec![v.to_string()]))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<AddrList, A::Error> {
                let mut out = Vec::new();
                while let Some(HostPort(addr)) = seq.next_element()? {
                    out.push(addr);
                }
                Ok(AddrList(out))
            }
        }
        deserializer.deserialize_any(V)
    }
}

// ---------------------------------------------------------------------------------------------
// From the file as written to the resolved config.

struct Resolver<'a> {
    file: &'a str,
    text: &'a str,
}

impl Resolver<'_> {
    /// An error about the key at `key_path`, found by its position in the text.
    fn error(&self, key_path: &str, shown_path: &str, message: impl Into<String>) -> ConfigError {
        let (line, column) = locate(self.text, key_path).map_or((None, None), |(l, c)| (Some(l), Some(c)));
        ConfigError::Invalid(InvalidConfig {
            file: self.file.to_string(),
            line,
            column,
            path: shown_path.to_string(),
            message: message.into(),
        })
    }

    fn resolve(&self, raw: RawFile) -> Result<Config, ConfigError> {
        let version = match raw.version.unwrap_or(Version::V3) {
            Version::V1 => "v1",
            Version::V2 => "v2",
            Version::V3 => "v3",
        };
        let t = raw.teleport.unwrap_or_default();
        let nodename_written = t.nodename.is_some();
        let nodename = t.nodename.map_or_else(hostname, |n| n.0);
        let data_dir = t.data_dir.map_or_else(|| PathBuf::from(DEFAULT_DATA_DIR), |d| PathBuf::from(d.0));
        let under_data = |p: &str| {
            let p = Path::new(p);
            if p.is_relative() { data_dir.join(p) } else { p.to_path_buf() }
        };

        let auth_server = match (t.auth_server, t.auth_servers) {
            (Some(_), Some(_)) => {
                return Err(self.error(
                    "teleport.auth_servers",
                    "teleport.auth_servers",
                    "write auth_server or auth_servers, not both",
                ));
            }
            (Some(one), None) => Some(one.0),
            (None, Some(list)) => match list.into_iter().next() {
                Some(first) => Some(first.0),
                None => {
                    return Err(self.error(
                        "teleport.auth_servers",
                        "teleport.auth_servers",
                        "the list is empty; write at least one host:port",
                    ));
                }
            },
            (None, None) => None,
        };
        let proxy_server = t.proxy_server.map(|p| p.0);
        let limits = resolve_limits(t.connection_limits.unwrap_or_default());
        let raw_audit = t.audit.unwrap_or_default();
        let d = crate::audit::AuditConfig::default();
        let audit = crate::audit::AuditConfig {
            max_file_bytes: raw_audit.max_file_mb.map_or(d.max_file_bytes, |c| c.0 as u64 * 1024 * 1024),
            keep_rotated: raw_audit.max_files.map_or(d.keep_rotated, |c| c.0),
            queue_capacity: raw_audit.queue_capacity.map_or(d.queue_capacity, |c| c.0),
            max_value_bytes: raw_audit.max_value_bytes.map_or(d.max_value_bytes, |c| c.0.max(64)),
            ..d
        };

        let raw_log = t.log.unwrap_or_default();
        let log = LogConfig {
            output: match raw_log.output.map_or(LogOutput::Stderr, |o| o.0) {
                LogOutput::File(p) => LogOutput::File(under_data(&p.to_string_lossy())),
                other => other,
            },
            severity: raw_log.severity.unwrap_or(Severity::Info),
        };

        let raw_storage = t.storage.unwrap_or_default();
        let storage = match raw_storage.kind.unwrap_or(StorageKind::Sqlite) {
            StorageKind::Sqlite => {
                if raw_storage.conn_string.is_some() {
                    return Err(self.error(
                        "teleport.storage.conn_string",
                        "teleport.storage.conn_string",
                        "conn_string is for type postgresql; type sqlite uses path",
                    ));
                }
                let path = raw_storage.path.map_or_else(|| DEFAULT_SQLITE_FILE.to_string(), |p| p.0);
                StorageConfig::Sqlite { path: under_data(&path) }
            }
            StorageKind::Postgresql => {
                if raw_storage.path.is_some() {
                    return Err(self.error(
                        "teleport.storage.path",
                        "teleport.storage.path",
                        "path is for type sqlite; type postgresql uses conn_string",
                    ));
                }
                let Some(conn_string) = raw_storage.conn_string else {
                    return Err(self.error(
                        "teleport.storage.type",
                        "teleport.storage",
                        "type postgresql needs conn_string, e.g. \"postgres://tether@db.example.com:5432/tether\"",
                    ));
                };
                StorageConfig::Postgres { conn_string: conn_string.0 }
            }
        };

        // Sections: present means on unless `enabled: false`; absent means off, unless no
        // service section is written at all.
        let any_section = raw.auth_service.is_some() || raw.proxy_service.is_some() || raw.ssh_service.is_some();
        let (raw_auth, raw_proxy, raw_ssh) = if any_section {
            (raw.auth_service, raw.proxy_service, raw.ssh_service)
        } else {
            (Some(RawAuth::default()), Some(RawProxy::default()), Some(RawSsh::default()))
        };
        let on = |f: Option<Flag>| f.is_none_or(|f| f.0);
        let any_ip = |port| SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port);
        let addr = |a: Option<ListenAddr>, port| a.map_or_else(|| any_ip(port), |a| a.0);

        let auth = match raw_auth.filter(|a| on(a.enabled)) {
            None => None,
            Some(a) => {
                let cluster_name = match a.cluster_name {
                    Some(c) => c.0,
                    None => {
                        if let Err(e) = validate_cluster_name(&nodename) {
                            let at = if nodename_written { "teleport.nodename" } else { "auth_service" };
                            return Err(self.error(
                                at,
                                "auth_service.cluster_name",
                                format!("the default cluster name is the nodename, and {e}; set cluster_name"),
                            ));
                        }
                        nodename.clone()
                    }
                };
                let authn = a.authentication.unwrap_or_default();
                Some(AuthConfig {
                    cluster_name,
                    listen_addr: addr(a.listen_addr, AUTH_PORT),
                    tokens: a.tokens.unwrap_or_default(),
                    second_factor: authn.second_factor.unwrap_or_default(),
                    keep_alive_interval: a.keep_alive_interval.map_or(DEFAULT_KEEP_ALIVE_INTERVAL, |k| k.0),
                    keep_alive_count_max: a.keep_alive_count_max.map_or(DEFAULT_KEEP_ALIVE_COUNT_MAX, |c| c.0),
                    leaf_cert_ttl: a.leaf_cert_ttl.map_or(crate::auth::LEAF_CERT_TTL, |t| t.0),
                })
            }
        };
        let proxy = raw_proxy.filter(|p| on(p.enabled)).map(|p| ProxyConfig {
            web_listen_addr: addr(p.web_listen_addr, WEB_PORT),
            listen_addr: addr(p.listen_addr, PROXY_SSH_PORT),
            tunnel_listen_addr: addr(p.tunnel_listen_addr, TUNNEL_PORT),
            public_addr: p.public_addr.map(|l| l.0).unwrap_or_default(),
            ssh_public_addr: p.ssh_public_addr.map(|l| l.0).unwrap_or_default(),
            tunnel_public_addr: p.tunnel_public_addr.map(|l| l.0).unwrap_or_default(),
            https_keypairs: p
                .https_keypairs
                .unwrap_or_default()
                .into_iter()
                .map(|k| KeyPair { key_file: under_data(&k.key_file.0), cert_file: under_data(&k.cert_file.0) })
                .collect(),
        });
        let ssh = raw_ssh
            .filter(|s| on(s.enabled))
            .map(|s| SshConfig { listen_addr: addr(s.listen_addr, SSH_PORT), labels: s.labels.unwrap_or_default() });

        if auth.is_none() {
            if proxy.is_some() && auth_server.is_none() {
                return Err(self.error(
                    "proxy_service",
                    "proxy_service",
                    "a proxy without a local auth_service needs teleport.auth_server to reach its cluster's auth",
                ));
            }
            if ssh.is_some() && auth_server.is_none() && proxy_server.is_none() {
                return Err(self.error(
                    "ssh_service",
                    "ssh_service",
                    "a node without a local auth_service needs teleport.auth_server or teleport.proxy_server to join a cluster",
                ));
            }
        }

        let config = Config {
            version: version.to_string(),
            nodename,
            data_dir: data_dir.clone(),
            auth_token: t.auth_token.map(|t| t.0),
            auth_server,
            proxy_server,
            log,
            storage,
            auth,
            proxy,
            ssh,
            insecure: false,
            limits,
            audit,
        };
        self.check_listeners(&config)?;
        Ok(config)
    }

    /// Refuses two services listening on one port of one address.
    fn check_listeners(&self, config: &Config) -> Result<(), ConfigError> {
        let mut listeners: Vec<(&str, SocketAddr)> = Vec::new();
        if let Some(a) = &config.auth {
            listeners.push(("auth_service.listen_addr", a.listen_addr));
        }
        if let Some(p) = &config.proxy {
            listeners.push(("proxy_service.web_listen_addr", p.web_listen_addr));
            listeners.push(("proxy_service.listen_addr", p.listen_addr));
            listeners.push(("proxy_service.tunnel_listen_addr", p.tunnel_listen_addr));
        }
        if let Some(s) = &config.ssh {
            listeners.push(("ssh_service.listen_addr", s.listen_addr));
        }
        for (i, (path, addr)) in listeners.iter().enumerate() {
            for (other_path, other) in &listeners[..i] {
                let same_ip = addr.ip() == other.ip() || addr.ip().is_unspecified() || other.ip().is_unspecified();
                if addr.port() != 0 && addr.port() == other.port() && same_ip {
                    return Err(self.error(path, path, format!("{addr} clashes with {other_path} ({other})")));
                }
            }
        }
        Ok(())
    }
}

/// Finds the 1-based line and column of the key at a dotted path in block-style YAML. Stops at
/// the deepest key found (flow-style mappings are located at their parent key); `None` when even
/// the first key is not found.
fn locate(text: &str, path: &str) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut from = 0;
    let mut min_indent = 0;
    let mut found = None;
    for key in path.split('.') {
        let hit = lines.iter().enumerate().skip(from).find(|(_, line)| {
            let trimmed = line.trim_start();
            let indent = line.len() - trimmed.len();
            indent >= min_indent
                && [format!("{key}:"), format!("\"{key}\":"), format!("'{key}':")]
                    .iter()
                    .any(|k| trimmed.starts_with(k.as_str()))
        });
        let Some((i, line)) = hit else { break };
        let indent = line.len() - line.trim_start().len();
        found = Some((i + 1, indent + 1));
        from = i + 1;
        min_indent = indent + 1;
    }
    found
}

/// Rewrites serde's messages into one line a person reads: drops the position (printed in front)
/// and serde_yaml_ng's own path prefix, and says what was expected before what was found.
fn clean_message(raw: &str) -> String {
    let mut msg = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some(i) = msg.find(" at line ") {
        msg.truncate(i);
    }
    if let Some((head, tail)) = msg.split_once(": ")
        && !head.is_empty()
        && !head.contains([' ', '"', '`'])
    {
        msg = tail.to_string();
    }
    if msg.contains("more than one document") {
        return "the file must hold one YAML document (remove the second `---`)".into();
    }
    msg = msg.replace("expected field identifier", "expected a key name");
    if let Some(rest) = msg.strip_prefix("invalid type: ").or_else(|| msg.strip_prefix("invalid value: "))
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        let expected = if expected.starts_with("struct ") || expected.starts_with("map") || expected == "a map" {
            "a mapping"
        } else if expected == "a sequence" {
            "a list"
        } else {
            expected
        };
        return format!("expected {expected}, found {found}");
    }
    if let Some(rest) = msg.strip_prefix("unknown variant ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return format!("unknown value {found}, expected {}", expected.trim_start_matches("one of "));
    }
    if let Some(rest) = msg.strip_prefix("unknown field ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return format!("unknown field {found} (known fields: {})", expected.trim_start_matches("one of "));
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(text: &str) -> InvalidConfig {
        match parse("tether.yaml", text) {
            Err(ConfigError::Invalid(e)) => e,
            Err(e) => panic!("unexpected error {e}"),
            Ok(c) => panic!("parsed: {c:?}"),
        }
    }

    /// Asserts the error's line, path and that its message contains `needle`.
    fn assert_error(text: &str, line: usize, path: &str, needle: &str) {
        let e = invalid(text);
        let shown = e.to_string();
        assert_eq!(e.line, Some(line), "{shown}");
        assert_eq!(e.path, path, "{shown}");
        assert!(e.message.contains(needle), "{shown}");
        assert!(!shown.contains('\n'), "{shown}");
        assert!(shown.starts_with(&format!("tether.yaml:{line}:")), "{shown}");
    }

    fn any(port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)
    }

    #[test]
    fn all_in_one_defaults() {
        let c = Config::default_all_in_one(None);
        assert_eq!(c.data_dir, PathBuf::from("./tether-data"));
        assert_eq!(c.storage, StorageConfig::Sqlite { path: PathBuf::from("./tether-data/backend.db") });
        assert_eq!(c.auth.as_ref().unwrap().listen_addr, "127.0.0.1:3025".parse().unwrap());
        assert_eq!(c.auth.as_ref().unwrap().cluster_name, c.nodename);
        let p = c.proxy.as_ref().unwrap();
        assert_eq!(p.web_listen_addr, "127.0.0.1:3080".parse().unwrap());
        assert_eq!(p.listen_addr, "127.0.0.1:3023".parse().unwrap());
        assert_eq!(p.tunnel_listen_addr, "127.0.0.1:3024".parse().unwrap());
        assert_eq!(c.ssh.as_ref().unwrap().listen_addr, "127.0.0.1:3022".parse().unwrap());
        assert_eq!(c.log, LogConfig { output: LogOutput::Stderr, severity: Severity::Info });
        assert!(!c.insecure);
        assert!(!c.nodename.is_empty());

        let c = Config::default_all_in_one(Some(PathBuf::from("/tmp/x")));
        assert_eq!(c.storage, StorageConfig::Sqlite { path: PathBuf::from("/tmp/x/backend.db") });
    }

    #[test]
    fn empty_file_runs_everything_on_all_interfaces() {
        for text in ["", "# only a comment\n", "version: v2\n", "teleport:\n  nodename: host1\n"] {
            let c = parse("tether.yaml", text).unwrap();
            assert_eq!(c.auth.as_ref().unwrap().listen_addr, any(3025), "{text}");
            assert_eq!(c.proxy.as_ref().unwrap().web_listen_addr, any(3080));
            assert_eq!(c.ssh.as_ref().unwrap().listen_addr, any(3022));
            assert_eq!(c.storage, StorageConfig::Sqlite { path: PathBuf::from("./tether-data/backend.db") });
            assert_eq!(c.auth.as_ref().unwrap().cluster_name, c.nodename);
        }
    }

    #[test]
    fn absent_sections_are_disabled_present_ones_enabled() {
        let c = parse("t", "auth_service:\n  listen_addr: :4025\n").unwrap();
        assert_eq!(c.auth.unwrap().listen_addr, any(4025));
        assert!(c.proxy.is_none() && c.ssh.is_none());

        let c = parse("t", "auth_service:\nproxy_service:\n  enabled: \"yes\"\nssh_service:\n  enabled: no\n").unwrap();
        assert!(c.auth.is_some() && c.proxy.is_some() && c.ssh.is_none());
    }

    #[test]
    fn full_example() {
        let text = r#"
version: v3
teleport:
  nodename: host1
  data_dir: /var/lib/tether
  auth_token: abcdef
  auth_servers: ["auth1.example.com:3025", "auth2.example.com:3025"]
  proxy_server: proxy.example.com:3080
  log: {output: logs/tether.log, severity: debug}
  storage:
    type: postgresql
    conn_string: "postgres://tether@db/tether"
auth_service:
  enabled: true
  cluster_name: example.com
  listen_addr: 10.0.0.1:3025
  tokens: ["node:abcdef", "trusted_cluster:xyz"]
  authentication:
    type: local
    second_factor: otp
proxy_service:
  enabled: true
  web_listen_addr: 0.0.0.0:443
  listen_addr: "[::]:3023"
  tunnel_listen_addr: :3024
  public_addr: proxy.example.com:443
  ssh_public_addr: [proxy.example.com:3023, "[2001:db8::1]:3023"]
  tunnel_public_addr: proxy.example.com:3024
  https_keypairs:
    - key_file: /etc/tether/key.pem
      cert_file: certs/cert.pem
ssh_service:
  enabled: true
  listen_addr: localhost:3022
  labels: {env: prod, team: ops}
"#;
        let c = parse("tether.yaml", text).unwrap();
        assert_eq!(c.nodename, "host1");
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/tether"));
        assert_eq!(c.auth_token.as_deref(), Some("abcdef"));
        assert_eq!(c.auth_server.as_deref(), Some("auth1.example.com:3025"));
        assert_eq!(c.proxy_server.as_deref(), Some("proxy.example.com:3080"));
        assert_eq!(c.log.output, LogOutput::File(PathBuf::from("/var/lib/tether/logs/tether.log")));
        assert_eq!(c.log.severity, Severity::Debug);
        assert_eq!(c.storage, StorageConfig::Postgres { conn_string: "postgres://tether@db/tether".into() });
        let a = c.auth.unwrap();
        assert_eq!(a.cluster_name, "example.com");
        assert_eq!(a.listen_addr, "10.0.0.1:3025".parse().unwrap());
        assert_eq!(
            a.tokens,
            vec![
                StaticToken { kind: TokenKind::Node, token: "abcdef".into() },
                StaticToken { kind: TokenKind::TrustedCluster, token: "xyz".into() },
            ]
        );
        assert_eq!(a.second_factor, SecondFactor::Otp);
        let p = c.proxy.unwrap();
        assert_eq!(p.web_listen_addr, any(443));
        assert_eq!(p.listen_addr, "[::]:3023".parse().unwrap());
        assert_eq!(p.tunnel_listen_addr, any(3024));
        assert_eq!(p.public_addr, vec!["proxy.example.com:443"]);
        assert_eq!(p.ssh_public_addr, vec!["proxy.example.com:3023", "[2001:db8::1]:3023"]);
        assert_eq!(p.tunnel_public_addr, vec!["proxy.example.com:3024"]);
        assert_eq!(
            p.https_keypairs,
            vec![KeyPair {
                key_file: PathBuf::from("/etc/tether/key.pem"),
                cert_file: PathBuf::from("/var/lib/tether/certs/cert.pem"),
            }]
        );
        let s = c.ssh.unwrap();
        assert_eq!(s.listen_addr, "127.0.0.1:3022".parse().unwrap());
        assert_eq!(s.labels.get("env").map(String::as_str), Some("prod"));
    }

    #[test]
    fn overrides() {
        let c = parse("t", "teleport:\n  data_dir: /a\n  log: {output: t.log}\n").unwrap();
        let c = c.with_overrides(Some(PathBuf::from("/b")), true, true);
        assert_eq!(c.data_dir, PathBuf::from("/b"));
        assert_eq!(c.storage, StorageConfig::Sqlite { path: PathBuf::from("/b/backend.db") });
        assert_eq!(c.log.output, LogOutput::File(PathBuf::from("/b/t.log")));
        assert_eq!(c.log.severity, Severity::Debug);
        assert!(c.insecure);

        let c = parse("t", "teleport:\n  storage: {path: /elsewhere/db}\n").unwrap();
        let c = c.with_overrides(Some(PathBuf::from("/b")), false, false);
        assert_eq!(c.storage, StorageConfig::Sqlite { path: PathBuf::from("/elsewhere/db") });
        assert_eq!(c.log.severity, Severity::Info);
        assert!(!c.insecure);
    }

    #[test]
    fn sample_parses_to_the_defaults_it_documents() {
        let sample = parse("sample.yaml", sample_config()).unwrap();
        assert_eq!(sample, parse("empty.yaml", "").unwrap());

        // Every "#key:" example is valid too.
        let uncommented: String = sample_config()
            .lines()
            .map(|line| {
                let trimmed = line.trim_start();
                let indent = line.len() - trimmed.len();
                match trimmed.strip_prefix('#') {
                    Some(rest) if rest.starts_with(|c: char| c.is_ascii_lowercase()) => {
                        format!("{}{rest}\n", &line[..indent])
                    }
                    _ => format!("{line}\n"),
                }
            })
            .collect();
        let c = parse("sample.yaml", &uncommented).unwrap();
        assert_eq!(c.nodename, "host1");
        assert_eq!(c.auth_server.as_deref(), Some("auth.example.com:3025"));
        assert_eq!(c.auth.as_ref().unwrap().cluster_name, "example.com");
        assert_eq!(c.auth.as_ref().unwrap().tokens.len(), 2);
        assert_eq!(c.proxy.as_ref().unwrap().public_addr, vec!["proxy.example.com:3080"]);
        assert_eq!(c.proxy.as_ref().unwrap().https_keypairs.len(), 1);
        assert_eq!(c.ssh.as_ref().unwrap().labels.len(), 2);
    }

    #[test]
    fn connection_limits() {
        let c = parse(
            "t.yaml",
            "teleport:\n  connection_limits:\n    login_grace_time: 2s\n    max_startups: \"5:50:20\"\n    max_unauthenticated_per_source: 3\n    idle_timeout: 10m\n    client_alive_interval: 0s\n    shutdown_grace: 0s\n",
        )
        .unwrap();
        let l = &c.limits;
        assert_eq!(l.listener.login_grace_time, Duration::from_secs(2));
        assert_eq!(l.listener.max_startups, crate::listen::MaxStartups { start: 5, rate: 50, full: 20 });
        assert_eq!(l.listener.max_unauthenticated_per_source, 3);
        assert_eq!(l.idle_timeout, Some(Duration::from_secs(600)));
        assert_eq!(l.client_alive_interval, None, "0s turns keepalives off");
        assert_eq!(l.listener.shutdown_grace, Duration::ZERO);
        assert_eq!(l.web_request_timeout, DEFAULT_WEB_REQUEST_TIMEOUT);
        assert_eq!(c.limits.web_listener().login_grace_time, DEFAULT_WEB_REQUEST_TIMEOUT);
        let c = parse("t.yaml", "teleport:\n  audit:\n    max_file_mb: 2\n    max_files: 3\n").unwrap();
        assert_eq!((c.audit.max_file_bytes, c.audit.keep_rotated), (2 * 1024 * 1024, 3));
        assert_error("teleport:\n  audit:\n    max_files: 0\n", 3, "teleport.audit.max_files", "from 1 to");
        assert_error(
            "teleport:\n  connection_limits:\n    max_startups: \"30:10:20\"\n",
            3,
            "teleport.connection_limits.max_startups",
            "START <= FULL",
        );
        assert_error(
            "teleport:\n  connection_limits:\n    login_grace_time: 1ms\n",
            3,
            "teleport.connection_limits.login_grace_time",
            "between 100ms and 1h",
        );
        assert_error(
            "teleport:\n  connection_limits:\n    max_conections: 5\n",
            3,
            "teleport.connection_limits.max_conections",
            "max_conections",
        );
    }

    #[test]
    fn unknown_keys() {
        let e = invalid("proxy_service:\n  enabled: true\n  web_listen: 0.0.0.0:3080\n");
        assert_eq!((e.line, e.column), (Some(3), Some(3)));
        assert_eq!(e.path, "proxy_service.web_listen");
        assert!(e.message.starts_with("unknown field `web_listen` (known fields: `enabled`, "), "{e}");
        assert!(e.to_string().starts_with("tether.yaml:3:3: proxy_service.web_listen: unknown field"), "{e}");

        assert_error("teleport:\n  storage:\n    typ: sqlite\n", 3, "teleport.storage.typ", "unknown field `typ`");
        assert_error("db_service:\n  enabled: true\n", 1, "db_service", "unknown field `db_service`");
        assert_error(
            "auth_service:\n  authentication:\n    second_factr: otp\n",
            3,
            "auth_service.authentication.second_factr",
            "unknown field",
        );
    }

    #[test]
    fn wrong_types() {
        assert_error("teleport:\n  log: stderr\n", 2, "teleport.log", "expected a mapping, found string");
        assert_error("ssh_service:\n  labels: [a, b]\n", 2, "ssh_service.labels", "expected a mapping");
        assert_error("auth_service:\n  tokens: node:abc\n", 2, "auth_service.tokens", "expected a list");
        assert_error("proxy_service:\n  public_addr: {a: b}\n", 2, "proxy_service.public_addr", "expected");
        assert_error("auth_service:\n  enabled: maybe\n", 2, "auth_service.enabled", "expected true or false");
        assert_error("- a\n- b\n", 1, "", "expected a mapping");
        assert_error("version: v4\n", 1, "version", "unknown value `v4`, expected `v1`, `v2`, `v3`");
    }

    #[test]
    fn bad_addresses() {
        assert_error("auth_service:\n  listen_addr: example.com:3025\n", 2, "auth_service.listen_addr", "IP:port");
        assert_error("ssh_service:\n  listen_addr: 0.0.0.0:99999\n", 2, "ssh_service.listen_addr", "IP:port");
        assert_error("ssh_service:\n  listen_addr: 0.0.0.0\n", 2, "ssh_service.listen_addr", "IP:port");
        assert_error("teleport:\n  auth_server: auth.example.com\n", 2, "teleport.auth_server", "port is required");
        assert_error("teleport:\n  proxy_server: https://p:3080\n", 2, "teleport.proxy_server", "without a scheme");
        assert_error("teleport:\n  auth_servers: [a:1, b:x]\n", 2, "teleport.auth_servers[1]", "invalid port");
        assert_error(
            "proxy_service:\n  public_addr:\n    - ok.example.com:443\n    - bad host:443\n",
            4,
            "proxy_service.public_addr[1]",
            "invalid host",
        );
        assert_error("proxy_service:\n  tunnel_public_addr: p:0\n", 2, "proxy_service.tunnel_public_addr", "port");
        assert_error(
            "auth_service:\nproxy_service:\n  web_listen_addr: :3025\n",
            3,
            "proxy_service.web_listen_addr",
            "clashes with auth_service.listen_addr",
        );
    }

    #[test]
    fn bad_values() {
        assert_error(
            "auth_service:\n  leaf_cert_ttl: 2s\n",
            2,
            "auth_service.leaf_cert_ttl",
            "leaf_cert_ttl \"2s\" must be between 5s and 24h",
        );
        assert_error(
            "teleport:\n  log:\n    severity: LOUD\n",
            3,
            "teleport.log.severity",
            "unknown severity \"LOUD\"",
        );
        assert_error("teleport:\n  log: {output: syslog}\n", 2, "teleport.log.output", "syslog");
        assert_error(
            "teleport:\n  storage:\n    type: etcd\n",
            3,
            "teleport.storage.type",
            "unknown value `etcd`, expected `sqlite` or `postgresql`",
        );
        assert_error(
            "teleport:\n  nodename: host1\n  storage:\n    type: postgresql\n",
            4,
            "teleport.storage",
            "type postgresql needs conn_string",
        );
        assert_error(
            "teleport:\n  storage:\n    conn_string: postgres://x\n",
            3,
            "teleport.storage.conn_string",
            "conn_string is for type postgresql",
        );
        assert_error(
            "auth_service:\n  tokens:\n    - node:abc\n    - proxy:def\n",
            4,
            "auth_service.tokens[1]",
            "static token type \"proxy\" is not known",
        );
        assert_error("auth_service:\n  tokens: [nodeabc]\n", 2, "auth_service.tokens[0]", "TYPE:TOKEN");
        assert_error("auth_service:\n  tokens: [\"node:\"]\n", 2, "auth_service.tokens[0]", "non-empty");
        assert_error("auth_service:\n  cluster_name: bad/name\n", 2, "auth_service.cluster_name", "invalid name");
        assert_error(
            "auth_service:\n  authentication: {second_factor: webauthn}\n",
            2,
            "auth_service.authentication.second_factor",
            "expected off or otp",
        );
        assert_error(
            "teleport:\n  auth_server: a:3025\n  auth_servers: [b:3025]\n",
            3,
            "teleport.auth_servers",
            "not both",
        );
        assert_error("ssh_service:\n  labels: {env: prod}\n", 1, "ssh_service", "needs teleport.auth_server");
        assert_error("proxy_service:\n", 1, "proxy_service", "needs teleport.auth_server");
        assert_error("teleport:\n  nodename: my host\n", 2, "teleport.nodename", "contains the character");
    }

    #[test]
    fn joining_node_without_local_auth() {
        let c = parse("t", "teleport:\n  proxy_server: p.example.com:3080\n  auth_token: tok\nssh_service:\n").unwrap();
        assert!(c.auth.is_none() && c.proxy.is_none());
        assert_eq!(c.ssh.unwrap().listen_addr, any(3022));
        assert_eq!(c.auth_token.as_deref(), Some("tok"));
    }

    #[test]
    fn load_reports_missing_files() {
        let e = load(Path::new("/nonexistent/tether.yaml")).unwrap_err();
        assert!(e.is_not_found());
        assert!(e.to_string().starts_with("/nonexistent/tether.yaml: cannot read the config file: "), "{e}");
    }

    #[test]
    fn garbage_gives_errors_not_panics() {
        let inputs = [
            "{{{{",
            "]",
            ":",
            "teleport: [",
            "\t\tteleport:\n",
            "key: \"unterminated",
            "a: &x [*x]\n",
            "*unknown_anchor\n",
            "--- \n---\n",
            "teleport: !!binary aGVsbG8=\n",
            "auth_service:\n  listen_addr: !tag 1\n",
            "\u{0}\u{1}\u{2}",
            "teleport:\n  log:\n    - severity\n",
            "ssh_service:\n  labels:\n    ? [a]\n    : b\n",
            "12345",
            "true",
            "proxy_service:\n  public_addr: [[nested]]\n",
            "teleport:\n  data_dir: ''\n",
            "teleport:\n  storage: {type: sqlite, path: ''}\n",
        ];
        for text in inputs {
            match parse("g.yaml", text) {
                Err(ConfigError::Invalid(e)) => {
                    let shown = e.to_string();
                    assert!(shown.starts_with("g.yaml"), "{shown}");
                    assert!(!shown.contains('\n'), "{shown}");
                    assert!(!e.message.is_empty(), "{shown}");
                }
                other => panic!("{text:?} gave {other:?}"),
            }
        }
        let deep = "[".repeat(10_000);
        assert!(parse("g.yaml", &deep).is_err());
        let deep_map = (0..200).map(|i| format!("{}k:\n", " ".repeat(i))).collect::<String>();
        assert!(parse("g.yaml", &deep_map).is_err());

        let e = invalid("{{a: b}: c}");
        assert_eq!((e.path.as_str(), e.line), ("", Some(1)), "{e}");
        assert!(e.message.contains("expected a key name"), "{e}");
        assert!(invalid("version: v3\n---\nb: 2\n").message.contains("one YAML document"));
    }
}
