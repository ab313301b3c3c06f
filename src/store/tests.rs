use super::*;
use crate::normalize::identity;
use crate::normalize::Origin;
use chrono::Duration;

fn entry(party: &str, id: &str, title: &str, published: DateTime<Utc>) -> Entry {
    let party = PartyId::parse(party).unwrap();
    let source = SourceId::new(&party, "feed");
    let ident = identity::identify(&party, &source, Some(id), None, title, None, None);
    Entry {
        atom_id: ident.atom_id(),
        key: ident.key,
        sources: vec![source.clone()],
        party,
        source,
        canonical_link: None,
        sketch: vec![],
        title: title.to_string(),
        link: None,
        summary: None,
        content: None,
        authors: vec![],
        language: None,
        published,
        date_guessed: false,
        updated: published,
        first_seen: published,
        content_hash: identity::content_hash(title, None, None, None),
        source_hash: identity::content_hash(title, None, None, None),
        origin: Origin { feed_url: "http://x/".into(), feed_id: None, title: None, link: None },
    }
}

fn t(hours: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap() + Duration::hours(hours)
}

#[test]
fn new_unchanged_and_updated_entries() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let e = entry("pcp", "1", "Old title", t(0));
    assert_eq!(store.upsert(e.clone(), t(1), false).unwrap().0, Upsert::New);
    assert_eq!(store.upsert(e.clone(), t(2), false).unwrap().0, Upsert::Unchanged);
    let mut edited = entry("pcp", "1", "New title", t(0));
    edited.atom_id = "urn:uuid:should-not-replace".into();
    edited.first_seen = t(3);
    assert_eq!(store.upsert(edited, t(3), false).unwrap().0, Upsert::Updated);
    let stored = store.get(&e.key).unwrap().unwrap();
    assert_eq!(stored.title, "New title");
    assert_eq!(stored.atom_id, e.atom_id);
    assert_eq!(stored.first_seen, t(0));
    assert_eq!(stored.updated, t(3));
    assert_eq!(store.len(), 1);
    assert_eq!(store.newest(10).unwrap().len(), 1, "the update must not leave a second index row");
}

fn linked(party: &str, source: &str, id: &str, title: &str, link: &str, summary: Option<&str>) -> Entry {
    let mut e = entry(party, id, title, t(0));
    let party = PartyId::parse(party).unwrap();
    e.source = SourceId::new(&party, source);
    e.sources = vec![e.source.clone()];
    let ident = identity::identify(&party, &e.source, Some(id), Some(link), title, summary, None);
    e.key = ident.key.clone();
    e.atom_id = ident.atom_id();
    e.link = Some(link.to_string());
    e.canonical_link = crate::normalize::canonical::canonical_url(link).map(|c| c.to_string());
    e.summary = summary.map(str::to_string);
    e.content_hash = identity::content_hash(title, Some(link), summary, None);
    e.source_hash = e.content_hash.clone();
    e
}

#[test]
fn a_story_from_a_second_source_of_the_party_is_stored_once_and_fills_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let feed = linked("pcp", "feed", "12", "Declaração", "https://www.pcp.pt/declaracao?utm_source=rss", None);
    let site = linked("pcp", "site", "", "Declaração do CC", "http://pcp.pt/declaracao/", Some("<p>Texto.</p>"));
    assert_eq!(store.upsert(feed.clone(), t(1), true).unwrap(), (Upsert::New, Matched::Identity));
    assert_eq!(store.upsert(site.clone(), t(2), true).unwrap(), (Upsert::Updated, Matched::LinkOtherSource));
    assert_eq!(store.len(), 1);
    let stored = store.get(&feed.key).unwrap().unwrap();
    assert_eq!(stored.title, "Declaração", "only the owning source may change the title");
    assert_eq!(stored.summary.as_deref(), Some("<p>Texto.</p>"), "another source fills what was missing");
    assert_eq!(stored.sources.iter().map(|s| s.as_str()).collect::<Vec<_>>(), ["pcp/feed", "pcp/site"]);
    // Polling both again changes nothing: no flip-flop between the two texts.
    assert_eq!(store.upsert(feed, t(3), true).unwrap().0, Upsert::Unchanged);
    assert_eq!(store.upsert(site, t(4), true).unwrap().0, Upsert::Unchanged);
    assert_eq!(store.get(&stored.key).unwrap().unwrap().updated, t(2));
}

