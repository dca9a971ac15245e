//! From the file as written to the settings the daemon runs with: every default applied, listen
//! addresses and paths resolved (relative paths joined to `data_dir`), which services run, and
//! the checks that span several keys (`auth_server` or `auth_servers`, storage type against its
//! keys, a proxy or node without a local auth service, two listeners on one port). Such an error
//! is located by finding the key it concerns in the text.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use tether_shared::names::validate_cluster_name;
use tether_shared::yaml::{ParseError, locate_key};

use super::schema::{Flag, ListenAddr, RawAuth, RawFile, RawLimits, RawProxy, RawSsh, StorageKind, Version};
use super::settings::{
    AUTH_PORT, AuthConfig, Config, ConnectionLimits, DEFAULT_DATA_DIR, DEFAULT_KEEP_ALIVE_COUNT_MAX,
    DEFAULT_KEEP_ALIVE_INTERVAL, DEFAULT_SQLITE_FILE, KeyPair, LogConfig, LogOutput, PROXY_SSH_PORT, ProxyConfig,
    SSH_PORT, Severity, SshConfig, StorageConfig, TUNNEL_PORT, WEB_PORT, hostname,
};

/// Resolves the file as written (`raw`, read from `text`) into the daemon's settings; `file`
/// names it in errors.
pub(super) fn resolve(file: &str, text: &str, raw: RawFile) -> Result<Config, ParseError> {
    Resolver { file, text }.resolve(raw)
}

/// `teleport.connection_limits` with the defaults filled in.
fn resolve_limits(raw: RawLimits) -> ConnectionLimits {
    let d = ConnectionLimits::default();
    let l = d.listener.clone();
    ConnectionLimits {
        listener: tether_edge::listen::Limits {
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

struct Resolver<'a> {
    file: &'a str,
    text: &'a str,
}

impl Resolver<'_> {
    /// An error about the key at `key_path`, found by its position in the text.
    fn error(&self, key_path: &str, shown_path: &str, message: impl Into<String>) -> ParseError {
        let (line, column) = locate_key(self.text, key_path).map_or((None, None), |(l, c)| (Some(l), Some(c)));
        ParseError { file: self.file.to_string(), line, column, path: shown_path.to_string(), message: message.into() }
    }

    fn resolve(&self, raw: RawFile) -> Result<Config, ParseError> {
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
        let d = tether_audit::AuditConfig::default();
        let audit = tether_audit::AuditConfig {
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
                        "type postgresql needs conn_string, e.g. \"postgres://tether@db.example.com:5432/tether?sslmode=verify-full&sslrootcert=/etc/tether/db-ca.pem\"",
                    ));
                };
                // Checked now (sslmode, hosts), so a bad string is a located config error; the
                // certificate files are read when connecting.
                if let Err(e) = tether_storage::postgres::ConnSpec::parse(&conn_string.0) {
                    return Err(self.error("teleport.storage.conn_string", "teleport.storage.conn_string", &e));
                }
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
                    leaf_cert_ttl: a.leaf_cert_ttl.map_or(tether_auth::LEAF_CERT_TTL, |t| t.0),
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
    fn check_listeners(&self, config: &Config) -> Result<(), ParseError> {
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
            for (other_path, other) in listeners.iter().take(i) {
                let same_ip = addr.ip() == other.ip() || addr.ip().is_unspecified() || other.ip().is_unspecified();
                if addr.port() != 0 && addr.port() == other.port() && same_ip {
                    return Err(self.error(path, path, format!("{addr} clashes with {other_path} ({other})")));
                }
            }
        }
        Ok(())
    }
}
