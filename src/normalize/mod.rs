//! Raw items to [`Entry`]: the one shape every later stage works with.
//!
//! Normalizing makes links absolute, titles plain text, HTML safe
//! ([`html`]), dates UTC, and gives each item an identity that is stable
//! across polls ([`identity`]). An item without a date gets the time Plenum
//! first saw it and is marked `date_guessed`; a date in the future is
//! clamped the same way, so a wrong clock at the source cannot pin an
//! entry to the top of every feed.

pub mod canonical;
pub mod html;
pub mod identity;
pub mod story;
pub mod text;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::{Party, PartyId, Source, SourceId};
use crate::extract::{RawFeed, RawItem};
pub use identity::EntryKey;

/// Summaries longer than this (HTML, before sanitizing) are cut: a summary
/// is an excerpt, and sanitizing megabytes costs seconds.
pub const MAX_SUMMARY_BYTES: usize = 64 * 1024;
/// Full content longer than this is cut (the article stays one click away).
pub const MAX_CONTENT_BYTES: usize = 512 * 1024;

/// The feed's own title, id, link and language are copied into each of its
/// entries: longer than this they are junk, or an attack on memory (a
/// 15 MB title times 2 000 items); the title is cut, the others dropped.
const MAX_FEED_FIELD_BYTES: usize = 2048;

/// At most `max` bytes of `html`, cut at a character boundary; the sanitizer
/// closes whatever the cut left open.
fn capped(html: &str, max: usize) -> &str {
    if html.len() <= max {
        return html;
    }
    let mut end = max;
    while !html.is_char_boundary(end) {
        end -= 1;
    }
    &html[..end]
}

/// Dates this far ahead of now are treated as wrong, not as the future.
const FUTURE_SLACK: Duration = Duration::hours(26);

/// A normalized entry, as stored and published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The store key: party plus identity hash.
    pub key: EntryKey,
    /// The published `atom:id` (`urn:uuid:`); fixed at first sight, never changed.
    pub atom_id: String,
    pub party: PartyId,
    /// The source that first delivered this entry: only it may rewrite the
    /// entry's text, so two sources with different excerpts never flip-flop it.
    pub source: SourceId,
    /// Every source that delivered this story (the first is `source`).
    #[serde(default)]
    pub sources: Vec<SourceId>,
    /// The link in canonical form ([`canonical`]), for deduplication.
    #[serde(default)]
    pub canonical_link: Option<String>,
    /// A MinHash sketch of the text ([`story`]), to recognise one statement
    /// published by several parties.
    #[serde(default)]
    pub sketch: Vec<u32>,
    pub title: String,
    /// Absolute link to the original article.
    pub link: Option<String>,
    /// Sanitized HTML.
    pub summary: Option<String>,
    /// Sanitized HTML.
    pub content: Option<String>,
    pub authors: Vec<String>,
    pub language: Option<String>,
    /// When the source says it was published (or first seen, see `date_guessed`).
    pub published: DateTime<Utc>,
    /// True when the source gave no usable date and `published` is first-seen time.
    pub date_guessed: bool,
    /// Last time the entry's content changed (the source's date or Plenum's).
    pub updated: DateTime<Utc>,
    /// When Plenum first stored it.
    pub first_seen: DateTime<Utc>,
    /// Hash of the fields a subscriber sees; a change means "updated".
    pub content_hash: String,
    /// Hash of what the owning source last sent (it differs from
    /// `content_hash` when another source filled a gap).
    #[serde(default)]
    pub source_hash: String,
    /// The feed it came from, for `atom:source`.
    pub origin: Origin,
}

/// The original feed an entry came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Origin {
    pub feed_url: String,
    pub feed_id: Option<String>,
    pub title: Option<String>,
    pub link: Option<String>,
}

/// Why an item was dropped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Skip {
    #[error("item has no title, link, summary or content")]
    Empty,
}

