//! When each source runs.
//!
//! Every enabled source gets a cron job (tokio-cron-scheduler) on its own
//! schedule or the daemon's. A job only *starts* a poll: the poll runs in
//! its own task, so a slow source never holds up the others, and a source
//! whose previous poll is still running is not polled again. Each source
//! waits a fixed share of `jitter_secs` (from a hash of its id) before its
//! poll, so sources on one schedule do not all fire at once.
//!
//! tokio-cron-scheduler has a reported bug where repeating jobs stop
//! firing under load; a watchdog notices a source whose polls are overdue
//! and polls it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use croner::parser::{CronParser, Seconds};
use tokio_cron_scheduler::Job;

/// Checks a cron expression with the parser the scheduler itself uses.
pub fn check_cron(expr: &str) -> Result<(), String> {
    Job::new_async(expr, |_, _| Box::pin(async {})).map(|_| ()).map_err(|_| {
        format!("`{expr}` is not a valid cron schedule: six fields with seconds (sec min hour day-of-month month day-of-week), such as \"0 */30 * * * *\"")
    })
}

/// The gap between two runs of `expr` after `from` (for "is this source due?").
pub fn interval(expr: &str, from: DateTime<Utc>) -> Option<Duration> {
    let cron = CronParser::builder().seconds(Seconds::Required).dom_and_dow(true).build().parse(expr).ok()?;
    let first = cron.find_next_occurrence(&from, false).ok()?;
    let second = cron.find_next_occurrence(&first, false).ok()?;
    (second - first).to_std().ok()
}

/// A source's fixed share of the jitter window.
pub fn jitter_for(source: &str, window: Duration) -> Duration {
    if window.is_zero() {
        return Duration::ZERO;
    }
    let hash = blake3::hash(source.as_bytes());
    let n = u64::from_le_bytes(hash.as_bytes()[..8].try_into().unwrap_or_default());
    Duration::from_millis(n % window.as_millis().max(1) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn cron_check_accepts_six_fields_and_explains_failures() {
        assert!(check_cron("0 */30 * * * *").is_ok());
        assert!(check_cron("*/5 * * * * *").is_ok());
        let err = check_cron("*/30 * * * *").unwrap_err();
        assert!(err.contains("six fields"), "{err}");
        assert!(check_cron("every hour").is_err());
    }

    #[test]
    fn interval_of_common_schedules() {
        let t = Utc.with_ymd_and_hms(2026, 11, 22, 10, 7, 0).unwrap();
        assert_eq!(interval("0 */30 * * * *", t), Some(Duration::from_secs(1800)));
        assert_eq!(interval("0 0 * * * *", t), Some(Duration::from_secs(3600)));
        assert_eq!(interval("nonsense", t), None);
    }

    #[test]
    fn jitter_is_stable_per_source_and_within_the_window() {
        let w = Duration::from_secs(30);
        assert_eq!(jitter_for("pcp/rss", w), jitter_for("pcp/rss", w));
        assert!(jitter_for("kke/a", w) < w);
        assert_ne!(jitter_for("pcp/rss", w), jitter_for("kke/rss", w));
        assert_eq!(jitter_for("pcp/rss", Duration::ZERO), Duration::ZERO);
    }
}
