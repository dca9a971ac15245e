//! The config module's tests: defaults, the full example, the sample, every kind of error with
//! its line and key path, and hostile input.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    conn_string: "postgres://tether@db/tether?sslmode=verify-full&sslrootcert=/etc/tether/db-ca.pem"
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
    assert_eq!(
        c.storage,
        StorageConfig::Postgres {
            conn_string: "postgres://tether@db/tether?sslmode=verify-full&sslrootcert=/etc/tether/db-ca.pem".into()
        }
    );
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

/// The sample's PostgreSQL example (indented comment lines, so the check above leaves them alone)
/// is a valid storage section.
#[test]
fn sample_postgresql_example_is_valid() {
    let example: String = sample_config()
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("#   "))
        .filter(|line| line.starts_with("type:") || line.starts_with("conn_string:"))
        .map(|line| format!("    {line}\n"))
        .collect();
    assert!(example.contains("type: postgresql"), "{example}");
    let c = parse("t", &format!("teleport:\n  storage:\n{example}")).unwrap();
    assert!(matches!(c.storage, StorageConfig::Postgres { ref conn_string } if conn_string.contains("verify-full")));
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
    assert_eq!(l.listener.max_startups, tether_edge::listen::MaxStartups { start: 5, rate: 50, full: 20 });
    assert_eq!(l.listener.max_unauthenticated_per_source, 3);
    assert_eq!(l.idle_timeout, Some(Duration::from_secs(600)));
    assert_eq!(l.client_alive_interval, None, "0s turns keepalives off");
    assert_eq!(l.listener.shutdown_grace, Duration::ZERO);
    assert_eq!(l.web_request_timeout, DEFAULT_WEB_REQUEST_TIMEOUT);
    assert_eq!(c.limits.web_listener().login_grace_time, DEFAULT_WEB_REQUEST_TIMEOUT);
    assert_eq!(l.max_forwards_per_connection, DEFAULT_MAX_FORWARDS_PER_CONNECTION);
    let c = parse("t.yaml", "teleport:\n  connection_limits:\n    max_forwards_per_connection: 1000\n").unwrap();
    assert_eq!(c.limits.max_forwards_per_connection, 1000);
    // Deadlines have floors: a typo such as `1ms` for `1m` is refused where it is written.
    assert_error(
        "teleport:\n  connection_limits:\n    idle_timeout: 1ms\n",
        3,
        "teleport.connection_limits.idle_timeout",
        "\"1ms\" must be 0s (off) or between 10s and 24h",
    );
    assert_error(
        "teleport:\n  connection_limits:\n    client_alive_interval: 10ms\n",
        3,
        "teleport.connection_limits.client_alive_interval",
        "between 1s and 24h",
    );
    assert_error(
        "teleport:\n  connection_limits:\n    shutdown_grace: 1ms\n",
        3,
        "teleport.connection_limits.shutdown_grace",
        "between 100ms and 24h",
    );
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
    assert_error("teleport:\n  log:\n    severity: LOUD\n", 3, "teleport.log.severity", "unknown severity \"LOUD\"");
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
        "teleport:\n  storage:\n    type: postgresql\n    conn_string: postgres://tether@db.example.com/t?sslmode=disable\n",
        4,
        "teleport.storage.conn_string",
        "sslmode=disable is allowed only for a loopback host, not db.example.com",
    );
    assert_error(
        "teleport:\n  storage:\n    type: postgresql\n    conn_string: postgres://tether@db.example.com/t\n",
        4,
        "teleport.storage.conn_string",
        "sslmode=verify-full needs sslrootcert=PATH",
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

/// Parses hostile `text`, which must be refused within five seconds (debug build) with one short
/// located line.
fn refused_quickly(text: &str) -> InvalidConfig {
    let start = std::time::Instant::now();
    let e = invalid(text);
    let shown = e.to_string();
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}: {shown:.300}", start.elapsed());
    assert!(shown.starts_with("tether.yaml:"), "{shown:.300}");
    assert!(!shown.contains('\n') && shown.len() < 600, "{} bytes: {shown:.300}", shown.len());
    e
}

