//! `plenum check-config`: a valid config passes; every broken one is refused
//! with exit 2 and an error that points at `file:line:column` and the key.

mod common;

use std::path::Path;

use common::parties::DAEMON_TABLE;
use common::plenum::{run_plenum, Run, Sandbox};

const PCP: &str = r#"[[party]]
id = "pcp"
name = "Partido Comunista Português"
abbreviation = "PCP"
country = "PT"
languages = ["pt", "en"]
homepage = "https://www.pcp.pt"

[[party.source]]
id = "rss"
kind = "feed"
url = "http://127.0.0.1:9/pcp/statements.xml"
"#;

const KKE: &str = r#"[[party]]
id = "kke"
name = "Κομμουνιστικό Κόμμα Ελλάδας"
abbreviation = "ΚΚΕ"
country = "GR"
languages = ["el"]
homepage = "https://www.kke.gr"

[[party.source]]
id = "atom"
kind = "feed"
url = "http://127.0.0.1:9/kke/feed.atom"
"#;

fn valid_config() -> String {
    format!("{DAEMON_TABLE}\n{PCP}\n{KKE}")
}

/// 1-based line of the `nth` (1-based) line containing `needle`.
fn line_of(text: &str, needle: &str, nth: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .nth(nth - 1)
        .map(|(i, _)| i + 1)
        .unwrap_or_else(|| panic!("test config has no occurrence {nth} of {needle:?}:\n{text}"))
}

/// Exit 2, and a stderr line `<file>:<line>:<column>: ...` that also names
/// every word in `mentions` (case-insensitive).
fn assert_refused(run: &Run, file: &Path, line: usize, mentions: &[&str]) {
    assert_eq!(run.code, Some(2), "check-config should exit 2\n{}", run.describe());
    let prefix = format!("{}:{line}:", file.display());
    let located: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| {
            l.find(&prefix).is_some_and(|at| {
                let rest = &l[at + prefix.len()..];
                let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
                !column.is_empty() && rest[column.len()..].starts_with(':')
            })
        })
        .collect();
    assert!(!located.is_empty(), "stderr should point at {prefix}<column>:\n{}", run.describe());
    for word in mentions {
        assert!(
            located.iter().any(|l| l.to_lowercase().contains(&word.to_lowercase())),
            "the error at {prefix} should mention {word:?}:\n{}",
            run.describe()
        );
    }
}

#[test]
fn valid_config_passes() {
    let sandbox = Sandbox::new(&valid_config());
    let run = sandbox.plenum(&["check-config"]);
    assert_eq!(run.code, Some(0), "{}", run.describe());
}

#[test]
fn unknown_key_in_daemon_table_is_refused() {
    let config = valid_config().replace("feed_size = 100\n", "feed_size = 100\ncolour = \"red\"\n");
    let sandbox = Sandbox::new(&config);
    let run = sandbox.plenum(&["check-config"]);
    assert_refused(&run, &sandbox.config, line_of(&config, "colour", 1), &["colour"]);
}

#[test]
fn unknown_key_in_source_is_refused() {
    let config = valid_config()
        .replace("url = \"http://127.0.0.1:9/kke/feed.atom\"\n", "url = \"http://127.0.0.1:9/kke/feed.atom\"\nrefresh_minutes = 5\n");
    let sandbox = Sandbox::new(&config);
    let run = sandbox.plenum(&["check-config"]);
    assert_refused(&run, &sandbox.config, line_of(&config, "refresh_minutes", 1), &["refresh_minutes"]);
}

#[test]
fn party_id_with_capitals_and_punctuation_is_refused() {
    let config = valid_config().replace("id = \"pcp\"", "id = \"PCP!\"");
    let sandbox = Sandbox::new(&config);
    let run = sandbox.plenum(&["check-config"]);
    assert_refused(&run, &sandbox.config, line_of(&config, "id = \"PCP!\"", 1), &["party[0].id"]);
}

#[test]
fn duplicate_party_id_is_refused() {
    let config = valid_config().replace("id = \"kke\"", "id = \"pcp\"");
    let sandbox = Sandbox::new(&config);
    let run = sandbox.plenum(&["check-config"]);
    assert_refused(&run, &sandbox.config, line_of(&config, "id = \"pcp\"", 2), &["party[1].id", "pcp"]);
}

