//! The PostgreSQL connection string (`teleport.storage.conn_string`), its TLS settings, and the
//! one-line description of a failed connection.
//!
//! Both libpq forms are accepted: a URL (`postgres://user:password@host:5432/db?sslmode=…`) and
//! `key=value` pairs (`host=db user=tether sslmode=verify-full …`). tokio-postgres parses
//! everything but the TLS parameters, which it does not know; those are taken out here first:
//!
//! - `sslmode=verify-full` (the default when absent): TLS, the server's certificate must chain to
//!   `sslrootcert=PATH` (PEM, required) and name the host;
//! - `sslmode=disable`: no TLS, accepted only when every host is loopback (`localhost`, 127.0.0.0/8,
//!   `::1`) or a Unix socket directory;
//! - `sslcert=PATH` + `sslkey=PATH` (PEM, both or neither): a client certificate.
//!
//! Other modes (`prefer`, `require`, `verify-ca`, …) are refused: each leaves the connection open
//! to an impostor. Passwords come from the string (`user:password@` or `password=`).

use std::fmt::Write as _;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

/// The port PostgreSQL listens on when the string names none.
const DEFAULT_PORT: u16 = 5432;

/// How long one connection attempt may take, unless the string sets `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed connection string: the tokio-postgres configuration and Tether's TLS settings.
#[derive(Debug, Clone)]
pub struct ConnSpec {
    /// Everything tokio-postgres understands (TLS mode set from `tls`).
    pub pg: tokio_postgres::Config,
    /// `None` for `sslmode=disable`.
    pub tls: Option<TlsFiles>,
}

/// The PEM files of a verify-full connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// `sslrootcert`: the CA certificates the server's certificate must chain to.
    pub root_cert: PathBuf,
    /// `sslcert` and `sslkey`: the client certificate chain and its key.
    pub client: Option<(PathBuf, PathBuf)>,
}

/// The TLS parameters taken out of the string before tokio-postgres sees it.
#[derive(Debug, Default)]
struct SslParams {
    mode: Option<String>,
    root_cert: Option<String>,
    cert: Option<String>,
    key: Option<String>,
}

impl SslParams {
    /// Takes `key` if it is one of ours; false for anything else.
    fn take(&mut self, key: &str, value: String) -> bool {
        let slot = match key {
            "sslmode" => &mut self.mode,
            "sslrootcert" => &mut self.root_cert,
            "sslcert" => &mut self.cert,
            "sslkey" => &mut self.key,
            _ => return false,
        };
        *slot = Some(value);
        true
    }
}

/// What is wrong with a URL-form connection string, in words (tokio-postgres says only
/// "invalid connection string"): the port, or an empty host.
fn url_mistake(conn: &str) -> Option<String> {
    let rest = conn.strip_prefix("postgres://").or_else(|| conn.strip_prefix("postgresql://"))?;
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let hosts = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    for host in hosts.split(',') {
        // `[::1]:5432`, `db:5432`, `db`.
        let port = match host.rsplit_once(']') {
            Some((_, after)) => after.strip_prefix(':'),
            None => host.rsplit_once(':').map(|(_, p)| p),
        };
        if let Some(port) = port
            && port.parse::<u16>().is_err()
        {
            return Some(format!("port {port:?} is not a number from 1 to 65535"));
        }
        if host.is_empty() {
            return Some("the host is empty".into());
        }
    }
    None
}

