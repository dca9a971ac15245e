//! From the file as written to the settings the daemon runs with: every default applied, listen
//! addresses and paths resolved (relative paths joined to `data_dir`), which services run, and
//! the checks that span several keys (`auth_server` or `auth_servers`, storage type against its
//! keys, a proxy or node without a local auth service, two listeners on one port). Such an error
//! is located by finding the key it concerns in the text.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use tether_shared::names::validate_cluster_name;
use tether_shared::yaml::{ParseError, locate_key};

use super::schema::{
    Flag, HostPort, ListenAddr, RawAudit, RawAuth, RawFile, RawLimits, RawLog, RawPkcs11, RawProxy, RawSsh, RawStorage,
    StorageKind, Version,
};
use super::settings::{
    AUTH_PORT, AuthConfig, Config, ConnectionLimits, DEFAULT_DATA_DIR, DEFAULT_KEEP_ALIVE_COUNT_MAX,
    DEFAULT_KEEP_ALIVE_INTERVAL, DEFAULT_SQLITE_FILE, KeyPair, LogConfig, LogOutput, PROXY_SSH_PORT, Pin,
    Pkcs11Settings, ProxyConfig, SSH_PORT, Severity, SshConfig, StorageConfig, TUNNEL_PORT, WEB_PORT, hostname,
};

/// Resolves the file as written (`raw`, read from `text`) into the daemon's settings; `file`
/// names it in errors.
pub(super) fn resolve(file: &str, text: &str, raw: RawFile) -> Result<Config, ParseError> {
    Resolver { file, text }.resolve(raw)
}

/// `teleport.audit` with the defaults filled in.
fn resolve_audit(raw: RawAudit) -> tether_audit::AuditConfig {
    let d = tether_audit::AuditConfig::default();
    tether_audit::AuditConfig {
        max_file_bytes: raw.max_file_mb.map_or(d.max_file_bytes, |c| c.0 as u64 * 1024 * 1024),
        keep_rotated: raw.max_files.map_or(d.keep_rotated, |c| c.0),
        queue_capacity: raw.queue_capacity.map_or(d.queue_capacity, |c| c.0),
        max_value_bytes: raw.max_value_bytes.map_or(d.max_value_bytes, |c| c.0.max(64)),
        ..d
    }
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
        max_forwards_per_connection: raw.max_forwards_per_connection.map_or(d.max_forwards_per_connection, |c| c.0),
    }
}

struct Resolver<'a> {
    file: &'a str,
    text: &'a str,
}

/// What every section's resolution may need from `teleport`: the node's name (and whether the
/// file wrote it) and the data directory relative paths are joined to.
struct Host {
    nodename: String,
    nodename_written: bool,
    data_dir: PathBuf,
}

impl Host {
    /// `path`, joined to `data_dir` when relative.
    fn under_data(&self, path: &str) -> PathBuf {
        let p = Path::new(path);
        if p.is_relative() { self.data_dir.join(p) } else { p.to_path_buf() }
    }
}

/// `addr` as written, or every IPv4 address on `port`.
fn listen_addr(addr: Option<ListenAddr>, port: u16) -> SocketAddr {
    addr.map_or_else(|| SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port), |a| a.0)
}

/// A section present in the file runs unless it says `enabled: false`.
fn enabled(flag: Option<Flag>) -> bool {
    flag.is_none_or(|f| f.0)
}

