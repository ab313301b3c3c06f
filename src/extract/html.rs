//! Web pages without feeds, read with CSS selectors.
//!
//! An html source names a selector for the news items on its page and, inside
//! each item, selectors for the title, link, date and summary. An item
//! without a title or link is skipped with a warning naming it; it never
//! aborts the page. Dates are read in this order: a `datetime` (or
//! `content`) attribute, the configured `date_format`, then the known formats
//! of the source's language ([`super::date`]); a date that cannot be read
//! leaves the item undated (normalize then dates it by first sight and flags
//! it), and is counted so the operator sees it.
//!
//! [`detail`] reads an article's own page for what listings often omit:
//! `article:published_time`, JSON-LD `datePublished`, `<time datetime>`, and
//! `og:description`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use regex::Regex;
use scraper::{ElementRef, Html, Selector};
use url::Url;

use super::date::{self, DateSource};
use super::{RawFeed, RawItem};

/// How to read one site's news page; compiled from the config.
#[derive(Debug, Clone)]
pub struct HtmlRules {
    /// One match per news item.
    pub item: Selector,
    /// Inside an item: the title's element (its text).
    pub title: Selector,
    /// Inside an item: the link's element (its `href`, or a link inside it).
    pub link: Selector,
    pub date: Option<Selector>,
    pub date_format: Option<String>,
    /// Inside an item: the summary's element (its inner HTML).
    pub summary: Option<Selector>,
    /// The link to the next page of the listing.
    pub next_page: Option<Selector>,
    /// Listing pages to read on the first poll (1 = just the page).
    pub pages: u32,
    /// Fetch new items' own pages for their date and summary.
    pub detail: bool,
    /// Keep only links matching one of these (when any are given).
    pub include: Vec<Regex>,
    /// Drop links matching any of these.
    pub exclude: Vec<Regex>,
}

/// Deepest element nesting an HTML document or fragment may have before
/// Plenum refuses to build a tree of it: HTML tree building is quadratic in
/// depth, so 100 000 nested `<div>`s would cost minutes of CPU. Real pages
/// nest a few dozen levels.
pub const MAX_NESTING: usize = 512;

