//! One poll of one source, through the pipeline: fetch → extract →
//! normalize → store. Publishing is left to the caller, which batches the
//! polls that finished, flushes the store, and then publishes.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use chrono::Utc;
use tracing::{info, warn, Instrument};

use crate::config::{Party, Source};
use crate::extract::{self, RawFeed};
use crate::fetch::{FetchOutcome, Fetched, Fetcher, Redirects, Validators};
use crate::normalize::{self, EntryKey};
use crate::store::{Matched, PollStatus, SourceState, Store, Upsert};

/// What one poll did; printed by `poll-once`, logged by the daemon.
#[derive(Debug, Clone)]
pub struct PollReport {
    pub party: String,
    pub source: String,
    pub url: String,
    pub status: PollStatus,
    pub http: Option<u16>,
    /// Items in the document.
    pub seen: usize,
    pub new: usize,
    pub updated: usize,
    /// Items dated by first-seen time because they had no usable date.
    pub dates_guessed: usize,
    /// Items of a web page whose printed date could not be read.
    pub dates_unreadable: usize,
    pub error: Option<String>,
    /// Bytes of the document read (after decompression).
    pub bytes: usize,
    /// Why a skipped poll did not run.
    pub reason: Option<String>,
    pub elapsed: Duration,
}

impl PollReport {
    /// True when the store changed and feeds need publishing.
    pub fn changed(&self) -> bool {
        self.new + self.updated > 0
    }

    /// The `poll-once` line: logfmt, one per source.
    pub fn line(&self) -> String {
        let http = self.http.map_or("-".to_string(), |c| c.to_string());
        let mut line = format!(
            "party={} source={} status={} http={} seen={} new={} updated={} url={}",
            self.party,
            self.source,
            self.status.as_str(),
            http,
            self.seen,
            self.new,
            self.updated,
            self.url
        );
        if self.dates_unreadable > 0 {
            let _ = write!(line, " dates_unreadable={}", self.dates_unreadable);
        }
        for (key, value) in [("error", &self.error), ("reason", &self.reason)] {
            if let Some(value) = value {
                let _ = write!(line, " {key}=\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""));
            }
        }
        line
    }
}

/// When a poll may run and how often a source is polled.
#[derive(Debug, Clone)]
pub struct PollPolicy {
    /// Never sooner than this after the last poll (scheduled polls).
    pub min_interval: Duration,
    /// A feed's own ttl or `max-age` is honoured up to this.
    pub max_interval: Duration,
    /// Backoff after failures grows up to this.
    pub backoff_cap: Duration,
    /// Poll sources that rarely post less often.
    pub adaptive: bool,
    /// Failing this long makes a source "failing".
    pub failing_after: Duration,
}

impl PollPolicy {
    pub fn from_config(daemon: &crate::config::DaemonConfig) -> Self {
        PollPolicy {
            min_interval: daemon.min_interval,
            max_interval: daemon.max_interval,
            backoff_cap: daemon.backoff_cap,
            adaptive: daemon.adaptive,
            failing_after: daemon.failing_after,
        }
    }

    /// The wait before the next scheduled poll after a success.
    pub fn interval(&self, fresh_for: Option<Duration>, ttl: Option<Duration>, since_new: Option<Duration>) -> Duration {
        let mut wait = self.min_interval;
        for hint in [fresh_for, ttl].into_iter().flatten() {
            wait = wait.max(hint);
        }
        if self.adaptive {
            // A source silent for four days is polled daily; one that posted an hour ago, at the floor.
            if let Some(quiet) = since_new {
                wait = wait.max(quiet / 4);
            }
        }
        wait.min(self.max_interval)
    }

