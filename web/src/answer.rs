//! How the web API answers: an auth service error as an HTTP status and `{"error": "..."}`
//! ([`ApiError`]), the caller taken from the connection, and JSON bodies read with a clear 400
//! or 413. Every route module uses these.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tether_auth::AuthError;
use tether_shared::api::ErrorBody;
use tether_shared::identity::Identity;

use super::{MAX_BODY_BYTES, Peer, WebState};

/// The shared state, as handlers take it.
pub(crate) type Shared = State<Arc<WebState>>;

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

/// The caller's identity, or why the call needs one.
pub(crate) fn caller(peer: &Peer) -> Result<&Identity, AuthError> {
    peer.identity.as_ref().ok_or_else(|| match &peer.refused {
        Some(why) => AuthError::Forbidden(why.clone()),
        None => AuthError::Unauthorized(
            "this call needs a client certificate: log in with tsh login, or use tctl -i".into(),
        ),
    })
}

/// Reads a JSON body, turning a rejection into a 400 (or 413) with serde's message.
pub(crate) fn json_body<T>(body: Result<Json<T>, axum::extract::rejection::JsonRejection>) -> Result<T, AuthError> {
    body.map(|Json(v)| v).map_err(|e| rejection(e.status(), e.body_text()))
}

/// Maps an extractor rejection to our error shape (413 for an oversized body).
pub(crate) fn rejection(status: StatusCode, text: String) -> AuthError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        AuthError::TooLarge(format!("the request is larger than the {} KiB limit", MAX_BODY_BYTES / 1024))
    } else {
        AuthError::BadRequest(text)
    }
}
