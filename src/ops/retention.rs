//! Retention as the daemon runs it: the policy from `[daemon]`
//! (`retention_days`, `max_entries_per_party`), a prune that logs what it
//! removed, and the cron job on `prune_schedule`.
//!
//! The pruning itself (batches, transactions, what stays out afterwards)
//! is [`Store::prune`]; this file only decides when, and reports.

use std::sync::Arc;

use chrono::{Duration, Utc};
use tokio_cron_scheduler::Job;
use tracing::{error, info};

use crate::config::{Config, DaemonConfig};
use crate::store::{PruneReport, RetentionPolicy, Store, StoreError};

/// The retention `[daemon]` asks for; `None` when it keeps everything.
pub fn policy(daemon: &DaemonConfig) -> Option<RetentionPolicy> {
    let policy = RetentionPolicy {
        max_age: daemon.retention_days.map(|days| Duration::days(i64::from(days))),
        max_entries_per_party: daemon.max_entries_per_party,
    };
    policy.is_active().then_some(policy)
}

/// Prunes by the config's policy now (off the async threads), flushes,
/// and logs one line with what went. With no retention configured it does
/// nothing and returns an empty report.
pub async fn prune_now(config: &Config, store: &Store) -> Result<PruneReport, StoreError> {
    let Some(policy) = policy(&config.daemon) else { return Ok(PruneReport::default()) };
    let started = std::time::Instant::now();
    let worker = store.clone();
    let report = tokio::task::spawn_blocking(move || worker.prune(&policy, Utc::now()))
        .await
        .map_err(|e| StoreError::Corrupt { what: "pruning task".into(), cause: e.to_string() })??;
    store.flush().await?;
    let parties = report.per_party.iter().map(|(party, n)| format!("{party}:{n}")).collect::<Vec<_>>().join(",");
    info!(
        pruned = report.pruned(),
        by_age = report.by_age,
        by_count = report.by_count,
        parties = %parties,
        remaining = report.remaining,
        dangling_rows = report.dangling_rows,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "pruned"
    );
    Ok(report)
}

/// `plenum poll-once`'s last step: prune when the config sets retention
/// (cheap when nothing is due); failures are logged, never fatal.
pub async fn prune_if_configured(config: &Config, store: &Store) {
    if policy(&config.daemon).is_some() {
        if let Err(e) = prune_now(config, store).await {
            error!(error = %e, "pruning failed; the store keeps the old entries until the next run");
        }
    }
}

/// The daemon's pruning job on `prune_schedule`, or `None` when the config
/// keeps everything. Runs one prune at a time; failures are logged.
/// `pruned` is notified when a run removed entries, so the feeds are published again.
pub fn prune_job(config: Arc<Config>, store: Store, pruned: Arc<tokio::sync::Notify>) -> Result<Option<Job>, String> {
    if policy(&config.daemon).is_none() {
        return Ok(None);
    }
    let running = Arc::new(tokio::sync::Mutex::new(()));
    let expr = config.daemon.prune_schedule.clone();
    Job::new_async(expr.as_str(), move |_, _| {
        let (config, store, running, pruned) = (config.clone(), store.clone(), running.clone(), pruned.clone());
        Box::pin(async move {
            let Ok(_guard) = running.try_lock() else { return };
            match prune_now(&config, &store).await {
                Ok(report) if report.pruned() > 0 => pruned.notify_one(),
                Ok(_) => {}
                Err(e) => error!(error = %e, "pruning failed; the store keeps the old entries until the next run"),
            }
        })
    })
    .map(Some)
    .map_err(|e| format!("prune_schedule `{expr}`: {e}"))
}