#[test]
fn a_rotated_id_with_the_same_link_is_the_same_entry() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let first = linked("kke", "feed", "guid-1", "Ανακοίνωση", "https://www.kke.gr/a/", None);
    let rotated = linked("kke", "feed", "guid-2", "Ανακοίνωση", "https://www.kke.gr/a/", None);
    store.upsert(first.clone(), t(1), true).unwrap();
    assert_eq!(store.upsert(rotated, t(2), true).unwrap(), (Upsert::Unchanged, Matched::LinkSameSource));
    assert_eq!(store.len(), 1);
    assert_eq!(store.get(&first.key).unwrap().unwrap().atom_id, first.atom_id);
}

#[test]
fn without_link_matching_shared_links_stay_separate_entries() {
    // Feeds that give every item the homepage as its link: the caller turns link matching off.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.upsert(linked("cpb", "feed", "1", "One", "https://cpb.example/", None), t(1), false).unwrap();
    assert_eq!(store.upsert(linked("cpb", "feed", "2", "Two", "https://cpb.example/", None), t(1), false).unwrap().0, Upsert::New);
    assert_eq!(store.len(), 2);
}

#[test]
fn newest_is_newest_first_and_per_party() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for (i, party) in ["pcp", "kke", "pcp", "kke", "pcp"].iter().enumerate() {
        store.upsert(entry(party, &i.to_string(), &format!("t{i}"), t(i as i64)), t(10), false).unwrap();
    }
    let titles = |v: Vec<Entry>| v.into_iter().map(|e| e.title).collect::<Vec<_>>();
    assert_eq!(titles(store.newest(3).unwrap()), ["t4", "t3", "t2"]);
    assert_eq!(titles(store.newest_of_party(&PartyId::parse("pcp").unwrap(), 10).unwrap()), ["t4", "t2", "t0"]);
    assert_eq!(titles(store.newest_of_party(&PartyId::parse("kke").unwrap(), 1).unwrap()), ["t3"]);
    assert_eq!(store.count_of_party(&PartyId::parse("kke").unwrap()), 2);
    // A party id that is a prefix of another must not see its entries.
    assert!(store.newest_of_party(&PartyId::parse("kk").unwrap(), 10).unwrap().is_empty());
}

#[test]
fn dates_before_1970_sort_before_later_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.upsert(entry("pcp", "a", "old", Utc.with_ymd_and_hms(1921, 3, 6, 0, 0, 0).unwrap()), t(0), false).unwrap();
    store.upsert(entry("pcp", "b", "new", t(0)), t(0), false).unwrap();
    let titles: Vec<String> = store.newest(10).unwrap().into_iter().map(|e| e.title).collect();
    assert_eq!(titles, ["new", "old"]);
}

#[test]
fn entries_and_state_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let source = SourceId::new(&PartyId::parse("pcp").unwrap(), "feed");
    {
        let store = Store::open(dir.path()).unwrap();
        store.upsert(entry("pcp", "1", "kept", t(0)), t(0), false).unwrap();
        let state = SourceState { last_error: Some("HTTP 500".into()), consecutive_failures: 2, ..SourceState::default() };
        store.put_source_state(&source, &state).unwrap();
        store.flush_blocking().unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.newest(10).unwrap()[0].title, "kept");
    assert_eq!(store.source_state(&source).unwrap().consecutive_failures, 2);
}

#[test]
fn the_published_marker_stands_until_something_published_changes() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.published_marker(), None, "a new store was never published");
        store.upsert(entry("pcp", "1", "kept", t(0)), t(0), false).unwrap();
        assert!(store.has_unpublished_changes());
        let _ = store.take_changes();
        assert!(!store.has_unpublished_changes());
        store.mark_published(&[7; 48]).unwrap();
        store.flush_blocking().unwrap();
    }
    {
        // Reading (status, export) leaves it.
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.published_marker(), Some(&[7; 48][..]));
        assert_eq!(store.newest(10).unwrap().len(), 1);
        store.put_source_state(&SourceId::new(&PartyId::parse("pcp").unwrap(), "feed"), &SourceState::default()).unwrap();
    }
    {
        // A change is never taken for published, even by a process that
        // stops before its own publish: the marker is gone from disk first.
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.published_marker(), Some(&[7; 48][..]), "the marker of the files as the process found them");
        store.upsert(entry("pcp", "2", "new", t(1)), t(1), false).unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.published_marker(), None);
}

