//! A simulated leaf's web API for `tunnels --ls-all`: it answers the root's transports to `@web`
//! behind the real tunnel framing, with TLS from the leaves' CA, checks the root user's
//! leaf-bound client certificate as a real leaf does, and serves `GET /webapi/nodes`.

use std::sync::Arc;

use anyhow::Result;
use tokio::io::AsyncWriteExt;

/// What a simulated leaf's web API serves (`--ls-all`): its TLS setup and the nodes answer.
pub struct LeafWeb {
    tls: tokio_rustls::TlsAcceptor,
    /// `GET /webapi/nodes`, JSON.
    nodes: hyper::body::Bytes,
}

impl LeafWeb {
    /// A server certificate for every `*.leaves.bench` leaf from the leaves' TLS CA; client
    /// certificates must chain to the root's TLS CA.
    pub fn new(leaves_ca: &tether_shared::tls_cert::TlsCa, root_ca_pem: &str, nodes: usize) -> Result<LeafWeb> {
        let now = time::OffsetDateTime::now_utc();
        let cert = leaves_ca.issue_server_cert(
            &["*.leaves.bench".to_string()],
            &[],
            now - time::Duration::minutes(1),
            now + time::Duration::hours(2),
        )?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        use rustls_pki_types::pem::PemObject;
        for der in rustls_pki_types::CertificateDer::pem_slice_iter(root_ca_pem.as_bytes()) {
            roots.add(der?)?;
        }
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build()?;
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![cert.cert_der], cert.key_der.into())?;
        let list: Vec<tether_shared::resource::Resource> = (0..nodes)
            .map(|i| {
                let mut node = tether_shared::resource::Node::new(
                    format!("node-{i}"),
                    tether_shared::resource::NodeSpec {
                        hostname: format!("node-{i}"),
                        addr: format!("10.0.0.{}:3022", i % 250 + 1),
                    },
                );
                node.metadata.labels.insert("env".into(), "bench".into());
                tether_shared::resource::Resource::Node(node)
            })
            .collect();
        Ok(LeafWeb { tls: tokio_rustls::TlsAcceptor::from(Arc::new(config)), nodes: serde_json::to_vec(&list)?.into() })
    }

    /// One transport from the root: `OK`, TLS, then HTTP until the root hangs up. The client
    /// certificate must be bound to `leaf`, as a real leaf checks.
    pub async fn serve(self: Arc<Self>, leaf: String, channel: russh::Channel<russh::client::Msg>) {
        let (mut stream, pump) = tether_proxy::tunnel::flow::wrap(channel);
        let web = async move {
            stream.write_all(format!("{}\n", tether_shared::tunnel::STATUS_OK).as_bytes()).await?;
            let tls = self.tls.accept(stream).await?;
            let bound = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .and_then(|der| tether_shared::tls_cert::identity_from_client_cert(der).ok())
                .is_some_and(|id| id.route_to_cluster.as_deref() == Some(leaf.as_str()));
            let nodes = self.nodes.clone();
            let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let answer = if !bound {
                    (hyper::StatusCode::FORBIDDEN, hyper::body::Bytes::from_static(b"{\"error\":\"not bound\"}"))
                } else if req.uri().path() == "/webapi/nodes" {
                    (hyper::StatusCode::OK, nodes.clone())
                } else {
                    (hyper::StatusCode::NOT_FOUND, hyper::body::Bytes::from_static(b"{\"error\":\"no such endpoint\"}"))
                };
                async move {
                    hyper::Response::builder()
                        .status(answer.0)
                        .header(hyper::header::CONTENT_TYPE, "application/json")
                        .body(http_body_util::Full::new(answer.1))
                }
            });
            hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await?;
            anyhow::Ok(())
        };
        let _ = tokio::join!(web, pump);
    }
}
