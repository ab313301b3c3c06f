//! Publishing for subscribers and downstream sites, end to end: every
//! scope (merged, party, country, language) in every format (Atom, JSON
//! Feed, RSS, HTML) as static files and over HTTP; query options; RFC 5005
//! paging walked to the end; OPML out and `import-opml` in; HTTP caching,
//! compression, CORS, HEAD and errors; WebSub pings to a local hub
//! stand-in. Atom is validated with xmllint + jing, every format is read by
//! feed-rs and by Python's feedparser (an independent client).

mod common;

use std::collections::BTreeSet;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use common::fixture_server::FixtureServer;
use common::parties::{self, config_for, serve_three_parties, Party};
use common::plenum::Sandbox;

const VALIDATOR_HINT: &str = "install the validators: apt-get install libxml2-utils jing";
const FEEDPARSER_HINT: &str = "install feedparser: pip install feedparser (bash .ci/test does it)";

/// PCP (pt), KKE (el), PCE (es), PTB (fr): four countries, four languages.
fn four_parties(server: &FixtureServer) -> Vec<Party> {
    let mut parties = serve_three_parties(server);
    server.serve_fixture("/ptb/rss.xml", "rss2-entry-without-id.xml");
    parties.push(parties::ptb(server));
    parties
}

fn polled_sandbox(server: &FixtureServer, extra_daemon: &str) -> (Sandbox, Vec<Party>) {
    let parties = four_parties(server);
    let config = config_for(&parties).replacen("[daemon]\n", &format!("[daemon]\n{extra_daemon}"), 1);
    let sandbox = Sandbox::new(&config);
    let lines = sandbox.poll_once();
    assert!(lines.iter().all(|l| l.get("status") == "ok"), "every source should poll fine: {lines:#?}");
    (sandbox, parties)
}

