//! Plenum: a news wire of the world's communist and workers' parties.
//!
//! One pipeline, one direction:
//!
//! ```text
//! config ──> schedule ──> fetch ──> extract ──> normalize ──> store ──> publish ──> serve
//!  (TOML)    (when)      (bytes)   (raw items)  (Entry)      (sled)    (Atom)     (HTTP, files)
//! ```
//!
//! [`poll`] runs one source through fetch → store; [`daemon`] wires the
//! stages into `plenum run` and `plenum poll-once`.

pub mod config;
pub mod daemon;
pub mod extract;
pub mod fetch;
pub mod normalize;
pub mod ops;
pub mod poll;
pub mod publish;
pub mod schedule;
pub mod serve;
pub mod store;

/// Which build of Plenum this process runs: its version and its executable
/// file (size, modification time, inode). Two builds may normalize or render
/// the same input differently, so what lets work be skipped (the item
/// fingerprints of a poll, the marker of published files) is tied to it:
/// after another binary is installed, even of the same version, the first
/// poll reads every item again and renders every document once. `main`
/// reads it first thing, before a package upgrade could replace the file.
pub fn build_id() -> u64 {
    static ID: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *ID.get_or_init(|| {
        // /proc/self/exe is the file this process runs, even once replaced.
        let file = std::fs::metadata("/proc/self/exe").or_else(|_| std::env::current_exe().and_then(std::fs::metadata));
        let stamp = file.map(|m| {
            use std::os::unix::fs::MetadataExt;
            format!("{} {} {} {}", m.len(), m.mtime(), m.mtime_nsec(), m.ino())
        });
        let id = format!("{} {}\n{}", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"), stamp.unwrap_or_default());
        xxhash_rust::xxh3::xxh3_64(id.as_bytes())
    })
}
