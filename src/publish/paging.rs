//! One page of a feed: which entries a [`Scope`] and [`Query`] select, cut
//! into RFC 5005 pages by [`Position`] cursors.
//!
//! A page is always a contiguous run of the scope's entries in time order
//! (newest first). Its `next` link asks for the entries before its oldest
//! entry (`before=`), its `previous` link for those after its newest
//! (`after=`), `first` is the feed itself and `last` the oldest page
//! (`after=0`). New entries arriving between requests never shift the
//! pages already handed out, so walking `next` to the end visits every
//! entry once. In documents that merge joint statements, a page ends
//! before the entry that would start one story too many, and a story
//! groups only the copies inside its page.
//!
//! Filters the indexes cannot answer (`q=`, or `lang=` inside a party
//! feed) look at no more than [`SCAN_CAP`] entries per request; a page
//! that stops there links onwards from where it stopped.

use crate::config::{Config, PartyId};
use crate::normalize::{text, Entry};
use crate::store::{Direction, Index, Position, Store, StoreError};

use super::feed::{Query, Scope};
use super::{merge_page, merge_stories, Story};

/// Most entries one request may examine for filters.
pub const SCAN_CAP: usize = 20_000;

/// The entries of one page, newest first, and where the neighbouring pages start.
#[derive(Debug, Default)]
pub struct Page {
    pub entries: Vec<Entry>,
    /// Whether joint statements fold into stories.
    pub merges: bool,
    /// Cursor for the next (older) page, when there may be one.
    pub older: Option<Position>,
    /// Cursor for the previous (newer) page, when there may be one.
    pub newer: Option<Position>,
}

impl Page {
    /// The page's stories, newest first.
    pub fn stories(&self) -> Vec<Story<'_>> {
        if self.merges {
            merge_stories(&self.entries, usize::MAX)
        } else {
            self.entries.iter().map(|entry| Story { entry, also: Vec::new() }).collect()
        }
    }
}

/// Selects the page `query` asks for from `scope`'s entries.
pub fn select(config: &Config, store: &Store, scope: &Scope, query: &Query) -> Result<Page, StoreError> {
    let limit = query.limit.unwrap_or(config.daemon.feed_size).max(1);
    let merges = scope.merges();
    // The parties the scope and `party=`/`country=` allow: `None` is all.
    let mut parties: Option<Vec<PartyId>> = match scope {
        Scope::Party(id) => Some(vec![id.clone()]),
        Scope::Country(cc) => Some(parties_of_country(config, cc)),
        _ => None,
    };
    if let Some(cc) = &query.country {
        let of_country = parties_of_country(config, cc);
        parties = Some(parties.map_or(of_country.clone(), |p| p.into_iter().filter(|id| of_country.contains(id)).collect()));
    }
    if !query.parties.is_empty() {
        parties = Some(parties.map_or(query.parties.clone(), |p| p.into_iter().filter(|id| query.parties.contains(id)).collect()));
    }
    let language = match scope {
        Scope::Language(lang) => Some(lang.clone()),
        _ => query.lang.clone(),
    };
    if matches!(scope, Scope::Language(lang) if query.lang.as_ref().is_some_and(|l| l != lang))
        || parties.as_ref().is_some_and(Vec::is_empty)
    {
        return Ok(Page { merges, ..Page::default() });
    }
    // The narrowest index answers; what it cannot is filtered while walking.
    let (index, filter_parties, filter_language) = match (&parties, &language) {
        (Some(p), Some(lang)) if p.len() > 3 => (Index::Language(lang), Some(p.clone()), None),
        (Some(p), lang) => (Index::Parties(p), None, lang.clone()),
        (None, Some(lang)) => (Index::Language(lang), None, None),
        (None, None) => (Index::All, None, None),
    };
    let needle = query.q.as_deref().map(str::to_lowercase);
    let mut examined = 0usize;
    let mut last_examined = None;
    let mut filter_error = None;
    let mut matches = |entry: &Entry| -> bool {
        if filter_parties.as_ref().is_some_and(|p| !p.contains(&entry.party)) {
            return false;
        }
        if let Some(lang) = &filter_language {
            match store.language_of(&entry.key) {
                Ok(found) if found.as_deref() == Some(lang.as_str()) => {}
                Ok(_) => return false,
                Err(e) => {
                    filter_error.get_or_insert(e);
                    return false;
                }
            }
        }
        match &needle {
            Some(needle) => {
                entry.title.to_lowercase().contains(needle)
                    || entry.summary.as_deref().is_some_and(|s| text::from_sanitized(s).to_lowercase().contains(needle))
            }
            None => true,
        }
    };

    let (from, direction) = match (&query.before, &query.after) {
        (_, Some(after)) => (Some(after.clone()), Direction::Newer),
        (before, None) => (before.clone(), Direction::Older),
    };
    // Merged pages read ahead, up to three entries per story, as copies of
    // a story fold into it: a page of `limit` entries at a time, until one
    // starts story `limit + 1` (what is read beyond it is not on the page).
    let read_ahead = match direction {
        Direction::Older if merges => limit.saturating_mul(3).saturating_add(1),
        _ => limit.saturating_add(1),
    };
    let mut want = limit.saturating_add(1);
    let mut found: Vec<(Position, Entry)> = Vec::new();
    let mut capped = false;
    let mut resume = from;
    loop {
        let mut exhausted = true;
        store.walk(index, resume.as_ref(), direction, &mut |position, entry| {
            examined += 1;
            last_examined = Some(position.clone());
            if matches(&entry) {
                found.push((position, entry));
            }
            if examined >= SCAN_CAP && found.len() < want {
                capped = true;
                return false;
            }
            exhausted = found.len() < want;
            exhausted
        })?;
        if exhausted || capped || want >= read_ahead {
            break;
        }
        if merge_page(found.iter().map(|(_, e)| e), limit).1 < found.len() {
            break;
        }
        resume = last_examined.clone();
        want = want.saturating_add(limit).min(read_ahead);
    }
    if let Some(e) = filter_error {
        return Err(e);
    }

    match direction {
        Direction::Older => {
            let (positions, mut entries): (Vec<Position>, Vec<Entry>) = found.into_iter().unzip();
            let consumed = if merges { merge_page(&entries, limit).1 } else { entries.len().min(limit) };
            let more = entries.len() > consumed || capped;
            let older = if more { positions.get(consumed.wrapping_sub(1)).cloned().or_else(|| last_examined.clone()) } else { None };
            let newer = query.before.as_ref().and(positions.first().cloned());
            entries.truncate(consumed);
            Ok(Page { entries, merges, older, newer })
        }
        Direction::Newer => {
            let more = found.len() > limit || capped;
            found.truncate(limit);
            let newer = if more { found.last().map(|(p, _)| p.clone()).or_else(|| last_examined.clone()) } else { None };
            let older = match &query.after {
                Some(after) if *after != Position::origin() => found.first().map(|(p, _)| p.clone()),
                _ => None,
            };
            Ok(Page { entries: found.into_iter().rev().map(|(_, e)| e).collect(), merges, older, newer })
        }
    }
}

/// The parties of country `cc` (lowercase), in config order.
pub fn parties_of_country(config: &Config, cc: &str) -> Vec<PartyId> {
    config.parties.iter().filter(|p| p.country.eq_ignore_ascii_case(cc)).map(|p| p.id.clone()).collect()
}
