//! The daemon and the one-shot poll: the stages wired together.
//!
//! `run` opens the store, publishes what it holds, serves it, schedules
//! every source, and after each batch of polls flushes the store and
//! publishes again. On SIGTERM/SIGINT it stops the schedule, lets running
//! polls finish (or abandons them after a grace period: a poll's writes are
//! per-entry transactions, so an abandoned poll leaves nothing half-done),
//! publishes, flushes and exits.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::Notify;
use tokio_cron_scheduler::{Job, JobScheduler};
use tokio_util::task::TaskTracker;
use tracing::{debug, error, info, warn};

use crate::config::{Config, Party, Source};
use crate::fetch::{FetchError, FetchSettings, Fetcher};
use crate::ops::health::Health;
use crate::ops::notify;
use crate::ops::shutdown::{self, Shutdown};
use crate::poll::{self, PollPolicy, PollReport, Trigger};
use crate::publish::{self, Published};
use crate::schedule;
use crate::serve;
use crate::store::{Store, StoreError};

/// How long running polls get to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How often the watchdog looks for sources whose polls stopped.
const WATCHDOG_EVERY: Duration = Duration::from_secs(60);
/// Publishing waits this long after a change, to batch polls that finish together.
const PUBLISH_DEBOUNCE: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("cannot listen on {addr}: {cause}")]
    Listen { addr: String, cause: String },
    #[error("scheduler: {0}")]
    Schedule(String),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Source(String),
}

/// What `test-source` found: the source, the exchange, and what was read.
pub struct SourceTest {
    pub party: Party,
    pub source: Source,
    pub http: u16,
    pub bytes: usize,
    pub content_type: Option<String>,
    pub reading: poll::Reading,
    pub elapsed: Duration,
}

/// `plenum test-source`: fetches one source once and reads it, storing
/// nothing, so an operator can write and check selectors. `which` is the
/// source's number within the party (1-based, as `list` shows them) or its id.
pub async fn test_source(config: &Config, party_id: &str, which: Option<&str>) -> Result<SourceTest, DaemonError> {
    let party = config.party(party_id).ok_or_else(|| {
        let ids: Vec<&str> = config.parties.iter().map(|p| p.id.as_str()).collect();
        DaemonError::Usage(format!("no party `{party_id}` in {}; parties: {}", config.path.display(), ids.join(", ")))
    })?;
    let source = match which {
        None => party.sources.first(),
        Some(w) => match w.parse::<usize>() {
            Ok(n) => n.checked_sub(1).and_then(|i| party.sources.get(i)),
            Err(_) => party.sources.iter().find(|s| s.id.as_str() == w || s.id.as_str() == format!("{party_id}/{w}")),
        },
    }
    .ok_or_else(|| {
        let list: Vec<String> = party.sources.iter().enumerate().map(|(i, s)| format!("{} = {} ({})", i + 1, s.id, s.url)).collect();
        DaemonError::Usage(format!("party `{party_id}` has no source `{}`; its sources: {}", which.unwrap_or("1"), list.join("; ")))
    })?;
    let fetcher = fetcher(config)?;
    let started = std::time::Instant::now();
    let fetched = match fetcher.get(&source.url, &Default::default()).await {
        Ok(crate::fetch::FetchOutcome::Fetched(f)) => f,
        Ok(crate::fetch::FetchOutcome::NotModified { .. }) => {
            return Err(DaemonError::Source("the server answered 304 Not Modified to a plain GET".into()))
        }
        Err(e) => return Err(DaemonError::Source(format!("{}: {e}", source.url))),
    };
    let (http, bytes, content_type) = (fetched.status, fetched.body.len(), fetched.content_type.clone());
    let reading = poll::read(&fetcher, party, source, fetched, true, &|_| false).await.map_err(DaemonError::Source)?;
    Ok(SourceTest { party: party.clone(), source: source.clone(), http, bytes, content_type, reading, elapsed: started.elapsed() })
}

