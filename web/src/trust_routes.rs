//! The routes of trust between clusters: the trust doctor (`tctl trusted-cluster doctor`) and
//! the root's trust check for it, and a root's calls to its leaves for its users (`tsh ls
//! --all`, `tctl --cluster`, through [`crate::leaf`]). `handlers.rs` puts them in the router.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tether_audit::{Event, Outcome};
use tether_auth::AuthError;
use tether_shared::api::ErrorBody;
use tether_shared::resource::Resource;

use super::Peer;
use super::answer::{ApiError, Shared, caller, json_body};

#[derive(Deserialize)]
pub(crate) struct NodesQuery {
    /// `k=v,k2=v2`: only nodes with all these labels.
    #[serde(default)]
    labels: Option<String>,
}

impl NodesQuery {
    pub(crate) fn wanted(&self) -> Result<tether_shared::labels::Labels, AuthError> {
        let text = self.labels.as_deref().unwrap_or("");
        tether_shared::labels::parse_label_list(text).map_err(|e| AuthError::BadRequest(format!("labels: {e}")))
    }
}

/// Keeps the nodes that carry every `wanted` label.
pub(crate) fn with_labels(nodes: Vec<Resource>, wanted: &tether_shared::labels::Labels) -> Vec<Resource> {
    nodes.into_iter().filter(|n| wanted.iter().all(|(k, v)| n.metadata().labels.get(k) == Some(v))).collect()
}

/// `GET /webapi/nodes/all` (`tsh ls --all`): this cluster's nodes and those of every leaf the
/// caller's roles allow, each leaf asked in parallel through its tunnel with the caller's
/// leaf-bound identity; a leaf that is offline or slow is reported, never waited for beyond
/// [`crate::leaf::LIST_TIMEOUT`].
pub(crate) async fn list_all_nodes(
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
    let mut pending: std::collections::HashSet<String> = leaves.iter().cloned().collect();
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
                max_answer: crate::leaf::MAX_LIST_BYTES,
            };
            let answer = state.leaves.call(&delegation, &leaf, req, peer.addr, crate::leaf::LIST_TIMEOUT).await;
            leaf_nodes(leaf, answer)
        });
    }
    // The whole listing has a deadline too: leaves still waiting for a slot then are reported,
    // and their tasks dropped (aborted) with the set.
    let deadline = tokio::time::Instant::now() + crate::leaf::FANOUT_DEADLINE;
    while let Ok(Some(done)) = tokio::time::timeout_at(deadline, asks.join_next()).await {
        if let Ok(row) = done {
            pending.remove(&row.cluster);
            out.push(row);
        }
    }
    let after = crate::leaf::FANOUT_DEADLINE.as_secs();
    out.extend(pending.into_iter().map(|cluster| ClusterNodes {
        cluster,
        status: "error".into(),
        error: Some(format!("no answer within the listing's {after}s")),
        nodes: Vec::new(),
    }));
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

