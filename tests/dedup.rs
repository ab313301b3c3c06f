//! One story, one entry: the same story through two sources of a party, a
//! feed that rotates its ids, an edit, and a joint statement of two parties,
//! played by one fixture server and read by the real binary.

mod common;

use common::atom;
use common::fixture_server::FixtureServer;
use common::logfmt;
use common::parties::DAEMON_TABLE;
use common::plenum::Sandbox;

const JOINT: &str = "Joint Statement of Communist and Workers' Parties against the imperialist war in the Middle East";

fn config(server: &FixtureServer) -> String {
    format!(
        r#"{DAEMON_TABLE}
[[party]]
id = "kke"
name = "Communist Party of Greece"
abbreviation = "KKE"
country = "GR"
languages = ["el", "en"]
homepage = "https://www.kke.example/en/"

[[party.source]]
id = "main"
kind = "feed"
url = "{}"

[[party.source]]
id = "international"
kind = "feed"
url = "{}"

[[party]]
id = "pcp"
name = "Portuguese Communist Party"
abbreviation = "PCP"
country = "PT"
languages = ["pt", "en"]
homepage = "https://www.pcp.example/"

[[party.source]]
id = "feed"
kind = "feed"
url = "{}"
"#,
        server.url("/kke/main.xml"),
        server.url("/kke/international.xml"),
        server.url("/pcp/feed.xml")
    )
}

fn count(titles: &[String], title: &str) -> usize {
    titles.iter().filter(|t| t.as_str() == title).count()
}

#[test]
fn each_story_is_stored_once_and_a_joint_statement_is_one_merged_entry() {
    let server = FixtureServer::start();
    server.serve_fixture("/kke/main.xml", "rss2-kke-main.xml");
    server.serve_fixture("/kke/international.xml", "rss2-kke-category-international.xml");
    server.serve_fixture("/pcp/feed.xml", "rss2-pcp-joint-statement.xml");
    let sandbox = Sandbox::new(&config(&server));

    let lines = sandbox.poll_once();
    // Six items in KKE's two feeds, five stories: the dock workers' story comes
    // through both (once with a guid, once with an http tracking link and no
    // guid). The two feeds are polled at once, so either may store it first.
    let (main, international) = (logfmt::line_for(&lines, "kke/main"), logfmt::line_for(&lines, "kke/international"));
    assert_eq!((main.count("seen"), international.count("seen")), (4, 2));
    assert_eq!(main.count("new") + international.count("new"), 5, "{main:?} {international:?}");
    assert_eq!(logfmt::line_for(&lines, "pcp/feed").count("new"), 3);

    // Per party: one entry per story, the joint statement in both.
    let kke = atom::titles(&sandbox.party_feed("kke"));
    assert_eq!(kke.len(), 5, "{kke:#?}");
    assert_eq!(count(&kke, "KKE salutes the dock workers of Piraeus"), 1);
    assert_eq!(count(&kke, JOINT), 1);
    let pcp = atom::titles(&sandbox.party_feed("pcp"));
    assert_eq!(pcp.len(), 3, "{pcp:#?}");

    // Merged: the joint statement once, signed by both parties; the two
    // different statements sharing a generic title stay two entries.
    let merged = sandbox.merged_feed();
    let titles = atom::titles(&merged);
    assert_eq!(titles.len(), 7, "{titles:#?}");
    assert_eq!(count(&titles, JOINT), 1);
    assert_eq!(count(&titles, "Statement of the Central Committee"), 2);
    let joint = atom::entry_titled(&merged, JOINT);
    let authors: Vec<&str> = joint.authors().iter().map(|a| a.name()).collect();
    assert_eq!(authors, ["Communist Party of Greece (KKE)", "Portuguese Communist Party (PCP)"]);
    let categories: Vec<&str> = joint.categories().iter().map(|c| c.term()).collect();
    assert_eq!(categories, ["kke", "pcp"]);
    let joint_id = joint.id().to_string();
    let dock_id = atom::entry_titled(&merged, "KKE salutes the dock workers of Piraeus").id().to_string();

    // Second round: the main feed rotates one guid and edits another title.
    server.serve_fixture("/kke/main.xml", "rss2-kke-main-ids-rotated-and-edited.xml");
    let lines = sandbox.poll_once();
    let main = logfmt::line_for(&lines, "kke/main");
    assert_eq!((main.count("new"), main.count("updated")), (0, 1), "{main:?}");
    let merged = sandbox.merged_feed();
    let titles = atom::titles(&merged);
    assert_eq!(titles.len(), 7, "{titles:#?}");
    assert_eq!(atom::entry_titled(&merged, "KKE salutes the dock workers of Piraeus").id(), dock_id, "a rotated guid keeps the entry");
    assert_eq!(count(&titles, "Speech of the General Secretary at the rally in Athens"), 0);
    assert_eq!(count(&titles, "Speech of the General Secretary of the CC of the KKE at the rally in Athens"), 1);
    assert_eq!(atom::entry_titled(&merged, JOINT).id(), joint_id, "the joint statement keeps its id");
    let run = sandbox.plenum(&["poll-once"]);
    assert!(run.stdout.contains("new=0"), "{}", run.stdout);
}

#[test]
fn the_merged_feed_is_safe_to_embed() {
    let server = FixtureServer::start();
    let hostile = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><link>https://x.example/</link>
<item><title>&lt;script&gt;alert(1)&lt;/script&gt;Title &amp;amp; more</title><link>javascript:alert(1)</link><guid>h1</guid>
<description>&lt;p onmouseover="alert(1)"&gt;Hi &lt;a href="javascript:alert(2)"&gt;x&lt;/a&gt;&lt;iframe src="https://evil.example/"&gt;&lt;/iframe&gt;&lt;img src="https://t.example/p.gif" width="1" height="1"&gt;&lt;img src="/photo.jpg"&gt;&lt;style&gt;*{}&lt;/style&gt;&lt;/p&gt;</description></item>
</channel></rss>"#;
    server.set("/hostile.xml", 200, &[("Content-Type", "application/rss+xml")], hostile);
    let toml = format!(
        "{DAEMON_TABLE}\n[[party]]\nid = \"x\"\nname = \"X\"\nabbreviation = \"X\"\ncountry = \"GR\"\nlanguages = [\"en\"]\nhomepage = \"https://x.example/\"\n\n[[party.source]]\nkind = \"feed\"\nurl = \"{}\"\n",
        server.url("/hostile.xml")
    );
    let sandbox = Sandbox::new(&toml);
    sandbox.poll_once();
    let xml = std::fs::read_to_string(sandbox.merged_feed_path()).unwrap();
    let feed = atom::parse(&xml, "merged feed");
    let entry = &feed.entries()[0];
    assert_eq!(atom::title(entry), "Title & more", "markup in a title is dropped, entities decoded once");
    assert!(entry.links().is_empty(), "a javascript: link is not a link");
    let summary = entry.summary().map(|s| s.value.to_ascii_lowercase()).unwrap_or_default();
    for bad in ["<script", "alert", "onmouseover", "javascript:", "evil.example", "<iframe", "t.example", "<style"] {
        assert!(!summary.contains(bad), "{bad} in {summary}");
    }
    // Without an article link, relative URLs resolve against the feed's own address.
    assert!(summary.contains(&format!("src=\"{}\"", server.url("/photo.jpg"))), "{summary}");
}
