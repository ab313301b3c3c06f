//! The language of an entry, for the per-language feeds and the `lang=`
//! filter.
//!
//! Decided once per stored version of an entry, when the publisher works
//! through the store's language queue ([`sync`]), and kept in the store's
//! language index: publishing never detects a language twice. The order:
//! the entry's own language (from the item or its feed), else the source's
//! configured `language`, else detection from the title and summary with
//! whatlang (a reliable guess over all languages; else the best guess among
//! the party's languages; else the party's main language).

use std::collections::HashMap;

use whatlang::{Detector, Lang};

use crate::config::{Config, Party, SourceId};
use crate::normalize::{text, Entry};
use crate::store::{Store, StoreError};

/// Entries decided per store read, so a large backlog is not held in memory at once.
const BATCH: usize = 2000;

/// `en-GB` → `en`: the primary subtag in lower case, when it is a language
/// code (2 or 3 letters); `None` for anything else.
pub fn primary_tag(tag: &str) -> Option<String> {
    let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    ((2..=3).contains(&primary.len()) && primary.chars().all(|c| c.is_ascii_lowercase())).then_some(primary)
}

/// The language `entry` is filed under; `None` when nothing says and
/// detection fails for a party with no configured language.
pub fn decide(entry: &Entry, source_language: Option<&str>, party: Option<&Party>) -> Option<String> {
    if let Some(lang) = entry.language.as_deref().and_then(primary_tag) {
        return Some(lang);
    }
    if let Some(lang) = source_language.and_then(primary_tag) {
        return Some(lang);
    }
    let mut sample = entry.title.clone();
    if let Some(summary) = entry.summary.as_deref().or(entry.content.as_deref()) {
        sample.push_str(". ");
        sample.extend(text::from_sanitized(summary).chars().take(600));
    }
    if let Some(info) = whatlang::detect(&sample).filter(|i| i.is_reliable()) {
        if let Some(lang) = iso_639_1(info.lang()) {
            return Some(lang);
        }
    }
    let party_languages: Vec<String> = party.map(|p| p.languages.iter().filter_map(|l| primary_tag(l)).collect()).unwrap_or_default();
    if party_languages.len() > 1 {
        let allowed: Vec<Lang> = party_languages.iter().filter_map(|l| whatlang_lang(l)).collect();
        if allowed.len() > 1 {
            if let Some(lang) = Detector::with_allowlist(allowed).detect_lang(&sample).and_then(iso_639_1) {
                return Some(lang);
            }
        }
    }
    party_languages.into_iter().next()
}

/// Files every entry stored or changed since the last run under its
/// language; returns how many were filed.
pub fn sync(config: &Config, store: &Store) -> Result<usize, StoreError> {
    let source_languages: HashMap<&SourceId, &str> =
        config.sources().filter_map(|(_, s)| s.language.as_deref().map(|l| (&s.id, l))).collect();
    let mut filed = 0;
    loop {
        let batch = store.language_pending(BATCH)?;
        if batch.is_empty() {
            return Ok(filed);
        }
        let mut progress = false;
        for entry in &batch {
            let party = config.party(entry.party.as_str());
            let lang = decide(entry, source_languages.get(&entry.source).copied(), party).unwrap_or_else(|| "und".to_string());
            store.set_language(entry, &lang)?;
            filed += 1;
            progress = true;
        }
        // An entry rewritten while being filed stays queued: leave it for the next publish.
        if !progress || batch.len() < BATCH {
            return Ok(filed);
        }
    }
}

fn iso_639_1(lang: Lang) -> Option<String> {
    isolang::Language::from_639_3(lang.code()).and_then(|l| l.to_639_1()).map(str::to_string)
}

fn whatlang_lang(code: &str) -> Option<Lang> {
    let three = isolang::Language::from_639_1(code)?.to_639_3();
    Lang::from_code(three)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primary_tags_are_lowercase_language_codes() {
        for (tag, want) in [("en", Some("en")), ("en-GB", Some("en")), ("PT_br", Some("pt")), ("English", None), ("", None), ("e1", None)] {
            assert_eq!(primary_tag(tag).as_deref(), want, "{tag}");
        }
    }

    #[test]
    fn whatlang_codes_map_to_two_letter_codes() {
        assert_eq!(iso_639_1(Lang::Ell).as_deref(), Some("el"));
        assert_eq!(iso_639_1(Lang::Por).as_deref(), Some("pt"));
        assert_eq!(whatlang_lang("tr"), Some(Lang::Tur));
    }
}
