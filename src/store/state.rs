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
    /// The server said 304, or the body was the same as last time.
    NotModified,
    /// Fetching or reading failed; see `last_error`.
    Failed,
}

impl PollStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PollStatus::Ok => "ok",
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
    /// Format of the document at the last read ("RSS 2.0", "Atom", ...).
    pub format: Option<String>,
}