/// True when `html` nests elements deeper than `limit`, by a linear scan of
/// its tags that follows the parser where a hostile page could hide depth
/// from a simpler count: a `/>` closes nothing outside SVG and MathML
/// (`<div/><div/>…` nests), an end tag closes only an open element of its
/// name (`<div></x>…` nests), and nothing inside a comment or the text of
/// `<script>`, `<style>` and their kind is a tag. A `<p>`, `<li>` and the
/// like closes one of its name that is the innermost open element, so
/// sloppy pages of unclosed paragraphs do not count as deep. Void elements
/// do not nest.
pub fn nesting_exceeds(html: &str, limit: usize) -> bool {
    const VOID: [&str; 14] =
        ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr", "param"];
    // Their content is text up to their own end tag.
    const RAW_TEXT: [&str; 8] = ["script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes"];
    // A start tag of one of these closes an open one of its name at the top.
    const SELF_ENDING: [&str; 8] = ["p", "li", "dt", "dd", "option", "tr", "td", "th"];
    let is = |list: &[&str], name: &[u8]| list.iter().any(|n| n.as_bytes().eq_ignore_ascii_case(name));
    let bytes = html.as_bytes();
    // The open elements, innermost last, by a hash of their lowercase
    // name, and how many of each are open: an end tag of no open element
    // is dismissed at once, and one that closes scans only what it closes,
    // so the whole stays linear.
    let mut open: Vec<u64> = Vec::new();
    let mut open_count: HashMap<u64, usize> = HashMap::new();
    let mut foreign = 0usize;
    let mut lowercase = Vec::new();
    let mut key = |name: &[u8]| {
        lowercase.clear();
        lowercase.extend(name.iter().map(u8::to_ascii_lowercase));
        xxhash_rust::xxh3::xxh3_64(&lowercase)
    };
    let foreign_keys = [key(b"svg"), key(b"math")];
    let mut i = 0;
    // Where the first `>` at or after the current tag is (the end when
    // there is none), found once for every tag before it: looking for each
    // tag's end anew made `<br<br<br…` quadratic.
    let mut next_gt = 0;
    while let Some(offset) = memchr::memchr(b'<', &bytes[i..]) {
        i += offset + 1;
        let rest = &bytes[i..];
        if rest.starts_with(b"!--") {
            match memchr::memmem::find(&rest[3..], b"-->") {
                Some(end) => {
                    i += 3 + end + 3;
                    continue;
                }
                None => break,
            }
        }
        let closing = rest.first() == Some(&b'/');
        let after = &rest[usize::from(closing)..];
        if !after.first().is_some_and(|b| b.is_ascii_alphabetic()) {
            continue;
        }
        let name = &after[..after.iter().take_while(|b| b.is_ascii_alphanumeric()).count()];
        let name_key = key(name);
        if closing {
            if open_count.get(&name_key).is_some_and(|&n| n > 0) {
                while let Some(top) = open.pop() {
                    foreign -= usize::from(foreign_keys.contains(&top));
                    if let Some(n) = open_count.get_mut(&top) {
                        *n -= 1;
                    }
                    if top == name_key {
                        break;
                    }
                }
            }
            continue;
        }
        if next_gt < i {
            next_gt = memchr::memchr(b'>', rest).map_or(bytes.len(), |at| i + at);
        }
        let tag_end = next_gt - i;
        let self_closing = tag_end > 0 && rest[tag_end - 1] == b'/';
        if is(&VOID, name) || (self_closing && foreign > 0) {
            continue;
        }
        if foreign == 0 && is(&RAW_TEXT, name) {
            // Skip the text to the end tag; none: the rest is text. (In SVG
            // and MathML a `<style>` or `<title>` holds elements.)
            let content = (next_gt + 1).min(bytes.len());
            match end_tag(&bytes[content..], name) {
                Some(at) => {
                    i = content + at;
                    continue;
                }
                None => break,
            }
        }
        if is(&SELF_ENDING, name) && open.last() == Some(&name_key) {
            open.pop();
            if let Some(n) = open_count.get_mut(&name_key) {
                *n -= 1;
            }
        }
        foreign += usize::from(foreign_keys.contains(&name_key));
        open.push(name_key);
        *open_count.entry(name_key).or_default() += 1;
        if open.len() > limit {
            return true;
        }
    }
    false
}

/// Where the end tag of `name` (`</name`, any case, then not a name
/// character) starts in `text`.
fn end_tag(text: &[u8], name: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'<', text).find(|&at| {
        let rest = &text[at + 1..];
        rest.first() == Some(&b'/')
            && rest.get(1..1 + name.len()).is_some_and(|n| n.eq_ignore_ascii_case(name))
            && !rest.get(1 + name.len()).is_some_and(u8::is_ascii_alphanumeric)
    })
}

/// Compiles a CSS selector; the error says what is wrong with it.
pub fn selector(text: &str) -> Result<Selector, String> {
    use scraper::error::SelectorErrorKind as E;
    Selector::parse(text).map_err(|e| {
        let why = match e {
            E::UnexpectedToken => "an unexpected character".to_string(),
            E::EndOfLine => "it ends too early".to_string(),
            E::InvalidAtRule | E::InvalidAtRuleBody => "@-rules are not selectors".to_string(),
            E::UnexpectedSelectorParseError(kind) => format!("{kind:?}"),
            _ => "it does not parse".to_string(),
        };
        format!("`{text}` is not a valid CSS selector ({why})")
    })
}

/// What one listing page yielded.
#[derive(Debug, Default)]
pub struct HtmlPage {
    pub feed: RawFeed,
    /// Items skipped or dates not read, in words.
    pub warnings: Vec<String>,
    /// Items whose date element was found but could not be read.
    pub dates_unreadable: usize,
    /// The next listing page, when `next_page` matched.
    pub next_page: Option<Url>,
}

/// How deep matched items inside matched items are read.
const MAX_ITEM_NESTING: usize = 3;

