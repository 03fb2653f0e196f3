//! Finding the bearer token in a request.

use http::header::AUTHORIZATION;
use http::HeaderMap;

/// The token from `Authorization: Bearer <token>` (scheme case-insensitive),
/// else from the `token` parameter of the raw query string (percent-decoded;
/// browsers cannot set headers on a WebSocket upgrade). `None` when neither
/// holds a non-empty token.
pub fn bearer_or_query(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    let from_header = headers
        .get_all(AUTHORIZATION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            let token = token.trim();
            (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
        });
    from_header.or_else(|| {
        let query = query?;
        let query = query.strip_prefix('?').unwrap_or(query);
        form_urlencoded::parse(query.as_bytes())
            .find(|(key, value)| key == "token" && !value.is_empty())
            .map(|(_, value)| value.into_owned())
    })
}