impl Resolver<'_> {
    /// An error about the key at `key_path`, found by its position in the text.
    fn error(&self, key_path: &str, shown_path: &str, message: impl Into<String>) -> ParseError {
        let (line, column) = locate_key(self.text, key_path).map_or((None, None), |(l, c)| (Some(l), Some(c)));
        ParseError { file: self.file.to_string(), line, column, path: shown_path.to_string(), message: message.into() }
    }

    /// The whole file: `teleport` first, then each service section, then the checks that span
    /// sections.
    fn resolve(&self, raw: RawFile) -> Result<Config, ParseError> {
        let version = match raw.version.unwrap_or(Version::V3) {
            Version::V1 => "v1",
            Version::V2 => "v2",
            Version::V3 => "v3",
        };
        let t = raw.teleport.unwrap_or_default();
        let host = Host {
            nodename_written: t.nodename.is_some(),
            nodename: t.nodename.map_or_else(hostname, |n| n.0),
            data_dir: t.data_dir.map_or_else(|| PathBuf::from(DEFAULT_DATA_DIR), |d| PathBuf::from(d.0)),
        };
        let auth_server = self.auth_server(t.auth_server, t.auth_servers)?;
        let proxy_server = t.proxy_server.map(|p| p.0);
        let storage = self.storage(t.storage.unwrap_or_default(), &host)?;

        // Sections: present means on unless `enabled: false`; absent means off, unless no
        // service section is written at all.
        let any_section = raw.auth_service.is_some() || raw.proxy_service.is_some() || raw.ssh_service.is_some();
        let (raw_auth, raw_proxy, raw_ssh) = if any_section {
            (raw.auth_service, raw.proxy_service, raw.ssh_service)
        } else {
            (Some(RawAuth::default()), Some(RawProxy::default()), Some(RawSsh::default()))
        };
        let auth = match raw_auth.filter(|a| enabled(a.enabled)) {
            Some(a) => Some(self.auth_service(a, &host)?),
            None => None,
        };
        let proxy = raw_proxy.filter(|p| enabled(p.enabled)).map(|p| proxy_service(p, &host));
        let ssh = raw_ssh.filter(|s| enabled(s.enabled)).map(ssh_service);
        if auth.is_none() {
            self.check_reach(proxy.is_some(), ssh.is_some(), auth_server.is_some(), proxy_server.is_some())?;
        }

        let config = Config {
            version: version.to_string(),
            log: log(t.log.unwrap_or_default(), &host),
            storage,
            limits: resolve_limits(t.connection_limits.unwrap_or_default()),
            ssh_algorithms: tether_shared::ssh_algorithms::AlgorithmLists {
                kex: t.kex_algorithms.map(|l| l.0),
                ciphers: t.ciphers.map(|l| l.0),
                macs: t.mac_algorithms.map(|l| l.0),
            },
            audit: resolve_audit(t.audit.unwrap_or_default()),
            nodename: host.nodename,
            data_dir: host.data_dir,
            auth_token: t.auth_token.map(|t| t.0),
            ca_pin: t.ca_pin.map(|p| p.0),
            auth_server,
            proxy_server,
            auth,
            proxy,
            ssh,
            insecure: false,
        };
        self.check_listeners(&config)?;
        Ok(config)
    }

    /// `teleport.auth_server` or the first of `teleport.auth_servers` (not both, not empty).
    fn auth_server(&self, one: Option<HostPort>, list: Option<Vec<HostPort>>) -> Result<Option<String>, ParseError> {
        let at = "teleport.auth_servers";
        match (one, list) {
            (Some(_), Some(_)) => Err(self.error(at, at, "write auth_server or auth_servers, not both")),
            (Some(one), None) => Ok(Some(one.0)),
            (None, Some(list)) => match list.into_iter().next() {
                Some(first) => Ok(Some(first.0)),
                None => Err(self.error(at, at, "the list is empty; write at least one host:port")),
            },
            (None, None) => Ok(None),
        }
    }

    /// `teleport.storage`: the type and the one key that type uses.
    fn storage(&self, raw: RawStorage, host: &Host) -> Result<StorageConfig, ParseError> {
        match raw.kind.unwrap_or(StorageKind::Sqlite) {
            StorageKind::Sqlite => {
                if raw.conn_string.is_some() {
                    let at = "teleport.storage.conn_string";
                    return Err(self.error(at, at, "conn_string is for type postgresql; type sqlite uses path"));
                }
                let path = raw.path.map_or_else(|| DEFAULT_SQLITE_FILE.to_string(), |p| p.0);
                Ok(StorageConfig::Sqlite { path: host.under_data(&path) })
            }
            StorageKind::Postgresql => {
                if raw.path.is_some() {
                    let at = "teleport.storage.path";
                    return Err(self.error(at, at, "path is for type sqlite; type postgresql uses conn_string"));
                }
                let Some(conn_string) = raw.conn_string else {
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
                Ok(StorageConfig::Postgres { conn_string: conn_string.0 })
            }
        }
    }

    /// `auth_service`: the cluster's name defaults to the nodename, which must then be a valid
    /// cluster name.
    fn auth_service(&self, a: RawAuth, host: &Host) -> Result<AuthConfig, ParseError> {
        let cluster_name = match a.cluster_name {
            Some(c) => c.0,
            None => {
                if let Err(e) = validate_cluster_name(&host.nodename) {
                    let at = if host.nodename_written { "teleport.nodename" } else { "auth_service" };
                    return Err(self.error(
                        at,
                        "auth_service.cluster_name",
                        format!("the default cluster name is the nodename, and {e}; set cluster_name"),
                    ));
                }
                host.nodename.clone()
            }
        };
        let authn = a.authentication.unwrap_or_default();
        let (key_file, pkcs11) = a.ca_key_params.map_or((None, None), |p| (p.key_file, p.pkcs11));
        let ca_pkcs11 = pkcs11.map(|p| self.pkcs11(p, host)).transpose()?;
        let keep_alive_interval = a.keep_alive_interval.map_or(DEFAULT_KEEP_ALIVE_INTERVAL, |k| k.0);
        let keep_alive_count_max = a.keep_alive_count_max.map_or(DEFAULT_KEEP_ALIVE_COUNT_MAX, |c| c.0);
        let window = keep_alive_interval * keep_alive_count_max;
        if let Some(ttl) = &a.remote_cluster_ttl
            && ttl.0 <= window
        {
            let at = "auth_service.remote_cluster_ttl";
            let why = format!(
                "remote_cluster_ttl must be longer than the offline window (keep_alive_interval × \
                 keep_alive_count_max = {window:?}), or live leaves would be removed"
            );
            return Err(self.error(at, at, &why));
        }
        Ok(AuthConfig {
            cluster_name,
            listen_addr: listen_addr(a.listen_addr, AUTH_PORT),
            tokens: a.tokens.unwrap_or_default(),
            second_factor: authn.second_factor.unwrap_or_default(),
            keep_alive_interval,
            keep_alive_count_max,
            leaf_cert_ttl: a.leaf_cert_ttl.map_or(tether_auth::LEAF_CERT_TTL, |t| t.0),
            remote_cluster_ttl: a.remote_cluster_ttl.map(|t| t.0),
            ca_key_file: key_file.map(|f| host.under_data(&f.0)),
            ca_pkcs11,
        })
    }

    /// `auth_service.ca_key_params.pkcs11`: the module, the token, and one of `pin` and
    /// `pin_path`.
    fn pkcs11(&self, p: RawPkcs11, host: &Host) -> Result<Pkcs11Settings, ParseError> {
        const AT: &str = "auth_service.ca_key_params.pkcs11";
        let missing = |field: &str| self.error(AT, &format!("{AT}.{field}"), "is required");
        let module_path = PathBuf::from(p.module_path.ok_or_else(|| missing("module_path"))?.0);
        let token_label = p.token_label.ok_or_else(|| missing("token_label"))?.0;
        let pin = match (p.pin, p.pin_path) {
            (Some(pin), None) => Pin::Value(pin.0),
            (None, Some(path)) => Pin::File(host.under_data(&path.0)),
            (Some(_), Some(_)) => {
                return Err(self.error(
                    &format!("{AT}.pin_path"),
                    &format!("{AT}.pin_path"),
                    "set pin or pin_path, not both",
                ));
            }
            (None, None) => return Err(missing("pin (or pin_path)")),
        };
        Ok(Pkcs11Settings { module_path, token_label, pin })
    }

    /// Without a local auth service, a proxy needs `auth_server` and a node `auth_server` or
    /// `proxy_server`.
    fn check_reach(&self, proxy: bool, ssh: bool, auth_server: bool, proxy_server: bool) -> Result<(), ParseError> {
        if proxy && !auth_server {
            return Err(self.error(
                "proxy_service",
                "proxy_service",
                "a proxy without a local auth_service needs teleport.auth_server to reach its cluster's auth",
            ));
        }
        if ssh && !auth_server && !proxy_server {
            return Err(self.error(
                "ssh_service",
                "ssh_service",
                "a node without a local auth_service needs teleport.auth_server or teleport.proxy_server to join a cluster",
            ));
        }
        Ok(())
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

/// `teleport.log`: a file output is joined to `data_dir` when relative.
fn log(raw: RawLog, host: &Host) -> LogConfig {
    LogConfig {
        output: match raw.output.map_or(LogOutput::Stderr, |o| o.0) {
            LogOutput::File(p) => LogOutput::File(host.under_data(&p.to_string_lossy())),
            other => other,
        },
        severity: raw.severity.unwrap_or(Severity::Info),
    }
}

/// `proxy_service`: its four addresses and the HTTPS key pairs (paths under `data_dir`).
fn proxy_service(p: RawProxy, host: &Host) -> ProxyConfig {
    ProxyConfig {
        web_listen_addr: listen_addr(p.web_listen_addr, WEB_PORT),
        listen_addr: listen_addr(p.listen_addr, PROXY_SSH_PORT),
        tunnel_listen_addr: listen_addr(p.tunnel_listen_addr, TUNNEL_PORT),
        public_addr: p.public_addr.map(|l| l.0).unwrap_or_default(),
        ssh_public_addr: p.ssh_public_addr.map(|l| l.0).unwrap_or_default(),
        tunnel_public_addr: p.tunnel_public_addr.map(|l| l.0).unwrap_or_default(),
        https_keypairs: p
            .https_keypairs
            .unwrap_or_default()
            .into_iter()
            .map(|k| KeyPair { key_file: host.under_data(&k.key_file.0), cert_file: host.under_data(&k.cert_file.0) })
            .collect(),
    }
}

/// `ssh_service`: its address and labels.
fn ssh_service(s: RawSsh) -> SshConfig {
    SshConfig { listen_addr: listen_addr(s.listen_addr, SSH_PORT), labels: s.labels.unwrap_or_default() }
}
