//! The shared real-world corpus (`../shared/corpus`, or `$PLENUM_SHARED/corpus`).

use std::path::{Path, PathBuf};

pub fn root() -> PathBuf {
    std::env::var_os("PLENUM_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"))
        .join("corpus")
}

/// Every feed-like file under the corpus, sorted (feed-rs's expected-output
/// `.serde.json` files left out).
pub fn feed_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if matches!(path.extension().and_then(|e| e.to_str()), Some("xml" | "json" | "rdf" | "atom" | "rss"))
                && !path.to_string_lossy().ends_with(".serde.json")
            {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root(), &mut out);
    out.sort();
    out
}