fn fetcher(config: &Config) -> Result<Fetcher, FetchError> {
    let d = &config.daemon;
    Fetcher::new(FetchSettings {
        timeout: d.timeout,
        connect_timeout: d.connect_timeout,
        stall_timeout: d.stall_timeout,
        max_body_bytes: d.max_body_bytes,
        max_redirects: d.max_redirects,
        concurrency: d.concurrency,
        host_gap: d.host_gap,
        host_gaps: d.host_gaps.clone(),
        contact: d.contact.clone(),
        proxy: d.proxy.clone(),
    })
}

/// `plenum poll-once`: every enabled source once, then publish. Sources
/// waiting for Retry-After or backoff are skipped (and reported) unless
/// `force`. The fetcher paces hosts and bounds requests in flight.
pub async fn poll_once(config: Config, force: bool) -> Result<Vec<PollReport>, DaemonError> {
    let store = Store::open_with_cache(&config.daemon.data_dir, config.daemon.store_cache_bytes)?;
    let fetcher = fetcher(&config)?;
    publish::files::remove_stale_temporaries(&config.daemon.output_dir);
    let policy = Arc::new(PollPolicy::from_config(&config.daemon));
    let config = Arc::new(config);
    let mut tasks = tokio::task::JoinSet::new();
    let sources: Vec<(Party, Source)> = config.sources().filter(|(_, s)| s.enabled).map(|(p, s)| (p.clone(), s.clone())).collect();
    // Polls in progress at once: enough to keep `concurrency` requests in
    // flight while others are read, few enough that documents fetched but
    // not yet read do not pile up in memory.
    let slots = Arc::new(tokio::sync::Semaphore::new(config.daemon.concurrency.max(1) * 2));
    for (index, (party, source)) in sources.into_iter().enumerate() {
        let (fetcher, store, policy, slots) = (fetcher.clone(), store.clone(), policy.clone(), slots.clone());
        tasks.spawn(async move {
            let _slot = slots.acquire_owned().await.ok();
            (index, poll::poll_source(&fetcher, &store, &party, &source, &policy, Trigger::Manual { force }).await)
        });
    }
    let mut reports = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(report) => reports.push(report),
            Err(e) => error!(error = %e, "a poll task died"),
        }
    }
    reports.sort_by_key(|(index, _)| *index);
    store.flush().await?;
    crate::ops::retention::prune_if_configured(&config, &store).await;
    // Publishing renders only the scopes this run changed when the store's
    // marker says the files showed everything before (same build, config
    // and scopes, every file there): nothing at all after an unchanged poll.
    // Otherwise (first run, a crash before the last publish, a new config,
    // a deleted file) it renders every document.
    let published = Published::files_only();
    publish_now(&config, &store, &published).await;
    if let Some(marker) = published.files_marker().filter(|_| !store.has_unpublished_changes()) {
        let dir = &config.daemon.output_dir;
        let stamped = publish::write_stamp(dir, &marker)
            .map_err(|e| e.to_string())
            .and_then(|stamp| store.mark_published(&stamp).map_err(|e| e.to_string()));
        if let Err(e) = stamped {
            // Only costs the next run a full publish.
            warn!(dir = %dir.display(), error = %e, "cannot record that the published files are complete");
        }
    }
    store.flush().await?;
    Ok(reports.into_iter().map(|(_, r)| r).collect())
}