    /// The wait after `failures` failures in a row: 1 min doubling to the cap,
    /// with ±25 % jitter (from `seed`) so failed sources do not retry together.
    pub fn backoff(&self, failures: u32, seed: &str) -> Duration {
        let base = Duration::from_secs(60).saturating_mul(1u32 << failures.saturating_sub(1).min(20));
        let capped = base.min(self.backoff_cap);
        let hash = blake3::hash(format!("{seed}/{failures}").as_bytes());
        let spread = f64::from(u16::from_le_bytes([hash.as_bytes()[0], hash.as_bytes()[1]])) / f64::from(u16::MAX); // 0..=1
        capped.mul_f64(0.75 + spread / 2.0).min(self.backoff_cap)
    }
}

/// Who asked for the poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The schedule: waits for Retry-After, backoff and the next due time.
    Scheduled,
    /// `poll-once`: waits for Retry-After and backoff, unless forced.
    Manual { force: bool },
}

/// Polls `source` of `party` once and records the outcome in the store.
pub async fn poll_source(
    fetcher: &Fetcher,
    store: &Store,
    party: &Party,
    source: &Source,
    policy: &PollPolicy,
    trigger: Trigger,
) -> PollReport {
    let span = tracing::info_span!(
        "poll",
        party = %party.id,
        source = %source.id,
        url = %source.url,
        status = tracing::field::Empty,
        items = tracing::field::Empty,
        new = tracing::field::Empty,
        elapsed_ms = tracing::field::Empty,
    );
    async move {
        let started = Instant::now();
        let mut state = store.source_state(&source.id).unwrap_or_else(|e| {
            warn!(error = %e, "source state unreadable; starting it afresh");
            SourceState::default()
        });
        let url = state.url.as_deref().and_then(|u| url::Url::parse(u).ok()).unwrap_or_else(|| source.url.clone());
        let mut report = PollReport {
            party: party.id.to_string(),
            source: source.id.to_string(),
            url: url.to_string(),
            status: PollStatus::Failed,
            http: None,
            seen: 0,
            new: 0,
            updated: 0,
            dates_guessed: 0,
            dates_unreadable: 0,
            error: None,
            bytes: 0,
            reason: None,
            elapsed: Duration::ZERO,
        };
        let now = Utc::now();
        let (scheduled, force) = match trigger {
            Trigger::Scheduled => (true, false),
            Trigger::Manual { force } => (false, force),
        };
        if let Some(reason) = state.wait_reason(now, scheduled, force) {
            report.status = PollStatus::Skipped;
            tracing::debug!(%reason, "poll skipped");
            report.reason = Some(reason);
            return report;
        }
        let mut hints = Hints::default();
        match run(fetcher, store, party, source, &url, &mut state, &mut report, &mut hints).await {
            Ok(()) => {
                state.last_success = Some(now);
                state.last_error = None;
                state.consecutive_failures = 0;
                state.failing_since = None;
                state.not_before = None;
                state.retry_after_asked = false;
                if report.new > 0 {
                    state.last_new_at = Some(now);
                }
                let since_new = state.last_new_at.and_then(|t| (now - t).to_std().ok());
                state.next_poll_at =
                    chrono::Duration::from_std(policy.interval(hints.fresh_for, hints.ttl, since_new)).ok().map(|d| now + d);
            }
            Err(error) => {
                report.status = PollStatus::Failed;
                state.consecutive_failures += 1;
                state.failing_since.get_or_insert(now);
                let wait = hints
                    .retry_after
                    .map(|d| d.min(Duration::from_secs(7 * 86400)))
                    .unwrap_or_else(|| policy.backoff(state.consecutive_failures, source.id.as_str()));
                state.not_before = chrono::Duration::from_std(wait).ok().map(|d| now + d);
                state.retry_after_asked = hints.retry_after.is_some();
                if report.http == Some(410) {
                    state.gone = true;
                    warn!("the source answered 410 Gone: it is not polled again until `plenum reset {}`", source.id);
                }
                state.last_error = Some(error.clone());
                report.error = Some(error);
            }
        }
        if force {
            state.gone = state.gone && report.http == Some(410);
        }
        state.last_poll = Some(now);
        state.last_status = Some(report.status);
        state.last_http_status = report.http;
        state.entries_added += report.new as u64;
        if let Err(e) = store.put_source_state(&source.id, &state) {
            warn!(error = %e, "cannot record the source's state");
        }
        report.elapsed = started.elapsed();
        crate::ops::metrics::poll(&crate::ops::metrics::PollMetrics {
            party: party.id.as_str(),
            source: source.id.as_str(),
            status: report.status.as_str(),
            http: report.http,
            bytes: report.bytes,
            new: report.new,
            updated: report.updated,
            elapsed: report.elapsed,
            consecutive_failures: state.consecutive_failures,
            failing: state.failing(now, policy.failing_after),
            last_success: state.last_success.map(|t| t.timestamp()),
        });

        let span = tracing::Span::current();
        span.record("status", report.status.as_str());
        span.record("items", report.seen);
        span.record("new", report.new);
        span.record("elapsed_ms", report.elapsed.as_millis() as u64);
        match &report.error {
            Some(error) => warn!(
                http = ?report.http,
                %error,
                consecutive_failures = state.consecutive_failures,
                next_try = ?state.not_before.map(|t| t.to_rfc3339()),
                "poll failed"
            ),
            None => info!(
                http = ?report.http,
                updated = report.updated,
                dates_guessed = report.dates_guessed,
                dates_unreadable = report.dates_unreadable,
                "poll done"
            ),
        }
        report
    }
    .instrument(span)
    .await
}

