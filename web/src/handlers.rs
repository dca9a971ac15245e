//! The web API's routes: ping and login (no client certificate), and the authenticated
//! resource, user and token operations `tctl` drives. Handlers translate HTTP only: they take
//! the caller from the connection, decode the body, call the auth service (which authorises,
//! applies the rules and audits; `auth/resources.rs`) and answer errors as
//! `{"error": "..."}` with the matching status.

use std::sync::Arc;
use tether_audit::{Event, Outcome};

use axum::extract::{DefaultBodyLimit, Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tether_shared::api::{
    AuditEvent, ClusterInfo, CreateTokenRequest, CreateUserRequest, ErrorBody, InviteResponse, JoinRequest,
    JoinResponse, LoginRequest, LoginResponse, NodeTrustState, PingResponse, SignRequest, TokenInfo, TunnelsInfo,
    ValidateTrustedClusterRequest, ValidateTrustedClusterResponse, WhoAmI,
};
use tether_shared::identity::Identity;
use tether_shared::resource::{Kind, Resource, parse_resources};

use super::{MAX_BODY_BYTES, Peer, WebState};
use tether_auth::AuthError;

type Shared = State<Arc<WebState>>;

/// An auth service error as the web API answers it: the HTTP status its variant maps to, and
/// `{"error": "..."}` (a newtype, since both the error and axum's trait live in other crates).
#[derive(Debug)]
pub struct ApiError(pub AuthError);

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let ApiError(error) = self;
        let status = match &error {
            AuthError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AuthError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AuthError::Forbidden(_) => StatusCode::FORBIDDEN,
            AuthError::NotFound(_) => StatusCode::NOT_FOUND,
            AuthError::Conflict(_) => StatusCode::CONFLICT,
            AuthError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            AuthError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AuthError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AuthError::Internal { .. } | AuthError::Sealed(_) => {
                tracing::error!("web: {}", error.chain());
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let retry_after = match &error {
            AuthError::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        };
        let mut response = (status, Json(ErrorBody { error: error.to_string() })).into_response();
        if let Some(wait) = retry_after {
            // Whole seconds, rounded up, at least 1 (RFC 9110's delay-seconds).
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs.max(1)));
        }
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body is never read: tell the client not to reuse the connection.
            response
                .headers_mut()
                .insert(axum::http::header::CONNECTION, axum::http::HeaderValue::from_static("close"));
        }
        response
    }
}

