//! A polite, unbannable poller, against a fixture server that misbehaves on
//! purpose and counts what it receives: Retry-After, 503 then recovery,
//! redirect chains and loops, 410, dripping and huge bodies, many sources on
//! one host and sources on others, autodiscovery, and the feed's own ttl.
//!
//! Waits (Retry-After, backoff, the next due time) are checked through what
//! the binary reports, never by sleeping until they pass.

mod common;

use std::time::Duration;

use common::fixture_server::{read_fixture, Delivery, FixtureServer};
use common::logfmt::{self, PollLine};
use common::parties::DAEMON_TABLE;
use common::plenum::Sandbox;

const FEED: &str = "rss2-pcp-statements.xml";
const RSS: (&str, &str) = ("Content-Type", "application/rss+xml");

/// One party with the given (id, url) sources, after `extra` daemon keys.
fn config(extra: &str, sources: &[(&str, String)]) -> String {
    let mut toml = format!("{DAEMON_TABLE}{extra}\n[[party]]\nid = \"pcp\"\nname = \"Portuguese Communist Party\"\nabbreviation = \"PCP\"\ncountry = \"PT\"\nlanguages = [\"pt\"]\nhomepage = \"https://www.pcp.pt/\"\n");
    for (id, url) in sources {
        toml.push_str(&format!("\n[[party.source]]\nid = \"{id}\"\nkind = \"feed\"\nurl = \"{url}\"\n"));
    }
    toml
}

fn line<'a>(lines: &'a [PollLine], id: &str) -> &'a PollLine {
    logfmt::line_for(lines, &format!("pcp/{id}"))
}

#[test]
fn retry_after_is_honoured_for_that_source_not_its_host() {
    let server = FixtureServer::start();
    server.set("/busy.xml", 429, &[("Retry-After", "3600")], "slow down");
    server.set("/fine.xml", 200, &[RSS], read_fixture(FEED));
    let sandbox = Sandbox::new(&config("", &[("busy", server.url("/busy.xml")), ("fine", server.url("/fine.xml"))]));

    let first = sandbox.poll_once();
    assert_eq!(line(&first, "busy").get("status"), "failed");
    assert_eq!(line(&first, "busy").get("http"), "429");
    assert!(line(&first, "busy").get("error").contains("Retry-After: 3600s"), "{:?}", line(&first, "busy"));

    let second = sandbox.poll_once();
    let busy = line(&second, "busy");
    assert_eq!(busy.get("status"), "skipped", "{busy:?}");
    assert!(busy.get("reason").starts_with("the server asked to retry after 20"), "{busy:?}");
    assert_eq!(server.requests_for("/busy.xml").len(), 1, "the waiting source is not asked again");
    assert_eq!(server.requests_for("/fine.xml").len(), 2, "the other source on the same host is polled as usual");

    let forced = sandbox.plenum(&["poll-once", "--force"]);
    assert_eq!(forced.code, Some(0), "{}", forced.describe());
    assert_eq!(server.requests_for("/busy.xml").len(), 2, "--force overrides the wait");
}

#[test]
fn a_503_backs_off_and_a_recovery_clears_the_failures() {
    let server = FixtureServer::start();
    let feed = read_fixture(FEED);
    server.set_sequence("/flaky.xml", &[(503, &[], b"down for maintenance"), (200, &[RSS], &feed)]);
    let sandbox = Sandbox::new(&config("", &[("flaky", server.url("/flaky.xml"))]));

    assert_eq!(line(&sandbox.poll_once(), "flaky").get("http"), "503");
    let waiting = sandbox.poll_once();
    assert_eq!(line(&waiting, "flaky").get("status"), "skipped");
    assert!(line(&waiting, "flaky").get("reason").starts_with("backing off after failures until"), "{:?}", line(&waiting, "flaky"));
    let list = sandbox.plenum(&["list"]);
    assert!(list.stdout.contains("last error: HTTP 503 Service Unavailable (1 in a row)"), "{}", list.stdout);
    assert!(list.stdout.contains("waiting: backing off"), "{}", list.stdout);

    // The operator forces a poll: the server is back, the failures are forgotten.
    let forced = sandbox.plenum(&["poll-once", "--force"]);
    assert!(forced.stdout.contains("status=ok"), "{}", forced.stdout);
    assert_eq!(line(&sandbox.poll_once(), "flaky").get("status"), "not-modified");
    let list = sandbox.plenum(&["list"]);
    assert!(!list.stdout.contains("last error") && !list.stdout.contains("waiting"), "{}", list.stdout);
}

