//! Content catalog: the JSONL import format and loading it into a store.
//!
//! One JSON object per line: `{"id":"movie:1","title":"...","genres":["drama"],
//! "embedding":[0.1, ...]}`. Blank lines are skipped. Every line is checked
//! (id format, finite values, one dimension for the whole file, no duplicate
//! id) before anything is imported; the first bad line is reported by number.

use std::collections::HashSet;
use std::io::BufRead;

use serde::{Deserialize, Serialize};

use crate::store::{VectorItem, VectorStore, CONTENT};
use crate::PersonalizationError;

/// Items written per upsert call.
const UPSERT_CHUNK: usize = 256;

/// One catalog entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogItem {
    /// Content id: 1 to 128 bytes of `[A-Za-z0-9:._-]` (as in the device protocol).
    pub id: String,
    /// Display title.
    #[serde(default)]
    pub title: String,
    /// Genres.
    #[serde(default)]
    pub genres: Vec<String>,
    /// The content embedding.
    pub embedding: Vec<f32>,
}

/// A validated catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    /// Embedding dimension shared by every item.
    pub dim: usize,
    /// The items, in file order.
    pub items: Vec<CatalogItem>,
}

/// Whether `id` is a valid content id.
pub fn valid_content_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'.' | b'_' | b'-'))
}

/// Parse and validate JSONL.
pub fn parse_catalog(reader: impl BufRead) -> Result<Catalog, PersonalizationError> {
    let mut dim = None;
    let mut seen = HashSet::new();
    let mut items = Vec::new();
    for (n, line) in reader.lines().enumerate() {
        let line_no = n + 1;
        let bad = |detail: String| PersonalizationError::Catalog {
            line: line_no,
            detail,
        };
        let line = line.map_err(|e| bad(e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let item: CatalogItem = serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
        if !valid_content_id(&item.id) {
            return Err(bad(format!("invalid content id {:?}", item.id)));
        }
        if item.embedding.is_empty() {
            return Err(bad("empty embedding".into()));
        }
        if item.embedding.iter().any(|x| !x.is_finite()) {
            return Err(bad("embedding has a non-finite value".into()));
        }
        match dim {
            None => dim = Some(item.embedding.len()),
            Some(d) if d != item.embedding.len() => {
                return Err(bad(format!(
                    "embedding has {} values, earlier lines have {d}",
                    item.embedding.len()
                )))
            }
            Some(_) => {}
        }
        if !seen.insert(item.id.clone()) {
            return Err(bad(format!("duplicate id {}", item.id)));
        }
        items.push(item);
    }
    Ok(Catalog {
        dim: dim.unwrap_or(0),
        items,
    })
}

/// Read and validate a JSONL file.
pub fn read_catalog(path: &std::path::Path) -> Result<Catalog, PersonalizationError> {
    let file = std::fs::File::open(path).map_err(|source| PersonalizationError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_catalog(std::io::BufReader::new(file))
}

/// Create the [`CONTENT`] collection and upsert every item. Returns the count.
pub async fn import_catalog(
    store: &dyn VectorStore,
    catalog: &Catalog,
) -> Result<usize, PersonalizationError> {
    if catalog.items.is_empty() {
        return Ok(0);
    }
    store.ensure_collection(CONTENT, catalog.dim).await?;
    for chunk in catalog.items.chunks(UPSERT_CHUNK) {
        let items = chunk
            .iter()
            .map(|c| VectorItem {
                id: c.id.clone(),
                vector: c.embedding.clone(),
                title: c.title.clone(),
                genres: c.genres.clone(),
            })
            .collect();
        store.upsert(CONTENT, items).await?;
    }
    Ok(catalog.items.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_names_bad_lines() {
        let good = "{\"id\":\"movie:1\",\"title\":\"A\",\"genres\":[\"x\"],\"embedding\":[1,0]}\n\n{\"id\":\"movie:2\",\"embedding\":[0,1]}\n";
        let cat = parse_catalog(good.as_bytes()).expect("parse");
        assert_eq!((cat.dim, cat.items.len()), (2, 2));

        let cases = [
            ("{\"id\":\"m:1\",\"embedding\":[1]}\nnot json\n", 2),
            (
                "{\"id\":\"m:1\",\"embedding\":[1]}\n{\"id\":\"m:2\",\"embedding\":[1,2]}\n",
                2,
            ),
            ("{\"id\":\"bad id\",\"embedding\":[1]}\n", 1),
            (
                "{\"id\":\"m:1\",\"embedding\":[1]}\n{\"id\":\"m:1\",\"embedding\":[2]}\n",
                2,
            ),
            ("{\"id\":\"m:1\",\"embedding\":[]}\n", 1),
            ("{\"id\":\"m:1\",\"embedding\":[1],\"extra\":1}\n", 1),
        ];
        for (text, line) in cases {
            match parse_catalog(text.as_bytes()) {
                Err(PersonalizationError::Catalog { line: l, detail }) => {
                    assert_eq!(l, line, "{text}: {detail}")
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }
}
