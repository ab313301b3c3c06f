//! Entries to feeds: the merged feed and one per party.
//!
//! A publish reads the newest entries from the store's indexes, renders
//! each feed ([`atom`]), writes it under `output_dir` atomically
//! ([`files`]), and hands the bytes to the HTTP server's cache, so the
//! server and the static files always show the same thing. Publishing
//! never fetches and never writes the store.

pub mod atom;
pub mod files;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::store::{Store, StoreError};

/// One rendered feed, ready to serve.
#[derive(Debug, Clone)]
pub struct Document {
    pub bytes: Arc<Vec<u8>>,
    pub content_type: &'static str,
    /// Strong validator: a hash of the bytes.
    pub etag: String,
    /// The feed's `updated`: moves only when its content changes.
    pub last_modified: DateTime<Utc>,
}

impl Document {
    pub fn new(bytes: Vec<u8>, content_type: &'static str, last_modified: DateTime<Utc>) -> Self {
        let etag = format!("\"{}\"", &blake3::hash(&bytes).to_hex()[..32]);
        Document { bytes: Arc::new(bytes), content_type, etag, last_modified }
    }
}

/// The published documents by URL path (`feed.atom`, `parties/pcp.atom`).
#[derive(Clone, Default)]
pub struct Published {
    docs: Arc<RwLock<BTreeMap<String, Document>>>,
}

impl Published {
    pub fn get(&self, path: &str) -> Option<Document> {
        self.docs.read().ok()?.get(path).cloned()
    }

    fn replace(&self, docs: BTreeMap<String, Document>) {
        if let Ok(mut guard) = self.docs.write() {
            *guard = docs;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.docs.read().map(|d| d.is_empty()).unwrap_or(true)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot render {path}: {cause}")]
    Render { path: String, cause: String },
    #[error("cannot write {path}: {cause}")]
    Write { path: String, cause: String },
}

/// Renders every feed from the store and writes it out. The in-memory
/// copy is replaced even when a file cannot be written, so the server
/// keeps serving what the store holds; the first write error is returned.
pub fn publish_all(config: &Config, store: &Store, published: &Published) -> Result<usize, PublishError> {
    let docs = render_all(config, store)?;
    let written = write_all(&config.daemon.output_dir, &docs);
    let count = docs.len();
    published.replace(docs);
    written.map(|()| count)
}

/// Every feed, by URL path.
pub fn render_all(config: &Config, store: &Store) -> Result<BTreeMap<String, Document>, PublishError> {
    let size = config.daemon.feed_size;
    let mut docs = BTreeMap::new();
    let merged = store.newest(size)?;
    docs.insert("feed.atom".to_string(), atom::render(config, atom::Scope::Merged, &merged, store.created())?);
    for party in &config.parties {
        let entries = store.newest_of_party(&party.id, size)?;
        let path = format!("parties/{}.atom", party.id);
        docs.insert(path, atom::render(config, atom::Scope::Party(party), &entries, store.created())?);
    }
    Ok(docs)
}

fn write_all(dir: &Path, docs: &BTreeMap<String, Document>) -> Result<(), PublishError> {
    let mut first_error = None;
    for (path, doc) in docs {
        if let Err(e) = files::write_atomic(&dir.join(path), &doc.bytes) {
            tracing::error!(path = %dir.join(path).display(), error = %e, "cannot write a static feed; the server keeps serving it from memory");
            first_error.get_or_insert(PublishError::Write { path: dir.join(path).display().to_string(), cause: e.to_string() });
        }
    }
    first_error.map_or(Ok(()), Err)
}
