//! HTTP: the published documents, from memory, with caching headers.
//!
//! Routes (GET and HEAD; other methods get 405):
//! - `/` (and `/index.html`): the headlines page; `/parties/{id}`,
//!   `/parties/{id}.html`, `/countries/{cc}.html`, `/languages/{lang}.html`.
//! - `/feed.{atom,json,rss}`, `/parties/{id}.{ext}`, `/countries/{cc}.{ext}`,
//!   `/languages/{lang}.{ext}`: the feeds.
//! - `/opml` and `/feeds.opml`: every feed as OPML; `/healthz`.
//!
//! A request without options is answered from the published copy in
//! memory; one with options (`limit`, `party`, `country`, `lang`, `q`,
//! `before`, `after`) is rendered for it from the store, bounded (see
//! [`crate::publish::paging`]), and only for a document that exists. A
//! path is only ever a lookup key in the published map, after its segments
//! are checked to be slugs: nothing from a request reaches the filesystem.
//!
//! Responses carry a strong `ETag` (weakened when compressed),
//! `Last-Modified`, `Cache-Control: public, max-age` (the poll interval),
//! and `Access-Control-Allow-Origin: *`; `If-None-Match` and
//! `If-Modified-Since` get 304 (RFC 9110 13.2.2: the ETag check wins when
//! both are sent). Bodies are compressed with gzip or brotli as
//! `Accept-Encoding` asks. Errors are 404 or 400 with a one-line text.

pub mod sealed;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};

use crate::config::PartyId;
use crate::publish::{self, Document, Format, Published, Query, Scope};

/// `max-age` before the first publish.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);

/// The router over the published documents.
pub fn router(published: Published) -> Router {
    // Each request takes its own handle on the state: one `Arc` to count,
    // not the dozen inside `Published`.
    Router::new().route("/", get(root)).route("/{*path}", get(document)).fallback(not_found).with_state(Arc::new(published))
}

async fn root(State(published): State<Arc<Published>>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    answer(&published, Target::Page(Scope::Merged, Format::Html), query, &headers).await
}

async fn document(
    State(published): State<Arc<Published>>,
    Path(path): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    match resolve(&path) {
        Some(target) => answer(&published, target, query, &headers).await,
        None => not_found().await,
    }
}

async fn not_found() -> Response {
    plain(StatusCode::NOT_FOUND, "not found\n")
}

fn plain(status: StatusCode, message: &str) -> Response {
    let mut response = (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message.to_string()).into_response();
    response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

/// What a path names.
#[derive(Debug, PartialEq)]
enum Target {
    Page(Scope, Format),
    Opml,
}

/// Reads a request path; `None` for anything that is not a document.
fn resolve(path: &str) -> Option<Target> {
    let segments: Vec<&str> = path.split('/').collect();
    let split = |file: &str| -> Option<(String, Format)> {
        match file.rsplit_once('.') {
            Some((name, ext)) => Some((name.to_string(), Format::from_extension(ext)?)),
            None => Some((file.to_string(), Format::Html)),
        }
    };
    match segments.as_slice() {
        ["index.html"] => Some(Target::Page(Scope::Merged, Format::Html)),
        ["opml"] | ["feeds.opml"] => Some(Target::Opml),
        [file] => match split(file)? {
            (name, format) if name == "feed" && format != Format::Html => Some(Target::Page(Scope::Merged, format)),
            _ => None,
        },
        [kind, file] => {
            let (name, format) = split(file)?;
            let name = name.to_ascii_lowercase();
            let scope = match *kind {
                "parties" => Scope::Party(PartyId::parse(&name).ok()?),
                "countries" if name.len() == 2 && name.chars().all(|c| c.is_ascii_lowercase()) => Scope::Country(name),
                "languages" if publish::language::primary_tag(&name).as_deref() == Some(name.as_str()) || name == "und" => {
                    Scope::Language(name)
                }
                _ => return None,
            };
            Some(Target::Page(scope, format))
        }
        _ => None,
    }
}

async fn answer(published: &Published, target: Target, query: Option<String>, headers: &HeaderMap) -> Response {
    let max_age = published.context().map_or(DEFAULT_MAX_AGE, |c| c.max_age);
    let (scope, format) = match target {
        Target::Opml => return serve(published.get(publish::opml::PATH), headers, max_age),
        Target::Page(scope, format) => (scope, format),
    };
    let path = scope.path(format);
    if query.as_deref().is_none_or(str::is_empty) {
        // A reader asking whether a published document changed gets its
        // answer without the document being read back from its file.
        if let Some((_, _, validators)) = published.validators(&path).filter(|(e, l, _)| is_fresh(e, *l, headers)) {
            return not_modified(&validators, preferred_encoding(headers).is_some(), max_age);
        }
    }
    let plain_doc = match published.get(&path) {
        Some(doc) => doc,
        // At start-up, before every document is published: rendered on request.
        None if !published.is_complete() => {
            let (published, scope) = (published.clone(), scope.clone());
            match tokio::task::spawn_blocking(move || published.render_missing(&scope, format)).await {
                Ok(Some(Ok(doc))) => doc,
                Ok(None) => return plain(StatusCode::NOT_FOUND, "no such feed or page\n"),
                Ok(Some(Err(e))) => {
                    tracing::error!(path, error = %e, "cannot render a requested page");
                    return plain(StatusCode::INTERNAL_SERVER_ERROR, "this page cannot be rendered now; the log says why\n");
                }
                Err(e) => {
                    tracing::error!(path, error = %e, "rendering task died");
                    return plain(StatusCode::INTERNAL_SERVER_ERROR, "this page cannot be rendered now\n");
                }
            }
        }
        None => return plain(StatusCode::NOT_FOUND, "no such feed or page\n"),
    };
    let query_text = query.unwrap_or_default();
    if query_text.is_empty() {
        return serve(Some(plain_doc), headers, max_age);
    }
    let Some(context) = published.context() else {
        return serve(Some(plain_doc), headers, max_age);
    };
    let query = match Query::parse(&context.config, &query_text) {
        Ok(q) => q,
        Err(e) => return plain(StatusCode::BAD_REQUEST, &format!("{e}\n")),
    };
    if query.is_plain() {
        return serve(Some(plain_doc), headers, max_age);
    }
    let rendered = tokio::task::spawn_blocking(move || publish::render_request(&context, &scope, format, &query)).await;
    match rendered {
        Ok(Ok(doc)) => serve(Some(doc), headers, max_age),
        Ok(Err(e)) => {
            tracing::error!(path, error = %e, "cannot render a requested page");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "this page cannot be rendered now; the log says why\n")
        }
        Err(e) => {
            tracing::error!(path, error = %e, "rendering task died");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "this page cannot be rendered now\n")
        }
    }
}

