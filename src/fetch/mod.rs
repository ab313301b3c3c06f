//! HTTP: one GET of one source, politely.
//!
//! - [`pacing`]: at most one request at a time per host, a gap between
//!   requests to one host, many hosts in parallel within a global limit.
//! - Conditional GET: the validators given are sent; a 304 may refresh them.
//! - Redirects are followed here, hop by hop (each hop paced for its host),
//!   up to a limit; loops are errors; a chain of only permanent redirects
//!   (301/308) is reported so the poller can move the source after it has
//!   seen it several times.
//! - The body is read as a stream up to a cap, and a body that stalls (no
//!   byte for `stall_timeout`) is abandoned, so a huge or endless response
//!   cannot exhaust memory or hold a poll forever.
//! - `Retry-After` (seconds or an HTTP date) and freshness (`Cache-Control:
//!   max-age`, `Expires`) are read and handed to the poller.
//! - The body is turned into UTF-8 honouring the charset ([`charset`]).
//!
//! The fetcher knows nothing of feeds: what the bytes mean is the
//! extractor's business.

pub mod charset;
pub mod pacing;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use url::Url;

use pacing::HostPool;

/// What the server told us to send back next time (RFC 9110 validators),
/// stored exactly as received.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Validators {
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }
}

/// The redirects a request went through, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redirects {
    /// (status, where it pointed) for each hop.
    pub hops: Vec<(u16, Url)>,
}

impl Redirects {
    /// Where a chain of permanent redirects (301/308 only) ends, if it is one.
    pub fn permanent_target(&self) -> Option<&Url> {
        let all_permanent = !self.hops.is_empty() && self.hops.iter().all(|(s, _)| matches!(s, 301 | 308));
        all_permanent.then(|| &self.hops[self.hops.len() - 1].1)
    }
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
    pub redirects: Redirects,
    /// How long the server says the response stays fresh.
    pub fresh_for: Option<Duration>,
}

/// The result of a successful exchange.
#[derive(Debug)]
pub enum FetchOutcome {
    /// 304: nothing changed since the validators we sent.
    NotModified {
        validators: Validators,
        redirects: Redirects,
        fresh_for: Option<Duration>,
    },
    Fetched(Fetched),
}

/// Why a fetch failed, in words an operator can act on.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("HTTP {status}{}{}", reason.map(|r| format!(" {r}")).unwrap_or_default(), retry_after.map(|d| format!(" (Retry-After: {}s)", d.as_secs())).unwrap_or_default())]
    Status { status: u16, reason: Option<&'static str>, retry_after: Option<Duration> },
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("the body stalled: no data for {0:?}")]
    Stalled(Duration),
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("body larger than the {limit} byte cap (max_body_bytes); read stopped")]
    TooLarge { limit: u64 },
    #[error("redirect loop: {0}")]
    RedirectLoop(String),
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
    #[error("redirect without a usable Location header (HTTP {0})")]
    BadRedirect(u16),
    #[error("refused: {0} is a private or local address, reached from a public source")]
    PrivateAddress(String),
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

    /// How long the server asked us to wait (429/503 with Retry-After).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            FetchError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// How the fetcher behaves; built from the daemon config.
#[derive(Debug, Clone)]
pub struct FetchSettings {
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub stall_timeout: Duration,
    pub max_body_bytes: u64,
    pub max_redirects: usize,
    /// Requests in flight at once, over all hosts.
    pub concurrency: usize,
    /// Gap between requests to one host, and per-host overrides.
    pub host_gap: Duration,
    pub host_gaps: BTreeMap<String, Duration>,
    /// Operator contact put into the User-Agent.
    pub contact: Option<String>,
    /// A proxy for every request (else the usual environment variables).
    pub proxy: Option<Url>,
}

/// Feed types first, HTML last (for autodiscovery and html sources).
const ACCEPT: &str = "application/atom+xml, application/rss+xml, application/feed+json, application/rdf+xml;q=0.9, \
                      application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.5, */*;q=0.1";

