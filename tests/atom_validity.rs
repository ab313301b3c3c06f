//! The published Atom must be valid RFC 4287: the Appendix B RELAX NG schema
//! (xmllint and jing), its Schematron rules and the prose MUSTs (jing), plus
//! the points no schema checks (see VALIDATORS.md, pitfall 1).
//!
//! The RELAX NG check uses xmllint (fast; jing agrees with it on this
//! schema, see VALIDATORS.md); the Schematron rules need jing.
//!
//! A missing validator fails the test with what to install: a validity test
//! that passes because nothing validated would be worse than none.

mod common;

use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::fixture_server::FixtureServer;
use common::parties::{self, config_for, serve_three_parties};
use common::plenum::Sandbox;

const INSTALL_HINT: &str = "install the validators: apt-get install libxml2-utils jing";

/// `$PLENUM_SHARED/corpus/atom-schema`, by default next to the package.
fn schema_dir() -> PathBuf {
    let shared = std::env::var_os("PLENUM_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("shared"));
    let dir = shared.join("corpus").join("atom-schema");
    assert!(
        dir.join("atom.rng").is_file(),
        "the Atom schema is missing: {} (set PLENUM_SHARED to the directory holding corpus/atom-schema)",
        dir.join("atom.rng").display()
    );
    dir
}

/// Runs a validator; `Err` carries its complaint. A validator that is not
/// installed panics with the install hint.
fn run_validator(program: &str, args: &[&Path]) -> std::process::Output {
    Command::new(program).args(args).output().unwrap_or_else(|e| match e.kind() {
        ErrorKind::NotFound => panic!("`{program}` is not installed; {INSTALL_HINT}"),
        _ => panic!("cannot run `{program}`: {e}"),
    })
}

/// Every complaint about every document, keyed by document; empty when all
/// are valid.
fn validate(documents: &[PathBuf]) -> Vec<(PathBuf, String)> {
    let schemas = schema_dir();
    let rng = schemas.join("atom.rng");
    let mut problems = Vec::new();

    for document in documents {
        // xmllint exits 0 on namespace errors, so any stderr line other than
        // "<file> validates" is a failure too (VALIDATORS.md, pitfall 2).
        let out = run_validator("xmllint", &[Path::new("--noout"), Path::new("--relaxng"), &rng, document]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let noise: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty() && !l.ends_with(" validates")).collect();
        if !out.status.success() || !noise.is_empty() {
            problems.push((document.clone(), format!("xmllint --relaxng atom.rng ({}):\n{stderr}", out.status)));
        }
        for problem in checks_no_schema_makes(document) {
            problems.push((document.clone(), problem));
        }
    }

    // Each jing run starts a JVM (slow), so first check all documents in one
    // run per rule file. jing's Schematron messages carry no file name, so
    // only when a run fails are the documents checked one by one to say which.
    for rules in ["atom-rfc4287-appendixB.sch", "atom-rfc4287-prose.sch"] {
        let rules_path = schemas.join(rules);
        let mut args: Vec<&Path> = vec![&rules_path];
        args.extend(documents.iter().map(PathBuf::as_path));
        let batch = run_validator("jing", &args);
        if batch.status.success() {
            continue;
        }
        for document in documents {
            let out = if documents.len() == 1 { batch.clone() } else { run_validator("jing", &[&rules_path, document]) };
            if !out.status.success() {
                problems.push((
                    document.clone(),
                    format!(
                        "jing {rules} ({}):\n{}{}",
                        out.status,
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    ),
                ));
            }
        }
    }
    problems
}

/// What the schema files let through: duplicate entry ids, whitespace in
/// ids; and, stricter than RFC 4287 (which allows `xml:base`), Plenum's own
/// rule that every href is an absolute URL.
fn checks_no_schema_makes(document: &Path) -> Vec<String> {
    let xml = std::fs::read_to_string(document).unwrap_or_default();
    let feed = match xml.parse::<atom_syndication::Feed>() {
        Ok(feed) => feed,
        Err(e) => return vec![format!("atom_syndication cannot read it: {e}")],
    };
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    let ids = std::iter::once(feed.id()).chain(feed.entries().iter().map(|e| e.id()));
    for id in ids {
        if id.trim() != id || id.is_empty() {
            problems.push(format!("id with surrounding whitespace or empty: {id:?}"));
        }
        if !seen.insert(id) {
            problems.push(format!("duplicate id: {id}"));
        }
    }
    let links = feed.links().iter().chain(feed.entries().iter().flat_map(|e| e.links()));
    for link in links {
        if url::Url::parse(link.href()).is_err() || link.href().trim() != link.href() {
            problems.push(format!("link href is not an absolute URL: {:?}", link.href()));
        }
    }
    problems
}

/// Fails with every complaint about every document.
fn assert_all_valid(documents: &[PathBuf]) {
    let report: Vec<String> =
        validate(documents).iter().map(|(doc, problem)| format!("{} is not valid Atom: {problem}", doc.display())).collect();
    assert!(report.is_empty(), "{}", report.join("\n\n"));
}

#[test]
fn merged_and_party_feeds_are_valid_atom() {
    let server = FixtureServer::start();
    let mut parties = serve_three_parties(&server);
    // Items with no guid, one with no link either: still valid entries.
    server.serve_fixture("/ptb/rss.xml", "rss2-entry-without-id.xml");
    parties.push(parties::ptb(&server));
    let sandbox = Sandbox::new(&config_for(&parties));

    let lines = sandbox.poll_once();
    assert!(lines.iter().all(|l| l.get("status") == "ok"), "every source should poll fine: {lines:#?}");

    let mut documents = vec![sandbox.merged_feed_path()];
    documents.extend(parties.iter().map(|p| sandbox.party_feed_path(p.id)));
    for doc in &documents {
        assert!(doc.is_file(), "poll-once should publish {}", doc.display());
    }
    assert_all_valid(&documents);
}

/// The check above can fail: the same validation rejects the corpus's
/// invalid examples and accepts its valid ones.
#[test]
fn validation_rejects_invalid_atom() {
    let examples = schema_dir().join("examples");
    for invalid in ["invalid-schema.xml", "invalid-rules-only.xml"] {
        let problems = validate(&[examples.join(invalid)]);
        assert!(!problems.is_empty(), "{invalid} should be rejected");
    }
    // (Not valid-extensions.xml: its relative hrefs are valid Atom but not
    // what Plenum publishes.)
    assert_eq!(validate(&[examples.join("valid-minimal.xml")]), vec![]);
}
