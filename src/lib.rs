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
