//! Workloads of the sync family. Filled in with the sync kernels.

use crate::registry::Workload;

pub fn workloads() -> Vec<Workload> {
    Vec::new()
}

pub fn simd_label() -> String {
    format!("simd ({})", benchseal_kernels::simd::SimdLevel::detect())
}
