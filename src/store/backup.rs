//! The store as JSON Lines, and back: what `plenum export`, `import` and
//! `compact` move.
//!
//! An export is one JSON object per line, each tagged by `record`:
//! - first a `header` (`format`, `version`, the store's `schema_version`,
//!   `exported_at`, and how many `entries` and `sources` follow, so a
//!   truncated file is refused instead of half-loaded);
//! - then every `entry` in key order: the stored [`Entry`] fields, plus
//!   `filed_language`, the language the publisher filed it under;
//! - then every `source` in id order: its id and [`SourceState`]
//!   (validators, failure and backoff state, a moved address), so a moved
//!   Plenum neither refetches everything nor forgets a `410 Gone`.
//!
//! Indexes are not exported: [`Store::import`] rebuilds them all from the
//! entries. Tombstones and the retention fence are not either: the next
//! prune sets them again.
//!
//! `plenum compact` swaps a compacted copy in with two renames; if Plenum
//! stops between them, [`finish_interrupted_compaction`] completes the swap
//! at the next open.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{decode, decode_entry, encode_entry, schema, SourceState, Store, StoreError, SCHEMA_VERSION};
use crate::config::SourceId;
use crate::normalize::Entry;

/// The `format` of every export's header.
pub const EXPORT_FORMAT: &str = "plenum-export";
/// The export layout this build writes and reads.
pub const EXPORT_VERSION: u32 = 1;
/// Entries written per sled batch on import.
const IMPORT_BATCH: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the export: {0}")]
    Write(std::io::Error),
    #[error("cannot read the export at line {line}: {cause}")]
    Read { line: usize, cause: String },
    #[error("line {line} is not a Plenum export record: {cause}")]
    Record { line: usize, cause: String },
    #[error("this is not a Plenum export (its first line must be a `{EXPORT_FORMAT}` header)")]
    NotAnExport,
    #[error("the export has version {0}, newer than this Plenum reads ({EXPORT_VERSION}); import it with a newer Plenum")]
    TooNew(u32),
    #[error("the export is incomplete: its header announces {expected_entries} entries and {expected_sources} sources, the file holds {entries} and {sources}; it was cut short (export again)")]
    Incomplete { expected_entries: u64, expected_sources: u64, entries: u64, sources: u64 },
    #[error("the store is not empty ({entries} entries, {sources} sources): import only loads into an empty store; give it a new data_dir, or move the old one aside")]
    NotEmpty { entries: usize, sources: usize },
}

/// One line of an export.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
enum Record {
    Header(Header),
    Entry(ExportedEntry),
    Source(ExportedSource),
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    schema_version: u32,
    exported_at: DateTime<Utc>,
    entries: u64,
    sources: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct ExportedEntry {
    #[serde(flatten)]
    entry: Entry,
    /// The language the entry is filed under (`None`: not decided yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    filed_language: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ExportedSource {
    id: SourceId,
    #[serde(flatten)]
    state: SourceState,
}

/// What an export wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportSummary {
    pub entries: u64,
    pub sources: u64,
}

/// What an import loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportSummary {
    pub entries: u64,
    pub sources: u64,
}

impl Store {
    /// Writes the store to `out` as JSON Lines (see the module doc), in a
    /// stable order: the same store always gives the same lines after the
    /// header.
    pub fn export(&self, out: &mut dyn Write) -> Result<ExportSummary, BackupError> {
        let header = Header {
            format: EXPORT_FORMAT.to_string(),
            version: EXPORT_VERSION,
            schema_version: SCHEMA_VERSION,
            exported_at: Utc::now(),
            entries: self.entries.len() as u64,
            sources: self.sources.len() as u64,
        };
        let (expected_entries, expected_sources) = (header.entries, header.sources);
        write_line(out, &Record::Header(header))?;
        let mut summary = ExportSummary { entries: 0, sources: 0 };
        for row in self.entries.iter() {
            let (key, bytes) = row.map_err(StoreError::Io)?;
            let entry: Entry = decode_entry(&bytes, &String::from_utf8_lossy(&key))?;
            let filed_language = self.language_of(&entry.key)?;
            write_line(out, &Record::Entry(ExportedEntry { entry, filed_language }))?;
            summary.entries += 1;
        }
        for row in self.sources.iter() {
            let (id, bytes) = row.map_err(StoreError::Io)?;
            let id = String::from_utf8_lossy(&id).into_owned();
            let state: SourceState = decode(&bytes, &id)?;
            let id: SourceId = serde_json::from_value(serde_json::Value::String(id.clone()))
                .map_err(|e| StoreError::Corrupt { what: format!("source id {id}"), cause: e.to_string() })?;
            write_line(out, &Record::Source(ExportedSource { id, state }))?;
            summary.sources += 1;
        }
        out.flush().map_err(BackupError::Write)?;
        if (summary.entries, summary.sources) != (expected_entries, expected_sources) {
            // Only this process can write the store while it is open; a
            // mismatch means sled counted wrong, and the header would lie.
            return Err(BackupError::Store(StoreError::Corrupt {
                what: "export".into(),
                cause: format!("counted {expected_entries} entries but read {}", summary.entries),
            }));
        }
        Ok(summary)
    }