/// Normalizes one raw item of `feed`, fetched from `base` for `source`.
pub fn normalize(party: &Party, source: &Source, feed: &RawFeed, item: &RawItem, base: &Url, now: DateTime<Utc>) -> Result<Entry, Skip> {
    // Parsed once: the link, the base of the article's relative URLs, and its canonical form.
    let link_url = link_url(item, base);
    let link = link_url.as_ref().map(|u| u.as_str().to_string());
    let article_base = link_url.clone().unwrap_or_else(|| base.clone());
    let summary =
        item.summary_html.as_deref().map(|h| html::sanitize(capped(h, MAX_SUMMARY_BYTES), &article_base)).filter(|h| !h.trim().is_empty());
    let content =
        item.content_html.as_deref().map(|h| html::sanitize(capped(h, MAX_CONTENT_BYTES), &article_base)).filter(|h| !h.trim().is_empty());
    // RSS does not say whether a title is text or HTML; one with tags in it is HTML.
    let looks_like_html = |t: &str| t.contains('<') && t.contains('>');
    let mut title = item
        .title
        .as_deref()
        .map(|t| capped(t, 4096))
        .map(|t| if item.title_is_html || looks_like_html(t) { text::from_html(t) } else { text::plain(t) })
        .unwrap_or_default();
    if title.is_empty() {
        // A title-less item (common in RSS for short notes): use its text.
        let from = summary.as_deref().or(content.as_deref()).map(text::from_sanitized).unwrap_or_default();
        title = text::truncate_words(&from, 100);
    }
    if title.is_empty() && link.is_none() {
        return Err(Skip::Empty);
    }
    if title.is_empty() {
        title = link.clone().unwrap_or_default();
    }

    let (published, date_guessed) = publication(item, now);
    let updated = item.updated.filter(|d| *d <= now + FUTURE_SLACK && *d >= published).unwrap_or(published);

    let identity =
        identity::identify(&party.id, &source.id, item.id.as_deref(), link.as_deref(), &title, summary.as_deref(), content.as_deref());
    let canonical_link = link_url.as_ref().and_then(canonical::canonical_of).map(|c| c.to_string());
    let content_hash = identity::content_hash(&title, link.as_deref(), summary.as_deref(), content.as_deref());
    Ok(Entry {
        atom_id: identity.atom_id(),
        key: identity.key,
        party: party.id.clone(),
        source: source.id.clone(),
        sources: vec![source.id.clone()],
        canonical_link,
        sketch: content.as_deref().or(summary.as_deref()).map(story::html_sketch).unwrap_or_default(),
        title,
        link,
        summary,
        content,
        authors: item.authors.iter().map(|a| text::plain(a)).filter(|a| !a.is_empty()).collect(),
        language: item.language.clone().or_else(|| feed.language.clone()).filter(|l| l.len() <= MAX_FEED_FIELD_BYTES),
        published,
        date_guessed,
        updated,
        first_seen: now,
        source_hash: content_hash.clone(),
        content_hash,
        origin: Origin {
            feed_url: source.url.to_string(),
            feed_id: feed.id.clone().filter(|id| id.len() <= MAX_FEED_FIELD_BYTES),
            title: feed.title.as_deref().map(|t| text::plain(capped(t, MAX_FEED_FIELD_BYTES))),
            link: feed.link.as_deref().filter(|l| l.len() <= MAX_FEED_FIELD_BYTES).and_then(|l| absolute_url(base, l)),
        },
    })
}

/// The item's link, absolute against `base`.
fn link_url(item: &RawItem, base: &Url) -> Option<Url> {
    item.link.as_deref().and_then(|l| absolute(base, l))
}

/// The canonical link [`normalize`] gives `item`, without normalizing it.
pub fn item_canonical_link(item: &RawItem, base: &Url) -> Option<String> {
    link_url(item, base).as_ref().and_then(canonical::canonical_of).map(|c| c.to_string())
}

/// When the item was published, and whether that is a guess (now): an
/// item without a date, or dated further ahead than clocks drift.
pub fn publication(item: &RawItem, now: DateTime<Utc>) -> (DateTime<Utc>, bool) {
    match item.published.or(item.updated) {
        Some(date) if date <= now + FUTURE_SLACK => (date, false),
        _ => (now, true),
    }
}

