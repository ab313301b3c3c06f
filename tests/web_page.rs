//! The headlines page in a real browser: Debian's headless Chromium loads
//! `/` from the daemon, and the test reads the DOM it built and takes
//! screenshots at desktop and phone widths (kept under
//! `target/tmp/web-page-*.png` for a person to look at).
//!
//! A missing Chromium fails the test with what to install.

mod common;

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::fixture_server::FixtureServer;
use common::parties::{self, config_for, serve_three_parties};
use common::plenum::Sandbox;

const INSTALL_HINT: &str = "install Chromium: apt-get install chromium (bash .ci/test does it)";

fn chromium(profile: &Path, args: &[String]) -> std::process::Output {
    let mut command = Command::new("chromium");
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display())).args(args);
    command.output().unwrap_or_else(|e| match e.kind() {
        ErrorKind::NotFound => panic!("`chromium` is not installed; {INSTALL_HINT}"),
        _ => panic!("cannot run chromium: {e}"),
    })
}

fn screenshot(profile: &Path, url: &str, name: &str, size: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("web-page-{name}.png"));
    let _ = std::fs::remove_file(&path);
    let out = chromium(profile, &[format!("--screenshot={}", path.display()), format!("--window-size={size}"), url.to_string()]);
    assert!(path.is_file(), "chromium should write {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    let png = std::fs::read(&path).unwrap_or_default();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{} should be a real screenshot", path.display());
    path
}

#[test]
fn headlines_page_renders_in_headless_chromium_on_desktop_and_phone() {
    let server = FixtureServer::start();
    let mut parties = serve_three_parties(&server);
    server.serve_fixture("/ptb/rss.xml", "rss2-entry-without-id.xml");
    parties.push(parties::ptb(&server));
    let sandbox = Sandbox::new(&config_for(&parties));
    sandbox.poll_once();
    let daemon = sandbox.start_daemon();
    let url = format!("http://{}/", daemon.host_port);
    let profile = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));

    let out = chromium(profile.path(), &["--dump-dom".to_string(), url.clone()]);
    let dom = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        dom.contains("<ol class=\"headlines\">"),
        "the DOM should hold the headline list:\n{dom}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for title in parties::KKE_TITLES.iter().chain(parties::PCE_TITLES.iter()) {
        assert!(dom.contains(&title.replace('&', "&amp;")), "the page should show {title:?}");
    }
    for abbreviation in ["PCP", "KKE", "PCE", "PTB"] {
        assert!(dom.contains(&format!(">{abbreviation}</a>")), "each headline names its party: {abbreviation}");
    }
    assert!(dom.contains("href=\"https://www.pcp.pt/aumento-geral-dos-salarios-emergencia-nacional\""), "headlines link to the originals");
    for feed in ["application/atom+xml", "application/feed+json", "application/rss+xml"] {
        assert!(dom.contains(&format!("rel=\"alternate\" type=\"{feed}\"")), "autodiscovery of {feed}");
    }
    assert!(dom.contains("lang=\"el\"") && dom.contains("Greek"), "the language of each headline is shown");
    assert!(!dom.contains("<script"), "the page needs no JavaScript");
    // Filters are a plain form: the filtered page comes from the server.
    let filtered = chromium(profile.path(), &["--dump-dom".to_string(), format!("{url}?country=gr")]);
    let filtered = String::from_utf8_lossy(&filtered.stdout);
    assert!(filtered.contains(parties::KKE_TITLES[0]) && !filtered.contains(parties::PCE_TITLES[0]), "country=gr shows only KKE");
    let party_page = chromium(profile.path(), &["--dump-dom".to_string(), format!("{url}parties/pce")]);
    assert!(String::from_utf8_lossy(&party_page.stdout).contains(parties::PCE_TITLES[0]), "a page per party");

    let desktop = screenshot(profile.path(), &url, "desktop", "1280,900");
    let phone = screenshot(profile.path(), &url, "phone", "390,844");
    eprintln!("screenshots: {} {}", desktop.display(), phone.display());
}
