//! End-to-end tests of benchseal in one test binary: the CLI as a user meets it (through the
//! built `benchseal` executable), the library on fixtures, and packaging. Each module covers
//! one area; `support` holds what they share.
//!
//! The CLI tests run `target/<profile>/benchseal`: build it first (`cargo build -p benchseal`,
//! or `cargo test --workspace`, which builds it through the harness's own binary test).

mod support;

mod baseline_cli;
mod cli;
mod codec_cli;
mod compare_cli;
mod digests_cli;
mod env;
mod env_cli;
mod fleet_cli;
mod fleet_signoff;
mod measure;
mod packaging;
mod paired;
mod preconditions;
mod run;
mod run_record;
mod scaling;
mod signoff;
mod signoff_formats;
mod slo;
mod sync_cli;
mod verify;