/// Publishes in a blocking task; failures are logged, never fatal.
async fn publish_now(config: &Arc<Config>, store: &Store, published: &Published) {
    let (config, store, published) = (config.clone(), store.clone(), published.clone());
    let started = std::time::Instant::now();
    let (hub_config, hub_published, hub_store) = (config.clone(), published.clone(), store.clone());
    match tokio::task::spawn_blocking(move || publish::publish_all(&config, &store, &published)).await {
        Ok(Ok(count)) => {
            if count == 0 {
                info!("nothing changed; the published files stand");
            } else {
                info!(feeds = count, elapsed_ms = started.elapsed().as_millis() as u64, "published");
            }
            crate::ops::metrics::publish(started.elapsed(), count);
            if count > 0 {
                // The rendered documents are freed: hand their pages back.
                tokio::task::spawn_blocking(crate::ops::memory::release_free_memory);
            }
            if !hub_published.is_files_only() {
                crate::ops::metrics::store(hub_store.len(), hub_store.disk_bytes());
            }
            publish::websub::notify(&hub_config, &hub_published.take_changed()).await;
        }
        Ok(Err(e)) => error!(error = %e, "publishing failed; the last good files stay in place"),
        Err(e) => error!(error = %e, "publishing task died"),
    }
}

/// Starts polls, at most one per source at a time, within the global limit.
#[derive(Clone)]
struct Poller {
    /// The running config, replaced by a reload.
    config: Arc<std::sync::RwLock<Arc<Config>>>,
    store: Store,
    fetcher: Arc<std::sync::RwLock<Fetcher>>,
    running: Arc<Mutex<HashSet<String>>>,
    changed: Arc<Notify>,
    tracker: TaskTracker,
    shutdown: Shutdown,
}

impl Poller {
    /// Starts a poll of the source at `index` in its own task, after `delay`.
    fn trigger(&self, party: &Party, source: &Source, delay: Duration) {
        if self.shutdown.is_triggered() {
            return;
        }
        {
            let Ok(mut running) = self.running.lock() else { return };
            if !running.insert(source.id.to_string()) {
                debug!(source = %source.id, "previous poll still running; this run is skipped");
                return;
            }
        }
        let this = self.clone();
        let (party, source) = (party.clone(), source.clone());
        self.tracker.spawn(async move {
            let stop = this.shutdown.clone();
            let work = async {
                tokio::time::sleep(delay).await;
                let (fetcher, policy) = this.current();
                poll::poll_source(&fetcher, &this.store, &party, &source, &policy, Trigger::Scheduled).await
            };
            tokio::select! {
                report = work => {
                    if report.changed() {
                        this.changed.notify_one();
                    }
                }
                _ = stop.wait() => debug!(source = %source.id, "poll abandoned at shutdown"),
            }
            if let Ok(mut running) = this.running.lock() {
                running.remove(source.id.as_str());
            }
        });
    }

    /// True when the source's last poll is older than its schedule's interval.
    /// The fetcher and poll policy of the running config.
    fn current(&self) -> (Fetcher, PollPolicy) {
        // A poisoned lock still holds the running config: use it.
        let config = self.config.read().unwrap_or_else(|p| p.into_inner()).clone();
        let fetcher = self.fetcher.read().unwrap_or_else(|p| p.into_inner()).clone();
        (fetcher, PollPolicy::from_config(&config.daemon))
    }

    /// (Retry-After, backoff, the next due time and a 410 all make it wait.)
    fn due(&self, source: &Source, slack: Duration) -> bool {
        let config = self.config.read().unwrap_or_else(|p| p.into_inner()).clone();
        let expr = source.schedule.as_deref().unwrap_or(&config.daemon.schedule);
        let now = Utc::now();
        let interval = schedule::interval(expr, now).unwrap_or(Duration::from_secs(1800));
        let state = self.store.source_state(&source.id).unwrap_or_default();
        if state.wait_reason(now, true, false).is_some() {
            return false;
        }
        match state.last_poll {
            None => true,
            Some(last) => (now - last).to_std().map(|age| age >= interval + slack).unwrap_or(false),
        }
    }
}

