//! The workload registry: one list of workloads that feeds every engine.
//!
//! A workload is the unit benchseal measures: a stable id `family/kernel/variant/size`, a
//! seeded input, the kernel call, the output bytes that get hashed, and the unit of work
//! that turns a time into a throughput. The digest pass (in the harness), the wall-clock
//! bench target (criterion) and the instruction-count bench target (gungraun) all iterate
//! [`registry()`], so the three kinds of numbers always describe the same work on the same
//! bytes, and no workload is ever listed twice.
//!
//! Each family keeps its workloads' parameters next to the workloads (`codec.rs`,
//! `quant.rs`, `sync.rs`), not in a distant table.

mod codec;
pub mod input;
pub mod protocol;
mod quant;
pub mod registry;
mod roof;
mod sync;

pub use registry::{
    Family, Instance, KernelPath, Parallel, Roof, RoofKind, RunError, Size, Unit, Workload,
    WorkloadId, registry,
};
pub use sync::{PlanTrees, write_plan_trees};
