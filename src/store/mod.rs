//! The store: every entry Plenum has seen, in sled under `data_dir`.
//!
//! Trees:
//! - `entries`: `EntryKey` → [`Entry`] (JSON).
//! - `by_time`: `published (big-endian ms) ‖ EntryKey` → `()`, for the merged feed.
//! - `by_party`: `party ‖ 0 ‖ published ‖ EntryKey` → `()`, for per-party feeds.
//! - `aliases`: `party ‖ 0 ‖ canonical link` → `EntryKey`: the same story
//!   reached under another identity (another source of the party, or a
//!   feed that rotates its ids) is found by its link.
//! - `sources`: `SourceId` → [`SourceState`] (JSON).
//! - `by_language`: `language ‖ 0 ‖ published ‖ EntryKey` → `()`, for
//!   per-language feeds; written by [`Store::set_language`] (the language
//!   is decided by the publisher), kept in `entry_language`: `EntryKey` →
//!   its `by_language` row, so a re-dated entry's old row is removed.
//! - `language_pending`: `EntryKey` → `published ‖ content_hash` of entries
//!   stored or changed since their language was last decided; written in
//!   the upsert transaction, consumed by [`Store::set_language`].
//! - `pruned`: `EntryKey` → `published ‖ pruned at` of entries removed by
//!   `max_entries_per_party`, so a source still listing them does not bring
//!   them back as new ([`retention`]).
//! - `meta`: `schema_version`, `created`, `language_index`, `retention_fence`,
//!   `published` (see [`Store::published_marker`]).
//!
//! Files in this folder: [`schema`] (versions, migrations, opening safely),
//! [`retention`] (pruning), [`backup`] (export and import as JSON Lines),
//! `query.rs` (index walks for publishing), `state.rs` (per-source state).
//!
//! An entry and its index rows change in one transaction, so a crash never
//! leaves an index pointing at nothing. Nothing is durable until
//! [`Store::flush`]; callers flush after each poll's batch and before
//! publishing, so a published entry is always on disk.
//!
//! All sled use lives here, so the store's behaviour is tested in one place.

pub mod backup;
pub mod retention;
mod schema;
mod state;

pub use backup::{BackupError, ExportSummary, ImportSummary};
pub use retention::{PruneReport, RetentionPolicy};
pub use schema::SCHEMA_VERSION;
pub use state::{PollStatus, SourceState};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};

use crate::config::{PartyId, SourceId};
use crate::normalize::{Entry, EntryKey};

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    New,
    Updated,
    Unchanged,
}

/// How an upserted item matched what was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matched {
    /// By its identity (or not at all: a new entry).
    Identity,
    /// By its link, under another identity, from the same source: the
    /// source rotated the item's id.
    LinkSameSource,
    /// By its link, from another source of the party.
    LinkOtherSource,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the store at {path} is in use by another Plenum process (is the daemon running? stop it, or use the running daemon); {cause}"
    )]
    Locked { path: PathBuf, cause: String },
    #[error("cannot open the store at {path}: {cause}. If it is damaged, move it aside and restore from a backup")]
    Open { path: PathBuf, cause: String },
    #[error(
        "the store at {path} is damaged ({cause}). Move it aside (mv {path} {path}.damaged), then restore the last backup with `plenum import FILE` (written by `plenum export`), or start empty and let the next polls refill it"
    )]
    Damaged { path: PathBuf, cause: String },
    #[error("cannot migrate the store at {path} from schema version {from}: {cause}. Plenum left it as it was; restore a backup (`plenum import`) or report this")]
    Migration { path: PathBuf, from: u32, cause: String },
    #[error("the store at {path} has schema version {found}, newer than this Plenum understands ({SCHEMA_VERSION}); upgrade Plenum")]
    TooNew { path: PathBuf, found: u32 },
    #[error("store I/O error: {0}")]
    Io(#[from] sled::Error),
    #[error("a stored record is damaged ({what}): {cause}")]
    Corrupt { what: String, cause: String },
}