/// Builds the router.
pub fn router(state: Arc<WebState>) -> Router {
    Router::new()
        .route("/webapi/ping", get(ping))
        .route("/webapi/login", post(login))
        .route("/webapi/users", post(create_user))
        .route("/webapi/users/{name}/reset", post(reset_user))
        .route("/webapi/tokens", post(add_token).get(list_tokens))
        .route("/webapi/tokens/{token}", axum::routing::delete(remove_token))
        .route("/webapi/auth/sign", post(sign))
        .route("/webapi/certs/leaf", post(leaf_cert))
        .route("/webapi/certs/renew", post(renew_certs))
        .route("/webapi/authorities/rotate", post(rotate))
        .route("/webapi/nodes/renew", post(renew_node))
        .route("/webapi/nodes/join", post(join_node))
        .route("/webapi/nodes/heartbeat", post(heartbeat))
        .route("/webapi/nodes/trust", get(node_trust))
        .route("/webapi/events", get(events))
        .route("/webapi/trustedclusters/validate", post(validate_trusted_cluster))
        .route("/webapi/clusters", get(list_clusters))
        .route("/webapi/clusters/{cluster}/webapi/{*rest}", axum::routing::any(forward_to_leaf))
        .route("/webapi/nodes", get(list_nodes))
        .route("/webapi/nodes/all", get(list_all_nodes))
        .route("/webapi/whoami", get(whoami))
        .route("/webapi/tunnels", get(list_tunnels))
        .route("/webapi/resources", post(create_resource))
        .route("/webapi/resources/{kind}", get(list_resources))
        .route("/webapi/resources/{kind}/{*name}", get(get_resource).delete(delete_resource))
        .fallback(|| async { ApiError(AuthError::NotFound("no such API endpoint".into())) })
        .method_not_allowed_fallback(|method: axum::http::Method, uri: axum::http::Uri| async move {
            ApiError(AuthError::MethodNotAllowed(format!("{method} is not allowed on {}", uri.path())))
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

fn caller(peer: &Peer) -> Result<&Identity, AuthError> {
    peer.identity.as_ref().ok_or_else(|| match &peer.refused {
        Some(why) => AuthError::Forbidden(why.clone()),
        None => AuthError::Unauthorized(
            "this call needs a client certificate: log in with tsh login, or use tctl -i".into(),
        ),
    })
}

async fn ping(State(state): Shared) -> Json<PingResponse> {
    let mut ping = state.ping.clone();
    ping.tls_cas = state.auth.authority().tls_cas_pem();
    Json(ping)
}

async fn login(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    body: Result<Json<LoginRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<LoginResponse>, ApiError> {
    let req = json_body(body)?;
    Ok(Json(state.auth.logins().login(&req, &peer.addr.ip().to_string()).await?))
}

async fn create_user(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    body: Result<Json<CreateUserRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<InviteResponse>, ApiError> {
    let who = caller(&peer)?;
    let req = json_body(body)?;
    Ok(Json(state.auth.resources().create_user(who, &req).await?))
}

async fn reset_user(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    Path(name): Path<String>,
) -> Result<Json<InviteResponse>, ApiError> {
    Ok(Json(state.auth.resources().reset_user(caller(&peer)?, &name).await?))
}

fn parse_kind(kind: &str) -> Result<Kind, AuthError> {
    kind.parse().map_err(|e: tether_shared::resource::KindError| AuthError::BadRequest(e.to_string()))
}

async fn list_resources(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    Path(kind): Path<String>,
) -> Result<Json<Vec<Resource>>, ApiError> {
    let who = caller(&peer)?;
    Ok(Json(state.auth.resources().list_resources(who, parse_kind(&kind)?, state.offline_window).await?))
}

async fn get_resource(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    Path((kind, name)): Path<(String, String)>,
) -> Result<Json<Vec<Resource>>, ApiError> {
    let who = caller(&peer)?;
    Ok(Json(state.auth.resources().get_resources(who, parse_kind(&kind)?, &name, state.offline_window).await?))
}

#[derive(Deserialize)]
struct CreateQuery {
    #[serde(default)]
    force: bool,
}

/// The media types `POST /webapi/resources` takes (`tctl create` sends `text/plain`).
const RESOURCE_MEDIA_TYPES: [&str; 5] =
    ["text/plain", "application/json", "application/yaml", "application/x-yaml", "text/yaml"];

async fn create_resource(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    Query(query): Query<CreateQuery>,
    headers: axum::http::HeaderMap,
    body: Result<String, axum::extract::rejection::StringRejection>,
) -> Result<(StatusCode, Json<Vec<String>>), ApiError> {
    let who = caller(&peer)?;
    let media = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media = media.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if !RESOURCE_MEDIA_TYPES.contains(&media.as_str()) {
        return Err(AuthError::BadRequest(format!(
            "Content-Type {media:?}: send resources as YAML or JSON ({})",
            RESOURCE_MEDIA_TYPES.join(", ")
        ))
        .into());
    }
    let body = body.map_err(|e| rejection(e.status(), e.body_text()))?;
    let resources = parse_resources("request", &body).map_err(|e| AuthError::BadRequest(e.to_string()))?;
    Ok((StatusCode::OK, Json(state.auth.resources().apply_resources(who, resources, query.force).await?)))
}

async fn delete_resource(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    Path((kind, name)): Path<(String, String)>,
) -> Result<Json<Vec<String>>, ApiError> {
    let who = caller(&peer)?;
    let kind = parse_kind(&kind)?;
    let done = state.auth.resources().delete_resource(who, kind, &name).await?;
    if kind == Kind::RemoteCluster {
        state.tunnels.drop_cluster(&name).await;
    }
    Ok(Json(vec![done]))
}

/// Reads a JSON body, turning a rejection into a 400 (or 413) with serde's message.
fn json_body<T>(body: Result<Json<T>, axum::extract::rejection::JsonRejection>) -> Result<T, AuthError> {
    body.map(|Json(v)| v).map_err(|e| rejection(e.status(), e.body_text()))
}

/// Maps an extractor rejection to our error shape (413 for an oversized body).
fn rejection(status: StatusCode, text: String) -> AuthError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        AuthError::TooLarge(format!("the request is larger than the {} KiB limit", MAX_BODY_BYTES / 1024))
    } else {
        AuthError::BadRequest(text)
    }
}

async fn add_token(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    body: Result<Json<CreateTokenRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<TokenInfo>, ApiError> {
    let who = caller(&peer)?;
    let req = json_body(body)?;
    Ok(Json(state.auth.resources().create_token(who, req).await?))
}

async fn list_tokens(State(state): Shared, Extension(peer): Extension<Peer>) -> Result<Json<Vec<TokenInfo>>, ApiError> {
    Ok(Json(state.auth.resources().tokens_for(caller(&peer)?).await?))
}

async fn remove_token(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    Path(token): Path<String>,
) -> Result<Json<TokenInfo>, ApiError> {
    Ok(Json(state.auth.resources().delete_token(caller(&peer)?, &token).await?))
}

async fn sign(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    body: Result<Json<SignRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<LoginResponse>, ApiError> {
    let who = caller(&peer)?;
    let req = json_body(body)?;
    Ok(Json(state.auth.resources().sign_for_user(who, &req).await?))
}

/// `POST /webapi/certs/leaf`: the caller's certificates bound to one leaf, if their roles allow
/// its labels.
async fn leaf_cert(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    body: Result<Json<tether_shared::api::LeafCertRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<LoginResponse>, ApiError> {
    let who = caller(&peer)?;
    let req = json_body(body)?;
    let holder = peer.key.ok_or_else(|| AuthError::Forbidden("your client certificate has no Ed25519 key".into()))?;
    Ok(Json(state.auth.trust().issue_leaf_cert(who, &holder, &req.cluster, &req.public_key).await?))
}

/// The caller's own certificates from the keys that sign now (after a rotation phase).
async fn renew_certs(State(state): Shared, Extension(peer): Extension<Peer>) -> Result<Json<LoginResponse>, ApiError> {
    let who = caller(&peer)?;
    let holder = peer.key.ok_or_else(|| AuthError::Forbidden("your client certificate has no Ed25519 key".into()))?;
    Ok(Json(state.auth.resources().renew_for_user(who, &holder).await?))
}

/// A node's certificates from the keys that sign now.
async fn renew_node(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    body: Result<Json<tether_shared::api::NodeRenewRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<JoinResponse>, ApiError> {
    let who = caller(&peer)?;
    let req = json_body(body)?;
    let holder = peer.key.ok_or_else(|| AuthError::Forbidden("your client certificate has no Ed25519 key".into()))?;
    Ok(Json(state.auth.nodes().renew_node(who, &holder, &req.host_cert).await?))
}

/// `tctl auth rotate`.
async fn rotate(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    body: Result<Json<tether_shared::api::RotateRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Vec<Resource>>, ApiError> {
    let who = caller(&peer)?;
    let req = json_body(body)?;
    let cas = state.auth.resources().rotate(who, &req).await?;
    Ok(Json(cas.into_iter().map(Resource::CertAuthority).collect()))
}

/// `GET /webapi/events?since=RFC3339&limit=N`.
#[derive(Deserialize)]
struct EventsQuery {
    /// Only events at or after this time.
    #[serde(default, with = "time::serde::rfc3339::option")]
    since: Option<time::OffsetDateTime>,
    /// The newest this many events ([`tether_audit::DEFAULT_READ_LIMIT`] when absent, capped at
    /// [`tether_audit::MAX_READ_LIMIT`]).
    limit: Option<usize>,
}

/// The newest audit events, oldest first; the log is read backwards on a blocking thread, so
/// the cost follows `limit`, not the size of the log.
async fn events(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<AuditEvent>>, ApiError> {
    let who = caller(&peer)?;
    let Query(query) = query
        .map_err(|e| AuthError::BadRequest(format!("events query (since=RFC3339, limit=N): {}", e.body_text())))?;
    let limit = query.limit.unwrap_or(tether_audit::DEFAULT_READ_LIMIT);
    Ok(Json(state.auth.resources().events_for(who, query.since, limit).await?))
}

async fn join_node(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    body: Result<Json<JoinRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<JoinResponse>, ApiError> {
    let req = json_body(body)?;
    let result = state.auth.nodes().join_node(&req).await;
    if let Err(e) = &result {
        tracing::warn!(node = %req.node_name, addr = %peer.addr, "node join refused: {e}");
        state.auth.audit().emit(
            Event::NodeJoin,
            Outcome::Failure,
            &tether_auth::nodes::node_user(&req.node_name),
            serde_json::json!({"addr": peer.addr.ip().to_string(), "error": e.to_string()}),
        );
    }
    Ok(Json(result?))
}

async fn heartbeat(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    body: Result<Json<Resource>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Vec<String>>, ApiError> {
    let who = caller(&peer)?;
    state.auth.core().authorize(who, "node", "update").await?;
    let Resource::Node(node) = json_body(body)? else {
        return Err(AuthError::BadRequest("a heartbeat carries a node resource".into()).into());
    };
    state.auth.nodes().heartbeat(who, node).await?;
    Ok(Json(vec![]))
}

#[derive(Deserialize)]
struct TrustQuery {
    /// The revision the node holds.
    known: Option<String>,
    /// How long to wait for a change, in seconds (capped at [`MAX_TRUST_WAIT`]).
    #[serde(default)]
    wait: u64,
}

/// The longest a node's long poll of `/webapi/nodes/trust` is held.
pub const MAX_TRUST_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

async fn node_trust(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    Query(query): Query<TrustQuery>,
) -> Result<Json<NodeTrustState>, ApiError> {
    let who = caller(&peer)?;
    state.auth.core().authorize(who, "role", "list").await?;
    state.auth.core().authorize(who, "cert_authority", "list").await?;
    let wait = std::time::Duration::from_secs(query.wait).min(MAX_TRUST_WAIT);
    Ok(Json(state.auth.nodes().node_trust_state_after(query.known.as_deref(), wait).await?))
}

async fn validate_trusted_cluster(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    body: Result<Json<ValidateTrustedClusterRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<ValidateTrustedClusterResponse>, ApiError> {
    let req = json_body(body)?;
    Ok(Json(state.auth.trust().validate_trusted_cluster(&req, &peer.addr.ip().to_string()).await?))
}

async fn list_clusters(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
) -> Result<Json<Vec<ClusterInfo>>, ApiError> {
    let who = caller(&peer)?;
    Ok(Json(state.auth.resources().clusters_for(who, peer.remote_roles.is_some(), state.offline_window).await?))
}

#[derive(Deserialize)]
struct NodesQuery {
    /// `k=v,k2=v2`: only nodes with all these labels.
    #[serde(default)]
    labels: Option<String>,
}

impl NodesQuery {
    fn wanted(&self) -> Result<tether_shared::labels::Labels, AuthError> {
        let text = self.labels.as_deref().unwrap_or("");
        tether_shared::labels::parse_label_list(text).map_err(|e| AuthError::BadRequest(format!("labels: {e}")))
    }
}

/// Keeps the nodes that carry every `wanted` label.
fn with_labels(nodes: Vec<Resource>, wanted: &tether_shared::labels::Labels) -> Vec<Resource> {
    nodes.into_iter().filter(|n| wanted.iter().all(|(k, v)| n.metadata().labels.get(k) == Some(v))).collect()
}

async fn list_nodes(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    Query(query): Query<NodesQuery>,
) -> Result<Json<Vec<Resource>>, ApiError> {
    let wanted = query.wanted()?;
    Ok(Json(with_labels(state.auth.resources().nodes_for(caller(&peer)?).await?, &wanted)))
}

/// `GET /webapi/nodes/all` (`tsh ls --all`): this cluster's nodes and those of every leaf the
/// caller's roles allow, each leaf asked in parallel through its tunnel with the caller's
/// leaf-bound identity; a leaf that is offline or slow is reported, never waited for beyond
/// [`crate::leaf::LIST_TIMEOUT`].
async fn list_all_nodes(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    Query(query): Query<NodesQuery>,
) -> Result<Json<Vec<tether_shared::api::ClusterNodes>>, ApiError> {
    use tether_shared::api::ClusterNodes;
    let who = caller(&peer)?;
    let wanted = query.wanted()?;
    let local = with_labels(state.auth.resources().nodes_for(who).await?, &wanted);
    let mut out = vec![ClusterNodes {
        cluster: state.auth.cluster_name().to_string(),
        status: "online".into(),
        error: None,
        nodes: local,
    }];
    // A user of a trusted cluster sees this cluster only, as in `GET /webapi/clusters`.
    if peer.remote_roles.is_some() {
        return Ok(Json(out));
    }
    let delegation = Arc::new(state.auth.trust().delegation(who).await?);
    let path = match &query.labels {
        Some(l) => format!("/webapi/nodes?labels={}", tether_shared::api::query_value(l)),
        None => "/webapi/nodes".to_string(),
    };
    let leaves: Vec<String> = delegation.allowed().map(|rc| rc.metadata.name.clone()).collect();
    let mut asks = tokio::task::JoinSet::new();
    let gate = Arc::new(tokio::sync::Semaphore::new(crate::leaf::FANOUT));
    for leaf in leaves {
        let (state, delegation, path, gate) = (state.clone(), delegation.clone(), path.clone(), gate.clone());
        asks.spawn(async move {
            let _slot = gate.acquire_owned().await;
            let req = crate::leaf::LeafRequest {
                method: hyper::Method::GET,
                path,
                content_type: None,
                body: hyper::body::Bytes::new(),
            };
            let answer = state.leaves.call(&delegation, &leaf, req, peer.addr, crate::leaf::LIST_TIMEOUT).await;
            leaf_nodes(leaf, answer)
        });
    }
    while let Some(done) = asks.join_next().await {
        if let Ok(row) = done {
            out.push(row);
        }
    }
    if let Some(leaves) = out.get_mut(1..) {
        leaves.sort_by(|a, b| a.cluster.cmp(&b.cluster));
    }
    Ok(Json(out))
}

/// One leaf's row of `GET /webapi/nodes/all` from its answer.
fn leaf_nodes(
    cluster: String,
    answer: Result<crate::leaf::LeafAnswer, crate::leaf::LeafError>,
) -> tether_shared::api::ClusterNodes {
    use crate::leaf::LeafError;
    let failed = |status: &str, error: String| tether_shared::api::ClusterNodes {
        cluster: cluster.clone(),
        status: status.into(),
        error: Some(error),
        nodes: Vec::new(),
    };
    match answer {
        Ok(a) if a.status.is_success() => match serde_json::from_slice::<Vec<Resource>>(&a.body) {
            Ok(nodes) => tether_shared::api::ClusterNodes { cluster, status: "online".into(), error: None, nodes },
            Err(e) => failed("error", format!("unexpected answer: {e}")),
        },
        Ok(a) => failed("error", leaf_error_text(&a.body, a.status)),
        Err(LeafError::Unreachable { cause, .. }) if cause.contains("offline") => failed("offline", cause),
        Err(e) => failed("error", e.to_string()),
    }
}

/// The `error` of a leaf's `{"error": ...}` answer, or its status and text.
fn leaf_error_text(body: &[u8], status: StatusCode) -> String {
    serde_json::from_slice::<ErrorBody>(body)
        .map(|b| b.error)
        .unwrap_or_else(|_| format!("HTTP {status}: {}", String::from_utf8_lossy(body).trim()))
}

/// `ANY /webapi/clusters/LEAF/webapi/...` (`tctl --cluster=LEAF`): the call, forwarded to the
/// leaf's web API with the caller's leaf-bound identity. The leaf decides with its RBAC over the
/// mapped roles and audits; this cluster audits `leaf.call` with the leaf's status.
async fn forward_to_leaf(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    Path((cluster, rest)): Path<(String, String)>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let who = caller(&peer)?;
    let path = match uri.query() {
        Some(q) => format!("/webapi/{rest}?{q}"),
        None => format!("/webapi/{rest}"),
    };
    let content_type = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
    let req = crate::leaf::LeafRequest { method: method.clone(), path: path.clone(), content_type, body };
    let result = async {
        let delegation = state.auth.trust().delegation(who).await?;
        state.leaves.call(&delegation, &cluster, req, peer.addr, crate::leaf::CALL_TIMEOUT).await
    }
    .await;
    let (status, error) = match &result {
        Ok(a) if a.status.is_success() => (a.status.as_u16(), None),
        Ok(a) => (a.status.as_u16(), Some(leaf_error_text(&a.body, a.status))),
        Err(e) => (0, Some(e.to_string())),
    };
    state.auth.audit().emit(
        Event::LeafCall,
        Outcome::of(error.is_none()),
        &who.user,
        serde_json::json!({"leaf_cluster": cluster, "method": method.as_str(), "path": path, "status": status, "error": error}),
    );
    match result {
        Ok(a) if a.status.is_success() => {
            let ct = a.content_type.unwrap_or_else(|| "application/json".into());
            Ok((a.status, [(axum::http::header::CONTENT_TYPE, ct)], a.body).into_response())
        }
        Ok(a) => {
            let text = format!("cluster {cluster}: {}", leaf_error_text(&a.body, a.status));
            Ok((a.status, Json(ErrorBody { error: text })).into_response())
        }
        Err(crate::leaf::LeafError::Refused(e)) => Err(ApiError(e)),
        Err(e) => Ok((StatusCode::BAD_GATEWAY, Json(ErrorBody { error: e.to_string() })).into_response()),
    }
}

async fn whoami(State(state): Shared, Extension(peer): Extension<Peer>) -> Result<Json<WhoAmI>, ApiError> {
    Ok(Json(state.auth.resources().whoami(caller(&peer)?, peer.remote_roles.as_deref()).await?))
}

/// The leaf tunnels this proxy holds (for operators and tests; needs `list` on remote clusters).
async fn list_tunnels(State(state): Shared, Extension(peer): Extension<Peer>) -> Result<Json<TunnelsInfo>, ApiError> {
    let who = caller(&peer)?;
    state.auth.core().authorize(who, "remote_cluster", "list").await?;
    Ok(Json(TunnelsInfo { proxy_id: state.tunnels.proxy_id().to_string(), tunnels: state.tunnels.tunnel_counts() }))
}
