//! Operating Plenum: systemd notification (a real datagram socket stands in
//! for systemd), reloads under load, health, readiness, metrics, status and
//! JSON logs, all through the real binary.

mod common;

use std::collections::BTreeSet;
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use common::atom;
use common::fixture_server::{read_fixture, Delivery, FixtureServer};
use common::parties::{self, config_for, serve_three_parties};
use common::plenum::Sandbox;

/// Reads datagrams until `want` has been seen or the time is up.
fn wait_for_message(socket: &UnixDatagram, seen: &mut Vec<String>, want: &str, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        if seen.iter().any(|m| m.lines().any(|l| l.starts_with(want))) {
            return true;
        }
        if let Ok(n) = socket.recv(&mut buf) {
            seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    seen.iter().any(|m| m.lines().any(|l| l.starts_with(want)))
}

#[test]
fn systemd_hears_ready_status_watchdog_reloading_and_stopping() {
    let server = FixtureServer::start();
    let parties = serve_three_parties(&server);
    let sandbox = Sandbox::new(&config_for(&parties));
    let socket_path = sandbox.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let daemon = sandbox.start_daemon_with_env(&[("NOTIFY_SOCKET", socket_path.to_str().unwrap()), ("WATCHDOG_USEC", "1000000")]);
    let mut seen = Vec::new();
    let limit = Duration::from_secs(10);
    assert!(wait_for_message(&socket, &mut seen, "READY=1", limit), "{seen:?}");
    assert!(wait_for_message(&socket, &mut seen, "STATUS=", limit), "{seen:?}");
    assert!(wait_for_message(&socket, &mut seen, "WATCHDOG=1", limit), "{seen:?}");
    let status = seen.iter().flat_map(|m| m.lines()).find(|l| l.starts_with("STATUS=")).unwrap_or_default().to_string();
    assert!(status.contains("entries;") && status.contains("3 sources"), "{status}");
    seen.clear();
    daemon.signal("HUP");
    assert!(wait_for_message(&socket, &mut seen, "RELOADING=1", limit), "{seen:?}");
    assert!(wait_for_message(&socket, &mut seen, "READY=1", limit), "{seen:?}");
    seen.clear();
    daemon.signal("TERM");
    assert!(wait_for_message(&socket, &mut seen, "STOPPING=1", limit), "{seen:?}");
}

#[test]
fn a_reload_under_load_adds_and_removes_sources_and_loses_nothing() {
    let server = FixtureServer::start();
    let mut parties = serve_three_parties(&server);
    // A slow source keeps a poll running while the reload happens.
    server.set_delivered(
        "/slow.xml",
        200,
        &[("Content-Type", "application/rss+xml")],
        read_fixture("rss2-entry-without-id.xml"),
        Delivery::Delayed(Duration::from_millis(1500)),
    );
    let every_second = |parties: &[parties::Party]| config_for(parties).replace("schedule = \"0 0 3 1 1 *\"", "schedule = \"* * * * * *\"");
    let mut ptb = parties::ptb(&server);
    ptb.sources = vec![("slow".into(), server.url("/slow.xml"))];
    let sandbox = Sandbox::new(&every_second(&parties));
    let daemon = sandbox.start_daemon();
    let first = daemon.wait_for_titles("/feed.atom", &parties::three_party_titles());
    let before: BTreeSet<String> = first.entries().iter().map(|e| e.id().to_string()).collect();

    // Add a party, reload while polls run.
    parties.push(ptb);
    sandbox.rewrite_config(&every_second(&parties));
    daemon.signal("HUP");
    let mut all = parties::three_party_titles();
    all.extend(parties::PTB_TITLES.iter().map(|t| t.to_string()));
    let feed = daemon.wait_for_titles("/feed.atom", &parties::sorted(&all.iter().map(String::as_str).collect::<Vec<_>>()));
    let after: BTreeSet<String> = feed.entries().iter().map(|e| e.id().to_string()).collect();
    assert!(before.is_subset(&after), "a reload lost entries");
    assert_eq!(after.len(), feed.entries().len(), "a reload doubled entries");
    assert_eq!(daemon.get("/parties/ptb.atom").status, 200);

    // A broken config is refused; the running one stays, and the log says why.
    sandbox.rewrite_config(&every_second(&parties).replace("id = \"ptb\"", "id = \"PTB!\""));
    daemon.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !daemon.log().contains("the new config is refused") {
        assert!(Instant::now() < deadline, "no refusal in the log:\n{}", daemon.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(daemon.log().contains("`PTB!` is not a valid id"), "{}", daemon.log());
    assert_eq!(daemon.get("/parties/ptb.atom").status, 200, "the running config stays");
    let (status, log) = daemon.terminate();
    assert_eq!(status.code(), Some(0), "{log}");
    assert_eq!(atom::titles(&sandbox.merged_feed()).len(), all.len());
}

#[test]
fn health_readiness_metrics_and_status() {
    let server = FixtureServer::start();
    let parties = serve_three_parties(&server);
    server.set("/broken.xml", 500, &[], "no");
    let mut kke = parties[1].clone();
    kke.sources.push(("broken".into(), server.url("/broken.xml")));
    let all = vec![parties[0].clone(), kke, parties[2].clone()];
    let sandbox = Sandbox::new(&config_for(&all));
    let daemon = sandbox.start_daemon();
    daemon.wait_for_titles("/feed.atom", &parties::three_party_titles());

    let health = daemon.get("/healthz");
    assert_eq!(health.status, 200);
    assert!(health.text().contains("store writable"), "{}", health.text());
    assert_eq!(daemon.get("/readyz").status, 200);

    // Metrics in Prometheus text: every sample line is `name{labels} number`.
    let deadline = Instant::now() + Duration::from_secs(10);
    let metrics = loop {
        let text = daemon.get("/metrics").text();
        if text.contains("plenum_publish_duration_seconds") && text.contains("class=\"5xx\"") {
            break text;
        }
        assert!(Instant::now() < deadline, "metrics never showed the polls:\n{text}");
        std::thread::sleep(Duration::from_millis(100));
    };
    for line in metrics.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let value = line.rsplit(' ').next().unwrap_or_default();
        assert!(value.parse::<f64>().is_ok(), "not a sample: {line}");
    }
    let sample = |name: &str| -> f64 {
        metrics.lines().filter(|l| l.starts_with(name)).map(|l| l.rsplit(' ').next().unwrap_or("0").parse::<f64>().unwrap_or(0.0)).sum()
    };
    assert_eq!(sample("plenum_polls_total"), 4.0, "{metrics}");
    assert_eq!(sample("plenum_fetches_total{class=\"5xx\"}"), 1.0, "{metrics}");
    assert_eq!(sample("plenum_entries_new_total{party=\"pcp\"}"), 3.0, "{metrics}");
    assert_eq!(sample("plenum_source_consecutive_failures{source=\"kke/broken\"}"), 1.0, "{metrics}");
    assert!(sample("plenum_store_entries") >= 9.0, "{metrics}");
    assert!(metrics.contains("plenum_poll_duration_seconds_bucket"), "{metrics}");
    assert!(metrics.contains("plenum_http_requests_total{route=\"/healthz\",status=\"200\"}"), "{metrics}");
    // Every answer is counted once, whichever worker thread served it.
    let documents = |text: &str| -> f64 {
        let line = text.lines().find(|l| l.starts_with("plenum_http_requests_total{route=\"/{*path}\",status=\"200\"}"));
        line.and_then(|l| l.rsplit(' ').next()).and_then(|v| v.parse().ok()).unwrap_or(0.0)
    };
    let before = documents(&metrics);
    for _ in 0..5 {
        assert_eq!(daemon.get("/feed.atom").status, 200);
    }
    assert_eq!(documents(&daemon.get("/metrics").text()), before + 5.0, "{}", daemon.get("/metrics").text());

    // `plenum status` asks the running daemon (its store is locked).
    let status = sandbox.plenum(&["status"]);
    assert_eq!(status.code, Some(0), "{}", status.describe());
    assert!(
        status.stdout.contains("retrying  kke/broken") && status.stdout.contains("error=\"HTTP 500 Internal Server Error\""),
        "{}",
        status.stdout
    );
    assert!(status.stdout.contains("sources: 3 ok, 1 retrying, 0 failing"), "{}", status.stdout);
    let (code, _) = daemon.terminate();
    assert_eq!(code.code(), Some(0));
    // Without a daemon, status reads the store.
    let status = sandbox.plenum(&["status"]);
    assert!(status.stdout.contains("sources: 3 ok, 1 retrying"), "{}", status.describe());
}

#[test]
fn the_server_cuts_slow_clients_and_refuses_oversized_requests() {
    use std::io::{Read, Write};
    let server = FixtureServer::start();
    let parties = serve_three_parties(&server);
    let sandbox = Sandbox::new(&config_for(&parties).replace("jitter_secs = 0", "jitter_secs = 0\nheader_timeout_secs = 1"));
    let daemon = sandbox.start_daemon();
    // A slowloris client sends a header line now and then, never the end of its head.
    let mut slow = std::net::TcpStream::connect(&daemon.host_port).unwrap();
    slow.write_all(b"GET /feed.atom HTTP/1.1\r\nHost: x\r\n").unwrap();
    // Others are served meanwhile.
    assert_eq!(daemon.get("/healthz").status, 200);
    slow.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let started = Instant::now();
    let mut cut = false;
    for _ in 0..20 {
        if slow.write_all(b"X-Slow: 1\r\n").is_err() {
            cut = true;
            break;
        }
        let mut buf = [0u8; 256];
        slow.set_read_timeout(Some(Duration::from_millis(250))).unwrap();
        match slow.read(&mut buf) {
            Ok(0) => {
                cut = true;
                break;
            }
            Ok(n) if String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408") => {
                cut = true;
                break;
            }
            _ => {}
        }
    }
    assert!(cut && started.elapsed() < Duration::from_secs(4), "a client trickling headers was not cut off ({:?})", started.elapsed());
    // Oversized heads and URLs get 431 and 414.
    let long = format!("/{}", "a".repeat(100_000));
    assert_eq!(daemon.get(&long).status, 414);
    let big = "b".repeat(1_000_000);
    assert_eq!(daemon.request("GET", "/feed.atom", &[("X-Big", big.as_str())]).status, 431);
    for path in ["/parties/../../etc/passwd", "/parties/..%2F..%2Fetc%2Fpasswd", "/%2e%2e/%2e%2e/etc/passwd"] {
        assert_eq!(daemon.get(path).status, 404, "{path}");
    }
}

#[test]
fn json_logs_for_log_shippers() {
    let server = FixtureServer::start();
    let parties = serve_three_parties(&server);
    let sandbox = Sandbox::new(&config_for(&parties));
    let run = sandbox.plenum(&["--log-format", "json", "poll-once"]);
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let polls: Vec<serde_json::Value> =
        run.stderr.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}"))).collect();
    let done: Vec<&serde_json::Value> = polls.iter().filter(|v| v["message"] == "poll done").collect();
    assert_eq!(done.len(), 3, "{}", run.stderr);
    assert!(done.iter().all(|v| v["span"]["party"].is_string() && v["span"]["url"].is_string() && v["level"] == "INFO"), "{}", run.stderr);
}

