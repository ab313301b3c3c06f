//! What Plenum remembers about each source between polls.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::fetch::Validators;

/// How a poll ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PollStatus {
    /// Fetched and read.
    Ok,
    /// Not polled: waiting for Retry-After, backoff or the next due time
    /// (reported, never stored as the last status).
    Skipped,
    /// The server said 304, or the body was the same as last time.
    NotModified,
    /// Fetching or reading failed; see `last_error`.
    Failed,
}

impl PollStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PollStatus::Ok => "ok",
            PollStatus::Skipped => "skipped",
            PollStatus::NotModified => "not-modified",
            PollStatus::Failed => "failed",
        }
    }
}

/// Per-source state, kept in the store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceState {
    /// Validators to send on the next poll.
    pub validators: Validators,
    /// Hash of the last body read, to skip work on an unchanged 200.
    pub body_hash: Option<String>,
    pub last_poll: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_status: Option<PollStatus>,
    pub last_http_status: Option<u16>,
    /// The last failure in words; cleared by a success.
    pub last_error: Option<String>,
    pub consecutive_failures: u32,
    /// Entries this source added to the store, all time.
    pub entries_added: u64,
    /// Items in the source's document at the last successful read.
    pub items_last_seen: u64,
    /// Items that the last read had to date by first-seen time.
    pub dates_guessed: u64,
    /// Items of a web page whose printed date could not be read, last read.
    pub dates_unreadable: u64,
    /// The source was seen rotating item ids (logged once).
    pub id_rotation_seen: bool,
    /// No poll before this (Retry-After, or backoff after failures); `poll-once` waits too unless `--force`.
    pub not_before: Option<DateTime<Utc>>,
    /// `not_before` came from the server's Retry-After (else from backoff).
    pub retry_after_asked: bool,
    /// Scheduled polls wait until this (the floor, the feed's ttl, `max-age`, adaptive).
    pub next_poll_at: Option<DateTime<Utc>>,
    /// Start of the current run of failures.
    pub failing_since: Option<DateTime<Utc>>,
    /// The source answered 410 Gone: not polled until `plenum reset`.
    pub gone: bool,
    /// The URL polled instead of the configured one: after 3 polls ending
    /// in the same permanent redirect, or found by autodiscovery.
    pub url: Option<String>,
    /// How `url` was found: "moved" or "discovered".
    pub url_reason: Option<String>,
    /// A permanent redirect target seen on the last polls, and how many in a row.
    pub moving_to: Option<String>,
    pub moving_seen: u32,
    /// The last poll that found new entries (for adaptive intervals).
    pub last_new_at: Option<DateTime<Utc>>,
    /// Format of the document at the last read ("RSS 2.0", "Atom", ...).
    pub format: Option<String>,
    /// Fingerprints of the items of the last read (see
    /// [`crate::normalize::fingerprint`]): an item read again unchanged is
    /// not normalized and stored again.
    pub item_fingerprints: Vec<u64>,
}

impl SourceState {
    /// Failing: failures without a success for at least `after`.
    pub fn failing(&self, now: DateTime<Utc>, after: std::time::Duration) -> bool {
        self.failing_since.is_some_and(|since| (now - since).to_std().is_ok_and(|d| d >= after))
    }

    /// Why a poll must wait now, if it must. `scheduled` polls also wait for
    /// `next_poll_at`; `force` (poll-once --force) waits for nothing.
    pub fn wait_reason(&self, now: DateTime<Utc>, scheduled: bool, force: bool) -> Option<String> {
        if force {
            return None;
        }
        if self.gone {
            return Some("gone: the source answered 410 Gone; `plenum reset <source>` polls it again".to_string());
        }
        if let Some(at) = self.not_before.filter(|at| *at > now) {
            let why = if self.retry_after_asked { "the server asked to retry after" } else { "backing off after failures until" };
            return Some(format!("{why} {}", at.format("%Y-%m-%d %H:%M:%SZ")));
        }
        if scheduled {
            if let Some(at) = self.next_poll_at.filter(|at| *at > now) {
                return Some(format!("not due until {}", at.format("%Y-%m-%d %H:%M:%SZ")));
            }
        }
        None
    }
}