/// A handle on the open store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    entries: sled::Tree,
    by_time: sled::Tree,
    by_party: sled::Tree,
    aliases: sled::Tree,
    sources: sled::Tree,
    meta: sled::Tree,
    by_language: sled::Tree,
    entry_language: sled::Tree,
    language_pending: sled::Tree,
    pruned: sled::Tree,
    /// What publishing has not yet seen (in memory, shared by clones).
    changes: query::ChangeLog,
    /// Serializes [`Store::upsert_batch`] per party.
    party_locks: PartyLocks,
    /// `meta.published`: see [`Store::published_marker`].
    marker: Arc<PublishedMarker>,
    /// How many entries are stored, once counted ([`Store::len`]): sled
    /// counts by reading every record. Held while entries are added or
    /// removed, so the count and the tree move together.
    entry_count: Arc<std::sync::Mutex<Option<usize>>>,
}

/// What `meta.published` held when the store was opened, and whether it is
/// still on disk.
#[derive(Default)]
struct PublishedMarker {
    at_open: Option<Vec<u8>>,
    on_disk: std::sync::atomic::AtomicBool,
    removing: std::sync::Mutex<()>,
}

/// A fixed set of locks; a party always maps to the same one.
#[derive(Clone)]
struct PartyLocks(std::sync::Arc<Vec<std::sync::Mutex<()>>>);

impl Default for PartyLocks {
    fn default() -> Self {
        PartyLocks(std::sync::Arc::new((0..32).map(|_| std::sync::Mutex::new(())).collect()))
    }
}

impl PartyLocks {
    fn stripe(&self, party: &PartyId) -> usize {
        (xxhash_rust::xxh3::xxh3_64(party.as_str().as_bytes()) % self.0.len() as u64) as usize
    }

    fn lock(&self, stripe: usize) -> std::sync::MutexGuard<'_, ()> {
        // The lock guards no data: a panic elsewhere leaves nothing inconsistent.
        self.0[stripe].lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Store {
    /// Opens (or creates) the store in `dir`: finishes a `plenum compact`
    /// that was interrupted between its renames, refuses a store in use or
    /// written by a newer Plenum, turns damage (even a panic inside sled)
    /// into [`StoreError::Damaged`], and migrates an older layout.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Store::open_with_cache(dir, DEFAULT_CACHE_BYTES)
    }

