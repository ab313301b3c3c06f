//! Prometheus metrics: what Plenum did, per source and party, in the text
//! format at `GET /metrics` (on `listen`, and on `metrics_listen` if set).
//!
//! Recorded with the `metrics` facade where things happen (polls, publishes,
//! HTTP requests); rendered by `metrics-exporter-prometheus`, whose upkeep
//! runs with each render.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the recorder once per process; later calls reuse it.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let buckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];
            PrometheusBuilder::new().set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets).ok()?.install_recorder().ok()
        })
        .as_ref()
}

/// The metrics in Prometheus text format.
pub fn render() -> String {
    match install() {
        Some(handle) => {
            handle.run_upkeep();
            handle.render()
        }
        None => String::new(),
    }
}

/// One finished poll.
pub struct PollMetrics<'a> {
    pub party: &'a str,
    pub source: &'a str,
    pub status: &'a str,
    pub http: Option<u16>,
    pub bytes: usize,
    pub new: usize,
    pub updated: usize,
    pub elapsed: Duration,
    pub consecutive_failures: u32,
    pub failing: bool,
    /// Seconds since 1970 of the last success, if any.
    pub last_success: Option<i64>,
}

pub fn poll(m: &PollMetrics<'_>) {
    let class = match m.http {
        Some(code) => format!("{}xx", code / 100),
        None => "error".to_string(),
    };
    let (party, source) = (m.party.to_string(), m.source.to_string());
    counter!("plenum_polls_total", "status" => m.status.to_string()).increment(1);
    counter!("plenum_fetches_total", "class" => class).increment(1);
    counter!("plenum_fetched_bytes_total").increment(m.bytes as u64);
    counter!("plenum_entries_new_total", "party" => party.clone()).increment(m.new as u64);
    counter!("plenum_entries_updated_total", "party" => party).increment(m.updated as u64);
    histogram!("plenum_poll_duration_seconds").record(m.elapsed.as_secs_f64());
    gauge!("plenum_source_consecutive_failures", "source" => source.clone()).set(f64::from(m.consecutive_failures));
    gauge!("plenum_source_failing", "source" => source.clone()).set(if m.failing { 1.0 } else { 0.0 });
    if let Some(at) = m.last_success {
        gauge!("plenum_source_last_success_timestamp_seconds", "source" => source).set(at as f64);
    }
}

pub fn publish(elapsed: Duration, feeds: usize) {
    histogram!("plenum_publish_duration_seconds").record(elapsed.as_secs_f64());
    gauge!("plenum_published_documents").set(feeds as f64);
}

pub fn store(entries: usize, disk_bytes: u64) {
    gauge!("plenum_store_entries").set(entries as f64);
    gauge!("plenum_store_disk_bytes").set(disk_bytes as f64);
}

/// Counts an answer by route and status. The counters are looked up once per
/// thread and pair, not registered again for every request (the labels'
/// strings and the registry's hashing cost more than the answer's headers).
/// This relies on the recorder never dropping idle metrics (no
/// `idle_timeout` in [`install`]): a kept handle would then count nowhere.
pub fn http_request(route: &str, status: u16) {
    thread_local! {
        static COUNTERS: std::cell::RefCell<Vec<(String, u16, metrics::Counter)>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    COUNTERS.with_borrow_mut(|counters| {
        if let Some((_, _, counter)) = counters.iter().find(|(r, s, _)| *s == status && r == route) {
            counter.increment(1);
            return;
        }
        let counter = counter!("plenum_http_requests_total", "route" => route.to_string(), "status" => status.to_string());
        counter.increment(1);
        // Routes are the router's patterns, statuses a few: the list stays
        // short. A counter made before the recorder was installed counts
        // nowhere, so it is not kept.
        if counters.len() < 64 && matches!(HANDLE.get(), Some(Some(_))) {
            counters.push((route.to_string(), status, counter));
        }
    });
}
