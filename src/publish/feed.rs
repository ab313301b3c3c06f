//! What a published document is about and how it is asked for: the
//! [`Scope`] (merged, a party, a country, a language), the [`Format`]
//! (Atom, JSON Feed, RSS, HTML), the request's [`Query`] options, and the
//! [`FeedDoc`] every renderer reads (title, links, stories).

use chrono::{DateTime, Utc};

use super::Story;
use crate::config::{Config, PartyId};
use crate::store::Position;

/// Largest `limit` a request may ask for.
pub const MAX_LIMIT: usize = 500;
/// Longest `q=` search text.
const MAX_QUERY_CHARS: usize = 200;

/// Which entries a document shows.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Every party.
    Merged,
    Party(PartyId),
    /// Parties of one country, by lowercase ISO 3166-1 alpha-2 code.
    Country(String),
    /// Entries filed under one language (lowercase primary subtag).
    Language(String),
}

impl Scope {
    /// The path of the scope's documents without the extension.
    pub fn stem(&self) -> String {
        match self {
            Scope::Merged => "feed".to_string(),
            Scope::Party(id) => format!("parties/{id}"),
            Scope::Country(cc) => format!("countries/{cc}"),
            Scope::Language(lang) => format!("languages/{lang}"),
        }
    }

    /// The path of the scope's document in `format`: `feed.atom`,
    /// `parties/pcp.json`, `index.html` (the merged page).
    pub fn path(&self, format: Format) -> String {
        match (self, format) {
            (Scope::Merged, Format::Html) => "index.html".to_string(),
            _ => format!("{}.{}", self.stem(), format.extension()),
        }
    }

    /// Whether joint statements of several parties fold into one story:
    /// in every document that shows more than one party.
    pub fn merges(&self) -> bool {
        !matches!(self, Scope::Party(_))
    }

    /// The document's title, as readers show it.
    pub fn title(&self, config: &Config) -> String {
        match self {
            Scope::Merged => config.daemon.title.clone(),
            Scope::Party(id) => config.party(id.as_str()).map_or_else(|| id.to_string(), |p| p.display_name()),
            Scope::Country(cc) => format!("{}: {}", config.daemon.title, country_name(cc)),
            Scope::Language(lang) => format!("{}: {}", config.daemon.title, language_name(lang)),
        }
    }

    /// One line saying what the document holds.
    pub fn subtitle(&self, config: &Config) -> String {
        match self {
            Scope::Merged => "Statements and news of the communist and workers' parties, merged by Plenum".to_string(),
            Scope::Party(id) => match config.party(id.as_str()) {
                Some(p) => format!("News of the {} ({}), gathered by Plenum", p.display_name(), country_name(&p.country)),
                None => format!("News of {id}, gathered by Plenum"),
            },
            Scope::Country(cc) => {
                format!("News of the communist and workers' parties of {}, gathered by Plenum", with_article(&country_name(cc)))
            }
            Scope::Language(lang) => format!("News of the communist and workers' parties in {}, gathered by Plenum", language_name(lang)),
        }
    }

    /// The language the whole document is in, where it has one.
    pub fn language(&self, config: &Config) -> Option<String> {
        match self {
            Scope::Party(id) => config.party(id.as_str()).and_then(|p| p.languages.first().cloned()),
            Scope::Language(lang) if lang != "und" => Some(lang.clone()),
            _ => None,
        }
    }
}

/// A country's English short name from its ISO 3166-1 alpha-2 code ("gr"
/// → "Greece", "tr" → "Türkiye"), or the code in capitals. ISO's inverted
/// forms read in natural order: "Korea (Democratic People's Republic of)"
/// becomes "Democratic People's Republic of Korea", "Palestine, State of"
/// "State of Palestine".
pub fn country_name(cc: &str) -> String {
    let Some(country) = rust_iso3166::from_alpha2(&cc.to_ascii_uppercase()) else {
        return cc.to_ascii_uppercase();
    };
    let name = country.name;
    let qualified = |(place, qualifier): (&str, &str)| {
        (qualifier.ends_with(" of") || qualifier.ends_with(" of the")).then(|| format!("{qualifier} {place}"))
    };
    name.strip_suffix(')')
        .and_then(|n| n.split_once(" ("))
        .and_then(qualified)
        .or_else(|| name.split_once(", ").and_then(qualified))
        .unwrap_or_else(|| name.to_string())
}

/// A country's name as it reads inside a sentence: "the" before names of
/// states that English says with it ("the United States of America", "the
/// Russian Federation", "the Philippines"), none before the rest ("Greece").
pub fn with_article(name: &str) -> String {
    const PLURAL: &[&str] = &["Netherlands", "Philippines", "Bahamas", "Maldives", "Comoros", "Seychelles", "Gambia"];
    const FORMS: &[&str] = &["Republic", "Federation", "Kingdom", "States", "Islands", "Union", "Emirates", "State of"];
    let first = name.split([' ', ',']).next().unwrap_or("");
    if PLURAL.contains(&first) || FORMS.iter().any(|form| name.contains(form)) {
        format!("the {name}")
    } else {
        name.to_string()
    }
}