/// A shared HTTP client with its pacing; cheap to clone.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    settings: Arc<FetchSettings>,
    hosts: Arc<HostPool>,
    global: Arc<Semaphore>,
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
        let mut builder = reqwest::Client::builder()
            .user_agent(user_agent(settings.contact.as_deref()))
            .default_headers(headers)
            .timeout(settings.timeout)
            .connect_timeout(settings.connect_timeout)
            // Redirects are followed by `get`, hop by hop, paced per host.
            .redirect(reqwest::redirect::Policy::none())
            .gzip(true)
            .brotli(true)
            .deflate(true);
        if let Some(proxy) = &settings.proxy {
            let proxy = reqwest::Proxy::all(proxy.as_str()).map_err(|e| FetchError::Other(format!("proxy {proxy}: {e}")))?;
            builder = builder.proxy(proxy);
        }
        let client = builder.build().map_err(|e| FetchError::Other(format!("cannot build the HTTP client: {e}")))?;
        let hosts = Arc::new(HostPool::new(settings.host_gap, settings.host_gaps.clone()));
        let global = Arc::new(Semaphore::new(settings.concurrency.max(1)));
        Ok(Fetcher { client, settings: Arc::new(settings), hosts, global })
    }

    /// GETs `url`, sending `validators` so an unchanged resource costs a 304.
    /// `url` is trusted as configured; redirects must stay public if it is.
    pub async fn get(&self, url: &Url, validators: &Validators) -> Result<FetchOutcome, FetchError> {
        self.get_derived(url, validators, url).await
    }

    /// GETs a URL found through `origin` (the configured source address): a
    /// feed a page names, an article page, a next page. If `origin` is public,
    /// neither `url` nor any redirect may lead to a private or local address
    /// (SSRF: a stranger's page must not make Plenum fetch from the operator's network).
    pub async fn get_derived(&self, url: &Url, validators: &Validators, origin: &Url) -> Result<FetchOutcome, FetchError> {
        let guard = !is_private_host(origin);
        if guard && resolves_private(url).await {
            return Err(FetchError::PrivateAddress(url.to_string()));
        }
        let mut current = url.clone();
        let mut redirects = Redirects::default();
        let mut seen = vec![url.to_string()];
        loop {
            let response = self.request(&current, validators).await?;
            let status = response.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let location = response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok());
                let next = location.and_then(|l| current.join(l.trim()).ok()).filter(|u| matches!(u.scheme(), "http" | "https"));
                let Some(next) = next else { return Err(FetchError::BadRedirect(status.as_u16())) };
                if guard && resolves_private(&next).await {
                    return Err(FetchError::PrivateAddress(next.to_string()));
                }
                if seen.contains(&next.to_string()) {
                    seen.push(next.to_string());
                    return Err(FetchError::RedirectLoop(seen.join(" -> ")));
                }
                if redirects.hops.len() >= self.settings.max_redirects {
                    return Err(FetchError::TooManyRedirects(self.settings.max_redirects));
                }
                seen.push(next.to_string());
                redirects.hops.push((status.as_u16(), next.clone()));
                current = next;
                continue;
            }
            return self.read(response, validators, current, redirects).await;
        }
    }

    /// One request, in the host's turn and within the global limit.
    async fn request(&self, url: &Url, validators: &Validators) -> Result<reqwest::Response, FetchError> {
        let _turn = self.hosts.turn(&pacing::host_key(url)).await;
        let _permit = self.global.acquire().await.map_err(|_| FetchError::Other("the fetcher is shutting down".into()))?;
        let mut request = self.client.get(url.as_str());
        if let Some(etag) = &validators.etag {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(date) = &validators.last_modified {
            request = request.header(header::IF_MODIFIED_SINCE, date);
        }
        request.send().await.map_err(|e| self.describe(e))
    }

    async fn read(
        &self,
        response: reqwest::Response,
        sent: &Validators,
        final_url: Url,
        redirects: Redirects,
    ) -> Result<FetchOutcome, FetchError> {
        let status = response.status();
        let headers = response.headers().clone();
        let header_text = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok()).map(str::to_string);
        let received = Validators { etag: header_text(header::ETAG), last_modified: header_text(header::LAST_MODIFIED) };
        let fresh_for = freshness(&headers, Utc::now());
        if status == StatusCode::NOT_MODIFIED {
            // A 304 may refresh the validators (RFC 9111 4.3.4); keep ours where it sends none.
            let validators = Validators {
                etag: received.etag.or_else(|| sent.etag.clone()),
                last_modified: received.last_modified.or_else(|| sent.last_modified.clone()),
            };
            return Ok(FetchOutcome::NotModified { validators, redirects, fresh_for });
        }
        if !status.is_success() {
            let retry_after = header_text(header::RETRY_AFTER).and_then(|v| retry_after(&v, Utc::now()));
            return Err(FetchError::Status { status: status.as_u16(), reason: status.canonical_reason(), retry_after });
        }
        if sent.etag.is_some() && received.etag == sent.etag {
            // The server ignored If-None-Match but says it is the same representation.
            return Ok(FetchOutcome::NotModified { validators: received, redirects, fresh_for });
        }
        let content_type = header_text(header::CONTENT_TYPE);
        let limit = self.settings.max_body_bytes;
        if response.content_length().is_some_and(|len| len > limit) {
            return Err(FetchError::TooLarge { limit });
        }
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        let stall = self.settings.stall_timeout;
        loop {
            let chunk = match tokio::time::timeout(stall, stream.next()).await {
                Err(_) => return Err(FetchError::Stalled(stall)),
                Ok(None) => break,
                Ok(Some(chunk)) => chunk.map_err(|e| self.describe(e))?,
            };
            if body.len() as u64 + chunk.len() as u64 > limit {
                return Err(FetchError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        let body = charset::to_utf8(body, content_type.as_deref());
        Ok(FetchOutcome::Fetched(Fetched {
            status: status.as_u16(),
            final_url,
            content_type,
            body,
            validators: received,
            redirects,
            fresh_for,
        }))
    }

    fn describe(&self, e: reqwest::Error) -> FetchError {
        if e.is_timeout() {
            FetchError::Timeout(self.settings.timeout)
        } else if e.is_connect() {
            FetchError::Connect(error_chain(&e))
        } else {
            FetchError::Other(error_chain(&e))
        }
    }
}

/// True for loopback, private (RFC 1918, unique local), link-local, CGNAT,
/// unspecified and `localhost` hosts. Names that resolve to such addresses
/// are not caught here (see SECURITY.md).
pub fn is_private_host(url: &Url) -> bool {
    use std::net::IpAddr;
    let ip = match url.host() {
        Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            return name == "localhost" || name.ends_with(".localhost") || name.ends_with(".local") || name.ends_with(".internal");
        }
        None => return true,
    };
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback() || v4.is_private() || v4.is_link_local())
        }
    }
}

