//! Compute kernels that benchseal measures.
//!
//! Every kernel comes as a plain scalar *oracle*, written to be obviously right, and a
//! fast path (explicit SIMD behind run-time CPU detection). The fast path is chosen once
//! per process ([`simd::SimdLevel::detect`]) and the choice is reported, because a number
//! is only meaningful together with the code path that produced it. Tests hold every
//! fast path to byte-identical output with its oracle.
//!
//! This crate does no I/O policy and has no CLI: callers hand it bytes (or, for the sync
//! family, paths) and get typed results or typed errors back. Kernels never panic on data.

pub mod codec;
pub mod quant;
pub mod roof;
pub mod simd;
pub mod sync;

#[cfg(feature = "cuda")]
pub mod gpu;
