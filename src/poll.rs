//! One poll of one source, through the pipeline: fetch → extract →
//! normalize → store. Publishing is left to the caller, which batches the
//! polls that finished, flushes the store, and then publishes.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use chrono::Utc;
use tracing::{info, warn, Instrument};

use crate::config::{Party, Source};
use crate::extract;
use crate::fetch::{FetchOutcome, Fetcher};
use crate::normalize;
use crate::store::{PollStatus, SourceState, Store, Upsert};

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

    // Parsing and storing are CPU and disk work: keep them off the reactor.
    let (store, party, source) = (store.clone(), party.clone(), source.clone());
    let body = fetched.body;
    let base = fetched.final_url;
    let outcome = tokio::task::spawn_blocking(move || -> Result<(usize, usize, usize, usize, &'static str), String> {
        let feed = extract::feed::extract(&body).map_err(|e| e.to_string())?;
        let now = crate::normalize::now();
        let (mut new, mut updated, mut guessed) = (0, 0, 0);
        for item in &feed.items {
            let entry = match normalize::normalize(&party, &source, &feed, item, &base, now) {
                Ok(entry) => entry,
                Err(skip) => {
                    warn!(source = %source.id, title = ?item.title, link = ?item.link, "item skipped: {skip}");
                    continue;
                }
            };
            guessed += usize::from(entry.date_guessed);
            match store.upsert(entry, now).map_err(|e| format!("cannot store entries: {e}"))? {
                Upsert::New => new += 1,
                Upsert::Updated => updated += 1,
                Upsert::Unchanged => {}
            }
        }
        Ok((feed.items.len(), new, updated, guessed, feed.format))
    })
    .await
    .map_err(|e| format!("reading the document failed: {e}"))?;
    let (seen, new, updated, guessed, format) = outcome?;
    report.status = PollStatus::Ok;
    report.seen = seen;
    report.new = new;
    report.updated = updated;
    report.dates_guessed = guessed;
    state.validators = fetched.validators;
    state.body_hash = Some(body_hash);
    state.items_last_seen = seen as u64;
    state.dates_guessed = guessed as u64;
    state.format = Some(format.to_string());
    Ok(())
}
