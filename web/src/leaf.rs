//! A root proxy calling a leaf's web API for a root user, through the leaf's tunnel to this
//! proxy: `tctl --cluster=LEAF` (every call forwarded) and `tsh ls --all` (the nodes of every
//! leaf, asked in parallel).
//!
//! The root checks the user's roles against the leaf's `cluster_labels`
//! ([`Trust::delegated_cert`](tether_auth::Trust::delegated_cert)), then speaks HTTPS end to
//! end with the leaf's web API over a tunnel transport to `@web`, presenting a certificate bound
//! to that leaf for the user and this proxy's own key. The leaf verifies it against the root's
//! TLS CA, maps the user's roles through its role map, decides with its own RBAC and audits; the
//! proxy verifies the leaf's certificate against the leaf's TLS CAs stored here.
//!
//! Every call has a deadline ([`CALL_TIMEOUT`], [`LIST_TIMEOUT`] for a fan-out) and an answer
//! size cap ([`MAX_ANSWER_BYTES`]); the tunnel transport's pump and the HTTP connection are
//! tasks owned by the call and stopped when it returns. Certificates are kept for reuse at most
//! [`CERT_REUSE`], so a changed role or label reaches the leaf within that time (the
//! `cluster_labels` check runs at every call).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::body::Bytes;
use rustls::ClientConfig;
use tether_auth::trust::Delegation;
use tether_auth::{AuthError, AuthService};
use tether_proxy::tunnel::registry::Registry;
use tether_shared::tunnel::WEB_TARGET;

/// The longest one forwarded call (`tctl --cluster`) may take, tunnel and TLS included.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(20);
/// The longest one leaf of a fan-out (`tsh ls --all`) may take: a slow leaf is shown as such.
pub const LIST_TIMEOUT: Duration = Duration::from_secs(5);
/// Leaves a fan-out asks at once.
pub const FANOUT: usize = 64;
/// The longest a whole fan-out may take; leaves not answered by then are reported as such.
pub const FANOUT_DEADLINE: Duration = Duration::from_secs(30);
/// Calls to leaves this proxy makes at once, for all users together; more wait (within their
/// deadline).
pub const MAX_CALLS: usize = 256;
/// The largest answer read from a leaf for a forwarded call.
pub const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;
/// The largest node list read from one leaf in a fan-out.
pub const MAX_LIST_BYTES: usize = 4 * 1024 * 1024;
/// How long a certificate issued for a (user, leaf) is reused.
pub const CERT_REUSE: Duration = Duration::from_secs(60);
/// Certificates kept at most; past that the cache starts over.
const CACHE_CAP: usize = 16_384;

/// One request for a leaf.
pub struct LeafRequest {
    /// The HTTP method.
    pub method: hyper::Method,
    /// Path and query on the leaf, `/webapi/...`.
    pub path: String,
    /// The body's media type, if it has a body.
    pub content_type: Option<String>,
    /// The body.
    pub body: Bytes,
    /// The largest answer to read.
    pub max_answer: usize,
}

/// The leaf's answer.
pub struct LeafAnswer {
    /// Its HTTP status.
    pub status: hyper::StatusCode,
    /// Its media type.
    pub content_type: Option<String>,
    /// Its body.
    pub body: Bytes,
}

