//! Instruction-count bench target (gungraun), generated from the workload registry.
fn main() {}
