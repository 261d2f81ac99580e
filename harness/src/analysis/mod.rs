//! Pure computations on the model: values in, values out, no files, clock or processes
//! (which is what lets them be property-tested). Statistics, the comparison of two runs,
//! SLO parsing and evaluation, the sign-off derivation, history and change points, the
//! checks `verify` makes, and what an environment snapshot means.

pub mod callgrind;
pub mod compare;
pub mod env;
#[cfg(any(test, feature = "fixture"))]
pub mod fixture;
pub mod fleet;
pub mod format;
pub mod history;
pub mod merge;
pub mod names;
pub mod projection;
pub mod replicates;
pub mod roof;
pub mod scaling;
pub mod signoff;
pub mod slo;
pub mod stats;
pub mod verify;