/// What a poll learnt about when to come back.
#[derive(Debug, Default)]
struct Hints {
    fresh_for: Option<Duration>,
    ttl: Option<Duration>,
    retry_after: Option<Duration>,
}

#[allow(clippy::too_many_arguments)]
async fn run(
    fetcher: &Fetcher,
    store: &Store,
    party: &Party,
    source: &Source,
    url: &url::Url,
    state: &mut SourceState,
    report: &mut PollReport,
    hints: &mut Hints,
) -> Result<(), String> {
    let sent = if source.ignore_validators { Validators::default() } else { state.validators.clone() };
    let outcome = match fetcher.get(url, &sent).await {
        Ok(outcome) => outcome,
        Err(e) => {
            report.http = e.status();
            hints.retry_after = e.retry_after();
            return Err(e.to_string());
        }
    };
    let redirects = match &outcome {
        FetchOutcome::NotModified { redirects, .. } => redirects.clone(),
        FetchOutcome::Fetched(f) => f.redirects.clone(),
    };
    follow_permanent_moves(source, state, &redirects);
    let fetched = match outcome {
        FetchOutcome::NotModified { validators, fresh_for, .. } => {
            report.status = PollStatus::NotModified;
            report.http = Some(304);
            hints.fresh_for = fresh_for;
            state.validators = validators;
            return Ok(());
        }
        FetchOutcome::Fetched(fetched) => fetched,
    };
    report.http = Some(fetched.status);
    report.bytes = fetched.body.len();
    hints.fresh_for = fetched.fresh_for;
    let body_hash = blake3::hash(&fetched.body).to_hex()[..32].to_string();
    if state.body_hash.as_deref() == Some(body_hash.as_str()) {
        // A server without validators sent the same bytes again: no work.
        report.status = PollStatus::NotModified;
        report.seen = state.items_last_seen as usize;
        state.validators = fetched.validators;
        return Ok(());
    }
    let validators = fetched.validators.clone();
    let first_poll = state.last_success.is_none();
    let known = |key: &EntryKey| store.get(key).ok().flatten().is_some();
    let mut reading = read(fetcher, party, source, fetched, first_poll, &known).await?;
    if reading.feed.items.len() > MAX_ITEMS {
        // A feed is a window on recent news; a document with more items is
        // broken or hostile. Keep the newest (undated items keep their order, after dated ones).
        let total = reading.feed.items.len();
        reading.feed.items.sort_by_key(|i| std::cmp::Reverse(i.published.or(i.updated)));
        reading.feed.items.truncate(MAX_ITEMS);
        reading.warnings.push(format!("the document has {total} items; only the newest {MAX_ITEMS} are read"));
    }
    // A hostile page can have a million title-less items: the log gets the first few.
    for warning in reading.warnings.iter().take(MAX_WARNINGS_LOGGED) {
        warn!("{warning}");
    }
    if reading.warnings.len() > MAX_WARNINGS_LOGGED {
        warn!("and {} more warnings like these", reading.warnings.len() - MAX_WARNINGS_LOGGED);
    }
    if let Some(found) = &reading.discovered {
        info!(feed = %found, "the address serves a web page that names its feed; polling the feed from now on");
        state.url = Some(found.to_string());
        state.url_reason = Some("discovered".into());
        report.url = found.to_string();
    }
    hints.ttl = reading.feed.ttl;
    // Normalizing and storing are CPU and disk work: keep them off the reactor.
    let (store, party, source) = (store.clone(), party.clone(), source.clone());
    let feed = reading.feed;
    let last_read: std::collections::HashSet<u64> = state.item_fingerprints.iter().copied().collect();
    let outcome = cpu_work(move || -> Result<Stored, String> {
        let now = crate::normalize::now();
        let mut fingerprints = item_fingerprints(normalize::fingerprint_seed(&party, &source, &feed), &feed.items, &source.url, now);
        // Items read unchanged at the last read are stored as they are.
        let mut normalized = Vec::new();
        let mut entries = Vec::new();
        for (index, item) in feed.items.iter().enumerate() {
            if fingerprints[index].is_some_and(|f| last_read.contains(&f)) {
                continue;
            }
            match normalize::normalize(&party, &source, &feed, item, &source.url, now) {
                Ok(entry) => {
                    normalized.push((index, entry.key.clone()));
                    entries.push(entry);
                }
                Err(skip) => warn!(source = %source.id, title = ?item.title, link = ?item.link, "item skipped: {skip}"),
            }
        }
        let links = feed.items.iter().map(|item| normalize::item_canonical_link(item, &source.url));
        let specific = specific_links(&party, &feed, links);
        let guessed = feed.items.iter().filter(|item| normalize::publication(item, now).1).count();
        let batch: Vec<_> = entries
            .into_iter()
            .map(|entry| {
                let by_link = entry.canonical_link.as_ref().is_some_and(|l| specific.contains(l.as_str()));
                (entry, by_link)
            })
            .collect();
        // The language is decided here, once per stored version, and filed in the same transaction.
        // The owning source's configured language counts (another source may only fill gaps).
        let language = |entry: &normalize::Entry| {
            let owner = party.sources.iter().find(|s| s.id == entry.source).unwrap_or(&source);
            crate::publish::language::decide(entry, owner.language.as_deref(), Some(&party)).unwrap_or_else(|| "und".to_string())
        };
        let outcomes = store.upsert_batch(batch, now, Some(&language)).map_err(|e| format!("cannot store entries: {e}"))?;
        let (mut new, mut updated, mut rotated) = (0, 0, 0);
        for ((index, key), (outcome, matched)) in normalized.into_iter().zip(outcomes) {
            rotated += usize::from(matched == Matched::LinkSameSource);
            match outcome {
                Upsert::New => new += 1,
                Upsert::Updated => updated += 1,
                // Kept out by retention: looked at again next time, as
                // retention may have been relaxed or its marks expired.
                Upsert::Unchanged if matched == Matched::Identity && store.get(&key).ok().flatten().is_none() => fingerprints[index] = None,
                Upsert::Unchanged => {}
            }
        }
        let fingerprints = fingerprints.into_iter().flatten().collect();
        Ok(Stored { seen: feed.items.len(), new, updated, guessed, rotated, format: feed.format, fingerprints })
    })
    .await
    .map_err(|e| format!("reading the document failed: {e}"))?;
    let Stored { seen, new, updated, guessed, rotated, format, fingerprints } = outcome?;
    if rotated > 0 && !state.id_rotation_seen {
        // Said once per source: it will keep happening on every poll.
        warn!(
            items = rotated,
            "this source changed the ids of items whose link stayed the same; they are matched by link, not stored twice"
        );
        state.id_rotation_seen = true;
    }
    report.status = PollStatus::Ok;
    report.seen = seen;
    report.new = new;
    report.updated = updated;
    report.dates_guessed = guessed;
    report.dates_unreadable = reading.dates_unreadable;
    state.validators = if reading.discovered.is_some() { reading.validators.clone() } else { validators };
    state.body_hash = if reading.discovered.is_some() { None } else { Some(body_hash) };
    state.items_last_seen = seen as u64;
    state.dates_guessed = guessed as u64;
    state.dates_unreadable = reading.dates_unreadable as u64;
    state.format = Some(format.to_string());
    state.item_fingerprints = fingerprints;
    Ok(())
}

