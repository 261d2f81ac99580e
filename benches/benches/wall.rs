//! Wall-clock bench target (criterion), generated from the workload registry.
fn main() {}
