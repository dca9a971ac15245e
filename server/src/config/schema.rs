//! What `tether.yaml` looks like: the serde schema of the file as written, section by section
//! (`RawFile` and the `Raw*` structs, all `deny_unknown_fields`), and the scalar types that check
//! a value while it is read (addresses, durations within their ranges, counts, flags, names,
//! static tokens, severities), so that a bad value is reported at its own line and column.
//! Nothing here applies defaults or looks across keys; that is `resolve.rs`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use tether_shared::names::{validate_cluster_name, validate_name};

use super::settings::{LogOutput, SecondFactor, Severity, StaticToken, TokenKind};

/// A value read from one YAML scalar and checked while it is read, so that an error carries the
/// scalar's own line and column.
trait FromConfigStr: Sized {
    fn from_config_str(s: &str) -> Result<Self, String>;
}

pub(super) struct StrVisitor<T>(std::marker::PhantomData<T>);

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
    RemoteClusterTtl,
    RawMaxStartups,
    Timeout,
    IdleTimeout,
    AliveInterval,
    ShutdownGrace,
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
pub(super) struct RawFile {
    pub(super) version: Option<Version>,
    #[serde(default, deserialize_with = "section")]
    pub(super) teleport: Option<RawTeleport>,
    #[serde(default, deserialize_with = "section")]
    pub(super) auth_service: Option<RawAuth>,
    #[serde(default, deserialize_with = "section")]
    pub(super) proxy_service: Option<RawProxy>,
    #[serde(default, deserialize_with = "section")]
    pub(super) ssh_service: Option<RawSsh>,
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
pub(super) enum Version {
    #[serde(rename = "v1")]
    V1,
    #[serde(rename = "v2")]
    V2,
    #[serde(rename = "v3")]
    V3,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTeleport {
    pub(super) nodename: Option<Name>,
    pub(super) data_dir: Option<NonEmpty>,
    pub(super) auth_token: Option<Name>,
    pub(super) ca_pin: Option<NonEmpty>,
    pub(super) auth_server: Option<HostPort>,
    pub(super) auth_servers: Option<Vec<HostPort>>,
    pub(super) proxy_server: Option<HostPort>,
    #[serde(default, deserialize_with = "section")]
    pub(super) log: Option<RawLog>,
    #[serde(default, deserialize_with = "section")]
    pub(super) storage: Option<RawStorage>,
    #[serde(default, deserialize_with = "section")]
    pub(super) connection_limits: Option<RawLimits>,
    #[serde(default, deserialize_with = "section")]
    pub(super) audit: Option<RawAudit>,
    pub(super) kex_algorithms: Option<KexList>,
    pub(super) ciphers: Option<CipherList>,
    pub(super) mac_algorithms: Option<MacList>,
}

/// A list of algorithm names checked while it is read (`shared::ssh_algorithms`), so a wrong
/// name is reported at the list's line and column.
macro_rules! algorithm_list {
    ($($ty:ident: $item:ty => $parse:path),* $(,)?) => {$(
        pub(super) struct $ty(pub(super) Vec<$item>);

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let names = Vec::<String>::deserialize(deserializer)?;
                $parse(&names).map($ty).map_err(serde::de::Error::custom)
            }
        }
    )*};
}

algorithm_list!(
    KexList: russh::kex::Name => tether_shared::ssh_algorithms::AlgorithmLists::parse_kex,
    CipherList: russh::cipher::Name => tether_shared::ssh_algorithms::AlgorithmLists::parse_ciphers,
    MacList: russh::mac::Name => tether_shared::ssh_algorithms::AlgorithmLists::parse_macs,
);

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAudit {
    pub(super) max_file_mb: Option<Count>,
    pub(super) max_files: Option<Count>,
    pub(super) queue_capacity: Option<Count>,
    pub(super) max_value_bytes: Option<Count>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    pub(super) max_connections: Option<Count>,
    pub(super) max_unauthenticated_per_source: Option<Count>,
    pub(super) max_startups: Option<RawMaxStartups>,
    pub(super) login_grace_time: Option<Timeout>,
    pub(super) web_request_timeout: Option<Timeout>,
    pub(super) shutdown_grace: Option<ShutdownGrace>,
    pub(super) max_requests_per_source: Option<Count>,
    pub(super) unauthenticated_rate: Option<Count>,
    pub(super) unauthenticated_burst: Option<Count>,
    pub(super) client_alive_interval: Option<AliveInterval>,
    pub(super) client_alive_count_max: Option<Count>,
    pub(super) idle_timeout: Option<IdleTimeout>,
    pub(super) tunnel_recycle_after: Option<Count>,
    pub(super) max_forwards_per_connection: Option<Count>,
}

