//! `plenum poll-once`: what it reports per source and what it publishes.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::atom::{self, entry_titled, links_with_rel, titles};
use common::fixture_server::{read_fixture, FixtureServer};
use common::logfmt::line_for;
use common::parties::{self, config_for, serve_three_parties, sorted, Party};
use common::plenum::Sandbox;

fn source_url(party: &Party) -> &str {
    &party.sources[0].1
}

#[test]
fn rss_atom_and_json_feed_sources_are_merged_and_split_per_party() {
    let server = FixtureServer::start();
    let parties = serve_three_parties(&server);
    let sandbox = Sandbox::new(&config_for(&parties));

    let lines = sandbox.poll_once();

    assert_eq!(lines.len(), 3, "one line per source: {lines:#?}");
    let expected_counts = [("pcp", "pcp/rss", 3), ("kke", "kke/atom", 4), ("pce", "pce/json", 2)];
    for ((party_id, source, count), party) in expected_counts.iter().zip(&parties) {
        let line = line_for(&lines, source);
        assert_eq!(line.get("party"), *party_id, "{}", line.raw);
        assert_eq!(line.get("status"), "ok", "{}", line.raw);
        assert_eq!(line.get("http"), "200", "{}", line.raw);
        assert_eq!(line.count("seen"), *count, "{}", line.raw);
        assert_eq!(line.count("new"), *count, "{}", line.raw);
        assert_eq!(line.count("updated"), 0, "{}", line.raw);
        assert_eq!(line.get("url"), source_url(party), "{}", line.raw);
        assert!(!line.fields.contains_key("error"), "no error on success: {}", line.raw);
    }

    let merged = sandbox.merged_feed();
    assert_eq!(titles(&merged), parties::three_party_titles());
    assert_feed_links(&merged, "feed.atom");

    let ids: BTreeSet<&str> = merged.entries().iter().map(|e| e.id()).collect();
    assert_eq!(ids.len(), merged.entries().len(), "entry ids must be unique");
    for entry in merged.entries() {
        assert!(entry.id().starts_with("urn:uuid:"), "entry id should be a urn:uuid: {}", entry.id());
    }

    // In the merged feed each entry names the party it came from.
    let party_of_title: BTreeMap<&str, &Party> = parties::PCP_TITLES
        .iter()
        .map(|t| (*t, &parties[0]))
        .chain(parties::KKE_TITLES.iter().map(|t| (*t, &parties[1])))
        .chain(parties::PCE_TITLES.iter().map(|t| (*t, &parties[2])))
        .collect();
    for entry in merged.entries() {
        let title = atom::title(entry);
        assert_entry_names_party(entry, party_of_title[title.as_str()]);
    }

    // Per-party feeds hold only their own party's entries.
    for (party, expected) in parties.iter().zip([&parties::PCP_TITLES[..], &parties::KKE_TITLES[..], &parties::PCE_TITLES[..]]) {
        let feed = sandbox.party_feed(party.id);
        assert_eq!(titles(&feed), sorted(expected), "parties/{}.atom", party.id);
        assert_feed_links(&feed, &format!("parties/{}.atom", party.id));
        for entry in feed.entries() {
            assert_entry_names_party(entry, party);
        }
    }

    // Links go to the original articles; dates the source gave are kept.
    for (title, link) in parties::PCP_TITLES.iter().zip(parties::PCP_LINKS) {
        let entry = entry_titled(&merged, title);
        assert_eq!(links_with_rel(entry.links(), "alternate"), vec![link], "{title}");
    }
    let salarios = entry_titled(&merged, parties::PCP_TITLES[0]);
    assert_eq!(salarios.published().map(|d| d.timestamp()), Some(timestamp("2026-11-21T17:00:00Z")), "published should be the RSS pubDate");
    let apergia = entry_titled(&merged, parties::KKE_TITLES[0]);
    assert_eq!(
        apergia.published().map(|d| d.timestamp()),
        Some(timestamp("2026-11-21T16:40:00+02:00")),
        "published should be the Atom <published>"
    );
    assert_eq!(links_with_rel(apergia.links(), "alternate"), vec!["https://www.kke.gr/article/anakoinosi-apergia-26-noemvri/"]);
    let vivienda = entry_titled(&merged, parties::PCE_TITLES[0]);
    assert_eq!(links_with_rel(vivienda.links(), "alternate"), vec!["https://www.pce.es/declaracion-comite-federal-vivienda-publica/"]);
}

