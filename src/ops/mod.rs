//! Running as a service: shutdown on signals.

pub mod shutdown;
