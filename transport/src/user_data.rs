//! The user's rights over their data: `GET /v1/users/{user}/export` (right of
//! access: everything Baton holds for the user, as one JSON document) and
//! `DELETE /v1/users/{user}` (right to erasure, `admin:erase`). In a cluster
//! both run on the user's owner (forwarded like every per-user path).

use axum::Json;
use base64::Engine as _;
use baton_actors::user::UserView;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Scope;
use crate::error::{ApiError, ErrorBody};
use crate::rest::{authenticate, check_user_id, ReadCtx};

/// The export format's name and version (changes when a field's meaning does).
pub const EXPORT_FORMAT: &str = "baton-user-export/1";

/// Everything Baton holds for one user.
#[derive(Serialize, ToSchema)]
pub struct UserExport {
    /// [`EXPORT_FORMAT`].
    pub format: &'static str,
    /// The user.
    pub user: String,
    /// When the export was made (ms since the Unix epoch).
    pub exported_at_ms: u64,
    /// The durable state: watchlist, playback positions, devices with presence,
    /// preferences, the playback lease, with its version.
    pub state: UserView,
    /// The history kept in the log: every record after the last compaction
    /// (older history is folded into `state`).
    pub history: Vec<HistoryEntry>,
    /// Personalization.
    pub personalization: PersonalizationExport,
    /// The last erasure of this user (ms since the Unix epoch), if any.
    pub erased_at_ms: Option<u64>,
}

/// One log record.
#[derive(Serialize, ToSchema)]
pub struct HistoryEntry {
    /// Version it produced.
    pub version: u64,
    /// Device that sent it (or the server's own id for its records).
    pub device: String,
    /// The device's sequence number.
    pub seq: u64,
    /// Server time it was applied (ms since the Unix epoch).
    pub at_ms: i64,
    /// The record as stored (an op or a control record, JSON).
    #[schema(value_type = Object)]
    pub record: serde_json::Value,
}

/// The personalization data of one user.
#[derive(Serialize, ToSchema)]
pub struct PersonalizationExport {
    /// Training steps taken (each after 10 interactions); 0: none yet.
    pub training_steps: u64,
    /// Interactions received and not yet trained on.
    pub pending_interactions: usize,
    /// The adapted preference vector (`None` before the first training step).
    pub preference_vector: Option<Vec<f32>>,
    /// The stored LoRA adapter: its version and bytes (base64), if any.
    pub adapter: Option<AdapterExport>,
}

/// A stored adapter.
#[derive(Serialize, ToSchema)]
pub struct AdapterExport {
    /// Training version.
    pub version: u64,
    /// The adapter bytes (baton-personalization's format), standard base64.
    pub bytes_base64: String,
}

/// What an erasure deleted.
#[derive(Serialize, ToSchema)]
pub struct ErasureBody {
    /// The user.
    pub user: String,
    /// The erasure time (ms since the Unix epoch): tokens issued before it are refused.
    pub erased_at_ms: u64,
    /// Log entries deleted.
    pub log_entries: u64,
    /// Snapshots deleted (0 or 1).
    pub snapshots: u64,
    /// Personalization adapters deleted (0 or 1).
    pub adapters: u64,
    /// Ownership claims deleted (0 or 1).
    pub claims: u64,
    /// Whether the user was live on the node (its devices were closed with 4010).
    pub closed_live_sessions: bool,
}

/// Export everything Baton holds for the user.
#[utoipa::path(get, path = "/v1/users/{user}/export", tag = "users",
    params(("user" = String, Path, description = "user id: 1..=256 bytes of visible ASCII", pattern = "^[!-~]{1,256}$(?!\\n)", min_length = 1, max_length = 256)),
    responses((status = 200, description = "the user's data", body = UserExport),
        (status = 400, description = "invalid user id (`invalid_user_id`)", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn export(ctx: ReadCtx) -> Result<Json<UserExport>, ApiError> {
    let principal = authenticate(&ctx.app, &ctx.headers, ctx.query.as_deref()).await?;
    check_user_id(&ctx.user)?;
    let allowed = principal.user == ctx.user
        || principal.has(Scope::ServiceRead)
        || principal.has(Scope::AdminErase);
    if !allowed {
        return Err(ApiError::Forbidden(format!(
            "this token may not export user {}",
            ctx.user
        )));
    }
    let hub = &ctx.app.hub;
    let store = hub.store();
    let state = hub.read(&ctx.user).await?;
    let personal = hub.personal(&ctx.user).await?;
    let log = store
        .log_since(&ctx.user, 0, usize::MAX)
        .await
        .map_err(baton_actors::ActorError::from)?;
    let adapter = store
        .load_adapter(&ctx.user)
        .await
        .map_err(baton_actors::ActorError::from)?;
    let erased_at_ms = store
        .erased_at(&ctx.user)
        .await
        .map_err(baton_actors::ActorError::from)?;
    let history = log
        .into_iter()
        .map(|e| HistoryEntry {
            version: e.version,
            device: e.device,
            seq: e.seq,
            at_ms: e.at_ms,
            record: serde_json::from_slice(&e.payload).unwrap_or_else(|_| {
                serde_json::json!({
                    "bytes_base64": base64::engine::general_purpose::STANDARD.encode(&e.payload)
                })
            }),
        })
        .collect();
    Ok(Json(UserExport {
        format: EXPORT_FORMAT,
        user: ctx.user.clone(),
        exported_at_ms: now_ms(),
        state,
        history,
        personalization: PersonalizationExport {
            training_steps: personal.adapter_version,
            pending_interactions: personal.pending_interactions,
            preference_vector: personal.preference,
            adapter: adapter.map(|a| AdapterExport {
                version: a.version,
                bytes_base64: base64::engine::general_purpose::STANDARD.encode(&a.bytes),
            }),
        },
        erased_at_ms,
    }))
}

/// Erase the user from every store Baton writes (idempotent).
#[utoipa::path(delete, path = "/v1/users/{user}", tag = "admin",
    params(("user" = String, Path, description = "user id: 1..=256 bytes of visible ASCII", pattern = "^[!-~]{1,256}$(?!\\n)", min_length = 1, max_length = 256)),
    responses((status = 200, description = "erased (again: all counts 0); the user's sockets were closed with 4010", body = ErasureBody),
        (status = 400, description = "invalid user id (`invalid_user_id`)", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, description = "the token lacks `admin:erase`", body = ErrorBody),
        (status = 503, description = "a store could not be reached: retry (erasure is idempotent)", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn erase(ctx: ReadCtx) -> Result<Json<ErasureBody>, ApiError> {
    let principal = authenticate(&ctx.app, &ctx.headers, ctx.query.as_deref()).await?;
    check_user_id(&ctx.user)?;
    if !principal.has(Scope::AdminErase) {
        return Err(ApiError::Forbidden(
            "erasing a user needs the admin:erase scope".into(),
        ));
    }
    let report = ctx.app.hub.erase(&ctx.user).await?;
    Ok(Json(ErasureBody {
        user: ctx.user.clone(),
        erased_at_ms: report.erased_at_ms,
        log_entries: report.store.log_entries,
        snapshots: report.store.snapshots,
        adapters: report.store.adapters,
        claims: report.store.claims,
        closed_live_sessions: report.stopped_live_actor,
    }))
}

fn now_ms() -> u64 {
    baton_actors::clock::wall_ms()
}
