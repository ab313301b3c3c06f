//! Entries to feeds: the merged feed and one per party.
//!
//! A publish reads the newest entries from the store's indexes, renders
//! each feed ([`atom`]), writes it under `output_dir` atomically
//! ([`files`]), and hands the bytes to the HTTP server's cache, so the
//! server and the static files always show the same thing. Publishing
//! never fetches and never writes the store.

pub mod atom;
pub mod files;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};

use crate::normalize::{story, Entry};

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

/// One item of a published feed: an entry, and the same story as other
/// parties published it (merged feed only; see [`crate::normalize::story`]).
#[derive(Debug)]
pub struct Story<'a> {
    /// The copy stored first: its id, title and link represent the story,
    /// so the story's `atom:id` does not change when more parties publish it.
    pub entry: &'a Entry,
    /// The other parties' copies, in the order they were stored.
    pub also: Vec<&'a Entry>,
}

impl Story<'_> {
    /// Every copy, the representative first.
    pub fn copies(&self) -> impl Iterator<Item = &Entry> {
        std::iter::once(self.entry).chain(self.also.iter().copied())
    }
}

/// Every feed, by URL path.
pub fn render_all(config: &Config, store: &Store) -> Result<BTreeMap<String, Document>, PublishError> {
    let size = config.daemon.feed_size;
    let mut docs = BTreeMap::new();
    // Joint statements fold several entries into one story: read ahead so the
    // merged feed still has `feed_size` stories.
    let newest = store.newest(size.saturating_mul(3))?;
    let merged = merge_stories(&newest, size);
    docs.insert("feed.atom".to_string(), atom::render(config, atom::Scope::Merged, &merged, store.created())?);
    for party in &config.parties {
        let entries = store.newest_of_party(&party.id, size)?;
        let stories: Vec<Story> = entries.iter().map(|entry| Story { entry, also: Vec::new() }).collect();
        let path = format!("parties/{}.atom", party.id);
        docs.insert(path, atom::render(config, atom::Scope::Party(party), &stories, store.created())?);
    }
    Ok(docs)
}

/// Groups entries (newest first) of different parties that tell the same
/// story; at most `limit` stories, newest first.
pub fn merge_stories(entries: &[Entry], limit: usize) -> Vec<Story<'_>> {
    let mut stories: Vec<Story> = Vec::new();
    let mut by_title: HashMap<String, Vec<usize>> = HashMap::new();
    let mut by_link: HashMap<&str, Vec<usize>> = HashMap::new();
    for entry in entries {
        let title_key = story::title_key(&entry.title);
        let candidates: Vec<usize> = by_title
            .get(&title_key)
            .into_iter()
            .flatten()
            .chain(entry.canonical_link.as_deref().and_then(|l| by_link.get(l)).into_iter().flatten())
            .copied()
            .collect();
        let mine = story::StoryFacts {
            title_key: &title_key,
            canonical_link: entry.canonical_link.as_deref(),
            published: entry.published,
            sketch: &entry.sketch,
        };
        let found = candidates.into_iter().find(|&i| {
            let s = &stories[i];
            let rep_key = story::title_key(&s.entry.title);
            let theirs = story::StoryFacts {
                title_key: &rep_key,
                canonical_link: s.entry.canonical_link.as_deref(),
                published: s.entry.published,
                sketch: &s.entry.sketch,
            };
            s.copies().all(|c| c.party != entry.party) && story::same_story(&mine, &theirs)
        });
        match found {
            Some(i) => {
                let s = &mut stories[i];
                if (entry.first_seen, &entry.key) < (s.entry.first_seen, &s.entry.key) {
                    s.also.push(s.entry);
                    s.entry = entry;
                } else {
                    s.also.push(entry);
                }
                s.also.sort_by(|a, b| (a.first_seen, &a.key).cmp(&(b.first_seen, &b.key)));
            }
            None => {
                if stories.len() >= limit {
                    continue;
                }
                let i = stories.len();
                stories.push(Story { entry, also: Vec::new() });
                by_title.entry(title_key).or_default().push(i);
                if let Some(link) = entry.canonical_link.as_deref() {
                    by_link.entry(link).or_default().push(i);
                }
            }
        }
    }
    stories
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
