//! RSS 2.0 (<https://www.rssboard.org/rss-specification>) with the rss crate.
//!
//! Items carry the entry's `atom:id` as a non-permalink `guid`, the summary
//! as `description`, full content as `content:encoded`, each party as a
//! `category` and the original feed as `source`. The channel names itself
//! and its RFC 5005 pages and WebSub hub with `atom:link`, as RSS readers expect.

use rss::extension::atom::{AtomExtension, Link};
use rss::{Category, Channel, Guid, Item, Source};

use super::feed::FeedDoc;
use super::{Document, Format, PublishError, Story};
use crate::config::Config;

/// Renders one page as RSS 2.0.
pub fn render(config: &Config, doc: &FeedDoc<'_>) -> Result<Document, PublishError> {
    let mut links = vec![link(&doc.self_url, "self", Some(Format::Rss.media_type()))];
    for (rel, href) in
        [("first", &doc.links.first), ("last", &doc.links.last), ("next", &doc.links.next), ("previous", &doc.links.previous)]
    {
        if let Some(href) = href {
            links.push(link(href, rel, Some(Format::Rss.media_type())));
        }
    }
    if let Some(hub) = &doc.hub {
        links.push(link(hub, "hub", None));
    }
    let channel = Channel {
        title: doc.title.clone(),
        link: doc.html_url.clone(),
        description: doc.subtitle.clone(),
        language: doc.lang.clone(),
        last_build_date: Some(doc.updated.to_rfc2822()),
        pub_date: Some(doc.updated.to_rfc2822()),
        generator: Some(format!("Plenum {}", env!("CARGO_PKG_VERSION"))),
        docs: Some("https://www.rssboard.org/rss-specification".into()),
        ttl: Some("30".into()),
        atom_ext: Some(AtomExtension { links }),
        items: doc.stories.iter().map(|s| item(config, s)).collect(),
        ..Channel::default()
    };
    let bytes = channel
        .write_to(Vec::with_capacity(doc.size_hint()))
        .map_err(|e| PublishError::Render { path: doc.self_url.clone(), cause: e.to_string() })?;
    Ok(Document::new(bytes, Format::Rss.content_type(), doc.updated))
}

fn item(config: &Config, story: &Story<'_>) -> Item {
    let e = story.entry;
    let scheme = Some(super::feed::absolute(config, "parties/"));
    let categories = story
        .copies()
        .map(|c| Category {
            name: config.party(c.party.as_str()).map_or_else(|| c.party.to_string(), |p| p.display_name()),
            domain: scheme.clone(),
        })
        .collect();
    // An item needs a title or a description; a link-less one carries its text.
    let description = e
        .summary
        .clone()
        .or_else(|| e.content.clone())
        .or_else(|| e.link.is_none().then(|| html_escape::encode_text(&e.title).into_owned()));
    Item {
        title: Some(e.title.clone()),
        link: e.link.clone(),
        description,
        content: e.content.clone(),
        categories,
        guid: Some(Guid { value: e.atom_id.clone(), permalink: false }),
        pub_date: Some(e.published.to_rfc2822()),
        source: Some(Source { url: e.origin.feed_url.clone(), title: e.origin.title.clone() }),
        ..Item::default()
    }
}

fn link(href: &str, rel: &str, mime: Option<&str>) -> Link {
    Link { href: href.to_string(), rel: rel.to_string(), mime_type: mime.map(str::to_string), ..Link::default() }
}