/// Answers with `doc`: 304 when the client has it; else the bytes, or the
/// compressed copy the client accepts (made once per document, not per
/// request). The only other answers are one-line errors, not worth
/// compressing.
fn serve(doc: Option<Document>, headers: &HeaderMap, max_age: Duration) -> Response {
    let Some(doc) = doc else {
        return plain(StatusCode::NOT_FOUND, "no such feed\n");
    };
    let encoding = preferred_encoding(headers);
    if is_fresh(&doc.etag, doc.last_modified, headers) {
        return not_modified(&doc.headers, encoding.is_some(), max_age);
    }
    let encoded = match encoding {
        Some(encoding @ "br") => Some((encoding, doc.brotli())),
        Some(encoding @ "gzip") => Some((encoding, doc.gzip())),
        _ => None,
    }
    .filter(|(_, bytes)| !bytes.is_empty());
    let mut response_headers = caching_headers(&doc.headers, encoded.is_some(), max_age);
    response_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(doc.content_type));
    let body = match encoded {
        Some((encoding, bytes)) => {
            response_headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
            bytes
        }
        None => doc.bytes.clone(),
    };
    (StatusCode::OK, response_headers, axum::body::Body::from(body)).into_response()
}

/// brotli, then gzip, as the client accepts them (`q=0` refuses).
fn preferred_encoding(headers: &HeaderMap) -> Option<&'static str> {
    let accept = headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok())?;
    let accepts = |name: &str| {
        accept.split(',').any(|part| {
            let mut pieces = part.split(';');
            let coding = pieces.next().unwrap_or("").trim();
            let q = pieces.find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok())).unwrap_or(1.0);
            (coding.eq_ignore_ascii_case(name) || coding == "*") && q > 0.0
        })
    };
    if accepts("br") {
        Some("br")
    } else if accepts("gzip") {
        Some("gzip")
    } else {
        None
    }
}

fn set(h: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(name, v);
    }
}

/// 304 for a client whose copy is current: the headers its 200 carried.
fn not_modified(validators: &publish::ValidatorHeaders, compressed: bool, max_age: Duration) -> Response {
    (StatusCode::NOT_MODIFIED, caching_headers(validators, compressed, max_age)).into_response()
}

