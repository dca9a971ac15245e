//! The proxy's HTTPS web API: a rustls listener with optional client certificates (mTLS) in
//! front of an axum router.
//!
//! Connections come through the shared listener (`listen.rs`): the TLS handshake and the first
//! request head must arrive within `web_request_timeout`, and every later request head (or the
//! wait for it on an idle keep-alive connection) too, through hyper's header timer. A client
//! certificate is
//! optional; the handshake proves the client holds its key, and then [`Trust::identify_tls_client`](tether_auth::Trust::identify_tls_client)
//! verifies its chain: to this cluster's TLS CA, or to the active TLS CA of a trusted (root)
//! cluster, whose users get their roles through the role map. A certificate that verifies
//! against neither leaves the connection unauthenticated, and calls that need one say why. The identity is attached to every
//! request on the connection. A source address may have `max_requests_per_source` requests in
//! flight, and the endpoints that check a secret without a certificate (login, trusted-cluster
//! validation, node join) are rate limited per source; both answer 429 with `Retry-After`.
//! [`serve`] returns when the shutdown signal fires and requests in flight are answered.

mod answer;
mod handlers;
pub mod leaf;
pub mod ratelimit;
pub mod session;
mod terminal;
mod trust_routes;
pub mod ui;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use rustls::ServerConfig;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tether_shared::api::PingResponse;
use tether_shared::current::Current;
use tether_shared::identity::Identity;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use tether_auth::AuthService;
use tether_edge::listen::{Conn, Listener};

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = tether_shared::api::MAX_REQUEST_BYTES;

/// Shared state of the web API.
pub struct WebState {
    /// The cluster's auth service.
    pub auth: Arc<AuthService>,
    /// The static part of `/webapi/ping`.
    pub ping: PingResponse,
    /// This proxy's tunnels from leaf clusters.
    pub tunnels: Arc<tether_proxy::tunnel::registry::Registry>,
    /// Calls to leaves' web APIs for root users (`tctl --cluster`, `tsh ls --all`).
    pub leaves: Arc<leaf::LeafCaller>,
    /// Signs the user's address for a node this proxy dials (the web UI's terminal).
    pub signer: Arc<Current<tether_shared::proxy_header::Signer>>,
    /// The silence after which a leaf shows `offline`.
    pub offline_window: Duration,
    /// The network edge's limits.
    pub limits: tether_edge::limits::ConnectionLimits,
    /// Per-source rate of the unauthenticated endpoints.
    pub unauthenticated_rate: ratelimit::RateLimiter,
}

/// Who is on the other end of a connection.
#[derive(Clone, Debug)]
pub struct Peer {
    /// The client's address.
    pub addr: SocketAddr,
    /// The identity of its verified client certificate, if it sent one (for a user of a
    /// trusted cluster: with the mapped local roles).
    pub identity: Option<Identity>,
    /// For a user of a trusted cluster: the roles their own cluster gave them.
    pub remote_roles: Option<Vec<String>>,
    /// Why a client certificate that was sent was not accepted.
    pub refused: Option<String>,
    /// The Ed25519 key of the verified client certificate (the handshake proved the client holds
    /// it): a certificate the caller asks for must certify this key.
    pub key: Option<[u8; 32]>,
}

/// Accepts any client certificate during the handshake (rustls still checks that the client
/// holds its key); the chain is verified right after, against the CAs trusted at that moment,
/// which change when trusted clusters do.
#[derive(Debug)]
struct DeferredClientVerifier(Arc<rustls::crypto::CryptoProvider>);