/// A count from 1 to 10,000,000.
pub(super) struct Count(pub(super) usize);

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
pub(super) struct RawMaxStartups(pub(super) tether_edge::listen::MaxStartups);

impl FromConfigStr for RawMaxStartups {
    fn from_config_str(s: &str) -> Result<Self, String> {
        tether_edge::listen::MaxStartups::parse(s).map(RawMaxStartups)
    }
}

/// A deadline: a Go duration from 100ms to 1h.
pub(super) struct Timeout(pub(super) Duration);

impl FromConfigStr for Timeout {
    fn from_config_str(s: &str) -> Result<Self, String> {
        let d: tether_shared::duration::GoDuration = s.parse().map_err(|e| format!("{e}"))?;
        if d.0 < Duration::from_millis(100) || d.0 > Duration::from_secs(3600) {
            return Err(format!("{s:?} must be between 100ms and 1h"));
        }
        Ok(Timeout(d.0))
    }
}

/// A Go duration from `MIN_MS` milliseconds to 24h, where `0s` means off. The floor keeps a typo
/// (`1ms` for `1m`) from cutting every session or spinning a timer.
pub(super) struct OffOrDuration<const MIN_MS: u64>(pub(super) Option<Duration>);

/// `idle_timeout`: off, or at least 10s (an interactive session is often silent for seconds).
pub(super) type IdleTimeout = OffOrDuration<10_000>;
/// `client_alive_interval`: off, or at least 1s between keepalives.
pub(super) type AliveInterval = OffOrDuration<1_000>;
/// `shutdown_grace`: off (sessions end at once), or at least 100ms.
pub(super) type ShutdownGrace = OffOrDuration<100>;