/// What storing a document's items did.
struct Stored {
    /// Items in the document.
    seen: usize,
    new: usize,
    updated: usize,
    /// Items dated by first-seen time.
    guessed: usize,
    /// Items matched by link after their id changed.
    rotated: usize,
    format: &'static str,
    /// The items' fingerprints, for the next read.
    fingerprints: Vec<u64>,
}

/// Runs parsing, normalizing or storing on the blocking pool, at most one
/// job per core at a time: more would not finish sooner, and every job in
/// flight holds a document, its parse tree and its entries in memory.
async fn cpu_work<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, tokio::task::JoinError> {
    static GATE: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    let gate = GATE.get_or_init(|| tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, usize::from)));
    // The semaphore is never closed, so acquiring fails only if it were; then run ungated.
    let _permit = gate.acquire().await.ok();
    tokio::task::spawn_blocking(work).await
}

/// Items read from one document at most.
pub const MAX_ITEMS: usize = 2000;

/// Warnings of one poll written to the log; the rest are counted.
const MAX_WARNINGS_LOGGED: usize = 20;

/// Permanent redirects seen on this many polls in a row move the source.
const MOVE_AFTER: u32 = 3;

/// Counts polls ending in the same permanent redirect chain (301/308 only);
/// after [`MOVE_AFTER`] in a row the source is polled at the new address
/// (the config file is not rewritten: the log and `list` say so).
/// Temporary redirects (302/307) never move a source.
fn follow_permanent_moves(source: &Source, state: &mut SourceState, redirects: &Redirects) {
    match redirects.permanent_target() {
        Some(target) if state.moving_to.as_deref() == Some(target.as_str()) => state.moving_seen += 1,
        Some(target) => {
            state.moving_to = Some(target.to_string());
            state.moving_seen = 1;
        }
        None => {
            state.moving_to = None;
            state.moving_seen = 0;
        }
    }
    if state.moving_seen >= MOVE_AFTER {
        if let Some(target) = state.moving_to.take() {
            warn!(from = %source.url, to = %target, "the source moved permanently (301/308 on {MOVE_AFTER} polls in a row); polling the new address from now on: update the config");
            state.url = Some(target);
            state.url_reason = Some("moved".into());
            state.moving_seen = 0;
        }
    }
}