impl rustls::server::danger::ClientCertVerifier for DeferredClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        Ok(rustls::server::danger::ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Builds the TLS configuration: the server certificate and key, and client certificates
/// optional, their chains verified after the handshake (see the module docs).
pub fn tls_config(cert: Arc<HttpsCert>) -> Result<Arc<ServerConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(DeferredClientVerifier(provider.clone()));
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS versions: {e}"))?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(cert);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The HTTPS certificates new handshakes get: the one from the cluster's TLS CA (renewed in
/// place when the CA moves to a phase with another signing key), and the operator's
/// (`https_keypairs`, reloaded when its files change) if any. A client that offers
/// [`tether_shared::api::CLUSTER_CA_ALPN`] trusts the cluster's CA and gets the cluster's
/// certificate; every other client (a browser) gets the operator's when there is one.
#[derive(Debug)]
pub struct HttpsCert {
    cluster: Current<rustls::sign::CertifiedKey>,
    operator: Current<Option<Arc<rustls::sign::CertifiedKey>>>,
}

/// A certificate chain (leaf first) and its private key.
pub type Chain = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

impl HttpsCert {
    /// The cluster's certificate chain (leaf first) with its private key.
    pub fn new(cluster: Chain) -> Result<Arc<Self>, String> {
        Ok(Arc::new(HttpsCert { cluster: Current::new(certified(cluster)?), operator: Current::new(None) }))
    }

    /// Presents the cluster's `chain` from the next handshake on.
    pub fn set(&self, chain: Chain) -> Result<(), String> {
        self.cluster.set(certified(chain)?);
        Ok(())
    }

    /// Presents the operator's `chain` to clients that do not ask for the cluster's, from the
    /// next handshake on.
    pub fn set_operator(&self, chain: Chain) -> Result<(), String> {
        self.operator.set(Some(Arc::new(certified(chain)?)));
        Ok(())
    }
}

fn certified((chain, key): Chain) -> Result<rustls::sign::CertifiedKey, String> {
    if chain.is_empty() {
        return Err("server certificate: the chain holds no certificate".into());
    }
    let key = rustls::crypto::ring::sign::any_supported_type(&key).map_err(|e| format!("server certificate: {e}"))?;
    let certified = rustls::sign::CertifiedKey::new(chain, key);
    // A key that is not the certificate's would fail every handshake.
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => Ok(certified),
        Err(e) => Err(format!("server certificate: the private key is not the certificate's: {e}")),
    }
}

impl rustls::server::ResolvesServerCert for HttpsCert {
    fn resolve(&self, hello: rustls::server::ClientHello<'_>) -> Option<Arc<rustls::sign::CertifiedKey>> {
        let wants_cluster = hello.alpn().is_some_and(|mut ids| ids.any(|id| id == tether_shared::api::CLUSTER_CA_ALPN));
        match (*self.operator.get()).clone() {
            Some(operator) if !wants_cluster => Some(operator),
            _ => Some(self.cluster.get()),
        }
    }
}

/// Requests one source has in flight, per listener; entries leave with their last request.
#[derive(Default)]
struct InFlight(std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>);

/// One request in flight, counted until dropped.
struct InFlightGuard<'a> {
    map: &'a InFlight,
    ip: std::net::IpAddr,
}

impl InFlight {
    fn enter(&self, ip: std::net::IpAddr, cap: usize) -> Option<InFlightGuard<'_>> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(ip).or_insert(0);
        if *n >= cap {
            return None;
        }
        *n += 1;
        Some(InFlightGuard { map: self, ip })
    }
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        let mut map = self.map.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// An error response with `Retry-After`, for a request refused by a limit.
fn too_many(why: String, retry_after: Duration) -> axum::response::Response {
    use axum::response::IntoResponse;
    answer::ApiError(tether_auth::AuthError::RateLimited { message: why, retry_after }).into_response()
}

/// Serves the web API on `listener` until `shutdown` turns true, then lets requests in flight
/// finish (keep-alive connections close after their current request).
pub async fn serve(listener: Listener, tls: Arc<ServerConfig>, state: Arc<WebState>, shutdown: watch::Receiver<bool>) {
    let router = handlers::router(state.clone());
    let acceptor = TlsAcceptor::from(tls);
    let in_flight = Arc::new(InFlight::default());
    listener
        .serve(shutdown, move |conn: Conn| {
            serve_connection(conn, acceptor.clone(), router.clone(), state.clone(), in_flight.clone())
        })
        .await;
}

/// Whether the client's first bytes are a plain HTTP request line (a method in capitals and a
/// space) rather than a TLS handshake (which starts with the byte 0x16).
async fn plain_http(stream: &mut tether_edge::guarded::Guarded<tokio::net::TcpStream>) -> bool {
    let mut head = [0u8; 8];
    match stream.peek(&mut head).await {
        Ok(n) if n > 0 => {
            let head = head.get(..n).unwrap_or_default();
            let method_len = head.iter().take_while(|b| b.is_ascii_uppercase()).count();
            method_len >= 3 && head.get(method_len) == Some(&b' ')
        }
        _ => false,
    }
}