    /// Loads an export into this store, which must be empty, and rebuilds
    /// every index. On an error the store holds part of the file: load
    /// into a store made for the purpose (as `plenum import` does) and
    /// throw it away on failure.
    pub fn import(&self, input: &mut dyn BufRead) -> Result<ImportSummary, BackupError> {
        if !self.entries.is_empty() || !self.sources.is_empty() {
            return Err(BackupError::NotEmpty { entries: self.entries.len(), sources: self.sources.len() });
        }
        self.unmark_published()?;
        self.recount();
        let mut header: Option<Header> = None;
        let mut summary = ImportSummary { entries: 0, sources: 0 };
        let mut entries = sled::Batch::default();
        let mut languages = sled::Batch::default();
        let mut pending = 0;
        let mut text = String::new();
        let mut line = 0;
        loop {
            text.clear();
            line += 1;
            let read = input.read_line(&mut text).map_err(|e| BackupError::Read { line, cause: e.to_string() })?;
            if read == 0 {
                break;
            }
            if text.trim().is_empty() {
                continue;
            }
            let record: Record = match serde_json::from_str(&text) {
                Ok(record) => record,
                Err(_) if header.is_none() => return Err(BackupError::NotAnExport),
                Err(e) => return Err(BackupError::Record { line, cause: e.to_string() }),
            };
            match (record, &header) {
                (Record::Header(h), None) => {
                    if h.format != EXPORT_FORMAT {
                        return Err(BackupError::NotAnExport);
                    }
                    if h.version > EXPORT_VERSION {
                        return Err(BackupError::TooNew(h.version));
                    }
                    header = Some(h);
                }
                (_, None) => return Err(BackupError::NotAnExport),
                (Record::Header(_), Some(_)) => return Err(BackupError::Record { line, cause: "a second header".into() }),
                (Record::Entry(ExportedEntry { entry, filed_language }), Some(_)) => {
                    if entry.key.party() != entry.party.as_str() {
                        return Err(BackupError::Record {
                            line,
                            cause: format!("entry key {} does not belong to party {}", entry.key, entry.party),
                        });
                    }
                    let value = encode_entry(&entry).map_err(|e| BackupError::Record { line, cause: e.to_string() })?;
                    entries.insert(entry.key.as_str().as_bytes(), value);
                    if let Some(language) = filed_language.filter(|l| !l.is_empty() && !l.contains('\0')) {
                        // A placeholder row; rebuilding the indexes dates it.
                        let mut row = language.into_bytes();
                        row.push(0);
                        languages.insert(entry.key.as_str().as_bytes(), row);
                    }
                    summary.entries += 1;
                    pending += 1;
                    if pending >= IMPORT_BATCH {
                        self.entries.apply_batch(std::mem::take(&mut entries)).map_err(StoreError::Io)?;
                        self.entry_language.apply_batch(std::mem::take(&mut languages)).map_err(StoreError::Io)?;
                        pending = 0;
                    }
                }
                (Record::Source(ExportedSource { id, state }), Some(_)) => {
                    self.put_source_state(&id, &state)?;
                    summary.sources += 1;
                }
            }
        }
        self.entries.apply_batch(entries).map_err(StoreError::Io)?;
        self.entry_language.apply_batch(languages).map_err(StoreError::Io)?;
        let Some(header) = header else { return Err(BackupError::NotAnExport) };
        if (summary.entries, summary.sources) != (header.entries, header.sources) {
            return Err(BackupError::Incomplete {
                expected_entries: header.entries,
                expected_sources: header.sources,
                entries: summary.entries,
                sources: summary.sources,
            });
        }
        schema::rebuild_indexes(self)?;
        self.recount();
        self.db.flush().map_err(StoreError::Io)?;
        Ok(summary)
    }
}

fn write_line(out: &mut dyn Write, record: &Record) -> Result<(), BackupError> {
    serde_json::to_writer(&mut *out, record).map_err(|e| BackupError::Write(e.into()))?;
    out.write_all(b"\n").map_err(BackupError::Write)
}

/// `dir` with `suffix` appended to its last component: a sibling folder,
/// so renames between them stay on one file system.
pub fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "data".into());
    name.push(suffix);
    dir.with_file_name(name)
}

/// A complete compacted copy waiting beside `dir`: `plenum compact` renames
/// it to `dir` once `dir` is out of the way.
pub fn compacted_dir(dir: &Path) -> PathBuf {
    sibling(dir, ".compacted")
}

/// Where `plenum compact` moves the old store until the new one is in place.
pub fn pre_compact_dir(dir: &Path) -> PathBuf {
    sibling(dir, ".pre-compact")
}

/// Completes a `plenum compact` that stopped after moving the old store
/// aside and before moving the compacted copy in: `dir` is missing and a
/// complete copy waits beside it.
pub(super) fn finish_interrupted_compaction(dir: &Path) -> Result<(), StoreError> {
    let compacted = compacted_dir(dir);
    if !dir.exists() && compacted.is_dir() {
        tracing::warn!(store = %dir.display(), "a `plenum compact` was interrupted; moving its finished copy into place");
        std::fs::rename(&compacted, dir).map_err(|e| StoreError::Open {
            path: dir.to_path_buf(),
            cause: format!("cannot move the compacted store {} into place: {e}; rename it by hand", compacted.display()),
        })?;
    }
    Ok(())
}