/// Why a call to a leaf did not get an answer.
#[derive(Debug, thiserror::Error)]
pub enum LeafError {
    /// The root refused it (the user's roles, an unknown leaf).
    #[error(transparent)]
    Refused(#[from] AuthError),
    /// The leaf has no tunnel here, or the tunnel, TLS or HTTP failed.
    #[error("cluster {cluster}: {cause}")]
    Unreachable {
        /// The leaf.
        cluster: String,
        /// Why.
        cause: String,
    },
    /// No answer within the deadline.
    #[error("cluster {cluster} did not answer within {}s", .after.as_secs())]
    Timeout {
        /// The leaf.
        cluster: String,
        /// The deadline.
        after: Duration,
    },
}

struct Cached {
    /// What the certificate says and trusts; a change issues a new one.
    fingerprint: String,
    config: Arc<ClientConfig>,
    until: Instant,
}

/// Calls leaves for root users; one per proxy.
pub struct LeafCaller {
    auth: Arc<AuthService>,
    tunnels: Arc<Registry>,
    /// This proxy's key for delegated certificates (PKCS#8), made at start.
    key_pkcs8: Vec<u8>,
    /// The same key, for SSH (the web UI's terminal).
    ssh_key: Arc<russh::keys::PrivateKey>,
    /// Its public half, OpenSSH format.
    public_key: String,
    certs: Mutex<HashMap<(String, String), Cached>>,
    /// [`MAX_CALLS`] slots.
    slots: tokio::sync::Semaphore,
}

/// Aborts the call's tasks (the tunnel pump, the HTTP connection) when the call ends.
struct Owned(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Owned {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

impl LeafCaller {
    /// A caller with a fresh key of its own.
    pub fn new(auth: Arc<AuthService>, tunnels: Arc<Registry>) -> Result<LeafCaller, AuthError> {
        let key = tether_shared::ssh_cert::generate_ed25519_key().map_err(|e| AuthError::Internal {
            context: "generating the proxy's delegation key".into(),
            source: Some(e.into()),
        })?;
        let public_key = key.public_key().to_openssh().map_err(|e| AuthError::Internal {
            context: "encoding the proxy's delegation key".into(),
            source: Some(e.into()),
        })?;
        let key_pkcs8 = tether_shared::tls_cert::ssh_key_to_pkcs8(&key)
            .map_err(|e| AuthError::Internal {
                context: "encoding the proxy's delegation key".into(),
                source: Some(e.into()),
            })?
            .secret_pkcs8_der()
            .to_vec();
        Ok(LeafCaller {
            auth,
            tunnels,
            key_pkcs8,
            ssh_key: Arc::new(key),
            public_key,
            certs: Mutex::new(HashMap::new()),
            slots: tokio::sync::Semaphore::new(MAX_CALLS),
        })
    }

    /// This proxy's delegation key (SSH) and its public half (OpenSSH), for certificates the
    /// proxy holds for a user.
    pub fn ssh_key(&self) -> (Arc<russh::keys::PrivateKey>, &str) {
        (self.ssh_key.clone(), &self.public_key)
    }

    /// The tunnels to leaves.
    pub fn tunnels(&self) -> &Registry {
        &self.tunnels
    }

    /// The TLS client setup for `cluster` on the user's behalf: reused while the user's roles,
    /// traits and the leaf's CAs are those it was made for.
    fn config(&self, d: &Delegation, cluster: &str, action: &str) -> Result<Arc<ClientConfig>, AuthError> {
        let cas = d.leaf_tls_cas(cluster);
        if cas.is_empty() {
            return Err(AuthError::NotFound(format!("no TLS CA is stored for cluster {cluster}")));
        }
        let fingerprint = format!("{}|{cas:?}", d.grant_fingerprint());
        let slot = (d.user().to_string(), cluster.to_string());
        let now = Instant::now();
        if let Ok(certs) = self.certs.lock()
            && let Some(c) = certs.get(&slot)
            && c.fingerprint == fingerprint
            && c.until > now
        {
            // The `cluster_labels` check is made at every call, even with a kept certificate.
            self.auth.trust().check_leaf(d, cluster, action)?;
            return Ok(c.config.clone());
        }
        let issued = self.auth.trust().delegated_cert(d, cluster, &self.public_key, action)?;
        let identity =
            tether_client::client::ClientIdentity { cert_pem: issued.tls_cert, key_pkcs8: self.key_pkcs8.clone() };
        let trust = tether_client::client::ServerTrust::Cas(cas.to_vec());
        let config = Arc::new(tether_client::client::tls_config(&trust, Some(&identity)).map_err(|e| {
            AuthError::Internal { context: format!("TLS setup for cluster {cluster}"), source: Some(e.into()) }
        })?);
        let left = (issued.identity.valid_before - time::OffsetDateTime::now_utc()).unsigned_abs();
        let until = now + CERT_REUSE.min(left.saturating_sub(Duration::from_secs(30)));
        if let Ok(mut certs) = self.certs.lock() {
            if certs.len() >= CACHE_CAP {
                certs.retain(|_, c| c.until > now);
                if certs.len() >= CACHE_CAP {
                    certs.clear();
                }
            }
            certs.insert(slot, Cached { fingerprint, config: config.clone(), until });
        }
        Ok(config)
    }

    /// Sends `req` to `cluster`'s web API for the delegation's user, within `deadline`.
    pub async fn call(
        &self,
        d: &Delegation,
        cluster: &str,
        req: LeafRequest,
        client: SocketAddr,
        deadline: Duration,
    ) -> Result<LeafAnswer, LeafError> {
        let action = format!("{} {}", req.method, req.path);
        let config = self.config(d, cluster, &action)?;
        let unreachable = |cause: String| LeafError::Unreachable { cluster: cluster.to_string(), cause };
        let exchange = async {
            let _slot = self.slots.acquire().await.map_err(|_| unreachable("this proxy is stopping".into()))?;
            let transport =
                self.tunnels.open(cluster, WEB_TARGET, 0, client).await.map_err(|e| unreachable(e.to_string()))?;
            let mut owned = Owned(vec![tokio::spawn(transport.pump)]);
            let name = rustls::pki_types::ServerName::try_from(cluster.to_string())
                .map_err(|_| unreachable(format!("{cluster:?} is not a valid TLS server name")))?;
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(name, transport.stream)
                .await
                .map_err(|e| unreachable(format!("TLS with its web API failed: {e}")))?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                .await
                .map_err(|e| unreachable(format!("HTTP failed: {e}")))?;
            owned.0.push(tokio::spawn(async move {
                let _ = conn.await;
            }));
            let mut builder = hyper::Request::builder()
                .method(req.method)
                .uri(req.path.as_str())
                .header(hyper::header::HOST, cluster);
            if let Some(ct) = &req.content_type {
                builder = builder.header(hyper::header::CONTENT_TYPE, ct.as_str());
            }
            let request = builder
                .body(http_body_util::Full::new(req.body))
                .map_err(|e| unreachable(format!("bad request: {e}")))?;
            let resp = sender.send_request(request).await.map_err(|e| unreachable(format!("HTTP failed: {e}")))?;
            let status = resp.status();
            let content_type =
                resp.headers().get(hyper::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
            let body = http_body_util::Limited::new(resp.into_body(), req.max_answer)
                .collect()
                .await
                .map_err(|e| unreachable(format!("reading its answer failed: {e}")))?
                .to_bytes();
            drop(owned);
            Ok(LeafAnswer { status, content_type, body })
        };
        match tokio::time::timeout(deadline, exchange).await {
            Ok(answer) => answer,
            Err(_) => Err(LeafError::Timeout { cluster: cluster.to_string(), after: deadline }),
        }
    }
}