async fn serve_connection(
    conn: Conn,
    acceptor: TlsAcceptor,
    router: axum::Router,
    state: Arc<WebState>,
    in_flight: Arc<InFlight>,
) {
    let Conn { mut stream, peer: addr, gate, mut shutdown, .. } = conn;
    // Plain HTTP sent to this HTTPS port gets one line saying so, not TLS bytes.
    if plain_http(&mut stream).await {
        use tokio::io::AsyncWriteExt;
        let local = stream.local_addr().map_or_else(|_| "HOST:PORT".to_string(), |a| a.to_string());
        let text = format!("this is an HTTPS port: use https://{local}/ (tsh and tctl take --proxy={local})\n");
        let answer = format!(
            "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
            text.len()
        );
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
        return tracing::debug!(%addr, "web: plain HTTP on the HTTPS port");
    }
    // The listener closes the socket if the handshake and the first request head do not arrive
    // within the web request timeout.
    let tls = match acceptor.accept(stream).await {
        Ok(tls) => tls,
        Err(e) => return tracing::debug!(%addr, "web: TLS handshake failed: {e}"),
    };
    let auth = state.auth.clone();
    let cert = tls.get_ref().1.peer_certificates().and_then(|certs| certs.first()).map(|c| c.to_vec());
    let (identity, remote_roles, refused, key) = match cert {
        Some(der) => match auth.trust().identify_tls_client(&der).await {
            Ok((id, remote)) => (Some(id), remote, None, tether_shared::tls_cert::subject_ed25519_key(&der).ok()),
            Err(why) => (None, None, Some(why.to_string()), None),
        },
        None => (None, None, None, None),
    };
    if identity.is_some() {
        gate.pass();
    }
    // A trusted cluster's user is re-checked on every request: a trust disabled or removed
    // while the connection stays open ends their access at once.
    let remote_cluster = remote_roles.as_ref().and(identity.as_ref()).map(|id| id.cluster.clone());
    let peer = Peer { addr, identity, remote_roles, refused, key };
    let limits = state.limits.clone();
    let header_timeout = limits.web_request_timeout;
    let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        // A request head arrived in time: from here on hyper's header timeout applies.
        gate.disarm();
        req.extensions_mut().insert(peer.clone());
        let (router, auth, remote_cluster, in_flight, state) =
            (router.clone(), auth.clone(), remote_cluster.clone(), in_flight.clone(), state.clone());
        let limited = UNAUTHENTICATED_PATHS.contains(&req.uri().path());
        let limits = limits.clone();
        async move {
            let Some(_in_flight) = in_flight.enter(addr.ip(), limits.max_requests_per_source) else {
                let why = format!("too many requests in flight from {} (max_requests_per_source)", addr.ip());
                return Ok(too_many(why, Duration::from_secs(1)));
            };
            if limited && let Err(wait) = state.unauthenticated_rate.check(addr.ip()) {
                let why = format!("too many requests from {}; retry in {}s", addr.ip(), wait.as_secs().max(1));
                return Ok(too_many(why, wait));
            }
            // A browser session (the UI's cookie) stands in for a client certificate.
            if let Some(mut peer) = req.extensions().get::<Peer>().cloned()
                && peer.identity.is_none()
                && peer.refused.is_none()
            {
                if let Err(answer) = session::authenticate(&state, req.headers(), req.method(), &mut peer).await {
                    return Ok(answer);
                }
                req.extensions_mut().insert(peer);
            }
            if let Some(cluster) = &remote_cluster
                && !auth.trust().trust_active(cluster).await
            {
                use axum::response::IntoResponse;
                let why = format!("the trust in cluster {cluster} was disabled or removed");
                return Ok(answer::ApiError(tether_auth::AuthError::Forbidden(why)).into_response());
            }
            router.oneshot(req.map(axum::body::Body::new)).await
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        // Each request head (also the wait for the next one on a keep-alive connection) must
        // arrive within the web request timeout.
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(tls), service)
        // The web UI's terminal is a WebSocket (an HTTP upgrade).
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => if let Err(e) = result {
            tracing::debug!(%addr, "web: connection ended: {e}");
        },
        () = tether_edge::listen::until_shutdown(&mut shutdown) => {
            conn.as_mut().graceful_shutdown();
            if let Err(e) = conn.await {
                tracing::debug!(%addr, "web: connection ended: {e}");
            }
        }
    }
}

/// Endpoints that take no client certificate and check a secret (password, invite, join or
/// trust token): rate limited per source address.
pub(crate) const UNAUTHENTICATED_PATHS: &[&str] = &[
    "/webapi/login",
    "/web/login",
    "/webapi/trustedclusters/validate",
    "/webapi/trustedclusters/check",
    "/webapi/nodes/join",
];