/// A language's English name from its code ("el" → "Greek"), or the code.
pub fn language_name(lang: &str) -> String {
    if lang == "und" {
        return "undetermined language".to_string();
    }
    // ISO names qualify some languages ("Modern Greek"): readers know them without.
    let name = isolang::Language::from_639_1(lang).or_else(|| isolang::Language::from_639_3(lang)).map(|l| l.to_name());
    name.map_or_else(|| lang.to_string(), |n| n.split(" (").next().unwrap_or(n).trim_start_matches("Modern ").to_string())
}

/// A document's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    Atom,
    Json,
    Rss,
    Html,
}

impl Format {
    /// The three feed formats, in the order feeds are listed.
    pub const FEEDS: [Format; 3] = [Format::Atom, Format::Json, Format::Rss];

    pub fn extension(self) -> &'static str {
        match self {
            Format::Atom => "atom",
            Format::Json => "json",
            Format::Rss => "rss",
            Format::Html => "html",
        }
    }

    pub fn from_extension(ext: &str) -> Option<Format> {
        match ext {
            "atom" => Some(Format::Atom),
            "json" => Some(Format::Json),
            "rss" => Some(Format::Rss),
            "html" => Some(Format::Html),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Atom => super::atom::CONTENT_TYPE,
            Format::Json => "application/feed+json; charset=utf-8",
            Format::Rss => "application/rss+xml; charset=utf-8",
            Format::Html => "text/html; charset=utf-8",
        }
    }

    /// The media type of `rel="alternate"` links to this format.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Atom => "application/atom+xml",
            Format::Json => "application/feed+json",
            Format::Rss => "application/rss+xml",
            Format::Html => "text/html",
        }
    }
}

/// Why a request's options were refused (answered with 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("limit must be a whole number from 1 to {MAX_LIMIT}, not `{0}`")]
    Limit(String),
    #[error("unknown party `{0}` (party= takes party ids separated by commas)")]
    Party(String),
    #[error("lang must be a language code such as `en` or `pt`, not `{0}`")]
    Lang(String),
    #[error("country must be a two-letter code such as `pt`, not `{0}`")]
    Country(String),
    #[error("q must be 1 to {MAX_QUERY_CHARS} characters")]
    Search,
    #[error("`{0}` is not a page position from one of these feeds' links")]
    Cursor(String),
    #[error("give either before= or after=, not both")]
    BothCursors,
}

/// The options of one request: filters, size and page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Entries (stories) per page; `None` is the configured `feed_size`.
    pub limit: Option<usize>,
    /// Only these parties (`party=a,b`).
    pub parties: Vec<PartyId>,
    /// Only entries filed under this language.
    pub lang: Option<String>,
    /// Only these countries' parties (`country=pt`; the HTML page's filter).
    pub country: Option<String>,
    /// Plain text that the title or summary must contain (any case).
    pub q: Option<String>,
    /// The page of entries older than this position.
    pub before: Option<Position>,
    /// The page of entries newer than this position.
    pub after: Option<Position>,
}

impl Query {
    /// Reads a query string; unknown options are ignored (readers add
    /// their own), known ones with bad values are errors.
    pub fn parse(config: &Config, query: &str) -> Result<Query, QueryError> {
        let mut out = Query::default();
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let value = value.trim();
            match name.as_ref() {
                "limit" => {
                    let n: usize = value.parse().map_err(|_| QueryError::Limit(clip(value)))?;
                    if n == 0 {
                        return Err(QueryError::Limit(clip(value)));
                    }
                    out.limit = Some(n.min(MAX_LIMIT));
                }
                "party" => {
                    for id in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        let party = config.party(&id.to_ascii_lowercase()).ok_or_else(|| QueryError::Party(clip(id)))?;
                        if !out.parties.contains(&party.id) {
                            out.parties.push(party.id.clone());
                        }
                    }
                }
                "lang" if !value.is_empty() => {
                    out.lang = Some(
                        super::language::primary_tag(value).filter(|_| value.len() <= 35).ok_or_else(|| QueryError::Lang(clip(value)))?,
                    );
                }
                "country" if !value.is_empty() => {
                    if value.len() != 2 || !value.chars().all(|c| c.is_ascii_alphabetic()) {
                        return Err(QueryError::Country(clip(value)));
                    }
                    out.country = Some(value.to_ascii_lowercase());
                }
                "q" if !value.is_empty() => {
                    if value.chars().count() > MAX_QUERY_CHARS {
                        return Err(QueryError::Search);
                    }
                    out.q = Some(value.to_string());
                }
                "before" => out.before = Some(Position::parse(value).ok_or_else(|| QueryError::Cursor(clip(value)))?),
                "after" => out.after = Some(Position::parse(value).ok_or_else(|| QueryError::Cursor(clip(value)))?),
                _ => {}
            }
        }
        if out.before.is_some() && out.after.is_some() {
            return Err(QueryError::BothCursors);
        }
        Ok(out)
    }

    /// True when the request asks for exactly the published document.
    pub fn is_plain(&self) -> bool {
        *self == Query::default()
    }

    /// The options as a query string (with `?`, or empty), with the page
    /// position replaced by `page`.
    pub fn to_query_string(&self, page: Option<(&str, &Position)>) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        if let Some(limit) = self.limit {
            s.append_pair("limit", &limit.to_string());
        }
        if !self.parties.is_empty() {
            s.append_pair("party", &self.parties.iter().map(PartyId::as_str).collect::<Vec<_>>().join(","));
        }
        if let Some(country) = &self.country {
            s.append_pair("country", country);
        }
        if let Some(lang) = &self.lang {
            s.append_pair("lang", lang);
        }
        if let Some(q) = &self.q {
            s.append_pair("q", q);
        }
        if let Some((name, position)) = page {
            s.append_pair(name, &position.token());
        }
        let out = s.finish();
        if out.is_empty() {
            out
        } else {
            format!("?{out}")
        }
    }
}

