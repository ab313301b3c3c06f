//! Websites without feeds: html sources read with CSS selectors, end to end.
//!
//! The fixture server plays six party sites built the way their CMSs render
//! (WordPress, Drupal Views, Joomla, OpenCms, Blogger, a hand-made table), in
//! Greek, Portuguese, Spanish, English, Turkish and Russian, three of them in
//! legacy charsets (windows-1253 declared in a meta tag, ISO-8859-9 declared
//! only in the HTTP header, KOI8-R in a meta http-equiv). The real binary
//! reads them into the merged feed.

mod common;

use common::atom;
use common::fixture_server::{read_fixture, FixtureServer};
use common::logfmt;
use common::parties::DAEMON_TABLE;
use common::plenum::Sandbox;

struct Site {
    party: &'static str,
    name: &'static str,
    country: &'static str,
    lang: &'static str,
    path: &'static str,
    rules: &'static str,
}

const SITES: [Site; 6] = [
    Site {
        party: "pame",
        name: "All-Workers Militant Front",
        country: "GR",
        lang: "el",
        path: "/pame/announcements/",
        rules: "item = \"article.post\"\ntitle = \"h2.entry-title\"\nlink = \"h2.entry-title a\"\ndate = \"time.entry-date\"\nsummary = \".entry-summary\"",
    },
    Site {
        party: "pcp",
        name: "Portuguese Communist Party",
        country: "PT",
        lang: "pt",
        path: "/pcp/national-issues",
        rules: "item = \".views-row\"\ntitle = \".corpo a\"\nlink = \".corpo a\"\ndate = \".date-display-single\"\npages = 2\nnext_page = \".pager-next a\"",
    },
    Site {
        party: "pcpe",
        name: "Communist Party of the Peoples of Spain",
        country: "ES",
        lang: "es",
        path: "/unidadylucha/actualidad",
        rules: "item = \"[itemprop=blogPost]\"\ntitle = \"h2 a\"\nlink = \"h2 a\"\ndate = \"dd.published\"",
    },
    Site {
        party: "solidnet",
        name: "SolidNet",
        country: "GR",
        lang: "en",
        path: "/solidnet/",
        rules: "item = \".list-entry\"\ntitle = \".teaser-title\"\nlink = \".teaser-title a\"\ndate = \".teaser-date\"",
    },
    Site {
        party: "tkp",
        name: "Communist Party of Turkey",
        country: "TR",
        lang: "tr",
        path: "/tkp/aciklamalar",
        rules: "item = \".date-outer\"\ntitle = \"h3.post-title\"\nlink = \"h3.post-title a\"\ndate = \"h2.date-header\"\nsummary = \".post-body\"",
    },
    Site {
        party: "kprf",
        name: "Communist Party of the Russian Federation",
        country: "RU",
        lang: "ru",
        path: "/kprf/cknews/",
        rules: "item = \"tr.item\"\ntitle = \"a.title\"\nlink = \"a.title\"\ndate = \"td.date\"",
    },
];

fn serve_sites(server: &FixtureServer) {
    let html =
        |path: &str, fixture: &str, content_type: &str| server.set(path, 200, &[("Content-Type", content_type)], read_fixture(fixture));
    html("/pame/announcements/", "html-wordpress-pame-greek.html", "text/html");
    html("/pcp/national-issues", "html-drupal-views-pcp-portuguese.html", "text/html; charset=utf-8");
    html("/pcp/national-issues-page-2", "html-drupal-views-pcp-portuguese-page2.html", "text/html; charset=utf-8");
    html("/unidadylucha/actualidad", "html-joomla-unidad-y-lucha-spanish.html", "text/html; charset=utf-8");
    html("/solidnet/", "html-opencms-solidnet-english.html", "text/html");
    html("/tkp/aciklamalar", "html-blogger-tkp-turkish.html", "text/html; charset=iso-8859-9");
    html("/kprf/cknews/", "html-handmade-kprf-russian.html", "text/html");
}

fn config(server: &FixtureServer, sites: &[Site]) -> String {
    let mut toml = DAEMON_TABLE.to_string();
    for site in sites {
        toml.push_str(&format!(
            "\n[[party]]\nid = \"{}\"\nname = \"{}\"\nabbreviation = \"{}\"\ncountry = \"{}\"\nlanguages = [\"{}\"]\nhomepage = \"https://{}.example/\"\n\n[[party.source]]\nid = \"site\"\nkind = \"html\"\nurl = \"{}\"\n{}\n",
            site.party,
            site.name,
            site.party.to_uppercase(),
            site.country,
            site.lang,
            site.party,
            server.url(site.path),
            site.rules
        ));
    }
    toml
}

/// The calendar day of an entry's `published`, as a reader's client shows it in UTC.
fn published_day(feed: &atom_syndication::Feed, title: &str) -> String {
    let entry = atom::entry_titled(feed, title);
    entry.published().map(|p| p.format("%Y-%m-%d").to_string()).unwrap_or_default()
}