/// The headers every answer about a document carries, 304s included. A
/// compressed body is another representation: its ETag must not claim byte
/// equality with the document's (RFC 9110 8.8.3), so it is weak, in the 304
/// that confirms it too (`If-None-Match` compares weakly).
fn caching_headers(validators: &publish::ValidatorHeaders, compressed: bool, max_age: Duration) -> HeaderMap {
    let mut h = HeaderMap::with_capacity(8);
    h.insert(header::ETAG, if compressed { validators.weak_etag.clone() } else { validators.etag.clone() });
    h.insert(header::LAST_MODIFIED, validators.last_modified.clone());
    set(&mut h, header::CACHE_CONTROL, &format!("public, max-age={}", max_age.as_secs()));
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    // Every document is also served compressed, to clients that ask.
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    h
}

/// Whether the client's copy (its `If-None-Match`, else its
/// `If-Modified-Since`) is the document with these validators.
fn is_fresh(etag: &str, last_modified: DateTime<Utc>, headers: &HeaderMap) -> bool {
    if let Some(inm) = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        return inm.split(',').map(|t| t.trim().trim_start_matches("W/")).any(|t| t == "*" || t == etag);
    }
    if let Some(ims) = headers.get(header::IF_MODIFIED_SINCE).and_then(|v| v.to_str().ok()) {
        if let Ok(since) = httpdate::parse_http_date(ims) {
            let since: DateTime<Utc> = since.into();
            return last_modified.timestamp() <= since.timestamp();
        }
    }
    false
}

/// How long open connections get to finish when the server stops.
const DRAIN: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown` resolves, then lets open
/// connections finish (up to [`DRAIN`]). Like `axum::serve`, plus a header
/// read timeout (`header_timeout`: a slowloris client that trickles its
/// headers is cut off and its connection freed); oversized headers get 431
/// and over-long URLs 414 (hyper's limits). HTTP/1.1 only: HTTP/2 and TLS
/// are a reverse proxy's job, and leaving out the HTTP/2 code (client and
/// server) keeps a megabyte of machine code out of the daemon's memory.
pub async fn run_server(
    listener: tokio::net::TcpListener,
    app: Router,
    header_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;

    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors, say: wait instead of spinning.
                tracing::warn!(error = %e, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // A body sent with sendfile after its head must not wait on Nagle's
        // algorithm for the client's delayed ACK (40 ms per response).
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.timer(TokioTimer::new()).header_read_timeout(header_timeout);
        let connection = builder.serve_connection(TokioIo::new(sealed::Stream(stream)), TowerToHyperService::new(app.clone()));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown()).await.is_err() {
        tracing::warn!("some HTTP connections were still open at shutdown and were closed");
    }
}

#[cfg(test)]
mod encoding_tests {
    use super::*;

    fn accept(value: &str) -> Option<&'static str> {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
        preferred_encoding(&h)
    }

    #[test]
    fn brotli_then_gzip_as_the_client_accepts() {
        assert_eq!(accept("gzip, deflate, br"), Some("br"));
        assert_eq!(accept("gzip, deflate"), Some("gzip"));
        assert_eq!(accept("br;q=0, gzip"), Some("gzip"));
        assert_eq!(accept("gzip;q=0.0, identity"), None);
        assert_eq!(accept("*"), Some("br"));
        assert_eq!(preferred_encoding(&HeaderMap::new()), None);
    }

    #[test]
    fn compressed_copies_are_made_once_and_decompress_to_the_document() {
        use std::io::Read;
        let doc = Document::new("<feed>Ανακοίνωση</feed>".repeat(100).into_bytes(), "application/atom+xml", Utc::now());
        let gz = doc.gzip();
        assert!(gz.as_ptr() == doc.gzip().as_ptr(), "made once");
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(gz.as_ref()).read_to_end(&mut out).unwrap();
        assert_eq!(out, *doc.bytes);
        let mut out = Vec::new();
        brotli::Decompressor::new(doc.brotli().as_ref(), 4096).read_to_end(&mut out).unwrap();
        assert_eq!(out, *doc.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_only_to_documents() {
        let pcp = || Scope::Party(PartyId::parse("pcp").unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(resolve("feed.json"), Some(Target::Page(Scope::Merged, Format::Json)));
        assert_eq!(resolve("parties/pcp.atom"), Some(Target::Page(pcp(), Format::Atom)));
        assert_eq!(resolve("parties/pcp"), Some(Target::Page(pcp(), Format::Html)));
        assert_eq!(resolve("countries/GR.rss"), Some(Target::Page(Scope::Country("gr".into()), Format::Rss)));
        assert_eq!(resolve("languages/el.html"), Some(Target::Page(Scope::Language("el".into()), Format::Html)));
        assert_eq!(resolve("opml"), Some(Target::Opml));
        for bad in
            ["../etc/passwd", "parties/../feed.atom", "parties/%2e%2e.atom", "parties/pcp.exe", "feed", "a/b/c", "countries/por.atom", ""]
        {
            assert_eq!(resolve(bad), None, "{bad}");
        }
    }
}