/// The canonical links of a document's items (`links`) that name one
/// article: links that appear once in the document and are not the party's
/// homepage or the feed's site (feeds that give every item the homepage as
/// its link exist).
fn specific_links(party: &Party, feed: &RawFeed, links: impl Iterator<Item = Option<String>>) -> std::collections::HashSet<String> {
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for link in links.flatten() {
        *counts.entry(link).or_default() += 1;
    }
    let general: Vec<String> = [Some(party.homepage.as_str()), feed.link.as_deref()]
        .into_iter()
        .flatten()
        .filter_map(normalize::canonical::canonical_url)
        .map(|c| c.to_string())
        .collect();
    counts.into_iter().filter(|(link, n)| *n == 1 && !general.iter().any(|g| g == link)).map(|(link, _)| link).collect()
}

/// Detail pages fetched per poll at most, so a first poll stays polite.
const DETAIL_LIMIT: usize = 20;
/// Gap between two detail-page requests of one source.
const DETAIL_GAP: Duration = Duration::from_secs(1);

/// A source's document read into raw items.
#[derive(Debug, Default)]
pub struct Reading {
    pub feed: RawFeed,
    /// What was skipped or could not be read, in words.
    pub warnings: Vec<String>,
    /// Items whose date was expected (a `date` selector) or printed but not read.
    pub dates_unreadable: usize,
    /// Listing pages read (html sources follow `next_page` on their first poll).
    pub pages: usize,
    /// Article pages fetched for dates and summaries.
    pub details: usize,
    /// The feed a web page named, when a feed source's address served HTML.
    pub discovered: Option<url::Url>,
    /// The validators of the discovered feed's response.
    pub validators: Validators,
}