fn timestamp(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339).unwrap().timestamp()
}

/// Author = the party as a digest names it ("Portuguese Communist Party
/// (PCP)"), a category for the party id, and a `<source>` that points at the
/// party's own feed.
fn assert_entry_names_party(entry: &atom_syndication::Entry, party: &Party) {
    let title = atom::title(entry);
    let authors: Vec<&str> = entry.authors().iter().map(|a| a.name()).collect();
    assert_eq!(authors, vec![format!("{} ({})", party.name, party.abbreviation)], "author of {title:?}");
    assert!(
        entry.categories().iter().any(|c| c.term() == party.id),
        "{title:?} should have <category term=\"{}\"/>, has {:?}",
        party.id,
        entry.categories().iter().map(|c| c.term()).collect::<Vec<_>>()
    );
    let source = entry.source().unwrap_or_else(|| panic!("{title:?} has no <source>"));
    let feed_url = source_url(party);
    assert!(
        source.id() == feed_url || source.links().iter().any(|l| l.href() == feed_url),
        "<source> of {title:?} should name the original feed {feed_url}; has id {:?} and links {:?}",
        source.id(),
        source.links().iter().map(|l| (l.rel(), l.href())).collect::<Vec<_>>()
    );
}

fn assert_feed_links(feed: &atom_syndication::Feed, what: &str) {
    assert_eq!(links_with_rel(feed.links(), "self").len(), 1, "{what} should have one rel=self link: {:?}", feed.links());
    assert!(!links_with_rel(feed.links(), "alternate").is_empty(), "{what} should have a rel=alternate link: {:?}", feed.links());
}

#[test]
fn entries_without_guid_get_a_stable_id_and_are_not_duplicated() {
    let server = FixtureServer::start();
    // No validators: the second poll downloads everything again.
    server.serve_fixture_unconditional("/ptb/rss.xml", "rss2-entry-without-id.xml");
    let ptb = parties::ptb(&server);
    let sandbox = Sandbox::new(&config_for(std::slice::from_ref(&ptb)));

    let first = sandbox.poll_once();
    let line = line_for(&first, "ptb/rss");
    assert_eq!(line.get("status"), "ok", "{}", line.raw);
    assert_eq!((line.count("seen"), line.count("new")), (2, 2), "{}", line.raw);
    let ids_after_first: BTreeMap<String, String> = id_by_title(&sandbox.merged_feed());
    assert_eq!(ids_after_first.keys().cloned().collect::<Vec<_>>(), sorted(&parties::PTB_TITLES));
    let distinct: BTreeSet<&String> = ids_after_first.values().collect();
    assert_eq!(distinct.len(), 2, "the two items need two different ids: {ids_after_first:?}");

    // Like many real feeds, the document is regenerated with a new build
    // date: the bytes differ, the items do not, so it must be parsed again.
    let regenerated = String::from_utf8(read_fixture("rss2-entry-without-id.xml")).unwrap().replace(
        "<language>fr-BE</language>",
        "<language>fr-BE</language>\n    <lastBuildDate>Sun, 22 Nov 2026 08:00:00 +0100</lastBuildDate>",
    );
    server.set("/ptb/rss.xml", 200, &[("Content-Type", "application/rss+xml; charset=utf-8")], regenerated);
    let second = sandbox.poll_once();
    let line = line_for(&second, "ptb/rss");
    assert_eq!(line.get("status"), "ok", "{}", line.raw);
    assert_eq!(
        (line.count("seen"), line.count("new"), line.count("updated")),
        (2, 0, 0),
        "nothing changed, so nothing is new: {}",
        line.raw
    );
    let merged = sandbox.merged_feed();
    assert_eq!(merged.entries().len(), 2, "no duplicates: {:#?}", titles(&merged));
    assert_eq!(id_by_title(&merged), ids_after_first, "ids must not change between polls");
    assert_eq!(id_by_title(&sandbox.party_feed("ptb")), ids_after_first);

    let pension = entry_titled(&merged, parties::PTB_TITLES[0]);
    assert_eq!(
        links_with_rel(pension.links(), "alternate"),
        vec!["https://www.ptb.be/le-ptb-depose-une-proposition-de-loi-pension-65-ans"]
    );
}

fn id_by_title(feed: &atom_syndication::Feed) -> BTreeMap<String, String> {
    feed.entries().iter().map(|e| (atom::title(e), e.id().to_string())).collect()
}