/// `POST /webapi/trustedclusters/check` (root, no certificate, rate limited): does this root
/// trust the leaf that asks, and would its token validate? Stores nothing.
pub(crate) async fn check_trust(
    State(state): Shared,
    body: Result<Json<tether_shared::api::TrustCheckRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<tether_shared::api::TrustCheckResponse>, ApiError> {
    let req = json_body(body)?;
    Ok(Json(state.auth.trust().check_trust(&req).await?))
}

/// `POST /webapi/trustedclusters/doctor` (leaf; `read` on `trusted_cluster`): the trust doctor's
/// checks, run by this daemon.
pub(crate) async fn trust_doctor(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    body: Result<Json<tether_shared::api::DoctorRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<tether_shared::api::DoctorReport>, ApiError> {
    let who = caller(&peer)?;
    state.auth.core().authorize(who, "trusted_cluster", "read").await?;
    let req = json_body(body)?;
    // A trust not stored makes this daemon dial the addresses it names: only for those who may
    // create trusts.
    if req.resource.is_some() {
        state.auth.core().authorize(who, "trusted_cluster", "create").await?;
    }
    Ok(Json(tether_proxy::tunnel::doctor::run(&state.auth, &req).await?))
}

/// `POST /webapi/rolemap/preview`: a role map (not stored) applied to remote roles, for anyone
/// who may read trusted clusters.
pub(crate) async fn rolemap_preview(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    body: Result<Json<tether_shared::api::RoleMapPreviewRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<tether_shared::api::RoleMapPreview>, ApiError> {
    let who = caller(&peer)?;
    state.auth.core().authorize(who, "trusted_cluster", "read").await?;
    let req = json_body(body)?;
    let map = match tether_shared::rolemap::RoleMap::compile(&req.role_map) {
        Ok(map) => map,
        Err(e) => {
            return Ok(Json(tether_shared::api::RoleMapPreview {
                mapped: None,
                error: Some(e.to_string()),
                rules: vec![],
            }));
        }
    };
    let rules = req
        .roles
        .iter()
        .flat_map(|role| map.explain(role).into_iter().map(move |(i, locals)| (role.clone(), i + 1, locals)))
        .collect();
    let (mapped, error) = match map.map(&req.roles) {
        Ok(mapped) => (Some(mapped), None),
        Err(e) => (None, Some(e.to_string())),
    };
    Ok(Json(tether_shared::api::RoleMapPreview { mapped, error, rules }))
}

/// `POST /webapi/remoteclusters/doctor` (root; `read` on `remote_cluster`): the root's view of
/// one leaf, and this proxy's tunnels from it.
pub(crate) async fn remote_doctor(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    body: Result<Json<tether_shared::api::DoctorRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<tether_shared::api::DoctorReport>, ApiError> {
    let who = caller(&peer)?;
    state.auth.core().authorize(who, "remote_cluster", "read").await?;
    let req = json_body(body)?;
    let leaf = req.name.ok_or_else(|| AuthError::BadRequest("name the leaf: --leaf=LEAF".into()))?;
    let checks = state.auth.trust().remote_doctor(who, &leaf, state.offline_window).await?;
    Ok(Json(tether_shared::api::DoctorReport { cluster: state.auth.cluster_name().to_string(), peer: leaf, checks }))
}

/// `ANY /webapi/clusters/LEAF/webapi/...` (`tctl --cluster=LEAF`): the call, forwarded to the
/// leaf's web API with the caller's leaf-bound identity. The leaf decides with its RBAC over the
/// mapped roles and audits; this cluster audits `leaf.call` with the leaf's status.
pub(crate) async fn forward_to_leaf(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    Path((cluster, _)): Path<(String, String)>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let who = caller(&peer)?;
    // The path on the leaf as the caller sent it (still percent-encoded: decoding `%2F` or
    // `%3F` here would change what the leaf reads), after `/webapi/clusters/LEAF`.
    let raw = uri.path().strip_prefix("/webapi/clusters/").and_then(|p| p.split_once('/')).map(|(_, p)| p);
    let Some(rest) = raw.and_then(|p| p.strip_prefix("webapi/")) else {
        return Err(ApiError(AuthError::NotFound("no such API endpoint".into())));
    };
    let path = match uri.query() {
        Some(q) => format!("/webapi/{rest}?{q}"),
        None => format!("/webapi/{rest}"),
    };
    // Calls that authenticate with a secret rather than a certificate are not forwarded: at the
    // leaf they would all come from one address (its own), sharing its per-source limits.
    if crate::UNAUTHENTICATED_PATHS.contains(&format!("/webapi/{rest}").as_str()) {
        return Err(ApiError(AuthError::Forbidden(format!(
            "/webapi/{rest} is not forwarded to a leaf: call the leaf's proxy directly"
        ))));
    }
    let content_type = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
    let req = crate::leaf::LeafRequest {
        method: method.clone(),
        path: path.clone(),
        content_type,
        body,
        max_answer: crate::leaf::MAX_ANSWER_BYTES,
    };
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
            // Always JSON from this origin, whatever the leaf says its answer is.
            let headers = [
                (axum::http::header::CONTENT_TYPE, "application/json"),
                (axum::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ];
            Ok((a.status, headers, a.body).into_response())
        }
        Ok(a) => {
            let text = format!("cluster {cluster}: {}", leaf_error_text(&a.body, a.status));
            Ok((a.status, Json(ErrorBody { error: text })).into_response())
        }
        Err(crate::leaf::LeafError::Refused(e)) => Err(ApiError(e)),
        Err(e) => Ok((StatusCode::BAD_GATEWAY, Json(ErrorBody { error: e.to_string() })).into_response()),
    }
}
