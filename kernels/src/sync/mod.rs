//! Repository sync kernels (docs/architecture.md, "Kernels / sync"): what a synchronisation tool does for
//! every file it touches.
//!
//! - [`detect`]: is a file text or binary? Extension lists first, then a content sample.
//! - [`compare`]: are two buffers equal; if not, where is the first difference and which
//!   lines changed?
//! - [`plan`]: given a source and a target tree on disk, the ordered list of create /
//!   update / delete / unchanged actions that would make the target equal the source.
//! - [`cache`]: a size-bounded TTL cache with injectable time.
//!
//! `detect` and `compare` are byte kernels with a scalar oracle and an explicit SIMD path
//! (AVX-512BW or AVX2, chosen once by [`crate::simd::SimdLevel::detect`]); property tests
//! hold the fast paths to the oracle's exact result. `plan` is file-system bound: its
//! fast path saves system calls and uses every core, and tests hold it to a one-thread
//! `std::fs` oracle (`plan::plan_oracle`). `cache` is hash-table bound and has one
//! implementation: there is no vector fast path to pretend about.

pub mod cache;
pub mod compare;
pub mod detect;
pub mod plan;
