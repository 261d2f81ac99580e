//! Instruction-count bench target (gungraun), generated from the workload registry.
//!
//! One gungraun library benchmark with one case per (workload, path), built with
//! `#[benches::cases(iter = ...)]` over the indices of [`support::selected_cases`]. The
//! iterator is evaluated again in every valgrind child, so the variables that choose the
//! cases are passed through to it (gungraun clears the environment otherwise) and case `i`
//! means the same workload and path everywhere; `benchseal run` maps summaries back by that
//! index. The child builds only its own case ([`support::case_at`]), so a case counts the
//! same instructions whichever other cases the run selected.
//! Only the kernel call is counted: input generation runs in the setup function, and the
//! prepared instance is returned from the benchmark so that freeing it is not counted
//! either. Default tiers: tiny and small (valgrind slows code about 50x).

mod support;

use std::hint::black_box;

use benchseal_benches::protocol::LABELS_VAR;
use benchseal_benches::registry::path_label;
use benchseal_benches::{Instance, KernelPath, Size};
use gungraun::{
    Callgrind, LibraryBenchmarkConfig, library_benchmark, library_benchmark_group, main,
};
use support::{CASES_VAR, Case, case_at, case_count};

/// The cases gungraun numbers: `0..n`, which allocates nothing.
fn case_indices() -> std::ops::Range<usize> {
    0..case_count(SIZES)
}

/// The tiers run without [`CASES_VAR`].
const SIZES: &[Size] = &[Size::Tiny, Size::Small];

/// A case ready to run: built outside the counted region.
struct Prepared {
    key: String,
    instance: Box<dyn Instance>,
    path: KernelPath,
}

/// Writes the path label this process sees for `case` into the [`LABELS_VAR`] directory.
/// Computed here, under valgrind, because valgrind hides AVX-512: the `simd` path runs
/// the AVX2 code and the harness process, which sees AVX-512, would name it wrongly.
fn write_label(case: &Case) {
    let Some(dir) = std::env::var_os(LABELS_VAR) else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let label = path_label(case.workload.id.family, case.path);
    let doc = serde_json::json!({ "case": case.key(), "label": label });
    let file = dir.join(format!("{}.json", case.key().replace(['/', '@'], "_")));
    if let Err(err) =
        std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&file, doc.to_string()))
    {
        eprintln!("benchseal: writing {}: {err}", file.display());
        std::process::exit(1);
    }
}

fn prepare(index: usize) -> Option<Prepared> {
    let case = case_at(SIZES, index)?;
    let key = case.key();
    write_label(&case);
    // Threads started and joined would make the count vary between runs.
    match case.prepare(true) {
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
#[benches::cases(iter = case_indices(), setup = prepare)]
fn kernel(prepared: Option<Prepared>) -> Option<Prepared> {
    let mut prepared = prepared?;
    if let Err(err) = black_box(&mut prepared.instance).run(black_box(prepared.path)) {
        eprintln!("benchseal: {}: {err}", prepared.key);
        std::process::exit(1);
    }
    Some(prepared)
}

library_benchmark_group!(name = registry_cases, benchmarks = [kernel]);

// Branch simulation beside gungraun's cache simulation: conditional and indirect branches
// and their simulated mispredictions (`Bc`, `Bcm`, `Bi`, `Bim`), which say whether a kernel
// is bound by branches rather than by memory or arithmetic. Instruction counts are
// unchanged by it.
main!(
    config = LibraryBenchmarkConfig::default()
        .pass_through_envs([CASES_VAR, LABELS_VAR, "BENCHSEAL_SIMD_LEVEL"])
        .tool(Callgrind::with_args(["--branch-sim=yes"]));
    library_benchmark_groups = registry_cases
);