/// Reads a fetched document of `source`: a feed, or an html listing (with
/// its next pages on the first poll, and the pages of new items that lack
/// a date or summary when `detail` is on). `known` says whether an entry is
/// already stored, so only new items cost a detail fetch.
pub async fn read(
    fetcher: &Fetcher,
    party: &Party,
    source: &Source,
    fetched: Fetched,
    first_poll: bool,
    known: &(dyn Fn(&EntryKey) -> bool + Sync),
) -> Result<Reading, String> {
    let Some(rules) = source.html.clone() else {
        return read_feed(fetcher, &source.url, fetched).await;
    };
    let lang = source.date_language(party).map(str::to_string);
    let mut reading = Reading::default();
    let mut next = Some(fetched);
    let max_pages = if first_poll { rules.pages as usize } else { 1 };
    while let Some(page) = next.take() {
        let (rules_c, lang_c) = (rules.clone(), lang.clone());
        let url = page.final_url.clone();
        let parsed = cpu_work(move || {
            let body = String::from_utf8_lossy(&page.body).into_owned();
            extract::html::extract(&body, &page.final_url, &rules_c, lang_c.as_deref(), Utc::now())
        })
        .await
        .map_err(|e| format!("reading the page failed: {e}"))?;
        reading.pages += 1;
        let page_no = reading.pages;
        reading.warnings.extend(parsed.warnings.into_iter().map(|w| if page_no > 1 { format!("page {page_no}: {w}") } else { w }));
        if page_no == 1 {
            reading.feed = RawFeed { items: Vec::new(), ..parsed.feed.clone() };
        }
        reading.feed.items.extend(parsed.feed.items);
        if page_no >= max_pages {
            break;
        }
        if let Some(next_url) = parsed.next_page.filter(|n| *n != url) {
            match fetcher.get_derived(&next_url, &Default::default(), &source.url).await {
                Ok(FetchOutcome::Fetched(f)) => next = Some(f),
                Ok(FetchOutcome::NotModified { .. }) => {}
                Err(e) => reading.warnings.push(format!("next page {next_url}: {e}")),
            }
        }
    }
    if rules.detail {
        fetch_details(fetcher, party, source, &mut reading, known).await;
    }
    reading.dates_unreadable = reading.feed.items.iter().filter(|i| i.published.is_none() && i.date_note.is_some()).count();
    Ok(reading)
}

/// A feed document; when it is a web page instead, the feed the page names
/// (autodiscovery: `<link rel="alternate" type="application/rss+xml">`).
async fn read_feed(fetcher: &Fetcher, origin: &url::Url, fetched: Fetched) -> Result<Reading, String> {
    let parse = |body: Vec<u8>| async move {
        cpu_work(move || extract::feed::extract(&body)).await.map_err(|e| format!("reading the document failed: {e}"))
    };
    let looks_like_html = fetched.content_type.as_deref().is_some_and(|t| t.contains("html")) || {
        let head = String::from_utf8_lossy(&fetched.body[..fetched.body.len().min(512)]).to_ascii_lowercase();
        head.contains("<!doctype html") || head.contains("<html")
    };
    let page_url = fetched.final_url.clone();
    let page = if looks_like_html { Some(String::from_utf8_lossy(&fetched.body).into_owned()) } else { None };
    match parse(fetched.body).await? {
        Ok(feed) => Ok(Reading { feed, pages: 1, ..Reading::default() }),
        Err(error) => {
            let Some(page) = page else { return Err(error.to_string()) };
            let Some(found) = extract::html::discover_feeds(&page, &page_url).into_iter().next() else {
                return Err(format!("{error}; the page is HTML and names no feed (no <link rel=\"alternate\"> of a feed type)"));
            };
            let feed_doc = match fetcher.get_derived(&found, &Validators::default(), origin).await {
                Ok(FetchOutcome::Fetched(f)) => f,
                Ok(FetchOutcome::NotModified { .. }) => return Err(format!("the discovered feed {found} answered 304 to a plain GET")),
                Err(e) => return Err(format!("the page names the feed {found}, which failed: {e}")),
            };
            let validators = feed_doc.validators.clone();
            let feed = parse(feed_doc.body).await?.map_err(|e| format!("the page names the feed {found}, which is {e}"))?;
            Ok(Reading { feed, pages: 1, discovered: Some(found), validators, ..Reading::default() })
        }
    }
}

