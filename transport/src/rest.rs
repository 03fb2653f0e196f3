//! REST cold reads of one user's state. Every call needs a token: a device
//! token reads only its own user; a `service:read` token reads any user.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use baton_actors::user::{DeviceView, PlaybackView, UserStats, UserView, WatchlistView};
use baton_crdt::ContentId;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::identity::{valid_user, USER_RULE};
use crate::auth::{bearer_or_query, AuthError, Principal, Scope};
use crate::error::{ApiError, ErrorBody};
use crate::server::AppState;

/// The watchlist with the version it was read at.
#[derive(Serialize, ToSchema)]
pub struct WatchlistBody {
    /// Server version.
    pub version: u64,
    /// Items, sorted by content id.
    pub items: Vec<WatchlistView>,
}

/// Playback positions with the version they were read at.
#[derive(Serialize, ToSchema)]
pub struct PlaybackBody {
    /// Server version.
    pub version: u64,
    /// Positions, sorted by content id.
    pub items: Vec<PlaybackView>,
}

/// Devices with presence.
#[derive(Serialize, ToSchema)]
pub struct DevicesBody {
    /// Server version.
    pub version: u64,
    /// Devices, sorted by id.
    pub devices: Vec<DeviceView>,
}

/// The preferences document.
#[derive(Serialize, ToSchema)]
pub struct PreferencesBody {
    /// Server version.
    pub version: u64,
    /// The document as JSON.
    #[schema(value_type = Object)]
    pub preferences: serde_json::Value,
}

enum Need {
    Watchlist,
    Preferences,
    Both,
}

/// What every user read needs: the app, the user in the path, and the
/// request's headers and query (for the token and `If-None-Match`).
pub(crate) struct ReadCtx {
    pub(crate) app: AppState,
    pub(crate) user: String,
    pub(crate) headers: HeaderMap,
    pub(crate) query: Option<String>,
}

impl FromRequestParts<AppState> for ReadCtx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, app)
            .await
            .map_err(|e| ApiError::BadRequest {
                code: "invalid_path",
                message: e.to_string(),
            })?;
        Ok(ReadCtx {
            app: app.clone(),
            user: params.get("user").cloned().unwrap_or_default(),
            headers: parts.headers.clone(),
            query: parts.uri.query().map(str::to_owned),
        })
    }
}

impl ReadCtx {
    async fn view(&self, need: Need) -> Result<UserView, ApiError> {
        read(
            &self.app,
            &self.headers,
            self.query.as_deref(),
            &self.user,
            need,
        )
        .await
    }

    /// Read, shape the body, and answer with the version as ETag.
    async fn respond<B: Serialize>(
        &self,
        need: Need,
        body: impl FnOnce(UserView) -> (u64, B),
    ) -> Result<Response, ApiError> {
        let (version, body) = body(self.view(need).await?);
        Ok(with_etag(version, &self.headers, body))
    }
}

async fn read(
    app: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
    user: &str,
    need: Need,
) -> Result<UserView, ApiError> {
    let principal = authenticate(app, headers, query).await?;
    check_user_id(user)?;
    if !principal.can_read_user(user) {
        return Err(ApiError::Forbidden(format!(
            "this token may not read user {user}"
        )));
    }
    let service = principal.has(Scope::ServiceRead);
    let ok = service
        || match need {
            Need::Watchlist => principal.has(Scope::ReadWatchlist),
            Need::Preferences => principal.has(Scope::ReadPreferences),
            Need::Both => {
                principal.has(Scope::ReadWatchlist) && principal.has(Scope::ReadPreferences)
            }
        };
    if !ok {
        return Err(ApiError::Forbidden(
            "the token lacks the read scope for this resource".into(),
        ));
    }
    Ok(app.hub.read(user).await?)
}

