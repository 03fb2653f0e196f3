//! Personalization wiring: build the configured vector store, load the
//! catalog into it, and the `baton import-catalog` command.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use baton_personalization::catalog::read_catalog;
use baton_personalization::{import_catalog, InProcessIndex, QdrantStore, VectorStore};

use crate::config::{Config, VectorBackend};

/// The configured vector store, with `personalization.catalog` loaded if set.
pub async fn vectors(cfg: &Config) -> anyhow::Result<Arc<dyn VectorStore>> {
    let p = &cfg.personalization;
    let store: Arc<dyn VectorStore> = match (p.backend, &p.qdrant_url) {
        (VectorBackend::Qdrant, Some(url)) => Arc::new(
            QdrantStore::connect(url).with_context(|| format!("connecting to Qdrant at {url}"))?,
        ),
        _ => Arc::new(InProcessIndex::new()),
    };
    if let Some(path) = &p.catalog {
        let n = load(store.as_ref(), path).await?;
        tracing::info!(items = n, path = %path.display(), "catalog loaded");
    }
    Ok(store)
}

async fn load(store: &dyn VectorStore, path: &Path) -> anyhow::Result<usize> {
    let catalog = read_catalog(path)?;
    import_catalog(store, &catalog)
        .await
        .with_context(|| format!("importing {}", path.display()))
}

/// `baton import-catalog --file F`: validates the file; with the `qdrant`
/// backend, upserts it into the `content` collection. Returns the report line.
pub async fn import_cmd(cfg: &Config, file: &Path) -> anyhow::Result<String> {
    let catalog = read_catalog(file)?;
    match (cfg.personalization.backend, &cfg.personalization.qdrant_url) {
        (VectorBackend::Qdrant, Some(url)) => {
            let store = QdrantStore::connect(url)?;
            let n = import_catalog(&store, &catalog).await?;
            Ok(format!(
                "imported {n} items (dimension {}) into Qdrant at {url}, collection content",
                catalog.dim
            ))
        }
        _ => Ok(format!(
            "{} valid: {} items, dimension {}. The memory backend keeps vectors in the \
             serving process: set personalization.catalog = \"{}\" to load it at start",
            file.display(),
            catalog.items.len(),
            catalog.dim,
            file.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn import_validates_and_serve_loads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("catalog.jsonl");
        let items = baton_personalization::synth::synthetic_catalog(
            &baton_personalization::synth::SynthSpec {
                items: 50,
                genres: 5,
                dim: 8,
                noise: 1.0,
                seed: 1,
            },
        );
        std::fs::write(&file, baton_personalization::synth::to_jsonl(&items)).expect("write");
        let mut cfg = Config::default();
        let report = import_cmd(&cfg, &file).await.expect("import");
        assert!(report.contains("50 items, dimension 8"), "{report}");

        cfg.personalization.catalog = Some(file.clone());
        let store = vectors(&cfg).await.expect("vectors");
        let got = store
            .get(baton_personalization::CONTENT, &["movie:7".to_owned()])
            .await
            .expect("get");
        assert_eq!(got.len(), 1);

        std::fs::write(&file, "{\"id\":\"movie:1\",\"embedding\":[1]}\n{oops\n").expect("write");
        let err = import_cmd(&cfg, &file).await.expect_err("bad line");
        assert!(format!("{err:#}").contains("line 2"), "{err:#}");
    }
}
