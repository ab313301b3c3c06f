//! The parties' websites, on loopback: one listener per "host" (port), all
//! serving the same documents from memory with `ETag` and `Last-Modified`,
//! answering conditional requests with 304, keeping connections alive.
//! Plain std threads, so none of its CPU time is the measured process's.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::thread;
use std::time::{Duration, SystemTime};

struct Doc {
    body: Arc<Vec<u8>>,
    content_type: &'static str,
    etag: String,
    last_modified: String,
}

/// Requests answered, by status.
#[derive(Default)]
pub struct Counts {
    pub ok: AtomicU64,
    pub not_modified: AtomicU64,
    pub not_found: AtomicU64,
    pub bytes: AtomicU64,
}

#[derive(Default)]
struct Shared {
    docs: RwLock<HashMap<String, Doc>>,
    counts: Counts,
}

pub struct Site {
    pub ports: Vec<u16>,
    shared: Arc<Shared>,
}

impl Site {
    /// Binds `hosts` ports on 127.0.0.1 and starts answering.
    pub fn start(hosts: usize) -> std::io::Result<Site> {
        let shared = Arc::new(Shared::default());
        let mut ports = Vec::new();
        for _ in 0..hosts.max(1) {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            ports.push(listener.local_addr()?.port());
            let shared = Arc::clone(&shared);
            thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    let shared = Arc::clone(&shared);
                    thread::spawn(move || {
                        let _ = serve(stream, &shared);
                    });
                }
            });
        }
        Ok(Site { ports, shared })
    }

    /// Serves `body` at `path`. Validators change only when the bytes do.
    pub fn put(&self, path: &str, body: Vec<u8>, content_type: &'static str) {
        let etag = format!("\"{}\"", &blake3::hash(&body).to_hex()[..16]);
        let mut docs = self.shared.docs.write().expect("site lock");
        if docs.get(path).is_some_and(|d| d.etag == etag) {
            return;
        }
        let last_modified = httpdate::fmt_http_date(SystemTime::now());
        docs.insert(path.to_string(), Doc { body: Arc::new(body), content_type, etag, last_modified });
    }

    pub fn counts(&self) -> (u64, u64, u64, u64) {
        let c = &self.shared.counts;
        let get = |a: &AtomicU64| a.swap(0, Ordering::SeqCst);
        (get(&c.ok), get(&c.not_modified), get(&c.not_found), get(&c.bytes))
    }
}

fn serve(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let (mut inm, mut ims, mut close) = (None, None, false);
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header)? == 0 {
                return Ok(());
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                match name.trim().to_ascii_lowercase().as_str() {
                    "if-none-match" => inm = Some(value.trim().to_string()),
                    "if-modified-since" => ims = Some(value.trim().to_string()),
                    "connection" => close = value.trim().eq_ignore_ascii_case("close"),
                    _ => {}
                }
            }
        }
        let found = shared
            .docs
            .read()
            .expect("site lock")
            .get(&path)
            .map(|d| (d.body.clone(), d.content_type, d.etag.clone(), d.last_modified.clone()));
        let counts = &shared.counts;
        match found {
            None => {
                counts.not_found.fetch_add(1, Ordering::Relaxed);
                out.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\nContent-Type: text/plain\r\n\r\nnot found\n")?;
            }
            Some((body, content_type, etag, last_modified)) => {
                // RFC 9110 13.2.2: If-None-Match wins when both are sent.
                let fresh = match (&inm, &ims) {
                    (Some(tags), _) => tags.split(',').any(|t| t.trim() == etag),
                    (None, Some(since)) => *since == last_modified,
                    (None, None) => false,
                };
                let head = |status: &str, length: usize| {
                    format!(
                        "HTTP/1.1 {status}\r\nETag: {etag}\r\nLast-Modified: {last_modified}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n"
                    )
                };
                if fresh {
                    counts.not_modified.fetch_add(1, Ordering::Relaxed);
                    out.write_all(head("304 Not Modified", 0).as_bytes())?;
                } else {
                    counts.ok.fetch_add(1, Ordering::Relaxed);
                    counts.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                    out.write_all(head("200 OK", body.len()).as_bytes())?;
                    out.write_all(&body)?;
                }
            }
        }
        out.flush()?;
        if close {
            return Ok(());
        }
    }
}
