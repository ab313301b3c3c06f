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
    items: Vec<Item>,
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

#[derive(Serialize)]
struct Item {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    title: String,
    content_html: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<String>,
    date_published: String,
    date_modified: String,
    authors: Vec<Author>,
    tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<String>,
    _plenum: Extension,
}

/// What JSON Feed has no field for.
#[derive(Serialize)]
struct Extension {
    /// The parties that published the story, the representative's first.
    parties: Vec<String>,
    /// The feed the entry came from.
    source_feed: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_title: Option<String>,
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
    let bytes = serde_json::to_vec_pretty(&feed).map_err(|e| PublishError::Render { path: doc.self_url.clone(), cause: e.to_string() })?;
    Ok(Document::new(bytes, Format::Json.content_type(), doc.updated))
}

fn item(config: &Config, story: &Story<'_>) -> Item {
    let e = story.entry;
    let content_html = e.content.clone().or_else(|| e.summary.clone()).unwrap_or_else(|| html_escape::encode_text(&e.title).into_owned());
    let summary = e.summary.as_deref().map(|s| text::truncate_words(&text::from_sanitized(s), 300)).filter(|s| !s.is_empty());
    let authors = story
        .copies()
        .map(|c| match config.party(c.party.as_str()) {
            Some(p) => Author { name: p.display_name(), url: Some(p.homepage.to_string()) },
            None => Author { name: c.party.to_string(), url: None },
        })
        .collect();
    let parties: Vec<String> = story.copies().map(|c| c.party.to_string()).collect();
    Item {
        id: e.atom_id.clone(),
        url: e.link.clone(),
        title: e.title.clone(),
        content_html,
        summary,
        date_published: e.published.to_rfc3339(),
        date_modified: story.copies().map(|c| c.updated).max().unwrap_or(e.updated).to_rfc3339(),
        authors,
        tags: parties.clone(),
        language: e.language.as_deref().and_then(super::language::primary_tag),
        _plenum: Extension { parties, source_feed: e.origin.feed_url.clone(), source_title: e.origin.title.clone() },
    }
}
