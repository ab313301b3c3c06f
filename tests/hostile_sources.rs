//! Hostile and broken sources, served on purpose: each gets a clear
//! per-source error or a correct result, in bounded time and memory, and a
//! good source beside them still publishes. (The 100 MiB and dripping
//! bodies are in `polite_polling.rs`.)

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;

use common::atom;
use common::fixture_server::{Delivery, FixtureServer};
use common::logfmt::{self, PollLine};
use common::parties::DAEMON_TABLE;
use common::plenum::Sandbox;

const RSS: (&str, &str) = ("Content-Type", "application/rss+xml");

fn rss(items: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Hostile</title><link>https://x.example/</link>{items}</channel></rss>"
    )
}

fn config(extra: &str, sources: &[(&str, String)]) -> String {
    let mut toml = format!("{DAEMON_TABLE}{extra}\n[[party]]\nid = \"x\"\nname = \"X Party\"\nabbreviation = \"X\"\ncountry = \"GR\"\nlanguages = [\"en\"]\nhomepage = \"https://x.example/\"\n");
    for (id, url) in sources {
        toml.push_str(&format!("\n[[party.source]]\nid = \"{id}\"\nkind = \"feed\"\nurl = \"{url}\"\n"));
    }
    toml
}

fn line<'a>(lines: &'a [PollLine], id: &str) -> &'a PollLine {
    logfmt::line_for(lines, &format!("x/{id}"))
}

/// A TCP server that accepts and then says nothing (a stalled TLS handshake).
fn silent_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    format!("https://{addr}/feed.xml")
}

/// A server that promises 100 000 bytes, sends a few, and resets the connection.
fn resetting_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 100000\r\n\r\n<rss version=\"2.0\"><chan",
            );
            let _ = stream.flush();
            drop(stream);
        }
    });
    format!("http://{addr}/feed.xml")
}