#[test]
fn the_entry_count_follows_stores_prunes_and_imports_without_counting_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.len(), 0);
    store.upsert(entry("pcp", "1", "one", t(1)), t(1), false).unwrap();
    let batch = vec![
        (entry("pcp", "2", "two", t(2)), false),
        (entry("pcp", "1", "one, edited", t(1)), false),
        (entry("kke", "3", "τρία", t(3)), false),
    ];
    store.upsert_batch(batch, t(3), None).unwrap();
    assert_eq!(store.len(), 3, "two new, one edited");
    let report = store.prune(&RetentionPolicy { max_age: None, max_entries_per_party: Some(1) }, t(4)).unwrap();
    assert_eq!(report.pruned(), 1);
    assert_eq!(store.len(), 2);
    assert_eq!(store.len(), store.entries.len(), "the kept count is what the tree holds");
    let mut exported = Vec::new();
    store.export(&mut exported).unwrap();
    drop(store);
    let copy = tempfile::tempdir().unwrap();
    let imported = Store::open(copy.path()).unwrap();
    assert_eq!(imported.len(), 0);
    imported.import(&mut exported.as_slice()).unwrap();
    assert_eq!(imported.len(), 2, "an import counts again");
}

#[test]
fn a_newer_schema_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        store.meta.insert("schema_version", &(SCHEMA_VERSION + 1).to_be_bytes()).unwrap();
        store.flush_blocking().unwrap();
    }
    let err = Store::open(dir.path()).err().unwrap();
    assert!(err.to_string().contains("newer than this Plenum understands"), "{err}");
}

fn linked_at(party: &str, id: &str, link: &str, published: DateTime<Utc>) -> Entry {
    let mut e = linked(party, "feed", id, &format!("story {id}"), link, Some("<p>text</p>"));
    e.published = published;
    e.updated = published;
    e.first_seen = published;
    e
}

/// Every tree row that names `key`, by tree, for "nothing left behind" checks.
fn rows_naming(store: &Store, key: &EntryKey) -> Vec<&'static str> {
    let key = key.as_str().as_bytes();
    let ends_with = |tree: &sled::Tree| tree.iter().keys().any(|k| k.unwrap().ends_with(key));
    let points_at = |tree: &sled::Tree| tree.iter().values().any(|v| v.unwrap().as_ref() == key);
    let mut found = Vec::new();
    for (name, tree) in
        [("entries", &store.entries), ("entry_language", &store.entry_language), ("language_pending", &store.language_pending)]
    {
        if tree.contains_key(key).unwrap() {
            found.push(name);
        }
    }
    for (name, tree) in [("by_time", &store.by_time), ("by_party", &store.by_party), ("by_language", &store.by_language)] {
        if ends_with(tree) {
            found.push(name);
        }
    }
    if points_at(&store.aliases) {
        found.push("aliases");
    }
    found
}

fn age_policy(days: i64) -> RetentionPolicy {
    RetentionPolicy { max_age: Some(Duration::days(days)), max_entries_per_party: None }
}

#[test]
fn pruning_by_age_removes_old_entries_with_every_index_row() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let now = t(24 * 100);
    let old = linked_at("pcp", "old", "https://pcp.pt/old", now - Duration::days(40));
    let kept = linked_at("pcp", "kept", "https://pcp.pt/kept", now - Duration::days(10));
    for e in [&old, &kept] {
        store.upsert(e.clone(), now, true).unwrap();
    }
    // The publisher filed one language; the other entry is still queued.
    store.set_language(&store.get(&old.key).unwrap().unwrap(), "pt").unwrap();
    assert_eq!(rows_naming(&store, &old.key).len(), 6, "{:?}", rows_naming(&store, &old.key));

    let report = store.prune(&age_policy(30), now).unwrap();

    assert_eq!((report.by_age, report.by_count, report.remaining), (1, 0, 1));
    assert_eq!(report.per_party.get("pcp"), Some(&1));
    assert!(rows_naming(&store, &old.key).is_empty(), "left behind: {:?}", rows_naming(&store, &old.key));
    assert_eq!(store.newest(10).unwrap().iter().map(|e| &e.key).collect::<Vec<_>>(), [&kept.key]);
    assert_eq!(store.count_of_language("pt"), 0);
    assert!(store.languages().unwrap().is_empty());
    assert_eq!(rows_naming(&store, &kept.key), ["entries", "language_pending", "by_time", "by_party", "aliases"]);
}

