//! `POST /v1/admin/revocations`: revoke a token by its `jti`, on every node.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::Scope;
use crate::error::{ApiError, ErrorBody};
use crate::server::AppState;

/// A token to revoke.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    /// The token's `jti`.
    pub jti: String,
    /// The token's `exp` (Unix seconds): the revocation is kept until then.
    pub expires_at: u64,
}

/// Revoke a token: refused at once by every node; open sockets using it are closed with 1008.
#[utoipa::path(post, path = "/v1/admin/revocations", tag = "admin",
    request_body = Revocation,
    responses((status = 204, description = "revoked on every node"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 503, description = "shared state (Redis) unreachable: nothing was revoked", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn revoke(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    Json(body): Json<Revocation>,
) -> Result<StatusCode, ApiError> {
    let principal = crate::rest::authenticate(&app, &headers, q.as_deref()).await?;
    if !principal.has(Scope::AdminRevoke) {
        return Err(ApiError::Forbidden(
            "revoking tokens needs the admin:revoke scope".into(),
        ));
    }
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
