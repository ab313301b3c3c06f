//! Retention: `poll-once` prunes when the config asks, and the store's
//! disk use stays bounded over months of polls with daily pruning.
//!
//! The full year is `#[ignore]`d (minutes in a debug build); run it with
//! `cargo test --release --test retention -- --ignored --nocapture` for the
//! figures quoted in the README.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use plenum::config::{PartyId, SourceId};
use plenum::normalize::{identity, Entry, Origin};
use plenum::ops::backup::dir_size;
use plenum::store::{RetentionPolicy, Store};

use common::fixture_server::FixtureServer;
use common::parties::{config_for, serve_three_parties};
use common::plenum::Sandbox;

#[test]
fn poll_once_prunes_entries_older_than_retention_days() {
    let server = FixtureServer::start();
    let parties = serve_three_parties(&server);
    let keep_all = Sandbox::new(&config_for(&parties));
    keep_all.poll_once();
    let config = config_for(&parties).replace("feed_size = 100", "feed_size = 100\nretention_days = 2");
    let pruned = Sandbox::new(&config);

    pruned.poll_once();

    let cutoff = Utc::now() - Duration::days(2);
    let expected: Vec<String> = keep_all
        .merged_feed()
        .entries()
        .iter()
        .filter(|e| e.published().is_some_and(|p| p.with_timezone(&Utc) >= cutoff + Duration::minutes(1)))
        .map(|e| e.id().to_string())
        .collect();
    let kept: Vec<String> = pruned.merged_feed().entries().iter().map(|e| e.id().to_string()).collect();
    assert_eq!(kept, expected, "only entries newer than two days are kept and published");
    let list = pruned.plenum(&["list"]);
    let counted: usize = list
        .stdout
        .lines()
        .filter_map(|l| l.split("  ").find_map(|f| f.strip_suffix(" entries")))
        .map(|n| n.parse::<usize>().unwrap())
        .sum();
    assert_eq!(counted, kept.len(), "{}", list.stdout);
}

/// An RSS document of `(title, days ago)` items.
fn rss_of(items: &[(&str, i64)]) -> String {
    let items: String = items
        .iter()
        .map(|(title, days)| {
            let date = (Utc::now() - Duration::days(*days)).to_rfc2822();
            format!("<item><title>{title}</title><link>https://www.pcp.pt/{title}</link><guid>pcp-{title}</guid><pubDate>{date}</pubDate><description>{title}.</description></item>")
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>PCP</title><link>https://www.pcp.pt/</link>{items}</channel></rss>"
    )
}

#[test]
fn an_old_item_kept_out_by_retention_comes_back_once_retention_is_relaxed() {
    let server = FixtureServer::start();
    let pcp = common::parties::pcp(&server);
    let feed = source_path(&pcp);
    let with_days = config_for(std::slice::from_ref(&pcp)).replace("feed_size = 100", "feed_size = 100\nretention_days = 30");
    let sandbox = Sandbox::new(&with_days);
    let titles = || common::atom::titles(&sandbox.party_feed("pcp"));
    // Served without validators: every poll reads the whole document.
    server.set(&feed, 200, &[("Content-Type", "application/rss+xml")], rss_of(&[("Recent", 1)]));
    sandbox.poll_once();
    // The source now lists an article older than the retention: it stays out.
    server.set(&feed, 200, &[("Content-Type", "application/rss+xml")], rss_of(&[("Recent", 1), ("Old", 60)]));
    sandbox.poll_once();
    assert_eq!(titles(), ["Recent"]);

    // Retention by age is dropped (only a count is kept): the next prune
    // forgets the age cutoff, and the poll after it takes the article in,
    // although the article itself did not change (the document around it did).
    sandbox.rewrite_config(&with_days.replace("retention_days = 30", "max_entries_per_party = 1000"));
    server.set(&feed, 200, &[("Content-Type", "application/rss+xml")], rss_of(&[("Newer", 0), ("Recent", 1), ("Old", 60)]));
    sandbox.poll_once();
    assert_eq!(titles(), ["Newer", "Recent"], "the age cutoff still holds until the prune after this poll");
    server.set(&feed, 200, &[("Content-Type", "application/rss+xml")], rss_of(&[("Newest", 0), ("Newer", 0), ("Recent", 1), ("Old", 60)]));
    sandbox.poll_once();
    // (titles sorted)
    assert_eq!(titles(), ["Newer", "Newest", "Old", "Recent"], "an unchanged item kept out before is read again, not skipped as seen");
}

fn source_path(party: &common::parties::Party) -> String {
    let url = &party.sources[0].1;
    url.find("/pcp/").map(|at| url[at..].to_string()).unwrap_or_default()
}

/// A synthetic entry about the size of a real one (a title, a link, a
/// summary of a few hundred words).
fn story(party: &str, n: u64, published: DateTime<Utc>) -> Entry {
    let party = PartyId::parse(party).unwrap();
    let source = SourceId::new(&party, "feed");
    let link = format!("https://{party}.example.org/news/{n}");
    let title = format!("Statement {n} of the central committee on the struggle of the working class");
    let summary = format!("<p>{}</p>", "The workers of every branch demand higher wages and pensions. ".repeat(12));
    let ident = identity::identify(&party, &source, Some(&link), Some(&link), &title, Some(&summary), None);
    let hash = identity::content_hash(&title, Some(&link), Some(&summary), None);
    Entry {
        atom_id: ident.atom_id(),
        key: ident.key,
        party,
        source: source.clone(),
        sources: vec![source],
        canonical_link: Some(link.clone()),
        sketch: (0..64).map(|i| (n as u32).wrapping_mul(2654435761).wrapping_add(i)).collect(),
        title,
        link: Some(link),
        summary: Some(summary),
        content: None,
        authors: vec![],
        language: Some("en".into()),
        published,
        date_guessed: false,
        updated: published,
        first_seen: published,
        content_hash: hash.clone(),
        source_hash: hash,
        origin: Origin { feed_url: "https://example.org/feed".into(), feed_id: None, title: None, link: None },
    }
}

/// One simulated day: `per_day` new entries over `parties`, every party's
/// feed re-polled (its last 20 items seen again, as feeds repeat them),
/// languages filed as the publisher would, a prune, a flush.
/// Returns (day, entries, bytes on disk) every `report_every` days.
fn simulate(dir: &std::path::Path, days: i64, per_day: u64, policy: RetentionPolicy, report_every: i64) -> Vec<(i64, usize, u64)> {
    let store = Store::open(dir).unwrap();
    let parties = ["pcp", "kke", "pce", "cpb", "ptb", "sacp", "cpi-m", "jcp", "kpo", "pcb"];
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 6, 0, 0).unwrap();
    let mut out = Vec::new();
    let mut n = 0u64;
    for day in 1..=days {
        let now = start + Duration::days(day);
        for i in 0..per_day {
            let party = parties[(i as usize) % parties.len()];
            let published = now - Duration::minutes((per_day - i) as i64);
            store.upsert(story(party, n, published), now, true).unwrap();
            n += 1;
        }
        // Feeds list their recent items again at every poll: those are unchanged upserts.
        for back in n.saturating_sub(20 * parties.len() as u64)..n {
            let party = parties[(back % per_day) as usize % parties.len()];
            let published = start + Duration::days(day) - Duration::minutes(1);
            let _ = store.upsert(story(party, back, published.min(now)), now, true).unwrap();
        }
        for entry in store.language_pending(usize::MAX).unwrap() {
            store.set_language(&entry, "en").unwrap();
        }
        store.prune(&policy, now).unwrap();
        store.flush_blocking().unwrap();
        if day % report_every == 0 || day == days {
            out.push((day, store.len(), dir_size(dir)));
        }
    }
    out
}

