//! The HTTPS client of the web API, used by `tctl`, `tsh` and a leaf's auth service.
//!
//! [`ApiClient`] speaks JSON to `https://PROXY/webapi/...` over rustls (ring). Server trust is
//! explicit: the cluster's TLS CAs from a previous login, the public web PKI roots, or — only
//! with `--insecure` — nothing. Client authentication is the user's TLS certificate (mTLS).
//! Failures say which address and why: connection refused, TLS verification, or the API's own
//! error message with its HTTP status.

use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::ring;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde::Serialize;
use serde::de::DeserializeOwned;

use tether_shared::api::ErrorBody;

/// How long one API request may take, connect included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long connecting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer the client reads (`tsh ls --all` over thousands of leaves stays well
/// under it).
pub const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;
/// How often a request whose connection was dropped before it was sent is tried again (a busy
/// proxy sheds unauthenticated connections under load; see the server's `listen.rs`).
pub const CONNECT_RETRIES: u32 = 4;
/// The first retry's delay; each later one doubles it, with jitter.
pub const RETRY_BASE: Duration = Duration::from_millis(100);

/// The delay before retry number `attempt` (0-based): `RETRY_BASE` doubled per attempt, between
/// half and all of it, so clients shed together do not return together.
pub fn retry_delay(attempt: u32) -> Duration {
    use ::ring::rand::SecureRandom;
    let full = RETRY_BASE * 2u32.saturating_pow(attempt.min(6));
    let mut b = [0u8; 2];
    let _ = ::ring::rand::SystemRandom::new().fill(&mut b);
    full.mul_f64(0.5 + 0.5 * f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX))
}

/// Which server certificates to accept.
#[derive(Debug, Clone)]
pub enum ServerTrust {
    /// Certificates chaining to these PEM CA certificates (a cluster's TLS CA).
    Cas(Vec<String>),
    /// Certificates chaining to the public web PKI.
    WebPki,
    /// Any certificate: for tests and first contact with a self-signed proxy only.
    Insecure,
}

/// A client certificate and its key, for mTLS.
#[derive(Debug, Clone)]
pub struct ClientIdentity {
    /// PEM certificate.
    pub cert_pem: String,
    /// PKCS#8 DER private key.
    pub key_pkcs8: Vec<u8>,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Bad configuration (a CA or certificate that does not parse).
    #[error("{0}")]
    Config(String),
    /// A CA pin that does not match what the proxy offers (or is not a pin).
    #[error("{0}")]
    Pin(String),
    /// The server could not be reached.
    #[error("cannot reach {addr}: {cause}")]
    Connect {
        /// The address dialled.
        addr: String,
        /// Why.
        cause: String,
    },
    /// The server's certificate did not verify.
    #[error(
        "the server at {addr} presented an HTTPS certificate that does not verify ({cause}); use a certificate signed by a trusted CA, or --insecure for testing only"
    )]
    Tls {
        /// The address dialled.
        addr: String,
        /// Why.
        cause: String,
    },
    /// The API answered with an error.
    #[error("{message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// The answer was not what the API promises.
    #[error("unexpected answer from {addr}: {cause}")]
    Decode {
        /// The address dialled.
        addr: String,
        /// Why.
        cause: String,
    },
}

impl ClientError {
    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A JSON client for one proxy.
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    addr: String,
    /// Set by [`ApiClient::through_root`]: every `/webapi/...` call goes to this leaf.
    leaf: Option<String>,
}

/// Accepts any server certificate (still checks the handshake signatures).
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn pem_certs(pem: &str) -> Result<Vec<CertificateDer<'static>>, ClientError> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ClientError::Config(format!("cannot read PEM certificate: {e}")))
}

/// Builds the rustls client configuration (ring provider, explicit trust, optional mTLS).
pub fn tls_config(trust: &ServerTrust, identity: Option<&ClientIdentity>) -> Result<ClientConfig, ClientError> {
    let provider = Arc::new(ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Config(format!("TLS setup: {e}")))?;
    let builder = match trust {
        ServerTrust::Insecure => {
            builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
        }
        ServerTrust::WebPki => {
            let roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
            builder.with_root_certificates(roots)
        }
        ServerTrust::Cas(pems) => {
            let mut roots = RootCertStore::empty();
            for pem in pems {
                for cert in pem_certs(pem)? {
                    roots.add(cert).map_err(|e| ClientError::Config(format!("bad CA certificate: {e}")))?;
                }
            }
            builder.with_root_certificates(roots)
        }
    };
    let mut config = match identity {
        None => builder.with_no_client_auth(),
        Some(id) => {
            let chain = pem_certs(&id.cert_pem)?;
            let key = PrivateKeyDer::Pkcs8(id.key_pkcs8.clone().into());
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| ClientError::Config(format!("bad client certificate: {e}")))?
        }
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    if let ServerTrust::Cas(_) = trust {
        // Ask for the certificate from the cluster's TLS CA, which is what this client trusts.
        config.alpn_protocols.push(tether_shared::api::CLUSTER_CA_ALPN.to_vec());
    }
    Ok(config)
}

