//! The command line around the pipeline: `--help`, `--version`, `list`, and
//! the exit codes for "cannot work at all".

mod common;

use common::fixture_server::FixtureServer;
use common::parties::{self, config_for};
use common::plenum::{run_plenum, Sandbox};

#[test]
fn help_lists_the_commands_and_the_config_option() {
    let run = run_plenum(&["--help"], &std::env::temp_dir());
    assert_eq!(run.code, Some(0), "{}", run.describe());
    for word in ["run", "poll-once", "check-config", "list", "--config"] {
        assert!(run.stdout.contains(word), "--help should mention {word}\n{}", run.describe());
    }
}

#[test]
fn version_prints_the_package_version() {
    let run = run_plenum(&["--version"], &std::env::temp_dir());
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert!(run.stdout.contains(env!("CARGO_PKG_VERSION")), "--version should print {}\n{}", env!("CARGO_PKG_VERSION"), run.describe());
}

/// The words `list` prints about one source: its line, and the indented
/// lines under it up to the next source, with URLs removed (so `127.0.0.1`
/// or a port is not mistaken for a count).
fn words_about(stdout: &str, source: &str, all_sources: &[&str]) -> Vec<String> {
    let lines: Vec<&str> = stdout.lines().collect();
    let first = lines.iter().position(|l| l.contains(source)).unwrap_or_else(|| panic!("list does not show {source}:\n{stdout}"));
    let mut block = vec![lines[first]];
    block
        .extend(lines[first + 1..].iter().take_while(|l| l.starts_with(char::is_whitespace) && !all_sources.iter().any(|s| l.contains(s))));
    block
        .iter()
        .flat_map(|l| l.split_whitespace())
        .filter(|w| !w.contains("://"))
        .flat_map(|w| w.split(|c: char| !(c.is_alphanumeric() || c == '-')).map(|w| w.trim_matches('-').to_string()).collect::<Vec<_>>())
        .filter(|w| !w.is_empty())
        .collect()
}

#[test]
fn list_shows_each_source_with_its_last_status_and_stored_entries() {
    let server = FixtureServer::start();
    server.serve_fixture("/pcp/statements.xml", "rss2-pcp-statements.xml");
    server.serve_fixture("/kke/feed.atom", "atom-kke.xml");
    server.set("/pce/feed.json", 500, &[], "Internal Server Error");
    let parties = [parties::pcp(&server), parties::kke(&server), parties::pce(&server)];
    let sandbox = Sandbox::new(&config_for(&parties));
    sandbox.poll_once();

    let run = sandbox.plenum(&["list"]);
    assert_eq!(run.code, Some(0), "{}", run.describe());
    for party in &parties {
        assert!(
            run.stdout.contains(party.id) || run.stdout.contains(party.name),
            "list should show the party {}\n{}",
            party.id,
            run.describe()
        );
    }

    let sources = ["pcp/rss", "kke/atom", "pce/json"];
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    for (source, status, stored) in [("pcp/rss", "ok", "3"), ("kke/atom", "ok", "4"), ("pce/json", "failed", "0")] {
        let words = words_about(&run.stdout, source, &sources);
        assert!(
            words.iter().any(|w| w == status),
            "list should show {source} with last status {status}; it shows {words:?}\n{}",
            run.describe()
        );
        assert!(
            words.iter().any(|w| w == stored),
            "list should show {stored} entries stored for {source}; it shows {words:?}\n{}",
            run.describe()
        );
        assert!(
            words.iter().any(|w| w.contains(&today) || w == "ago"),
            "list should show when {source} was last polled (today, {today}); it shows {words:?}\n{}",
            run.describe()
        );
    }
}

#[test]
fn poll_once_exits_1_when_the_store_cannot_be_opened() {
    let server = FixtureServer::start();
    server.serve_fixture("/kke/feed.atom", "atom-kke.xml");
    let sandbox = Sandbox::new(&config_for(&[parties::kke(&server)]));
    // data_dir = "data" exists, but as a plain file.
    sandbox.write("data", "not a sled database\n");

    let run = sandbox.plenum(&["poll-once"]);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(!run.stderr.trim().is_empty(), "it should say why\n{}", run.describe());
}

#[test]
fn poll_once_resolves_relative_paths_against_the_config_file() {
    let server = FixtureServer::start();
    server.serve_fixture("/kke/feed.atom", "atom-kke.xml");
    let sandbox = Sandbox::new(&config_for(&[parties::kke(&server)]));

    // Sandbox runs plenum from another working directory.
    sandbox.poll_once();
    assert!(sandbox.path().join("data").is_dir(), "the sled store lives in <config dir>/data");
    assert!(sandbox.merged_feed_path().is_file(), "public/feed.atom is next to the config");
    assert!(sandbox.party_feed_path("kke").is_file());
}