#[test]
fn three_polls_through_the_same_permanent_redirects_move_the_source_and_temporary_ones_never_do() {
    let server = FixtureServer::start();
    server.set("/old.xml", 301, &[("Location", "/middle.xml")], "");
    server.set("/middle.xml", 308, &[("Location", &server.url("/new.xml"))], "");
    server.set("/new.xml", 200, &[RSS], read_fixture(FEED));
    server.set("/temporary.xml", 302, &[("Location", "/elsewhere.xml")], "");
    server.set("/elsewhere.xml", 200, &[RSS], read_fixture("rss2-entry-without-id.xml"));
    let sandbox = Sandbox::new(&config("", &[("moved", server.url("/old.xml")), ("temp", server.url("/temporary.xml"))]));

    for _ in 0..3 {
        let lines = sandbox.poll_once();
        assert_ne!(line(&lines, "moved").get("status"), "failed", "{:?}", line(&lines, "moved"));
    }
    assert_eq!(server.requests_for("/old.xml").len(), 3);
    let lines = sandbox.poll_once();
    assert_eq!(line(&lines, "moved").get("url"), server.url("/new.xml"), "the fourth poll goes straight to the new address");
    assert_eq!(server.requests_for("/old.xml").len(), 3);
    assert_eq!(server.requests_for("/temporary.xml").len(), 4, "302 never moves a source");
    let list = sandbox.plenum(&["list"]);
    assert!(list.stdout.contains(&format!("polled at {} (moved;", server.url("/new.xml"))), "{}", list.stdout);

    // `plenum reset` returns to the configured address.
    assert_eq!(sandbox.plenum(&["reset", "pcp/moved"]).code, Some(0));
    sandbox.poll_once();
    assert_eq!(server.requests_for("/old.xml").len(), 4);
}

#[test]
fn redirect_loops_and_endless_chains_are_errors() {
    let server = FixtureServer::start();
    server.set("/a.xml", 302, &[("Location", "/b.xml")], "");
    server.set("/b.xml", 302, &[("Location", "/a.xml")], "");
    for i in 0..15 {
        server.set(&format!("/hop{i}.xml"), 307, &[("Location", &format!("/hop{}.xml", i + 1))], "");
    }
    let sandbox = Sandbox::new(&config("max_redirects = 10\n", &[("loop", server.url("/a.xml")), ("chain", server.url("/hop0.xml"))]));
    let lines = sandbox.poll_once();
    assert_eq!(
        line(&lines, "loop").get("error"),
        format!("redirect loop: {} -> {} -> {}", server.url("/a.xml"), server.url("/b.xml"), server.url("/a.xml"))
    );
    assert_eq!(line(&lines, "chain").get("error"), "more than 10 redirects");
    assert_eq!(server.requests_for("/hop10.xml").len(), 1);
    assert!(server.requests_for("/hop11.xml").is_empty());
}

#[test]
fn gone_disables_the_source_until_the_operator_resets_it() {
    let server = FixtureServer::start();
    server.set("/gone.xml", 410, &[], "this feed is no more");
    let sandbox = Sandbox::new(&config("", &[("gone", server.url("/gone.xml"))]));
    assert_eq!(line(&sandbox.poll_once(), "gone").get("http"), "410");
    for _ in 0..2 {
        let lines = sandbox.poll_once();
        assert_eq!(line(&lines, "gone").get("status"), "skipped");
        assert!(line(&lines, "gone").get("reason").starts_with("gone: the source answered 410 Gone"));
    }
    assert_eq!(server.requests_for("/gone.xml").len(), 1);
    let reset = sandbox.plenum(&["reset", "pcp/gone"]);
    assert!(reset.stdout.contains("pcp/gone: reset"), "{}", reset.describe());
    server.set("/gone.xml", 200, &[RSS], read_fixture(FEED));
    assert_eq!(line(&sandbox.poll_once(), "gone").get("status"), "ok");
}