#[test]
fn second_poll_is_a_conditional_get_and_reports_not_modified() {
    let server = FixtureServer::start();
    let validators = server.serve_fixture("/pcp/statements.xml", "rss2-pcp-statements.xml");
    let pcp = parties::pcp(&server);
    let sandbox = Sandbox::new(&config_for(std::slice::from_ref(&pcp)));

    let first = sandbox.poll_once();
    let line = line_for(&first, "pcp/rss");
    assert_eq!((line.get("status"), line.count("new")), ("ok", 3), "{}", line.raw);

    let second = sandbox.poll_once();
    let line = line_for(&second, "pcp/rss");
    assert_eq!(line.get("status"), "not-modified", "{}", line.raw);
    assert_eq!(line.get("http"), "304", "{}", line.raw);
    assert_eq!(line.count("new"), 0, "{}", line.raw);
    assert_eq!(line.count("updated"), 0, "{}", line.raw);

    let requests = server.requests_for("/pcp/statements.xml");
    assert_eq!(requests.len(), 2, "one request per poll: {requests:#?}");
    assert_eq!(requests[0].response_status, 200);
    let conditional = &requests[1];
    assert_eq!(
        conditional.header("if-none-match"),
        Some(validators.etag.as_str()),
        "second request should send If-None-Match with the ETag: {conditional:#?}"
    );
    assert_eq!(
        conditional.header("if-modified-since"),
        Some(validators.last_modified.as_str()),
        "second request should send If-Modified-Since with the Last-Modified: {conditional:#?}"
    );
    assert_eq!(conditional.response_status, 304, "the server answered 304");

    assert_eq!(titles(&sandbox.merged_feed()), sorted(&parties::PCP_TITLES));
}

#[test]
fn edited_entry_keeps_its_id_and_shows_the_new_title_once() {
    let server = FixtureServer::start();
    server.serve_fixture("/pcp/statements.xml", "rss2-pcp-statements.xml");
    let pcp = parties::pcp(&server);
    let sandbox = Sandbox::new(&config_for(std::slice::from_ref(&pcp)));

    sandbox.poll_once();
    let before = sandbox.merged_feed();
    let original = entry_titled(&before, parties::PCP_TITLES[0]).clone();

    server.serve_fixture("/pcp/statements.xml", "rss2-pcp-statement-edited.xml");
    let lines = sandbox.poll_once();
    let line = line_for(&lines, "pcp/rss");
    assert_eq!(line.get("status"), "ok", "{}", line.raw);
    assert_eq!((line.count("seen"), line.count("new"), line.count("updated")), (3, 0, 1), "{}", line.raw);

    for feed in [sandbox.merged_feed(), sandbox.party_feed("pcp")] {
        assert_eq!(feed.entries().len(), 3, "{:#?}", titles(&feed));
        assert!(!titles(&feed).contains(&parties::PCP_TITLES[0].to_string()), "the old title is gone: {:#?}", titles(&feed));
        let edited = entry_titled(&feed, parties::PCP_EDITED_TITLE);
        assert_eq!(edited.id(), original.id(), "an edit keeps the entry's id");
        assert!(
            edited.updated() > original.updated(),
            "<updated> should move forward on an edit: before {}, after {}",
            original.updated(),
            edited.updated()
        );
        let body = [edited.summary().map(atom::displayed), edited.content().and_then(|c| c.value()).map(str::to_string)];
        assert!(
            body.iter().flatten().any(|text| text.contains("Nota actualizada")),
            "the summary or content should be the edited text: {body:?}"
        );
    }
}

