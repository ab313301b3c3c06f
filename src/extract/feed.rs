//! RSS, Atom and JSON Feed documents through feed-rs.

use feed_rs::model::{self, FeedType, Text};
use feed_rs::parser;

use super::{ExtractError, RawFeed, RawItem};

/// Parses a feed document given as UTF-8 bytes (see `fetch::charset`).
pub fn extract(body: &[u8]) -> Result<RawFeed, ExtractError> {
    // feed-rs invents a random id for entries without one; an empty id lets
    // us tell "the source gave none" from a real id.
    let parser = parser::Builder::new().id_generator(|_, _, _| String::new()).sanitize_content(false).build();
    let feed = parser.parse(body).map_err(|e| ExtractError::NotAFeed(e.to_string()))?;
    Ok(raw_feed(feed))
}

fn raw_feed(feed: model::Feed) -> RawFeed {
    RawFeed {
        title: feed.title.map(|t| t.content.trim().to_string()).filter(|t| !t.is_empty()),
        id: non_empty(feed.id),
        link: alternate_link(&feed.links),
        language: feed.language.map(|l| l.trim().to_string()).filter(|l| !l.is_empty()),
        format: match feed.feed_type {
            FeedType::Atom => "Atom",
            FeedType::JSON => "JSON Feed",
            FeedType::RSS0 => "RSS 0.9x",
            FeedType::RSS1 => "RSS 1.0",
            FeedType::RSS2 => "RSS 2.0",
        },
        items: feed.entries.into_iter().map(raw_item).collect(),
    }
}

fn raw_item(entry: model::Entry) -> RawItem {
    let title_is_html = entry.title.as_ref().is_some_and(is_html);
    RawItem {
        id: non_empty(entry.id),
        link: alternate_link(&entry.links),
        title: entry.title.map(|t| t.content),
        title_is_html,
        summary_html: entry.summary.map(|t| as_html(&t)).filter(|s| !s.trim().is_empty()),
        content_html: entry
            .content
            .and_then(|c| {
                let html = c.content_type.to_string().contains("html");
                c.body.map(|body| if html { body } else { escape_text(&body) })
            })
            .filter(|s| !s.trim().is_empty()),
        published: entry.published,
        updated: entry.updated,
        authors: entry.authors.into_iter().filter_map(|p| p.name.map(|n| n.trim().to_string())).filter(|n| !n.is_empty()).collect(),
        language: entry.language.filter(|l| !l.trim().is_empty()),
    }
}

fn non_empty(id: String) -> Option<String> {
    let id = id.trim();
    (!id.is_empty()).then(|| id.to_string())
}

/// The `alternate` link, else the first link without a rel.
fn alternate_link(links: &[model::Link]) -> Option<String> {
    let pick = links
        .iter()
        .find(|l| l.rel.as_deref() == Some("alternate"))
        .or_else(|| links.iter().find(|l| l.rel.is_none()))
        .or_else(|| links.iter().find(|l| !matches!(l.rel.as_deref(), Some("self" | "enclosure" | "hub" | "replies"))));
    pick.map(|l| l.href.trim().to_string()).filter(|h| !h.is_empty())
}

fn is_html(text: &Text) -> bool {
    text.content_type.to_string().contains("html")
}

fn as_html(text: &Text) -> String {
    if is_html(text) {
        text.content.clone()
    } else {
        escape_text(&text.content)
    }
}

/// Plain text as HTML: escaped, with its line breaks kept as paragraphs.
fn escape_text(text: &str) -> String {
    let escaped = html_escape::encode_text(text.trim());
    escaped.split("\n\n").map(|p| format!("<p>{}</p>", p.trim())).collect::<Vec<_>>().join("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_item_without_guid_has_no_invented_id() {
        let xml = br#"<rss version="2.0"><channel><title>PCP</title><link>https://www.pcp.pt/</link>
            <item><title>Sem id</title><link>/noticia/1</link></item>
            <item><guid isPermaLink="false">pcp-2</guid><title>Com id</title></item></channel></rss>"#;
        let feed = extract(xml).unwrap();
        assert_eq!(feed.format, "RSS 2.0");
        assert_eq!(feed.items[0].id, None);
        assert_eq!(feed.items[0].link.as_deref(), Some("/noticia/1"));
        assert_eq!(feed.items[1].id.as_deref(), Some("pcp-2"));
        assert_eq!(feed.link.as_deref(), Some("https://www.pcp.pt/"));
    }

    #[test]
    fn atom_keeps_ids_dates_and_html_summaries() {
        let xml = r#"<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="el"><title>KKE</title><id>urn:kke</id><updated>2026-11-20T10:00:00Z</updated>
            <entry><id>urn:kke:1</id><title type="html">&lt;b&gt;Ανακοίνωση&lt;/b&gt;</title><updated>2026-11-20T10:00:00Z</updated>
            <link rel="alternate" href="https://inter.kke.gr/a/"/><summary type="text">a &lt; b</summary></entry></feed>"#.as_bytes();
        let feed = extract(xml).unwrap();
        let item = &feed.items[0];
        assert_eq!(item.id.as_deref(), Some("urn:kke:1"));
        assert!(item.title_is_html);
        assert_eq!(item.title.as_deref(), Some("<b>Ανακοίνωση</b>"));
        assert_eq!(item.summary_html.as_deref(), Some("<p>a &lt; b</p>"));
        assert_eq!(item.updated.unwrap().to_rfc3339(), "2026-11-20T10:00:00+00:00");
    }

    #[test]
    fn json_feed_items_are_read() {
        let json = br#"{"version":"https://jsonfeed.org/version/1.1","title":"CPUSA","items":[
            {"id":"42","url":"https://www.cpusa.org/article/x/","title":"Statement","content_html":"<p>Hi</p>","date_published":"2026-11-01T12:00:00Z"}]}"#;
        let feed = extract(json).unwrap();
        assert_eq!(feed.format, "JSON Feed");
        assert_eq!(feed.items[0].content_html.as_deref(), Some("<p>Hi</p>"));
        assert!(feed.items[0].published.is_some());
    }

    #[test]
    fn garbage_is_not_a_feed() {
        for body in [&b"<html><body>Hello</body></html>"[..], b"not xml at all", b"", b"<rss><channel>"] {
            assert!(extract(body).is_err(), "{:?}", String::from_utf8_lossy(body));
        }
    }
}
