//! `plenum export`, `import` and `compact`, and the store's refusals (in
//! use, damaged), driven through the real binary.

mod common;

use std::time::{Duration, Instant};

use common::fixture_server::FixtureServer;
use common::parties::{config_for, serve_three_parties};
use common::plenum::{Run, Sandbox};

/// (id, title) of every entry of an Atom file, in feed order.
fn ids_and_titles(feed: &atom_syndication::Feed) -> Vec<(String, String)> {
    feed.entries().iter().map(|e| (e.id().to_string(), common::atom::title(e))).collect()
}

fn ok(run: Run, what: &str) -> Run {
    assert_eq!(run.code, Some(0), "{what} should succeed\n{}", run.describe());
    run
}

/// The export's lines after the header (which carries the export time).
fn records(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path).expect("read export").lines().skip(1).map(str::to_string).collect()
}

#[test]
fn export_then_import_into_a_new_data_dir_publishes_the_same_feeds() {
    let server = FixtureServer::start();
    let parties = serve_three_parties(&server);
    let config = config_for(&parties);
    let original = Sandbox::new(&config);
    original.poll_once();
    let export = original.path().join("backup.jsonl");

    let run = ok(original.plenum(&["export", export.to_str().unwrap()]), "export");
    assert!(run.stderr.contains("exported 9 entries and 3 sources"), "{}", run.describe());
    let lines = records(&export);
    assert_eq!(lines.len(), 12, "9 entries and 3 sources after the header");
    let keys: Vec<String> = lines[..9].iter().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["key"].to_string()).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "entries come in key order");

    let moved = Sandbox::new(&config);
    let run = ok(moved.plenum(&["import", export.to_str().unwrap()]), "import");
    assert!(run.stderr.contains("imported 9 entries and 3 sources"), "{}", run.describe());
    assert_eq!(
        ok(moved.plenum(&["list"]), "list").stdout,
        ok(original.plenum(&["list"]), "list").stdout,
        "list shows the same counts and states"
    );

    // Publish from the imported store alone: every source now fails.
    server.fail_everything(500);
    moved.poll_once();
    assert_eq!(ids_and_titles(&moved.merged_feed()), ids_and_titles(&original.merged_feed()));
    for party in &parties {
        assert_eq!(ids_and_titles(&moved.party_feed(party.id)), ids_and_titles(&original.party_feed(party.id)), "{}", party.id);
    }

    // A second import into the now filled store is refused, and changes nothing.
    let run = moved.plenum(&["import", export.to_str().unwrap()]);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(run.stderr.contains("Import loads only into an empty store"), "{}", run.describe());
    let again = moved.path().join("again.jsonl");
    ok(moved.plenum(&["export", again.to_str().unwrap()]), "export");
    assert_eq!(records(&again)[..9], lines[..9], "entries unchanged by the refused import");
}

#[test]
fn compact_rewrites_the_store_and_keeps_every_entry() {
    let server = FixtureServer::start();
    let sandbox = Sandbox::new(&config_for(&serve_three_parties(&server)));
    sandbox.poll_once();
    let (before, after) = (sandbox.path().join("before.jsonl"), sandbox.path().join("after.jsonl"));
    ok(sandbox.plenum(&["export", before.to_str().unwrap()]), "export");

    let run = ok(sandbox.plenum(&["compact"]), "compact");
    assert!(run.stderr.contains("compacted 9 entries and 3 sources"), "{}", run.describe());

    ok(sandbox.plenum(&["export", after.to_str().unwrap()]), "export");
    assert_eq!(records(&after), records(&before));
    let mut left: Vec<String> =
        std::fs::read_dir(sandbox.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    left.sort();
    assert_eq!(left, ["after.jsonl", "before.jsonl", "data", "plenum.toml", "public"], "no temporary copies left behind");
}

#[test]
fn a_second_process_is_refused_at_once_while_the_daemon_holds_the_store() {
    let server = FixtureServer::start();
    let sandbox = Sandbox::new(&config_for(&serve_three_parties(&server)));
    let daemon = sandbox.start_daemon();
    for command in [&["list"][..], &["export"], &["poll-once"], &["compact"]] {
        let started = Instant::now();
        let run = sandbox.plenum(command);
        assert_eq!(run.code, Some(1), "{command:?} beside the daemon\n{}", run.describe());
        assert!(run.stderr.contains("is in use by another Plenum process"), "{command:?}\n{}", run.describe());
        assert!(started.elapsed() < Duration::from_secs(10), "{command:?} took {:?}: it must not wait for the lock", started.elapsed());
    }
    drop(daemon); // killed; how it stops is tests/daemon.rs's subject
}

#[test]
fn a_damaged_store_is_refused_with_its_path_and_what_to_do() {
    let server = FixtureServer::start();
    let sandbox = Sandbox::new(&config_for(&serve_three_parties(&server)));
    sandbox.poll_once();
    let db = sandbox.path().join("data").join("db");
    std::fs::OpenOptions::new().write(true).open(&db).unwrap().set_len(64).unwrap();

    for command in [&["list"][..], &["poll-once"], &["export"]] {
        let run = sandbox.plenum(command);
        assert_eq!(run.code, Some(1), "{command:?}\n{}", run.describe());
        assert!(run.stderr.contains("is damaged"), "{command:?}\n{}", run.describe());
        assert!(run.stderr.contains(&sandbox.path().join("data").display().to_string()), "names the path\n{}", run.describe());
        assert!(run.stderr.contains("plenum import"), "says how to restore\n{}", run.describe());
        assert!(!run.stderr.contains("panicked"), "{}", run.describe());
    }
}

#[test]
fn import_refuses_a_file_that_is_not_an_export_and_leaves_no_store_behind() {
    let server = FixtureServer::start();
    let sandbox = Sandbox::new(&config_for(&serve_three_parties(&server)));
    let bogus = sandbox.write("feed.xml", "<rss version=\"2.0\"></rss>\n");
    let run = sandbox.plenum(&["import", bogus.to_str().unwrap()]);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(run.stderr.contains("not a Plenum export"), "{}", run.describe());
    assert!(!sandbox.path().join("data").exists(), "a failed import must not leave a half-loaded store");
    assert!(!sandbox.path().join("data.importing").exists());
}