/// True when `url`'s host is private by name or address, or when its name
/// resolves to any private address (a public name pointing at 127.0.0.1).
/// The fetch resolves the name again, so a resolver that changes its answer
/// within seconds could still slip through (see SECURITY.md).
async fn resolves_private(url: &Url) -> bool {
    if is_private_host(url) {
        return true;
    }
    let Some(url::Host::Domain(name)) = url.host() else { return false };
    let port = url.port_or_known_default().unwrap_or(80);
    match tokio::net::lookup_host((name, port)).await {
        Ok(addrs) => addrs.into_iter().any(|addr| is_private_ip(addr.ip())),
        // Unresolvable: the fetch itself will fail with the DNS error.
        Err(_) => false,
    }
}

fn is_private_ip(ip: std::net::IpAddr) -> bool {
    let host = match ip {
        std::net::IpAddr::V4(v4) => url::Host::<&str>::Ipv4(v4),
        std::net::IpAddr::V6(v6) => url::Host::<&str>::Ipv6(v6),
    };
    Url::parse(&format!("http://{host}/")).is_ok_and(|u| is_private_host(&u))
}

/// `Retry-After`: delay-seconds or an HTTP date (RFC 9110 10.2.3).
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at: DateTime<Utc> = httpdate::parse_http_date(value).ok()?.into();
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// How long a response stays fresh: `Cache-Control: max-age` (or `s-maxage`),
/// else `Expires` (RFC 9111 4.2.1). `no-cache`/`no-store` say nothing.
pub fn freshness(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    if let Some(cc) = headers.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()) {
        let max_age = cc.split(',').find_map(|d| {
            let (name, value) = d.trim().split_once('=')?;
            matches!(name.trim().to_ascii_lowercase().as_str(), "max-age" | "s-maxage")
                .then(|| value.trim().trim_matches('"').parse::<u64>().ok())?
        });
        if let Some(seconds) = max_age {
            return Some(Duration::from_secs(seconds));
        }
    }
    let expires = headers.get(header::EXPIRES).and_then(|v| v.to_str().ok())?;
    let at: DateTime<Utc> = httpdate::parse_http_date(expires).ok()?.into();
    (at - now).to_std().ok()
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
    use chrono::TimeZone;

    #[test]
    fn user_agent_names_plenum_version_project_and_contact() {
        let ua = user_agent(Some("ops@example.org"));
        assert!(ua.starts_with(&format!("Plenum/{} (+http", env!("CARGO_PKG_VERSION"))), "{ua}");
        assert!(ua.ends_with("; ops@example.org)"), "{ua}");
        assert!(!user_agent(None).contains(';'));
    }

    #[test]
    fn status_errors_read_like_http() {
        let e = FetchError::Status { status: 500, reason: Some("Internal Server Error"), retry_after: None };
        assert_eq!(e.to_string(), "HTTP 500 Internal Server Error");
        let e = FetchError::Status { status: 429, reason: Some("Too Many Requests"), retry_after: Some(Duration::from_secs(120)) };
        assert_eq!(e.to_string(), "HTTP 429 Too Many Requests (Retry-After: 120s)");
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap();
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(retry_after("Sun, 22 Nov 2026 10:30:00 GMT", now), Some(Duration::from_secs(1800)));
        assert_eq!(retry_after("Sun, 22 Nov 2026 09:30:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(retry_after("soon", now), None);
    }

    #[test]
    fn freshness_from_cache_control_or_expires() {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap();
        let mut h = HeaderMap::new();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
        h.insert(header::EXPIRES, HeaderValue::from_static("Sun, 22 Nov 2026 10:05:00 GMT"));
        assert_eq!(freshness(&h, now), Some(Duration::from_secs(3600)));
        h.remove(header::CACHE_CONTROL);
        assert_eq!(freshness(&h, now), Some(Duration::from_secs(300)));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        assert_eq!(freshness(&h, now), Some(Duration::from_secs(300)));
        assert_eq!(freshness(&HeaderMap::new(), now), None);
    }

    #[test]
    fn private_and_local_hosts_are_recognised() {
        let private = [
            "http://127.0.0.1/",
            "http://10.1.2.3/",
            "http://192.168.0.1:8080/",
            "http://172.16.5.4/",
            "http://169.254.169.254/latest/meta-data/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://localhost:631/",
            "http://printer.local/",
            "http://metadata.google.internal/",
        ];
        for u in private {
            assert!(is_private_host(&Url::parse(u).unwrap()), "{u}");
        }
        for u in ["https://www.pcp.pt/", "http://8.8.8.8/", "http://172.32.0.1/", "http://[2001:db8::1]/", "https://localhost.example.org/"]
        {
            assert!(!is_private_host(&Url::parse(u).unwrap()), "{u}");
        }
    }

    #[tokio::test]
    async fn names_that_resolve_to_private_addresses_are_private() {
        // `localhost` resolves on every machine, to loopback: refused by name and by address.
        assert!(resolves_private(&Url::parse("http://localhost:8080/x").unwrap()).await);
        assert!(resolves_private(&Url::parse("http://127.0.0.1/x").unwrap()).await);
        assert!(!resolves_private(&Url::parse("http://8.8.8.8/x").unwrap()).await);
        assert!(is_private_ip("10.0.0.1".parse().unwrap()) && is_private_ip("::1".parse().unwrap()));
        assert!(!is_private_ip("1.1.1.1".parse().unwrap()));
    }

    #[test]
    fn only_all_permanent_chains_move_a_source() {
        let u = |s: &str| Url::parse(s).unwrap();
        let chain = |hops: &[(u16, &str)]| Redirects { hops: hops.iter().map(|(s, l)| (*s, u(l))).collect() };
        assert_eq!(chain(&[(301, "https://a/"), (308, "https://b/")]).permanent_target(), Some(&u("https://b/")));
        assert_eq!(chain(&[(301, "https://a/"), (302, "https://b/")]).permanent_target(), None);
        assert_eq!(chain(&[(307, "https://a/")]).permanent_target(), None);
        assert_eq!(chain(&[]).permanent_target(), None);
    }
}
