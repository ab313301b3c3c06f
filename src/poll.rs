//! One poll of one source, through the pipeline: fetch → extract →
//! normalize → store. Publishing is left to the caller, which batches the
//! polls that finished, flushes the store, and then publishes.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use chrono::Utc;
use tracing::{info, warn, Instrument};

use crate::config::{Party, Source};
use crate::extract::{self, RawFeed};
use crate::fetch::{FetchOutcome, Fetched, Fetcher};
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
        if let Some(error) = &self.error {
            let _ = write!(line, " error=\"{}\"", error.replace('\\', "\\\\").replace('"', "\\\""));
        }
        line
    }
}

/// Polls `source` of `party` once and records the outcome in the store.
pub async fn poll_source(fetcher: &Fetcher, store: &Store, party: &Party, source: &Source) -> PollReport {
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
        let mut report = PollReport {
            party: party.id.to_string(),
            source: source.id.to_string(),
            url: source.url.to_string(),
            status: PollStatus::Failed,
            http: None,
            seen: 0,
            new: 0,
            updated: 0,
            dates_guessed: 0,
            dates_unreadable: 0,
            error: None,
            elapsed: Duration::ZERO,
        };
        let mut state = store.source_state(&source.id).unwrap_or_else(|e| {
            warn!(error = %e, "source state unreadable; starting it afresh");
            SourceState::default()
        });
        let now = Utc::now();
        match run(fetcher, store, party, source, &mut state, &mut report).await {
            Ok(()) => {
                state.last_success = Some(now);
                state.last_error = None;
                state.consecutive_failures = 0;
            }
            Err(error) => {
                report.status = PollStatus::Failed;
                state.consecutive_failures += 1;
                state.last_error = Some(error.clone());
                report.error = Some(error);
            }
        }
        state.last_poll = Some(now);
        state.last_status = Some(report.status);
        state.last_http_status = report.http;
        state.entries_added += report.new as u64;
        if let Err(e) = store.put_source_state(&source.id, &state) {
            warn!(error = %e, "cannot record the source's state");
        }
        report.elapsed = started.elapsed();

        let span = tracing::Span::current();
        span.record("status", report.status.as_str());
        span.record("items", report.seen);
        span.record("new", report.new);
        span.record("elapsed_ms", report.elapsed.as_millis() as u64);
        match &report.error {
            Some(error) => warn!(http = ?report.http, %error, consecutive_failures = state.consecutive_failures, "poll failed"),
            None => info!(http = ?report.http, updated = report.updated, dates_guessed = report.dates_guessed, "poll done"),
        }
        report
    }
    .instrument(span)
    .await
}

async fn run(
    fetcher: &Fetcher,
    store: &Store,
    party: &Party,
    source: &Source,
    state: &mut SourceState,
    report: &mut PollReport,
) -> Result<(), String> {
    let fetched = match fetcher.get(&source.url, &state.validators).await {
        Ok(FetchOutcome::NotModified { validators }) => {
            report.status = PollStatus::NotModified;
            report.http = Some(304);
            state.validators = validators;
            return Ok(());
        }
        Ok(FetchOutcome::Fetched(fetched)) => fetched,
        Err(e) => {
            report.http = e.status();
            return Err(e.to_string());
        }
    };
    report.http = Some(fetched.status);
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
    let reading = read(fetcher, party, source, fetched, first_poll, &known).await?;
    for warning in &reading.warnings {
        warn!("{warning}");
    }

    // Normalizing and storing are CPU and disk work: keep them off the reactor.
    let (store, party, source) = (store.clone(), party.clone(), source.clone());
    let feed = reading.feed;
    let outcome = tokio::task::spawn_blocking(move || -> Result<(usize, usize, usize, usize, usize, &'static str), String> {
        let now = crate::normalize::now();
        let entries: Vec<_> = feed
            .items
            .iter()
            .filter_map(|item| match normalize::normalize(&party, &source, &feed, item, &source.url, now) {
                Ok(entry) => Some(entry),
                Err(skip) => {
                    warn!(source = %source.id, title = ?item.title, link = ?item.link, "item skipped: {skip}");
                    None
                }
            })
            .collect();
        let specific: std::collections::HashSet<String> = specific_links(&party, &feed, &entries).into_iter().map(str::to_string).collect();
        let (mut new, mut updated, mut guessed, mut rotated) = (0, 0, 0, 0);
        for entry in entries {
            guessed += usize::from(entry.date_guessed);
            let by_link = entry.canonical_link.as_ref().is_some_and(|l| specific.contains(l.as_str()));
            let (outcome, matched) = store.upsert(entry, now, by_link).map_err(|e| format!("cannot store entries: {e}"))?;
            rotated += usize::from(matched == Matched::LinkSameSource);
            match outcome {
                Upsert::New => new += 1,
                Upsert::Updated => updated += 1,
                Upsert::Unchanged => {}
            }
        }
        Ok((feed.items.len(), new, updated, guessed, rotated, feed.format))
    })
    .await
    .map_err(|e| format!("reading the document failed: {e}"))?;
    let (seen, new, updated, guessed, rotated, format) = outcome?;
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
    state.validators = validators;
    state.body_hash = Some(body_hash);
    state.items_last_seen = seen as u64;
    state.dates_guessed = guessed as u64;
    state.dates_unreadable = reading.dates_unreadable as u64;
    state.format = Some(format.to_string());
    Ok(())
}

/// The canonical links of `entries` that name one article: links that appear
/// once in the document and are not the party's homepage or the feed's site
/// (feeds that give every item the homepage as its link exist).
fn specific_links<'a>(party: &Party, feed: &RawFeed, entries: &'a [normalize::Entry]) -> std::collections::HashSet<&'a str> {
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for link in entries.iter().filter_map(|e| e.canonical_link.as_deref()) {
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
        let body = fetched.body;
        let feed = tokio::task::spawn_blocking(move || extract::feed::extract(&body))
            .await
            .map_err(|e| format!("reading the document failed: {e}"))?
            .map_err(|e| e.to_string())?;
        return Ok(Reading { feed, pages: 1, ..Reading::default() });
    };
    let lang = source.date_language(party).map(str::to_string);
    let mut reading = Reading::default();
    let mut next = Some(fetched);
    let max_pages = if first_poll { rules.pages as usize } else { 1 };
    while let Some(page) = next.take() {
        let (rules_c, lang_c) = (rules.clone(), lang.clone());
        let url = page.final_url.clone();
        let parsed = tokio::task::spawn_blocking(move || {
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
            match fetcher.get(&next_url, &Default::default()).await {
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
        match fetcher.get(&url, &Default::default()).await {
            Ok(FetchOutcome::Fetched(page)) => {
                reading.details += 1;
                let body = String::from_utf8_lossy(&page.body).into_owned();
                let detail = tokio::task::spawn_blocking(move || extract::html::detail(&body)).await.unwrap_or_default();
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
