//! What every integration test needs to drive the real `plenum` binary from
//! the outside, the way an operator would.
//!
//! - `fixture_server`: a local HTTP server that plays the parties' websites:
//!   routes changeable at runtime, conditional GET, a log of every request.
//! - `plenum`: a sandbox (config + data + output in a `TempDir`), running
//!   `plenum <command>` with a time limit, and a running `plenum run` daemon.
//! - `http`: a tiny HTTP/1.1 client over `TcpStream`, to look at the daemon's
//!   responses byte for byte (status, headers, whether a body was sent).
//! - `logfmt`: the one-line-per-source report printed by `poll-once`.
//! - `atom`: reading the published Atom with a real parser, and what a reader
//!   would see of a text construct.
//! - `parties`: the fixture feeds, the parties that publish them, and what
//!   each fixture is expected to yield.

// Each test crate uses only part of this toolbox.
#![allow(dead_code)]

pub mod atom;
pub mod corpus;
pub mod fixture_server;
pub mod http;
pub mod logfmt;
pub mod parties;
pub mod plenum;
