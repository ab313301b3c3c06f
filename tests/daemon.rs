//! `plenum run`: the daemon's HTTP routes, caching headers, signals, and
//! what survives a restart.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::atom::{self, titles};
use common::fixture_server::FixtureServer;
use common::parties::{self, config_for, serve_three_parties, sorted};
use common::plenum::Sandbox;

const ATOM_CONTENT_TYPE: &str = "application/atom+xml; charset=utf-8";

#[test]
fn serves_merged_and_party_feeds_with_caching_headers() {
    let server = FixtureServer::start();
    let parties = serve_three_parties(&server);
    let sandbox = Sandbox::new(&config_for(&parties));
    let daemon = sandbox.start_daemon();

    // It polls on start; wait until everything is published.
    daemon.wait_for_titles("/feed.atom", &parties::three_party_titles());

    let full = daemon.get("/feed.atom");
    assert_eq!(full.status, 200);
    assert_eq!(full.header("content-type"), Some(ATOM_CONTENT_TYPE));
    let etag = full.header("etag").expect("GET /feed.atom should send an ETag").to_string();
    let last_modified = full.header("last-modified").expect("GET /feed.atom should send Last-Modified").to_string();
    assert!(httpdate::parse_http_date(&last_modified).is_ok(), "Last-Modified should be an HTTP date: {last_modified}");
    assert_eq!(titles(&atom::parse(&full.text(), "GET /feed.atom")), parties::three_party_titles());

    let by_etag = daemon.request("GET", "/feed.atom", &[("If-None-Match", &etag)]);
    assert_eq!(by_etag.status, 304, "If-None-Match with the current ETag");
    assert!(by_etag.body.is_empty(), "a 304 has no body, got {:?}", by_etag.text());

    let by_date = daemon.request("GET", "/feed.atom", &[("If-Modified-Since", &last_modified)]);
    assert_eq!(by_date.status, 304, "If-Modified-Since with the Last-Modified value");
    assert!(by_date.body.is_empty(), "a 304 has no body, got {:?}", by_date.text());

    let stale = daemon.request("GET", "/feed.atom", &[("If-None-Match", "\"some-older-version\"")]);
    assert_eq!(stale.status, 200, "a different ETag gets the full feed");
    assert_eq!(stale.body, full.body);

    let head = daemon.request("HEAD", "/feed.atom", &[]);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty(), "HEAD sends no body, got {} bytes", head.body.len());
    assert_eq!(head.header("content-type"), Some(ATOM_CONTENT_TYPE));
    assert_eq!(head.header("etag"), Some(etag.as_str()), "HEAD and GET agree on the ETag");

    let pcp = daemon.get("/parties/pcp.atom");
    assert_eq!(pcp.status, 200);
    assert_eq!(pcp.header("content-type"), Some(ATOM_CONTENT_TYPE));
    assert!(pcp.header("etag").is_some(), "party feeds have an ETag too");
    assert_eq!(titles(&atom::parse(&pcp.text(), "GET /parties/pcp.atom")), sorted(&parties::PCP_TITLES));
    let kke = daemon.get("/parties/kke.atom");
    assert_eq!(kke.status, 200);
    assert_eq!(titles(&atom::parse(&kke.text(), "GET /parties/kke.atom")), sorted(&parties::KKE_TITLES));

    assert_eq!(daemon.get("/parties/nope.atom").status, 404, "unknown party");
    assert_eq!(daemon.get("/healthz").status, 200);

    // The static export is there too.
    assert_eq!(titles(&sandbox.merged_feed()), parties::three_party_titles());

    let (status, log) = daemon.terminate();
    assert_eq!(status.code(), Some(0), "SIGTERM should stop plenum cleanly; log:\n{log}");
}

#[test]
fn sigint_stops_the_daemon_cleanly() {
    let server = FixtureServer::start();
    server.serve_fixture("/kke/feed.atom", "atom-kke.xml");
    let sandbox = Sandbox::new(&config_for(&[parties::kke(&server)]));
    let daemon = sandbox.start_daemon();
    daemon.wait_for_titles("/feed.atom", &sorted(&parties::KKE_TITLES));

    let (status, log) = daemon.stop_with("-INT");
    assert_eq!(status.code(), Some(0), "SIGINT should stop plenum cleanly; log:\n{log}");
}

#[test]
fn restarted_daemon_serves_every_stored_entry() {
    let server = FixtureServer::start();
    let parties = serve_three_parties(&server);
    let sandbox = Sandbox::new(&config_for(&parties));
    let everything = parties::three_party_titles();

    let first = sandbox.start_daemon();
    first.wait_for_titles("/feed.atom", &everything);
    let (status, log) = first.terminate();
    assert_eq!(status.code(), Some(0), "SIGTERM should stop plenum cleanly; log:\n{log}");

    // Whatever the second run fetches, it cannot be these entries again.
    server.fail_everything(500);
    let second = sandbox.start_daemon();

    let served = second.get("/feed.atom");
    assert_eq!(served.status, 200, "after a restart /feed.atom is served from the store");
    assert_eq!(titles(&atom::parse(&served.text(), "GET /feed.atom")), everything);
    let pce = second.get("/parties/pce.atom");
    assert_eq!(pce.status, 200);
    assert_eq!(titles(&atom::parse(&pce.text(), "GET /parties/pce.atom")), sorted(&parties::PCE_TITLES));

    let (status, log) = second.terminate();
    assert_eq!(status.code(), Some(0), "SIGTERM should stop plenum cleanly; log:\n{log}");
    assert_eq!(titles(&sandbox.merged_feed()), everything, "the static export after the second run");
}

