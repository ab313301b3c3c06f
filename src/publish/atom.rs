//! Atom 1.0 (RFC 4287) with atom_syndication.
//!
//! Every entry carries the party as author and category, `atom:source`
//! naming the feed it came from, and an `atom:id` fixed when Plenum first
//! stored it. A feed's `updated` is the newest `updated` of its entries, so
//! it moves only when its content does. Pages carry RFC 5005 `first`,
//! `last`, `next` and `previous` links, and `rel="hub"` when a WebSub hub
//! is configured.

use atom_syndication::{Category, Content, Entry as AtomEntry, Feed, FixedDateTime, Generator, Link, Person, Source, Text, WriteConfig};
use chrono::{DateTime, Utc};

use super::feed::{self, FeedDoc, Format};
use super::{Document, PublishError, Story};
use crate::config::{Config, Party};

pub const CONTENT_TYPE: &str = "application/atom+xml; charset=utf-8";

/// Which feed is being rendered, for [`render`].
pub enum Scope<'a> {
    Merged,
    Party(&'a Party),
}

/// Renders `stories` (newest first) as the first page of the feed for
/// `scope`, without paging links: for callers that hold the stories
/// themselves. Publishing uses [`render_doc`].
pub fn render(config: &Config, scope: Scope<'_>, stories: &[Story<'_>], empty_updated: DateTime<Utc>) -> Result<Document, PublishError> {
    let scope = match scope {
        Scope::Merged => feed::Scope::Merged,
        Scope::Party(party) => feed::Scope::Party(party.id.clone()),
    };
    let path = scope.path(Format::Atom);
    let url = feed::absolute(config, &path);
    let doc = FeedDoc {
        title: scope.title(config),
        subtitle: scope.subtitle(config),
        id: url.clone(),
        self_url: url,
        html_url: html_url(config, &scope),
        lang: scope.language(config),
        stories: stories.iter().map(|s| Story { entry: s.entry, also: s.also.clone() }).collect(),
        updated: stories.iter().flat_map(Story::copies).map(|e| e.updated).max().unwrap_or(empty_updated),
        links: Default::default(),
        hub: None,
        format: Format::Atom,
        scope,
    };
    render_doc(config, &doc)
}

/// Where a scope's HTML page is: the site's root for the merged feed, the
/// party's own homepage for a party feed (as before paging existed).
pub(super) fn html_url(config: &Config, scope: &feed::Scope) -> String {
    match scope {
        feed::Scope::Merged => config.daemon.base_url.to_string(),
        feed::Scope::Party(id) => {
            config.party(id.as_str()).map_or_else(|| feed::absolute(config, &scope.path(Format::Html)), |p| p.homepage.to_string())
        }
        _ => feed::absolute(config, &scope.path(Format::Html)),
    }
}

