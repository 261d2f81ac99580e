//! Workloads of the quant family. Filled in with the quant kernels.

use crate::registry::Workload;

pub fn workloads() -> Vec<Workload> {
    Vec::new()
}

pub fn simd_label() -> String {
    format!("simd ({})", benchseal_kernels::simd::SimdLevel::detect())
}
