//! A local HTTP/1.1 server standing in for the parties' websites.
//!
//! Plain `std` threads and a hand-parsed request head keep it independent of
//! the async stack under test. Every response carries `Connection: close`, so
//! a client that wants keep-alive simply opens a new connection next time.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One request as the server saw it, and what it answered.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// Header names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    pub response_status: u16,
    /// When the request head had been read, and when the response was written.
    pub started: std::time::Instant,
    pub finished: std::time::Instant,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }
}

/// A canned response: status, headers, body.
pub type Canned<'a> = (u16, &'a [(&'a str, &'a str)], &'a [u8]);

/// Validators attached to a route; requests that carry them get a 304.
#[derive(Clone, Debug)]
pub struct Validators {
    pub etag: String,
    pub last_modified: String,
}

#[derive(Clone, Debug)]
struct Route {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    validators: Option<Validators>,
    /// How the body goes out (all at once unless a test asks otherwise).
    delivery: Delivery,
}

/// Misbehaviour on purpose.
#[derive(Clone, Debug, Default)]
pub enum Delivery {
    #[default]
    AtOnce,
    /// Wait this long before answering at all.
    Delayed(Duration),
    /// One byte of the body per interval, Content-Length announced.
    Drip(Duration),
    /// This many bytes of filler, streamed; Content-Length only if `announce`.
    Huge { size: u64, announce: bool },
}

#[derive(Default)]
struct Shared {
    /// Responses per path: the first is used and dropped while more follow.
    routes: Mutex<HashMap<String, Vec<Route>>>,
    log: Mutex<Vec<RecordedRequest>>,
    stopping: AtomicBool,
}

pub struct FixtureServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    /// Bumped on every conditional route so each version gets a fresh
    /// `Last-Modified`.
    version: AtomicU64,
}