/// What a source's items are fingerprinted against: the party and source
/// config, the document's own fields that entries carry, and this build
/// of Plenum ([`crate::build_id`]: another may normalize differently). See
/// [`fingerprint`].
pub fn fingerprint_seed(party: &Party, source: &Source, feed: &RawFeed) -> u64 {
    let context =
        format!("{}\n{}\n{source:?}\n{:?}\n{:?}\n{:?}\n{:?}", crate::build_id(), party.id, feed.title, feed.id, feed.link, feed.language);
    xxhash_rust::xxh3::xxh3_64(context.as_bytes())
}

/// A fingerprint of `item` as delivered: two items with the same
/// fingerprint (and seed) normalize to the same entry, so an item whose
/// fingerprint was seen at the source's last read is unchanged and is not
/// normalized and stored again. `None` for an item whose normalizing
/// depends on the time (dated further ahead than clocks drift: the date is
/// guessed now and read later).
pub fn fingerprint(seed: u64, item: &RawItem, now: DateTime<Utc>) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let settled = [item.published, item.updated].into_iter().flatten().all(|d| d <= now + FUTURE_SLACK);
    settled.then(|| {
        let mut hasher = xxhash_rust::xxh3::Xxh3::with_seed(seed);
        item.hash(&mut hasher);
        hasher.finish()
    })
}

/// The current time to the second: feeds show whole seconds.
pub fn now() -> DateTime<Utc> {
    let t = Utc::now();
    t - Duration::nanoseconds(i64::from(t.timestamp_subsec_nanos()))
}

/// `link` made absolute against `base`; only http(s) links are kept.
pub fn absolute_url(base: &Url, link: &str) -> Option<String> {
    absolute(base, link).map(String::from)
}