/// The jobs of every enabled source in `config`, added to `scheduler`.
async fn schedule_sources(scheduler: &JobScheduler, poller: &Poller, config: &Config) -> Result<Vec<uuid::Uuid>, DaemonError> {
    let mut jobs = Vec::new();
    for (party, source) in config.sources().filter(|(_, s)| s.enabled) {
        let expr = source.schedule.clone().unwrap_or_else(|| config.daemon.schedule.clone());
        let delay = schedule::jitter_for(source.id.as_str(), config.daemon.jitter);
        let (poller, party, source) = (poller.clone(), party.clone(), source.clone());
        let job = Job::new_async(expr.as_str(), move |_, _| {
            poller.trigger(&party, &source, delay);
            Box::pin(async {})
        })
        .map_err(|e| DaemonError::Schedule(format!("{expr}: {e}")))?;
        jobs.push(scheduler.add(job).await.map_err(|e| DaemonError::Schedule(e.to_string()))?);
    }
    // Retention on `prune_schedule`; rebuilt with the source jobs on reload.
    let config = Arc::new(config.clone());
    if let Some(job) =
        crate::ops::retention::prune_job(config, poller.store.clone(), poller.changed.clone()).map_err(DaemonError::Schedule)?
    {
        jobs.push(scheduler.add(job).await.map_err(|e| DaemonError::Schedule(e.to_string()))?);
    }
    Ok(jobs)
}

/// Polls, now, the sources of `config` that missed their slot (spread by jitter).
fn poll_due_sources(poller: &Poller, config: &Config) {
    for (party, source) in config.sources().filter(|(_, s)| s.enabled) {
        if poller.due(source, Duration::ZERO) {
            poller.trigger(party, source, schedule::jitter_for(source.id.as_str(), config.daemon.jitter));
        }
    }
}

/// The one-line state systemd shows in `systemctl status`.
fn status_line(config: &Config, store: &Store) -> String {
    let sources = config.sources().filter(|(_, s)| s.enabled).count();
    let failing = crate::ops::health::failing_sources(config, store).len();
    format!("{} entries; {sources} sources, {failing} failing; published {}", store.len(), Utc::now().format("%H:%M:%SZ"))
}