#[test]
fn six_cms_layouts_in_six_languages_reach_the_merged_feed() {
    let server = FixtureServer::start();
    serve_sites(&server);
    let sandbox = Sandbox::new(&config(&server, &SITES));
    let lines = sandbox.poll_once();

    let expect =
        [("pame/site", 2, 0), ("pcp/site", 4, 1), ("pcpe/site", 2, 0), ("solidnet/site", 2, 0), ("tkp/site", 2, 0), ("kprf/site", 3, 0)];
    for (source, seen, unreadable) in expect {
        let line = logfmt::line_for(&lines, source);
        assert_eq!(line.get("status"), "ok", "{source}: {line:?}");
        assert_eq!(line.count("seen"), seen, "{source}: {line:?}");
        assert_eq!(line.count("new"), seen, "{source}: {line:?}");
        // The poll line carries `dates_unreadable=N` only when N > 0.
        let reported = if line.raw.contains(" dates_unreadable=") { line.count("dates_unreadable") } else { 0 };
        assert_eq!(reported, unreadable, "{source}: {line:?}");
    }

    let feed = sandbox.merged_feed();
    // Greek from windows-1253 (meta charset), Turkish from ISO-8859-9 (HTTP header), Russian from KOI8-R.
    let days = [
        ("Όλοι στην απεργία της 26ης Νοέμβρη!", "2026-11-19"),
        ("Αλληλεγγύη στους λιμενεργάτες", "2026-11-03"),
        ("Aumento geral dos salários e pensões", "2026-11-22"),
        ("Defender o SNS, garantir o direito à saúde", "2026-11-18"),
        ("Reforço da luta nas empresas", "2026-10-02"),
        ("Basta de blanquear el fascismo. Ni un euro para la guerra", "2025-11-16"),
        ("Por el derecho a la vivienda", "2025-11-12"),
        ("CP of Turkey, TKP Newsletter: on the general strike", "2021-02-22"),
        ("South African CP, Central Committee statement", "2024-12-02"),
        ("Grev hakkı için mücadeleye!", "2026-11-19"),
        ("Emperyalizme karşı dayanışma çağrısı", "2026-11-02"),
        ("Заявление Президиума ЦК КПРФ", "2026-11-22"),
        ("Солидарность с трудящимися", "2026-11-20"),
    ];
    for (title, day) in days {
        assert_eq!(published_day(&feed, title), day, "{title}");
    }
    // A datetime attribute beats the printed text, time and zone included.
    let joomla = atom::entry_titled(&feed, "Basta de blanquear el fascismo. Ni un euro para la guerra");
    assert_eq!(joomla.published().unwrap().to_rfc3339(), "2025-11-16T09:00:00+00:00");
    // US numeric dates with a time, as SolidNet prints them.
    let solidnet = atom::entry_titled(&feed, "South African CP, Central Committee statement");
    assert_eq!(solidnet.published().unwrap().format("%H:%M").to_string(), "10:55");
    // "вчера" (yesterday) is a date, relative to the poll.
    let yesterday = atom::entry_titled(&feed, "Пленум ЦК: о задачах партии").published().unwrap().with_timezone(&chrono::Utc);
    let age = chrono::Utc::now() - yesterday;
    assert!(age > chrono::Duration::hours(12) && age < chrono::Duration::hours(48), "вчера read as {yesterday}");

    // Links are absolute, summaries sanitized.
    let pame = atom::entry_titled(&feed, "Αλληλεγγύη στους λιμενεργάτες");
    assert_eq!(atom::links_with_rel(pame.links(), "alternate"), [server.url("/2026/11/limenergates/")]);
    let summary = pame.summary().map(|s| s.value.clone()).unwrap_or_default();
    assert!(summary.contains(&format!("href=\"{}\"", server.url("/psifisma/"))), "{summary}");
    assert!(!summary.contains("onclick") && !summary.contains("script"), "{summary}");
    assert_eq!(
        atom::links_with_rel(atom::entry_titled(&feed, "Grev hakkı için mücadeleye!").links(), "alternate"),
        ["https://tkp.example/2026/11/grev-hakki.html"]
    );

    // The item without a link is skipped, not stored; the next page was read once, on this first poll.
    assert!(!atom::titles(&feed).iter().any(|t| t.contains("χωρίς σύνδεσμο")));
    assert_eq!(server.requests_for("/pcp/national-issues-page-2").len(), 1);
    assert!(server.requests_for("/pcp/national-issues-page-3").is_empty(), "pages = 2 reads two pages");
    assert_eq!(atom::titles(&sandbox.party_feed("kprf")).len(), 3);
}

#[test]
fn unreadable_dates_are_flagged_not_made_up() {
    let server = FixtureServer::start();
    serve_sites(&server);
    let sandbox = Sandbox::new(&config(&server, &SITES[1..2]));
    sandbox.poll_once();
    let list = sandbox.plenum(&["list"]);
    assert!(list.stdout.contains("1 date unreadable"), "{}", list.stdout);
    // The undated item is dated by first sight: it is the newest in the feed, after this poll started.
    let feed = sandbox.party_feed("pcp");
    let entry = atom::entry_titled(&feed, "Festa do «Avante!»: a construção continua");
    let age = chrono::Utc::now() - entry.published().unwrap().with_timezone(&chrono::Utc);
    assert!(age < chrono::Duration::minutes(5), "{:?}", entry.published());
}

