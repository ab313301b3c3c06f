//! Bytes to raw items: what a source said, before Plenum judges it.
//!
//! Extraction keeps every field as the source gave it (links may still be
//! relative, text may carry markup); [`crate::normalize`] makes entries of
//! them. `feed` reads RSS 0.9x/1.0/2.0, Atom and JSON Feed with feed-rs.

pub mod date;
pub mod feed;
pub mod html;

use chrono::{DateTime, Utc};

/// A source document as read, with its items.
#[derive(Debug, Clone, Default)]
pub struct RawFeed {
    pub title: Option<String>,
    /// The feed's own id (Atom `id`), if it has one.
    pub id: Option<String>,
    /// The site the feed belongs to (`rel="alternate"`).
    pub link: Option<String>,
    pub language: Option<String>,
    /// "RSS 2.0", "Atom", "JSON Feed", ...
    pub format: &'static str,
    /// How long the feed says it may be cached (RSS `ttl`).
    pub ttl: Option<std::time::Duration>,
    pub items: Vec<RawItem>,
}

/// One item as the source wrote it.
#[derive(Debug, Clone, Default, PartialEq, Hash)]
pub struct RawItem {
    /// The source's own identifier (guid, atom:id, JSON Feed id); `None`
    /// when the source gave none. Never invented by the parser.
    pub id: Option<String>,
    pub link: Option<String>,
    /// Title text; `title_is_html` says whether it may hold markup.
    pub title: Option<String>,
    pub title_is_html: bool,
    /// Summary as HTML (plain-text summaries are escaped into HTML).
    pub summary_html: Option<String>,
    /// Full content as HTML.
    pub content_html: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    pub authors: Vec<String>,
    pub language: Option<String>,
    /// For items read from web pages: how the date was read, or why not.
    pub date_note: Option<String>,
}

/// Why a document yielded no items.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("not a feed (RSS, Atom or JSON Feed): {0}")]
    NotAFeed(String),
    #[error("the feed parser crashed on this document (malformed XML)")]
    ParserPanicked,
}
