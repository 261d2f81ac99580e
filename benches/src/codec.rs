//! Workloads of the codec family. Filled in with the codec kernels.

use crate::registry::Workload;

pub fn workloads() -> Vec<Workload> {
    Vec::new()
}

pub fn simd_label() -> String {
    format!("simd ({})", benchseal_kernels::simd::SimdLevel::detect())
}