fn public(sandbox: &Sandbox, path: &str) -> PathBuf {
    sandbox.path().join("public").join(path)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Every feed path of the static tree for these parties.
fn feed_stems(parties: &[Party]) -> Vec<String> {
    let mut stems = vec!["feed".to_string()];
    stems.extend(parties.iter().map(|p| format!("parties/{}", p.id)));
    stems.extend(["countries/pt", "countries/gr", "countries/es", "countries/be"].map(String::from));
    stems.extend(["languages/pt", "languages/el", "languages/es", "languages/fr"].map(String::from));
    stems
}

fn parse_feed(bytes: &[u8], what: &str) -> feed_rs::model::Feed {
    feed_rs::parser::parse(bytes).unwrap_or_else(|e| panic!("feed-rs cannot read {what}: {e}"))
}

fn titles(feed: &feed_rs::model::Feed) -> BTreeSet<String> {
    feed.entries.iter().filter_map(|e| e.title.as_ref().map(|t| t.content.clone())).collect()
}

#[test]
fn every_scope_is_published_in_every_format_with_the_same_entries() {
    let server = FixtureServer::start();
    let (sandbox, parties) = polled_sandbox(&server, "");
    for stem in feed_stems(&parties) {
        let atom = parse_feed(read(&public(&sandbox, &format!("{stem}.atom"))).as_bytes(), &format!("{stem}.atom"));
        assert!(!atom.entries.is_empty(), "{stem}.atom should have entries");
        for ext in ["json", "rss"] {
            let other = parse_feed(read(&public(&sandbox, &format!("{stem}.{ext}"))).as_bytes(), &format!("{stem}.{ext}"));
            assert_eq!(titles(&other), titles(&atom), "{stem}.{ext} should show the entries of {stem}.atom");
        }
        let html = if stem == "feed" { public(&sandbox, "index.html") } else { public(&sandbox, &format!("{stem}.html")) };
        let page = read(&html);
        for title in titles(&atom) {
            let escaped = title.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
            assert!(page.contains(&escaped), "{} should show the headline {title:?}", html.display());
        }
    }
    // Languages come from the feeds: the Greek party's entries are in the Greek feed only.
    let greek = parse_feed(read(&public(&sandbox, "languages/el.atom")).as_bytes(), "languages/el.atom");
    assert_eq!(titles(&greek), parties::KKE_TITLES.iter().map(|t| t.to_string()).collect::<BTreeSet<_>>());
    let merged = parse_feed(read(&public(&sandbox, "feed.atom")).as_bytes(), "feed.atom");
    let expected = parties::three_party_titles().len() + parties::PTB_TITLES.len();
    assert_eq!(merged.entries.len(), expected, "the merged feed should hold every entry");
    assert!(public(&sandbox, "feeds.opml").is_file(), "the OPML list should be exported");
}

#[test]
fn json_feed_has_every_required_field() {
    let server = FixtureServer::start();
    let (sandbox, parties) = polled_sandbox(&server, "");
    for stem in feed_stems(&parties) {
        let path = public(&sandbox, &format!("{stem}.json"));
        let json: serde_json::Value = serde_json::from_str(&read(&path)).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
        assert_eq!(json["version"], "https://jsonfeed.org/version/1.1", "{stem}");
        assert!(json["title"].as_str().is_some_and(|t| !t.is_empty()), "{stem}: title");
        assert!(json["feed_url"].as_str().is_some_and(|u| u.ends_with(&format!("{stem}.json"))), "{stem}: feed_url");
        let items = json["items"].as_array().unwrap_or_else(|| panic!("{stem}: items must be an array"));
        let mut ids = BTreeSet::new();
        for item in items {
            let id = item["id"].as_str().unwrap_or_else(|| panic!("{stem}: every item needs a string id: {item}"));
            assert!(ids.insert(id.to_string()), "{stem}: duplicate id {id}");
            assert!(item["content_html"].is_string() || item["content_text"].is_string(), "{stem}: item {id} needs content");
            for date in ["date_published", "date_modified"] {
                let value = item[date].as_str().unwrap_or_default();
                assert!(chrono::DateTime::parse_from_rfc3339(value).is_ok(), "{stem}: {date} must be RFC 3339: {value:?}");
            }
        }
    }
}

/// xmllint (RELAX NG) and jing (Schematron) over `documents`.
fn assert_valid_atom(documents: &[PathBuf]) {
    let shared = std::env::var_os("PLENUM_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("shared"));
    let schemas = shared.join("corpus").join("atom-schema");
    assert!(schemas.join("atom.rng").is_file(), "the Atom schema is missing under {}", schemas.display());
    let run = |program: &str, args: &[&Path]| {
        Command::new(program).args(args).output().unwrap_or_else(|e| match e.kind() {
            ErrorKind::NotFound => panic!("`{program}` is not installed; {VALIDATOR_HINT}"),
            _ => panic!("cannot run `{program}`: {e}"),
        })
    };
    let rng = schemas.join("atom.rng");
    let mut problems = Vec::new();
    for document in documents {
        let out = run("xmllint", &[Path::new("--noout"), Path::new("--relaxng"), &rng, document]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() || stderr.lines().any(|l| !l.trim().is_empty() && !l.ends_with(" validates")) {
            problems.push(format!("{}: xmllint: {stderr}", document.display()));
        }
    }
    for rules in ["atom-rfc4287-appendixB.sch", "atom-rfc4287-prose.sch"] {
        let rules = schemas.join(rules);
        let mut args: Vec<&Path> = vec![&rules];
        args.extend(documents.iter().map(PathBuf::as_path));
        let out = run("jing", &args);
        if !out.status.success() {
            problems.push(format!(
                "jing {}: {}{}",
                rules.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(problems.is_empty(), "invalid Atom:\n{}", problems.join("\n"));
}

#[test]
fn every_atom_feed_and_page_validates() {
    let server = FixtureServer::start();
    let (sandbox, parties) = polled_sandbox(&server, &format!("websub_hub = \"{}\"\n", server.url("/hub")));
    let mut documents: Vec<PathBuf> = feed_stems(&parties).iter().map(|s| public(&sandbox, &format!("{s}.atom"))).collect();
    // Paged and filtered documents, fetched from the daemon.
    let daemon = sandbox.start_daemon();
    let pages = sandbox.path().join("pages");
    std::fs::create_dir_all(&pages).unwrap_or_else(|e| panic!("{e}"));
    let mut url = "/feed.atom?limit=2".to_string();
    let mut n = 0;
    while n < 20 {
        let response = daemon.get(&url);
        assert_eq!(response.status, 200, "{url}: {}", response.text());
        let path = pages.join(format!("page-{n}.atom"));
        std::fs::write(&path, response.text()).unwrap_or_else(|e| panic!("{e}"));
        documents.push(path);
        let feed = common::atom::parse(&response.text(), &url);
        match common::atom::links_with_rel(feed.links(), "next").first() {
            Some(next) => url = local(next),
            None => break,
        }
        n += 1;
    }
    assert!(n >= 3, "limit=2 over 11 entries should make several pages");
    for (i, query) in [
        "/parties/kke.atom?limit=1&before=0",
        "/countries/gr.atom?q=ΚΚΕ",
        "/languages/pt.atom?after=0&limit=2",
        "/feed.atom?party=pcp,pce&lang=es",
    ]
    .iter()
    .enumerate()
    {
        let response = daemon.get(query);
        assert_eq!(response.status, 200, "{query}: {}", response.text());
        let path = pages.join(format!("query-{i}.atom"));
        std::fs::write(&path, response.text()).unwrap_or_else(|e| panic!("{e}"));
        documents.push(path);
    }
    assert_valid_atom(&documents);
}

/// `http://127.0.0.1:8080/feed.atom?x` (the configured base) → `/feed.atom?x`.
fn local(url: &str) -> String {
    let parsed = url::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    match parsed.query() {
        Some(q) => format!("{}?{q}", parsed.path()),
        None => parsed.path().to_string(),
    }
}

fn ids_of(xml: &str, what: &str) -> Vec<String> {
    common::atom::parse(xml, what).entries().iter().map(|e| e.id().to_string()).collect()
}

#[test]
fn paging_walks_the_whole_history_once_in_both_directions() {
    let server = FixtureServer::start();
    let (sandbox, _) = polled_sandbox(&server, "");
    let daemon = sandbox.start_daemon();
    for (feed, per_page) in [("/feed.atom", 2), ("/parties/kke.atom", 1), ("/countries/gr.atom", 3), ("/feed.atom", 5)] {
        let everything = ids_of(&daemon.get(&format!("{feed}?limit=500")).text(), feed);
        assert!(!everything.is_empty());
        // Forwards: first page, then `next` until there is none.
        let mut walked = Vec::new();
        let mut url = format!("{feed}?limit={per_page}");
        for _ in 0..100 {
            let xml = daemon.get(&url).text();
            walked.extend(ids_of(&xml, &url));
            let parsed = common::atom::parse(&xml, &url);
            assert!(!common::atom::links_with_rel(parsed.links(), "first").is_empty(), "{url}: every page links the first");
            match common::atom::links_with_rel(parsed.links(), "next").first() {
                Some(next) => url = local(next),
                None => break,
            }
        }
        assert_eq!(walked, everything, "{feed} by {per_page}: walking `next` should give every entry once, in order");
        // Backwards: `last`, then `previous` until there is none.
        let first = common::atom::parse(&daemon.get(&format!("{feed}?limit={per_page}")).text(), feed);
        let mut url = local(common::atom::links_with_rel(first.links(), "last")[0]);
        let mut pages: Vec<Vec<String>> = Vec::new();
        for _ in 0..100 {
            let xml = daemon.get(&url).text();
            pages.push(ids_of(&xml, &url));
            let parsed = common::atom::parse(&xml, &url);
            match common::atom::links_with_rel(parsed.links(), "previous").first() {
                Some(prev) => url = local(prev),
                None => break,
            }
        }
        let backwards: Vec<String> = pages.into_iter().rev().flatten().collect();
        assert_eq!(backwards, everything, "{feed} by {per_page}: walking `previous` from `last` should give every entry once");
    }
    // The published feed is the first page: it links onwards.
    let head = common::atom::parse(&daemon.get("/feed.atom").text(), "/feed.atom");
    assert!(
        !common::atom::links_with_rel(head.links(), "first").is_empty() && !common::atom::links_with_rel(head.links(), "last").is_empty()
    );
}

#[test]
fn query_options_filter_and_bound_the_feeds() {
    let server = FixtureServer::start();
    let (sandbox, _) = polled_sandbox(&server, "");
    let daemon = sandbox.start_daemon();
    let feed = |path: &str| {
        let response = daemon.get(path);
        assert_eq!(response.status, 200, "{path}: {}", response.text());
        parse_feed(response.text().as_bytes(), path)
    };
    let kke: BTreeSet<String> = parties::KKE_TITLES.iter().map(|t| t.to_string()).collect();
    assert_eq!(titles(&feed("/feed.json?party=kke")), kke);
    assert_eq!(titles(&feed("/feed.rss?lang=el")), kke);
    assert_eq!(titles(&feed("/feed.atom?country=gr")), kke);
    assert_eq!(feed("/feed.atom?limit=1").entries.len(), 1);
    assert_eq!(feed("/parties/pcp.atom?limit=100000").entries.len(), parties::PCP_TITLES.len(), "a huge limit is capped, not refused");
    let both: BTreeSet<String> = titles(&feed("/feed.atom?party=pcp,pce"));
    assert_eq!(both.len(), parties::PCP_TITLES.len() + parties::PCE_TITLES.len());
    // q= searches titles and summaries, in any case.
    assert_eq!(titles(&feed("/feed.atom?q=avante")), BTreeSet::from([parties::PCP_TITLES[2].to_string()]));
    assert!(feed("/parties/kke.atom?lang=es").entries.is_empty(), "a party feed filtered to another language is empty");
    assert!(feed("/feed.atom?q=nothing-says-this").entries.is_empty());
    // Unknown options are ignored (readers add their own).
    assert_eq!(feed("/feed.atom?utm_source=x").entries.len(), feed("/feed.atom").entries.len());
}

#[test]
fn http_answers_cache_compress_and_refuse_cleanly() {
    let server = FixtureServer::start();
    let (sandbox, _) = polled_sandbox(&server, "");
    let daemon = sandbox.start_daemon();
    for path in [
        "/feed.atom",
        "/feed.json",
        "/feed.rss",
        "/",
        "/parties/pcp",
        "/parties/pcp.html",
        "/countries/gr.json",
        "/languages/el.rss",
        "/opml",
        "/feeds.opml",
    ] {
        let ok = daemon.get(path);
        assert_eq!(ok.status, 200, "{path}: {}", ok.text());
        let etag = ok.header("etag").unwrap_or_else(|| panic!("{path}: ETag")).to_string();
        assert!(ok.header("last-modified").is_some(), "{path}: Last-Modified");
        assert_eq!(ok.header("access-control-allow-origin"), Some("*"), "{path}: CORS");
        assert!(ok.header("cache-control").is_some_and(|c| c.starts_with("public, max-age=")), "{path}: Cache-Control");
        let again = daemon.request("GET", path, &[("If-None-Match", &etag)]);
        assert_eq!(again.status, 304, "{path}: a known ETag gets 304");
        assert_eq!(again.header("etag"), Some(etag.as_str()), "{path}: a 304 names the ETag it confirms");
        assert_eq!(again.header("cache-control"), ok.header("cache-control"), "{path}: a 304 renews the max-age");
        assert_eq!(again.header("access-control-allow-origin"), Some("*"), "{path}: a 304 allows other origins");
        let since = ok.header("last-modified").unwrap_or_default();
        assert_eq!(daemon.request("GET", path, &[("If-Modified-Since", since)]).status, 304, "{path}: If-Modified-Since");
        let head = daemon.request("HEAD", path, &[]);
        assert_eq!(head.status, 200, "{path}: HEAD");
        assert!(head.body.is_empty(), "{path}: HEAD has no body");
        for encoding in ["gzip", "br"] {
            let packed = daemon.request("GET", path, &[("Accept-Encoding", encoding)]);
            assert_eq!(packed.header("content-encoding"), Some(encoding), "{path}: {encoding} when asked");
            let weak = packed.header("etag").unwrap_or_default().to_string();
            assert_eq!(weak, format!("W/{etag}"), "{path}: a compressed answer's ETag is the document's, weak");
            let cached = daemon.request("GET", path, &[("Accept-Encoding", encoding), ("If-None-Match", &weak)]);
            assert_eq!(cached.status, 304, "{path}: the compressed ETag gets 304 too");
            assert_eq!(cached.header("etag"), Some(weak.as_str()), "{path}: the 304 names the compressed copy's ETag");
            assert_eq!(cached.header("vary"), Some("Accept-Encoding"), "{path}: a 304 varies as its 200 did");
        }
    }
    let types = [
        ("/feed.atom", "application/atom+xml"),
        ("/feed.json", "application/feed+json"),
        ("/feed.rss", "application/rss+xml"),
        ("/", "text/html"),
        ("/opml", "text/x-opml"),
    ];
    for (path, wanted) in types {
        assert!(daemon.get(path).header("content-type").is_some_and(|t| t.starts_with(wanted)), "{path} should be {wanted}");
    }
    for path in [
        "/parties/nope.atom",
        "/countries/zz.json",
        "/languages/xx.rss",
        "/feed.xml",
        "/parties/..%2F..%2Fetc%2Fpasswd",
        "/../../etc/passwd",
        "/parties/pcp.atom/x",
        "/nothing",
    ] {
        let response = daemon.get(path);
        assert_eq!(response.status, 404, "{path}: {}", response.text());
        assert!(response.text().len() < 100, "{path}: short message");
    }
    for path in [
        "/feed.atom?limit=abc",
        "/feed.atom?limit=0",
        "/feed.json?party=nobody",
        "/feed.rss?lang=%3Cscript%3E",
        "/feed.atom?before=garbage",
        "/?country=portugal",
    ] {
        let response = daemon.get(path);
        assert_eq!(response.status, 400, "{path}: {}", response.text());
        assert!(response.text().len() < 200 && !response.text().contains('<'), "{path}: short plain message: {}", response.text());
    }
    assert_eq!(daemon.request("POST", "/feed.atom", &[]).status, 405);
}

#[test]
fn independent_client_feedparser_reads_every_format_without_complaint() {
    let server = FixtureServer::start();
    let (sandbox, parties) = polled_sandbox(&server, &format!("websub_hub = \"{}\"\n", server.url("/hub")));
    let mut files = Vec::new();
    for stem in feed_stems(&parties) {
        // (feedparser 6.0 reads no JSON Feed; `json_feed_has_every_required_field` covers it.)
        for ext in ["atom", "rss"] {
            files.push(public(&sandbox, &format!("{stem}.{ext}")).display().to_string());
        }
    }
    let script = r#"
import sys
try:
    import feedparser
except ImportError:
    print("MISSING"); sys.exit(3)
bad = []
for path in sys.argv[1:]:
    d = feedparser.parse(path)
    if d.bozo or not d.entries or d.version == "":
        bad.append("%s: bozo=%s version=%r entries=%d %s" % (path, d.bozo, d.version, len(d.entries), d.get("bozo_exception")))
    for e in d.entries:
        if not e.get("id") or not e.get("title"):
            bad.append("%s: entry without id or title" % path)
print("\n".join(bad))
sys.exit(1 if bad else 0)
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(&files)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3: {e}; {FEEDPARSER_HINT}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("MISSING"), "Python's feedparser is not installed; {FEEDPARSER_HINT}");
    assert!(out.status.success(), "feedparser complained:\n{stdout}{}", String::from_utf8_lossy(&out.stderr));
}

/// A WebSub hub stand-in: records each request body, answers 202.
fn hub() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let url = format!("http://{}/hub", listener.local_addr().unwrap_or_else(|e| panic!("{e}")));
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut data = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                data.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&data).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if body.len() >= length {
                        if let Ok(mut b) = seen.lock() {
                            b.push(body.to_string());
                        }
                        break;
                    }
                }
            }
            let _ = stream.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (url, bodies)
}

#[test]
fn websub_hub_is_announced_and_pinged_only_when_feeds_change() {
    let server = FixtureServer::start();
    let (hub_url, pings) = hub();
    let (sandbox, _) = polled_sandbox(&server, &format!("websub_hub = \"{hub_url}\"\n"));
    let feed = common::atom::read(&sandbox.merged_feed_path());
    assert_eq!(common::atom::links_with_rel(feed.links(), "hub"), vec![hub_url.as_str()]);
    assert!(
        read(&public(&sandbox, "feed.rss")).contains(&format!("rel=\"hub\" href=\"{hub_url}\""))
            || read(&public(&sandbox, "feed.rss")).contains(&hub_url)
    );
    let json: serde_json::Value = serde_json::from_str(&read(&public(&sandbox, "feed.json"))).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(json["hubs"][0]["url"], hub_url.as_str());

    let first: Vec<String> = pings.lock().map(|p| p.clone()).unwrap_or_default();
    let merged_topic = "hub.mode=publish&hub.url=http%3A%2F%2F127.0.0.1%3A8080%2Ffeed.atom";
    assert!(first.iter().any(|b| b == merged_topic), "the first publish should ping the merged feed: {first:#?}");
    assert!(first.iter().any(|b| b.contains("parties%2Fkke.json")), "and each changed feed in each format: {first:#?}");

    // Nothing changed: no ping.
    sandbox.poll_once();
    let after_unchanged = pings.lock().map(|p| p.len()).unwrap_or_default();
    assert_eq!(after_unchanged, first.len(), "an unchanged publish pings nobody");

    // An edit of PCP's feed changes its feeds, not KKE's.
    server.serve_fixture("/pcp/statements.xml", "rss2-pcp-statement-edited.xml");
    sandbox.poll_once();
    let new: Vec<String> = pings.lock().map(|p| p[after_unchanged..].to_vec()).unwrap_or_default();
    assert!(new.iter().any(|b| b.contains("parties%2Fpcp.atom")), "the edited party's feed is pinged: {new:#?}");
    assert!(!new.iter().any(|b| b.contains("parties%2Fkke")), "an unchanged party's feed is not: {new:#?}");
}

#[test]
fn opml_lists_every_feed_and_import_opml_adds_new_sources() {
    let server = FixtureServer::start();
    let (sandbox, parties) = polled_sandbox(&server, "");
    let opml = read(&public(&sandbox, "feeds.opml"));
    let document = opml::OPML::from_str(&opml).unwrap_or_else(|e| panic!("feeds.opml is not OPML: {e}"));
    assert_eq!(document.version, "2.0");
    let mut urls = BTreeSet::new();
    fn walk(outlines: &[opml::Outline], urls: &mut BTreeSet<String>) {
        for o in outlines {
            urls.extend(o.xml_url.clone());
            walk(&o.outlines, urls);
        }
    }
    walk(&document.body.outlines, &mut urls);
    for party in &parties {
        assert!(urls.contains(&format!("http://127.0.0.1:8080/parties/{}.atom", party.id)), "Plenum's {} feed", party.id);
        for (_, url) in &party.sources {
            assert!(urls.contains(url), "the party's own source {url}");
        }
    }
    assert!(urls.contains("http://127.0.0.1:8080/feed.atom") && urls.contains("http://127.0.0.1:8080/languages/el.atom"));

    // Import: a folder named after a party, a feed it has, a new one, Plenum's own, and an orphan.
    let import = format!(
        r#"<?xml version="1.0"?>
<opml version="2.0"><head><title>mine</title></head><body>
  <outline text="KKE">
    <outline text="known" type="rss" xmlUrl="{}"/>
    <outline text="new" type="rss" xmlUrl="https://www.902.gr/feed/english"/>
    <outline text="plenum" type="rss" xmlUrl="http://127.0.0.1:8080/parties/kke.atom"/>
  </outline>
  <outline text="Somebody else" type="rss" xmlUrl="https://example.org/feed"/>
</body></opml>"#,
        parties[1].sources[0].1
    );
    let file = sandbox.write("mine.opml", &import);
    let run = sandbox.plenum(&["import-opml", file.to_str().unwrap_or_default()]);
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert!(run.stdout.contains("added party=kke url=https://www.902.gr/feed/english"), "{}", run.stdout);
    assert_eq!(run.stdout.matches("skipped").count(), 3, "{}", run.stdout);
    let config = read(&sandbox.config);
    assert!(config.contains("url = \"https://www.902.gr/feed/english\""), "{config}");
    assert_eq!(sandbox.plenum(&["check-config"]).code, Some(0));
    // Again: nothing new.
    let again = sandbox.plenum(&["import-opml", file.to_str().unwrap_or_default()]);
    assert!(again.stdout.contains("0 source(s) added"), "{}", again.stdout);
    // --party takes every feed; an unknown party is an error.
    let forced = sandbox.plenum(&["import-opml", "--party", "pce", file.to_str().unwrap_or_default()]);
    assert!(forced.stdout.contains("added party=pce url=https://example.org/feed"), "{}", forced.stdout);
    assert_eq!(sandbox.plenum(&["import-opml", "--party", "nobody", file.to_str().unwrap_or_default()]).code, Some(1));
}
