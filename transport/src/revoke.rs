//! `POST /v1/admin/revocations`: revoke a token by its `jti`, on every node.

use axum::extract::rejection::JsonRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

use crate::auth::Scope;
use crate::error::{ApiError, ErrorBody};
use crate::server::AppState;

/// A token to revoke.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    /// The token's `jti`.
    #[schema(pattern = "^[!-~]{1,256}$(?!\\n)", min_length = 1, max_length = 256)]
    pub jti: String,
    /// The token's `exp` (Unix seconds): the revocation is kept until then.
    #[schema(minimum = 0, maximum = 9_223_372_036_854_775_807_i64)]
    #[serde(deserialize_with = "unix_seconds")]
    pub expires_at: u64,
}

/// `expires_at`: an integer in 0..=`i64::MAX`. A number without a fraction
/// (`13866.0`) is an integer too, as JSON Schema counts them.
fn unix_seconds<'de, D: Deserializer<'de>>(de: D) -> Result<u64, D::Error> {
    let n = serde_json::Number::deserialize(de)?;
    let max = i64::MAX.unsigned_abs();
    n.as_u64()
        .or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && (0.0..=max as f64).contains(f))
                .map(|f| f as u64)
        })
        .filter(|v| *v <= max)
        .ok_or_else(|| serde::de::Error::custom(format!("expires_at must be an integer 0..={max}")))
}

/// Revoke a token: refused at once by every node; open sockets using it are closed with 1008.
#[utoipa::path(post, path = "/v1/admin/revocations", tag = "admin",
    request_body = Revocation,
    responses((status = 204, description = "revoked on every node"),
        (status = 400, description = "body is not a revocation (`invalid_body`, `invalid_jti`)", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 415, description = "body is not `application/json`", body = ErrorBody),
        (status = 503, description = "shared state (Redis) unreachable: nothing was revoked", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn revoke(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Result<Json<Revocation>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let principal = crate::rest::authenticate(&app, &headers, q.as_deref()).await?;
    if !principal.has(Scope::AdminRevoke) {
        return Err(ApiError::Forbidden(
            "revoking tokens needs the admin:revoke scope".into(),
        ));
    }
    let body = match body {
        Ok(Json(body)) => body,
        Err(JsonRejection::MissingJsonContentType(e)) => {
            return Err(ApiError::UnsupportedMediaType(e.body_text()))
        }
        Err(e) => {
            return Err(ApiError::BadRequest {
                code: "invalid_body",
                message: e.body_text(),
            })
        }
    };
    if !crate::auth::identity::valid_jti(&body.jti) {
        return Err(ApiError::BadRequest {
            code: "invalid_jti",
            message: format!("jti must be {}", crate::auth::identity::JTI_RULE),
        });
    }
    app.hub
        .shared()
        .revoke(&body.jti, body.expires_at)
        .await
        .map_err(|e| ApiError::Unavailable(baton_actors::ActorError::Unavailable(e.to_string())))?;
    metrics::counter!("baton_tokens_revoked_total").increment(1);
    tracing::info!(jti = %body.jti, "token revoked");
    Ok(StatusCode::NO_CONTENT)
}
