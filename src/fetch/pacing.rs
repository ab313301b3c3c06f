//! Per-host pacing: at most one request at a time to a host, and a minimum
//! gap between the end of one request and the start of the next.
//!
//! Party sites are small servers and many share a host (one Drupal box
//! serving sister sites, Blogger, WordPress.com). Hosts are paced
//! independently, so many hosts are fetched in parallel (within the
//! fetcher's global limit) while each one sees a polite, steady client.
//! The host key is the host name, plus the port when it is not the
//! scheme's default.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use url::Url;

/// The pacing state of every host seen so far.
pub struct HostPool {
    default_gap: Duration,
    gaps: BTreeMap<String, Duration>,
    hosts: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Instant>>>>>,
}

/// A host's turn: while it lives, no other request goes to the host; when it
/// drops, the host's gap starts.
pub struct HostTurn {
    guard: tokio::sync::OwnedMutexGuard<Option<Instant>>,
}

impl Drop for HostTurn {
    fn drop(&mut self) {
        *self.guard = Some(Instant::now());
    }
}

/// The pacing key of a URL: `host` or `host:port`.
pub fn host_key(url: &Url) -> String {
    let host = url.host_str().unwrap_or("").to_ascii_lowercase();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    }
}

impl HostPool {
    /// `gaps` overrides `default_gap` per host name (lowercase, no port).
    pub fn new(default_gap: Duration, gaps: BTreeMap<String, Duration>) -> Self {
        HostPool { default_gap, gaps, hosts: Mutex::new(HashMap::new()) }
    }

    /// The gap for a host key.
    pub fn gap(&self, key: &str) -> Duration {
        let name = key.rsplit_once(':').filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit())).map_or(key, |(name, _)| name);
        self.gaps.get(key).or_else(|| self.gaps.get(name)).copied().unwrap_or(self.default_gap)
    }

    /// Waits for the host's turn: until no request to it is running and its
    /// gap since the last one has passed.
    pub async fn turn(&self, key: &str) -> HostTurn {
        let slot = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            hosts.entry(key.to_string()).or_default().clone()
        };
        let guard = slot.lock_owned().await;
        if let Some(last) = *guard {
            tokio::time::sleep_until(last + self.gap(key)).await;
        }
        HostTurn { guard }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn one_host_is_serial_and_spaced_while_other_hosts_run_in_parallel() {
        let pool = Arc::new(HostPool::new(Duration::from_secs(2), BTreeMap::new()));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..6 {
            let pool = pool.clone();
            let host = if i < 3 { "a.example" } else { "b.example" };
            tasks.push(tokio::spawn(async move {
                let turn = pool.turn(host).await;
                let began = start.elapsed();
                tokio::time::sleep(Duration::from_millis(500)).await; // the request itself
                drop(turn);
                (host, began)
            }));
        }
        let mut starts: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
        for t in tasks {
            let (host, began) = t.await.unwrap();
            starts.entry(host).or_default().push(began);
        }
        for (host, mut times) in starts {
            times.sort();
            // Both hosts start at once; on each host the next request starts 0.5 s
            // (the request) + 2 s (the gap) after the previous one: never overlapping.
            assert_eq!(times, [Duration::ZERO, Duration::from_millis(2500), Duration::from_millis(5000)], "{host}");
        }
    }

    #[test]
    fn gaps_per_host_and_keys() {
        let pool = HostPool::new(Duration::from_secs(2), [("www.pcp.pt".to_string(), Duration::from_secs(10))].into());
        assert_eq!(pool.gap("www.pcp.pt"), Duration::from_secs(10));
        assert_eq!(pool.gap("www.pcp.pt:8080"), Duration::from_secs(10));
        assert_eq!(pool.gap("kke.gr"), Duration::from_secs(2));
        assert_eq!(host_key(&Url::parse("https://WWW.PCP.pt/rss.xml").unwrap()), "www.pcp.pt");
        assert_eq!(host_key(&Url::parse("http://127.0.0.1:8080/x").unwrap()), "127.0.0.1:8080");
        assert_eq!(host_key(&Url::parse("https://[::1]:443/x").unwrap()), "[::1]");
    }
}
