//! HTTP: the published feeds, from memory, with caching headers.
//!
//! Routes: `GET /feed.atom`, `GET /parties/{id}.atom`, `GET /healthz`.
//! HEAD works on each (axum answers it from the GET route without a body).
//! Responses carry a strong `ETag` and `Last-Modified`; `If-None-Match` and
//! `If-Modified-Since` are answered with 304 (RFC 9110 13.2.2: the ETag
//! check wins when both are sent).

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};

use crate::publish::{Document, Published};

/// The router over the published documents.
pub fn router(published: Published) -> Router {
    Router::new()
        .route("/feed.atom", get(merged))
        .route("/parties/{file}", get(party))
        .route("/healthz", get(healthz))
        .fallback(not_found)
        .with_state(published)
}

async fn merged(State(published): State<Published>, headers: HeaderMap) -> Response {
    serve(published.get("feed.atom"), &headers)
}

async fn party(State(published): State<Published>, Path(file): Path<String>, headers: HeaderMap) -> Response {
    // Only `<slug>.atom` is looked up, so no path can reach outside the feeds.
    match file.strip_suffix(".atom").filter(|id| crate::config::PartyId::parse(id).is_ok()) {
        Some(id) => serve(published.get(&format!("parties/{id}.atom")), &headers),
        None => not_found().await,
    }
}

async fn healthz(State(published): State<Published>) -> Response {
    let body = if published.is_empty() { "ok (nothing published yet)\n" } else { "ok\n" };
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "not found\n").into_response()
}

fn serve(doc: Option<Document>, headers: &HeaderMap) -> Response {
    let Some(doc) = doc else {
        return (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "no such feed\n").into_response();
    };
    let last_modified = httpdate::fmt_http_date(doc.last_modified.into());
    let mut response_headers = HeaderMap::new();
    let set = |h: &mut HeaderMap, name, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    set(&mut response_headers, header::ETAG, &doc.etag);
    set(&mut response_headers, header::LAST_MODIFIED, &last_modified);
    set(&mut response_headers, header::CACHE_CONTROL, "public, max-age=300");
    set(&mut response_headers, header::ACCESS_CONTROL_ALLOW_ORIGIN, "*");
    if not_modified(&doc, headers) {
        return (StatusCode::NOT_MODIFIED, response_headers).into_response();
    }
    set(&mut response_headers, header::CONTENT_TYPE, doc.content_type);
    (StatusCode::OK, response_headers, doc.bytes.as_ref().clone()).into_response()
}

fn not_modified(doc: &Document, headers: &HeaderMap) -> bool {
    if let Some(inm) = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        return inm.split(',').map(|t| t.trim().trim_start_matches("W/")).any(|t| t == "*" || t == doc.etag);
    }
    if let Some(ims) = headers.get(header::IF_MODIFIED_SINCE).and_then(|v| v.to_str().ok()) {
        if let Ok(since) = httpdate::parse_http_date(ims) {
            let since: DateTime<Utc> = since.into();
            return doc.last_modified.timestamp() <= since.timestamp();
        }
    }
    false
}