/// Verify the request's token and refuse a revoked one.
pub(crate) async fn authenticate(
    app: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Principal, ApiError> {
    let token = bearer_or_query(headers, query).ok_or(AuthError::MissingToken)?;
    let principal = app.verifier.verify(&token)?;
    if let Some(jti) = &principal.jti {
        if app.hub.shared().is_revoked(jti).await {
            return Err(AuthError::Revoked.into());
        }
    }
    // One primary-key read per request or socket: a token issued before its
    // user's erasure (second granularity, so one issued in the same second
    // too) carries a replica that must not come back.
    let erased_at_ms = app
        .hub
        .store()
        .erased_at(&principal.user)
        .await
        .map_err(baton_actors::ActorError::from)?;
    if let Some(erased_at_ms) = erased_at_ms {
        if principal
            .issued_at
            .is_none_or(|iat| iat.saturating_mul(1000) <= erased_at_ms)
        {
            return Err(AuthError::UserErased.into());
        }
    }
    Ok(principal)
}

/// A user id in a path follows the same rule as a token's `sub`.
pub(crate) fn check_user_id(user: &str) -> Result<(), ApiError> {
    if valid_user(user) {
        Ok(())
    } else {
        Err(ApiError::BadRequest {
            code: "invalid_user_id",
            message: format!("user ids are {USER_RULE}"),
        })
    }
}

fn with_etag(version: u64, headers: &HeaderMap, body: impl Serialize) -> Response {
    let etag = format!("\"{version}\"");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag)
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mut resp = Json(body).into_response();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

/// The user's whole state.
#[utoipa::path(get, path = "/v1/users/{user}/state", tag = "users",
    params(("user" = String, Path, description = "user id: 1..=256 bytes of visible ASCII", pattern = "^[!-~]{1,256}$(?!\\n)", min_length = 1, max_length = 256)),
    responses((status = 200, description = "state; ETag is the version", body = UserView),
        (status = 304, description = "not modified (If-None-Match)"),
        (status = 400, description = "invalid user id (`invalid_user_id`)", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn state(ctx: ReadCtx) -> Result<Response, ApiError> {
    ctx.respond(Need::Both, |v| (v.version, v)).await
}

/// The watchlist.
#[utoipa::path(get, path = "/v1/users/{user}/watchlist", tag = "users",
    params(("user" = String, Path, description = "user id: 1..=256 bytes of visible ASCII", pattern = "^[!-~]{1,256}$(?!\\n)", min_length = 1, max_length = 256)),
    responses((status = 200, body = WatchlistBody), (status = 304, description = "not modified (If-None-Match)"),
        (status = 400, description = "invalid user id (`invalid_user_id`)", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn watchlist(ctx: ReadCtx) -> Result<Response, ApiError> {
    ctx.respond(Need::Watchlist, |v| {
        let version = v.version;
        (
            version,
            WatchlistBody {
                version,
                items: v.watchlist,
            },
        )
    })
    .await
}

/// All playback positions.
#[utoipa::path(get, path = "/v1/users/{user}/playback", tag = "users",
    params(("user" = String, Path, description = "user id: 1..=256 bytes of visible ASCII", pattern = "^[!-~]{1,256}$(?!\\n)", min_length = 1, max_length = 256)),
    responses((status = 200, body = PlaybackBody), (status = 304, description = "not modified (If-None-Match)"),
        (status = 400, description = "invalid user id (`invalid_user_id`)", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn playback(ctx: ReadCtx) -> Result<Response, ApiError> {
    ctx.respond(Need::Watchlist, |v| {
        let version = v.version;
        (
            version,
            PlaybackBody {
                version,
                items: v.playback,
            },
        )
    })
    .await
}

/// One playback position.
#[utoipa::path(get, path = "/v1/users/{user}/playback/{content}", tag = "users",
    params(("user" = String, Path, description = "user id: 1..=256 bytes of visible ASCII", pattern = "^[!-~]{1,256}$(?!\\n)", min_length = 1, max_length = 256),
        ("content" = String, Path, description = "content id: 1..=128 bytes of [A-Za-z0-9:._-]", pattern = "^[A-Za-z0-9:._-]{1,128}$(?!\\n)", min_length = 1, max_length = 128)),
    responses((status = 200, body = PlaybackView), (status = 304, description = "not modified (If-None-Match)"),
        (status = 400, description = "invalid user or content id (`invalid_user_id`, `invalid_content_id`)", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "no position for this content", body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn playback_one(
    ctx: ReadCtx,
    Path(path): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let content = ContentId::parse(&path.1).map_err(|e| ApiError::BadRequest {
        code: "invalid_content_id",
        message: e.to_string(),
    })?;
    let view = ctx.view(Need::Watchlist).await?;
    let entry = view
        .playback
        .into_iter()
        .find(|p| p.content == content.as_str())
        .ok_or_else(|| {
            ApiError::NotFound(format!("no playback position for {}", content.as_str()))
        })?;
    Ok(with_etag(view.version, &ctx.headers, entry))
}

/// Devices and presence.
#[utoipa::path(get, path = "/v1/users/{user}/devices", tag = "users",
    params(("user" = String, Path, description = "user id: 1..=256 bytes of visible ASCII", pattern = "^[!-~]{1,256}$(?!\\n)", min_length = 1, max_length = 256)),
    responses((status = 200, body = DevicesBody), (status = 304, description = "not modified (If-None-Match)"),
        (status = 400, description = "invalid user id (`invalid_user_id`)", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn devices(ctx: ReadCtx) -> Result<Response, ApiError> {
    ctx.respond(Need::Watchlist, |v| {
        let version = v.version;
        (
            version,
            DevicesBody {
                version,
                devices: v.devices,
            },
        )
    })
    .await
}

/// The preferences document.
#[utoipa::path(get, path = "/v1/users/{user}/preferences", tag = "users",
    params(("user" = String, Path, description = "user id: 1..=256 bytes of visible ASCII", pattern = "^[!-~]{1,256}$(?!\\n)", min_length = 1, max_length = 256)),
    responses((status = 200, body = PreferencesBody), (status = 304, description = "not modified (If-None-Match)"),
        (status = 400, description = "invalid user id (`invalid_user_id`)", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn preferences(ctx: ReadCtx) -> Result<Response, ApiError> {
    ctx.respond(Need::Preferences, |v| {
        let version = v.version;
        (
            version,
            PreferencesBody {
                version,
                preferences: v.preferences,
            },
        )
    })
    .await
}

/// Size figures of one user's state (service tokens only).
#[utoipa::path(get, path = "/v1/admin/users/{user}/stats", tag = "admin",
    params(("user" = String, Path, description = "user id: 1..=256 bytes of visible ASCII", pattern = "^[!-~]{1,256}$(?!\\n)", min_length = 1, max_length = 256)),
    responses((status = 200, body = UserStats),
        (status = 400, description = "invalid user id (`invalid_user_id`)", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn stats(ctx: ReadCtx) -> Result<Json<UserStats>, ApiError> {
    let principal = authenticate(&ctx.app, &ctx.headers, ctx.query.as_deref()).await?;
    check_user_id(&ctx.user)?;
    if !principal.has(Scope::ServiceRead) {
        return Err(ApiError::Forbidden(
            "admin reads need the service:read scope".into(),
        ));
    }
    Ok(Json(ctx.app.hub.stats(&ctx.user).await?))
}
