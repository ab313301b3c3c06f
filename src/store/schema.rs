//! Which layout a store on disk has, and bringing it to this build's.
//!
//! `meta.schema_version` names the layout. A store without one is either
//! new (no entries, no sources: it gets [`SCHEMA_VERSION`]) or was written
//! before versions existed (version 0). Opening a store at version `v` below
//! [`SCHEMA_VERSION`] runs [`MIGRATIONS`]`[v..]` in order; each step writes
//! its version and flushes when it is done, so a crash mid-way reruns only
//! the unfinished step (every step must be safe to run twice). A version
//! above [`SCHEMA_VERSION`] is refused: an older Plenum must not misread a
//! newer store.
//!
//! sled can panic on some damaged files instead of returning an error;
//! [`without_panics`] is the boundary that turns that into
//! [`StoreError::Damaged`], naming the path and what to do.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::Once;

use chrono::Utc;
use tracing::{info, warn};

use super::{alias_key, decode_entry, encode_entry, language_stamp, party_key, time_key, Store, StoreError, ENTRY_FORMAT};
use crate::normalize::{story, text};

/// The store layout this build reads and writes.
pub const SCHEMA_VERSION: u32 = 2;

/// One step: brings a store from version `i` (its index here) to `i + 1`.
type Migration = fn(&Store) -> Result<(), StoreError>;

/// `MIGRATIONS[v]` migrates version `v` to `v + 1`, with a line for the log.
const MIGRATIONS: [(&str, Migration); SCHEMA_VERSION as usize] = [
    ("v0 → v1: rebuild the time, party, link and language indexes from the entries", rebuild_indexes),
    ("v1 → v2: store entries compressed, and recompute their text sketches", reencode_entries),
];

/// The store's version: stored, or inferred for a store that has none.
fn stored_version(store: &Store) -> Result<Option<u32>, StoreError> {
    match store.meta.get("schema_version")? {
        Some(v) => {
            let bytes: [u8; 4] =
                v.as_ref().try_into().map_err(|_| StoreError::Corrupt { what: "schema_version".into(), cause: "not 4 bytes".into() })?;
            Ok(Some(u32::from_be_bytes(bytes)))
        }
        None if store.entries.is_empty() && store.sources.is_empty() => Ok(None),
        None => Ok(Some(0)),
    }
}

fn write_version(store: &Store, version: u32) -> Result<(), StoreError> {
    store.meta.insert("schema_version", &version.to_be_bytes())?;
    store.db.flush()?;
    Ok(())
}

/// A file beside sled's, written once a store is stamped: sled reads a
/// truncated or overwritten log as an empty store without complaint, and
/// this is how Plenum tells "new" from "lost".
pub const MARKER_FILE: &str = "PLENUM_STORE";

fn write_marker(dir: &Path) -> Result<(), StoreError> {
    let text = "A Plenum store. Back it up with `plenum export`; do not edit these files.\n";
    std::fs::write(dir.join(MARKER_FILE), text)
        .map_err(|e| StoreError::Open { path: dir.to_path_buf(), cause: format!("cannot write {MARKER_FILE}: {e}") })
}

/// Stamps a new store, refuses a newer or a damaged one, migrates an older one.
pub(super) fn check_and_migrate(store: &Store, dir: &Path) -> Result<(), StoreError> {
    let marked = dir.join(MARKER_FILE).exists();
    let Some(found) = stored_version(store)? else {
        if marked {
            let cause = if store.db.was_recovered() {
                "sled read its files as an empty store: they are truncated or overwritten"
            } else {
                "sled's files are missing"
            };
            return Err(StoreError::Damaged { path: dir.to_path_buf(), cause: cause.to_string() });
        }
        store.meta.insert("created", &Utc::now().timestamp_millis().to_be_bytes())?;
        // Empty, so nothing to queue for the language index.
        store.meta.insert("language_index", &1u32.to_be_bytes())?;
        write_version(store, SCHEMA_VERSION)?;
        return write_marker(dir);
    };
    if !marked {
        write_marker(dir)?;
    }
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew { path: dir.to_path_buf(), found });
    }
    if found < SCHEMA_VERSION {
        // Files published from the old layout do not vouch for the new one.
        store.meta.remove("published")?;
    }
    for version in found..SCHEMA_VERSION {
        let (what, step) = MIGRATIONS[version as usize];
        info!(store = %dir.display(), "migrating the store: {what}");
        step(store).map_err(|e| StoreError::Migration { path: dir.to_path_buf(), from: version, cause: e.to_string() })?;
        write_version(store, version + 1)?;
    }
    if store.meta.get("created")?.is_none() {
        store.meta.insert("created", &Utc::now().timestamp_millis().to_be_bytes())?;
    }
    Ok(())
}