impl ConnSpec {
    /// Parses and checks a connection string; the error is one sentence fit for a config error.
    /// Reads no file: the PEM files are loaded when connecting.
    pub fn parse(conn_string: &str) -> Result<ConnSpec, String> {
        let (rest, ssl) = split_ssl_params(conn_string)?;
        let mut pg: tokio_postgres::Config = rest.parse().map_err(|e: tokio_postgres::Error| {
            let why = url_mistake(&rest).unwrap_or_else(|| e.to_string());
            format!(
                "invalid PostgreSQL connection string: {why} (write it as \
                 postgres://USER@HOST:PORT/DB?sslmode=verify-full&sslrootcert=PATH, or as key=value pairs)"
            )
        })?;
        if pg.get_hosts().is_empty() && pg.get_hostaddrs().is_empty() {
            return Err("the PostgreSQL connection string names no host (postgres://USER@HOST:5432/DB)".into());
        }
        let client = match (ssl.cert, ssl.key) {
            (Some(cert), Some(key)) => Some((PathBuf::from(cert), PathBuf::from(key))),
            (None, None) => None,
            _ => return Err("sslcert and sslkey go together: give both or neither".into()),
        };
        let tls = match ssl.mode.as_deref().unwrap_or("verify-full") {
            "verify-full" => {
                let Some(root) = ssl.root_cert else {
                    return Err("sslmode=verify-full needs sslrootcert=PATH (the PEM file of the CA that signed \
                                the server's certificate)"
                        .into());
                };
                Some(TlsFiles { root_cert: PathBuf::from(root), client })
            }
            "disable" => {
                if let Some(host) = non_loopback_host(&pg) {
                    return Err(format!(
                        "sslmode=disable is allowed only for a loopback host, not {host}: use \
                         sslmode=verify-full with sslrootcert=PATH"
                    ));
                }
                if client.is_some() {
                    return Err("sslcert and sslkey need TLS, but sslmode is disable".into());
                }
                None
            }
            other => {
                return Err(format!(
                    "sslmode={other} is not supported: use verify-full (with sslrootcert=PATH), or disable for a \
                     loopback host"
                ));
            }
        };
        pg.ssl_mode(if tls.is_some() { SslMode::Require } else { SslMode::Disable });
        if pg.get_connect_timeout().is_none() {
            pg.connect_timeout(CONNECT_TIMEOUT);
        }
        // Acknowledged means committed and flushed: never let a server or role default of
        // synchronous_commit=off weaken that for Tether's sessions.
        let options = pg.get_options().unwrap_or_default().to_owned();
        if options.contains("synchronous_commit") {
            return Err("options must not set synchronous_commit: Tether keeps it on".into());
        }
        // A host that vanishes inside a write transaction (power loss, a partition: no RST) must
        // not hold the revision counter's row lock, which every write in the cluster waits for,
        // until TCP keepalive notices hours later: the server ends such sessions after 10 s.
        pg.options(
            format!("{options} -c synchronous_commit=on -c idle_in_transaction_session_timeout=10s").trim_start(),
        );
        // And this side notices a black-holed server within about half a minute.
        pg.keepalives(true);
        pg.keepalives_idle(std::time::Duration::from_secs(10));
        pg.tcp_user_timeout(std::time::Duration::from_secs(30));
        Ok(ConnSpec { pg, tls })
    }

    /// `host:port` (comma-separated when several), for messages.
    pub fn target(&self) -> String {
        let ports = self.pg.get_ports();
        let port = |i: usize| ports.get(i).or(ports.first()).copied().unwrap_or(DEFAULT_PORT);
        let hosts: Vec<String> = if self.pg.get_hosts().is_empty() {
            self.pg.get_hostaddrs().iter().map(IpAddr::to_string).collect()
        } else {
            self.pg
                .get_hosts()
                .iter()
                .map(|host| match host {
                    Host::Tcp(name) => name.clone(),
                    Host::Unix(dir) => dir.display().to_string(),
                })
                .collect()
        };
        let mut out = String::new();
        for (i, host) in hosts.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            if host.contains(':') && !host.starts_with('/') {
                let _ = write!(out, "[{host}]:{}", port(i));
            } else {
                let _ = write!(out, "{host}:{}", port(i));
            }
        }
        out
    }

    /// The TLS connector: loads the PEM files (errors name the file).
    pub fn connector(&self) -> Result<RustlsConnect, String> {
        let Some(files) = &self.tls else { return Ok(RustlsConnect { config: None }) };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for cert in read_certs("sslrootcert", &files.root_cert)? {
            roots.add(cert).map_err(|e| format!("sslrootcert {}: {e}", files.root_cert.display()))?;
        }
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup: {e}"))?
            .with_root_certificates(roots);
        let config = match &files.client {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let chain = read_certs("sslcert", cert)?;
                let key_der = PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| format!("sslkey {}: cannot read a private key: {e}", key.display()))?;
                builder
                    .with_client_auth_cert(chain, key_der)
                    .map_err(|e| format!("sslcert {} with sslkey {}: {e}", cert.display(), key.display()))?
            }
        };
        Ok(RustlsConnect { config: Some(Arc::new(config)) })
    }
}

/// The certificates of the PEM file the connection string names with `param`.
fn read_certs(param: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{param}={}: cannot read certificates from it: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{param}={}: the file holds no PEM certificate", path.display()));
    }
    Ok(certs)
}

