//! The data benchseal reads and writes, and nothing else: run records, environment
//! snapshots, golden digests, the canonical JSON and SHA-256 they are sealed with, and the
//! outcomes commands end with. Imports nothing of the harness.

pub mod digest;
pub mod env;
pub mod golden;
pub mod outcome;
pub mod record;
