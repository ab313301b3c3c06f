//! Reading the indexes for publishing: walking a feed's entries in time
//! order from a [`Position`] (for paged feeds), several parties' indexes
//! merged into one order (country feeds, `party=a,b`), and the language
//! index the publisher maintains.
//!
//! Every walk reads index rows in order and stops when the visitor says
//! so: a page costs the rows it shows (plus those a filter skips), never a
//! scan of the store.

use std::ops::Bound;

use super::{decode_entry, language_stamp, sortable_time, Store, StoreError};
use crate::config::PartyId;
use crate::normalize::{Entry, EntryKey};

/// A place in time order: an entry's `published` time and key, the suffix
/// every index row ends with. Opaque to readers of feeds (see [`Position::token`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position(Vec<u8>);

impl Position {
    /// Before every entry: walking [`Direction::Newer`] from here starts at the oldest.
    pub fn origin() -> Position {
        Position(Vec::new())
    }

    /// Where `entry` sits in time order.
    pub fn of(entry: &Entry) -> Position {
        let mut bytes = sortable_time(entry.published).to_vec();
        bytes.extend_from_slice(entry.key.as_str().as_bytes());
        Position(bytes)
    }

    /// The position as it appears in URLs: `<ms>.<party>.<hash>`, or `0`
    /// for the origin. Only URL-safe characters.
    pub fn token(&self) -> String {
        let Some((time, key)) = self.0.split_first_chunk::<8>() else { return "0".to_string() };
        let millis = (u64::from_be_bytes(*time) ^ (1 << 63)) as i64;
        format!("{millis}.{}", String::from_utf8_lossy(key).replace('/', "."))
    }

    /// Reads a [`Position::token`]; `None` for anything else.
    pub fn parse(token: &str) -> Option<Position> {
        if token == "0" {
            return Some(Position::origin());
        }
        let (millis, rest) = token.split_once('.')?;
        let millis: i64 = millis.parse().ok()?;
        let (party, hash) = rest.split_once('.')?;
        PartyId::parse(party).ok()?;
        if hash.is_empty() || hash.len() > 64 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let mut bytes = ((millis as u64) ^ (1 << 63)).to_be_bytes().to_vec();
        bytes.extend_from_slice(format!("{party}/{hash}").as_bytes());
        Some(Position(bytes))
    }
}

/// Which index a walk reads.
#[derive(Debug, Clone, Copy)]
pub enum Index<'a> {
    /// Every entry (`by_time`).
    All,
    /// These parties' entries, merged into one time order (`by_party`).
    Parties(&'a [PartyId]),
    /// Entries whose language the publisher set to this one (`by_language`).
    Language(&'a str),
}

/// Which way a walk goes from its position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Newest first, strictly before the position.
    Older,
    /// Oldest first, strictly after the position.
    Newer,
}

/// One index range being read: its row prefix and the rows left.
struct Lane {
    prefix_len: usize,
    rows: Box<dyn Iterator<Item = sled::Result<sled::IVec>>>,
    head: Option<Vec<u8>>,
}

impl Lane {
    fn advance(&mut self) -> Result<(), StoreError> {
        self.head = match self.rows.next() {
            Some(row) => Some(row?.get(self.prefix_len..).map(<[u8]>::to_vec).unwrap_or_default()),
            None => None,
        };
        Ok(())
    }
}

