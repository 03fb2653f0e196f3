//! The transport's side of forwarding (the mechanics are
//! `baton_cluster::forward`): the middleware on per-user REST routes that
//! sends a call for a user owned elsewhere to its owner, and the mapping of
//! forwarding failures to HTTP answers.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use baton_actors::ActorError;
use baton_cluster::ClusterError;

use crate::error::ApiError;
use crate::server::AppState;

impl From<ClusterError> for ApiError {
    fn from(e: ClusterError) -> Self {
        match e {
            ClusterError::TokenRefused => {
                ApiError::Forbidden("the owner node refused the token".into())
            }
            ClusterError::NotOwner => ApiError::Unavailable(ActorError::Refused("moving")),
            other => ApiError::Unavailable(ActorError::Unavailable(other.to_string())),
        }
    }
}

/// Middleware on the per-user REST routes: forward to the owner when the
/// user lives on another node.
pub(crate) async fn forward_reads(
    State(app): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let (Some(fwd), Some(user)) = (app.forwarding.as_ref(), user_in_path(request.uri().path()))
    else {
        return next.run(request).await;
    };
    // Reads have no body: the method, path and headers are all that is sent.
    let method = request.method().clone();
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let headers = request.headers().clone();
    let (method, path, headers_ref, hub) = (&method, path.as_str(), &headers, &app.hub);
    let answer = fwd
        .at_owner(&app.hub, &headers, &user, |node| async move {
            fwd.forward_http(&node, method, path, headers_ref, &hub.suspects())
                .await
        })
        .await;
    match answer {
        Ok(Some(resp)) => resp,
        Ok(None) => next.run(request).await,
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// The `{user}` of `/v1/users/{user}/...` or `/v1/admin/users/{user}/...`.
fn user_in_path(path: &str) -> Option<String> {
    let rest = path
        .strip_prefix("/v1/users/")
        .or_else(|| path.strip_prefix("/v1/admin/users/"))?;
    let user = rest.split('/').next().filter(|u| !u.is_empty())?;
    Some(
        form_urlencoded::parse(format!("u={user}").as_bytes())
            .next()
            .map_or_else(|| user.to_owned(), |(_, v)| v.into_owned()),
    )
}

#[cfg(test)]
mod tests {
    use super::user_in_path;

    #[test]
    fn finds_the_user_in_user_paths_only() {
        assert_eq!(
            user_in_path("/v1/users/alice/state").as_deref(),
            Some("alice")
        );
        assert_eq!(
            user_in_path("/v1/admin/users/bob/stats").as_deref(),
            Some("bob")
        );
        assert_eq!(
            user_in_path("/v1/users/a%3Ab/state").as_deref(),
            Some("a:b")
        );
        assert_eq!(user_in_path("/v1/users//state"), None);
        assert_eq!(user_in_path("/v1/sync"), None);
    }
}