#[test]
fn pruning_by_count_keeps_each_partys_newest() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for i in 0..700 {
        store.upsert(entry("pcp", &format!("p{i}"), &format!("pcp {i}"), t(i)), t(1000), false).unwrap();
    }
    for i in 0..5 {
        store.upsert(entry("kke", &format!("k{i}"), &format!("kke {i}"), t(i)), t(1000), false).unwrap();
    }
    let policy = RetentionPolicy { max_age: None, max_entries_per_party: Some(100) };

    let report = store.prune(&policy, t(1000)).unwrap();

    assert_eq!((report.by_count, report.remaining), (600, 105));
    assert!(report.batches >= 3, "600 removals take several batches of {PRUNE_BATCH_FOR_TESTS}: {report:?}");
    let pcp = store.newest_of_party(&PartyId::parse("pcp").unwrap(), 1000).unwrap();
    assert_eq!(pcp.len(), 100);
    assert_eq!(pcp.last().unwrap().title, "pcp 600", "the oldest kept is the 100th newest");
    assert_eq!(store.count_of_party(&PartyId::parse("kke").unwrap()), 5);
    assert_eq!(store.prune(&policy, t(1000)).unwrap().pruned(), 0, "a second run finds nothing");
}

const PRUNE_BATCH_FOR_TESTS: usize = retention::PRUNE_BATCH;

#[test]
fn a_pruned_entry_still_listed_by_its_source_does_not_come_back_as_new() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let now = t(24 * 100);
    let old = entry("pcp", "old", "old", now - Duration::days(40));
    store.upsert(old.clone(), now, false).unwrap();
    store.prune(&age_policy(30), now).unwrap();
    assert_eq!(store.upsert(old.clone(), now, false).unwrap().0, Upsert::Unchanged, "behind the age fence");
    assert!(store.is_empty());

    // By count: the party's oldest goes, and stays gone.
    let policy = RetentionPolicy { max_age: None, max_entries_per_party: Some(10) };
    let many: Vec<Entry> = (0..11).map(|i| entry("kke", &format!("k{i}"), &format!("k{i}"), now - Duration::hours(11 - i))).collect();
    for e in &many {
        store.upsert(e.clone(), now, false).unwrap();
    }
    assert_eq!(store.prune(&policy, now).unwrap().by_count, 1);
    assert_eq!(store.upsert(many[0].clone(), now, false).unwrap().0, Upsert::Unchanged, "tombstoned");
    assert_eq!(store.count_of_party(&PartyId::parse("kke").unwrap()), 10);

    // The fence lifts once pruning stops refreshing it (retention turned off).
    let later = now + retention::FENCE_LIFETIME + Duration::days(1);
    assert_eq!(store.upsert(old, later, false).unwrap().0, Upsert::New);
}

#[test]
fn pruning_with_nothing_due_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.upsert(entry("pcp", "1", "fresh", t(0)), t(0), false).unwrap();
    let policy = RetentionPolicy { max_age: Some(Duration::days(30)), max_entries_per_party: Some(100) };
    let report = store.prune(&policy, t(1)).unwrap();
    assert_eq!(report, PruneReport { remaining: 1, ..PruneReport::default() });
}

