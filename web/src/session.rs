//! The web UI's sessions over HTTP: `POST /web/login` (JSON only, rate limited like
//! `/webapi/login`; with `invite`, it sets the invited user's password first) sets the session
//! cookie, `GET /web/session` tells the page who is logged in
//! and its CSRF token, `POST /web/logout` ends the session. [`authenticate`] runs before every
//! route: a request without a client certificate but with the session cookie acts as the
//! session's identity, and one that changes state (any method but GET and HEAD) must carry the
//! session's CSRF token in `X-CSRF-Token`, and no `Origin` but this proxy's.
//!
//! The cookie is `__Host-tether_session`: `Secure`, `Path=/`, no `Domain` (what the prefix
//! demands), `HttpOnly` and `SameSite=Strict`. The sessions themselves are
//! [`tether_auth::sessions`].

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tether_auth::AuthError;
use tether_auth::sessions::{csrf_matches, csrf_token};

use super::answer::{ApiError, Shared, json_body};
use super::{Peer, WebState};

/// The session cookie's name.
pub const COOKIE: &str = "__Host-tether_session";
/// The header that carries the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The session ID in the request's cookies, if any.
pub(crate) fn cookie_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
}

/// Whether an `Origin` header, if sent, names this proxy (`https://` and the `Host` the
/// request was sent to).
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else { return true };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    origin.to_str().is_ok_and(|o| o == format!("https://{host}"))
}

/// For a request without a client certificate: the session the cookie names becomes its
/// identity. `Err` is the answer to send instead (a state change without this session's CSRF
/// token, or from another origin).
pub(crate) async fn authenticate(
    state: &WebState,
    headers: &HeaderMap,
    method: &Method,
    peer: &mut Peer,
) -> Result<(), Response> {
    if peer.identity.is_some() {
        return Ok(());
    }
    let Some(id) = cookie_id(headers) else { return Ok(()) };
    let identity = match state.auth.web_sessions().resolve(&id).await {
        Ok(Some(identity)) => identity,
        Ok(None) => return Ok(()),
        Err(e) => return Err(ApiError(e).into_response()),
    };
    if !matches!(*method, Method::GET | Method::HEAD) {
        let token = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
        if !csrf_matches(&id, token) || !same_origin(headers) {
            let why = "the request lacks this session's CSRF token (X-CSRF-Token) or comes from another origin";
            return Err(ApiError(AuthError::Forbidden(why.into())).into_response());
        }
    }
    peer.identity = Some(identity);
    Ok(())
}

/// `POST /web/login`.
#[derive(Deserialize)]
pub(crate) struct WebLogin {
    user: String,
    password: String,
    #[serde(default)]
    otp: Option<String>,
    /// An invite from `tctl users add`: sets the password (the page at `/#invite=...`).
    #[serde(default)]
    invite: Option<String>,
}

/// What the page learns of its session.
#[derive(Serialize)]
pub(crate) struct SessionInfo {
    user: String,
    cluster: String,
    roles: Vec<String>,
    logins: Vec<String>,
    csrf_token: String,
    expires: String,
    /// Only in the answer to an invite's login on a cluster with one-time codes: the new TOTP
    /// secret (`otpauth://` URI), shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    totp_enrollment: Option<String>,
}

fn info(id: &str, identity: &tether_shared::identity::Identity) -> SessionInfo {
    SessionInfo {
        user: identity.user.clone(),
        cluster: identity.cluster.clone(),
        roles: identity.roles.clone(),
        logins: identity.logins.iter().filter(|l| !l.starts_with('-')).cloned().collect(),
        csrf_token: csrf_token(id),
        expires: identity.valid_before.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        totp_enrollment: None,
    }
}

/// `POST /web/login`: a password login that makes a session (JSON only: a cross-site HTML form
/// cannot send it).
pub(crate) async fn login(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    body: Result<Json<WebLogin>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    if !same_origin(&headers) {
        return Err(ApiError(AuthError::Forbidden("a login from another origin".into())));
    }
    let req = json_body(body)?;
    let source = peer.addr.ip().to_string();
    let made = state.auth.web_sessions().login(&req.user, &req.password, req.otp, req.invite, &source).await?;
    let left = (made.identity.valid_before - time::OffsetDateTime::now_utc()).whole_seconds().max(0);
    let cookie = format!("{COOKIE}={}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={left}", made.id);
    let answer = SessionInfo { totp_enrollment: made.totp_enrollment, ..info(&made.id, &made.identity) };
    let mut response = Json(answer).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    // It carries the CSRF token, and after an invite the TOTP secret: never kept by a cache.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `GET /web/session`: who the cookie's session is, with its CSRF token.
pub(crate) async fn current(State(state): Shared, headers: HeaderMap) -> Result<Json<SessionInfo>, ApiError> {
    let id = cookie_id(&headers).ok_or_else(|| AuthError::Unauthorized("not logged in".into()))?;
    let identity = state
        .auth
        .web_sessions()
        .resolve(&id)
        .await?
        .ok_or_else(|| AuthError::Unauthorized("the session has ended: log in again".into()))?;
    Ok(Json(info(&id, &identity)))
}

/// `POST /web/logout` (with the CSRF token, checked by [`authenticate`]): ends the session and
/// clears the cookie.
pub(crate) async fn logout(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (Some(id), Some(_)) = (cookie_id(&headers), peer.identity.as_ref()) else {
        return Err(ApiError(AuthError::Unauthorized("not logged in".into())));
    };
    state.auth.web_sessions().end(&id, &peer.addr.ip().to_string()).await?;
    let clear = format!("{COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// The session routes, for the router.
pub(crate) fn routes() -> axum::Router<Arc<WebState>> {
    axum::Router::new()
        .route("/web/login", axum::routing::post(login))
        .route("/web/session", axum::routing::get(current))
        .route("/web/logout", axum::routing::post(logout))
}