    /// [`Store::open`] with sled's page cache at `cache_bytes`
    /// (`store_cache_mb`): the stored pages it keeps in memory.
    pub fn open_with_cache(dir: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        backup::finish_interrupted_compaction(dir)?;
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Open { path: dir.to_path_buf(), cause: e.to_string() })?;
        let mut store = Store::open_trees_waiting(dir, cache_bytes)?;
        schema::without_panics(dir, || schema::check_and_migrate(&store, dir))?;
        let found = store.meta.get("published")?.map(|v| v.to_vec());
        let on_disk = found.is_some().into();
        store.marker = Arc::new(PublishedMarker { at_open: found, on_disk, ..PublishedMarker::default() });
        Ok(store)
    }

    /// [`Store::open_trees`], waiting up to a second for a lock held by a
    /// handle of this process that was just dropped: sled's flusher thread
    /// lets go of the files a moment after the last handle.
    fn open_trees_waiting(dir: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        let mut attempts = 0;
        loop {
            match schema::without_panics(dir, || Store::open_trees(dir, cache_bytes)) {
                Err(StoreError::Locked { .. }) if attempts < 20 => {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                outcome => return outcome,
            }
        }
    }

    fn open_trees(dir: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        let db = sled::Config::new().path(dir).cache_capacity(cache_bytes).flush_every_ms(Some(1000)).open().map_err(|e| {
            let cause = e.to_string();
            if cause.contains("lock") || cause.contains("WouldBlock") || cause.contains("Resource temporarily unavailable") {
                StoreError::Locked { path: dir.to_path_buf(), cause }
            } else if matches!(e, sled::Error::Corruption { .. } | sled::Error::Unsupported(_))
                || matches!(&e, sled::Error::Io(io) if matches!(io.kind(), std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof))
            {
                StoreError::Damaged { path: dir.to_path_buf(), cause }
            } else {
                StoreError::Open { path: dir.to_path_buf(), cause }
            }
        })?;
        let damaged = |e: sled::Error| StoreError::Damaged { path: dir.to_path_buf(), cause: e.to_string() };
        let tree = |name: &str| db.open_tree(name).map_err(damaged);
        Ok(Store {
            entries: tree("entries")?,
            by_time: tree("by_time")?,
            by_party: tree("by_party")?,
            aliases: tree("aliases")?,
            sources: tree("sources")?,
            meta: tree("meta")?,
            by_language: tree("by_language")?,
            entry_language: tree("entry_language")?,
            language_pending: tree("language_pending")?,
            pruned: tree("pruned")?,
            changes: query::ChangeLog::default(),
            party_locks: PartyLocks::default(),
            marker: Arc::default(),
            entry_count: Arc::default(),
            db,
        })
    }

    /// The marker of the publish whose files showed every entry of this
    /// store when it was opened ([`Store::mark_published`] by the process
    /// before), or `None`: the files may be behind the store, or published
    /// by another build or config. `poll-once` renders only what it changed
    /// when the marker matches its own.
    pub fn published_marker(&self) -> Option<&[u8]> {
        self.marker.at_open.as_deref()
    }

    /// Records that the files published under `marker` show every entry
    /// stored so far; durable with the next flush. Only a caller that knows
    /// nothing changed since that publish may say so (see
    /// [`Store::has_unpublished_changes`]).
    pub fn mark_published(&self, marker: &[u8]) -> Result<(), StoreError> {
        let _one_at_a_time = self.marker.removing.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.meta.insert("published", marker)?;
        self.marker.on_disk.store(true, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    /// Removes the published marker from disk, durably, before the first
    /// change to what documents show: whatever is changed then is never
    /// taken for published, even by a process that stops before its own
    /// publish. Free once the marker is gone.
    fn unmark_published(&self) -> Result<(), StoreError> {
        use std::sync::atomic::Ordering;
        if !self.marker.on_disk.load(Ordering::Acquire) {
            return Ok(());
        }
        let _one_at_a_time = self.marker.removing.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.marker.on_disk.load(Ordering::Acquire) {
            self.meta.remove("published")?;
            self.db.flush()?;
            self.marker.on_disk.store(false, Ordering::Release);
        }
        Ok(())
    }

    /// Whether changes wait for a publish (see [`Store::take_changes`]).
    pub fn has_unpublished_changes(&self) -> bool {
        self.changes.pending()
    }

    /// When the store was created: the `updated` of a feed with no entries.
    pub fn created(&self) -> DateTime<Utc> {
        let millis = self.meta.get("created").ok().flatten().and_then(|v| v.as_ref().try_into().ok()).map(i64::from_be_bytes);
        millis.and_then(|m| Utc.timestamp_millis_opt(m).single()).unwrap_or(DateTime::UNIX_EPOCH)
    }

    /// Stores `entry`; see [`Store::upsert_batch`]. Its language is queued
    /// for the publisher to decide.
    pub fn upsert(&self, entry: Entry, now: DateTime<Utc>, by_link: bool) -> Result<(Upsert, Matched), StoreError> {
        let outcome = self.upsert_batch(vec![(entry, by_link)], now, None)?;
        Ok(outcome.into_iter().next().unwrap_or((Upsert::Unchanged, Matched::Identity)))
    }

    /// Stores a poll's entries in one transaction, in order, and says for
    /// each what happened. An entry is new, or it matches a stored entry
    /// (or one earlier in the batch) by its identity or, when its `by_link`
    /// flag allows (see [`Matched`]), by its canonical link. A match from
    /// the entry's own source replaces its text when the text changed
    /// (`updated` moves to `now`, or the source's later date; the
    /// `atom:id`, first-seen time and a guessed date stay). A match from
    /// another source only adds that source and fills what the entry lacks,
    /// so two sources with different excerpts never flip-flop an entry. An
    /// entry that retention pruned (see [`Store::prune`]) is not stored
    /// again while its source still lists it: that is `Unchanged`.
    ///
    /// `language` files each written version under the language it returns
    /// in the same transaction; without it the version is queued for
    /// [`Store::set_language`].
    pub fn upsert_batch(
        &self,
        batch: Vec<(Entry, bool)>,
        now: DateTime<Utc>,
        language: Option<&dyn Fn(&Entry) -> String>,
    ) -> Result<Vec<(Upsert, Matched)>, StoreError> {
        // Reading what is stored and writing the batch must not interleave
        // with another batch of the same party (another source delivering the
        // same story at the same moment): both would find it new, and the
        // second would overwrite the first. Parties' batches serialize on a
        // striped lock, taken in stripe order.
        let mut stripes: Vec<usize> = batch.iter().map(|(e, _)| self.party_locks.stripe(&e.party)).collect();
        stripes.sort_unstable();
        stripes.dedup();
        let _guards: Vec<_> = stripes.iter().map(|&i| self.party_locks.lock(i)).collect();
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut writes: Vec<Write> = Vec::new();
        // What this batch wrote so far, seen by its later entries.
        let mut written: HashMap<EntryKey, Entry> = HashMap::new();
        let mut claimed: HashMap<Vec<u8>, EntryKey> = HashMap::new();
        // Noted as changed once stored: a publish that took the changes
        // before the transaction must not take this one with them.
        let mut changed_parties: Vec<PartyId> = Vec::new();
        let lookup = |key: &EntryKey, written: &HashMap<EntryKey, Entry>| -> Result<Option<Entry>, StoreError> {
            match written.get(key) {
                Some(entry) => Ok(Some(entry.clone())),
                None => self.get(key),
            }
        };
        for (mut entry, by_link) in batch {
            let mut target = entry.key.clone();
            let mut old = lookup(&target, &written)?;
            let mut matched = Matched::Identity;
            let alias = entry.canonical_link.as_ref().filter(|_| by_link).map(|link| alias_key(entry.party.as_str(), link));
            if old.is_none() {
                if let Some(alias) = &alias {
                    let holder = match claimed.get(alias) {
                        Some(key) => Some(key.clone()),
                        None => self.aliases.get(alias)?.map(|key| EntryKey::from_stored(&String::from_utf8_lossy(&key))),
                    };
                    if let Some(found) = holder.map(|key| lookup(&key, &written)).transpose()?.flatten() {
                        matched = if found.sources.contains(&entry.source) || found.source == entry.source {
                            Matched::LinkSameSource
                        } else {
                            Matched::LinkOtherSource
                        };
                        target = found.key.clone();
                        old = Some(found);
                    }
                }
            }
            if old.is_none() && self.was_pruned(&entry, now)? {
                // Retention removed it; the source still lists it. Not new again.
                outcomes.push((Upsert::Unchanged, matched));
                continue;
            }
            let (outcome, write) = match &old {
                None => {
                    entry.sources = vec![entry.source.clone()];
                    (Upsert::New, entry)
                }
                Some(old) => match merge(old, entry, now) {
                    Some((outcome, merged)) => (outcome, merged),
                    None => {
                        outcomes.push((Upsert::Unchanged, matched));
                        continue;
                    }
                },
            };
            let new_alias = alias.filter(|a| outcome == Upsert::New && !claimed.contains_key(a));
            if let Some(alias) = &new_alias {
                claimed.insert(alias.clone(), target.clone());
            }
            writes.push(Write {
                key: target.as_str().as_bytes().to_vec(),
                value: encode_entry(&write)?,
                old_index: old.as_ref().map(|o| (time_key(o), party_key(o))),
                new_index: (time_key(&write), party_key(&write)),
                alias: new_alias,
                language: language.map(|decide| query::language_row(&decide(&write), &write)),
                stamp: language_stamp(&write),
            });
            if outcome != Upsert::Unchanged {
                changed_parties.push(write.party.clone());
            }
            written.insert(target, write);
            outcomes.push((outcome, matched));
        }
        if writes.is_empty() {
            return Ok(outcomes);
        }
        self.unmark_published()?;
        let mut count = self.lock_entry_count();
        let trees =
            (&self.entries, &self.by_time, &self.by_party, &self.aliases, &self.language_pending, &self.entry_language, &self.by_language);
        // What the transaction found: entries it added (not there before:
        // a prune may have removed one read as stored), languages it dropped.
        let result: Result<(usize, Vec<Vec<u8>>), TransactionError<()>> =
            trees.transaction(|(entries, by_time, by_party, aliases, language_pending, entry_language, by_language)| {
                let mut dropped_languages = Vec::new();
                let mut added = 0;
                for w in &writes {
                    if let Some((t, p)) = &w.old_index {
                        by_time.remove(t.as_slice())?;
                        by_party.remove(p.as_slice())?;
                    }
                    if entries.insert(w.key.as_slice(), w.value.as_slice())?.is_none() {
                        added += 1;
                    }
                    by_time.insert(w.new_index.0.as_slice(), &[])?;
                    by_party.insert(w.new_index.1.as_slice(), &[])?;
                    match &w.language {
                        Some(row) => {
                            if let Some(old) = entry_language.insert(w.key.as_slice(), row.as_slice())? {
                                if old.as_ref() != row.as_slice() {
                                    by_language.remove(old.as_ref())?;
                                    dropped_languages.push(old.to_vec());
                                }
                            }
                            by_language.insert(row.as_slice(), &[])?;
                            if w.old_index.is_some() {
                                // An earlier version may still be queued.
                                language_pending.remove(w.key.as_slice())?;
                            }
                        }
                        None => {
                            language_pending.insert(w.key.as_slice(), w.stamp.as_slice())?;
                        }
                    }
                    if let Some(alias) = &w.alias {
                        // The first entry to claim a link keeps it.
                        if aliases.get(alias.as_slice())?.is_none() {
                            aliases.insert(alias.as_slice(), w.key.as_slice())?;
                        }
                    }
                }
                Ok::<_, ConflictableTransactionError<()>>((added, dropped_languages))
            });
        let (added, dropped) = result.map_err(|e| match e {
            TransactionError::Storage(e) => StoreError::Io(e),
            TransactionError::Abort(()) => StoreError::Corrupt { what: "transaction".into(), cause: "aborted".into() },
        })?;
        if let Some(n) = count.as_mut() {
            *n += added;
        }
        drop(count);
        for party in &changed_parties {
            self.changes.note_party(party);
        }
        for row in dropped.iter().chain(writes.iter().filter_map(|w| w.language.as_ref())) {
            self.changes.note_language_row(row);
        }
        Ok(outcomes)
    }

    pub fn get(&self, key: &EntryKey) -> Result<Option<Entry>, StoreError> {
        self.entries.get(key.as_str())?.map(|b| decode_entry(&b, key.as_str())).transpose()
    }

    /// The newest `limit` entries of all parties, newest first.
    pub fn newest(&self, limit: usize) -> Result<Vec<Entry>, StoreError> {
        self.resolve(self.by_time.iter().keys().rev(), 8, limit)
    }

    /// The newest `limit` entries of `party`, newest first.
    pub fn newest_of_party(&self, party: &PartyId, limit: usize) -> Result<Vec<Entry>, StoreError> {
        let mut prefix = party.as_str().as_bytes().to_vec();
        prefix.push(0);
        let skip = prefix.len() + 8;
        self.resolve(self.by_party.scan_prefix(&prefix).keys().rev(), skip, limit)
    }

    /// Index keys (a fixed-length prefix, then the entry key) to entries.
    fn resolve(&self, keys: impl Iterator<Item = sled::Result<sled::IVec>>, skip: usize, limit: usize) -> Result<Vec<Entry>, StoreError> {
        let mut out = Vec::with_capacity(limit.min(1024));
        for key in keys {
            if out.len() >= limit {
                break;
            }
            let key = key?;
            let Some(entry_key) = key.get(skip..) else { continue };
            if let Some(bytes) = self.entries.get(entry_key)? {
                out.push(decode_entry(&bytes, &String::from_utf8_lossy(entry_key))?);
            }
        }
        Ok(out)
    }

    /// Number of entries stored.
    /// Counted once per process (reading every record), then kept.
    pub fn len(&self) -> usize {
        let mut count = self.lock_entry_count();
        *count.get_or_insert_with(|| self.entries.len())
    }

    fn lock_entry_count(&self) -> std::sync::MutexGuard<'_, Option<usize>> {
        // A count is only a number: a panic elsewhere leaves it usable.
        self.entry_count.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Forget the count: the next [`Store::len`] counts again.
    fn recount(&self) {
        *self.lock_entry_count() = None;
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of sources with stored state.
    pub fn source_count(&self) -> usize {
        self.sources.len()
    }

    /// Number of entries stored for `party`.
    pub fn count_of_party(&self, party: &PartyId) -> usize {
        let mut prefix = party.as_str().as_bytes().to_vec();
        prefix.push(0);
        self.by_party.scan_prefix(prefix).count()
    }

    pub fn source_state(&self, id: &SourceId) -> Result<SourceState, StoreError> {
        match self.sources.get(id.as_str())? {
            Some(bytes) => decode(&bytes, id.as_str()),
            None => Ok(SourceState::default()),
        }
    }

    pub fn put_source_state(&self, id: &SourceId, state: &SourceState) -> Result<(), StoreError> {
        let value = serde_json::to_vec(state).map_err(|e| StoreError::Corrupt { what: id.to_string(), cause: e.to_string() })?;
        self.sources.insert(id.as_str(), value)?;
        Ok(())
    }

    /// Proves the store takes writes (for `/healthz`): writes and flushes a probe key.
    pub fn probe_write(&self) -> Result<(), StoreError> {
        self.meta.insert("health_probe", &Utc::now().timestamp_millis().to_be_bytes())?;
        self.db.flush()?;
        Ok(())
    }

    /// Bytes the store takes on disk.
    pub fn disk_bytes(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }

    /// Bytes the store takes on disk (sled's own count of its files).
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }

    /// Makes everything written so far durable.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.db.flush_async().await?;
        Ok(())
    }

    /// Blocking flush, for shutdown paths outside a runtime.
    pub fn flush_blocking(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }
}

/// `old` updated by `new`: `None` when nothing needs writing.
fn merge(old: &Entry, new: Entry, now: DateTime<Utc>) -> Option<(Upsert, Entry)> {
    let mut merged = old.clone();
    let mut sources_changed = false;
    if !merged.sources.contains(&new.source) {
        merged.sources.push(new.source.clone());
        sources_changed = true;
    }
    if new.source == old.source {
        let last_sent = if old.source_hash.is_empty() { &old.content_hash } else { &old.source_hash };
        if new.source_hash == *last_sent {
            return sources_changed.then_some((Upsert::Unchanged, merged));
        }
        let published = if new.date_guessed { old.published } else { new.published };
        merged = Entry {
            key: old.key.clone(),
            atom_id: old.atom_id.clone(),
            first_seen: old.first_seen,
            sources: merged.sources,
            published,
            date_guessed: old.date_guessed && new.date_guessed,
            updated: new.updated.max(now).max(old.updated),
            // What another source filled in stays until the owner sends its own.
            summary: new.summary.or(merged.summary),
            content: new.content.or(merged.content),
            ..new
        };
        merged.content_hash = crate::normalize::identity::content_hash(
            &merged.title,
            merged.link.as_deref(),
            merged.summary.as_deref(),
            merged.content.as_deref(),
        );
        return Some((Upsert::Updated, merged));
    }
    // Another source of the party: fill gaps only.
    let mut filled = false;
    if merged.summary.is_none() && new.summary.is_some() {
        merged.summary = new.summary;
        filled = true;
    }
    if merged.content.is_none() && new.content.is_some() {
        merged.content = new.content;
        filled = true;
    }
    if merged.link.is_none() && new.link.is_some() {
        merged.link = new.link;
        merged.canonical_link = new.canonical_link;
        filled = true;
    }
    if merged.date_guessed && !new.date_guessed {
        merged.published = new.published;
        merged.date_guessed = false;
        filled = true;
    }
    if filled {
        merged.content_hash = crate::normalize::identity::content_hash(
            &merged.title,
            merged.link.as_deref(),
            merged.summary.as_deref(),
            merged.content.as_deref(),
        );
        if merged.sketch.is_empty() {
            merged.sketch = new.sketch;
        }
        merged.updated = now.max(old.updated);
        return Some((Upsert::Updated, merged));
    }
    sources_changed.then_some((Upsert::Unchanged, merged))
}

fn alias_key(party: &str, canonical_link: &str) -> Vec<u8> {
    let mut key = party.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(canonical_link.as_bytes());
    key
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt { what: what.to_string(), cause: e.to_string() })
}