#[test]
fn failing_sources_are_reported_and_the_good_ones_still_publish() {
    let server = FixtureServer::start();
    server.serve_fixture("/pcp/statements.xml", "rss2-pcp-statements.xml");
    server.serve_fixture("/kke/feed.atom", "atom-kke.xml");
    server.set("/pce/feed.json", 500, &[("Content-Type", "text/plain")], "Internal Server Error");
    server.serve_fixture_unconditional("/ptb/rss.xml", "html-page-not-a-feed.html");
    let parties = [parties::pcp(&server), parties::kke(&server), parties::pce(&server), parties::ptb(&server)];
    let sandbox = Sandbox::new(&config_for(&parties));

    let lines = sandbox.poll_once();

    assert_eq!(lines.len(), 4, "one line per source: {lines:#?}");
    for source in ["pcp/rss", "kke/atom"] {
        assert_eq!(line_for(&lines, source).get("status"), "ok", "{}", line_for(&lines, source).raw);
    }
    let server_error = line_for(&lines, "pce/json");
    assert_eq!(server_error.get("status"), "failed", "{}", server_error.raw);
    assert_eq!(server_error.get("http"), "500", "{}", server_error.raw);
    assert_eq!(server_error.get("url"), source_url(&parties[2]));
    assert!(server_error.get("error").contains("500"), "the error should name HTTP 500: {}", server_error.raw);
    let garbage = line_for(&lines, "ptb/rss");
    assert_eq!(garbage.get("status"), "failed", "{}", garbage.raw);
    assert_eq!(garbage.get("http"), "200", "the page itself was served fine: {}", garbage.raw);
    assert!(garbage.get("error").to_lowercase().contains("feed"), "the error should say the body is not a feed: {}", garbage.raw);

    let mut good_titles = sorted(&parties::PCP_TITLES);
    good_titles.extend(sorted(&parties::KKE_TITLES));
    good_titles.sort();
    assert_eq!(titles(&sandbox.merged_feed()), good_titles);
    assert_eq!(titles(&sandbox.party_feed("pcp")), sorted(&parties::PCP_TITLES));
    assert_eq!(titles(&sandbox.party_feed("kke")), sorted(&parties::KKE_TITLES));
}

#[test]
fn stored_entries_stay_published_when_every_source_fails_later() {
    let server = FixtureServer::start();
    let parties = serve_three_parties(&server);
    let sandbox = Sandbox::new(&config_for(&parties));

    sandbox.poll_once();
    assert_eq!(titles(&sandbox.merged_feed()), parties::three_party_titles());

    server.fail_everything(500);
    let lines = sandbox.poll_once();
    for line in &lines {
        assert_eq!(line.get("status"), "failed", "{}", line.raw);
    }
    assert_eq!(lines.len(), 3);

    assert_eq!(titles(&sandbox.merged_feed()), parties::three_party_titles(), "a failed poll must not drop stored entries");
    assert_eq!(titles(&sandbox.party_feed("kke")), sorted(&parties::KKE_TITLES));
}

#[test]
fn source_without_id_gets_a_stable_hex_id() {
    let server = FixtureServer::start();
    server.serve_fixture("/kke/feed.atom", "atom-kke.xml");
    let mut kke = parties::kke(&server);
    let config = config_for(std::slice::from_ref(&kke)).replace("id = \"atom\"\n", "");
    kke.sources.clear();
    let sandbox = Sandbox::new(&config);

    let ids: Vec<String> = (0..2)
        .map(|_| {
            let lines = sandbox.poll_once();
            assert_eq!(lines.len(), 1, "{lines:#?}");
            lines[0].get("source").to_string()
        })
        .collect();
    let hex = ids[0].strip_prefix("kke/").unwrap_or_else(|| panic!("source id should start with kke/: {}", ids[0]));
    assert!(
        hex.len() == 8 && hex.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
        "default source id is <party>/<8 hex chars>, got {}",
        ids[0]
    );
    assert_eq!(ids[0], ids[1], "the default source id is stable");
}

#[test]
fn disabled_source_is_not_polled() {
    let server = FixtureServer::start();
    let parties = serve_three_parties(&server);
    let config = config_for(&parties).replace(
        &format!("url = \"{}\"\n", server.url("/pce/feed.json")),
        &format!("url = \"{}\"\nenabled = false\n", server.url("/pce/feed.json")),
    );
    let sandbox = Sandbox::new(&config);

    let lines = sandbox.poll_once();
    assert!(server.requests_for("/pce/feed.json").is_empty(), "a disabled source is never fetched");
    let polled: BTreeSet<&str> = lines.iter().map(|l| l.get("source")).collect();
    assert_eq!(polled, BTreeSet::from(["kke/atom", "pcp/rss"]), "poll-once reports the enabled sources only");
    let mut expected = sorted(&parties::PCP_TITLES);
    expected.extend(sorted(&parties::KKE_TITLES));
    expected.sort();
    assert_eq!(titles(&sandbox.merged_feed()), expected);
}

