//! Canonical URLs (being written).
