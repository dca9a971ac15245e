//! The proxy's HTTPS web API: a rustls listener with optional client certificates (mTLS) in
//! front of an axum router.
//!
//! Each connection gets a TLS handshake under [`TLS_HANDSHAKE_TIMEOUT`]; a client certificate,
//! when presented, must chain to the cluster's TLS CA (rustls' WebPKI verifier) and its identity
//! is attached to every request on the connection. At most [`MAX_CONNECTIONS`] are served at
//! once. [`serve`] returns when the shutdown signal fires.

mod handlers;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use rustls::ServerConfig;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tether_shared::api::PingResponse;
use tether_shared::identity::Identity;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::auth::Auth;

/// How long a client may take to finish the TLS handshake.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The most connections served at once.
pub const MAX_CONNECTIONS: usize = 1024;
/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Shared state of the web API.
pub struct WebState {
    /// The cluster's auth service.
    pub auth: Arc<Auth>,
    /// The static part of `/webapi/ping`.
    pub ping: PingResponse,
}

/// Who is on the other end of a connection.
#[derive(Clone, Debug)]
pub struct Peer {
    /// The client's address.
    pub addr: SocketAddr,
    /// The identity of its verified client certificate, if it sent one.
    pub identity: Option<Identity>,
}

/// Builds the TLS configuration: the server certificate and key, and client certificates
/// optional but verified against `client_ca`.
pub fn tls_config(
    cert_chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    client_ca: &CertificateDer<'static>,
) -> Result<Arc<ServerConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(client_ca.clone()).map_err(|e| format!("cluster TLS CA: {e}"))?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .map_err(|e| format!("client verifier: {e}"))?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS versions: {e}"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(cert_chain, key)
        .map_err(|e| format!("server certificate: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves the web API on `listener` until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    state: Arc<WebState>,
    mut shutdown: watch::Receiver<bool>,
) {
    let router = handlers::router(state.clone());
    let acceptor = TlsAcceptor::from(tls);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let (tcp, addr) = tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!("web: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%addr, "web: connection limit reached, refusing");
            continue;
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        let mut stop = shutdown.clone();
        let tls_ca = state.auth.tls_ca().cert_der().clone();
        connections.spawn(async move {
            let _permit = permit;
            let tls = match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => return tracing::debug!(%addr, "web: TLS handshake failed: {e}"),
                Err(_) => return tracing::debug!(%addr, "web: TLS handshake timed out"),
            };
            let identity = tls.get_ref().1.peer_certificates().and_then(|certs| certs.first()).and_then(|der| {
                tether_shared::tls_cert::verify_client_cert(
                    der,
                    std::slice::from_ref(&tls_ca),
                    std::time::SystemTime::now(),
                )
                .map_err(|e| tracing::debug!(%addr, "web: client certificate refused: {e}"))
                .ok()
            });
            let peer = Peer { addr, identity };
            let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(peer.clone());
                router.clone().oneshot(req.map(axum::body::Body::new))
            });
            let conn = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tls), service);
            tokio::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => if let Err(e) = result {
                    tracing::debug!(%addr, "web: connection ended: {e}");
                },
                _ = stop.changed() => conn.as_mut().graceful_shutdown(),
            }
        });
        while connections.try_join_next().is_some() {}
    }
    connections.shutdown().await;
}
