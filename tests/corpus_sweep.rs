//! Every file of the shared real-world corpus through extract → normalize →
//! render: nothing panics, every rendered feed is well-formed, and a file
//! that is not a feed is reported as such.

mod common;

use std::path::Path;

use plenum::config::{Config, DaemonConfig, Party, PartyId, Source, SourceId, SourceKind};
use plenum::extract::feed::extract;
use plenum::normalize::{normalize, now};
use plenum::publish::atom::{render, Scope};
use url::Url;

fn config(dir: &Path) -> (Config, Party, Source) {
    let party_id = PartyId::parse("corpus").unwrap();
    let url = Url::parse("http://127.0.0.1/feed.xml").unwrap();
    let source = Source {
        id: SourceId::new(&party_id, "feed"),
        party: party_id.clone(),
        kind: SourceKind::Feed,
        url,
        schedule: None,
        enabled: true,
        ignore_validators: false,
        language: None,
        html: None,
    };
    let party = Party {
        id: party_id,
        name: "Corpus".into(),
        abbreviation: "C".into(),
        country: "GR".into(),
        languages: vec!["en".into()],
        homepage: Url::parse("https://example.org/").unwrap(),
        sources: vec![source.clone()],
    };
    let daemon = DaemonConfig {
        data_dir: dir.join("data"),
        output_dir: dir.join("public"),
        listen: "127.0.0.1:0".parse().unwrap(),
        base_url: Url::parse("http://127.0.0.1:8080/").unwrap(),
        schedule: "0 */30 * * * *".into(),
        feed_size: 100,
        title: "t".into(),
        contact: None,
        max_body_bytes: 1 << 24,
        timeout: std::time::Duration::from_secs(5),
        connect_timeout: std::time::Duration::from_secs(5),
        concurrency: 1,
        jitter: std::time::Duration::ZERO,
        websub_hub: None,
        proxy: None,
        host_gap: std::time::Duration::ZERO,
        host_gaps: Default::default(),
        min_interval: std::time::Duration::ZERO,
        max_interval: std::time::Duration::from_secs(86400),
        backoff_cap: std::time::Duration::from_secs(3600),
        failing_after: std::time::Duration::from_secs(86400),
        max_redirects: 10,
        stall_timeout: std::time::Duration::from_secs(30),
        adaptive: false,
        retention_days: None,
        max_entries_per_party: None,
        prune_schedule: "0 17 3 * * *".into(),
        metrics_listen: None,
        header_timeout: std::time::Duration::from_secs(10),
        document_cache_bytes: 8 << 20,
        store_cache_bytes: plenum::store::DEFAULT_CACHE_BYTES,
    };
    (Config { path: dir.join("plenum.toml"), daemon, parties: vec![party.clone()] }, party, source)
}

#[test]
fn every_corpus_file_goes_through_without_panic() {
    let root = common::corpus::root();
    let paths = common::corpus::feed_files();
    assert!(paths.len() > 1000, "expected the shared corpus at {} (set PLENUM_SHARED), found {} files", root.display(), paths.len());
    let dir = tempfile::tempdir().unwrap();
    let (config, party, source) = config(dir.path());
    let (mut with_entries, mut empty, mut rejected, mut entries) = (0, 0, 0, 0);
    let mut real_world_rejected = Vec::new();
    for path in &paths {
        let bytes = std::fs::read(path).unwrap();
        let body = plenum::fetch::charset::to_utf8(bytes, None);
        let feed = match extract(&body) {
            Ok(feed) => feed,
            Err(e) => {
                if std::env::var_os("SWEEP_VERBOSE").is_some() {
                    eprintln!("rejected {}: {e}", path.display());
                }
                rejected += 1;
                let p = path.to_string_lossy();
                if p.contains("feed-rs/fixture/") && !p.contains("/fixture/xml/") && !p.ends_with("rss_2.0_invalid_1.xml") {
                    real_world_rejected.push(p.into_owned());
                }
                continue;
            }
        };
        let normalized: Vec<_> =
            feed.items.iter().filter_map(|item| normalize(&party, &source, &feed, item, &source.url, now()).ok()).collect();
        if normalized.is_empty() {
            if std::env::var_os("SWEEP_VERBOSE").is_some() {
                eprintln!("no entries {}: {} items", path.display(), feed.items.len());
            }
            empty += 1;
        } else {
            with_entries += 1;
        }
        entries += normalized.len();
        let stories = plenum::publish::merge_stories(&normalized, normalized.len());
        let doc = render(&config, Scope::Merged, &stories, now()).unwrap();
        let text = std::str::from_utf8(&doc.bytes).unwrap();
        assert!(feed_rs::parser::parse(text.as_bytes()).is_ok(), "{}: rendered Atom does not parse", path.display());
    }
    eprintln!("corpus sweep: {} files, {with_entries} with entries ({entries} entries), {empty} feeds without entries, {rejected} not read as feeds", paths.len());
    assert_eq!(with_entries + empty + rejected, paths.len());
    // feed-rs's fixtures are real feeds (BBC, Spiegel, YouTube, ...): every one must be read.
    assert!(real_world_rejected.is_empty(), "real-world feeds rejected: {real_world_rejected:#?}");
    // Regression guards at the level reached on 2026-11-22 (190 files with 232 entries, 90 rejected).
    assert!(with_entries >= 190 && entries >= 232, "fewer files yield entries than before: {with_entries} files, {entries} entries");
    assert!(rejected <= 90, "more files rejected than before: {rejected}");
}
