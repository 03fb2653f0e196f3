//! `GET /v1/users/{user}/recommendations?limit=N&exclude_watchlist=true`:
//! the user's catalog ranked by their personalization adapter. Same auth as
//! the other reads: the user's own token with `read:watchlist`, or
//! `service:read`.

use axum::extract::Path;
use axum::http::HeaderMap;
use axum::Json;
use baton_actors::hub::RecommendationView;

use crate::auth::Scope;
use crate::error::{ApiError, ErrorBody};
use crate::rest::{authenticate, check_user_id};
use crate::server::AppState;

/// Items returned when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 20;
/// Largest `limit`.
pub const MAX_LIMIT: usize = 100;

/// Parsed query.
#[derive(Debug, PartialEq)]
struct Query {
    limit: usize,
    exclude_watchlist: bool,
}

fn parse_query(query: Option<&str>) -> Result<Query, ApiError> {
    let mut out = Query {
        limit: DEFAULT_LIMIT,
        exclude_watchlist: false,
    };
    let bad = |message: String| ApiError::BadRequest {
        code: "invalid_query",
        message,
    };
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "limit" => {
                out.limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| bad(format!("limit must be 1..={MAX_LIMIT}, got {value:?}")))?;
            }
            "exclude_watchlist" => {
                out.exclude_watchlist = match value.as_ref() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    other => {
                        return Err(bad(format!(
                            "exclude_watchlist must be true or false, got {other:?}"
                        )))
                    }
                };
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Recommendations for one user.
#[utoipa::path(get, path = "/v1/users/{user}/recommendations", tag = "users",
    params(("user" = String, Path, description = "user id: 1..=256 bytes of visible ASCII", pattern = "^[!-~]{1,256}$(?!\\n)", min_length = 1, max_length = 256),
        ("limit" = Option<usize>, Query, description = "1..=100, default 20", minimum = 1, maximum = 100),
        ("exclude_watchlist" = Option<String>, Query, description = "leave out watchlist items: true/1 or false/0 (default false)", pattern = "^(true|false|1|0)$")),
    responses((status = 200, description = "best first; empty before the first training step", body = RecommendationView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn recommendations(
    axum::extract::State(app): axum::extract::State<AppState>,
    Path(user): Path<String>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Result<Json<RecommendationView>, ApiError> {
    let principal = authenticate(&app, &headers, uri.query()).await?;
    check_user_id(&user)?;
    if !principal.can_read_user(&user) {
        return Err(ApiError::Forbidden(format!(
            "this token may not read user {user}"
        )));
    }
    if !(principal.has(Scope::ServiceRead) || principal.has(Scope::ReadWatchlist)) {
        return Err(ApiError::Forbidden(
            "recommendations need the read:watchlist scope".into(),
        ));
    }
    let q = parse_query(uri.query())?;
    Ok(Json(
        app.hub
            .recommend(&user, q.limit, q.exclude_watchlist)
            .await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_rules() {
        assert_eq!(
            parse_query(None).ok(),
            Some(Query {
                limit: 20,
                exclude_watchlist: false
            })
        );
        assert_eq!(
            parse_query(Some("limit=100&exclude_watchlist=true&token=x")).ok(),
            Some(Query {
                limit: 100,
                exclude_watchlist: true
            })
        );
        for bad in [
            "limit=0",
            "limit=101",
            "limit=abc",
            "limit=-1",
            "exclude_watchlist=maybe",
        ] {
            assert!(parse_query(Some(bad)).is_err(), "{bad}");
        }
    }
}
