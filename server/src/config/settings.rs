//! The settings the daemon runs with: the resolved [`Config`] and its parts, every default
//! (ports, data directory, connection limits, heartbeats), the configuration used when there is
//! no file at all ([`Config::default_all_in_one`]) and the command line's overrides
//! ([`Config::with_overrides`]). Nothing here reads YAML: `schema.rs` says what the file looks
//! like and `resolve.rs` turns that into these types.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tether_shared::names::validate_name;

// The network edge's limits are the edge crate's; the config names them as its own.
pub use tether_edge::limits::*;

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
    /// The cluster TLS CA's pin(s) a node joining with `auth_token` trusts (`teleport.ca_pin`,
    /// `sha256:HEX`, as `tctl tokens add --type=node` prints it): no `--insecure` at the join.
    pub ca_pin: Option<String>,
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
    /// The algorithms the relay and the node offer (`teleport.kex_algorithms`, `ciphers`,
    /// `mac_algorithms`); the tunnel port's are fixed.
    pub ssh_algorithms: tether_shared::ssh_algorithms::AlgorithmLists,
    /// The audit log's size, rotation and queue (`teleport.audit`).
    pub audit: tether_audit::AuditConfig,
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

/// The storage backend (`teleport.storage`). Its `Debug` leaves the connection string out (it
/// may hold a password).
#[derive(Clone, PartialEq, Eq)]
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

impl std::fmt::Debug for StorageConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StorageConfig::Sqlite { path } => f.debug_struct("Sqlite").field("path", path).finish(),
            StorageConfig::Postgres { .. } => f.debug_struct("Postgres").field("conn_string", &"<redacted>").finish(),
        }
    }
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
    /// How long a remote cluster may go without a heartbeat before the root removes it
    /// (`remote_cluster_ttl`; default off).
    pub remote_cluster_ttl: Option<Duration>,
    /// The file holding the key-encryption key of the CA keys (`ca_key_params.key_file`, joined
    /// to `data_dir` when relative); `TETHER_CA_KEK` wins over it, `DATA_DIR/ca.kek` is the
    /// default.
    pub ca_key_file: Option<PathBuf>,
    /// `ca_key_params.pkcs11`: the HSM new CA keys are made in.
    pub ca_pkcs11: Option<Pkcs11Settings>,
}

/// `auth_service.ca_key_params.pkcs11`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkcs11Settings {
    /// The PKCS#11 module.
    pub module_path: PathBuf,
    /// The token's label.
    pub token_label: String,
    /// The user PIN, or the file it is read from at start-up.
    pub pin: Pin,
}

/// Where the token's PIN comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pin {
    /// `pin`: in the config.
    Value(String),
    /// `pin_path`: in a file (joined to `data_dir` when relative), read at start-up.
    File(PathBuf),
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
                leaf_cert_ttl: tether_auth::LEAF_CERT_TTL,
                remote_cluster_ttl: None,
                ca_key_file: None,
                ca_pkcs11: None,
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
            ca_pin: None,
            auth_server: None,
            proxy_server: None,
            log: LogConfig { output: LogOutput::Stderr, severity: Severity::Info },
            insecure: false,
            limits: ConnectionLimits::default(),
            ssh_algorithms: Default::default(),
            audit: tether_audit::AuditConfig::default(),
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
            if let Some(path) = self.auth.as_mut().and_then(|a| a.ca_key_file.as_mut()) {
                rebase(path, &old, &new);
            }
            if let Some(Pin::File(path)) = self.auth.as_mut().and_then(|a| a.ca_pkcs11.as_mut()).map(|p| &mut p.pin) {
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

/// Moves `path` from under `old` to under `new`, when it is under `old`.
fn rebase(path: &mut PathBuf, old: &Path, new: &Path) {
    if let Ok(rest) = path.strip_prefix(old) {
        *path = if rest.as_os_str().is_empty() { new.to_path_buf() } else { new.join(rest) };
    }
}

/// This machine's host name: `/proc/sys/kernel/hostname`, else `$HOSTNAME`, else `localhost`
/// (each only when it is a valid name). The default `nodename`, and the `hostname` a node reports.
pub fn hostname() -> String {
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