/// sled's page cache when the config does not say (`store_cache_mb`).
pub const DEFAULT_CACHE_BYTES: u64 = 8 * 1024 * 1024;

/// The first byte of an entry record since schema 2: the rest is the
/// entry in postcard, lz4-compressed with its length before it. Records of
/// schema 1 are JSON (first byte `{`) and are still read.
const ENTRY_FORMAT: u8 = 2;
/// A record claiming to unpack to more than this is damaged.
const MAX_RECORD_BYTES: usize = 64 * 1024 * 1024;

/// Records up to this size are decompressed into a buffer kept per thread
/// ([`decode_entry`]); a larger one gets its own, so no thread keeps one.
const REUSED_BUFFER_BYTES: usize = 1024 * 1024;

/// One write of [`Store::upsert_batch`], prepared outside its transaction.
struct Write {
    key: Vec<u8>,
    value: Vec<u8>,
    old_index: Option<(Vec<u8>, Vec<u8>)>,
    new_index: (Vec<u8>, Vec<u8>),
    alias: Option<Vec<u8>>,
    /// The `by_language` row, when the language was decided.
    language: Option<Vec<u8>>,
    stamp: Vec<u8>,
}

/// An entry as stored: a compact binary form, compressed (its HTML is most
/// of it), about a quarter of its JSON.
fn encode_entry(entry: &Entry) -> Result<Vec<u8>, StoreError> {
    let plain = postcard::to_allocvec(entry).map_err(|e| StoreError::Corrupt { what: entry.key.to_string(), cause: e.to_string() })?;
    let mut out = vec![ENTRY_FORMAT];
    out.extend_from_slice(&lz4_flex::compress_prepend_size(&plain));
    Ok(out)
}

