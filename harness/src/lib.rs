//! benchseal: a benchmark harness whose numbers can be trusted.
//!
//! The library is built in layers; a module imports only from layers below its own (a test,
//! `layers_import_downward_only`, reads the `use crate::…` lines and fails otherwise):
//!
//! | layer | holds | imports |
//! |---|---|---|
//! | [`model`] | the data: run record, environment snapshot, golden digests, outcomes | nothing of the harness |
//! | [`analysis`] | pure computations on the model: statistics, comparison, SLOs, sign-off derivation, environment checks | `model` |
//! | [`sys`] | the machine: clock, files, child processes, environment capture and pinning, git | `model`, `analysis` |
//! | [`store`] | runs, baselines, golden digests and policies on disk, one loader | the layers above |
//! | [`pipeline`] | a run: selection, digest pass, the engines (wall, instr, process) | the layers above |
//! | [`present`] | numbers, tables, summaries and reports as text | the layers above |
//! | [`app`] | the command line: arguments, commands, exit codes | everything |
//!
//! `docs/architecture.md` says which folder holds which concern and how a record flows
//! from the workload registry to the sign-off report.

pub mod model;

pub mod analysis;

pub mod sys;

pub mod store;

pub mod pipeline;

pub mod present;

pub mod app;

#[cfg(test)]
mod layers;

pub use model::outcome::Outcome;