/// Reads the items of a listing page (UTF-8 `body`, fetched from `page_url`).
pub fn extract(body: &str, page_url: &Url, rules: &HtmlRules, lang: Option<&str>, now: DateTime<Utc>) -> HtmlPage {
    if nesting_exceeds(body, MAX_NESTING) {
        return HtmlPage {
            warnings: vec![format!("the page nests elements more than {MAX_NESTING} deep; it is not read (a real news page never does)")],
            feed: RawFeed { format: "HTML", ..RawFeed::default() },
            ..HtmlPage::default()
        };
    }
    let doc = Html::parse_document(body);
    let base = base_url(&doc, page_url);
    let mut page = HtmlPage {
        feed: RawFeed {
            title: first_text(&doc, "title"),
            link: Some(page_url.to_string()),
            language: doc.root_element().value().attr("lang").map(str::to_string).or_else(|| lang.map(str::to_string)),
            format: "HTML",
            ..RawFeed::default()
        },
        ..HtmlPage::default()
    };
    let mut seen_links = std::collections::HashSet::new();
    // Items inside items (related articles in an article) are read, up to
    // MAX_ITEM_NESTING deep: each item's selectors search all of it, so a
    // page of items nested hundreds deep would cost hundreds of times its
    // size. `holders` are the matches that hold the current one, outermost
    // first (matches come in document order).
    let mut holders = Vec::new();
    for (index, element) in doc.select(&rules.item).enumerate() {
        let n = index + 1;
        while holders.last().is_some_and(|&holder| !element.ancestors().any(|a| a.id() == holder)) {
            holders.pop();
        }
        if holders.len() >= MAX_ITEM_NESTING {
            continue;
        }
        holders.push(element.id());
        let Some(title) = element.select(&rules.title).next().map(text_of).filter(|t| !t.is_empty()) else {
            page.warnings.push(format!("item {n}: skipped, no title (`title` selector matched nothing or empty text)"));
            continue;
        };
        let Some(link) = element.select(&rules.link).next().and_then(href_of).and_then(|h| base.join(h.trim()).ok()) else {
            page.warnings
                .push(format!("item {n} \"{}\": skipped, no link (`link` selector matched no element with an href)", short(&title)));
            continue;
        };
        if !matches!(link.scheme(), "http" | "https") {
            page.warnings.push(format!("item {n} \"{}\": skipped, link is not http(s): {link}", short(&title)));
            continue;
        }
        let link_text = link.to_string();
        if (!rules.include.is_empty() && !rules.include.iter().any(|r| r.is_match(&link_text)))
            || rules.exclude.iter().any(|r| r.is_match(&link_text))
        {
            continue;
        }
        if !seen_links.insert(link_text.clone()) {
            continue;
        }
        let mut item = RawItem { link: Some(link_text), title: Some(title.clone()), ..RawItem::default() };
        read_date(element, rules, lang, now, &mut item);
        if item.published.is_none() {
            if let Some(note) = &item.date_note {
                page.dates_unreadable += 1;
                page.warnings.push(format!("item {n} \"{}\": {note}", short(&title)));
            }
        }
        if let Some(summary) = &rules.summary {
            item.summary_html = element.select(summary).next().map(|e| e.inner_html()).filter(|h| !h.trim().is_empty());
        }
        page.feed.items.push(item);
    }
    if page.feed.items.is_empty() && page.warnings.is_empty() {
        page.warnings.push("the `item` selector matched nothing on this page".to_string());
    }
    page.next_page = rules
        .next_page
        .as_ref()
        .and_then(|s| doc.select(s).next())
        .and_then(href_of)
        .and_then(|h| base.join(h.trim()).ok())
        .filter(|u| u != page_url && matches!(u.scheme(), "http" | "https"));
    page
}