/// Whether a TLS failure is the server's certificate not verifying (not a dropped connection).
pub fn is_verification_failure(cause: &str) -> bool {
    cause.contains("certificate") || cause.contains("UnknownIssuer") || cause.contains("NotValidForName")
}

/// Describes a reqwest error by its deepest cause, which names what actually failed.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

impl ApiClient {
    /// A client for the proxy at `addr` (`host:port`).
    pub fn new(addr: &str, trust: &ServerTrust, identity: Option<&ClientIdentity>) -> Result<Self, ClientError> {
        let config = tls_config(trust, identity)?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(config)
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            // A request's last segment must not wait for the ACK of the TLS session tickets.
            .tcp_nodelay(true)
            .http1_only()
            .no_proxy()
            .build()
            .map_err(|e| ClientError::Config(format!("HTTP client setup: {}", root_cause(&e))))?;
        Ok(ApiClient { http, addr: addr.to_string(), leaf: None })
    }

    /// The same client, calling leaf `cluster`'s web API through this (root) proxy instead:
    /// `/webapi/X` becomes `/webapi/clusters/CLUSTER/webapi/X`, which the root forwards through
    /// the leaf's tunnel with the caller's leaf-bound identity (`tctl --cluster`).
    pub fn through_root(mut self, cluster: &str) -> Self {
        self.leaf = Some(cluster.to_string());
        self
    }

    /// The leaf this client calls through the root, if any.
    pub fn leaf(&self) -> Option<&str> {
        self.leaf.as_deref()
    }

    /// The proxy address.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    fn url(&self, path: &str) -> String {
        match (&self.leaf, path.strip_prefix("/webapi/")) {
            (Some(leaf), Some(rest)) => format!("https://{}/webapi/clusters/{leaf}/webapi/{rest}", self.addr),
            _ => format!("https://{}{}", self.addr, path),
        }
    }

    fn too_large(&self) -> ClientError {
        ClientError::Connect {
            addr: self.addr.clone(),
            cause: format!("its answer is larger than {} MiB", MAX_ANSWER_BYTES / (1024 * 1024)),
        }
    }

    fn transport_error(&self, err: &reqwest::Error) -> ClientError {
        let cause = root_cause(err);
        if is_verification_failure(&cause) {
            ClientError::Tls { addr: self.addr.clone(), cause }
        } else if cause.contains("handshake eof") || cause.contains("reset by peer") {
            let cause = format!("the server closed the connection before answering ({cause}); it may be overloaded");
            ClientError::Connect { addr: self.addr.clone(), cause }
        } else {
            ClientError::Connect { addr: self.addr.clone(), cause }
        }
    }

    /// Sends `req`; a connection refused, reset or closed before the request went out is tried
    /// again up to [`CONNECT_RETRIES`] times (nothing reached the server, so even a `POST` is
    /// safe to repeat). A certificate that does not verify is never retried.
    async fn send<T: DeserializeOwned>(&self, req: reqwest::RequestBuilder) -> Result<T, ClientError> {
        let mut req = req;
        let mut attempt = 0;
        let resp = loop {
            let next = req.try_clone();
            match req.send().await {
                Ok(resp) => break resp,
                Err(e) => match next {
                    Some(again)
                        if attempt < CONNECT_RETRIES && e.is_connect() && !is_verification_failure(&root_cause(&e)) =>
                    {
                        tokio::time::sleep(retry_delay(attempt)).await;
                        attempt += 1;
                        req = again;
                    }
                    _ => return Err(self.transport_error(&e)),
                },
            }
        };
        let status = resp.status();
        // Bounded: a server (or something posing as one) cannot make the client hold more.
        if resp.content_length().is_some_and(|n| n > MAX_ANSWER_BYTES as u64) {
            return Err(self.too_large());
        }
        let mut resp = resp;
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport_error(&e))? {
            if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(self.too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            let message = serde_json::from_slice::<ErrorBody>(&bytes)
                .map(|b| b.error)
                .unwrap_or_else(|_| format!("HTTP {status}: {}", String::from_utf8_lossy(&bytes).trim()));
            return Err(ClientError::Api { status: status.as_u16(), message });
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| ClientError::Decode { addr: self.addr.clone(), cause: e.to_string() })
    }

    /// `GET path`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.send(self.http.get(self.url(path))).await
    }

    /// `POST path` with a JSON body.
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        self.send(self.http.post(self.url(path)).json(body)).await
    }

    /// `POST path` with a text body (YAML or JSON resources, parsed by the server).
    pub async fn post_text<T: DeserializeOwned>(&self, path: &str, body: &str) -> Result<T, ClientError> {
        self.post_typed(path, "text/plain", body).await
    }

    /// `POST path` with `body` as `content_type`.
    pub async fn post_typed<T: DeserializeOwned>(
        &self,
        path: &str,
        content_type: &str,
        body: &str,
    ) -> Result<T, ClientError> {
        // The server answers 413 and closes before reading a body past its limit: sending it
        // would end in a broken pipe instead of the reason.
        let limit = tether_shared::api::MAX_REQUEST_BYTES;
        if body.len() > limit {
            return Err(ClientError::Api {
                status: 413,
                message: format!(
                    "the request is {} KiB; the web API takes at most {} KiB per request",
                    body.len().div_ceil(1024),
                    limit / 1024
                ),
            });
        }
        self.send(self.http.post(self.url(path)).header("content-type", content_type).body(body.to_string())).await
    }

    /// `PUT path` with a JSON body.
    pub async fn put<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        self.send(self.http.put(self.url(path)).json(body)).await
    }

    /// `DELETE path`.
    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.send(self.http.delete(self.url(path))).await
    }

    /// `GET /webapi/ping`.
    pub async fn ping(&self) -> Result<tether_shared::api::PingResponse, ClientError> {
        self.get("/webapi/ping").await
    }
}