#[test]
fn a_version_0_store_is_migrated_and_its_indexes_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let a = linked_at("pcp", "a", "https://pcp.pt/a", t(1));
    let b = entry("kke", "b", "b", t(2));
    {
        let store = Store::open(dir.path()).unwrap();
        store.upsert(a.clone(), t(3), true).unwrap();
        store.upsert(b.clone(), t(3), false).unwrap();
        store.set_language(&store.get(&a.key).unwrap().unwrap(), "pt").unwrap();
        // What a store from before schema versions looked like: no version, indexes of another shape.
        store.meta.remove("schema_version").unwrap();
        for tree in [&store.by_time, &store.by_party, &store.aliases, &store.by_language, &store.language_pending] {
            tree.clear().unwrap();
        }
        store.by_time.insert(b"stale row of an old layout", &[]).unwrap();
        store.flush_blocking().unwrap();
    }

    let store = Store::open(dir.path()).unwrap();

    assert_eq!(store.meta.get("schema_version").unwrap().unwrap().as_ref(), SCHEMA_VERSION.to_be_bytes());
    assert_eq!(store.newest(10).unwrap().iter().map(|e| &e.key).collect::<Vec<_>>(), [&b.key, &a.key]);
    assert_eq!(store.count_of_party(&PartyId::parse("pcp").unwrap()), 1);
    assert_eq!(store.count_of_language("pt"), 1, "a decided language is kept");
    assert_eq!(store.language_pending(10).unwrap().iter().map(|e| &e.key).collect::<Vec<_>>(), [&b.key], "an undecided one is queued");
    let rotated = linked_at("pcp", "a-rotated", "https://pcp.pt/a", t(1));
    assert_eq!(store.upsert(rotated, t(4), true).unwrap().1, Matched::LinkSameSource, "the link index is back");
}

#[test]
fn export_then_import_gives_the_same_store() {
    let (from, to) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let store = Store::open(from.path()).unwrap();
    for i in 0..2500 {
        let party = ["pcp", "kke", "pce"][i % 3];
        store.upsert(linked_at(party, &i.to_string(), &format!("https://{party}.example/{i}"), t(i as i64)), t(3000), true).unwrap();
    }
    for e in store.language_pending(100).unwrap() {
        store.set_language(&e, "pt").unwrap();
    }
    let source = SourceId::new(&PartyId::parse("pcp").unwrap(), "feed");
    store.put_source_state(&source, &SourceState { gone: true, consecutive_failures: 4, ..SourceState::default() }).unwrap();
    let mut file = Vec::new();
    let exported = store.export(&mut file).unwrap();
    assert_eq!((exported.entries, exported.sources), (2500, 1));

    let copy = Store::open(to.path()).unwrap();
    let imported = copy.import(&mut file.as_slice()).unwrap();

    assert_eq!((imported.entries, imported.sources), (2500, 1));
    assert_eq!(copy.newest(3000).unwrap(), store.newest(3000).unwrap());
    for party in ["pcp", "kke", "pce"] {
        let party = PartyId::parse(party).unwrap();
        assert_eq!(copy.newest_of_party(&party, 3000).unwrap(), store.newest_of_party(&party, 3000).unwrap());
    }
    assert_eq!(copy.count_of_language("pt"), 100);
    assert_eq!(copy.language_pending(5000).unwrap().len(), 2400);
    assert_eq!(copy.source_state(&source).unwrap(), store.source_state(&source).unwrap());
    let mut again = Vec::new();
    copy.export(&mut again).unwrap();
    let body = |v: &[u8]| String::from_utf8(v.to_vec()).unwrap().lines().skip(1).map(str::to_string).collect::<Vec<_>>();
    assert_eq!(body(&again), body(&file), "the same store exports the same lines, in key order");
}

#[test]
fn import_refuses_a_store_that_is_not_empty_and_a_file_cut_short() {
    let (from, to) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let store = Store::open(from.path()).unwrap();
    for i in 0..10 {
        store.upsert(entry("pcp", &i.to_string(), "x", t(i)), t(20), false).unwrap();
    }
    let mut file = Vec::new();
    store.export(&mut file).unwrap();
    let err = store.import(&mut file.as_slice()).unwrap_err();
    assert!(err.to_string().contains("import only loads into an empty store"), "{err}");

    let cut: Vec<u8> = String::from_utf8(file).unwrap().lines().take(5).flat_map(|l| format!("{l}\n").into_bytes()).collect();
    let err = Store::open(to.path()).unwrap().import(&mut cut.as_slice()).unwrap_err();
    assert!(err.to_string().contains("the export is incomplete"), "{err}");

    let err = Store::open(&to.path().join("other")).unwrap().import(&mut "<rss/>\n".as_bytes()).unwrap_err();
    assert!(err.to_string().contains("not a Plenum export"), "{err}");
}