#[test]
fn unreachable_source_fails_without_an_http_status() {
    let server = FixtureServer::start();
    server.serve_fixture("/kke/feed.atom", "atom-kke.xml");
    // A port that was free a moment ago: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut pcp = parties::pcp(&server);
    pcp.sources = vec![("rss".to_string(), format!("http://{closed}/pcp/statements.xml"))];
    let sandbox = Sandbox::new(&config_for(&[pcp, parties::kke(&server)]));

    let lines = sandbox.poll_once();
    let line = line_for(&lines, "pcp/rss");
    assert_eq!(line.get("status"), "failed", "{}", line.raw);
    assert_eq!(line.get("http"), "-", "no HTTP response, so no code: {}", line.raw);
    let error = line.get("error").to_lowercase();
    assert!(error.contains("connect") || error.contains("refused"), "the error should say the connection failed: {}", line.raw);
    assert_eq!(line_for(&lines, "kke/atom").get("status"), "ok");
}

#[test]
fn parties_from_an_include_file_are_polled() {
    let server = FixtureServer::start();
    let parties = serve_three_parties(&server);
    let main = format!("include = [\"more/parties.toml\"]\n\n{}", config_for(&parties[..1]));
    let sandbox = Sandbox::new(&main);
    std::fs::create_dir(sandbox.path().join("more")).unwrap();
    let included: String = parties[1..].iter().map(|p| p.to_toml() + "\n").collect();
    sandbox.write("more/parties.toml", &included);

    let lines = sandbox.poll_once();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert_eq!(titles(&sandbox.merged_feed()), parties::three_party_titles());
    assert_eq!(titles(&sandbox.party_feed("pce")), sorted(&parties::PCE_TITLES));
}

#[test]
fn feed_size_caps_the_published_feeds() {
    let server = FixtureServer::start();
    let parties = serve_three_parties(&server);
    let sandbox = Sandbox::new(&config_for(&parties).replace("feed_size = 100", "feed_size = 5"));

    let lines = sandbox.poll_once();
    assert_eq!(lines.iter().map(|l| l.count("new")).sum::<u64>(), 9, "all nine entries are stored: {lines:#?}");
    assert_eq!(sandbox.merged_feed().entries().len(), 5, "feed.atom holds at most feed_size entries");
    assert_eq!(titles(&sandbox.party_feed("kke")), sorted(&parties::KKE_TITLES), "4 entries fit in 5");
}

/// An RSS document whose first two items share a guid, and a third item.
fn rss_with_shared_guid(first: &str, second: &str, other: &str) -> String {
    let item = |guid: &str, title: &str, hour: u32| {
        format!(
            "<item><guid isPermaLink=\"false\">{guid}</guid><title>{title}</title>\
             <description>{title}, o texto.</description><pubDate>Fri, 20 Nov 2026 {hour:02}:00:00 GMT</pubDate></item>"
        )
    };
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>PCP</title><link>https://www.pcp.pt/</link>\
         <description>PCP</description>{}{}{}</channel></rss>",
        item("dup", first, 10),
        item("dup", second, 9),
        item("other", other, 8)
    )
}

#[test]
fn items_sharing_a_guid_are_read_the_same_way_whichever_of_them_changed() {
    let server = FixtureServer::start();
    let pcp = parties::pcp(&server);
    let url = "/pcp/statements.xml";
    let rss = [("content-type", "application/rss+xml")];
    server.set(url, 200, &rss, rss_with_shared_guid("Primeira nota", "Segunda nota", "Outra nota"));
    let sandbox = Sandbox::new(&config_for(std::slice::from_ref(&pcp)));
    sandbox.poll_once();
    // One entry for the shared guid: the document's last item with it.
    assert_eq!(titles(&sandbox.merged_feed()), sorted(&["Outra nota", "Segunda nota"]));

    // Only the first of the two changes: the later one still decides, as it did on the first read.
    server.set(url, 200, &rss, rss_with_shared_guid("Primeira nota revista", "Segunda nota", "Outra nota"));
    let lines = sandbox.poll_once();
    assert_eq!(line_for(&lines, "pcp/rss").get("status"), "ok");
    assert_eq!(titles(&sandbox.merged_feed()), sorted(&["Outra nota", "Segunda nota"]));
}

/// How many documents a `poll-once` rendered, from its log: 0 when it said
/// nothing changed.
fn rendered(run: &common::plenum::Run) -> usize {
    if run.stderr.contains("nothing changed; the published files stand") {
        return 0;
    }
    let line = run.stderr.lines().find(|l| l.contains(" published ")).unwrap_or_else(|| panic!("no publish logged\n{}", run.describe()));
    let count = line.split_whitespace().find_map(|w| w.strip_prefix("feeds=")).and_then(|n| n.parse().ok());
    count.unwrap_or_else(|| panic!("no document count in {line:?}"))
}