/// The first host that is neither loopback nor a Unix socket, if any.
fn non_loopback_host(pg: &tokio_postgres::Config) -> Option<String> {
    let loopback_ip = |ip: &IpAddr| ip.is_loopback();
    for host in pg.get_hosts() {
        match host {
            Host::Unix(_) => {}
            Host::Tcp(name) => {
                let bare = name.trim_start_matches('[').trim_end_matches(']');
                let ok =
                    name.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
                if !ok {
                    return Some(name.clone());
                }
            }
        }
    }
    pg.get_hostaddrs().iter().find(|ip| !loopback_ip(ip)).map(IpAddr::to_string)
}

/// Splits the TLS parameters off a URL or key/value connection string.
fn split_ssl_params(conn_string: &str) -> Result<(String, SslParams), String> {
    let mut ssl = SslParams::default();
    let trimmed = conn_string.trim();
    if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
        let Some((base, query)) = trimmed.split_once('?') else { return Ok((trimmed.to_owned(), ssl)) };
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decoded = percent_decode(value)?;
            if !ssl.take(key, decoded) {
                kept.push(pair);
            }
        }
        let rest = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
        return Ok((rest, ssl));
    }
    let mut rest = String::new();
    for (key, value) in key_values(trimmed)? {
        if ssl.take(&key, value.clone()) {
            continue;
        }
        if !rest.is_empty() {
            rest.push(' ');
        }
        let _ = write!(rest, "{key}='{}'", value.replace('\\', "\\\\").replace('\'', "\\'"));
    }
    Ok((rest, ssl))
}

/// `%XX` decoding of a URL query value (`+` stays as it is, as libpq does).
fn percent_decode(value: &str) -> Result<String, String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            let byte = hex.and_then(|h| u8::from_str_radix(h, 16).ok());
            // The value may be a password: never echo it.
            let Some(byte) = byte else { return Err("invalid percent-encoding in a connection string value".into()) };
            out.push(byte);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "a connection string value does not decode to UTF-8".to_string())
}

/// The `key=value` pairs of a libpq key/value string (values optionally single-quoted, with
/// backslash escapes).
fn key_values(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(pairs);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            // `key` may be the tail of an unquoted password with a space: do not echo it.
            return Err(
                "invalid PostgreSQL connection string: expected key=value pairs (quote values with spaces)".into()
            );
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    Some('\'') => break,
                    Some('\\') => match chars.next() {
                        Some(c) => value.push(c),
                        None => return Err("invalid PostgreSQL connection string: unterminated quote".into()),
                    },
                    Some(c) => value.push(c),
                    None => return Err("invalid PostgreSQL connection string: unterminated quote".into()),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    if let Some(escaped) = chars.next() {
                        value.push(escaped);
                    }
                } else {
                    value.push(c);
                }
            }
        }
        pairs.push((key, value));
    }
}

/// Why a connection failed, in a few words (`connection refused`, `password authentication
/// failed for user "tether"`, `invalid peer certificate: UnknownIssuer`).
pub fn cause(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.message().to_owned();
    }
    let mut deepest: &dyn std::error::Error = e;
    while let Some(source) = deepest.source() {
        deepest = source;
    }
    let mut text = deepest.to_string();
    if let Some(at) = text.find(" (os error ") {
        text.truncate(at);
    }
    let mut chars = text.chars();
    match chars.next() {
        Some(first) if chars.clone().next().is_some_and(char::is_lowercase) => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => text,
    }
}

/// tokio-postgres's TLS hook on tokio-rustls (ring): verify-full, optional client certificate.
/// With `config: None` (sslmode=disable) tokio-postgres never starts TLS.
#[derive(Clone)]
pub struct RustlsConnect {
    config: Option<Arc<rustls::ClientConfig>>,
}

impl std::fmt::Debug for RustlsConnect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RustlsConnect").field("tls", &self.config.is_some()).finish()
    }
}

impl<S> MakeTlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnectOne;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnectOne, io::Error> {
        // Called for every host, TLS or not (a Unix socket has no name): fail only on use.
        let name = ServerName::try_from(domain.to_owned()).map_err(|e| e.to_string());
        Ok(RustlsConnectOne { config: self.config.clone(), name })
    }
}

/// One TLS handshake with a named server.
pub struct RustlsConnectOne {
    config: Option<Arc<rustls::ClientConfig>>,
    name: Result<ServerName<'static>, String>,
}

impl<S> TlsConnect<S> for RustlsConnectOne
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let config = self.config.ok_or_else(|| io::Error::other("TLS is disabled (sslmode=disable)"))?;
            let name = self.name.map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            let tls = tokio_rustls::TlsConnector::from(config).connect(name, stream).await?;
            Ok(RustlsStream(Box::new(tls)))
        })
    }
}

