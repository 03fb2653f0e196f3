//! Token extraction from the header or the query string.

use axum::http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue};

use crate::bearer_or_query;

fn headers(auth: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        AUTHORIZATION,
        HeaderValue::from_str(auth).expect("header value"),
    );
    h
}

#[test]
fn bearer_header() {
    assert_eq!(
        bearer_or_query(&headers("Bearer abc.def.ghi"), None).as_deref(),
        Some("abc.def.ghi")
    );
    assert_eq!(
        bearer_or_query(&headers("bearer  xyz "), None).as_deref(),
        Some("xyz")
    );
    assert_eq!(bearer_or_query(&headers("Bearer "), None), None);
    assert_eq!(bearer_or_query(&headers("Basic dXNlcjpwdw=="), None), None);
}

#[test]
fn query_token_is_percent_decoded() {
    let none = HeaderMap::new();
    assert_eq!(
        bearer_or_query(&none, Some("token=abc%2Edef.g-h_i")).as_deref(),
        Some("abc.def.g-h_i")
    );
    assert_eq!(
        bearer_or_query(&none, Some("?v=1&token=t1&x=2")).as_deref(),
        Some("t1")
    );
    assert_eq!(bearer_or_query(&none, Some("token=")), None);
    assert_eq!(bearer_or_query(&none, Some("tokens=abc")), None);
    assert_eq!(bearer_or_query(&none, None), None);
}

#[test]
fn header_wins_over_query_and_non_bearer_falls_back() {
    assert_eq!(
        bearer_or_query(&headers("Bearer h"), Some("token=q")).as_deref(),
        Some("h")
    );
    assert_eq!(
        bearer_or_query(&headers("Basic zzz"), Some("token=q")).as_deref(),
        Some("q")
    );
}