/// A request's value as an error message may repeat it: short, and only
/// characters that cannot be markup.
fn clip(value: &str) -> String {
    value.chars().filter(|c| c.is_alphanumeric() || "-_.,: ".contains(*c)).take(40).collect()
}

/// RFC 5005 paging links of one page, as absolute URLs.
#[derive(Debug, Clone, Default)]
pub struct PageLinks {
    pub first: Option<String>,
    pub last: Option<String>,
    pub next: Option<String>,
    pub previous: Option<String>,
}

/// Everything a renderer needs to write one document.
pub struct FeedDoc<'a> {
    pub scope: Scope,
    pub format: Format,
    pub title: String,
    pub subtitle: String,
    /// The feed's identity: its address without page position.
    pub id: String,
    /// This document's own address.
    pub self_url: String,
    /// The HTML page showing the same entries.
    pub html_url: String,
    pub lang: Option<String>,
    pub stories: Vec<Story<'a>>,
    /// The newest `updated` of the stories (or the store's creation time).
    pub updated: DateTime<Utc>,
    pub links: PageLinks,
    /// The WebSub hub, announced on the first page of each feed.
    pub hub: Option<String>,
}

impl FeedDoc<'_> {
    /// About how many bytes a feed of this page takes: the stories' HTML,
    /// an eighth more for escaping it, and a kilobyte per copy for the
    /// rest. Renderers size their buffer with it, so it is not grown and
    /// copied as it fills.
    pub fn size_hint(&self) -> usize {
        let html: usize = self
            .stories
            .iter()
            .flat_map(Story::copies)
            .map(|e| e.content.as_ref().map_or(0, String::len) + e.summary.as_ref().map_or(0, String::len) + 1024)
            .sum();
        html + html / 8 + 4096
    }
}

/// `base` joined with `path`; `base` is a validated absolute URL.
pub fn absolute(config: &Config, path: &str) -> String {
    let base = &config.daemon.base_url;
    base.join(path).map(|u| u.to_string()).unwrap_or_else(|_| format!("{base}{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_published_tree() {
        let pcp = PartyId::parse("pcp").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Scope::Merged.path(Format::Atom), "feed.atom");
        assert_eq!(Scope::Merged.path(Format::Html), "index.html");
        assert_eq!(Scope::Party(pcp).path(Format::Json), "parties/pcp.json");
        assert_eq!(Scope::Country("gr".into()).path(Format::Rss), "countries/gr.rss");
        assert_eq!(Scope::Language("el".into()).path(Format::Html), "languages/el.html");
    }

    #[test]
    fn country_names_come_from_iso_3166_in_natural_order() {
        assert_eq!(country_name("gr"), "Greece");
        assert_eq!(country_name("PT"), "Portugal");
        assert_eq!(country_name("kp"), "Democratic People's Republic of Korea");
        assert_eq!(country_name("ve"), "Bolivarian Republic of Venezuela");
        assert_eq!(country_name("cd"), "Democratic Republic of the Congo");
        assert_eq!(country_name("ps"), "State of Palestine");
        // Qualifiers that are not "… of" stay where ISO puts them.
        assert_eq!(country_name("vg"), "Virgin Islands (British)");
        assert_eq!(country_name("bq"), "Bonaire, Sint Eustatius and Saba");
        // Current ISO names, not the ones of a few years ago.
        assert_eq!(country_name("sz"), "Eswatini");
        assert_eq!(country_name("tr"), "Türkiye");
        assert_eq!(country_name("mk"), "North Macedonia");
        assert_eq!(country_name("xx"), "XX");
        // Inside a sentence, with "the" where English says it.
        assert_eq!(with_article(&country_name("us")), "the United States of America");
        assert_eq!(with_article(&country_name("ru")), "the Russian Federation");
        assert_eq!(with_article(&country_name("kp")), "the Democratic People's Republic of Korea");
        assert_eq!(with_article(&country_name("ph")), "the Philippines");
        assert_eq!(with_article(&country_name("gr")), "Greece");
        assert_eq!(with_article(&country_name("cz")), "Czechia");
    }

    #[test]
    fn language_names_come_from_iso_639() {
        assert_eq!(language_name("el"), "Greek");
        assert_eq!(language_name("xx"), "xx");
    }
}
