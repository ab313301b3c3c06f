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
