//! The proxy's HTTPS web API: a rustls listener with optional client certificates (mTLS) in
//! front of an axum router.
//!
//! Each connection gets a TLS handshake under [`TLS_HANDSHAKE_TIMEOUT`]. A client certificate is
//! optional; the handshake proves the client holds its key, and then [`Auth::identify_tls_client`]
//! verifies its chain: to this cluster's TLS CA, or to the active TLS CA of a trusted (root)
//! cluster, whose users get their roles through the role map. A certificate that verifies
//! against neither leaves the connection unauthenticated, and calls that need one say why. The identity is attached to every
//! request on the connection. At most [`MAX_CONNECTIONS`] are served at once. [`serve`] returns
//! when the shutdown signal fires.

mod handlers;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use rustls::ServerConfig;
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
    /// This proxy's tunnels from leaf clusters.
    pub tunnels: Arc<crate::tunnel::registry::Registry>,
    /// The silence after which a leaf shows `offline`.
    pub offline_window: Duration,
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
pub fn tls_config(
    cert_chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(DeferredClientVerifier(provider.clone()));
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
        let auth = state.auth.clone();
        connections.spawn(async move {
            let _permit = permit;
            let tls = match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => return tracing::debug!(%addr, "web: TLS handshake failed: {e}"),
                Err(_) => return tracing::debug!(%addr, "web: TLS handshake timed out"),
            };
            let cert = tls.get_ref().1.peer_certificates().and_then(|certs| certs.first()).map(|c| c.to_vec());
            let (identity, remote_roles, refused) = match cert {
                Some(der) => match auth.identify_tls_client(&der).await {
                    Ok((id, remote)) => (Some(id), remote, None),
                    Err(why) => (None, None, Some(why)),
                },
                None => (None, None, None),
            };
            // A trusted cluster's user is re-checked on every request: a trust disabled or removed
            // while the connection stays open ends their access at once.
            let remote_cluster = remote_roles.as_ref().and(identity.as_ref()).map(|id| id.cluster.clone());
            let peer = Peer { addr, identity, remote_roles, refused };
            let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(peer.clone());
                let (router, auth, remote_cluster) = (router.clone(), auth.clone(), remote_cluster.clone());
                async move {
                    if let Some(cluster) = &remote_cluster
                        && !auth.trust_active(cluster).await
                    {
                        use axum::response::IntoResponse;
                        let why = format!("the trust in cluster {cluster} was disabled or removed");
                        return Ok(crate::auth::AuthError::Forbidden(why).into_response());
                    }
                    router.oneshot(req.map(axum::body::Body::new)).await
                }
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