/// Renders one page of a feed as Atom, with its RFC 5005 paging links and
/// the WebSub hub.
pub fn render_doc(config: &Config, doc: &FeedDoc<'_>) -> Result<Document, PublishError> {
    let base = &config.daemon.base_url;
    let mut links = vec![link(&doc.self_url, "self", Some("application/atom+xml")), link(&doc.html_url, "alternate", Some("text/html"))];
    for format in [Format::Json, Format::Rss] {
        if doc.links.first.is_some() {
            links.push(link(&feed::absolute(config, &doc.scope.path(format)), "alternate", Some(format.media_type())));
        }
    }
    for (rel, href) in
        [("first", &doc.links.first), ("last", &doc.links.last), ("next", &doc.links.next), ("previous", &doc.links.previous)]
    {
        if let Some(href) = href {
            links.push(link(href, rel, Some("application/atom+xml")));
        }
    }
    if let Some(hub) = &doc.hub {
        links.push(link(hub, "hub", None));
    }
    // The scheme of the party categories, made once for all entries.
    let scheme = config.daemon.base_url.join("parties/").ok().map(|u| u.to_string());
    let feed = Feed {
        title: Text::plain(doc.title.clone()),
        id: doc.id.clone(),
        updated: fixed(doc.updated),
        authors: vec![Person { name: "Plenum".into(), uri: Some(base.to_string()), ..Person::default() }],
        generator: Some(Generator {
            value: "Plenum".into(),
            uri: Some(env!("CARGO_PKG_REPOSITORY").into()),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
        links,
        subtitle: Some(Text::plain(doc.subtitle.clone())),
        entries: doc.stories.iter().map(|s| entry(config, s, &scheme)).collect(),
        lang: doc.lang.clone(),
        ..Feed::default()
    };
    let mut bytes = Vec::with_capacity(doc.size_hint());
    feed.write_with_config(&mut bytes, WriteConfig { write_document_declaration: true, indent_size: None })
        .map_err(|e| PublishError::Render { path: doc.self_url.clone(), cause: e.to_string() })?;
    Ok(Document::new(bytes, CONTENT_TYPE, doc.updated))
}

/// One story as an Atom entry; `scheme` is the party categories' scheme.
fn entry(config: &Config, story: &Story<'_>, scheme: &Option<String>) -> AtomEntry {
    let e = story.entry;
    let party = config.party(e.party.as_str());
    // Every party that published the story is an author and a category.
    let (mut authors, mut categories) = (Vec::new(), Vec::new());
    for copy in story.copies() {
        let p = config.party(copy.party.as_str());
        authors.push(match p {
            Some(p) => Person { name: p.display_name(), uri: Some(p.homepage.to_string()), ..Person::default() },
            None => Person { name: copy.party.to_string(), ..Person::default() },
        });
        categories.push(Category { term: copy.party.to_string(), scheme: scheme.clone(), label: p.map(Party::display_name) });
    }
    let updated = story.copies().map(|c| c.updated).max().unwrap_or(e.updated);
    let lang = e.language.clone().filter(|l| is_lang(l));
    let mut title = Text::plain(e.title.clone());
    title.lang = lang.clone();
    let summary = e.summary.as_ref().map(|s| {
        let mut text = Text::html(s.clone());
        text.lang = lang.clone();
        text
    });
    // Atom needs content or an alternate link: a link-less entry carries its text.
    let content = match (&e.content, &e.link) {
        (Some(html), _) => Some(html.clone()),
        (None, None) => Some(e.summary.clone().unwrap_or_else(|| html_escape::encode_text(&e.title).into_owned())),
        (None, Some(_)) => None,
    }
    .map(|html| Content { value: Some(html), content_type: Some("html".into()), lang: lang.clone(), ..Content::default() });
    let mut source_links = vec![link(&e.origin.feed_url, "self", None)];
    if let Some(site) = &e.origin.link {
        source_links.push(link(site, "alternate", Some("text/html")));
    }
    AtomEntry {
        title,
        id: e.atom_id.clone(),
        updated: fixed(updated),
        published: Some(fixed(e.published)),
        authors,
        categories,
        links: e.link.iter().map(|l| link(l, "alternate", Some("text/html"))).collect(),
        summary,
        content,
        source: Some(Source {
            title: Text::plain(e.origin.title.clone().or_else(|| party.map(Party::display_name)).unwrap_or_else(|| e.party.to_string())),
            id: e.origin.feed_id.clone().filter(|id| id.contains(':')).unwrap_or_else(|| e.origin.feed_url.clone()),
            updated: fixed(e.updated),
            links: source_links,
            ..Source::default()
        }),
        ..AtomEntry::default()
    }
}

fn link(href: &str, rel: &str, mime: Option<&str>) -> Link {
    Link { href: href.to_string(), rel: rel.to_string(), mime_type: mime.map(str::to_string), ..Link::default() }
}

fn fixed(t: DateTime<Utc>) -> FixedDateTime {
    t.fixed_offset()
}

/// What the Atom schema accepts in `xml:lang`.
fn is_lang(tag: &str) -> bool {
    let mut parts = tag.split('-');
    parts.next().is_some_and(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()))
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}