impl Store {
    /// Visits the entries of `index` in time order from `from` (exclusive;
    /// `None` means from the newest, or from the oldest walking newer),
    /// until `visit` returns false. Rows whose entry is gone or has moved
    /// in time (a stale language row) are skipped.
    pub fn walk(
        &self,
        index: Index<'_>,
        from: Option<&Position>,
        direction: Direction,
        visit: &mut dyn FnMut(Position, Entry) -> bool,
    ) -> Result<(), StoreError> {
        let (tree, prefixes): (&sled::Tree, Vec<Vec<u8>>) = match index {
            Index::All => (&self.by_time, vec![Vec::new()]),
            Index::Parties(parties) => (&self.by_party, parties.iter().map(|p| separated(p.as_str())).collect()),
            Index::Language(lang) => (&self.by_language, vec![separated(lang)]),
        };
        let mut lanes = Vec::with_capacity(prefixes.len());
        for prefix in prefixes {
            let lower = match (direction, from) {
                (Direction::Newer, Some(p)) => Bound::Excluded(joined(&prefix, &p.0)),
                _ => Bound::Included(prefix.clone()),
            };
            let upper = match (direction, from) {
                (Direction::Older, Some(p)) => Bound::Excluded(joined(&prefix, &p.0)),
                _ => match prefix_end(&prefix) {
                    Some(end) => Bound::Excluded(end),
                    None => Bound::Unbounded,
                },
            };
            let range = tree.range::<Vec<u8>, _>((lower, upper)).keys();
            let rows: Box<dyn Iterator<Item = sled::Result<sled::IVec>>> = match direction {
                Direction::Older => Box::new(range.rev()),
                Direction::Newer => Box::new(range),
            };
            let mut lane = Lane { prefix_len: prefix.len(), rows, head: None };
            lane.advance()?;
            lanes.push(lane);
        }
        loop {
            let pick = lanes
                .iter()
                .enumerate()
                .filter_map(|(i, lane)| lane.head.as_ref().map(|h| (i, h)))
                .reduce(|a, b| match direction {
                    Direction::Older if b.1 > a.1 => b,
                    Direction::Newer if b.1 < a.1 => b,
                    _ => a,
                })
                .map(|(i, _)| i);
            let Some(i) = pick else { return Ok(()) };
            let suffix = lanes[i].head.take().unwrap_or_default();
            lanes[i].advance()?;
            let Some(key) = suffix.get(8..) else { continue };
            let Some(bytes) = self.entries.get(key)? else { continue };
            let entry: Entry = decode_entry(&bytes, &String::from_utf8_lossy(key))?;
            let position = Position(suffix);
            if Position::of(&entry) != position {
                continue;
            }
            if !visit(position, entry) {
                return Ok(());
            }
        }
    }

    /// Entries whose language is to be decided: stored or changed since
    /// the last [`Store::set_language`], at most `limit`. The first call on
    /// a store written before the language index existed queues every
    /// entry once.
    pub fn language_pending(&self, limit: usize) -> Result<Vec<Entry>, StoreError> {
        if self.meta.get("language_index")?.is_none() {
            for key in self.entries.iter().keys() {
                let key = key?;
                if let Some(bytes) = self.entries.get(&key)? {
                    let entry: Entry = decode_entry(&bytes, &String::from_utf8_lossy(&key))?;
                    self.language_pending.insert(&key, language_stamp(&entry))?;
                }
            }
            self.meta.insert("language_index", &1u32.to_be_bytes())?;
        }
        let mut out = Vec::new();
        for key in self.language_pending.iter().keys() {
            if out.len() >= limit {
                break;
            }
            let key = key?;
            match self.entries.get(&key)? {
                Some(bytes) => out.push(decode_entry(&bytes, &String::from_utf8_lossy(&key))?),
                None => {
                    self.language_pending.remove(&key)?;
                }
            }
        }
        Ok(out)
    }

    /// Files `entry` under `language` (a lowercase tag) in the language
    /// index, replacing its earlier row, and takes it off the queue unless
    /// it changed again since it was read.
    pub fn set_language(&self, entry: &Entry, language: &str) -> Result<(), StoreError> {
        self.unmark_published()?;
        let key = entry.key.as_str().as_bytes();
        let row = language_row(language, entry);
        let stamp = language_stamp(entry);
        if let Some(old) = self.entry_language.insert(key, row.as_slice())? {
            if old.as_ref() != row.as_slice() {
                self.by_language.remove(&old)?;
                self.changes.note_language_row(&old);
            }
        }
        self.changes.note_language_row(&row);
        self.by_language.insert(row, &[])?;
        let _ = self.language_pending.compare_and_swap(key, Some(stamp), None as Option<&[u8]>)?;
        Ok(())
    }

    /// Every party or language whose documents changed since the last
    /// [`Store::take_changes`]; see [`Changes`].
    pub fn take_changes(&self) -> Changes {
        self.changes.take()
    }

