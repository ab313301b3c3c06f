//! OPML 2.0, both ways.
//!
//! [`render`] writes `feeds.opml` (served at `/opml` too): Plenum's own
//! feeds (merged, per country, per language) and one folder per party
//! holding Plenum's feed of that party and the party's own sources, so a
//! reader can subscribe to everything in one step.
//!
//! [`import`] is `plenum import-opml FILE`: every feed outline of an OPML
//! file becomes a `[[party.source]]` of a configured party (the one named
//! by `--party`, else the party an enclosing folder is named after), in the
//! config file that defines that party, keeping its comments and layout
//! (toml_edit). Known addresses and Plenum's own feeds are skipped; the
//! edited config is checked like `check-config` and put back as it was when
//! it does not pass.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use opml::{Body, Head, Outline, OPML};

use super::feed::{self, Format, Scope};
use super::{files, Document, PublishError};
use crate::config::{Config, Party, SourceKind};

/// Where the list is published.
pub const PATH: &str = "feeds.opml";
pub const CONTENT_TYPE: &str = "text/x-opml; charset=utf-8";

/// Renders the subscription list.
pub fn render(config: &Config, scopes: &[Scope], updated: DateTime<Utc>) -> Result<Document, PublishError> {
    let feed_outline = |scope: &Scope, text: String| Outline {
        text: text.clone(),
        title: Some(text),
        r#type: Some("rss".into()),
        xml_url: Some(feed::absolute(config, &scope.path(Format::Atom))),
        html_url: Some(feed::absolute(config, &scope.path(Format::Html))),
        language: scope.language(config),
        ..Outline::default()
    };
    let mut plenum = Outline { text: format!("{} (Plenum)", config.daemon.title), ..Outline::default() };
    for scope in scopes.iter().filter(|s| !matches!(s, Scope::Party(_))) {
        plenum.outlines.push(feed_outline(scope, scope.title(config)));
    }
    let mut outlines = vec![plenum];
    for party in &config.parties {
        let mut folder = Outline {
            text: party.display_name(),
            title: Some(party.display_name()),
            category: Some(format!("/country/{}", party.country)),
            html_url: Some(party.homepage.to_string()),
            ..Outline::default()
        };
        folder.outlines.push(feed_outline(&Scope::Party(party.id.clone()), format!("{} (Plenum)", party.display_name())));
        for source in &party.sources {
            folder.outlines.push(Outline {
                text: format!("{} ({})", party.display_name(), source.id),
                r#type: Some(if source.kind == SourceKind::Feed { "rss" } else { "link" }.into()),
                xml_url: (source.kind == SourceKind::Feed).then(|| source.url.to_string()),
                url: (source.kind == SourceKind::Html).then(|| source.url.to_string()),
                html_url: Some(party.homepage.to_string()),
                language: source.language.clone().or_else(|| party.languages.first().cloned()),
                ..Outline::default()
            });
        }
        outlines.push(folder);
    }
    let document = OPML {
        version: "2.0".into(),
        head: Some(Head {
            title: Some(config.daemon.title.clone()),
            date_modified: Some(updated.to_rfc2822()),
            owner_name: Some("Plenum".into()),
            docs: Some("http://opml.org/spec2.opml".into()),
            ..Head::default()
        }),
        body: Body { outlines },
    };
    let xml = document.to_string().map_err(|e| PublishError::Render { path: PATH.into(), cause: e.to_string() })?;
    let mut bytes = br#"<?xml version="1.0" encoding="utf-8"?>"#.to_vec();
    bytes.push(b'\n');
    bytes.extend_from_slice(xml.as_bytes());
    Ok(Document::new(bytes, CONTENT_TYPE, updated))
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {cause}")]
    Read { path: PathBuf, cause: String },
    #[error("{path} is not OPML: {cause}")]
    NotOpml { path: PathBuf, cause: String },
    #[error("no party `{0}` in the config; `plenum list` shows the parties")]
    UnknownParty(String),
    #[error("cannot edit {path}: {cause}")]
    Edit { path: PathBuf, cause: String },
    #[error("the config would not be valid after the import, so nothing was changed:\n{0}")]
    Invalid(String),
}

/// What happened to one feed outline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Imported {
    Added { party: String, url: String, file: PathBuf },
    Skipped { url: String, reason: String },
}