#[test]
fn disk_use_stops_growing_once_retention_prunes_daily() {
    let dir = tempfile::tempdir().unwrap();
    let policy = RetentionPolicy { max_age: Some(Duration::days(10)), max_entries_per_party: None };
    let sizes = simulate(dir.path(), 40, 40, policy, 10);
    let entries: Vec<usize> = sizes.iter().map(|(_, n, _)| *n).collect();
    assert!(entries[1..].iter().all(|n| (400..=440).contains(n)), "entries level off at ten days' worth: {sizes:?}");
    let (at_20, at_40) = (sizes[1].2, sizes[3].2);
    assert!(at_40 < at_20 * 2, "disk use must not keep growing with the days: {sizes:?}");
}

#[test]
#[ignore = "minutes long: run with --release -- --ignored --nocapture for the README's figures"]
fn a_year_of_polls_with_30_days_retention() {
    let dir = tempfile::tempdir().unwrap();
    let policy = RetentionPolicy { max_age: Some(Duration::days(30)), max_entries_per_party: None };
    let per_day = 200;
    let sizes = simulate(dir.path(), 365, per_day, policy, 30);
    println!("{per_day} entries a day over 10 parties, retention_days = 30, pruned daily:");
    println!("{:>5} {:>8} {:>10}", "day", "entries", "MiB");
    for (day, entries, bytes) in &sizes {
        println!("{day:>5} {entries:>8} {:>10.1}", *bytes as f64 / 1048576.0);
    }
    let store = Store::open(dir.path()).unwrap();
    let mut export = Vec::new();
    store.export(&mut export).unwrap();
    println!("export: {:.1} MiB of JSON Lines", export.len() as f64 / 1048576.0);
    drop(store);
    let fresh = tempfile::tempdir().unwrap();
    let copy = Store::open(fresh.path()).unwrap();
    copy.import(&mut export.as_slice()).unwrap();
    copy.flush_blocking().unwrap();
    println!("after compaction (export + import into a fresh store): {:.1} MiB", dir_size(fresh.path()) as f64 / 1048576.0);
}
