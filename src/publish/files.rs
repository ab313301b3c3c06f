//! Static files replaced atomically: a reader sees the old file or the new
//! one, never half of either.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

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
