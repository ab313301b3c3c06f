//! HTTP: one GET of one source, politely.
//!
//! The fetcher sends the validators it was given (conditional GET), reads
//! the body as a stream up to a cap so a huge or endless response cannot
//! exhaust memory, and turns the body into UTF-8 honouring the charset of
//! the HTTP header, the BOM and the XML prolog ([`charset`]). It knows
//! nothing of feeds: what the bytes mean is the extractor's business.

pub mod charset;

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use url::Url;

/// What the server told us to send back next time (RFC 9110 validators),
/// stored exactly as received.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A response worth reading.
#[derive(Debug)]
pub struct Fetched {
    pub status: u16,
    /// Where the body came from after redirects; relative links resolve here.
    pub final_url: Url,
    pub content_type: Option<String>,
    /// The body as UTF-8 (transcoded if it was in another charset).
    pub body: Vec<u8>,
    pub validators: Validators,
}

/// The result of a successful exchange.
#[derive(Debug)]
pub enum FetchOutcome {
    /// 304: nothing changed since the validators we sent.
    NotModified {
        validators: Validators,
    },
    Fetched(Fetched),
}

/// Why a fetch failed, in words an operator can act on.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("HTTP {status}{}", reason.map(|r| format!(" {r}")).unwrap_or_default())]
    Status { status: u16, reason: Option<&'static str> },
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("body larger than the {limit} byte cap (max_body_bytes); read stopped")]
    TooLarge { limit: u64 },
    #[error("{0}")]
    Other(String),
}

impl FetchError {
    /// The HTTP status, when the server answered one.
    pub fn status(&self) -> Option<u16> {
        match self {
            FetchError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// How the fetcher behaves; built from the daemon config.
#[derive(Debug, Clone)]
pub struct FetchSettings {
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_body_bytes: u64,
    /// Operator contact put into the User-Agent.
    pub contact: Option<String>,
}

/// Feed types first, HTML last (for autodiscovery and html sources).
const ACCEPT: &str = "application/atom+xml, application/rss+xml, application/feed+json, application/rdf+xml;q=0.9, \
                      application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.5, */*;q=0.1";

/// A shared HTTP client; cheap to clone.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    settings: FetchSettings,
}

/// `Plenum/<version> (+<project URL>; <contact>)`.
pub fn user_agent(contact: Option<&str>) -> String {
    let mut ua = format!("Plenum/{} (+{}", env!("CARGO_PKG_VERSION"), env!("CARGO_PKG_REPOSITORY"));
    if let Some(contact) = contact {
        ua.push_str("; ");
        ua.push_str(contact);
    }
    ua.push(')');
    ua
}

impl Fetcher {
    pub fn new(settings: FetchSettings) -> Result<Self, FetchError> {
        // reqwest is built without a default crypto provider; install ring once.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static(ACCEPT));
        let client = reqwest::Client::builder()
            .user_agent(user_agent(settings.contact.as_deref()))
            .default_headers(headers)
            .timeout(settings.timeout)
            .connect_timeout(settings.connect_timeout)
            .redirect(reqwest::redirect::Policy::limited(10))
            .gzip(true)
            .brotli(true)
            .deflate(true)
            .build()
            .map_err(|e| FetchError::Other(format!("cannot build the HTTP client: {e}")))?;
        Ok(Fetcher { client, settings })
    }

    /// GETs `url`, sending `validators` so an unchanged resource costs a 304.
    pub async fn get(&self, url: &Url, validators: &Validators) -> Result<FetchOutcome, FetchError> {
        let mut request = self.client.get(url.as_str());
        if let Some(etag) = &validators.etag {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(date) = &validators.last_modified {
            request = request.header(header::IF_MODIFIED_SINCE, date);
        }
        let response = request.send().await.map_err(|e| self.describe(e))?;
        let status = response.status();
        let header_text = |name| response.headers().get(name).and_then(|v: &HeaderValue| v.to_str().ok()).map(str::to_string);
        let received = Validators { etag: header_text(header::ETAG), last_modified: header_text(header::LAST_MODIFIED) };
        if status == StatusCode::NOT_MODIFIED {
            // A 304 may refresh the validators (RFC 9111 4.3.4); keep ours where it sends none.
            let validators = Validators {
                etag: received.etag.or_else(|| validators.etag.clone()),
                last_modified: received.last_modified.or_else(|| validators.last_modified.clone()),
            };
            return Ok(FetchOutcome::NotModified { validators });
        }
        if !status.is_success() {
            return Err(FetchError::Status { status: status.as_u16(), reason: status.canonical_reason() });
        }
        let content_type = header_text(header::CONTENT_TYPE);
        let final_url = Url::parse(response.url().as_str()).unwrap_or_else(|_| url.clone());
        let limit = self.settings.max_body_bytes;
        if response.content_length().is_some_and(|len| len > limit) {
            return Err(FetchError::TooLarge { limit });
        }
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.describe(e))?;
            if body.len() as u64 + chunk.len() as u64 > limit {
                return Err(FetchError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        let body = charset::to_utf8(body, content_type.as_deref());
        Ok(FetchOutcome::Fetched(Fetched { status: status.as_u16(), final_url, content_type, body, validators: received }))
    }

    fn describe(&self, e: reqwest::Error) -> FetchError {
        if e.is_timeout() {
            FetchError::Timeout(self.settings.timeout)
        } else if e.is_connect() {
            FetchError::Connect(error_chain(&e))
        } else if e.is_redirect() {
            FetchError::Other(format!("redirects: {}", error_chain(&e)))
        } else {
            FetchError::Other(error_chain(&e))
        }
    }
}

/// The error's causes in one line ("dns error: ...: Name or service not
/// known"), without reqwest's and hyper's wrappers, which only repeat the
/// URL the report already names.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cause: Option<&dyn std::error::Error> = Some(e);
    while let Some(c) = cause {
        let text = c.to_string();
        let wrapper = text.starts_with("error sending request")
            || text.starts_with("client error (")
            || text.starts_with("error decoding response body");
        if !wrapper && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cause = c.source();
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agent_names_plenum_version_project_and_contact() {
        let ua = user_agent(Some("ops@example.org"));
        assert!(ua.starts_with(&format!("Plenum/{} (+http", env!("CARGO_PKG_VERSION"))), "{ua}");
        assert!(ua.ends_with("; ops@example.org)"), "{ua}");
        assert!(!user_agent(None).contains(';'));
    }

    #[test]
    fn status_errors_read_like_http() {
        assert_eq!(FetchError::Status { status: 500, reason: Some("Internal Server Error") }.to_string(), "HTTP 500 Internal Server Error");
        assert_eq!(FetchError::Status { status: 599, reason: None }.to_string(), "HTTP 599");
    }
}
