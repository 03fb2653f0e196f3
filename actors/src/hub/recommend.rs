//! Recommendations for one user: the user actor supplies its adapted
//! preference vector (and watchlist); the hub ranks the catalog with it in the
//! vector store, outside the actor.

use baton_personalization::{Filter, PersonalizationError, CONTENT};
use serde::Serialize;

use super::Hub;
use crate::error::ActorError;
use crate::user::{ReadMsg, UserMsg};

/// A ranked list for one user.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecommendationView {
    /// The user.
    pub user: String,
    /// Training steps of the adapter that ranked the list (0: no training yet,
    /// so the list is empty: a caller falls back to non-personal lists).
    pub adapter_version: u64,
    /// Best first.
    pub items: Vec<RecommendedItem>,
}

/// One recommended item.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecommendedItem {
    /// Content id.
    pub content: String,
    /// `s(e) = <u, e>`.
    pub score: f32,
}

impl Hub {
    /// The `limit` best catalog items for `user`, optionally leaving out the
    /// watchlist. Activates the user if needed.
    pub async fn recommend(
        &self,
        user: &str,
        limit: usize,
        exclude_watchlist: bool,
    ) -> Result<RecommendationView, ActorError> {
        let view = self
            .ask(user, |reply| UserMsg::Read(ReadMsg::Personal(reply)))
            .await?;
        let mut out = RecommendationView {
            user: user.to_owned(),
            adapter_version: view.adapter_version,
            items: Vec::new(),
        };
        let Some(u) = view.preference else {
            return Ok(out);
        };
        let filter = Filter {
            exclude_ids: if exclude_watchlist {
                view.watchlist
            } else {
                Vec::new()
            },
        };
        let started = std::time::Instant::now();
        let hits = match self.vectors().search(CONTENT, &u, limit, &filter).await {
            Ok(hits) => hits,
            Err(PersonalizationError::UnknownCollection(_)) => Vec::new(),
            Err(err) => return Err(err.into()),
        };
        metrics::histogram!("baton_recommend_seconds").record(started.elapsed().as_secs_f64());
        out.items = hits
            .into_iter()
            .map(|h| RecommendedItem {
                content: h.id,
                score: h.score,
            })
            .collect();
        Ok(out)
    }
}