impl FixtureServer {
    /// Binds 127.0.0.1 on a free port and starts answering.
    pub fn start() -> FixtureServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fixture server");
        let addr = listener.local_addr().expect("fixture server address");
        let shared = Arc::new(Shared::default());
        let accept_shared = Arc::clone(&shared);
        thread::spawn(move || {
            for stream in listener.incoming() {
                if accept_shared.stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let conn_shared = Arc::clone(&accept_shared);
                thread::spawn(move || handle_connection(stream, &conn_shared));
            }
        });
        FixtureServer { addr, shared, version: AtomicU64::new(0) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Serves `body` at `path` exactly as given: no validators, no 304s.
    pub fn set(&self, path: &str, status: u16, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) {
        let route = Route {
            status,
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            body: body.into(),
            validators: None,
            delivery: Delivery::AtOnce,
        };
        self.insert(path, route);
    }

    /// Serves `body` at `path`, delivered as `delivery` says.
    pub fn set_delivered(&self, path: &str, status: u16, headers: &[(&str, &str)], body: impl Into<Vec<u8>>, delivery: Delivery) {
        let route = Route {
            status,
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            body: body.into(),
            validators: None,
            delivery,
        };
        self.insert(path, route);
    }

    /// Answers the requests to `path` with these responses in turn; the last one repeats.
    pub fn set_sequence(&self, path: &str, responses: &[Canned<'_>]) {
        let routes: Vec<Route> = responses
            .iter()
            .map(|(status, headers, body)| Route {
                status: *status,
                headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
                body: body.to_vec(),
                validators: None,
                delivery: Delivery::AtOnce,
            })
            .collect();
        assert!(path.starts_with('/') && !routes.is_empty());
        self.shared.routes.lock().unwrap().insert(path.to_string(), routes);
    }

    /// Serves `body` with 200, an `ETag` and a `Last-Modified`, and answers
    /// 304 to requests whose `If-None-Match` (or, lacking that,
    /// `If-Modified-Since`) matches. Returns the validators it will send.
    pub fn set_conditional(&self, path: &str, content_type: &str, body: impl Into<Vec<u8>>) -> Validators {
        let body = body.into();
        let version = self.version.fetch_add(1, Ordering::SeqCst) + 1;
        // A fixed past instant plus one hour per version: deterministic, and
        // every new version is later than the one before.
        let modified = UNIX_EPOCH + Duration::from_secs(1_795_000_000 + version * 3600);
        let validators =
            Validators { etag: format!("\"{}-{:016x}\"", version, fnv1a(&body)), last_modified: httpdate::fmt_http_date(modified) };
        let route = Route {
            status: 200,
            headers: vec![("Content-Type".to_string(), content_type.to_string())],
            body,
            validators: Some(validators.clone()),
            delivery: Delivery::AtOnce,
        };
        self.insert(path, route);
        validators
    }

    /// Serves a file from `tests/fixtures/` with validators, with a content
    /// type chosen from its name.
    pub fn serve_fixture(&self, path: &str, fixture: &str) -> Validators {
        self.set_conditional(path, content_type_for(fixture), read_fixture(fixture))
    }

    /// Serves a file from `tests/fixtures/` without validators, so every poll
    /// downloads and parses it again.
    pub fn serve_fixture_unconditional(&self, path: &str, fixture: &str) {
        self.set(path, 200, &[("Content-Type", content_type_for(fixture))], read_fixture(fixture));
    }

    /// Makes every route known so far answer `status` with a short error page.
    pub fn fail_everything(&self, status: u16) {
        let mut routes = self.shared.routes.lock().unwrap();
        for route in routes.values_mut() {
            *route = vec![Route {
                status,
                headers: vec![("Content-Type".to_string(), "text/plain; charset=utf-8".to_string())],
                body: format!("{status} error from the fixture server\n").into_bytes(),
                validators: None,
                delivery: Delivery::AtOnce,
            }];
        }
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.log.lock().unwrap().clone()
    }

    pub fn requests_for(&self, path: &str) -> Vec<RecordedRequest> {
        self.requests().into_iter().filter(|r| r.path == path).collect()
    }

    fn insert(&self, path: &str, route: Route) {
        assert!(path.starts_with('/'), "route paths start with '/': {path}");
        self.shared.routes.lock().unwrap().insert(path.to_string(), vec![route]);
    }
}

impl Drop for FixtureServer {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

pub fn fixture_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures").join(name)
}

pub fn read_fixture(name: &str) -> Vec<u8> {
    let path = fixture_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read fixture {}: {e}", path.display()))
}

fn content_type_for(fixture: &str) -> &'static str {
    if fixture.starts_with("rss2-") {
        "application/rss+xml; charset=utf-8"
    } else if fixture.starts_with("atom-") {
        "application/atom+xml; charset=utf-8"
    } else if fixture.ends_with(".json") {
        "application/feed+json; charset=utf-8"
    } else if fixture.ends_with(".html") {
        "text/html; charset=utf-8"
    } else {
        "application/octet-stream"
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

fn handle_connection(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut writer = stream;

    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let path = target.split('?').next().unwrap_or("/").to_string();

    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let content_length = headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.parse::<u64>().ok()).unwrap_or(0);
    if content_length > 0 {
        let mut sink = Vec::new();
        let _ = (&mut reader).take(content_length).read_to_end(&mut sink);
    }

    let started = std::time::Instant::now();
    let route = {
        let mut routes = shared.routes.lock().unwrap();
        routes.get_mut(&path).and_then(|list| if list.len() > 1 { Some(list.remove(0)) } else { list.first().cloned() })
    };
    let delivery = route.as_ref().map(|r| r.delivery.clone()).unwrap_or_default();
    if let Delivery::Delayed(wait) = delivery {
        thread::sleep(wait);
    }
    let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    let (status, mut response_headers, body) = match route {
        None => (404, vec![("Content-Type".to_string(), "text/plain".to_string())], b"no such fixture\n".to_vec()),
        Some(route) => match &route.validators {
            Some(v) if not_modified(v, header("if-none-match"), header("if-modified-since")) => {
                (304, vec![("ETag".to_string(), v.etag.clone()), ("Last-Modified".to_string(), v.last_modified.clone())], Vec::new())
            }
            Some(v) => {
                let mut h = route.headers.clone();
                h.push(("ETag".to_string(), v.etag.clone()));
                h.push(("Last-Modified".to_string(), v.last_modified.clone()));
                (route.status, h, route.body.clone())
            }
            None => (route.status, route.headers.clone(), route.body.clone()),
        },
    };

    let date = httpdate::fmt_http_date(SystemTime::now());
    response_headers.push(("Date".to_string(), date));
    response_headers.push(("Connection".to_string(), "close".to_string()));
    match delivery {
        Delivery::Huge { size, announce: true } => response_headers.push(("Content-Length".to_string(), size.to_string())),
        Delivery::Huge { announce: false, .. } => {}
        _ if status != 304 => response_headers.push(("Content-Length".to_string(), body.len().to_string())),
        _ => {}
    }
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in &response_headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = writer.write_all(head.as_bytes());
    if method != "HEAD" && status != 304 {
        match delivery {
            Delivery::Drip(every) => {
                for byte in &body {
                    if writer.write_all(&[*byte]).and_then(|()| writer.flush()).is_err() {
                        break;
                    }
                    thread::sleep(every);
                }
            }
            Delivery::Huge { size, .. } => {
                let chunk = vec![b'x'; 64 * 1024];
                let mut sent = 0u64;
                while sent < size {
                    let n = chunk.len().min((size - sent) as usize);
                    if writer.write_all(&chunk[..n]).is_err() {
                        break;
                    }
                    sent += n as u64;
                }
            }
            _ => {
                let _ = writer.write_all(&body);
            }
        }
    }
    let _ = writer.flush();
    shared.log.lock().unwrap().push(RecordedRequest {
        method: method.clone(),
        path,
        headers: headers.clone(),
        response_status: status,
        started,
        finished: std::time::Instant::now(),
    });
    let _ = writer.shutdown(std::net::Shutdown::Write);
    // Let the client read everything before the socket is dropped.
    let mut rest = [0u8; 512];
    while matches!(reader.read(&mut rest), Ok(n) if n > 0) {}
}

fn not_modified(v: &Validators, if_none_match: Option<&str>, if_modified_since: Option<&str>) -> bool {
    if let Some(inm) = if_none_match {
        // RFC 9110: If-None-Match takes precedence; weak comparison.
        let ours = v.etag.trim_start_matches("W/");
        return inm.split(',').map(|t| t.trim().trim_start_matches("W/")).any(|t| t == "*" || t == ours);
    }
    match (if_modified_since.and_then(|d| httpdate::parse_http_date(d).ok()), httpdate::parse_http_date(&v.last_modified).ok()) {
        (Some(since), Some(modified)) => modified <= since,
        _ => false,
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        304 => "Not Modified",
        404 => "Not Found",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