/// Writes a store with some entries into `dir` and closes it.
fn filled_store(dir: &Path) {
    let store = Store::open(dir).unwrap();
    for i in 0..300 {
        let mut e = entry("pcp", &i.to_string(), &format!("entry {i}"), t(i));
        e.content = Some("<p>".to_string() + &"text ".repeat(200) + "</p>");
        store.upsert(e, t(400), false).unwrap();
    }
    store.flush_blocking().unwrap();
}

#[test]
fn a_damaged_store_gives_an_error_naming_the_path_and_the_remedy_never_a_panic() {
    type Damage = fn(&Path);
    let damages: [(&str, Damage); 5] = [
        ("db truncated to 100 bytes", |d| std::fs::OpenOptions::new().write(true).open(d.join("db")).unwrap().set_len(100).unwrap()),
        ("db truncated to 0 bytes", |d| std::fs::OpenOptions::new().write(true).open(d.join("db")).unwrap().set_len(0).unwrap()),
        ("conf is garbage", |d| std::fs::write(d.join("conf"), b"\xff\xfe garbage \x00\x01").unwrap()),
        ("db is garbage", |d| {
            let len = std::fs::metadata(d.join("db")).unwrap().len() as usize;
            std::fs::write(d.join("db"), (0..len).map(|i| (i * 7919 % 251) as u8).collect::<Vec<u8>>()).unwrap()
        }),
        ("db overwritten in the middle", |d| {
            let mut bytes = std::fs::read(d.join("db")).unwrap();
            let (mid, len) = (bytes.len() / 3, bytes.len());
            for b in &mut bytes[mid..mid + 4096.min(len - mid)] {
                *b = 0xAB;
            }
            std::fs::write(d.join("db"), bytes).unwrap()
        }),
    ];
    for (what, damage) in damages {
        let dir = tempfile::tempdir().unwrap();
        filled_store(dir.path());
        damage(dir.path());
        // Opening must not panic; whether sled notices depends on where the damage is.
        let opened = std::panic::catch_unwind(|| Store::open(dir.path()).map(|s| s.newest(1000).map(|v| v.len())));
        match opened {
            Err(_) => panic!("{what}: Store::open panicked"),
            Ok(Err(e)) => {
                let message = e.to_string();
                assert!(message.contains(&dir.path().display().to_string()), "{what}: {message}");
                assert!(message.contains("plenum import") || message.contains("restore"), "{what}: {message}");
            }
            // Damage past the start of the log: sled keeps what comes before it.
            Ok(Ok(read)) if what.contains("middle") => eprintln!("{what}: sled opened it; read {read:?}"),
            Ok(Ok(read)) => panic!("{what}: opened as if nothing happened, read {read:?}"),
        }
    }
}

#[test]
fn a_version_1_store_gets_compressed_records_and_fresh_sketches() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = linked_at("pcp", "a", "https://pcp.pt/a", t(1));
    a.content = Some("<p>Os trabalhadores lutam pela paz e pelo pão em todo o país</p>".into());
    a.sketch = vec![7; crate::normalize::story::SKETCH_LEN]; // a sketch of the old function
    {
        let store = Store::open(dir.path()).unwrap();
        // A store as schema 1 wrote it: entries in JSON.
        store.upsert(a.clone(), t(3), true).unwrap();
        store.entries.insert(a.key.as_str(), serde_json::to_vec(&a).unwrap()).unwrap();
        store.meta.insert("schema_version", &1u32.to_be_bytes()).unwrap();
        store.flush_blocking().unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let raw = store.entries.get(a.key.as_str()).unwrap().unwrap();
    assert_eq!(raw.first(), Some(&ENTRY_FORMAT), "the record is rewritten in the new format");
    let migrated = store.get(&a.key).unwrap().unwrap();
    let want = crate::normalize::story::text_sketch("Os trabalhadores lutam pela paz e pelo pão em todo o país");
    assert_eq!(migrated.sketch, want);
    assert_eq!(Entry { sketch: a.sketch.clone(), ..migrated }, a, "nothing else changes");
    assert!(store.take_changes().all, "a migration republishes everything");
}

