//! The OpenAPI document served at `/openapi.json`.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The REST API's OpenAPI description.
#[derive(OpenApi)]
#[openapi(
    info(title = "Baton", description = "Cross-device sync: REST cold reads and the device WebSocket"),
    paths(
        crate::ws::sync,
        crate::rest::state, crate::rest::watchlist, crate::rest::playback, crate::rest::playback_one,
        crate::rest::devices, crate::rest::preferences, crate::rest::stats, crate::revoke::revoke,
        crate::recommend::recommendations,
        crate::user_data::export, crate::user_data::erase,
        crate::health::live, crate::health::ready, crate::health::metrics,
    ),
    modifiers(&Bearer)
)]
pub struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

pub(crate) async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
