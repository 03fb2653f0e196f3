//! HTTP errors as JSON bodies with stable codes.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use baton_actors::ActorError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::AuthError;

/// An error answered over HTTP: a status and `{"error":{"code","message"}}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Missing or invalid token (401).
    #[error("{0}")]
    Unauthorized(#[from] AuthError),
    /// The token may not do this (403).
    #[error("{0}")]
    Forbidden(String),
    /// Bad path or query (400).
    #[error("{message}")]
    BadRequest {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        message: String,
    },
    /// The request body is not `application/json` (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Nothing there (404).
    #[error("{0}")]
    NotFound(String),
    /// The node cannot serve this now (503 with Retry-After).
    #[error("{0}")]
    Unavailable(#[from] ActorError),
}

/// The JSON error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Code and message of an error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code.
    pub code: String,
    /// Human explanation.
    pub message: String,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &str) {
        match self {
            Self::Unauthorized(e) => (StatusCode::UNAUTHORIZED, e.code()),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            Self::Unavailable(ActorError::Refused(why)) => (StatusCode::SERVICE_UNAVAILABLE, why),
            Self::Unavailable(e) if e.is_unavailable() => {
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            }
            Self::Unavailable(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        metrics::counter!("baton_http_errors_total", "code" => code.to_owned()).increment(1);
        let message = match &self {
            // The detail (store errors, panics) is for the log, not the client.
            Self::Unavailable(e) => {
                tracing::warn!(error = %e, code, "request failed");
                e.client_message().to_owned()
            }
            other => other.to_string(),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message,
            },
        };
        let mut resp = (status, Json(body)).into_response();
        match status {
            StatusCode::UNAUTHORIZED => {
                resp.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        resp
    }
}