/// A TLS stream to the server.
pub struct RustlsStream<S>(Box<tokio_rustls::client::TlsStream<S>>);

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        // No tls-server-end-point binding (it needs the hash of the certificate's signature
        // algorithm): SCRAM runs without the -PLUS variant. verify-full already authenticates the
        // server, which is what channel binding would add.
        ChannelBinding::none()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(s: &str) -> ConnSpec {
        ConnSpec::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn refused(s: &str) -> String {
        ConnSpec::parse(s).err().unwrap_or_else(|| panic!("{s} was accepted"))
    }

    #[test]
    fn url_with_verify_full() {
        let s = spec(
            "postgres://tether:s%40cret@db.example.com:6432/tether?sslmode=verify-full&sslrootcert=/etc/ca%20x.pem&application_name=t",
        );
        assert_eq!(s.tls, Some(TlsFiles { root_cert: PathBuf::from("/etc/ca x.pem"), client: None }));
        assert_eq!(s.pg.get_password(), Some(&b"s@cret"[..]));
        assert_eq!(s.pg.get_dbname(), Some("tether"));
        assert_eq!(s.pg.get_application_name(), Some("t"));
        assert_eq!(s.pg.get_ssl_mode(), SslMode::Require);
        assert_eq!(s.target(), "db.example.com:6432");
        assert_eq!(s.pg.get_options(), Some("-c synchronous_commit=on -c idle_in_transaction_session_timeout=10s"));
        assert_eq!(s.pg.get_keepalives_idle(), std::time::Duration::from_secs(10));
    }

    #[test]
    fn key_value_with_client_cert() {
        let s = spec(
            "host=db.example.com user=tether password='a b\\'c' sslmode=verify-full sslrootcert=/ca.pem \
             sslcert=/c.pem sslkey=/k.pem",
        );
        let client = Some((PathBuf::from("/c.pem"), PathBuf::from("/k.pem")));
        assert_eq!(s.tls, Some(TlsFiles { root_cert: PathBuf::from("/ca.pem"), client }));
        assert_eq!(s.pg.get_password(), Some(&b"a b'c"[..]));
        assert_eq!(s.target(), "db.example.com:5432");
    }

    #[test]
    fn disable_only_on_loopback() {
        for ok in [
            "postgres://u@127.0.0.1:5/d?sslmode=disable",
            "postgres://u@localhost/d?sslmode=disable",
            "postgres://u@[::1]:7/d?sslmode=disable",
            "host=/run/postgresql user=u sslmode=disable",
            "host=127.0.0.2 port=9 sslmode=disable",
        ] {
            assert!(spec(ok).tls.is_none(), "{ok}");
        }
        let e = refused("postgres://u@db.example.com/d?sslmode=disable");
        assert!(e.contains("loopback host, not db.example.com"), "{e}");
        let e = refused("host=localhost,10.0.0.1 sslmode=disable");
        assert!(e.contains("not 10.0.0.1"), "{e}");
    }

    #[test]
    fn refusals() {
        assert!(refused("postgres://u@db/d").contains("needs sslrootcert"));
        assert!(refused("postgres://u@db/d?sslmode=require").contains("sslmode=require is not supported"));
        assert!(refused("postgres://u@db/d?sslmode=prefer").contains("not supported"));
        assert!(refused("postgres://u@db/d?sslmode=verify-full&sslrootcert=/x&sslcert=/c").contains("go together"));
        assert!(refused("postgres://u@db/d?sslrootcert=/x&bogus=1").contains("invalid PostgreSQL connection string"));
        // tokio-postgres says only "invalid connection string": the mistake is named.
        let bad_port = refused("postgresql://u@127.0.0.1:notaport/db?sslrootcert=/x");
        assert!(bad_port.contains(r#"port "notaport" is not a number from 1 to 65535"#), "{bad_port}");
        assert!(bad_port.contains("write it as postgres://USER@HOST:PORT/DB"), "{bad_port}");
        assert!(refused("postgres://u@[::1]:99999/d?sslrootcert=/x").contains(r#"port "99999""#));
        assert!(refused("user=u sslmode=disable").contains("names no host"));
        assert!(refused("host=localhost password='open").contains("unterminated"));
        assert!(
            refused("postgres://u@localhost/d?sslmode=disable&options=-c%20synchronous_commit%3Doff")
                .contains("synchronous_commit")
        );
    }
}
