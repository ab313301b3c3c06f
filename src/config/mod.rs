//! The configuration: one TOML file (plus the files it includes), loaded and
//! checked before anything else runs.
//!
//! `plenum check-config` and start-up both call [`load`], so a config that
//! passes the check is exactly a config the daemon accepts. Every problem is
//! reported as a [`ConfigIssue`] naming the file, line and column, the key,
//! and what is wrong; all problems are collected, not only the first.

mod error;
mod model;
mod raw;

pub use error::{ConfigError, ConfigIssue};
pub use model::{Config, DaemonConfig, Party, PartyId, Source, SourceId, SourceKind};

use std::path::Path;

/// Loads, resolves and validates the config at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    raw::load(path)
}
