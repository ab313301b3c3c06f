//! JSON Feed 1.1 (<https://jsonfeed.org/version/1.1>).
//!
//! The same stories as the Atom feed: `id` is the entry's `atom:id`,
//! `content_html` its sanitized HTML, `summary` plain text, `tags` the
//! parties' ids; paging uses JSON Feed's `next_url`, and a WebSub hub is
//! listed in `hubs`. Plenum's own fields sit under `_plenum`.

use serde::Serialize;

use super::feed::FeedDoc;
use super::{Document, Format, PublishError, Story};
use crate::config::Config;
use crate::normalize::text;

const VERSION: &str = "https://jsonfeed.org/version/1.1";

#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: &'a str,
    feed_url: &'a str,
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<&'a str>,
    authors: Vec<Author>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hubs: Vec<Hub<'a>>,
    items: Vec<Item<'a>>,
}

#[derive(Serialize)]
struct Author {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

#[derive(Serialize)]
struct Hub<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    url: &'a str,
}

/// Borrows the entry's text: a feed page is written without copying it.
#[derive(Serialize)]
struct Item<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    title: &'a str,
    content_html: std::borrow::Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<String>,
    date_published: String,
    date_modified: String,
    authors: Vec<Author>,
    tags: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<String>,
    _plenum: Extension<'a>,
}

/// What JSON Feed has no field for.
#[derive(Serialize)]
struct Extension<'a> {
    /// The parties that published the story, the representative's first.
    parties: Vec<&'a str>,
    /// The feed the entry came from.
    source_feed: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_title: Option<&'a str>,
}

/// Renders one page as JSON Feed 1.1.
pub fn render(config: &Config, doc: &FeedDoc<'_>) -> Result<Document, PublishError> {
    let feed = JsonFeed {
        version: VERSION,
        title: &doc.title,
        home_page_url: &doc.html_url,
        feed_url: &doc.self_url,
        description: &doc.subtitle,
        next_url: doc.links.next.as_deref(),
        language: doc.lang.as_deref(),
        authors: vec![Author { name: "Plenum".into(), url: Some(config.daemon.base_url.to_string()) }],
        hubs: doc.hub.as_deref().map(|url| Hub { kind: "WebSub", url }).into_iter().collect(),
        items: doc.stories.iter().map(|s| item(config, s)).collect(),
    };
    let mut bytes = Vec::with_capacity(doc.size_hint());
    // Compact: indentation made the merged feed 7 % larger, for no reader.
    serde_json::to_writer(&mut bytes, &feed).map_err(|e| PublishError::Render { path: doc.self_url.clone(), cause: e.to_string() })?;
    Ok(Document::new(bytes, Format::Json.content_type(), doc.updated))
}

fn item<'a>(config: &Config, story: &'a Story<'_>) -> Item<'a> {
    let e = story.entry;
    let content_html = match e.content.as_deref().or(e.summary.as_deref()) {
        Some(html) => std::borrow::Cow::Borrowed(html),
        None => html_escape::encode_text(&e.title),
    };
    let summary = e.summary.as_deref().map(|s| text::truncate_words(&text::from_sanitized(s), 300)).filter(|s| !s.is_empty());
    let authors = story
        .copies()
        .map(|c| match config.party(c.party.as_str()) {
            Some(p) => Author { name: p.display_name(), url: Some(p.homepage.to_string()) },
            None => Author { name: c.party.to_string(), url: None },
        })
        .collect();
    let parties: Vec<&str> = story.copies().map(|c| c.party.as_str()).collect();
    Item {
        id: &e.atom_id,
        url: e.link.as_deref(),
        title: &e.title,
        content_html,
        summary,
        date_published: e.published.to_rfc3339(),
        date_modified: story.copies().map(|c| c.updated).max().unwrap_or(e.updated).to_rfc3339(),
        authors,
        tags: parties.clone(),
        language: e.language.as_deref().and_then(super::language::primary_tag),
        _plenum: Extension { parties, source_feed: &e.origin.feed_url, source_title: e.origin.title.as_deref() },
    }
}
