//! Static files replaced atomically: a reader sees the old file or the new
//! one, never half of either.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` via a temporary file in the same directory:
/// write, fsync, rename over the old file, fsync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_if_changed(path, bytes).map(|_| ())
}

/// [`write_atomic`], skipped when the file already holds `bytes`; true
/// when the file was written.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> io::Result<bool> {
    let dir = path.parent().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no directory"))?;
    fs::create_dir_all(dir)?;
    if fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map(|()| true)
}

/// What [`write_batch`] did.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    /// Files whose content changed.
    pub written: Vec<PathBuf>,
    pub failed: Vec<(PathBuf, io::Error)>,
}

/// Replaces many files atomically, each only when its content changed,
/// with one flush of the filesystem for all of them instead of one per
/// file: every changed file is written to a temporary beside it as it is
/// [`Batch::stage`]d, then [`Batch::commit`] syncs the filesystem once
/// (`syncfs`), renames each temporary over its file and syncs each
/// directory. A crash leaves every file old or new, never half of either;
/// a file that cannot be written is reported and the others still are. A
/// batch dropped without commit removes its temporaries.
#[derive(Default)]
pub struct Batch {
    staged: Vec<(PathBuf, PathBuf)>,
    failed: Vec<(PathBuf, io::Error)>,
}

impl Batch {
    /// Writes the temporary for `path`, unless it already holds `bytes`.
    pub fn stage(&mut self, path: &Path, bytes: &[u8]) {
        match stage(path, bytes) {
            Ok(Some(tmp)) => self.staged.push((tmp, path.to_path_buf())),
            Ok(None) => {}
            Err(e) => self.failed.push((path.to_path_buf(), e)),
        }
    }

    /// Puts every staged file in place.
    pub fn commit(mut self) -> BatchOutcome {
        let staged = std::mem::take(&mut self.staged);
        let mut outcome = BatchOutcome { written: Vec::new(), failed: std::mem::take(&mut self.failed) };
        let Some((first, _)) = staged.first() else { return outcome };
        if let Err(e) = File::open(first).and_then(|f| rustix::fs::syncfs(&f).map_err(io::Error::from)) {
            // Without the sync a crash could leave renamed but empty files: replace nothing.
            for (tmp, path) in staged {
                let _ = fs::remove_file(&tmp);
                outcome.failed.push((path, io::Error::new(e.kind(), e.to_string())));
            }
            return outcome;
        }
        let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
        for (tmp, path) in staged {
            match fs::rename(&tmp, &path) {
                Ok(()) => {
                    dirs.extend(path.parent().map(Path::to_path_buf));
                    outcome.written.push(path);
                }
                Err(e) => {
                    let _ = fs::remove_file(&tmp);
                    outcome.failed.push((path, e));
                }
            }
        }
        for dir in dirs {
            if let Err(e) = File::open(&dir).and_then(|d| d.sync_all()) {
                outcome.failed.push((dir, e));
            }
        }
        outcome
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        for (tmp, _) in &self.staged {
            let _ = fs::remove_file(tmp);
        }
    }
}

/// [`Batch`] of `files` at once.
pub fn write_batch(files: &[(PathBuf, &[u8])]) -> BatchOutcome {
    let mut batch = Batch::default();
    for (path, bytes) in files {
        batch.stage(path, bytes);
    }
    batch.commit()
}

/// Writes `bytes` to a temporary beside `path` unless `path` holds them
/// already; the temporary's path, or `None` when nothing changed.
fn stage(path: &Path, bytes: &[u8]) -> io::Result<Option<PathBuf>> {
    let dir = path.parent().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no directory"))?;
    fs::create_dir_all(dir)?;
    // Most changed files change length: compare the bytes only when it is the same.
    if fs::metadata(path).is_ok_and(|m| m.len() == bytes.len() as u64) && fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(None);
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let written = File::create(&tmp).and_then(|mut file| file.write_all(bytes));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(Some(tmp))
}

/// Removes temporary files (`.name.tmp-PID`) that a killed Plenum left in
/// `dir` and below: a write interrupted by a crash never replaced its
/// target, so the file is garbage. Files of this process are kept.
pub fn remove_stale_temporaries(dir: &Path) -> usize {
    let mine = format!(".tmp-{}", std::process::id());
    let mut removed = 0;
    let Ok(entries) = fs::read_dir(dir) else { return 0 };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            removed += remove_stale_temporaries(&path);
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.contains(".tmp-") && !name.ends_with(&mine) && fs::remove_file(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_temporaries_of_other_processes_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("parties")).unwrap();
        fs::write(dir.path().join(".feed.atom.tmp-1"), "half").unwrap();
        fs::write(dir.path().join("parties").join(".pcp.atom.tmp-2"), "half").unwrap();
        let mine = dir.path().join(format!(".x.tmp-{}", std::process::id()));
        fs::write(&mine, "in progress").unwrap();
        fs::write(dir.path().join("feed.atom"), "whole").unwrap();
        assert_eq!(remove_stale_temporaries(dir.path()), 2);
        assert!(mine.exists() && dir.path().join("feed.atom").exists());
    }

    #[test]
    fn a_batch_replaces_what_changed_and_reports_what_it_could_not_write() {
        let dir = tempfile::tempdir().unwrap();
        let (same, changed, new) =
            (dir.path().join("same.atom"), dir.path().join("changed.atom"), dir.path().join("parties").join("new.atom"));
        fs::write(&same, "same").unwrap();
        fs::write(&changed, "old").unwrap();
        // A directory where a file's directory should be: that file cannot be written.
        fs::write(dir.path().join("blocked"), "a file").unwrap();
        let blocked = dir.path().join("blocked").join("x.atom");
        let files: Vec<(PathBuf, &[u8])> =
            vec![(same.clone(), b"same"), (changed.clone(), b"new content"), (new.clone(), b"fresh"), (blocked.clone(), b"lost")];
        let outcome = write_batch(&files);
        assert_eq!(outcome.written, [changed.clone(), new.clone()]);
        assert_eq!(outcome.failed.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>(), [blocked]);
        assert_eq!(
            (fs::read(&same).unwrap(), fs::read(&changed).unwrap(), fs::read(&new).unwrap()),
            (b"same".to_vec(), b"new content".to_vec(), b"fresh".to_vec())
        );
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn replaces_content_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("parties").join("pcp.atom");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["pcp.atom"]);
    }
}