#[test]
fn stalled_and_oversized_bodies_are_cut_with_a_reason_and_other_sources_go_on() {
    let server = FixtureServer::start();
    server.set_delivered("/drip.xml", 200, &[RSS], read_fixture(FEED), Delivery::Drip(Duration::from_millis(1500)));
    server.set_delivered("/huge-announced.xml", 200, &[RSS], "", Delivery::Huge { size: 100 << 20, announce: true });
    server.set_delivered("/huge-streamed.xml", 200, &[RSS], "", Delivery::Huge { size: 100 << 20, announce: false });
    server.set("/fine.xml", 200, &[RSS], read_fixture(FEED));
    let sandbox = Sandbox::new(&config(
        "stall_timeout_secs = 1\nmax_body_bytes = 1048576\n",
        &[
            ("drip", server.url("/drip.xml")),
            ("announced", server.url("/huge-announced.xml")),
            ("streamed", server.url("/huge-streamed.xml")),
            ("fine", server.url("/fine.xml")),
        ],
    ));
    let lines = sandbox.poll_once();
    assert_eq!(line(&lines, "drip").get("error"), "the body stalled: no data for 1s");
    for id in ["announced", "streamed"] {
        assert_eq!(line(&lines, id).get("error"), "body larger than the 1048576 byte cap (max_body_bytes); read stopped", "{id}");
    }
    assert_eq!(line(&lines, "fine").count("new"), 3);
}

#[test]
fn one_host_is_paced_one_request_at_a_time_while_other_hosts_run_in_parallel() {
    let busy_host = FixtureServer::start();
    let other_host = FixtureServer::start();
    let mut sources = Vec::new();
    for i in 0..10 {
        let path = format!("/feed{i}.xml");
        busy_host.set_delivered(&path, 200, &[RSS], read_fixture(FEED), Delivery::Delayed(Duration::from_millis(50)));
        sources.push((format!("busy{i}"), busy_host.url(&path)));
    }
    for i in 0..3 {
        let path = format!("/other{i}.xml");
        other_host.set_delivered(&path, 200, &[RSS], read_fixture(FEED), Delivery::Delayed(Duration::from_millis(50)));
        sources.push((format!("other{i}"), other_host.url(&path)));
    }
    let refs: Vec<(&str, String)> = sources.iter().map(|(id, url)| (id.as_str(), url.clone())).collect();
    // The test config's host_gap_ms = 0 is overridden for the busy host only.
    let host = busy_host.url("/").trim_start_matches("http://").trim_end_matches('/').to_string();
    let sandbox = Sandbox::new(&config(&format!("\n[host.\"{host}\"]\ngap_ms = 150\n"), &refs).replacen(
        "host_gap_ms = 0\n",
        "host_gap_ms = 0\nconcurrency = 8\n",
        1,
    ));
    let lines = sandbox.poll_once();
    assert!(lines.iter().all(|l| l.get("status") == "ok"), "{lines:?}");

    let mut busy = busy_host.requests();
    busy.sort_by_key(|r| r.started);
    assert_eq!(busy.len(), 10);
    for pair in busy.windows(2) {
        let gap = pair[1].started.saturating_duration_since(pair[0].finished);
        assert!(pair[1].started >= pair[0].finished, "two requests to one host overlapped");
        // The client counts the gap from when it finished reading; allow for the time the bytes took to arrive.
        assert!(gap >= Duration::from_millis(140), "gap of {gap:?} between requests to one host");
    }
    // The other host did not wait for the busy one: all three ran while the busy host was still being paced.
    let busy_done = busy.last().unwrap().finished;
    let other = other_host.requests();
    assert_eq!(other.len(), 3);
    assert!(other.iter().all(|r| r.finished < busy_done), "the other host's requests waited for the busy host");
}

#[test]
fn a_web_page_that_names_its_feed_is_polled_through_that_feed() {
    let server = FixtureServer::start();
    let page = r#"<!DOCTYPE html><html><head><title>PCP</title><link rel="alternate" type="application/rss+xml" title="Notícias" href="/rss.xml"></head><body>Bem-vindo</body></html>"#;
    server.set("/", 200, &[("Content-Type", "text/html; charset=utf-8")], page);
    server.serve_fixture("/rss.xml", FEED);
    let sandbox = Sandbox::new(&config("", &[("site", server.url("/"))]));
    let lines = sandbox.poll_once();
    let site = line(&lines, "site");
    assert_eq!((site.get("status"), site.count("new")), ("ok", 3), "{site:?}");
    assert_eq!(site.get("url"), server.url("/rss.xml"));
    let list = sandbox.plenum(&["list"]);
    assert!(list.stdout.contains(&format!("polled at {} (discovered;", server.url("/rss.xml"))), "{}", list.stdout);
    // Next time the feed is asked for directly, with its validators.
    let lines = sandbox.poll_once();
    assert_eq!(line(&lines, "site").get("status"), "not-modified");
    assert_eq!(server.requests_for("/").len(), 1);
    let again = server.requests_for("/rss.xml");
    assert!(again[1].header("if-none-match").is_some(), "{:?}", again[1]);
    // A page that names no feed says so.
    server.set("/plain", 200, &[("Content-Type", "text/html")], "<html><body>no feed here</body></html>");
    let sandbox = Sandbox::new(&config("", &[("plain", server.url("/plain"))]));
    assert!(line(&sandbox.poll_once(), "plain").get("error").contains("the page is HTML and names no feed"));
}

