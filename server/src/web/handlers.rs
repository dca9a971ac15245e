//! The web API's routes: ping and login (no client certificate), and the authenticated
//! resource, user and token operations `tctl` drives. Every handler authorises through
//! [`Auth::authorize`] and answers errors as `{"error": "..."}` with the matching status.

use std::sync::Arc;

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
use tether_shared::identity::{Identity, Traits};
use tether_shared::resource::{CaType, Kind, Resource, User, UserSpec, parse_resources};

use super::{MAX_BODY_BYTES, Peer, WebState};
use crate::auth::{AuthError, store};
use crate::storage::StorageError;

type Shared = State<Arc<WebState>>;

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let status = match &self {
            AuthError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AuthError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AuthError::Forbidden(_) => StatusCode::FORBIDDEN,
            AuthError::NotFound(_) => StatusCode::NOT_FOUND,
            AuthError::Conflict(_) => StatusCode::CONFLICT,
            AuthError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AuthError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            AuthError::Internal(e) => {
                tracing::error!("web: {e}");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let mut response = (status, Json(ErrorBody { error: self.to_string() })).into_response();
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
        .route("/webapi/nodes/join", post(join_node))
        .route("/webapi/nodes/heartbeat", post(heartbeat))
        .route("/webapi/nodes/trust", get(node_trust))
        .route("/webapi/events", get(events))
        .route("/webapi/trustedclusters/validate", post(validate_trusted_cluster))
        .route("/webapi/clusters", get(list_clusters))
        .route("/webapi/nodes", get(list_nodes))
        .route("/webapi/whoami", get(whoami))
        .route("/webapi/tunnels", get(list_tunnels))
        .route("/webapi/resources", post(create_resource))
        .route("/webapi/resources/{kind}", get(list_resources))
        .route("/webapi/resources/{kind}/{*name}", get(get_resource).delete(delete_resource))
        .fallback(|| async { AuthError::NotFound("no such API endpoint".into()) })
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
    Json(state.ping.clone())
}

async fn login(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    body: Result<Json<LoginRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<LoginResponse>, AuthError> {
    let req = json_body(body)?;
    Ok(Json(state.auth.login(&req, &peer.addr.ip().to_string()).await?))
}

async fn create_user(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    body: Result<Json<CreateUserRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<InviteResponse>, AuthError> {
    let who = caller(&peer)?;
    state.auth.authorize(who, "user", "create").await?;
    let req = json_body(body)?;
    tether_shared::names::validate_name(&req.name).map_err(|e| AuthError::BadRequest(e.to_string()))?;
    if req.roles.is_empty() {
        return Err(AuthError::BadRequest("a user needs at least one role (--roles=access,editor)".into()));
    }
    for role in &req.roles {
        if crate::auth::is_reserved_role(role) {
            return Err(AuthError::BadRequest(format!("role {role:?} is built in and cannot be given to users")));
        }
        if state.auth.roles(std::slice::from_ref(role)).await?.is_empty() {
            return Err(AuthError::BadRequest(format!("role {role:?} does not exist")));
        }
    }
    let mut traits = Traits::new();
    if !req.logins.is_empty() {
        traits.insert("logins".into(), req.logins.clone());
    }
    let user = User::new(&req.name, UserSpec { roles: req.roles.clone(), traits });
    store::create(state.auth.backend(), &Resource::User(user)).await.map_err(|e| match e {
        StorageError::AlreadyExists(_) => AuthError::Conflict(format!("user {:?} already exists", req.name)),
        other => other.into(),
    })?;
    state.auth.audit().emit(
        "user.create",
        "T1002I",
        &who.user,
        true,
        serde_json::json!({"name": req.name, "roles": req.roles}),
    );
    Ok(Json(state.auth.invite(&req.name).await?))
}

async fn reset_user(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    Path(name): Path<String>,
) -> Result<Json<InviteResponse>, AuthError> {
    let who = caller(&peer)?;
    state.auth.authorize(who, "user", "update").await?;
    if store::get(state.auth.backend(), &store::key(Kind::User, &name)).await?.is_none() {
        return Err(AuthError::NotFound(format!("user {name:?} not found")));
    }
    state.auth.clear_password(&name).await?;
    state.auth.audit().emit("user.reset", "T1003I", &who.user, true, serde_json::json!({"name": name}));
    Ok(Json(state.auth.invite(&name).await?))
}

fn parse_kind(kind: &str) -> Result<Kind, AuthError> {
    kind.parse().map_err(|e: tether_shared::resource::KindError| AuthError::BadRequest(e.to_string()))
}

/// Which resources of a listing the caller may see: remote clusters by `cluster_labels`.
async fn visible(state: &WebState, who: &Identity, resources: Vec<Resource>) -> Result<Vec<Resource>, AuthError> {
    let checker = state.auth.checker(who).await?;
    // The built-in identities (the local admin, nodes) see everything.
    let builtin = who.roles.iter().any(|r| crate::auth::is_reserved_role(r));
    Ok(resources
        .into_iter()
        .filter(|r| match r {
            Resource::RemoteCluster(rc) => builtin || checker.check_cluster(&rc.metadata.labels).allowed,
            // Users see the nodes their roles could log in to.
            Resource::Node(node) => builtin || checker.can_see_node(&node.metadata.labels),
            _ => true,
        })
        .collect())
}

async fn list_resources(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    Path(kind): Path<String>,
) -> Result<Json<Vec<Resource>>, AuthError> {
    let who = caller(&peer)?;
    let kind = parse_kind(&kind)?;
    state.auth.authorize(who, kind.as_str(), "list").await?;
    if kind == Kind::Token {
        return Ok(Json(state.auth.token_resources().await?));
    }
    let all = store::list(state.auth.backend(), &store::prefix(kind)).await?;
    let shown = visible(&state, who, all).await?;
    Ok(Json(with_status(&state, shown).await?))
}

/// Fills in remote clusters' `status` from the tunnel records (it is never stored).
async fn with_status(state: &WebState, resources: Vec<Resource>) -> Result<Vec<Resource>, AuthError> {
    if !resources.iter().any(|r| matches!(r, Resource::RemoteCluster(_))) {
        return Ok(resources);
    }
    let statuses = crate::tunnel::status::leaf_statuses(state.auth.backend(), state.offline_window).await?;
    Ok(resources
        .into_iter()
        .map(|r| match r {
            Resource::RemoteCluster(mut rc) => {
                rc.status = Some(statuses.get(&rc.metadata.name).cloned().unwrap_or_default());
                Resource::RemoteCluster(rc)
            }
            other => other,
        })
        .collect())
}

async fn get_resource(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    Path((kind, name)): Path<(String, String)>,
) -> Result<Json<Vec<Resource>>, AuthError> {
    let who = caller(&peer)?;
    let kind = parse_kind(&kind)?;
    state.auth.authorize(who, kind.as_str(), "read").await?;
    // CAs share a name per cluster: return every CA of the named cluster.
    let found = if kind == Kind::Token {
        state.auth.token_resources().await?.into_iter().filter(|t| t.name() == name).collect()
    } else if kind == Kind::CertAuthority {
        store::list(state.auth.backend(), &format!("{}{name}/", store::prefix(kind))).await?
    } else {
        store::get(state.auth.backend(), &store::key(kind, &name)).await?.into_iter().collect()
    };
    let found = visible(&state, who, found).await?;
    if found.is_empty() {
        return Err(AuthError::NotFound(format!("{kind} {name:?} not found")));
    }
    Ok(Json(with_status(&state, found).await?))
}

#[derive(Deserialize)]
struct CreateQuery {
    #[serde(default)]
    force: bool,
}

async fn create_resource(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    Query(query): Query<CreateQuery>,
    body: Result<String, axum::extract::rejection::StringRejection>,
) -> Result<(StatusCode, Json<Vec<String>>), AuthError> {
    let who = caller(&peer)?;
    let body = body.map_err(|e| rejection(e.status(), e.body_text()))?;
    let resources = parse_resources("request", &body).map_err(|e| AuthError::BadRequest(e.to_string()))?;
    if resources.is_empty() {
        return Err(AuthError::BadRequest("no resources in the request".into()));
    }
    // Check everything before storing anything, so a bad document stores nothing.
    for r in &resources {
        state.auth.authorize(who, r.kind().as_str(), if query.force { "update" } else { "create" }).await?;
        if query.force {
            state.auth.authorize(who, r.kind().as_str(), "create").await?;
        }
        if r.name().starts_with('@') {
            return Err(AuthError::BadRequest(format!("{}: names starting with '@' are reserved", r.reference())));
        }
        if let Resource::User(u) = r
            && let Some(role) = u.spec.roles.iter().find(|role| crate::auth::is_reserved_role(role))
        {
            return Err(AuthError::BadRequest(format!(
                "{}: role {role:?} is built in and cannot be given to users",
                r.reference()
            )));
        }
        if matches!(r, Resource::CertAuthority(_) | Resource::Token(_)) {
            return Err(AuthError::BadRequest(format!(
                "{} resources are managed by the cluster (use tctl tokens or trusted clusters)",
                r.kind()
            )));
        }
    }
    let mut done = Vec::new();
    for r in &resources {
        let mut r = r.clone();
        r.metadata_mut().id = None;
        let existed = if let Resource::TrustedCluster(tc) = &r {
            state.auth.upsert_trusted_cluster(tc.clone(), query.force).await?
        } else if let Resource::RemoteCluster(rc) = &r {
            // Remote clusters come from trust; an admin may only set their labels.
            if !query.force {
                return Err(AuthError::BadRequest(format!(
                    "remote clusters are created when a leaf establishes trust; change labels with tctl update rc/{} --set-labels=k=v",
                    rc.metadata.name
                )));
            }
            state.auth.set_remote_cluster_labels(&rc.metadata.name, rc.metadata.labels.clone()).await?;
            true
        } else if query.force {
            let existed = state.auth.backend().get(&store::key_of(&r)).await?.is_some();
            store::upsert(state.auth.backend(), &r).await?;
            existed
        } else {
            store::create(state.auth.backend(), &r).await.map_err(|e| match e {
                StorageError::AlreadyExists(_) => AuthError::Conflict(format!(
                    "{} {:?} already exists; use tctl create -f to overwrite it",
                    r.kind(),
                    r.name()
                )),
                other => other.into(),
            })?;
            false
        };
        let verb = if existed { "updated" } else { "created" };
        state.auth.audit().emit(
            &format!("resource.{}", if existed { "update" } else { "create" }),
            "T9001I",
            &who.user,
            true,
            serde_json::json!({"kind": r.kind().as_str(), "name": r.name()}),
        );
        done.push(format!("{} '{}' has been {verb}", r.kind(), r.name()));
    }
    Ok((StatusCode::OK, Json(done)))
}

async fn delete_resource(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    Path((kind, name)): Path<(String, String)>,
) -> Result<Json<Vec<String>>, AuthError> {
    let who = caller(&peer)?;
    let kind = parse_kind(&kind)?;
    state.auth.authorize(who, kind.as_str(), "delete").await?;
    if kind == Kind::CertAuthority {
        return Err(AuthError::BadRequest("certificate authorities are removed with their remote cluster".into()));
    }
    match kind {
        Kind::TrustedCluster => state.auth.delete_trusted_cluster(&name).await?,
        Kind::RemoteCluster => {
            state.auth.delete_remote_cluster(&name).await?;
            state.tunnels.drop_cluster(&name).await;
        }
        _ => {
            if !state.auth.backend().delete(&store::key(kind, &name)).await? {
                return Err(AuthError::NotFound(format!("{kind} {name:?} not found")));
            }
        }
    }
    if kind == Kind::User {
        state.auth.clear_password(&name).await?;
    }
    state.auth.audit().emit(
        "resource.delete",
        "T9002I",
        &who.user,
        true,
        serde_json::json!({"kind": kind.as_str(), "name": name}),
    );
    Ok(Json(vec![format!("{kind} '{name}' has been deleted")]))
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
) -> Result<Json<TokenInfo>, AuthError> {
    let who = caller(&peer)?;
    state.auth.authorize(who, "token", "create").await?;
    let req = json_body(body)?;
    let info = state.auth.add_token(req.token_type, std::time::Duration::from_secs(req.ttl_secs), req.labels).await?;
    state.auth.audit().emit(
        "join_token.create",
        "T7000I",
        &who.user,
        true,
        serde_json::json!({"type": info.token_type.as_str(), "expires": info.expires.map(|t| t.to_string())}),
    );
    Ok(Json(info))
}

async fn list_tokens(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
) -> Result<Json<Vec<TokenInfo>>, AuthError> {
    let who = caller(&peer)?;
    state.auth.authorize(who, "token", "list").await?;
    Ok(Json(state.auth.list_tokens().await?))
}

async fn remove_token(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    Path(token): Path<String>,
) -> Result<Json<TokenInfo>, AuthError> {
    let who = caller(&peer)?;
    state.auth.authorize(who, "token", "delete").await?;
    let info = state.auth.remove_token(&token).await?;
    state.auth.audit().emit(
        "join_token.delete",
        "T7001I",
        &who.user,
        true,
        serde_json::json!({"type": info.token_type.as_str(), "token": info.token}),
    );
    Ok(Json(info))
}

/// Certificates for any user: impersonation, so it needs `create` on `cert_authority`, which
/// only the local admin identity holds by default.
async fn sign(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    body: Result<Json<SignRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<LoginResponse>, AuthError> {
    let who = caller(&peer)?;
    state.auth.authorize(who, "cert_authority", "create").await?;
    let req = json_body(body)?;
    let Some(Resource::User(user)) = store::get(state.auth.backend(), &store::key(Kind::User, &req.user)).await? else {
        return Err(AuthError::NotFound(format!("user {:?} not found", req.user)));
    };
    let role_names = crate::auth::grantable_roles(&user.spec.roles);
    let roles = state.auth.roles(&role_names).await?;
    let checker = tether_shared::rbac::AccessChecker::new(&roles, &user.spec.traits);
    let issued = state.auth.issue(
        &req.user,
        role_names,
        user.spec.traits.clone(),
        &checker,
        &req.public_key,
        std::time::Duration::from_secs(req.ttl_secs),
    )?;
    state.auth.audit().emit("cert.create", "TC000I", &who.user, true, serde_json::json!({"for_user": req.user}));
    Ok(Json(issued))
}

/// `POST /webapi/certs/leaf`: the caller's certificates bound to one leaf, if their roles allow
/// its labels.
async fn leaf_cert(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    body: Result<Json<tether_shared::api::LeafCertRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<LoginResponse>, AuthError> {
    let who = caller(&peer)?;
    if peer.remote_roles.is_some() || who.cluster != state.auth.cluster_name() {
        return Err(AuthError::Forbidden(format!(
            "only users of {} get certificates for its leaves",
            state.auth.cluster_name()
        )));
    }
    let req = json_body(body)?;
    Ok(Json(state.auth.issue_leaf_cert(who, &req.cluster, &req.public_key).await?))
}

/// `GET /webapi/events?since=RFC3339&limit=N`.
#[derive(Deserialize)]
struct EventsQuery {
    /// Only events at or after this time.
    #[serde(default, with = "time::serde::rfc3339::option")]
    since: Option<time::OffsetDateTime>,
    /// The newest this many events ([`crate::audit::DEFAULT_READ_LIMIT`] when absent, capped at
    /// [`crate::audit::MAX_READ_LIMIT`]).
    limit: Option<usize>,
}

/// The newest audit events, oldest first; the log is read backwards on a blocking thread, so
/// the cost follows `limit`, not the size of the log.
async fn events(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<AuditEvent>>, AuthError> {
    let who = caller(&peer)?;
    state.auth.authorize(who, "event", "list").await?;
    let Query(query) = query
        .map_err(|e| AuthError::BadRequest(format!("events query (since=RFC3339, limit=N): {}", e.body_text())))?;
    let limit = query.limit.unwrap_or(crate::audit::DEFAULT_READ_LIMIT).min(crate::audit::MAX_READ_LIMIT);
    let events = state
        .auth
        .audit()
        .read(query.since, limit)
        .await
        .map_err(|e| AuthError::Internal(format!("audit log: {e}")))?;
    Ok(Json(events))
}

async fn join_node(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    body: Result<Json<JoinRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<JoinResponse>, AuthError> {
    let req = json_body(body)?;
    let result = state.auth.join_node(&req).await;
    if let Err(e) = &result {
        tracing::warn!(node = %req.node_name, addr = %peer.addr, "node join refused: {e}");
        state.auth.audit().emit(
            "node.join",
            "T3100W",
            &crate::auth::nodes::node_user(&req.node_name),
            false,
            serde_json::json!({"addr": peer.addr.ip().to_string(), "error": e.to_string()}),
        );
    }
    Ok(Json(result?))
}

async fn heartbeat(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    body: Result<Json<Resource>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Vec<String>>, AuthError> {
    let who = caller(&peer)?;
    state.auth.authorize(who, "node", "update").await?;
    let Resource::Node(node) = json_body(body)? else {
        return Err(AuthError::BadRequest("a heartbeat carries a node resource".into()));
    };
    state.auth.heartbeat(who, node).await?;
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
) -> Result<Json<NodeTrustState>, AuthError> {
    let who = caller(&peer)?;
    state.auth.authorize(who, "role", "list").await?;
    state.auth.authorize(who, "cert_authority", "list").await?;
    let wait = std::time::Duration::from_secs(query.wait).min(MAX_TRUST_WAIT);
    Ok(Json(state.auth.node_trust_state_after(query.known.as_deref(), wait).await?))
}

async fn validate_trusted_cluster(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    body: Result<Json<ValidateTrustedClusterRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<ValidateTrustedClusterResponse>, AuthError> {
    let req = json_body(body)?;
    Ok(Json(state.auth.validate_trusted_cluster(&req, &peer.addr.ip().to_string()).await?))
}

/// This cluster and the leaves the caller's roles may see (`cluster_labels`), with status and
/// the CAs `tsh` checks them with.
async fn list_clusters(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
) -> Result<Json<Vec<ClusterInfo>>, AuthError> {
    let who = caller(&peer)?;
    let local = state.auth.cluster_name().to_string();
    let cas = |ca: Option<tether_shared::resource::CertAuthority>| ca.map(|ca| ca.spec.active_keys).unwrap_or_default();
    let mut out = vec![ClusterInfo {
        name: local.clone(),
        status: "online".into(),
        cluster_type: "root".into(),
        host_cas: cas(state.auth.ca_of(&local, CaType::Host).await?).ssh,
        tls_cas: cas(state.auth.ca_of(&local, CaType::Tls).await?).tls,
    }];
    if peer.remote_roles.is_some() {
        // A user of a trusted cluster sees only this cluster, never its leaves.
        return Ok(Json(out));
    }
    let rcs = state.auth.remote_clusters().await?.into_iter().map(Resource::RemoteCluster).collect();
    let shown = with_status(&state, visible(&state, who, rcs).await?).await?;
    for r in shown {
        let Resource::RemoteCluster(rc) = r else { continue };
        let name = rc.metadata.name.clone();
        out.push(ClusterInfo {
            status: rc.status.map(|s| s.connection.to_string()).unwrap_or_else(|| "offline".into()),
            cluster_type: "leaf".into(),
            host_cas: cas(state.auth.ca_of(&name, CaType::Host).await?).ssh,
            tls_cas: cas(state.auth.ca_of(&name, CaType::Tls).await?).tls,
            name,
        });
    }
    Ok(Json(out))
}

/// The nodes the caller could log in to (no resource rule needed: the node labels decide).
async fn list_nodes(State(state): Shared, Extension(peer): Extension<Peer>) -> Result<Json<Vec<Resource>>, AuthError> {
    let who = caller(&peer)?;
    let all = store::list(state.auth.backend(), &store::prefix(Kind::Node)).await?;
    Ok(Json(visible(&state, who, all).await?))
}

/// The caller as this cluster sees them (for a trusted cluster's user: the mapped roles).
async fn whoami(State(state): Shared, Extension(peer): Extension<Peer>) -> Result<Json<WhoAmI>, AuthError> {
    let who = caller(&peer)?;
    let checker = state.auth.checker(who).await?;
    Ok(Json(WhoAmI {
        user: who.user.clone(),
        user_cluster: who.cluster.clone(),
        cluster: state.auth.cluster_name().to_string(),
        cert_roles: peer.remote_roles.clone().unwrap_or_else(|| who.roles.clone()),
        roles: who.roles.clone(),
        logins: checker.logins(),
    }))
}

/// The leaf tunnels this proxy holds (for operators and tests; needs `list` on remote clusters).
async fn list_tunnels(State(state): Shared, Extension(peer): Extension<Peer>) -> Result<Json<TunnelsInfo>, AuthError> {
    let who = caller(&peer)?;
    state.auth.authorize(who, "remote_cluster", "list").await?;
    Ok(Json(TunnelsInfo { proxy_id: state.tunnels.proxy_id().to_string(), tunnels: state.tunnels.tunnel_counts() }))
}
