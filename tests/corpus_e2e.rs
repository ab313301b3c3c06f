//! The whole shared corpus, fetch to publish: every feed-rs and feedparser
//! test file is served by the fixture server (with the HTTP headers the
//! feedparser encoding cases declare) as one source of a config with 1 000+
//! sources, and the real binary polls them all once.
//!
//! What must hold: one report line per source, no poll that died (a panic
//! would show as a task failure, not as a reason), every rejected file
//! rejected with a reason a person can read, and every published feed
//! well-formed.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use common::atom;
use common::fixture_server::FixtureServer;
use common::parties::DAEMON_TABLE;
use common::plenum::Sandbox;

/// feedparser's `Header:` lines per file (from its INDEX.tsv), keyed by path under `feedparser/tests/`.
fn feedparser_headers(root: &Path) -> HashMap<String, Vec<(String, String)>> {
    let index = std::fs::read_to_string(root.join("feedparser/INDEX.tsv")).unwrap_or_default();
    let mut out = HashMap::new();
    for line in index.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if let (Some(path), Some(headers)) = (cols.first(), cols.get(3)) {
            let parsed: Vec<(String, String)> = headers
                .split('|')
                .filter_map(|h| h.split_once(':'))
                .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
                .filter(|(n, _)| !n.is_empty())
                .collect();
            if !parsed.is_empty() {
                out.insert(path.to_string(), parsed);
            }
        }
    }
    out
}

#[test]
fn every_corpus_file_goes_from_fetch_to_publish() {
    let root = common::corpus::root();
    let paths = common::corpus::feed_files();
    assert!(paths.len() > 1000, "expected the shared corpus at {} (set PLENUM_SHARED)", root.display());
    let headers = feedparser_headers(&root);
    let server = FixtureServer::start();

    // One party per corpus folder, one source per file.
    let mut groups: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::new();
    for (i, path) in paths.iter().enumerate() {
        let rel = path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
        let group = if rel.starts_with("feed-rs/") {
            "feed-rs"
        } else if rel.contains("/wellformed/") {
            "wellformed"
        } else if rel.contains("/illformed/") {
            "illformed"
        } else {
            "encoding"
        };
        let under_tests = rel.strip_prefix("feedparser/tests/").unwrap_or(&rel).to_string();
        let mut response_headers: Vec<(String, String)> = headers.get(&under_tests).cloned().unwrap_or_default();
        if !response_headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-type")) {
            let default = if rel.ends_with(".json") { "application/feed+json" } else { "text/xml" };
            response_headers.push(("Content-Type".into(), default.into()));
        }
        let route = format!("/corpus/{i}");
        let refs: Vec<(&str, &str)> = response_headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        server.set(&route, 200, &refs, std::fs::read(path).unwrap());
        groups.entry(group).or_default().push((format!("f{i}"), server.url(&route)));
    }
    let mut toml = DAEMON_TABLE.replace("feed_size = 100", "feed_size = 2000").to_string();
    toml.push_str("concurrency = 16\n");
    for (group, sources) in &groups {
        toml.push_str(&format!(
            "\n[[party]]\nid = \"{group}\"\nname = \"Corpus {group}\"\nabbreviation = \"{}\"\ncountry = \"GR\"\nlanguages = [\"en\"]\nhomepage = \"https://{group}.example/\"\n",
            group.to_uppercase()
        ));
        for (id, url) in sources {
            toml.push_str(&format!("\n[[party.source]]\nid = \"{id}\"\nkind = \"feed\"\nurl = \"{url}\"\n"));
        }
    }
    let sandbox = Sandbox::new(&toml);
    let lines = sandbox.poll_once();
    assert_eq!(lines.len(), paths.len(), "one line per source");

    // Within one party, files that share links (feedparser's cases often use
    // http://example.com/) are one story: `new` counts stories stored.
    let (mut with_items, mut without, mut rejected, mut entries, mut items) = (0, 0, 0, 0u64, 0u64);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for line in &lines {
        match line.get("status") {
            "ok" if line.count("seen") > 0 => {
                with_items += 1;
                items += line.count("seen");
                entries += line.count("new");
            }
            "ok" => without += 1,
            "failed" => {
                rejected += 1;
                let error = line.get("error");
                assert!(
                    error.starts_with("not a feed") || error.starts_with("the feed parser crashed"),
                    "{}: a corpus file must be read or rejected as not a feed, not fail like this: {error}",
                    line.get("source")
                );
                let reason: String = error.split(':').take(2).collect::<Vec<_>>().join(":");
                *reasons.entry(reason).or_default() += 1;
            }
            other => panic!("unexpected status {other} in {line:?}"),
        }
    }
    eprintln!(
        "corpus fetch-to-publish: {} files; {with_items} read with {items} items ({entries} stories stored), {without} read with no items, {rejected} rejected",
        paths.len()
    );
    for (reason, n) in &reasons {
        eprintln!("  {n:>4}  {reason}");
    }
    // Every real-world feed-rs fixture (not its plain-XML samples or its deliberately broken file) yields entries.
    for line in &lines {
        let source = line.get("source");
        let index: usize = source.trim_start_matches("feed-rs/f").parse().unwrap_or(usize::MAX);
        if let Some(path) = paths.get(index).filter(|_| source.starts_with("feed-rs/")) {
            let p = path.to_string_lossy();
            if !p.contains("/fixture/xml/") && !p.ends_with("rss_2.0_invalid_1.xml") {
                assert_eq!(line.get("status"), "ok", "{p}: {line:?}");
            }
        }
    }
    assert!(with_items >= 442, "fewer corpus files yield items than before: {with_items}");

    // Everything published parses as Atom.
    let merged = sandbox.merged_feed();
    assert!(merged.entries().len() as u64 >= entries.min(2000) / 2, "{} entries in the merged feed", merged.entries().len());
    for group in groups.keys() {
        let xml = std::fs::read_to_string(sandbox.party_feed_path(group)).unwrap();
        atom::parse(&xml, group);
    }
}
