//! RSS, Atom and JSON Feed documents through feed-rs.

use feed_rs::model::{self, FeedType, Text};
use feed_rs::parser;

use super::{ExtractError, RawFeed, RawItem};

/// Parses a feed document given as UTF-8 bytes (see `fetch::charset`).
pub fn extract(body: &[u8]) -> Result<RawFeed, ExtractError> {
    // Repairs first: taking out a DOCTYPE can join a `<` before it to a
    // `?xml` after it, a declaration the next step must still see.
    let repaired = repair(body);
    let body = repaired.as_deref().unwrap_or(body);
    let without_declaration = without_declarations(body);
    let body = without_declaration.as_deref().unwrap_or(body);
    // feed-rs invents a random id for entries without one; an empty id lets
    // us tell "the source gave none" from a real id.
    let parser = parser::Builder::new().id_generator(|_, _, _| String::new()).sanitize_content(false).build();
    // The XML stack can panic on some malformed input (quick-xml asserts on
    // a late encoding declaration); a hostile document must cost one source
    // one poll, never the daemon.
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parser.parse(body)));
    match parsed {
        Ok(Ok(feed)) => Ok(raw_feed(feed)),
        Ok(Err(e)) => Err(ExtractError::NotAFeed(e.to_string())),
        Err(_) => Err(ExtractError::ParserPanicked),
    }
}

/// Fixes, before parsing, what real feeds get wrong and feed-rs refuses:
/// a `<!DOCTYPE>` is removed (feeds need none, and its entities are an
/// expansion and file-disclosure risk: never resolved), and an `<rss>` root
/// without a `version` is read as RSS 2.0. `None` when nothing needed fixing.
fn repair(body: &[u8]) -> Option<Vec<u8>> {
    let head_len = body.len().min(4096);
    let head = std::str::from_utf8(&body[..head_len]).ok().or_else(|| std::str::from_utf8(&body[..head_len.saturating_sub(3)]).ok())?;
    let mut out: Option<Vec<u8>> = None;
    if let Some(start) = head.find("<!DOCTYPE") {
        let end = doctype_end(&body[start..])?;
        let mut fixed = body[..start].to_vec();
        fixed.extend_from_slice(&body[start + end..]);
        out = Some(fixed);
    }
    let current = out.as_deref().unwrap_or(body);
    let head = String::from_utf8_lossy(&current[..current.len().min(4096)]).into_owned();
    if let Some(at) = root_rss_tag(&head) {
        let tag_end = head[at..].find('>').map(|i| at + i)?;
        let tag = &head[at..tag_end];
        let version = tag.find("version").and_then(|v| {
            let rest = tag[v + "version".len()..].trim_start().strip_prefix('=')?.trim_start();
            let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
            let value_len = rest[1..].find(quote)?;
            Some((at + v, at + tag.len() - rest.len() + 1 + value_len + 1, rest[1..1 + value_len].to_string()))
        });
        // feed-rs knows 0.91, 0.92 and 2.0; 0.93, 0.94 and 2.01 are read as 2.0.
        let splice = match &version {
            None => Some((at + "<rss".len(), at + "<rss".len(), " version=\"2.0\"")),
            Some((start, end, v)) if !matches!(v.as_str(), "2.0" | "0.91" | "0.92" | "") => Some((*start, *end, "version=\"2.0\"")),
            Some(_) => None,
        };
        if let Some((start, end, text)) = splice {
            let mut fixed = current[..start].to_vec();
            fixed.extend_from_slice(text.as_bytes());
            fixed.extend_from_slice(&current[end..]);
            out = Some(fixed);
        }
    }
    out
}

/// Takes the XML declarations out of the way of quick-xml, which panics when a
/// declaration names an encoding once the first 64 bytes have been read
/// ("set_encoding() called after prefix buffer was drained"): a long prolog,
/// a second `encoding` in it, a blank line or junk before it, a second
/// declaration later on. The body is UTF-8 already (`fetch::charset`), so a
/// declaration has nothing left to say: the leading one (after a BOM and
/// whitespace) is removed, and any later `<?xml` followed by whitespace,
/// wherever it is (text, CDATA, a broken tag), becomes the text `&lt;?xml`,
/// which can never form a new declaration. `None` when there is none. One
/// linear pass.
fn without_declarations(body: &[u8]) -> Option<Vec<u8>> {
    const DECLARATION: &[u8] = b"<?xml";
    let is_declaration = |at: usize| body[at..].starts_with(DECLARATION) && body.get(at + 5).is_some_and(u8::is_ascii_whitespace);
    let bom = if body.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
    let first = bom + body[bom..].iter().take_while(|b| b.is_ascii_whitespace()).count();
    let leading_end = is_declaration(first).then(|| memchr::memmem::find(&body[first..], b"?>").map(|end| first + end + 2)).flatten();
    // memchr's search reads the body many bytes at a time (comparing every
    // window of it was a tenth of extracting a feed).
    let late: Vec<usize> =
        memchr::memmem::find_iter(body, DECLARATION).filter(|&at| at >= leading_end.unwrap_or(0) && is_declaration(at)).collect();
    if late.is_empty() && leading_end.is_none() {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() + 3 * late.len());
    out.extend_from_slice(&body[..bom]);
    let mut copied = leading_end.unwrap_or(bom);
    for at in late {
        out.extend_from_slice(&body[copied..at]);
        out.extend_from_slice(b"&lt;");
        copied = at + 1;
    }
    out.extend_from_slice(&body[copied..]);
    Some(out)
}