/// Adds the feeds of the OPML file at `opml_path` to the config's parties
/// (see the module docs). Without `party`, a feed is added to the party
/// whose id, abbreviation or name an enclosing outline carries.
pub fn import(config: &Config, opml_path: &Path, party: Option<&str>) -> Result<Vec<Imported>, ImportError> {
    let xml = std::fs::read_to_string(opml_path).map_err(|e| ImportError::Read { path: opml_path.to_path_buf(), cause: e.to_string() })?;
    let document = OPML::from_str(&xml).map_err(|e| ImportError::NotOpml { path: opml_path.to_path_buf(), cause: e.to_string() })?;
    let forced = match party {
        Some(id) => Some(config.party(id).ok_or_else(|| ImportError::UnknownParty(id.to_string()))?),
        None => None,
    };
    let mut found = Vec::new();
    collect(&document.body.outlines, &mut Vec::new(), &mut found);

    let mut report = Vec::new();
    let mut additions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (url, folders) in found {
        let parsed = match url::Url::parse(url.trim()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => u,
            _ => {
                report.push(Imported::Skipped { url, reason: "not an absolute http(s) address".into() });
                continue;
            }
        };
        if parsed.as_str().starts_with(config.daemon.base_url.as_str()) {
            report.push(Imported::Skipped { url, reason: "one of Plenum's own feeds".into() });
            continue;
        }
        let Some(target) = forced.or_else(|| folders.iter().rev().find_map(|name| party_named(config, name))) else {
            report.push(Imported::Skipped { url, reason: "no enclosing outline names a configured party; use --party".into() });
            continue;
        };
        let known = target.sources.iter().any(|s| s.url == parsed)
            || additions.get(target.id.as_str()).is_some_and(|u| u.contains(&parsed.to_string()));
        if known {
            report.push(Imported::Skipped { url, reason: format!("already a source of {}", target.id) });
            continue;
        }
        additions.entry(target.id.to_string()).or_default().push(parsed.to_string());
    }
    if additions.is_empty() {
        return Ok(report);
    }

    let mut originals: Vec<(PathBuf, String)> = Vec::new();
    let mut edits: BTreeMap<PathBuf, toml_edit::DocumentMut> = BTreeMap::new();
    for (party_id, urls) in &additions {
        let file = defining_file(config, party_id, &mut edits, &mut originals)?;
        let Some(doc) = edits.get_mut(&file) else { continue };
        let Some(table) = party_table(doc, party_id) else { continue };
        if !table.contains_key("source") {
            table.insert("source", toml_edit::Item::ArrayOfTables(toml_edit::ArrayOfTables::new()));
        }
        if let Some(sources) = table.get_mut("source").and_then(toml_edit::Item::as_array_of_tables_mut) {
            for url in urls {
                let mut source = toml_edit::Table::new();
                source.insert("kind", toml_edit::value("feed"));
                source.insert("url", toml_edit::value(url.as_str()));
                sources.push(source);
                report.push(Imported::Added { party: party_id.clone(), url: url.clone(), file: file.clone() });
            }
        }
    }
    for (path, doc) in &edits {
        files::write_atomic(path, doc.to_string().as_bytes())
            .map_err(|e| ImportError::Edit { path: path.clone(), cause: e.to_string() })?;
    }
    if let Err(e) = crate::config::load(&config.path) {
        for (path, text) in &originals {
            let _ = files::write_atomic(path, text.as_bytes());
        }
        return Err(ImportError::Invalid(e.to_string()));
    }
    Ok(report)
}

/// Every feed address under `outlines`, with the names of its enclosing outlines.
fn collect(outlines: &[Outline], folders: &mut Vec<String>, out: &mut Vec<(String, Vec<String>)>) {
    for outline in outlines {
        if let Some(url) = outline.xml_url.as_deref().filter(|u| !u.trim().is_empty()) {
            out.push((url.to_string(), folders.clone()));
        }
        if !outline.outlines.is_empty() {
            folders.push(outline.title.clone().unwrap_or_else(|| outline.text.clone()));
            folders.push(outline.text.clone());
            collect(&outline.outlines, folders, out);
            folders.pop();
            folders.pop();
        }
    }
}

fn party_named<'a>(config: &'a Config, name: &str) -> Option<&'a Party> {
    let name = name.trim().to_lowercase();
    config.parties.iter().find(|p| {
        [p.id.to_string(), p.abbreviation.clone(), p.name.clone(), p.display_name()]
            .iter()
            .any(|n| !n.is_empty() && n.to_lowercase() == name)
    })
}

/// The config file (the main one or an include) with `[[party]] id = party_id`, loaded for editing.
fn defining_file(
    config: &Config,
    party_id: &str,
    edits: &mut BTreeMap<PathBuf, toml_edit::DocumentMut>,
    originals: &mut Vec<(PathBuf, String)>,
) -> Result<PathBuf, ImportError> {
    let mut candidates = vec![config.path.clone()];
    let main = load_doc(&config.path, edits, originals)?;
    let dir = config.path.parent().map(Path::to_path_buf).unwrap_or_default();
    if let Some(includes) = main.get("include").and_then(toml_edit::Item::as_array) {
        candidates.extend(includes.iter().filter_map(|v| v.as_str()).map(|p| dir.join(p)));
    }
    for path in candidates {
        let doc = load_doc(&path, edits, originals)?;
        if party_table(doc, party_id).is_some() {
            return Ok(path);
        }
    }
    Err(ImportError::Edit { path: config.path.clone(), cause: format!("no [[party]] with id = \"{party_id}\" in it or its includes") })
}

fn load_doc<'a>(
    path: &Path,
    edits: &'a mut BTreeMap<PathBuf, toml_edit::DocumentMut>,
    originals: &mut Vec<(PathBuf, String)>,
) -> Result<&'a mut toml_edit::DocumentMut, ImportError> {
    if !edits.contains_key(path) {
        let text = std::fs::read_to_string(path).map_err(|e| ImportError::Read { path: path.to_path_buf(), cause: e.to_string() })?;
        let doc: toml_edit::DocumentMut =
            text.parse().map_err(|e: toml_edit::TomlError| ImportError::Edit { path: path.to_path_buf(), cause: e.to_string() })?;
        originals.push((path.to_path_buf(), text));
        edits.insert(path.to_path_buf(), doc);
    }
    edits.get_mut(path).ok_or_else(|| ImportError::Edit { path: path.to_path_buf(), cause: "lost while editing".into() })
}

fn party_table<'a>(doc: &'a mut toml_edit::DocumentMut, party_id: &str) -> Option<&'a mut toml_edit::Table> {
    doc.get_mut("party")?.as_array_of_tables_mut()?.iter_mut().find(|t| t.get("id").and_then(|v| v.as_str()) == Some(party_id))
}