#[test]
fn html_source_without_selectors_is_refused_naming_what_is_missing() {
    let config = valid_config().replacen("kind = \"feed\"", "kind = \"html\"", 1);
    let sandbox = Sandbox::new(&config);
    let run = sandbox.plenum(&["check-config"]);
    assert_refused(&run, &sandbox.config, line_of(&config, "kind = \"html\"", 1), &["item", "CSS selector"]);
    assert!(run.stderr.contains(".title:") && run.stderr.contains(".link:"), "{}", run.stderr);
}

#[test]
fn html_source_with_a_broken_selector_is_refused_at_its_line() {
    let config = valid_config().replacen(
        "kind = \"feed\"",
        "kind = \"html\"\nitem = \"article\"\ntitle = \"h2 >> a[\"\nlink = \"h2 a\"\ndate_format = \"%Q\"",
        1,
    );
    let sandbox = Sandbox::new(&config);
    let run = sandbox.plenum(&["check-config"]);
    assert_refused(&run, &sandbox.config, line_of(&config, "h2 >> a[", 1), &["title", "not a valid CSS selector"]);
    assert!(run.stderr.contains("date_format"), "{}", run.stderr);
    let fixed = config.replace("h2 >> a[", "h2 a").replace("%Q", "%d %B %Y");
    sandbox.rewrite_config(&fixed);
    let run = sandbox.plenum(&["check-config"]);
    assert_eq!(run.code, Some(0), "{}", run.describe());
}

#[test]
fn bad_cron_schedule_is_refused() {
    let config = valid_config().replace("schedule = \"0 0 3 1 1 *\"", "schedule = \"every half hour\"");
    let sandbox = Sandbox::new(&config);
    let run = sandbox.plenum(&["check-config"]);
    assert_refused(&run, &sandbox.config, line_of(&config, "every half hour", 1), &["schedule"]);
}

#[test]
fn bad_cron_schedule_on_a_source_is_refused() {
    let config = valid_config().replace(
        "url = \"http://127.0.0.1:9/kke/feed.atom\"\n",
        "url = \"http://127.0.0.1:9/kke/feed.atom\"\nschedule = \"0 0 25 * * *\"\n",
    );
    let sandbox = Sandbox::new(&config);
    let run = sandbox.plenum(&["check-config"]);
    assert_refused(&run, &sandbox.config, line_of(&config, "0 0 25", 1), &["schedule"]);
}

#[test]
fn included_parties_are_checked_and_errors_name_the_include_file() {
    let main = format!("include = [\"parties.toml\"]\n\n{DAEMON_TABLE}\n{PCP}");
    let sandbox = Sandbox::new(&main);
    let included = sandbox.write("parties.toml", KKE);
    let run = sandbox.plenum(&["check-config"]);
    assert_eq!(run.code, Some(0), "a valid include passes\n{}", run.describe());

    let broken = KKE.replace("id = \"kke\"", "id = \"KKE!\"");
    sandbox.write("parties.toml", &broken);
    let run = sandbox.plenum(&["check-config"]);
    assert_refused(&run, &included, line_of(&broken, "KKE!", 1), &["id"]);
}

#[test]
fn default_config_is_config_plenum_toml_in_the_working_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("config")).unwrap();
    let config_path = dir.path().join("config").join("plenum.toml");
    std::fs::write(&config_path, valid_config()).unwrap();
    let run = run_plenum(&["check-config"], dir.path());
    assert_eq!(run.code, Some(0), "{}", run.describe());

    std::fs::write(&config_path, valid_config().replace("id = \"pcp\"", "id = \"PCP!\"")).unwrap();
    let run = run_plenum(&["check-config"], dir.path());
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(run.stderr.contains("plenum.toml:"), "the error names the default config file\n{}", run.describe());
}

#[test]
fn poll_once_refuses_a_broken_config_with_exit_2() {
    let config = valid_config().replace("feed_size = 100", "feed_size = \"lots\"");
    let sandbox = Sandbox::new(&config);
    let run = sandbox.plenum(&["poll-once"]);
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(run.stderr.contains("feed_size"), "the error names the key\n{}", run.describe());
    assert!(run.stdout.trim().is_empty(), "nothing was polled, so no report lines\n{}", run.describe());
}