/// Length of a `<!DOCTYPE ...>` at the start of `rest`, internal subset included.
fn doctype_end(rest: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in rest.iter().enumerate() {
        match b {
            b'[' => depth += 1,
            b']' => depth = depth.saturating_sub(1),
            b'>' if depth == 0 => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// Where the `<rss` root tag starts, if the document's root is `rss`.
fn root_rss_tag(head: &str) -> Option<usize> {
    let mut rest = head;
    let mut offset = 0;
    loop {
        let at = rest.find('<')?;
        let tail = &rest[at..];
        if tail.starts_with("<?") || tail.starts_with("<!") {
            let close = if tail.starts_with("<!--") { tail.find("-->")? + 3 } else { tail.find('>')? + 1 };
            offset += at + close;
            rest = &rest[at + close..];
            continue;
        }
        let is_rss = tail.starts_with("<rss") && tail[4..].starts_with(|c: char| c.is_whitespace() || c == '>');
        return is_rss.then_some(offset + at);
    }
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
        ttl: feed.ttl.map(|minutes| std::time::Duration::from_secs(u64::from(minutes) * 60)),
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
        date_note: None,
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
    fn doctype_is_dropped_and_entities_are_never_expanded() {
        let xml = r#"<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
            <!ENTITY xxe SYSTEM "file:///etc/passwd">]>
            <rss version="2.0"><channel><title>T</title><item><title>Safe</title><link>https://a/1</link></item></channel></rss>"#;
        let feed = extract(xml.as_bytes()).unwrap();
        assert_eq!(feed.items[0].title.as_deref(), Some("Safe"));
        let with_refs = xml.replace("<title>Safe</title>", "<title>&b;&xxe;</title>");
        if let Ok(feed) = extract(with_refs.as_bytes()) {
            let title = feed.items[0].title.clone().unwrap_or_default();
            assert!(!title.contains("aaaa") && !title.contains("root:"), "{title}");
        }
    }

    #[test]
    fn rss_without_version_is_read_as_rss2() {
        let xml = "<!-- a comment --><rss xmlns:itunes=\"http://www.itunes.com/DTDs/Podcast-1.0.dtd\"><channel><item><title>x</title></item></channel></rss>";
        assert_eq!(extract(xml.as_bytes()).unwrap().items.len(), 1);
        for version in ["0.93", "0.94", "2.01"] {
            let xml = format!("<rss version='{version}'><channel><item><title>x</title></item></channel></rss>");
            assert_eq!(extract(xml.as_bytes()).unwrap().items.len(), 1, "{version}");
        }
    }

    /// Found by the `feed_extract` fuzz target: quick-xml panicked (caught,
    /// but the source failed and the panic was printed) on a declaration
    /// naming an encoding anywhere but at the very start, even inside a
    /// broken tag or CDATA.
    #[test]
    fn late_xml_declaration_is_defused_not_a_parser_panic() {
        let feed = "<rss version=\"2.0\"><channel><item><title>x</title><description><![CDATA[a <?xml version=\"1.0\" encoding=\"koi8-r\"?> b]]></description></item></channel></rss>";
        for head in [
            "",
            "\n\n<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
            "junk\n<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>",
            "<?xml version='1.0'?>\n<?xml version='1.0' encoding='windows-1253'?>",
            "<a<?xml encoding=\"x\"?>?xml encoding=\"y\"?>",
        ] {
            let body = format!("{head}{feed}");
            match extract(body.as_bytes()) {
                Ok(parsed) => {
                    assert_eq!(parsed.items.len(), 1, "{head:?}");
                    let summary = parsed.items[0].summary_html.clone().unwrap_or_default();
                    assert!(summary.contains("a &lt;?xml version=\"1.0\" encoding=\"koi8-r\"?> b"), "{head:?}: {summary}");
                }
                Err(e) => assert!(!matches!(e, ExtractError::ParserPanicked), "{head:?}: {e}"),
            }
        }
        let broken_tag =
            b"<?xml version=\"1.0\"?>\n<rss\xfeversion=\"2.0\" x<![CDATA[<p>t<?xml version=\"1.0\" encoding=\"ISO-8859-9\"?><f";
        assert!(!matches!(extract(broken_tag), Err(ExtractError::ParserPanicked)));
        // Found by the fuzzer too: the DOCTYPE taken out joins `<` and `?xml`.
        let joined =
            format!("{}\n<<!DOCTYPE rss [<!ENTITY a \"aaaa\">]>?xml version=\"1.0\" encoding=\"iso-8859-1\"?>{feed}", "junk ".repeat(16));
        assert!(!matches!(extract(joined.as_bytes()), Err(ExtractError::ParserPanicked)));
        let long_prolog = "<?xml version=\"1.0\" standalone=\"yes\" encoding=\"utf-8\" encoding=\"iso-8859-1\"?>";
        assert!(!matches!(extract(format!("{long_prolog}{feed}").as_bytes()), Err(ExtractError::ParserPanicked)));
        // A declaration inside the leading one goes with it.
        assert_eq!(without_declarations(b"<?xml a\n<?xml b?><rss/>").as_deref(), Some(&b"<rss/>"[..]));
        assert_eq!(without_declarations(b"<rss/>"), None);
        assert_eq!(without_declarations(b"\xEF\xBB\xBF \n<?xml version=\"1.0\"?><rss/>").as_deref(), Some(&b"\xEF\xBB\xBF<rss/>"[..]));
        assert_eq!(without_declarations(b"<?xml-stylesheet href=\"a\"?><rss/>"), None);
    }

    #[test]
    fn garbage_is_not_a_feed() {
        for body in [&b"<html><body>Hello</body></html>"[..], b"not xml at all", b"", b"<rss><channel>"] {
            assert!(extract(body).is_err(), "{:?}", String::from_utf8_lossy(body));
        }
    }
}