/// The server trust a CA pin gives (`tsh login --ca-pin`, a node's `teleport.ca_pin`): the cluster
/// TLS CAs the proxy at `addr` lists whose pin is among `pins` (comma-separated, `sha256:HEX`;
/// two while the TLS CA rotates). The list is asked without checking the proxy and checked
/// against the pins instead; only the matching CAs are trusted. None matching is an error naming
/// the pins the proxy offered.
pub async fn pinned_trust(addr: &str, pins: &str) -> Result<ServerTrust, ClientError> {
    let pins: Vec<String> = pins.split(',').map(|p| p.trim().to_ascii_lowercase()).filter(|p| !p.is_empty()).collect();
    if pins.is_empty() || pins.iter().any(|p| !p.starts_with("sha256:")) {
        return Err(ClientError::Pin(format!("CA pin {:?}: expected sha256:HEX, as tctl prints it", pins.join(","))));
    }
    let ping = ApiClient::new(addr, &ServerTrust::Insecure, None)?.ping().await?;
    let (matching, other): (Vec<String>, Vec<String>) = ping
        .tls_cas
        .into_iter()
        .partition(|pem| tether_shared::tls_cert::ca_pin(pem).is_some_and(|p| pins.contains(&p)));
    if matching.is_empty() {
        let seen: Vec<String> = other.iter().filter_map(|pem| tether_shared::tls_cert::ca_pin(pem)).collect();
        return Err(ClientError::Pin(format!(
            "the proxy at {addr} offers no TLS CA with pin {} (it offers {}): not the cluster you were told to trust, or someone in between",
            pins.join(","),
            if seen.is_empty() { "none".to_string() } else { seen.join(", ") }
        )));
    }
    Ok(ServerTrust::Cas(matching))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_double_with_jitter_and_stay_bounded() {
        for attempt in 0..CONNECT_RETRIES {
            let full = RETRY_BASE * 2u32.pow(attempt);
            for _ in 0..20 {
                let d = retry_delay(attempt);
                assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?} outside [{:?}, {full:?}]", full / 2);
            }
        }
        assert!(retry_delay(100) <= RETRY_BASE * 64, "capped");
    }

    #[test]
    fn a_dropped_handshake_is_not_called_a_bad_certificate() {
        assert!(is_verification_failure("invalid peer certificate: UnknownIssuer"));
        assert!(!is_verification_failure("tls handshake eof"));
        assert!(!is_verification_failure("Connection reset by peer (os error 104)"));
    }
}