#[test]
fn hostile_files_give_one_short_line_quickly() {
    // Billion laughs, in a free-form map (node labels).
    let mut bomb = String::from("ssh_service:\n  labels:\n    a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..9 {
        let p = i - 1;
        bomb += &format!("    a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n");
    }
    let e = refused_quickly(&bomb);
    assert_eq!((e.line, e.path.as_str()), (Some(3), "ssh_service.labels.a0"), "{e}");
    // Deep nesting.
    refused_quickly(&"[".repeat(10_000));
    let e = refused_quickly(&format!("teleport:\n  log: {}\n", "{a: ".repeat(10_000)));
    assert_eq!(e.line, Some(2), "{e}");
    // A huge scalar, echoed only in part.
    let e = refused_quickly(&format!("teleport:\n  nodename: \"a {}\"\n", "b".repeat(8 << 20)));
    assert_eq!((e.line, e.path.as_str()), (Some(2), "teleport.nodename"), "{e:.300}");
    let e = refused_quickly(&format!("teleport:\n  {}: 1\n", "k".repeat(8 << 20)));
    // A key past 1024 characters is no simple key to YAML: this one reads as a long string.
    assert_eq!((e.line, e.path.as_str()), (Some(2), "teleport"), "{e:.300}");
    assert!(e.message.contains("`kkkk") || e.message.contains("\"kkkk"), "{e:.300}");
    // Duplicate keys (placed at the mapping that holds the key twice, naming the key): in a
    // section, and in a free-form map where the last value would silently win.
    let e = refused_quickly("teleport:\n  nodename: a\n  nodename: b\n");
    assert_eq!((e.line, e.path.as_str()), (Some(2), "teleport"), "{e}");
    assert!(e.message.contains("duplicate key `nodename`"), "{e}");
    let e = refused_quickly("ssh_service:\n  labels:\n    env: a\n    env: b\n");
    assert_eq!((e.line, e.path.as_str()), (Some(3), "ssh_service.labels"), "{e}");
    assert!(e.message.contains("duplicate key `env`"), "{e}");
    let e = refused_quickly("teleport:\n  nodename: a\nteleport:\n  data_dir: /x\n");
    assert_eq!(e.line, Some(1), "{e}");
    assert!(e.message.contains("duplicate key `teleport`"), "{e}");
    // Unknown fields.
    let e = refused_quickly("ssh_service:\n  listen: :3022\n");
    assert_eq!((e.line, e.column, e.path.as_str()), (Some(2), Some(3), "ssh_service.listen"), "{e}");
}

#[test]
fn algorithm_lists_replace_or_widen_the_defaults_and_name_a_wrong_entry_where_it_is() {
    let c = parse(
        "t.yaml",
        "teleport:\n  kex_algorithms: [\"+diffie-hellman-group14-sha256\"]\n  ciphers: [aes256-gcm@openssh.com]\n",
    )
    .unwrap();
    let kex = c.ssh_algorithms.kex.as_ref().expect("a kex list");
    assert_eq!(kex.last().map(|k| k.as_ref()), Some("diffie-hellman-group14-sha256"));
    assert!(kex.len() > 1, "+ adds to the default");
    assert_eq!(c.ssh_algorithms.ciphers, Some(vec![russh::cipher::AES_256_GCM]));
    assert_eq!(c.ssh_algorithms.macs, None, "an absent key keeps the default");
    assert_error(
        "teleport:\n  mac_algorithms: [hmac-md5]\n",
        2,
        "teleport.mac_algorithms",
        "unknown MAC \"hmac-md5\" (known: ",
    );
    assert_error("teleport:\n  ciphers: []\n", 2, "teleport.ciphers", "the list of ciphers is empty");
}

#[test]
fn the_key_encryption_key_file_is_joined_to_data_dir() {
    let c = parse("t.yaml", "teleport:\n  data_dir: /var/lib/t\nauth_service:\n  ca_key_params:\n    key_file: kek\n")
        .unwrap();
    assert_eq!(c.auth.and_then(|a| a.ca_key_file), Some(std::path::PathBuf::from("/var/lib/t/kek")));
    let c = parse("t.yaml", "auth_service:\n  ca_key_params:\n    key_file: /etc/tether/ca.kek\n").unwrap();
    assert_eq!(c.auth.and_then(|a| a.ca_key_file), Some(std::path::PathBuf::from("/etc/tether/ca.kek")));
    assert_error(
        "auth_service:\n  ca_key_params:\n    key_file: \"\"\n",
        3,
        "auth_service.ca_key_params.key_file",
        "cannot be empty",
    );
}

#[test]
fn a_remote_cluster_ttl_inside_the_offline_window_is_refused() {
    let c = parse("tether.yaml", "auth_service:\n  remote_cluster_ttl: 720h\n").unwrap();
    assert_eq!(c.auth.unwrap().remote_cluster_ttl, Some(Duration::from_secs(720 * 3600)));
    assert_error(
        "auth_service:\n  remote_cluster_ttl: 10s\n",
        2,
        "auth_service.remote_cluster_ttl",
        "longer than the offline window (keep_alive_interval × keep_alive_count_max = 15s)",
    );
}