#[test]
fn a_later_poll_renders_only_the_scopes_it_changed_and_a_deleted_file_is_written_again() {
    let server = FixtureServer::start();
    let parties = serve_three_parties(&server);
    let sandbox = Sandbox::new(&config_for(&parties));
    let poll = || {
        let run = sandbox.plenum(&["poll-once"]);
        assert_eq!(run.code, Some(0), "{}", run.describe());
        run
    };
    let everything = rendered(&poll());
    assert!(everything > 20, "the first poll renders every document: {everything}");
    let kke_file = sandbox.party_feed_path("kke");
    let kke_bytes = std::fs::read(&kke_file).unwrap();

    // PCP edits a statement: its documents and the merged ones are rendered, not the others.
    server.serve_fixture("/pcp/statements.xml", "rss2-pcp-statement-edited.xml");
    let edited = rendered(&poll());
    assert!(edited > 0 && edited < everything, "rendered {edited} of {everything}");
    let public = sandbox.path().join("public");
    let (country, language) = (atom::read(&public.join("countries/pt.atom")), atom::read(&public.join("languages/pt.atom")));
    // Readers see the country and language by name, not by code.
    assert!(country.title().value.ends_with(": Portugal"), "{}", country.title().value);
    assert!(language.title().value.ends_with(": Portuguese"), "{}", language.title().value);
    let pcp_subtitle = sandbox.party_feed("pcp").subtitle().map(|s| s.value.clone()).unwrap_or_default();
    assert!(pcp_subtitle.contains("(Portugal)"), "{pcp_subtitle}");
    for feed in [sandbox.party_feed("pcp"), sandbox.merged_feed(), country, language] {
        assert!(titles(&feed).contains(&parties::PCP_EDITED_TITLE.to_string()), "{:#?}", titles(&feed));
    }
    assert_eq!(std::fs::read(&kke_file).unwrap(), kke_bytes);
    assert_eq!(titles(&sandbox.party_feed("kke")), sorted(&parties::KKE_TITLES));

    // Nothing changed: nothing is rendered.
    assert_eq!(rendered(&poll()), 0);

    // A deleted file is noticed: everything is rendered again.
    std::fs::remove_file(&kke_file).unwrap();
    assert_eq!(rendered(&poll()), everything);
    assert_eq!(titles(&sandbox.party_feed("kke")), sorted(&parties::KKE_TITLES));

    // So is a changed config (another title for the site).
    let config = std::fs::read_to_string(&sandbox.config).unwrap();
    assert_eq!(rendered(&poll()), 0);
    sandbox.rewrite_config(&config.replacen("[daemon]\n", "[daemon]\ntitle = \"Another wire\"\n", 1));
    assert_eq!(rendered(&poll()), everything);
    assert_eq!(sandbox.merged_feed().title().as_str(), "Another wire");
}

#[test]
fn files_another_store_wrote_into_the_same_directory_are_rendered_again() {
    let server = FixtureServer::start();
    let parties = serve_three_parties(&server);
    let sandbox = Sandbox::new(&config_for(&parties));
    let poll = |config: &std::path::Path| {
        let run = common::plenum::run_plenum(&["--config", config.to_str().unwrap(), "poll-once"], sandbox.path());
        assert_eq!(run.code, Some(0), "{}", run.describe());
        run
    };
    let everything = rendered(&poll(&sandbox.config));
    // A second config with its own store and another site title publishes into the same directory.
    let own = std::fs::read_to_string(&sandbox.config).unwrap();
    let other = own.replacen("data_dir = \"data\"", "data_dir = \"data-other\"\ntitle = \"Other wire\"", 1);
    assert_ne!(own, other);
    assert_eq!(rendered(&poll(&sandbox.write("other.toml", &other))), everything);
    let greece = sandbox.path().join("public/countries/gr.atom");
    assert!(atom::read(&greece).title().as_str().starts_with("Other wire"));

    // The first store's files are not all its own any more: its next poll renders everything.
    server.serve_fixture("/pcp/statements.xml", "rss2-pcp-statement-edited.xml");
    assert_eq!(rendered(&poll(&sandbox.config)), everything);
    let title = atom::read(&greece).title().as_str().to_string();
    assert!(!title.starts_with("Other wire"), "{title}");
}