    /// Puts back changes a publish took but could not publish.
    pub fn restore_changes(&self, changes: Changes) {
        self.changes.merge(changes);
    }

    /// The language an entry is filed under, if it has been decided.
    pub fn language_of(&self, key: &EntryKey) -> Result<Option<String>, StoreError> {
        let row = self.entry_language.get(key.as_str())?;
        Ok(row.and_then(|r| r.split(|b| *b == 0).next().map(|l| String::from_utf8_lossy(l).into_owned())))
    }

    /// Every language with at least one filed entry, sorted: one seek per language.
    pub fn languages(&self) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        let mut from: Vec<u8> = Vec::new();
        while let Some(row) = self.by_language.range(from.clone()..).keys().next() {
            let row = row?;
            let Some(end) = row.iter().position(|b| *b == 0) else { break };
            let lang = row[..end].to_vec();
            out.push(String::from_utf8_lossy(&lang).into_owned());
            from = lang;
            from.push(1);
        }
        Ok(out)
    }

    /// Number of entries filed under `language`.
    pub fn count_of_language(&self, language: &str) -> usize {
        self.by_language.scan_prefix(separated(language)).count()
    }
}

/// `entry`'s row in the language index under `language`.
pub(super) fn language_row(language: &str, entry: &Entry) -> Vec<u8> {
    joined(&separated(language), &Position::of(entry).0)
}

/// What changed in the store since a publish took the last changes: the
/// parties with entries stored, changed or removed, and the languages
/// whose index gained or lost rows. `all` after changes that touch
/// everything (an import, a migration). Kept in memory: a process that
/// opens the store publishes everything once anyway.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub all: bool,
    pub parties: std::collections::BTreeSet<PartyId>,
    pub languages: std::collections::BTreeSet<String>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        !self.all && self.parties.is_empty() && self.languages.is_empty()
    }
}

/// [`Changes`] shared by every handle on one store.
#[derive(Clone, Default)]
pub(super) struct ChangeLog(std::sync::Arc<std::sync::Mutex<Changes>>);

impl ChangeLog {
    fn with(&self, f: impl FnOnce(&mut Changes)) {
        // A poisoned log still records: losing a change would leave a feed stale.
        let mut guard = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard);
    }

    pub(super) fn note_party(&self, party: &PartyId) {
        self.with(|c| {
            if !c.parties.contains(party) {
                c.parties.insert(party.clone());
            }
        });
    }

    /// Notes the language of a `by_language` row (`language ‖ 0 ‖ ...`).
    pub(super) fn note_language_row(&self, row: &[u8]) {
        let language = row.split(|b| *b == 0).next().unwrap_or_default();
        let language = String::from_utf8_lossy(language);
        self.with(|c| {
            if !c.languages.contains(language.as_ref()) {
                c.languages.insert(language.into_owned());
            }
        });
    }

    pub(super) fn pending(&self) -> bool {
        let mut pending = false;
        self.with(|c| pending = !c.is_empty());
        pending
    }

    pub(super) fn note_all(&self) {
        self.with(|c| c.all = true);
    }

    fn take(&self) -> Changes {
        let mut taken = Changes::default();
        self.with(|c| taken = std::mem::take(c));
        taken
    }

    fn merge(&self, more: Changes) {
        self.with(|c| {
            c.all |= more.all;
            c.parties.extend(more.parties);
            c.languages.extend(more.languages);
        });
    }
}

/// `name ‖ 0`: the prefix of an index's rows for one party or language.
fn separated(name: &str) -> Vec<u8> {
    let mut prefix = name.as_bytes().to_vec();
    prefix.push(0);
    prefix
}

fn joined(prefix: &[u8], suffix: &[u8]) -> Vec<u8> {
    let mut key = prefix.to_vec();
    key.extend_from_slice(suffix);
    key
}

/// The first key after every key starting with `prefix` (which ends in 0).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let (last, head) = prefix.split_last()?;
    let mut end = head.to_vec();
    end.push(last + 1);
    Some(end)
}