#[test]
fn compressed_records_are_smaller_and_damage_is_an_error() {
    let mut e = entry("pcp", "1", "Título", t(0));
    e.content = Some("<p>Avante! Uma nota do Comité Central sobre a luta dos trabalhadores. </p>".repeat(30));
    let packed = encode_entry(&e).unwrap();
    assert!(packed.len() * 4 < serde_json::to_vec(&e).unwrap().len(), "{} bytes", packed.len());
    assert_eq!(decode_entry(&packed, "k").unwrap(), e);
    for damaged in [&packed[..packed.len() / 2], &[ENTRY_FORMAT, 0xff, 0xff, 0xff, 0x7f][..], &[ENTRY_FORMAT][..], b"{not json"] {
        assert!(matches!(decode_entry(damaged, "k"), Err(StoreError::Corrupt { .. })));
    }
}

#[test]
fn a_batch_sees_its_own_earlier_entries() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let first = linked_at("pcp", "a", "https://pcp.pt/a", t(1));
    let mut edited = first.clone();
    edited.title = "Edited".into();
    edited.source_hash = "changed".into();
    // The same link under a rotated id, later in the same document.
    let mut rotated = linked_at("pcp", "a-rotated", "https://pcp.pt/a", t(1));
    rotated.title = "Edited".into();
    rotated.source_hash = "changed".into();
    let other = linked_at("pcp", "b", "https://pcp.pt/b", t(2));
    let decide = |e: &Entry| if e.key == other.key { "pt".to_string() } else { "es".to_string() };
    let outcomes = store
        .upsert_batch(vec![(first.clone(), true), (edited, true), (rotated, true), (other.clone(), true)], t(3), Some(&decide))
        .unwrap();
    assert_eq!(
        outcomes,
        [
            (Upsert::New, Matched::Identity),
            (Upsert::Updated, Matched::Identity),
            (Upsert::Unchanged, Matched::LinkSameSource),
            (Upsert::New, Matched::Identity)
        ]
    );
    assert_eq!(store.len(), 2);
    assert_eq!(store.newest(10).unwrap().len(), 2, "one index row per entry");
    assert_eq!(store.get(&first.key).unwrap().unwrap().title, "Edited");
    assert_eq!((store.count_of_language("es"), store.count_of_language("pt")), (1, 1), "languages filed in the same write");
    assert!(store.language_pending(10).unwrap().is_empty());
    let changes = store.take_changes();
    assert_eq!(changes.parties.iter().map(PartyId::as_str).collect::<Vec<_>>(), ["pcp"]);
    assert_eq!(changes.languages.iter().map(String::as_str).collect::<Vec<_>>(), ["es", "pt"]);
    assert!(!changes.all);
    assert!(store.take_changes().is_empty(), "taken once");
    assert_eq!(store.upsert_batch(vec![(other.clone(), true)], t(4), Some(&decide)).unwrap(), [(Upsert::Unchanged, Matched::Identity)]);
    assert!(store.take_changes().is_empty(), "nothing changed, nothing to republish");
}

#[test]
fn two_sources_storing_one_story_at_once_store_it_once_with_both_sources() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for round in 0..20 {
        let link = format!("https://pcp.pt/joint-{round}");
        // The same story from the party's two feeds, by link (ids differ).
        let from_a = linked("pcp", "rss", &format!("a-{round}"), "Joint statement", &link, Some("<p>short</p>"));
        let mut from_b = linked("pcp", "atom", &format!("b-{round}"), "Joint statement", &link, None);
        from_b.content = Some("<p>the whole text</p>".into());
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let run = |entry: Entry| {
            let (store, barrier) = (store.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                store.upsert_batch(vec![(entry, true)], t(1), None).unwrap()[0].0
            })
        };
        let (a, b) = (run(from_a.clone()), run(from_b.clone()));
        let outcomes = [a.join().unwrap(), b.join().unwrap()];
        assert_eq!(outcomes.iter().filter(|o| **o == Upsert::New).count(), 1, "round {round}: {outcomes:?}");
        let stored: Vec<Entry> = store.newest(1000).unwrap().into_iter().filter(|e| e.link.as_deref() == Some(link.as_str())).collect();
        assert_eq!(stored.len(), 1, "round {round}");
        assert_eq!(stored[0].sources.len(), 2, "round {round}: both sources are recorded");
        assert!(stored[0].summary.is_some() && stored[0].content.is_some(), "round {round}: each filled what the other lacked");
    }
}
