//! Reading what Plenum published, with a real Atom parser, and seeing it the
//! way a feed reader shows it.

use atom_syndication::{Entry, Feed, Text, TextType};
use std::path::Path;

/// Parses an Atom document; panics with the document when it is not Atom.
pub fn parse(xml: &str, what: &str) -> Feed {
    xml.parse::<Feed>().unwrap_or_else(|e| panic!("{what} is not a readable Atom feed ({e}):\n{xml}"))
}

pub fn read(path: &Path) -> Feed {
    let xml = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read published feed {}: {e}", path.display()));
    parse(&xml, &path.display().to_string())
}

/// What a reader displays for a text construct: markup removed and entities
/// decoded for `type="html"`/`"xhtml"`, the value itself for `type="text"`.
pub fn displayed(text: &Text) -> String {
    match text.r#type {
        TextType::Text => text.value.trim().to_string(),
        TextType::Html => {
            let without_tags = strip_tags(&text.value);
            html_escape::decode_html_entities(&without_tags).trim().to_string()
        }
        TextType::Xhtml => strip_tags(&text.value).trim().to_string(),
    }
}

fn strip_tags(markup: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in markup.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

pub fn title(entry: &Entry) -> String {
    displayed(entry.title())
}

/// Displayed titles, sorted, so tests can compare sets.
pub fn titles(feed: &Feed) -> Vec<String> {
    let mut titles: Vec<String> = feed.entries().iter().map(title).collect();
    titles.sort();
    titles
}

/// The single entry whose displayed title is `wanted`.
pub fn entry_titled<'a>(feed: &'a Feed, wanted: &str) -> &'a Entry {
    let found: Vec<&Entry> = feed.entries().iter().filter(|e| title(e) == wanted).collect();
    assert_eq!(found.len(), 1, "expected exactly one entry titled {wanted:?}, found {}; titles: {:#?}", found.len(), titles(feed));
    found[0]
}

/// `href`s of the links with relation `rel` (a missing `rel` means alternate).
pub fn links_with_rel<'a>(links: &'a [atom_syndication::Link], rel: &str) -> Vec<&'a str> {
    links.iter().filter(|l| l.rel() == rel).map(|l| l.href()).collect()
}
