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