impl<const MIN_MS: u64> FromConfigStr for OffOrDuration<MIN_MS> {
    fn from_config_str(s: &str) -> Result<Self, String> {
        let d: tether_shared::duration::GoDuration = s.parse().map_err(|e| format!("{e}"))?;
        if d.0 > Duration::from_secs(24 * 3600) || (!d.0.is_zero() && d.0 < Duration::from_millis(MIN_MS)) {
            let min = if MIN_MS.is_multiple_of(1000) { format!("{}s", MIN_MS / 1000) } else { format!("{MIN_MS}ms") };
            return Err(format!("{s:?} must be 0s (off) or between {min} and 24h"));
        }
        Ok(OffOrDuration((!d.0.is_zero()).then_some(d.0)))
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLog {
    pub(super) output: Option<RawLogOutput>,
    pub(super) severity: Option<Severity>,
}

pub(super) struct RawLogOutput(pub(super) LogOutput);

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
pub(super) struct RawStorage {
    #[serde(rename = "type")]
    pub(super) kind: Option<StorageKind>,
    pub(super) path: Option<NonEmpty>,
    pub(super) conn_string: Option<NonEmpty>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(super) enum StorageKind {
    Sqlite,
    Postgresql,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAuth {
    pub(super) enabled: Option<Flag>,
    pub(super) cluster_name: Option<ClusterName>,
    pub(super) listen_addr: Option<ListenAddr>,
    pub(super) tokens: Option<Vec<StaticToken>>,
    #[serde(default, deserialize_with = "section")]
    pub(super) authentication: Option<RawAuthentication>,
    pub(super) keep_alive_interval: Option<KeepAlive>,
    pub(super) keep_alive_count_max: Option<CountMax>,
    pub(super) leaf_cert_ttl: Option<LeafCertTtl>,
    pub(super) remote_cluster_ttl: Option<RemoteClusterTtl>,
    #[serde(default, deserialize_with = "section")]
    pub(super) ca_key_params: Option<RawCaKeyParams>,
}

/// `auth_service.ca_key_params`: where the CA keys' key-encryption key is, and the HSM new CA
/// keys are made in (Teleport's section and field names).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCaKeyParams {
    pub(super) key_file: Option<NonEmpty>,
    #[serde(default, deserialize_with = "section")]
    pub(super) pkcs11: Option<RawPkcs11>,
}

/// `auth_service.ca_key_params.pkcs11`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPkcs11 {
    pub(super) module_path: Option<NonEmpty>,
    pub(super) token_label: Option<NonEmpty>,
    pub(super) pin: Option<NonEmpty>,
    pub(super) pin_path: Option<NonEmpty>,
}

/// `leaf_cert_ttl`: a Go duration from 5s to 24h.
pub(super) struct LeafCertTtl(pub(super) Duration);

impl FromConfigStr for LeafCertTtl {
    fn from_config_str(s: &str) -> Result<Self, String> {
        let d: tether_shared::duration::GoDuration = s.parse().map_err(|e| format!("{e}"))?;
        if d.0 < Duration::from_secs(5) || d.0 > Duration::from_secs(24 * 3600) {
            return Err(format!("leaf_cert_ttl {s:?} must be between 5s and 24h"));
        }
        Ok(LeafCertTtl(d.0))
    }
}

/// `remote_cluster_ttl`: a Go duration from 1s to 8760h (a year).
pub(super) struct RemoteClusterTtl(pub(super) Duration);

impl FromConfigStr for RemoteClusterTtl {
    fn from_config_str(s: &str) -> Result<Self, String> {
        let d: tether_shared::duration::GoDuration = s.parse().map_err(|e| format!("{e}"))?;
        if d.0 < Duration::from_secs(1) || d.0 > Duration::from_secs(8760 * 3600) {
            return Err(format!("remote_cluster_ttl {s:?} must be between 1s and 8760h"));
        }
        Ok(RemoteClusterTtl(d.0))
    }
}

/// `keep_alive_interval`: a Go duration from 100ms to 5m.
pub(super) struct KeepAlive(pub(super) Duration);

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
pub(super) struct CountMax(pub(super) u32);

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
pub(super) struct RawAuthentication {
    /// Teleport writes `type: local`; it is the only kind tether has.
    #[serde(rename = "type")]
    #[allow(dead_code)] // validated while parsing; `local` is the only kind
    pub(super) kind: Option<AuthenticationKind>,
    pub(super) second_factor: Option<SecondFactor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum AuthenticationKind {
    Local,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProxy {
    pub(super) enabled: Option<Flag>,
    pub(super) web_listen_addr: Option<ListenAddr>,
    pub(super) listen_addr: Option<ListenAddr>,
    pub(super) tunnel_listen_addr: Option<ListenAddr>,
    pub(super) public_addr: Option<AddrList>,
    pub(super) ssh_public_addr: Option<AddrList>,
    pub(super) tunnel_public_addr: Option<AddrList>,
    pub(super) https_keypairs: Option<Vec<RawKeyPair>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKeyPair {
    pub(super) key_file: NonEmpty,
    pub(super) cert_file: NonEmpty,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSsh {
    pub(super) enabled: Option<Flag>,
    pub(super) listen_addr: Option<ListenAddr>,
    pub(super) labels: Option<BTreeMap<String, String>>,
}

/// `enabled`: a boolean, or Teleport's `"yes"`/`"no"`.
#[derive(Clone, Copy)]
pub(super) struct Flag(pub(super) bool);

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
pub(super) struct NonEmpty(pub(super) String);

impl FromConfigStr for NonEmpty {
    fn from_config_str(s: &str) -> Result<Self, String> {
        if s.trim().is_empty() { Err("the value cannot be empty".into()) } else { Ok(NonEmpty(s.to_string())) }
    }
}

/// A name: non-empty, no whitespace, control characters or `/`.
pub(super) struct Name(pub(super) String);

impl FromConfigStr for Name {
    fn from_config_str(s: &str) -> Result<Self, String> {
        validate_name(s).map_err(|e| e.to_string())?;
        Ok(Name(s.to_string()))
    }
}

/// A DNS-like cluster name.
pub(super) struct ClusterName(pub(super) String);

impl FromConfigStr for ClusterName {
    fn from_config_str(s: &str) -> Result<Self, String> {
        validate_cluster_name(s).map_err(|e| e.to_string())?;
        Ok(ClusterName(s.to_string()))
    }
}

/// A `host:port` address another host dials.
pub(super) struct HostPort(pub(super) String);

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
pub(super) struct ListenAddr(pub(super) SocketAddr);

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
pub(super) struct AddrList(pub(super) Vec<String>);

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

impl FromConfigStr for SecondFactor {
    fn from_config_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "off" | "false" => Ok(SecondFactor::Off),
            "otp" => Ok(SecondFactor::Otp),
            _ => Err(format!("unknown second_factor {s:?}, expected off or otp")),
        }
    }
}