/// Reads an entry record of either format.
fn decode_entry(bytes: &[u8], what: &str) -> Result<Entry, StoreError> {
    let corrupt = |cause: String| StoreError::Corrupt { what: what.to_string(), cause };
    match bytes.split_first() {
        Some((&ENTRY_FORMAT, packed)) => {
            let Some((size, compressed)) = packed.split_first_chunk::<4>() else {
                return Err(corrupt("record cut short".into()));
            };
            let size = u32::from_le_bytes(*size) as usize;
            if size > MAX_RECORD_BYTES {
                return Err(corrupt(format!("record claims {size} bytes")));
            }
            // Publishing decodes every entry of every document: a buffer
            // kept per thread spares an allocation (zeroed) per record.
            thread_local! {
                static PLAIN: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::default();
            }
            let decode = |plain: &mut Vec<u8>| {
                // Grown only: a smaller record leaves the buffer's length, so
                // a larger one after it is not zeroed again.
                if plain.len() < size {
                    plain.resize(size, 0);
                }
                let written = lz4_flex::block::decompress_into(compressed, &mut plain[..size]).map_err(|e| corrupt(e.to_string()))?;
                postcard::from_bytes(&plain[..written]).map_err(|e| corrupt(e.to_string()))
            };
            if size <= REUSED_BUFFER_BYTES {
                PLAIN.with_borrow_mut(decode)
            } else {
                decode(&mut Vec::new())
            }
        }
        _ => decode(bytes, what),
    }
}

/// Sort key: milliseconds since 1970 with the sign bit flipped, so byte order is time order.
fn sortable_time(t: DateTime<Utc>) -> [u8; 8] {
    ((t.timestamp_millis() as u64) ^ (1 << 63)).to_be_bytes()
}

fn time_key(entry: &Entry) -> Vec<u8> {
    let mut key = sortable_time(entry.published).to_vec();
    key.extend_from_slice(entry.key.as_str().as_bytes());
    key
}

fn party_key(entry: &Entry) -> Vec<u8> {
    let mut key = entry.party.as_str().as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&sortable_time(entry.published));
    key.extend_from_slice(entry.key.as_str().as_bytes());
    key
}

#[cfg(test)]
mod tests;

/// What the language queue remembers of an entry: its time and content, so
/// a language decided on an older version does not clear a newer one.
fn language_stamp(entry: &Entry) -> Vec<u8> {
    let mut stamp = sortable_time(entry.published).to_vec();
    stamp.extend_from_slice(entry.content_hash.as_bytes());
    stamp
}

mod query;
pub use query::{Changes, Direction, Index, Position};
