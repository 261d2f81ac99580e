//! What the two bench targets share: which (workload, path) cases to run.
//!
//! `benchseal run` decides the cases (after its digest pass has proven each one produces
//! the golden output) and hands them over in `BENCHSEAL_CASES` as a comma-separated list of
//! `workload-id@path`. Both targets resolve that list against the same [`registry()`], so a
//! case is never described twice, and the instr target's case *index* means the same thing
//! in the harness, in gungraun's runner process and in the child valgrind runs.
//!
//! Without the variable (a plain `cargo bench`), every registered workload of the target's
//! default size tiers runs on every path it registers; paths that turn out unavailable
//! here (no CUDA device) are skipped with a note.

#![allow(dead_code)] // each target uses its own part

use benchseal_benches::protocol::{case_key, parse_case_list, split_case_key};
use benchseal_benches::{Instance, KernelPath, RunError, Size, Workload, registry};

pub use benchseal_benches::protocol::CASES_VAR;

/// One workload on one path.
pub struct Case {
    pub workload: Workload,
    pub path: KernelPath,
}

impl Case {
    /// `workload-id@path`, the form used in [`CASES_VAR`].
    pub fn key(&self) -> String {
        case_key(&self.workload.id, self.path)
    }

    /// Builds the instance and checks that the path can run here. `Ok(None)`: the path is
    /// unavailable on this machine (the reason is printed). With `calling_thread_only`
    /// the kernel is asked to start no threads ([`Instance::stay_on_calling_thread`])
    /// before its first run: a thread started once leaves state behind (a malloc arena of
    /// its own) that changes the instructions of later runs.
    pub fn prepare(&self, calling_thread_only: bool) -> Result<Option<Box<dyn Instance>>, String> {
        let mut instance = self.workload.setup()?;
        if calling_thread_only {
            instance.stay_on_calling_thread();
        }
        match instance.run(self.path) {
            Ok(()) => Ok(Some(instance)),
            Err(RunError::Unavailable(why)) => {
                eprintln!("benchseal: {}: skipped ({why})", self.key());
                Ok(None)
            }
            Err(RunError::Failed(why)) => Err(format!("{}: {why}", self.key())),
        }
    }
}

/// The cases to run: from [`CASES_VAR`] when set, else the default tiers. A malformed list
/// ends the process with exit status 2 and a message naming the bad entry.
pub fn selected_cases(default_sizes: &[Size]) -> Vec<Case> {
    match std::env::var(CASES_VAR) {
        Ok(list) => parse_cases(&list).unwrap_or_else(|err| {
            eprintln!("benchseal: {CASES_VAR}: {err}");
            std::process::exit(2)
        }),
        Err(_) => registry()
            .into_iter()
            .filter(|w| default_sizes.contains(&w.id.size))
            .flat_map(|w| {
                w.paths.clone().into_iter().map(move |path| Case {
                    workload: w.clone(),
                    path,
                })
            })
            .collect(),
    }
}

fn parse_cases(list: &str) -> Result<Vec<Case>, String> {
    let all = registry();
    parse_case_list(list)
        .map(|entry| parse_case(&all, entry))
        .collect()
}

fn parse_case(all: &[Workload], entry: &str) -> Result<Case, String> {
    let (id, path) = split_case_key(entry)
        .ok_or_else(|| format!("`{entry}` is not of the form workload-id@path"))?;
    let path: KernelPath = path.parse()?;
    let workload = all
        .iter()
        .find(|w| w.id.to_string() == id)
        .ok_or_else(|| format!("unknown workload `{id}`"))?;
    if !workload.paths.contains(&path) {
        return Err(format!("workload `{id}` has no {path} path"));
    }
    Ok(Case {
        workload: workload.clone(),
        path,
    })
}

/// How many cases [`selected_cases`] returns, counted without building them.
pub fn case_count(default_sizes: &[Size]) -> usize {
    match std::env::var(CASES_VAR) {
        Ok(list) => parse_case_list(&list).count(),
        Err(_) => selected_cases(default_sizes).len(),
    }
}

/// Case `index` of [`selected_cases`], built alone: nothing else of the selection is
/// allocated, so what the process holds on its heap when the case is prepared (and where
/// the kernel's buffers land) does not depend on which other cases were selected. A
/// callgrind count moves by a few instructions with that placement; this keeps a case's
/// count the same in a shard, under a `--workload` filter and in a full run. A malformed
/// entry ends the process with exit status 2.
pub fn case_at(default_sizes: &[Size], index: usize) -> Option<Case> {
    match std::env::var(CASES_VAR) {
        Ok(list) => {
            let entry = parse_case_list(&list).nth(index)?;
            let case = parse_case(&registry(), entry).unwrap_or_else(|err| {
                eprintln!("benchseal: {CASES_VAR}: {err}");
                std::process::exit(2)
            });
            Some(case)
        }
        Err(_) => selected_cases(default_sizes).into_iter().nth(index),
    }
}

/// A number from the environment, or `default` when unset; a malformed value ends the
/// process with exit status 2.
pub fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(text) => text.parse().unwrap_or_else(|_| {
            eprintln!("benchseal: {name}=`{text}` is not a whole number");
            std::process::exit(2)
        }),
        Err(_) => default,
    }
}