#[test]
fn hostile_documents_fail_or_succeed_alone() {
    let server = FixtureServer::start();
    let laughs = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY lol \"lol\">{}]><rss version=\"2.0\"><channel><title>t</title><item><title>&lol9;</title><link>https://x.example/lol</link></item></channel></rss>",
        (1..10).map(|i| format!("<!ENTITY lol{i} \"{}\">", format!("&lol{};", if i == 1 { String::new() } else { (i - 1).to_string() }).repeat(10))).collect::<String>()
    );
    server.set("/laughs.xml", 200, &[RSS], laughs);
    server.set(
        "/xxe.xml",
        200,
        &[RSS],
        "<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><rss version=\"2.0\"><channel><title>t</title><item><title>Safe &xxe;</title><link>https://x.example/xxe</link></item></channel></rss>",
    );
    let many: String = (0..100_000).map(|i| format!("<item><title>Item {i}</title><link>https://x.example/{i}</link></item>")).collect();
    server.set("/many.xml", 200, &[RSS], rss(&many));
    let big = format!("&lt;p&gt;{}&lt;/p&gt;", "word ".repeat(2_000_000));
    server.set(
        "/big-entry.xml",
        200,
        &[RSS],
        rss(&format!("<item><title>Big</title><link>https://x.example/big</link><description>{big}</description></item>")),
    );
    server.set("/deep-xml.xml", 200, &[RSS], rss(&format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000))));
    let deep_html = format!("{}deep{}", "&lt;div&gt;".repeat(100_000), "&lt;/div&gt;".repeat(100_000));
    server.set(
        "/deep-html.xml",
        200,
        &[RSS],
        rss(&format!("<item><title>Deep</title><link>https://x.example/deep</link><description>{deep_html}</description></item>")),
    );
    let mut invalid = rss("<item><title>Caf\u{e9} ").into_bytes();
    invalid.truncate(invalid.len() - "</channel></rss>".len());
    invalid.extend_from_slice(b"\xff\xfe broken</title><link>https://x.example/utf8</link></item></channel></rss>");
    server.set("/invalid-utf8.xml", 200, &[RSS], invalid);
    // Says UTF-8, is windows-1253 ("Ανακοίνωση").
    let mut lying = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>t</title><item><title>".to_vec();
    lying.extend_from_slice(&[0xC1, 0xED, 0xE1, 0xEA, 0xEF, 0xDF, 0xED, 0xF9, 0xF3, 0xE7]);
    lying.extend_from_slice(b"</title><link>https://x.example/lying</link></item></channel></rss>");
    server.set("/lying.xml", 200, &[("Content-Type", "application/rss+xml; charset=utf-8")], lying);
    server.set(
        "/controls.xml",
        200,
        &[RSS],
        rss("<item><title>Bad\u{1b}[31m &#7; title\u{7}</title><link>https://x.example/controls</link></item>"),
    );
    server.set(
        "/dates.xml",
        200,
        &[RSS],
        rss("<item><title>From the future</title><link>https://x.example/year-9999</link><pubDate>Fri, 31 Dec 9999 23:59:59 GMT</pubDate></item><item><title>From 1900</title><link>https://x.example/year-1900</link><pubDate>Mon, 01 Jan 1900 00:00:00 GMT</pubDate></item>"),
    );
    server.set_delivered("/endless.xml", 200, &[RSS], "", Delivery::Huge { size: u64::MAX, announce: false });
    server.serve_fixture("/good.xml", "rss2-pcp-statements.xml");
    let sources = [
        ("laughs", server.url("/laughs.xml")),
        ("xxe", server.url("/xxe.xml")),
        ("many", server.url("/many.xml")),
        ("big", server.url("/big-entry.xml")),
        ("deepxml", server.url("/deep-xml.xml")),
        ("deephtml", server.url("/deep-html.xml")),
        ("invalid", server.url("/invalid-utf8.xml")),
        ("lying", server.url("/lying.xml")),
        ("controls", server.url("/controls.xml")),
        ("dates", server.url("/dates.xml")),
        ("endless", server.url("/endless.xml")),
        ("stalltls", silent_server()),
        ("reset", resetting_server()),
        ("good", server.url("/good.xml")),
    ];
    let sandbox =
        Sandbox::new(&config("timeout_secs = 3\nconnect_timeout_secs = 2\n", &sources).replace("feed_size = 100", "feed_size = 3000"));
    let lines = sandbox.poll_once();

    // Entities are never expanded (checked in the published XML below); the documents are still read or refused cleanly.
    for id in ["laughs", "xxe"] {
        assert!(["ok", "failed"].contains(&line(&lines, id).get("status")), "{:?}", line(&lines, id));
    }
    assert_eq!(line(&lines, "many").count("new"), 2000, "{:?}", line(&lines, "many"));
    assert_eq!(line(&lines, "big").get("status"), "ok");
    assert!(line(&lines, "deepxml").get("error").contains("nests elements deeper"), "{:?}", line(&lines, "deepxml"));
    assert_eq!(line(&lines, "deephtml").get("status"), "ok");
    assert_eq!(line(&lines, "invalid").get("status"), "ok");
    assert!(line(&lines, "endless").get("error").starts_with("body larger than the"), "{:?}", line(&lines, "endless"));
    let tls = line(&lines, "stalltls").get("error");
    assert!(tls.starts_with("timed out") || tls.starts_with("could not connect"), "{tls}");
    assert!(!line(&lines, "reset").get("error").is_empty(), "{:?}", line(&lines, "reset"));
    assert_eq!(line(&lines, "good").count("new"), 3);

    let xml = std::fs::read_to_string(sandbox.merged_feed_path()).unwrap();
    assert!(!xml.contains("lollol") && !xml.contains("root:"), "an entity was expanded or resolved");
    let feed = atom::parse(&xml, "merged feed");
    let titles = atom::titles(&feed);
    let big = atom::entry_titled(&feed, "Big");
    assert!(big.summary().map_or(0, |s| s.value.len()) <= 70 * 1024, "a 10 MB summary is cut to an excerpt");
    assert!(titles.iter().any(|t| t.starts_with("Café") && t.contains('\u{FFFD}')), "invalid UTF-8 is replaced, not fatal");
    assert!(
        titles.contains(&"Ανακοίνωση".to_string()) || titles.iter().any(|t| t.contains('\u{FFFD}')),
        "a lying charset is read or replaced"
    );
    // The ESC and BEL characters go; the printable rest of an ANSI sequence is just text.
    assert!(titles.contains(&"Bad[31m title".to_string()), "control characters are removed");
    // 100 000 nested <div>s: the 64 KiB excerpt holds only tags, so the entry has no summary (and no markup).
    let deep = atom::entry_titled(&feed, "Deep");
    assert_eq!(deep.summary().map(|s| s.value.as_str()), None);
    // 9999 is clamped to first sight (and flagged); 1900 is a real, if old, date.
    let future = atom::entry_titled(&feed, "From the future").published().unwrap().with_timezone(&chrono::Utc);
    assert!((chrono::Utc::now() - future).num_minutes().abs() < 10, "{future}");
    assert_eq!(atom::entry_titled(&feed, "From 1900").published().unwrap().format("%Y").to_string(), "1900");
}

#[test]
fn a_huge_nested_page_for_an_html_source_is_refused_and_others_go_on() {
    let server = FixtureServer::start();
    let page = format!("<html><body>{}<article><h2><a href=\"/a\">A</a></h2></article></body></html>", "<div>".repeat(2_000_000));
    server.set("/nested.html", 200, &[("Content-Type", "text/html")], page);
    server.serve_fixture("/good.xml", "rss2-pcp-statements.xml");
    let mut toml = config("max_body_bytes = 67108864\n", &[("good", server.url("/good.xml"))]);
    toml.push_str(&format!(
        "\n[[party.source]]\nid = \"nested\"\nkind = \"html\"\nurl = \"{}\"\nitem = \"article\"\ntitle = \"h2\"\nlink = \"h2 a\"\n",
        server.url("/nested.html")
    ));
    let sandbox = Sandbox::new(&toml);
    let run = sandbox.plenum(&["poll-once"]);
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let lines = logfmt::parse_lines(&run.stdout);
    assert_eq!(line(&lines, "nested").count("seen"), 0);
    assert!(run.stderr.contains("nests elements more than 512 deep"), "{}", run.stderr);
    assert_eq!(line(&lines, "good").count("new"), 3);
}