/// Fills `item.published` and explains how (or why not) in `item.date_note`.
fn read_date(element: ElementRef<'_>, rules: &HtmlRules, lang: Option<&str>, now: DateTime<Utc>, item: &mut RawItem) {
    let found = match &rules.date {
        Some(sel) => element.select(sel).next(),
        // Without a date selector, a machine-readable <time> in the item still counts.
        None => element.select(time_selector()).next(),
    };
    let Some(found) = found else {
        if rules.date.is_some() {
            item.date_note = Some("no date (`date` selector matched nothing)".into());
        }
        return;
    };
    // A machine-readable attribute on the element, or on a <time> inside it.
    let machine = std::iter::once(found).chain(found.select(time_selector()));
    for element in machine {
        for attr in ["datetime", "content"] {
            if let Some(value) = element.value().attr(attr) {
                if let Some(at) = date::parse_machine_date(value) {
                    item.published = Some(at);
                    item.date_note = Some(format!("from the {attr} attribute \"{value}\""));
                    return;
                }
            }
        }
    }
    let text = text_of(found);
    match date::parse_date(&text, lang, rules.date_format.as_deref(), now) {
        Some(parsed) => {
            item.published = Some(parsed.at);
            let how = match parsed.source {
                DateSource::Attribute => "attribute",
                DateSource::Format => "the configured date_format",
                DateSource::Known => "a known format",
                DateSource::Relative => "a relative date",
            };
            item.date_note = Some(format!("parsed \"{}\" with {how}{}", short(&text), lang.map(|l| format!(" ({l})")).unwrap_or_default()));
        }
        None => item.date_note = Some(format!("date \"{}\" could not be read", short(&text))),
    }
}