/// `plenum run`.
pub async fn run(mut config: Config) -> Result<(), DaemonError> {
    // First: a SIGTERM during start-up must wait for the main loop, not kill the process mid-write.
    let (mut stop_signals, mut reload_signal) = shutdown::signals();
    let store = Store::open_with_cache(&config.daemon.data_dir, config.daemon.store_cache_bytes)?;
    let fetcher = fetcher(&config)?;
    crate::ops::metrics::install();
    let listener = tokio::net::TcpListener::bind(config.daemon.listen)
        .await
        .map_err(|e| DaemonError::Listen { addr: config.daemon.listen.to_string(), cause: e.to_string() })?;
    // Every document published from here on is served: large ones go out with sendfile.
    serve::sealed::enable();
    let addr = listener.local_addr().map_err(|e| DaemonError::Listen { addr: config.daemon.listen.to_string(), cause: e.to_string() })?;
    if config.daemon.base_url.port() == Some(0) {
        // `listen` asked for any free port and no base_url was given: use the real one.
        let _ = config.daemon.base_url.set_port(Some(addr.port()));
    }
    let config = Arc::new(config);
    let published = Published::default();
    let health = Health::new(store.clone(), config.clone());
    let (trigger, stop) = shutdown::channel();
    let header_timeout = config.daemon.header_timeout;
    let app = serve::router(published.clone())
        .merge(crate::ops::health::router(health.clone()))
        .layer(axum::middleware::from_fn(crate::ops::health::count_requests));
    info!("serving feeds on http://{addr}/");
    // Where the running daemon listens, for `plenum status` (the port may have been 0).
    let addr_file = listening_file(&config);
    if let Err(e) = std::fs::write(&addr_file, addr.to_string()) {
        warn!(path = %addr_file.display(), error = %e, "cannot record the listening address; `plenum status` will read the store");
    }
    if let Some(metrics_addr) = config.daemon.metrics_listen {
        match tokio::net::TcpListener::bind(metrics_addr).await {
            Ok(listener) => {
                let stop = stop.clone();
                tokio::spawn(async move {
                    serve::run_server(listener, crate::ops::health::metrics_router(), header_timeout, stop.wait()).await
                });
                info!("serving metrics on http://{metrics_addr}/metrics");
            }
            Err(e) => warn!(addr = %metrics_addr, error = %e, "cannot listen for metrics; /metrics stays on the main address"),
        }
    }
    let stale = publish::files::remove_stale_temporaries(&config.daemon.output_dir);
    if stale > 0 {
        info!(files = stale, "removed temporary files left by an interrupted run");
    }
    // The merged feed is rendered before the first request is answered
    // (clients that connect meanwhile wait in the listen backlog), then
    // served while every other document is published; until that is done,
    // a document not yet published is rendered on request.
    let (first_config, first_store, first_published) = (config.clone(), store.clone(), published.clone());
    match tokio::task::spawn_blocking(move || publish::publish_merged(&first_config, &first_store, &first_published)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => error!(error = %e, "cannot render the merged feed; serving after the full publish"),
        Err(e) => error!(error = %e, "rendering task died"),
    }
    let server = tokio::spawn({
        let stop = stop.clone();
        async move { serve::run_server(listener, app, header_timeout, stop.wait()).await }
    });
    // Ready for systemd: the store is open and the server answers.
    notify::ready();
    publish_now(&config, &store, &published).await;
    health.mark_ready();
    notify::status(&status_line(&config, &store));

    let poller = Poller {
        config: health.config.clone(),
        store: store.clone(),
        fetcher: Arc::new(std::sync::RwLock::new(fetcher)),
        running: Arc::new(Mutex::new(HashSet::new())),
        changed: Arc::new(Notify::new()),
        tracker: TaskTracker::new(),
        shutdown: stop.clone(),
    };

    let mut scheduler = JobScheduler::new().await.map_err(|e| DaemonError::Schedule(e.to_string()))?;
    let mut jobs = schedule_sources(&scheduler, &poller, &config).await?;
    scheduler.start().await.map_err(|e| DaemonError::Schedule(e.to_string()))?;
    info!(sources = config.sources().filter(|(_, s)| s.enabled).count(), parties = config.parties.len(), "scheduled");
    poll_due_sources(&poller, &config);

    let publisher = tokio::spawn({
        let (health, store, published, changed, stop) =
            (health.clone(), store.clone(), published.clone(), poller.changed.clone(), stop.clone());
        async move {
            loop {
                tokio::select! {
                    _ = changed.notified() => {}
                    _ = stop.clone().wait() => break,
                }
                tokio::time::sleep(PUBLISH_DEBOUNCE).await;
                if let Err(e) = store.flush().await {
                    error!(error = %e, "cannot flush the store; not publishing entries that are not on disk");
                    continue;
                }
                let Some(config) = health.config() else { continue };
                publish_now(&config, &store, &published).await;
                notify::status(&status_line(&config, &store));
            }
        }
    });

    let overdue = tokio::spawn({
        let (poller, health, stop) = (poller.clone(), health.clone(), stop.clone());
        async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(WATCHDOG_EVERY) => {}
                    _ = stop.clone().wait() => break,
                }
                let Some(config) = health.config() else { continue };
                let slack = config.daemon.jitter + config.daemon.timeout + Duration::from_secs(60);
                for (party, source) in config.sources().filter(|(_, s)| s.enabled) {
                    if poller.due(source, slack) {
                        warn!(source = %source.id, "scheduled polls of this source stopped; polling it now");
                        poller.trigger(party, source, Duration::ZERO);
                    }
                }
            }
        }
    });

    // The main loop: signals, reloads, and the systemd watchdog's pings.
    let mut tick = tokio::time::interval(notify::watchdog_interval().unwrap_or(Duration::from_secs(30)));
    let signal = loop {
        tokio::select! {
            signal = stop_signals.recv() => break signal,
            _ = reload_signal.recv() => {
                notify::reloading();
                match reload(&health, &poller, &scheduler, &mut jobs, &store, &published).await {
                    Ok(summary) => info!("{summary}"),
                    Err(refused) => error!("the new config is refused; the running config stays:\n{refused}"),
                }
                notify::ready();
                if let Some(config) = health.config() {
                    notify::status(&status_line(&config, &store));
                }
            }
            _ = tick.tick() => notify::watchdog(),
        }
    };
    info!(signal, "stopping: no new polls; waiting for running ones");
    notify::stopping();
    trigger.fire();
    if let Err(e) = scheduler.shutdown().await {
        warn!(error = %e, "scheduler did not stop cleanly");
    }
    poller.tracker.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, poller.tracker.wait()).await.is_err() {
        warn!("some polls did not finish in time and were abandoned");
    }
    let _ = publisher.await;
    let _ = overdue.await;
    store.flush().await?;
    let config = health.config().unwrap_or(config);
    publish_now(&config, &store, &published).await;
    store.flush().await?;
    if let Err(e) = server.await {
        warn!(error = %e, "HTTP server task died");
    }
    let _ = std::fs::remove_file(&addr_file);
    info!("stopped");
    Ok(())
}

