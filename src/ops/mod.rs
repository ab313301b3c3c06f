//! Running as a service: shutdown on signals, systemd notification, health,
//! metrics.

pub mod backup;
pub mod health;
pub mod memory;
pub mod metrics;
pub mod notify;
pub mod retention;
pub mod shutdown;