/// Fills in dates and summaries of new items from their own pages.
async fn fetch_details(
    fetcher: &Fetcher,
    party: &Party,
    source: &Source,
    reading: &mut Reading,
    known: &(dyn Fn(&EntryKey) -> bool + Sync),
) {
    let mut budget = DETAIL_LIMIT;
    for item in reading.feed.items.iter_mut() {
        if item.published.is_some() && item.summary_html.is_some() {
            continue;
        }
        let Some(link) = item.link.clone() else { continue };
        let key = normalize::identity::identify(&party.id, &source.id, None, Some(&link), "", None, None).key;
        if known(&key) {
            continue;
        }
        if budget == 0 {
            reading.warnings.push(format!("more than {DETAIL_LIMIT} new items lack a date or summary; the rest are read on later polls"));
            break;
        }
        if budget < DETAIL_LIMIT {
            tokio::time::sleep(DETAIL_GAP).await;
        }
        budget -= 1;
        let Ok(url) = url::Url::parse(&link) else { continue };
        match fetcher.get_derived(&url, &Default::default(), &source.url).await {
            Ok(FetchOutcome::Fetched(page)) => {
                reading.details += 1;
                let body = String::from_utf8_lossy(&page.body).into_owned();
                let detail = cpu_work(move || extract::html::detail(&body)).await.unwrap_or_default();
                if item.published.is_none() {
                    if let Some(at) = detail.published {
                        item.published = Some(at);
                        item.date_note = Some("from the article page's metadata".into());
                    }
                }
                if item.summary_html.is_none() {
                    item.summary_html = detail.summary;
                }
            }
            Ok(FetchOutcome::NotModified { .. }) => {}
            Err(e) => reading.warnings.push(format!("detail page {link}: {e}")),
        }
    }
}