/// The file a running daemon writes its listening address to.
pub fn listening_file(config: &Config) -> std::path::PathBuf {
    config.daemon.data_dir.join("plenum.listening")
}

/// SIGHUP: reads the config again with the same checks as start-up. A valid
/// one replaces the running one: every source job is rebuilt (new sources
/// start, removed ones stop, changed ones follow their new schedule), the
/// fetcher takes the new settings, and the feeds are published for the new
/// set of parties. Entries are untouched, so nothing is lost or doubled.
/// `listen`, `data_dir` and `store_cache_mb` only change with a restart.
async fn reload(
    health: &Health,
    poller: &Poller,
    scheduler: &JobScheduler,
    jobs: &mut Vec<uuid::Uuid>,
    store: &Store,
    published: &Published,
) -> Result<String, String> {
    let Some(old) = health.config() else { return Err("no running config".into()) };
    let mut new = crate::config::load(&old.path).map_err(|e| e.to_string())?;
    if new.daemon.listen != old.daemon.listen
        || new.daemon.data_dir != old.daemon.data_dir
        || new.daemon.store_cache_bytes != old.daemon.store_cache_bytes
    {
        warn!("listen, data_dir and store_cache_mb changes take effect after a restart; the running ones stay");
        new.daemon.listen = old.daemon.listen;
        new.daemon.data_dir = old.daemon.data_dir.clone();
        new.daemon.store_cache_bytes = old.daemon.store_cache_bytes;
    }
    if new.daemon.base_url.port() == Some(0) {
        let _ = new.daemon.base_url.set_port(old.daemon.base_url.port());
    }
    let fetcher = fetcher(&new).map_err(|e| e.to_string())?;
    let ids = |c: &Config| -> HashSet<String> { c.sources().filter(|(_, s)| s.enabled).map(|(_, s)| s.id.to_string()).collect() };
    let (before, after) = (ids(&old), ids(&new));
    let new = Arc::new(new);
    health.set_config(new.clone());
    if let Ok(mut f) = poller.fetcher.write() {
        *f = fetcher;
    }
    for id in jobs.drain(..) {
        if let Err(e) = scheduler.remove(&id).await {
            warn!(error = %e, "cannot remove a job of the old config");
        }
    }
    *jobs = schedule_sources(scheduler, poller, &new).await.map_err(|e| e.to_string())?;
    poll_due_sources(poller, &new);
    publish_now(&new, store, published).await;
    Ok(format!(
        "config reloaded: {} sources scheduled ({} added, {} removed), {} parties",
        after.len(),
        after.difference(&before).count(),
        before.difference(&after).count(),
        new.parties.len()
    ))
}
