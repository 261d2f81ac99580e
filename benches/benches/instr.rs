//! Instruction-count bench target (gungraun), generated from the workload registry.
//!
//! One gungraun library benchmark with one case per (workload, path), built with
//! `#[benches::cases(iter = ...)]` over [`support::selected_cases`]. The iterator is
//! evaluated again in every valgrind child, so the variables that choose the cases are
//! passed through to it (gungraun clears the environment otherwise) and case `i` means the
//! same workload and path everywhere; `benchseal run` maps summaries back by that index.
//! Only the kernel call is counted: input generation runs in the setup function, and the
//! prepared instance is returned from the benchmark so that freeing it is not counted
//! either. Default tiers: tiny and small (valgrind slows code about 50x).

mod support;

use std::hint::black_box;

use benchseal_benches::{Instance, KernelPath, Size};
use gungraun::{LibraryBenchmarkConfig, library_benchmark, library_benchmark_group, main};
use support::{CASES_VAR, selected_cases};

/// The keys of the cases, in the order gungraun numbers them.
fn case_keys() -> Vec<String> {
    selected_cases(&[Size::Tiny, Size::Small])
        .iter()
        .map(|c| c.key())
        .collect()
}

/// A case ready to run: built outside the counted region.
struct Prepared {
    key: String,
    instance: Box<dyn Instance>,
    path: KernelPath,
}

fn prepare(key: String) -> Option<Prepared> {
    let case = selected_cases(&[Size::Tiny, Size::Small])
        .into_iter()
        .find(|c| c.key() == key)?;
    match case.prepare() {
        Ok(Some(instance)) => Some(Prepared {
            key,
            instance,
            path: case.path,
        }),
        Ok(None) => None,
        Err(err) => {
            eprintln!("benchseal: {err}");
            std::process::exit(1)
        }
    }
}

#[library_benchmark]
#[benches::cases(iter = case_keys(), setup = prepare)]
fn kernel(prepared: Option<Prepared>) -> Option<Prepared> {
    let mut prepared = prepared?;
    if let Err(err) = black_box(&mut prepared.instance).run(black_box(prepared.path)) {
        eprintln!("benchseal: {}: {err}", prepared.key);
        std::process::exit(1);
    }
    Some(prepared)
}

library_benchmark_group!(name = registry_cases, benchmarks = [kernel]);

main!(
    config = LibraryBenchmarkConfig::default()
        .pass_through_envs([CASES_VAR, "BENCHSEAL_SIMD_LEVEL"]);
    library_benchmark_groups = registry_cases
);