fn absolute(base: &Url, link: &str) -> Option<Url> {
    let url = base.join(link.trim()).ok()?;
    matches!(url.scheme(), "http" | "https").then_some(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SourceKind;
    use chrono::TimeZone;

    fn party() -> Party {
        Party {
            id: PartyId::parse("pcp").unwrap(),
            name: "Portuguese Communist Party".into(),
            abbreviation: "PCP".into(),
            country: "PT".into(),
            languages: vec!["pt".into()],
            homepage: Url::parse("https://www.pcp.pt").unwrap(),
            sources: vec![],
        }
    }

    fn source() -> Source {
        let party = party().id;
        let url = Url::parse("https://www.pcp.pt/rss.xml").unwrap();
        Source {
            id: SourceId::from_url(&party, &url),
            party,
            kind: SourceKind::Feed,
            url,
            schedule: None,
            enabled: true,
            ignore_validators: false,
            language: None,
            html: None,
        }
    }

    fn norm(item: RawItem, now: DateTime<Utc>) -> Result<Entry, Skip> {
        let base = source().url;
        normalize(&party(), &source(), &RawFeed { language: Some("pt".into()), ..RawFeed::default() }, &item, &base, now)
    }

    #[test]
    fn an_item_read_again_unchanged_has_the_same_fingerprint_and_any_change_or_config_change_another() {
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap();
        let feed = RawFeed { language: Some("pt".into()), ..RawFeed::default() };
        let seed = fingerprint_seed(&party(), &source(), &feed);
        let item = RawItem {
            id: Some("1".into()),
            title: Some("Nota".into()),
            content_html: Some("<p>Texto</p>".into()),
            published: Some(now - Duration::hours(3)),
            ..RawItem::default()
        };
        let first = fingerprint(seed, &item, now);
        assert!(first.is_some());
        assert_eq!(fingerprint(seed, &item.clone(), now + Duration::hours(5)), first, "the same item an hour later");
        let edits = [
            RawItem { content_html: Some("<p>Texto.</p>".into()), ..item.clone() },
            RawItem { title: Some("Nota!".into()), ..item.clone() },
            RawItem { updated: Some(now), ..item.clone() },
            RawItem { authors: vec!["PCP".into()], ..item.clone() },
        ];
        for edited in &edits {
            assert_ne!(fingerprint(seed, edited, now), first, "{edited:?}");
        }
        // What entries take from the config or the document's head changes every fingerprint.
        let other_language = Source { language: Some("en".into()), ..source() };
        assert_ne!(fingerprint(fingerprint_seed(&party(), &other_language, &feed), &item, now), first);
        let other_feed = RawFeed { title: Some("Avante!".into()), ..feed.clone() };
        assert_ne!(fingerprint(fingerprint_seed(&party(), &source(), &other_feed), &item, now), first);
        // An item dated ahead is dated now, and by its date later: never skipped.
        let ahead = RawItem { published: Some(now + Duration::days(3)), ..item.clone() };
        assert_eq!(fingerprint(seed, &ahead, now), None);
    }

    #[test]
    fn links_become_absolute_and_titles_plain() {
        let now = Utc::now();
        let item = RawItem {
            link: Some("/noticia/1".into()),
            title: Some("  Avante!  &amp;  a\u{7} luta \n continua ".into()),
            summary_html: Some(r#"<p onclick="x()">Ver <a href="../foto">foto</a></p><script>alert(1)</script>"#.into()),
            ..RawItem::default()
        };
        let entry = norm(item, now).unwrap();
        assert_eq!(entry.link.as_deref(), Some("https://www.pcp.pt/noticia/1"));
        assert_eq!(entry.title, "Avante! & a luta continua");
        let summary = entry.summary.unwrap();
        assert!(summary.contains(r#"href="https://www.pcp.pt/foto""#), "{summary}");
        assert!(!summary.contains("script") && !summary.contains("onclick"), "{summary}");
        assert_eq!(entry.language.as_deref(), Some("pt"));
    }

    #[test]
    fn missing_and_future_dates_become_first_seen_and_are_flagged() {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
        let base = RawItem { title: Some("x".into()), link: Some("https://www.pcp.pt/a".into()), ..RawItem::default() };
        let undated = norm(base.clone(), now).unwrap();
        assert_eq!((undated.published, undated.date_guessed), (now, true));
        let future = norm(RawItem { published: Some(Utc.with_ymd_and_hms(9999, 1, 1, 0, 0, 0).unwrap()), ..base.clone() }, now).unwrap();
        assert_eq!((future.published, future.date_guessed), (now, true));
        let dated = Utc.with_ymd_and_hms(2026, 11, 20, 8, 30, 0).unwrap();
        let entry = norm(RawItem { published: Some(dated), ..base }, now).unwrap();
        assert_eq!((entry.published, entry.updated, entry.date_guessed), (dated, dated, false));
    }

    #[test]
    fn identity_ignores_what_changes_between_polls() {
        let t1 = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
        let item = RawItem { id: Some("pcp-7".into()), title: Some("Old".into()), ..RawItem::default() };
        let a = norm(item.clone(), t1).unwrap();
        let b = norm(RawItem { title: Some("New".into()), ..item }, t1 + Duration::hours(1)).unwrap();
        assert_eq!((a.key.clone(), a.atom_id.clone()), (b.key.clone(), b.atom_id.clone()));
        assert_ne!(a.content_hash, b.content_hash);
        assert!(a.atom_id.starts_with("urn:uuid:"));
    }

    #[test]
    fn a_feeds_huge_title_id_and_link_are_not_copied_into_every_entry() {
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap();
        let huge = "Κ".repeat(1_000_000);
        let feed = RawFeed {
            title: Some(huge.clone()),
            id: Some(format!("urn:{huge}")),
            link: Some(format!("https://pcp.pt/{huge}")),
            language: Some(huge.clone()),
            ..RawFeed::default()
        };
        let item = RawItem { title: Some("Nota".into()), link: Some("/n/1".into()), ..RawItem::default() };
        let entry = normalize(&party(), &source(), &feed, &item, &source().url, now).unwrap();
        assert!(entry.origin.title.as_deref().is_some_and(|t| t.len() <= MAX_FEED_FIELD_BYTES && t.starts_with("ΚΚ")));
        assert_eq!((entry.origin.feed_id, entry.origin.link, entry.language), (None, None, None));
    }

    #[test]
    fn items_with_nothing_in_them_are_skipped() {
        assert_eq!(norm(RawItem::default(), Utc::now()), Err(Skip::Empty));
        let only_summary = RawItem { summary_html: Some("<p>Breve nota do Comité Central.</p>".into()), ..RawItem::default() };
        assert_eq!(norm(only_summary, Utc::now()).unwrap().title, "Breve nota do Comité Central.");
    }
}