/// Rewrites every index from `entries`: `by_time`, `by_party`, `aliases`
/// (a link belongs to the entry first seen with it), `by_language` from the
/// languages kept in `entry_language` (re-dated to the entry's time), and
/// queues entries without a language. Safe to run twice. Used by migration
/// and by import, which writes only entries, languages and sources.
pub(super) fn rebuild_indexes(store: &Store) -> Result<(), StoreError> {
    store.by_time.clear()?;
    store.by_party.clear()?;
    store.aliases.clear()?;
    store.by_language.clear()?;
    store.language_pending.clear()?;
    for row in store.entries.iter() {
        let (key, bytes) = row?;
        let entry = decode_entry(&bytes, &String::from_utf8_lossy(&key))?;
        store.by_time.insert(time_key(&entry), &[])?;
        store.by_party.insert(party_key(&entry), &[])?;
        if let Some(link) = &entry.canonical_link {
            let alias = alias_key(entry.party.as_str(), link);
            let claimed_earlier = match store.aliases.get(&alias)? {
                Some(holder) => match store.entries.get(&holder)? {
                    Some(other) => decode_entry(&other, &String::from_utf8_lossy(&holder))?.first_seen <= entry.first_seen,
                    None => false,
                },
                None => false,
            };
            if !claimed_earlier {
                store.aliases.insert(alias, key.as_ref())?;
            }
        }
        match store.entry_language.get(&key)? {
            Some(row) => {
                let language = row.split(|b| *b == 0).next().unwrap_or_default();
                let mut fresh = language.to_vec();
                fresh.push(0);
                fresh.extend_from_slice(&time_key(&entry));
                store.by_language.insert(fresh.as_slice(), &[])?;
                store.entry_language.insert(&key, fresh)?;
            }
            None => {
                store.language_pending.insert(&key, language_stamp(&entry))?;
            }
        }
    }
    // Languages of entries that are gone.
    for key in store.entry_language.iter().keys() {
        let key = key?;
        if !store.entries.contains_key(&key)? {
            store.entry_language.remove(&key)?;
        }
    }
    store.meta.insert("language_index", &1u32.to_be_bytes())?;
    store.changes.note_all();
    Ok(())
}

/// Rewrites every entry still in JSON in the compressed format, with its
/// sketch recomputed by this build's [`story::text_sketch`] (the function
/// changed with the format, and sketches are compared across versions).
/// Safe to run twice: entries already converted are skipped.
fn reencode_entries(store: &Store) -> Result<(), StoreError> {
    let mut converted = 0usize;
    for row in store.entries.iter() {
        let (key, bytes) = row?;
        if bytes.first() == Some(&ENTRY_FORMAT) {
            continue;
        }
        let mut entry = decode_entry(&bytes, &String::from_utf8_lossy(&key))?;
        let text = entry.content.as_deref().or(entry.summary.as_deref()).map(text::from_sanitized).unwrap_or_default();
        entry.sketch = story::text_sketch(&text);
        store.entries.insert(&key, encode_entry(&entry)?)?;
        converted += 1;
    }
    info!(entries = converted, "entries converted");
    store.changes.note_all();
    Ok(())
}

thread_local! {
    /// Set while this thread runs sled behind [`without_panics`]: its panics
    /// are reported as errors, so the default hook must not print them.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `open` (sled work on the store at `dir`), turning a panic inside it
/// into [`StoreError::Damaged`].
pub(super) fn without_panics<T>(dir: &Path, open: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
    static QUIET_HOOK: Once = Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !CATCHING.with(Cell::get) {
                previous(info);
            }
        }));
    });
    CATCHING.with(|c| c.set(true));
    let outcome = panic::catch_unwind(AssertUnwindSafe(open));
    CATCHING.with(|c| c.set(false));
    outcome.unwrap_or_else(|payload| {
        let cause = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "sled stopped on unreadable data".to_string());
        warn!(store = %dir.display(), cause, "the store could not be read");
        Err(StoreError::Damaged { path: dir.to_path_buf(), cause: format!("sled stopped reading it: {cause}") })
    })
}