/// A first start polls every source at once; a restart polls only what is
/// due (a restart must not hammer every site), and the schedule then polls
/// the rest; entries stay when those polls fail.
#[test]
fn daemon_polls_on_schedule_after_a_restart_and_keeps_entries_when_polls_fail() {
    let server = FixtureServer::start();
    let parties = serve_three_parties(&server);
    let sandbox = Sandbox::new(&config_for(&parties));
    let everything = parties::three_party_titles();

    let first = sandbox.start_daemon();
    first.wait_for_titles("/feed.atom", &everything);
    let (status, log) = first.terminate();
    assert_eq!(status.code(), Some(0), "SIGTERM should stop plenum cleanly; log:\n{log}");

    let requests_before = server.requests().len();
    server.fail_everything(500);
    // Every second, so the scheduler itself polls the failing sources.
    sandbox.rewrite_config(&config_for(&parties).replace("schedule = \"0 0 3 1 1 *\"", "schedule = \"* * * * * *\""));
    let second = sandbox.start_daemon();

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let polled: BTreeSet<String> = server.requests()[requests_before..].iter().map(|r| r.path.clone()).collect();
        if polled.len() == parties.len() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the restarted daemon should poll all {} sources on its schedule; it requested only {polled:?}; log:\n{}",
            parties.len(),
            second.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Stopping waits for running polls and publishes once more.
    let (status, log) = second.terminate();
    assert_eq!(status.code(), Some(0), "SIGTERM should stop plenum cleanly; log:\n{log}");
    assert_eq!(titles(&sandbox.merged_feed()), everything, "failed polls must not drop stored entries");
}

/// A merged feed of a few hundred kilobytes is kept in sealed memory and
/// sent with `sendfile`; whatever the path, a reader gets exactly the
/// published file, and its gzip and brotli copies unpack to it.
#[test]
fn a_large_merged_feed_is_served_whole_in_every_encoding() {
    use std::io::Read;
    let server = FixtureServer::start();
    // 80 items of about 3 KB of varied words: the feed and its compressed
    // copies are all well over the size that is sealed (32 KB).
    let words = ["partido", "trabalhadores", "greve", "salário", "Κομμουνιστικό", "εργατών", "sendika", "işçi", "zpráva", "рабочих"];
    let mut seed = 7u64;
    let mut items = String::new();
    for i in 0..80 {
        let mut text = String::new();
        while text.len() < 3000 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            text.push_str(words[(seed >> 33) as usize % words.len()]);
            text.push_str(&format!("{} ", seed >> 50));
        }
        items.push_str(&format!(
            "<item><title>Statement {i}</title><link>https://big.example/{i}</link><guid>https://big.example/{i}</guid>\
             <pubDate>Mon, 02 Nov 2026 {:02}:{:02}:00 GMT</pubDate><description>&lt;p&gt;{text}&lt;/p&gt;</description></item>",
            i / 60,
            i % 60
        ));
    }
    let rss = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Big</title><link>https://big.example/</link><description>d</description>{items}</channel></rss>");
    server.set("/big/feed.xml", 200, &[("Content-Type", "application/rss+xml")], rss);
    let mut party = parties::pcp(&server);
    party.sources = vec![("rss".to_string(), server.url("/big/feed.xml"))];
    let sandbox = Sandbox::new(&config_for(&[party]));
    let daemon = sandbox.start_daemon();
    let full = daemon.wait_for("/feed.atom", "80 entries", |r| r.status == 200 && r.text().matches("<entry>").count() == 80);

    let file = std::fs::read(sandbox.merged_feed_path()).expect("the merged feed's file");
    assert!(full.body.len() > 200_000, "a large feed: {} bytes", full.body.len());
    assert!(full.body == file, "the answer is the published file, byte for byte");
    let gzip = daemon.request("GET", "/feed.atom", &[("Accept-Encoding", "gzip")]);
    assert_eq!(gzip.header("content-encoding"), Some("gzip"));
    assert!(gzip.body.len() > 40_000, "the gzip copy is large too: {} bytes", gzip.body.len());
    let mut unpacked = Vec::new();
    flate2::read::GzDecoder::new(gzip.body.as_slice()).read_to_end(&mut unpacked).expect("gzip unpacks");
    assert!(unpacked == file, "the gzip copy unpacks to the file");
    let br = daemon.request("GET", "/feed.atom", &[("Accept-Encoding", "br")]);
    assert_eq!(br.header("content-encoding"), Some("br"));
    let mut unpacked = Vec::new();
    brotli::Decompressor::new(br.body.as_slice(), 4096).read_to_end(&mut unpacked).expect("brotli unpacks");
    assert!(unpacked == file, "the brotli copy unpacks to the file");
    // The bytes went out of sealed memory files (what `ls -l /proc/PID/fd` shows).
    let sealed = std::fs::read_dir(format!("/proc/{}/fd", daemon.pid()))
        .expect("the daemon's descriptors")
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().starts_with("/memfd:plenum-document"))
        .count();
    assert!(sealed >= 3, "the feed and its two copies are sealed; {sealed} sealed files open");

    let (status, log) = daemon.terminate();
    assert_eq!(status.code(), Some(0), "log:\n{log}");
}