#[test]
fn detail_pages_give_dates_and_summaries_and_are_fetched_for_new_items_only() {
    let server = FixtureServer::start();
    let listing = String::from_utf8(read_fixture("html-kke-listing-no-dates.html")).unwrap();
    server.set("/en/articles/", 200, &[("Content-Type", "text/html")], listing.clone());
    server.set(
        "/en/articles/Statement-on-the-strike/",
        200,
        &[("Content-Type", "text/html")],
        read_fixture("html-kke-article-strike.html"),
    );
    server.set("/en/articles/Speech-at-the-rally/", 200, &[("Content-Type", "text/html")], read_fixture("html-kke-article-speech.html"));
    let toml = format!(
        "{DAEMON_TABLE}\n[[party]]\nid = \"kke\"\nname = \"Communist Party of Greece\"\nabbreviation = \"KKE\"\ncountry = \"GR\"\nlanguages = [\"el\", \"en\"]\nhomepage = \"https://inter.kke.gr/en/\"\n\n[[party.source]]\nid = \"articles\"\nkind = \"html\"\nurl = \"{}\"\nitem = \"li.article\"\ntitle = \"h3\"\nlink = \"h3 a\"\ndetail = true\nlanguage = \"en\"\n",
        server.url("/en/articles/")
    );
    let sandbox = Sandbox::new(&toml);
    let lines = sandbox.poll_once();
    assert_eq!(logfmt::line_for(&lines, "kke/articles").count("new"), 2);
    let feed = sandbox.party_feed("kke");
    let strike = atom::entry_titled(&feed, "Statement on the strike");
    assert_eq!(strike.published().unwrap().to_rfc3339(), "2026-11-20T06:00:00+00:00");
    assert_eq!(
        strike.summary().map(|s| s.value.as_str()),
        Some("<p>The KKE salutes the workers on strike &amp; calls for solidarity.</p>")
    );
    let speech = atom::entry_titled(&feed, "Speech at the rally");
    assert_eq!(speech.published().unwrap().to_rfc3339(), "2026-11-18T17:30:00+00:00");

    // A new item appears: only its page is fetched; the known ones are not fetched again.
    let more = listing.replace(
        "<ul class=\"articles\">",
        "<ul class=\"articles\">\n <li class=\"article\"><h3><a href=\"/en/articles/New-one/\">New one</a></h3></li>",
    );
    server.set("/en/articles/", 200, &[("Content-Type", "text/html")], more);
    server.set("/en/articles/New-one/", 200, &[("Content-Type", "text/html")], read_fixture("html-kke-article-speech.html"));
    let lines = sandbox.poll_once();
    assert_eq!(logfmt::line_for(&lines, "kke/articles").count("new"), 1);
    assert_eq!(server.requests_for("/en/articles/New-one/").len(), 1);
    assert_eq!(server.requests_for("/en/articles/Statement-on-the-strike/").len(), 1);
    assert_eq!(server.requests_for("/en/articles/Speech-at-the-rally/").len(), 1);
}

#[test]
fn test_source_shows_what_would_be_read_and_stores_nothing() {
    let server = FixtureServer::start();
    serve_sites(&server);
    let sandbox = Sandbox::new(&config(&server, &SITES));
    let run = sandbox.plenum(&["test-source", "pame"]);
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let out = &run.stdout;
    for want in [
        "All-Workers Militant Front (PAME), html source pame/site",
        "HTTP 200",
        "read as HTML: 2 items",
        "1. Όλοι στην απεργία της 26ης Νοέμβρη!",
        "link: https://pamehellas.gr/2026/11/apergia-26-noemvri/",
        "date: 2026-11-19",
        "summary: Τα συνδικάτα καλούν σε γενική απεργία.",
        "warning: item 3 \"Ανακοίνωση χωρίς σύνδεσμο\": skipped, no link",
        "2 items, 2 with dates, 0 dates unreadable, 1 warning",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    // By number, and an unknown party names the known ones.
    let pcp = sandbox.plenum(&["test-source", "pcp", "1"]);
    assert!(pcp.stdout.contains("date: none, would use first-seen time (date \"em breve\" could not be read)"), "{}", pcp.stdout);
    let nope = sandbox.plenum(&["test-source", "nope"]);
    assert_eq!(nope.code, Some(1));
    assert!(nope.stderr.contains("no party `nope`") && nope.stderr.contains("pame"), "{}", nope.stderr);
    // Nothing was stored or published.
    assert!(!sandbox.merged_feed_path().exists());
    let list = sandbox.plenum(&["list"]);
    assert!(list.stdout.contains("status=never-polled"), "{}", list.stdout);
}