#[test]
fn an_unwritable_output_dir_is_reported_served_from_memory_and_recovered() {
    let server = FixtureServer::start();
    let parties = serve_three_parties(&server);
    let sandbox = Sandbox::new(&config_for(&parties).replace("schedule = \"0 0 3 1 1 *\"", "schedule = \"* * * * * *\""));
    let daemon = sandbox.start_daemon();
    daemon.wait_for_titles("/feed.atom", &parties::three_party_titles());
    let party_dir = sandbox.path().join("public").join("parties");
    // The disk "fails" for per-party files: their directory is now a file.
    std::fs::remove_dir_all(&party_dir).unwrap();
    std::fs::write(&party_dir, "in the way").unwrap();
    // A source publishes something new.
    let edited = String::from_utf8(read_fixture("rss2-pcp-statements.xml")).unwrap().replacen(
        "<item>",
        "<item><title>Nova declaração</title><link>https://www.pcp.pt/nova</link><guid>https://www.pcp.pt/nova</guid></item><item>",
        1,
    );
    server.set_conditional("/pcp/statements.xml", "application/rss+xml", edited.clone());
    let mut titles = parties::three_party_titles();
    titles.push("Nova declaração".into());
    titles.sort();
    // Served from memory all the same, and the log names the path that failed.
    daemon.wait_for_titles("/feed.atom", &titles);
    assert_eq!(daemon.get("/parties/pcp.atom").status, 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !daemon.log().contains("cannot write a static file") {
        assert!(Instant::now() < deadline, "no write error in the log:\n{}", daemon.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(daemon.log().contains(&party_dir.display().to_string()), "{}", daemon.log());
    // Space returns: the next publish writes every file again.
    std::fs::remove_file(&party_dir).unwrap();
    server.set_conditional("/pcp/statements.xml", "application/rss+xml", edited.replacen("Nova declaração", "Nova declaração do CC", 1));
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let file = std::fs::read_to_string(party_dir.join("pcp.atom")).unwrap_or_default();
        if file.contains("Nova declaração do CC") {
            break;
        }
        assert!(Instant::now() < deadline, "the static files were not written again:\n{}", daemon.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, _) = daemon.terminate();
    assert_eq!(status.code(), Some(0));
}

/// The binary's relocations are packed where the build found support for
/// it (`build.rs`): the loader's table of pointers to adjust is then a few
/// KB instead of 1.27 MB kept resident by every running daemon.
#[test]
fn the_binary_carries_packed_relocations_when_the_toolchain_supports_them() {
    let binary = common::plenum::plenum_binary();
    let Some(_) = option_env!("PLENUM_PACKED_RELOCS") else {
        eprintln!("build.rs found no support for -z pack-relative-relocs here; nothing to check");
        return;
    };
    // readelf comes with the linker (binutils) that did the packing.
    let out = std::process::Command::new("readelf").args(["--dynamic", "--wide", binary]).output().expect("readelf runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dynamic = String::from_utf8_lossy(&out.stdout);
    let size_of = |tag: &str| -> Option<u64> {
        let line = dynamic.lines().find(|l| l.contains(&format!("({tag})")))?;
        line.split_whitespace().rev().nth(1)?.parse().ok()
    };
    assert!(size_of("RELRSZ").is_some_and(|n| n > 0), "no packed relocations in {binary}:\n{dynamic}");
    let rela = size_of("RELASZ").unwrap_or(0);
    assert!(rela < 64 * 1024, "{rela} bytes of unpacked relocations remain in {binary}");
}