/// Feeds a page announces (`<link rel="alternate" type="application/rss+xml">`,
/// Atom, JSON Feed), absolute, in page order.
pub fn discover_feeds(body: &str, page_url: &Url) -> Vec<Url> {
    if nesting_exceeds(body, MAX_NESTING) {
        return Vec::new();
    }
    let doc = Html::parse_document(body);
    let base = base_url(&doc, page_url);
    let Ok(links) = Selector::parse("link[rel][href][type]") else { return Vec::new() };
    doc.select(&links)
        .filter(|l| l.value().attr("rel").is_some_and(|r| r.split_ascii_whitespace().any(|t| t.eq_ignore_ascii_case("alternate"))))
        .filter(|l| {
            l.value().attr("type").is_some_and(|t| {
                matches!(
                    t.trim().to_ascii_lowercase().as_str(),
                    "application/rss+xml" | "application/atom+xml" | "application/feed+json" | "application/json"
                )
            })
        })
        .filter_map(|l| base.join(l.value().attr("href")?.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .collect()
}

/// What an article's own page says about it.
#[derive(Debug, Default, PartialEq)]
pub struct Detail {
    pub published: Option<DateTime<Utc>>,
    pub summary: Option<String>,
}

/// Reads an article page's metadata: the publication date from
/// `article:published_time`, JSON-LD `datePublished`, `itemprop=datePublished`
/// or the first `<time datetime>`; the summary from `og:description` or the
/// `description` meta tag (as escaped text).
pub fn detail(body: &str) -> Detail {
    if nesting_exceeds(body, MAX_NESTING) {
        return Detail::default();
    }
    let doc = Html::parse_document(body);
    let meta = |sel: &str| -> Option<String> {
        let s = Selector::parse(sel).ok()?;
        doc.select(&s).find_map(|e| e.value().attr("content").map(str::to_string)).filter(|c| !c.trim().is_empty())
    };
    let published = meta(r#"meta[property="article:published_time"]"#)
        .and_then(|d| date::parse_machine_date(&d))
        .or_else(|| json_ld_date(&doc))
        .or_else(|| meta(r#"[itemprop="datePublished"]"#).and_then(|d| date::parse_machine_date(&d)))
        .or_else(|| doc.select(time_selector()).find_map(|t| t.value().attr("datetime").and_then(date::parse_machine_date)));
    let summary = meta(r#"meta[property="og:description"]"#)
        .or_else(|| meta(r#"meta[name="description"]"#))
        .map(|text| format!("<p>{}</p>", html_escape::encode_text(text.trim())));
    Detail { published, summary }
}

fn json_ld_date(doc: &Html) -> Option<DateTime<Utc>> {
    let s = Selector::parse(r#"script[type="application/ld+json"]"#).ok()?;
    doc.select(&s).find_map(|script| {
        let value: serde_json::Value = serde_json::from_str(&script.inner_html()).ok()?;
        find_key(&value, "datePublished", 0).and_then(date::parse_machine_date)
    })
}

/// The first string under `key`, searched depth-first (JSON-LD nests in @graph).
fn find_key<'a>(value: &'a serde_json::Value, key: &str, depth: usize) -> Option<&'a str> {
    if depth > 16 {
        return None;
    }
    match value {
        serde_json::Value::Object(map) => {
            map.get(key).and_then(|v| v.as_str()).or_else(|| map.values().find_map(|v| find_key(v, key, depth + 1)))
        }
        serde_json::Value::Array(items) => items.iter().find_map(|v| find_key(v, key, depth + 1)),
        _ => None,
    }
}

fn time_selector() -> &'static Selector {
    static TIME: std::sync::OnceLock<Selector> = std::sync::OnceLock::new();
    TIME.get_or_init(|| Selector::parse("time[datetime]").unwrap_or_else(|_| unreachable!("a constant selector")))
}

/// `<base href>` if the page sets one, else the page's own address.
fn base_url(doc: &Html, page_url: &Url) -> Url {
    let Ok(s) = Selector::parse("base[href]") else { return page_url.clone() };
    doc.select(&s).next().and_then(|b| b.value().attr("href")).and_then(|h| page_url.join(h).ok()).unwrap_or_else(|| page_url.clone())
}

/// The `href` of the element, or of the first link inside it.
fn href_of(element: ElementRef<'_>) -> Option<&str> {
    if let Some(href) = element.value().attr("href") {
        return Some(href);
    }
    let Ok(a) = Selector::parse("a[href]") else { return None };
    element.select(&a).next().and_then(|e| e.value().attr("href"))
}

fn text_of(element: ElementRef<'_>) -> String {
    element.text().flat_map(|t| t.split_whitespace()).collect::<Vec<_>>().join(" ")
}

fn first_text(doc: &Html, sel: &str) -> Option<String> {
    let s = Selector::parse(sel).ok()?;
    doc.select(&s).next().map(text_of).filter(|t| !t.is_empty())
}

fn short(text: &str) -> String {
    crate::normalize::text::truncate_words(text, 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn rules(item: &str, title: &str, link: &str, date: Option<&str>) -> HtmlRules {
        HtmlRules {
            item: selector(item).unwrap(),
            title: selector(title).unwrap(),
            link: selector(link).unwrap(),
            date: date.map(|d| selector(d).unwrap()),
            date_format: None,
            summary: None,
            next_page: None,
            pages: 1,
            detail: false,
            include: vec![],
            exclude: vec![],
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
    }

    #[test]
    fn drupal_views_listing_with_portuguese_dates() {
        let page = r#"<html lang="pt"><head><title>PCP</title></head><body>
            <div class="views-row"><div class="corpo"><a href="/declaracao-a">Declaração A</a></div>
              <span class="date-display-single">22 de Novembro de 2026</span></div>
            <div class="views-row"><div class="corpo"><a href="https://www.pcp.pt/b">B</a></div>
              <span class="date-display-single">sem data</span></div>
            <div class="views-row"><div class="corpo">no link here</div></div>
        </body></html>"#;
        let url = Url::parse("https://www.pcp.pt/agenda").unwrap();
        let out = extract(page, &url, &rules(".views-row", ".corpo", ".corpo a", Some(".date-display-single")), Some("pt"), now());
        assert_eq!(out.feed.items.len(), 2);
        let a = &out.feed.items[0];
        assert_eq!(a.title.as_deref(), Some("Declaração A"));
        assert_eq!(a.link.as_deref(), Some("https://www.pcp.pt/declaracao-a"));
        assert_eq!(a.published.map(|d| d.date_naive().to_string()), Some("2026-11-22".into()));
        assert_eq!(out.feed.items[1].published, None);
        assert_eq!(out.dates_unreadable, 1);
        assert_eq!(out.warnings.len(), 2, "{:?}", out.warnings);
        assert!(out.warnings[1].contains("item 3") && out.warnings[1].contains("no link"), "{:?}", out.warnings);
    }

    #[test]
    fn datetime_attributes_win_and_base_href_resolves_links() {
        let page = r#"<html><head><base href="https://inter.kke.gr/en/"></head><body><article>
            <h2><a href="articles/Statement/">Statement</a></h2><time datetime="2026-11-20T09:30:00+02:00">20 Nov</time></article></body></html>"#;
        let url = Url::parse("https://inter.kke.gr/en/articles/").unwrap();
        let out = extract(page, &url, &rules("article", "h2", "h2 a", None), Some("en"), now());
        let item = &out.feed.items[0];
        assert_eq!(item.link.as_deref(), Some("https://inter.kke.gr/en/articles/Statement/"));
        assert_eq!(item.published, Some(Utc.with_ymd_and_hms(2026, 11, 20, 7, 30, 0).unwrap()));
    }

    #[test]
    fn include_exclude_and_duplicate_links() {
        let page = r#"<ul><li><a href="/post/1">One</a></li><li><a href="/post/1">One again</a></li>
            <li><a href="/tag/news">Tag page</a></li><li><a href="javascript:void(0)">JS</a></li></ul>"#;
        let url = Url::parse("https://cpusa.example/").unwrap();
        let mut r = rules("li", "a", "a", None);
        r.exclude = vec![Regex::new("/tag/").unwrap()];
        let out = extract(page, &url, &r, None, now());
        let links: Vec<_> = out.feed.items.iter().map(|i| i.link.clone().unwrap()).collect();
        assert_eq!(links, ["https://cpusa.example/post/1"]);
        r.exclude.clear();
        r.include = vec![Regex::new("/tag/").unwrap()];
        assert_eq!(extract(page, &url, &r, None, now()).feed.items.len(), 1);
    }

    #[test]
    fn next_page_link_is_found() {
        let page = r#"<div class="item"><a href="/a">A</a></div><ul class="pager"><li class="next"><a href="?page=1">next</a></li></ul>"#;
        let url = Url::parse("https://www.kscm.cz/cs/aktualne/aktuality").unwrap();
        let mut r = rules(".item", "a", "a", None);
        r.next_page = Some(selector(".pager .next a").unwrap());
        assert_eq!(extract(page, &url, &r, None, now()).next_page.unwrap().as_str(), "https://www.kscm.cz/cs/aktualne/aktuality?page=1");
    }

    #[test]
    fn detail_pages_give_dates_and_summaries_from_metadata() {
        let page = r#"<html><head><meta property="og:description" content="A &amp; B <i>"><script type="application/ld+json">
            {"@graph":[{"@type":"WebPage"},{"@type":"NewsArticle","datePublished":"2026-11-19T08:00:00Z"}]}</script></head></html>"#;
        let d = detail(page);
        assert_eq!(d.published, Some(Utc.with_ymd_and_hms(2026, 11, 19, 8, 0, 0).unwrap()));
        assert_eq!(d.summary.as_deref(), Some("<p>A &amp; B &lt;i&gt;</p>"));
        let meta = r#"<meta property="article:published_time" content="2026-11-18T10:00:00+00:00">"#;
        assert_eq!(detail(meta).published, Some(Utc.with_ymd_and_hms(2026, 11, 18, 10, 0, 0).unwrap()));
        assert_eq!(detail("<p>nothing</p>"), Detail::default());
    }

    #[test]
    fn feeds_are_discovered_from_link_tags() {
        let page = r#"<html><head><link rel="stylesheet" href="/s.css" type="text/css">
            <link rel="alternate" type="application/rss+xml" title="Notícias" href="/rss.xml">
            <link rel="Alternate" type="application/atom+xml" href="https://www.pcp.pt/atom">
            <link rel="alternate" type="text/html" hreflang="en" href="/en/"></head></html>"#;
        let found = discover_feeds(page, &Url::parse("https://www.pcp.pt/").unwrap());
        let found: Vec<&str> = found.iter().map(Url::as_str).collect();
        assert_eq!(found, ["https://www.pcp.pt/rss.xml", "https://www.pcp.pt/atom"]);
    }

    #[test]
    fn items_inside_items_are_read_three_deep() {
        let url = Url::parse("https://x.example/").unwrap();
        let related = r#"<html><body><article><a href="/a">A</a><article><a href="/b">B</a></article></article>
            <article><a href="/c">C</a></article></body></html>"#;
        let out = extract(related, &url, &rules("article", "a", "a", None), None, now());
        let titles: Vec<_> = out.feed.items.iter().filter_map(|i| i.title.as_deref()).collect();
        assert_eq!(titles, ["A", "B", "C"]);
        // Nested 400 deep, twice: each item would search all the ones inside it.
        let block = |b: usize| {
            let open: String = (0..400).map(|i| format!(r#"<div class="v"><a href="/{b}/{i}">{b}-{i}</a>"#)).collect();
            format!("{open}{}", "</div>".repeat(400))
        };
        let page = format!("<html><body>{}{}</body></html>", block(1), block(2));
        let out = extract(&page, &url, &rules("div.v", "a", "a", None), None, now());
        let titles: Vec<_> = out.feed.items.iter().filter_map(|i| i.title.as_deref()).collect();
        assert_eq!(titles, ["1-0", "1-1", "1-2", "2-0", "2-1", "2-2"]);
    }

    #[test]
    fn nesting_is_measured_linearly_and_ignores_void_and_closed_tags() {
        assert!(!nesting_exceeds("<div><p>a<br>b<img src=x></p><p>c</p></div>", 2));
        assert!(nesting_exceeds("<div><div><div>x</div></div></div>", 2));
        // `/>` closes only in SVG and MathML; HTML ignores it.
        assert!(nesting_exceeds("<div/><div/>", 1));
        assert!(!nesting_exceeds("<svg><path/><path/><g/></svg><p>x</p>", 1));
        assert!(!nesting_exceeds("a < b and c<3", 0));
        // Void elements in any case.
        assert!(!nesting_exceeds("<DIV><BR><Img src=x><hR></DIV>", 1));
        assert!(nesting_exceeds("<DIV><BRx></DIV>", 1));
        let deep = "<div>".repeat(100_000);
        let started = std::time::Instant::now();
        assert!(nesting_exceeds(&deep, MAX_NESTING));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let page = format!("<html><body>{deep}</body></html>");
        let url = Url::parse("https://x.example/").unwrap();
        let out = extract(&page, &url, &rules("div", "a", "a", None), None, now());
        assert!(out.feed.items.is_empty() && out.warnings[0].contains("nests elements more than 512 deep"), "{:?}", out.warnings);
        // Tags that never end and never nest: each used to look for its `>` to the end.
        let unended = "<br".repeat(200_000);
        let started = std::time::Instant::now();
        assert!(!nesting_exceeds(&unended, MAX_NESTING));
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "{:?}", started.elapsed());
        assert!(!nesting_exceeds("<svg><g<path/></svg>", 1), "a tag's end is the first `>` after it");
        // What a count of tags missed, and what it overcounted.
        for hidden in ["<div/>", "<div></x>", "<div><script></div></script>", "<div><!-- </div> -->", "<div><style></div></style>"] {
            assert!(nesting_exceeds(&hidden.repeat(600), MAX_NESTING), "{hidden}");
        }
        assert!(nesting_exceeds(&format!("<svg><title>{}</title></svg>", "<g>".repeat(600)), MAX_NESTING), "an SVG title holds elements");
        for flat in ["<p>a", "<li>b", "<td>c", "<b>d</b>", "<div>e</div>", "<script><div></script>"] {
            assert!(!nesting_exceeds(&flat.repeat(600), MAX_NESTING), "{flat}");
        }
        assert!(!nesting_exceeds("<div><p>a</div><div><p>b</div><div><p>c</div>", 2), "an end tag closes what is open inside it");
        // End tags of nothing open, under a deep stack: each dismissed at once.
        let stray = format!("{}{}", "<div>".repeat(500), "</x>".repeat(200_000));
        let started = std::time::Instant::now();
        assert!(!nesting_exceeds(&stray, MAX_NESTING));
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "{:?}", started.elapsed());
    }

    #[test]
    fn selectors_are_checked() {
        assert!(selector("li.views-row > a").is_ok());
        let err = selector("h2 >> a[").unwrap_err();
        assert!(err.contains("not a valid CSS selector"), "{err}");
    }
}
