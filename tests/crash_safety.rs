//! Nothing lost: the real daemon is killed with SIGKILL at 50 moments while
//! it polls, stores and publishes (its sources gain entries all the time),
//! and restarted each time. After every kill: every file in `output_dir` is
//! a complete feed; after every restart: the store opens, every entry that
//! had appeared in a published feed is served again, and none twice.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use common::atom;
use common::fixture_server::FixtureServer;
use common::parties::DAEMON_TABLE;
use common::plenum::Sandbox;

const FEEDS: usize = 6;
const KILLS: usize = 50;

fn feed(source: usize, items: usize) -> String {
    let body: String = (0..items)
        .map(|i| {
            format!(
                "<item><guid>https://crash.example/{source}/{i}</guid><title>Source {source} item {i}</title><link>https://crash.example/{source}/{i}</link><description>&lt;p&gt;Text {i} of source {source}.&lt;/p&gt;</description></item>"
            )
        })
        .collect();
    format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Crash {source}</title><link>https://crash.example/</link>{body}</channel></rss>")
}

/// Every published file must be whole: a reader never sees part of one. A
/// temporary file may be left by the process just killed (`killed`), never
/// by an earlier one: a restart clears them.
fn check_output(dir: &Path, killed: u32) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            check_output(&path, killed);
            continue;
        }
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        if name.starts_with('.') {
            assert!(name.ends_with(&format!(".tmp-{killed}")), "a temporary file of an earlier run survived a restart: {}", path.display());
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        match path.extension().and_then(|e| e.to_str()) {
            Some("atom") | Some("rss") => {
                assert!(feed_rs::parser::parse(bytes.as_slice()).is_ok(), "{} is not a complete feed", path.display());
            }
            Some("json") => {
                assert!(serde_json::from_slice::<serde_json::Value>(&bytes).is_ok(), "{} is not complete JSON", path.display());
            }
            Some("html") => assert!(String::from_utf8_lossy(&bytes).trim_end().ends_with("</html>"), "{} is cut", path.display()),
            _ => {}
        }
    }
}

#[test]
fn sigkill_at_random_moments_loses_no_published_entry_and_corrupts_no_file() {
    let server = FixtureServer::start();
    let mut items = [5usize; FEEDS];
    for (source, n) in items.iter().enumerate() {
        server.set(&format!("/crash{source}.xml"), 200, &[("Content-Type", "application/rss+xml")], feed(source, *n));
    }
    let mut toml =
        DAEMON_TABLE.replace("schedule = \"0 0 3 1 1 *\"", "schedule = \"* * * * * *\"").replace("feed_size = 100", "feed_size = 5000");
    toml.push_str("\n[[party]]\nid = \"crash\"\nname = \"Crash Party\"\nabbreviation = \"CP\"\ncountry = \"GR\"\nlanguages = [\"en\"]\nhomepage = \"https://crash.example/\"\n");
    for source in 0..FEEDS {
        toml.push_str(&format!(
            "\n[[party.source]]\nid = \"s{source}\"\nkind = \"feed\"\nurl = \"{}\"\n",
            server.url(&format!("/crash{source}.xml"))
        ));
    }
    let sandbox = Sandbox::new(&toml);
    let output = sandbox.path().join("public");
    let mut published: BTreeSet<String> = BTreeSet::new();
    // A fixed sequence of kill moments, 0 to 700 ms after start (deterministic, no randomness in CI).
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let started = Instant::now();
    for round in 0..KILLS {
        // The sources keep publishing: every round adds an item to each.
        for (source, n) in items.iter_mut().enumerate() {
            *n += 1;
            server.set(&format!("/crash{source}.xml"), 200, &[("Content-Type", "application/rss+xml")], feed(source, *n));
        }
        let daemon = sandbox.start_daemon();
        // The store opened and the restarted daemon serves what it had published before.
        let feed_now = daemon.wait_for("/feed.atom", "the feed after a restart", |r| r.status == 200);
        let served = atom::parse(&feed_now.text(), "served feed");
        let ids: Vec<String> = served.entries().iter().map(|e| e.id().to_string()).collect();
        let unique: BTreeSet<String> = ids.iter().cloned().collect();
        assert_eq!(unique.len(), ids.len(), "round {round}: an entry is served twice");
        let lost: Vec<&String> = published.difference(&unique).collect();
        assert!(lost.is_empty(), "round {round}: entries published before the kill are gone: {lost:?}");

        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(seed % 700));
        let pid = daemon.pid();
        let (status, log) = daemon.stop_with("-KILL");
        assert_eq!(status.code(), None, "round {round}: the daemon was expected to die by SIGKILL; log:\n{log}");

        check_output(&output, pid);
        if let Ok(xml) = std::fs::read_to_string(output.join("feed.atom")) {
            for entry in atom::parse(&xml, "feed.atom after a kill").entries() {
                published.insert(entry.id().to_string());
            }
        }
        assert!(started.elapsed() < Duration::from_secs(240), "the kill loop is too slow: {round} rounds");
    }
    // The sources' items reached the feeds over the rounds.
    assert!(published.len() > FEEDS * 5, "only {} entries were ever published", published.len());
    let daemon = sandbox.start_daemon();
    let last = atom::parse(&daemon.wait_for("/feed.atom", "the last feed", |r| r.status == 200).text(), "last");
    let ids: BTreeSet<String> = last.entries().iter().map(|e| e.id().to_string()).collect();
    assert!(published.is_subset(&ids));
    let (status, _) = daemon.terminate();
    assert_eq!(status.code(), Some(0));
}
