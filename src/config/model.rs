//! The checked configuration the rest of Plenum runs on.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

/// A party's id: `[a-z0-9-]+`, unique, used in URLs and file names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PartyId(String);

impl PartyId {
    /// Checks the id's syntax; the error says what is allowed.
    pub fn parse(id: &str) -> Result<Self, String> {
        if is_slug(id) {
            Ok(PartyId(id.to_string()))
        } else {
            Err(format!("`{id}` is not a valid id: use lowercase letters a-z, digits and '-' (for example \"pcp\" or \"ptb-pvda\")"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PartyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A source's id: `<party>/<name>`, where the name is the config's `id` or,
/// without one, eight hex digits of a hash of the URL (so the source keeps its
/// state when sources are reordered in the file).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SourceId(String);

impl SourceId {
    pub fn new(party: &PartyId, name: &str) -> Self {
        SourceId(format!("{party}/{name}"))
    }

    pub fn from_url(party: &PartyId, url: &Url) -> Self {
        let hash = blake3::hash(url.as_str().as_bytes());
        Self::new(party, &hash.to_hex()[..8])
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub(crate) fn is_slug(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The whole checked config.
#[derive(Debug, Clone)]
pub struct Config {
    /// The main config file, as given.
    pub path: PathBuf,
    pub daemon: DaemonConfig,
    pub parties: Vec<Party>,
}

impl Config {
    pub fn party(&self, id: &str) -> Option<&Party> {
        self.parties.iter().find(|p| p.id.as_str() == id)
    }

    /// Every source of every party, in config order.
    pub fn sources(&self) -> impl Iterator<Item = (&Party, &Source)> {
        self.parties.iter().flat_map(|p| p.sources.iter().map(move |s| (p, s)))
    }
}

/// `[daemon]`: where things live and how Plenum behaves as a whole.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// The sled store's directory (resolved against the config file).
    pub data_dir: PathBuf,
    /// Where static feeds are written (resolved against the config file).
    pub output_dir: PathBuf,
    pub listen: SocketAddr,
    /// Public address of the feeds, ending in '/', used in self links.
    pub base_url: Url,
    /// Default poll schedule, cron with seconds.
    pub schedule: String,
    /// Entries in each published feed.
    pub feed_size: usize,
    /// Title of the merged feed.
    pub title: String,
    /// Operator contact (mail or URL) sent in the User-Agent.
    pub contact: Option<String>,
    /// Largest response body read from a source.
    pub max_body_bytes: u64,
    /// Whole-request timeout for one fetch.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Polls running at once.
    pub concurrency: usize,
    /// Upper bound of the random delay before a scheduled poll starts.
    pub jitter: Duration,
    /// WebSub hub announced in feeds and pinged when they change.
    pub websub_hub: Option<Url>,
    /// Proxy for every fetch (else `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`).
    pub proxy: Option<Url>,
    /// Minimum gap between two requests to one host.
    pub host_gap: Duration,
    /// Per-host gaps from `[host."name"]`, by lowercase host name.
    pub host_gaps: std::collections::BTreeMap<String, Duration>,
    /// A source is never polled sooner than this after its last poll.
    pub min_interval: Duration,
    /// ... nor later than this (when the feed asks for longer, or adaptively).
    pub max_interval: Duration,
    /// Longest wait after failures (exponential backoff stops growing here).
    pub backoff_cap: Duration,
    /// Failing this long makes a source "failing" in `list` and health.
    pub failing_after: Duration,
    pub max_redirects: usize,
    /// A body that sends no byte for this long is abandoned.
    pub stall_timeout: Duration,
    /// Poll sources that rarely post less often (up to `max_interval`).
    pub adaptive: bool,
    /// Entries older than this (by publication date) are pruned; `None` keeps them.
    pub retention_days: Option<u32>,
    /// At most this many entries per party are kept (the newest); `None` keeps all.
    pub max_entries_per_party: Option<usize>,
    /// When pruning runs (cron with seconds).
    pub prune_schedule: String,
    /// Serve `/metrics` on this address too (it is always on `listen`).
    pub metrics_listen: Option<SocketAddr>,
    /// A client must send its request head within this (slowloris).
    pub header_timeout: Duration,
    /// Bytes of the compressed copies of published documents kept in
    /// memory besides the merged feed's (`document_cache_mb`); the
    /// documents themselves are read from `output_dir`.
    pub document_cache_bytes: usize,
    /// Bytes of sled's page cache (`store_cache_mb`): stored pages kept in
    /// memory. More saves reading pages again during a large first poll;
    /// less keeps the daemon smaller.
    pub store_cache_bytes: u64,
}

/// How a source is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// RSS 0.9x/1.0/2.0, Atom 0.3/1.0 or JSON Feed, told apart by content.
    Feed,
    /// A web page read with CSS selectors ([`Source::html`] holds them).
    Html,
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceKind::Feed => f.write_str("feed"),
            SourceKind::Html => f.write_str("html"),
        }
    }
}

/// A party and its sources.
#[derive(Debug, Clone)]
pub struct Party {
    pub id: PartyId,
    pub name: String,
    pub abbreviation: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
    /// BCP 47 tags; the first is the party's main language.
    pub languages: Vec<String>,
    pub homepage: Url,
    pub sources: Vec<Source>,
}

impl Party {
    /// "Portuguese Communist Party (PCP)".
    pub fn display_name(&self) -> String {
        if self.abbreviation.is_empty() || self.abbreviation == self.name {
            self.name.clone()
        } else {
            format!("{} ({})", self.name, self.abbreviation)
        }
    }
}

/// One place Plenum polls.
#[derive(Debug, Clone)]
pub struct Source {
    pub id: SourceId,
    pub party: PartyId,
    pub kind: SourceKind,
    pub url: Url,
    /// This source's own schedule; `None` uses the daemon's.
    pub schedule: Option<String>,
    pub enabled: bool,
    /// Ignore ETag/Last-Modified (for servers that answer 304 forever).
    pub ignore_validators: bool,
    /// The language of the source's text and dates, when the config says.
    pub language: Option<String>,
    /// How to read the page; `Some` exactly when `kind` is `Html`.
    pub html: Option<std::sync::Arc<crate::extract::html::HtmlRules>>,
}

impl Source {
    /// The language dates are read in: the source's, else the party's first.
    pub fn date_language<'a>(&'a self, party: &'a Party) -> Option<&'a str> {
        self.language.as_deref().or(party.languages.first().map(String::as_str))
    }
}