#[test]
fn ignore_validators_sends_none_and_identity_headers_are_sent() {
    let server = FixtureServer::start();
    server.serve_fixture("/feed.xml", FEED);
    let toml = config("contact = \"ops@example.org\"\n", &[("feed", server.url("/feed.xml"))])
        .replace("kind = \"feed\"", "kind = \"feed\"\nignore_validators = true");
    let sandbox = Sandbox::new(&toml);
    sandbox.poll_once();
    let lines = sandbox.poll_once();
    // Without validators the server sends the body again; Plenum sees the same bytes and does no work.
    assert_eq!(line(&lines, "feed").get("status"), "not-modified");
    let requests = server.requests_for("/feed.xml");
    assert!(requests.iter().all(|r| r.header("if-none-match").is_none() && r.header("if-modified-since").is_none()), "{requests:?}");
    let ua = requests[0].header("user-agent").unwrap_or_default();
    assert!(ua.starts_with(&format!("Plenum/{} (+http", env!("CARGO_PKG_VERSION"))) && ua.ends_with("; ops@example.org)"), "{ua}");
    assert!(requests[0].header("accept").unwrap_or_default().starts_with("application/atom+xml, application/rss+xml"));
    let encodings = requests[0].header("accept-encoding").unwrap_or_default();
    assert!(["gzip", "br", "deflate"].iter().all(|e| encodings.contains(e)), "{encodings}");
}

#[test]
fn the_next_poll_waits_for_the_feeds_ttl_and_max_age_within_floor_and_ceiling() {
    let server = FixtureServer::start();
    let with_ttl = String::from_utf8(read_fixture(FEED)).unwrap().replacen("<channel>", "<channel><ttl>180</ttl>", 1);
    server.set("/ttl.xml", 200, &[RSS], with_ttl);
    server.set("/maxage.xml", 200, &[RSS, ("Cache-Control", "public, max-age=7200")], read_fixture("rss2-entry-without-id.xml"));
    server.set("/plain.xml", 200, &[RSS], read_fixture("atom-kke.xml"));
    server.set("/forever.xml", 200, &[RSS, ("Cache-Control", "max-age=31536000")], read_fixture("jsonfeed-pce.json"));
    let toml = config(
        "",
        &[
            ("ttl", server.url("/ttl.xml")),
            ("maxage", server.url("/maxage.xml")),
            ("plain", server.url("/plain.xml")),
            ("forever", server.url("/forever.xml")),
        ],
    )
    .replace("min_interval_secs = 0", "min_interval_secs = 900\nmax_interval_secs = 43200");
    let sandbox = Sandbox::new(&toml);
    let before = chrono::Utc::now();
    sandbox.poll_once();
    let list = sandbox.plenum(&["list"]).stdout;
    let next = |id: &str| -> i64 {
        let block = list.split(&format!("pcp/{id} ")).nth(1).unwrap_or_default();
        let at = block.split("next poll not before ").nth(1).unwrap_or_default().lines().next().unwrap_or_default();
        let at = chrono::NaiveDateTime::parse_from_str(at.trim(), "%Y-%m-%d %H:%M:%SZ").unwrap_or_else(|e| panic!("{id}: {e}: {list}"));
        (at.and_utc() - before).num_minutes()
    };
    assert!((179..=181).contains(&next("ttl")), "ttl 180 min: {}", next("ttl"));
    assert!((119..=121).contains(&next("maxage")), "max-age 2 h: {}", next("maxage"));
    assert!((14..=16).contains(&next("plain")), "the 15 min floor: {}", next("plain"));
    assert!((719..=721).contains(&next("forever")), "capped at 12 h: {}", next("forever"));
}
