//! `plenum export`, `import` and `compact`: moving the store through files,
//! safely. The record format is [`crate::store::backup`]'s.
//!
//! - **export** writes to `FILE.partial`, fsyncs, renames: a reader never
//!   sees half an export under the final name. Without a file, stdout.
//! - **import** loads into a fresh store beside `data_dir`
//!   (`<data_dir>.importing`) and renames it into place only when complete,
//!   so a bad file leaves nothing behind. `data_dir` must hold no store or
//!   an empty one.
//! - **compact** exports to `<data_dir>.compact.jsonl`, imports that into
//!   `<data_dir>.compact-tmp`, renames it `<data_dir>.compacted` (complete),
//!   moves the old store to `<data_dir>.pre-compact`, the new one to
//!   `data_dir`, and only then deletes the old store and the file. A stop
//!   between the two renames is finished by the next open of the store.
//!
//! All three open the store, so they refuse to run beside the daemon.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::store::backup::{compacted_dir, pre_compact_dir, sibling};
use crate::store::{BackupError, ExportSummary, ImportSummary, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum OpsBackupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("export to {path}: {source}")]
    Export { path: PathBuf, source: BackupError },
    #[error("import of {path}: {source}")]
    Import { path: PathBuf, source: BackupError },
    #[error("cannot import into {data_dir}: it already holds {entries} entries and {sources} sources. Import loads only into an empty store: set another data_dir, or move this one aside (mv {data_dir} {data_dir}.old) and import again")]
    NotEmpty { data_dir: PathBuf, entries: usize, sources: usize },
    #[error("{path}: {cause}")]
    File { path: PathBuf, cause: String },
}

/// What `plenum compact` did; sizes are the store's files, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct CompactReport {
    pub entries: u64,
    pub sources: u64,
    pub bytes_before: u64,
    pub bytes_after: u64,
}

fn file_error(path: &Path, e: impl std::fmt::Display) -> OpsBackupError {
    OpsBackupError::File { path: path.to_path_buf(), cause: e.to_string() }
}

/// `plenum export [FILE]`: every entry and source, to `file` or stdout.
pub fn export(config: &Config, file: Option<&Path>) -> Result<ExportSummary, OpsBackupError> {
    let store = Store::open(&config.daemon.data_dir)?;
    match file {
        Some(path) => export_to_file(&store, path),
        None => {
            let stdout = std::io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            store.export(&mut out).map_err(|source| OpsBackupError::Export { path: PathBuf::from("stdout"), source })
        }
    }
}

/// Writes the export next to `path`, fsyncs it, renames it to `path`.
fn export_to_file(store: &Store, path: &Path) -> Result<ExportSummary, OpsBackupError> {
    let partial = sibling(path, ".partial");
    let file = File::create(&partial).map_err(|e| file_error(&partial, e))?;
    let mut out = BufWriter::new(file);
    let summary = match store.export(&mut out) {
        Ok(summary) => summary,
        Err(source) => {
            let _ = std::fs::remove_file(&partial);
            return Err(OpsBackupError::Export { path: path.to_path_buf(), source });
        }
    };
    let file = out.into_inner().map_err(|e| file_error(&partial, e.error()))?;
    file.sync_all().map_err(|e| file_error(&partial, e))?;
    std::fs::rename(&partial, path).map_err(|e| file_error(path, e))?;
    Ok(summary)
}

/// `plenum import FILE`: into `data_dir`, which must hold no store or an empty one.
pub fn import(config: &Config, file: &Path) -> Result<ImportSummary, OpsBackupError> {
    let data_dir = &config.daemon.data_dir;
    if data_dir.exists() {
        // Opening takes the lock (so a running daemon is refused) and tells an empty store.
        let existing = Store::open(data_dir)?;
        let (entries, sources) = (existing.len(), existing.source_count());
        if entries > 0 || sources > 0 {
            return Err(OpsBackupError::NotEmpty { data_dir: data_dir.clone(), entries, sources });
        }
    }
    let staging = sibling(data_dir, ".importing");
    let summary = load_into_fresh(file, &staging)?;
    if data_dir.exists() {
        // An empty store (checked above); the loaded one replaces it.
        std::fs::remove_dir_all(data_dir).map_err(|e| file_error(data_dir, e))?;
    }
    std::fs::rename(&staging, data_dir).map_err(|e| file_error(data_dir, e))?;
    Ok(summary)
}

/// Imports `file` into a new store at `dir` (removed first if a previous
/// attempt left it; removed again if this one fails), flushed and closed.
fn load_into_fresh(file: &Path, dir: &Path) -> Result<ImportSummary, OpsBackupError> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| file_error(dir, e))?;
    }
    let input = File::open(file).map_err(|e| file_error(file, e))?;
    let outcome = Store::open(dir).map_err(OpsBackupError::Store).and_then(|store| {
        let summary =
            store.import(&mut BufReader::new(input)).map_err(|source| OpsBackupError::Import { path: file.to_path_buf(), source })?;
        store.flush_blocking()?;
        Ok(summary)
    });
    if outcome.is_err() {
        let _ = std::fs::remove_dir_all(dir);
    }
    outcome
}

/// `plenum compact`: rewrites the store offline (see the module doc).
pub fn compact(config: &Config) -> Result<CompactReport, OpsBackupError> {
    let data_dir = &config.daemon.data_dir;
    let dump = sibling(data_dir, ".compact.jsonl");
    let building = sibling(data_dir, ".compact-tmp");
    let (compacted, old) = (compacted_dir(data_dir), pre_compact_dir(data_dir));
    for leftover in [&compacted, &old] {
        if leftover.exists() {
            std::fs::remove_dir_all(leftover).map_err(|e| file_error(leftover, e))?;
        }
    }
    let (exported, bytes_before) = {
        let store = Store::open(data_dir)?;
        (export_to_file(&store, &dump)?, dir_size(data_dir))
        // The store closes here; the lock goes with it.
    };
    let imported = load_into_fresh(&dump, &building)?;
    if (imported.entries, imported.sources) != (exported.entries, exported.sources) {
        let _ = std::fs::remove_dir_all(&building);
        return Err(file_error(&building, "the compacted copy does not hold what was exported; the store is unchanged"));
    }
    let bytes_after = dir_size(&building);
    std::fs::rename(&building, &compacted).map_err(|e| file_error(&compacted, e))?;
    std::fs::rename(data_dir, &old).map_err(|e| file_error(data_dir, e))?;
    std::fs::rename(&compacted, data_dir).map_err(|e| file_error(data_dir, e))?;
    sync_dir(data_dir.parent().unwrap_or(Path::new(".")));
    std::fs::remove_dir_all(&old).map_err(|e| file_error(&old, e))?;
    std::fs::remove_file(&dump).map_err(|e| file_error(&dump, e))?;
    Ok(CompactReport { entries: exported.entries, sources: exported.sources, bytes_before, bytes_after })
}

/// Makes renames in `dir` durable (best effort: not every system allows it).
fn sync_dir(dir: &Path) {
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
}

/// Total bytes of the files under `dir` (what `du` would count, roughly).
pub fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
