//! The web API's routes: ping and login (no client certificate), and the authenticated
//! resource, user and token operations `tctl` drives. Handlers translate HTTP only: they take
//! the caller from the connection, decode the body, call the auth service (which authorises,
//! applies the rules and audits; `auth/resources.rs`) and answer errors as
//! `{"error": "..."}` with the matching status.

use std::sync::Arc;
use tether_audit::{Event, Outcome};

use axum::extract::{DefaultBodyLimit, Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tether_shared::api::{
    AuditEvent, ClusterInfo, CreateTokenRequest, CreateUserRequest, InviteResponse, JoinRequest, JoinResponse,
    LoginRequest, LoginResponse, NodeTrustState, PingResponse, SignRequest, TokenInfo, TunnelsInfo,
    ValidateTrustedClusterRequest, ValidateTrustedClusterResponse, WhoAmI,
};
use tether_shared::resource::{Kind, Resource, parse_resources};

use super::answer::{ApiError, Shared, caller, json_body, rejection};
use super::trust_routes::{
    NodesQuery, check_trust, forward_to_leaf, list_all_nodes, remote_doctor, trust_doctor, with_labels,
};
use super::{MAX_BODY_BYTES, Peer, WebState};
use tether_auth::AuthError;

/// Builds the router.
pub fn router(state: Arc<WebState>) -> Router {
    Router::new()
        .route("/webapi/ping", get(ping))
        .route("/webapi/login", post(login))
        .route("/webapi/users", post(create_user))
        .route("/webapi/users/{name}/reset", post(reset_user))
        .route("/webapi/users/{name}/expand", get(expand_user))
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
        .route("/webapi/trustedclusters/check", post(check_trust))
        .route("/webapi/trustedclusters/doctor", post(trust_doctor))
        .route("/webapi/remoteclusters/doctor", post(remote_doctor))
        .route("/webapi/rolemap/preview", post(super::trust_routes::rolemap_preview))
        .route("/webapi/clusters", get(list_clusters))
        .route("/webapi/clusters/{cluster}/webapi/{*rest}", axum::routing::any(forward_to_leaf))
        .route("/webapi/nodes", get(list_nodes))
        .route("/webapi/nodes/all", get(list_all_nodes))
        .route("/webapi/whoami", get(whoami))
        .route("/webapi/tunnels", get(list_tunnels))
        .route("/webapi/resources", post(create_resource))
        .route("/webapi/resources/{kind}", get(list_resources))
        .route("/webapi/resources/{kind}/{*name}", get(get_resource).delete(delete_resource))
        .merge(super::session::routes())
        .route("/web/terminal", get(super::terminal::terminal))
        .merge(super::ui::routes())
        .fallback(|| async { ApiError(AuthError::NotFound("no such API endpoint".into())) })
        .method_not_allowed_fallback(|method: axum::http::Method, uri: axum::http::Uri| async move {
            ApiError(AuthError::MethodNotAllowed(format!("{method} is not allowed on {}", uri.path())))
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
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
    /// Only events before this time (the next page of a newest-first listing).
    #[serde(default, with = "time::serde::rfc3339::option")]
    until: Option<time::OffsetDateTime>,
    /// Only this event (`role.mapping`).
    event: Option<String>,
    /// Only this user's events.
    user: Option<String>,
    /// Only events that name this cluster.
    cluster: Option<String>,
}

/// The newest audit events, oldest first; the log is read backwards on a blocking thread, so
/// the cost follows `limit`, not the size of the log.
async fn events(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<AuditEvent>>, ApiError> {
    let who = caller(&peer)?;
    let Query(query) = query.map_err(|e| {
        AuthError::BadRequest(format!(
            "events query (since=RFC3339, until=RFC3339, limit=N, event=, user=, cluster=): {}",
            e.body_text()
        ))
    })?;
    let limit = query.limit.unwrap_or(tether_audit::DEFAULT_READ_LIMIT);
    let filter = tether_audit::read::Filter {
        since: query.since,
        until: query.until,
        event: query.event.filter(|e| !e.is_empty()),
        user: query.user.filter(|u| !u.is_empty()),
        cluster: query.cluster.filter(|c| !c.is_empty()),
    };
    Ok(Json(state.auth.resources().events_for(who, filter, limit).await?))
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

async fn list_nodes(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    Query(query): Query<NodesQuery>,
) -> Result<Json<Vec<Resource>>, ApiError> {
    let wanted = query.wanted()?;
    Ok(Json(with_labels(state.auth.resources().nodes_for(caller(&peer)?).await?, &wanted)))
}

/// `GET /webapi/users/NAME/expand` (`tctl users expand`).
async fn expand_user(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    Path(name): Path<String>,
) -> Result<Json<tether_shared::api::UserExpansion>, ApiError> {
    Ok(Json(state.auth.resources().user_expansion(caller(&peer)?, &name).await?))
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