/// The fingerprint of each item (see [`normalize::fingerprint`]), `None`
/// for an item that must be normalized whatever was read before: one that
/// shares its id or link with another item of the document may be stored
/// as one entry with it, and which of them wins must not depend on which
/// changed last. An item without an id is identified by its canonical link
/// (see [`crate::normalize::identity`]), so that counts too. An item whose
/// id is its own link (an RSS `guid` that is the permalink, the common
/// case) shares nothing.
fn item_fingerprints(seed: u64, items: &[extract::RawItem], base: &url::Url, now: chrono::DateTime<Utc>) -> Vec<Option<u64>> {
    let canonical: Vec<Option<String>> =
        items.iter().map(|item| item.id.is_none().then(|| normalize::item_canonical_link(item, base)).flatten()).collect();
    // Each item's keys, an id equal to the link counted once.
    let keys: Vec<Vec<(&str, &str)>> = items
        .iter()
        .zip(&canonical)
        .map(|(item, canonical)| {
            let raw = [item.id.as_deref(), item.link.as_deref()].into_iter().flatten().map(|k| ("", k));
            let mut keys: Vec<(&str, &str)> = raw.chain(canonical.as_deref().map(|c| ("canonical", c))).collect();
            keys.dedup();
            keys
        })
        .collect();
    let mut shared: std::collections::HashMap<(&str, &str), usize> = std::collections::HashMap::new();
    for key in keys.iter().flatten() {
        *shared.entry(*key).or_default() += 1;
    }
    items
        .iter()
        .zip(&keys)
        .map(|(item, keys)| normalize::fingerprint(seed, item, now).filter(|_| keys.iter().all(|k| shared.get(k) == Some(&1))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_read_again_are_recognized_unless_they_share_an_id_or_link() {
        let item = |id: &str, link: &str, title: &str| extract::RawItem {
            id: Some(id.to_string()),
            link: Some(link.to_string()),
            title: Some(title.to_string()),
            ..Default::default()
        };
        let items = [
            // A permalink guid: its id is its link.
            item("https://www.pcp.pt/a", "https://www.pcp.pt/a", "A"),
            item("tag:pcp.pt,2026:b", "https://www.pcp.pt/b", "B"),
            // Two items of one story (the same guid).
            item("https://www.pcp.pt/?p=3", "https://www.pcp.pt/c", "C"),
            item("https://www.pcp.pt/?p=3", "https://www.pcp.pt/c2", "C again"),
            // An item whose id is another's link.
            item("https://www.pcp.pt/b", "https://www.pcp.pt/d", "D"),
        ];
        let base = url::Url::parse("https://www.pcp.pt/feed").unwrap();
        let found = item_fingerprints(7, &items, &base, Utc::now());
        let recognized: Vec<bool> = found.iter().map(Option::is_some).collect();
        assert_eq!(recognized, [true, false, false, false, false]);
        assert_eq!(found[0], normalize::fingerprint(7, &items[0], Utc::now()));
        let alone = item_fingerprints(7, &items[..2], &base, Utc::now());
        assert!(alone.iter().all(Option::is_some), "{alone:?}");
        // Without ids, items are one entry when their canonical links are the
        // same: a tracking parameter or a relative link does not make another.
        let no_id = |link: &str, title: &str| extract::RawItem { id: None, ..item("", link, title) };
        let links = [no_id("https://www.pcp.pt/e?utm_source=rss", "E"), no_id("/e", "E again"), no_id("https://www.pcp.pt/f", "F")];
        let found = item_fingerprints(7, &links, &base, Utc::now());
        assert_eq!(found.iter().map(Option::is_some).collect::<Vec<_>>(), [false, false, true]);
    }

    fn policy(adaptive: bool) -> PollPolicy {
        PollPolicy {
            min_interval: Duration::from_secs(900),
            max_interval: Duration::from_secs(86400),
            backoff_cap: Duration::from_secs(6 * 3600),
            adaptive,
            failing_after: Duration::from_secs(7 * 86400),
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let p = policy(false);
        let mut last = Duration::ZERO;
        for failures in 1..=12 {
            let wait = p.backoff(failures, "pcp/rss");
            let nominal = Duration::from_secs(60 * (1 << (failures - 1))).min(p.backoff_cap);
            assert!(wait >= nominal.mul_f64(0.75) && wait <= nominal.mul_f64(1.25).min(p.backoff_cap), "{failures}: {wait:?}");
            assert!(failures < 3 || wait >= last.mul_f64(0.5), "backoff must grow: {failures}: {wait:?} after {last:?}");
            last = wait;
        }
        assert!(p.backoff(1000, "pcp/rss") <= p.backoff_cap);
        // Two sources that failed together do not retry together.
        assert_ne!(p.backoff(3, "pcp/rss"), p.backoff(3, "kke/rss"));
    }

    #[test]
    fn interval_takes_the_longest_hint_within_floor_and_ceiling() {
        let p = policy(false);
        let h = |s| Some(Duration::from_secs(s));
        assert_eq!(p.interval(None, None, None), Duration::from_secs(900));
        assert_eq!(p.interval(h(60), h(120), None), Duration::from_secs(900), "never sooner than the floor");
        assert_eq!(p.interval(h(7200), h(3600), None), Duration::from_secs(7200));
        assert_eq!(p.interval(h(10 * 86400), None, None), Duration::from_secs(86400), "never later than the ceiling");
        assert_eq!(p.interval(None, None, h(4 * 86400)), Duration::from_secs(900), "quiet sources count only when adaptive");
        let a = policy(true);
        assert_eq!(a.interval(None, None, h(4 * 86400)), Duration::from_secs(86400));
        assert_eq!(a.interval(None, None, h(3600)), Duration::from_secs(900));
    }
}
