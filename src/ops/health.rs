//! Health for operators and load balancers: `/healthz` (the process is up
//! and the store takes writes), `/readyz` (the first publish is done),
//! `/status` (each source's health, what `plenum status` prints) and
//! `/metrics`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::Utc;

use crate::config::Config;
use crate::store::Store;

/// What the health routes read.
#[derive(Clone)]
pub struct Health {
    pub store: Store,
    pub config: Arc<RwLock<Arc<Config>>>,
    pub ready: Arc<AtomicBool>,
}

impl Health {
    pub fn new(store: Store, config: Arc<Config>) -> Self {
        Health { store, config: Arc::new(RwLock::new(config)), ready: Arc::new(AtomicBool::new(false)) }
    }

    pub fn config(&self) -> Option<Arc<Config>> {
        self.config.read().ok().map(|c| c.clone())
    }

    pub fn set_config(&self, config: Arc<Config>) {
        if let Ok(mut guard) = self.config.write() {
            *guard = config;
        }
    }

    pub fn mark_ready(&self) {
        self.ready.store(true, Ordering::SeqCst);
    }
}

/// `/healthz`, `/readyz`, `/status`, `/metrics`.
pub fn router(health: Health) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        .with_state(health)
}

/// Only `/metrics`, for `metrics_listen`.
pub fn metrics_router() -> Router {
    Router::new().route("/metrics", get(|| async { metrics_response() }))
}

fn text(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

async fn healthz(State(health): State<Health>) -> Response {
    let store = health.store.clone();
    match tokio::task::spawn_blocking(move || store.probe_write()).await {
        Ok(Ok(())) => {
            let failing = health.config().map(|c| failing_sources(&c, &health.store).len()).unwrap_or(0);
            text(StatusCode::OK, format!("ok\nstore writable\nfailing sources: {failing}\n"))
        }
        Ok(Err(e)) => text(StatusCode::SERVICE_UNAVAILABLE, format!("unhealthy: the store does not take writes: {e}\n")),
        Err(e) => text(StatusCode::SERVICE_UNAVAILABLE, format!("unhealthy: {e}\n")),
    }
}

async fn readyz(State(health): State<Health>) -> Response {
    if health.ready.load(Ordering::SeqCst) {
        text(StatusCode::OK, "ready\n".into())
    } else {
        text(StatusCode::SERVICE_UNAVAILABLE, "not ready: the first publish is not done yet\n".into())
    }
}

async fn status(State(health): State<Health>) -> Response {
    let Some(config) = health.config() else { return text(StatusCode::SERVICE_UNAVAILABLE, "no config\n".into()) };
    let store = health.store.clone();
    match tokio::task::spawn_blocking(move || status_report(&config, &store)).await {
        Ok(report) => text(StatusCode::OK, report),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
    }
}

async fn metrics() -> Response {
    metrics_response()
}

fn metrics_response() -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], super::metrics::render()).into_response()
}

/// Counts HTTP requests by route and status for `/metrics`.
pub async fn count_requests(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    super::metrics::http_request(route.as_ref().map_or("unmatched", MatchedPath::as_str), response.status().as_u16());
    response
}

/// Sources failing for longer than `failing_after`: (id, since).
pub fn failing_sources(config: &Config, store: &Store) -> Vec<(String, chrono::DateTime<Utc>)> {
    let now = Utc::now();
    config
        .sources()
        .filter_map(|(_, s)| {
            let state = store.source_state(&s.id).ok()?;
            state.failing(now, config.daemon.failing_after).then(|| (s.id.to_string(), state.failing_since.unwrap_or(now)))
        })
        .collect()
}

/// One line per source: health, last poll, last error, next poll.
pub fn status_report(config: &Config, store: &Store) -> String {
    use std::fmt::Write as _;
    let now = Utc::now();
    let mut out = String::new();
    let (mut ok, mut waiting, mut failing, mut never) = (0, 0, 0, 0);
    for (_, source) in config.sources() {
        let state = store.source_state(&source.id).unwrap_or_default();
        let health = if !source.enabled {
            "disabled"
        } else if state.failing(now, config.daemon.failing_after) {
            failing += 1;
            "FAILING"
        } else if state.last_poll.is_none() {
            never += 1;
            "new"
        } else if state.consecutive_failures > 0 || state.wait_reason(now, false, false).is_some() {
            waiting += 1;
            "retrying"
        } else {
            ok += 1;
            "ok"
        };
        let last = state.last_poll.map_or("-".into(), |t| t.format("%Y-%m-%d %H:%M:%SZ").to_string());
        let _ = write!(out, "{health:<9} {:<28} last_poll={last} entries={}", source.id.to_string(), state.entries_added);
        if state.consecutive_failures > 0 {
            let _ = write!(out, " failures={}", state.consecutive_failures);
        }
        if let Some(reason) = state.wait_reason(now, true, false) {
            let _ = write!(out, " waiting=\"{reason}\"");
        }
        if let Some(error) = &state.last_error {
            let _ = write!(out, " error=\"{}\"", error.replace('"', "'"));
        }
        out.push('\n');
    }
    let _ =
        writeln!(out, "sources: {ok} ok, {waiting} retrying, {failing} failing, {never} not polled yet; {} entries stored", store.len());
    out
}
