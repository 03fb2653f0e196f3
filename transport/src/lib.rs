//! stub
pub mod auth;
