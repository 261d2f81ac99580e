//! `benchseal digests`: show, check or rewrite the committed golden output digests.
//!
//! Golden digests are machine-independent: the SHA-256 of each workload's input and of the
//! output its scalar oracle produces. `golden/digests.json` is committed; every baseline
//! carries a copy as `baselines/<version>/digests.json`. The run pipeline's digest pass
//! holds every kernel path to them.

use std::path::PathBuf;

use anyhow::Result;
use benchseal_benches::{Family, KernelPath, Size, registry};

use crate::model::golden::{GOLDEN_PATH, GoldenDigests, WorkloadDigests};
use crate::model::outcome::Outcome;
use crate::model::outcome::bad_input;
use crate::pipeline::digest_pass::{PathOutput, compute_all, is_digest_mismatch, judge};
use crate::pipeline::select::{Filter, Selected, select};
use crate::present::table::{Align, Table};
use crate::sys::process::interrupt::Interrupt;

/// Examples and exit codes, after `--help`.
const DIGESTS_HELP: &str = r#"Examples:
  benchseal digests                                  # the golden file against the registry
  benchseal digests --check --suite codec            # recompute every path and compare
  benchseal digests --write --workload codec/jsonl   # record the scalar oracle's digests

Exit codes: 0 done; 1 a path failed (or, with --write, one failed and nothing was
written); 2 bad input; 3 a digest differs (with --write: paths disagree, nothing written)."#;

/// Arguments of `benchseal digests`.
#[derive(Debug, clap::Args)]
#[command(after_help = DIGESTS_HELP)]
pub struct DigestsArgs {
    /// Recompute every selected workload on every path and compare with the golden file
    /// (exit 3 on a mismatch)
    #[arg(long, conflicts_with = "write")]
    pub check: bool,
    /// Recompute and write the scalar oracle's digests into the golden file; refused when
    /// the paths of a workload disagree
    #[arg(long)]
    pub write: bool,
    /// The golden digest file
    #[arg(long, value_name = "FILE", default_value = GOLDEN_PATH)]
    pub golden: PathBuf,
    /// Only these families, comma-separated
    #[arg(long = "suite", value_name = "FAMILY", value_delimiter = ',')]
    pub suites: Vec<Family>,
    /// Only these size tiers, comma-separated
    #[arg(long = "size", value_name = "TIER", value_delimiter = ',')]
    pub sizes: Vec<Size>,
    /// Only these workloads (ids, segment prefixes or globs), comma-separated or repeated
    #[arg(long = "workload", value_name = "ID", value_delimiter = ',')]
    pub workloads: Vec<String>,
}

/// Without `--check` or `--write`: lists the golden file against the registry.
pub fn execute(args: DigestsArgs) -> Result<Outcome> {
    let filter = Filter {
        suites: args.suites.clone(),
        sizes: args.sizes.clone(),
        workloads: args.workloads.clone(),
        paths: Vec::new(),
    };
    let selected = select(&registry(), &filter).map_err(bad_input)?;
    let registered: Vec<String> = registry().iter().map(|w| w.id.to_string()).collect();
    if !args.check && !args.write {
        let golden = crate::store::golden::load(&args.golden)?;
        crate::store::golden::check_registered(&golden, &args.golden, &registered)?;
        return Ok(show(&golden, &selected));
    }
    if args.write {
        crate::sys::fs::check_output_file(&args.golden)?;
    }
    let golden = if args.golden.is_file() {
        let golden = crate::store::golden::load(&args.golden)?;
        // --write drops workloads no longer registered; --check refuses them.
        if args.check {
            crate::store::golden::check_registered(&golden, &args.golden, &registered)?;
        }
        golden
    } else if args.write {
        GoldenDigests::default()
    } else {
        return Err(bad_input(format!(
            "golden digest file {} does not exist",
            args.golden.display()
        )));
    };
    let interrupt = Interrupt::install()?;
    let mut table = Table::new(&[
        ("workload", Align::Left),
        ("path", Align::Left),
        ("status", Align::Left),
        ("output sha256", Align::Left),
    ]);
    let mut problems = Vec::new();
    let mut computed_all = Vec::new();
    let all = compute_all(&selected, &interrupt, |done, s| {
        eprintln!(
            "benchseal: digest [{done}/{}] {}",
            selected.len(),
            s.workload.id
        );
    });
    if interrupt.requested() {
        return Err(anyhow::anyhow!(
            "interrupted; {} left unchanged",
            args.golden.display()
        ));
    }
    for (s, computed) in selected.iter().zip(all) {
        let id = s.workload.id.to_string();
        // --write judges paths against each other only; --check against the file.
        let reference = if args.write {
            None
        } else {
            golden.workloads.get(&id)
        };
        let verdicts = match &computed.input_sha256 {
            Ok(_) => judge(&computed, reference),
            Err(e) => {
                problems.push(format!("{id}: {e}"));
                continue;
            }
        };
        if args.check && reference.is_none() {
            problems.push(format!(
                "{id}: no golden digest (benchseal digests --write records one)"
            ));
        }
        for (path, status) in &verdicts {
            let digest = match computed.output(*path) {
                Some(PathOutput::Digest(d)) => d.clone(),
                _ => String::new(),
            };
            if status.is_invalid() {
                problems.push(format!("{id}@{path}: {status}"));
            }
            table.row(vec![
                id.clone(),
                path.to_string(),
                status.to_string(),
                digest,
            ]);
        }
        computed_all.push((id, computed, verdicts));
    }
    crate::present::style::print_out(&table.render());
    let mismatch = computed_all
        .iter()
        .any(|(_, _, verdicts)| verdicts.iter().any(|(_, s)| is_digest_mismatch(s)));
    for problem in &problems {
        eprintln!("benchseal: {problem}");
    }
    if args.write {
        if !problems.is_empty() {
            eprintln!(
                "benchseal: {} left unchanged: the paths above disagree or failed",
                args.golden.display()
            );
            return Ok(if mismatch {
                Outcome::Irreproducible
            } else {
                Outcome::Failed
            });
        }
        let mut golden = golden;
        for (id, computed, _) in computed_all {
            let (Ok(input), Some(PathOutput::Digest(output))) = (
                computed.input_sha256.clone(),
                computed.output(KernelPath::Scalar),
            ) else {
                continue;
            };
            golden.workloads.insert(
                id,
                WorkloadDigests {
                    input_sha256: input,
                    output_sha256: output.clone(),
                },
            );
        }
        let stale: Vec<String> = golden
            .workloads
            .keys()
            .filter(|id| !registered.contains(id))
            .cloned()
            .collect();
        for id in &stale {
            eprintln!("benchseal: dropping {id}: no longer registered");
            golden.workloads.remove(id);
        }
        crate::store::golden::save(&golden, &args.golden)?;
        eprintln!(
            "benchseal: wrote {} ({} workloads)",
            args.golden.display(),
            golden.workloads.len()
        );
        return Ok(Outcome::Success);
    }
    Ok(if mismatch {
        Outcome::Irreproducible
    } else if problems.iter().any(|p| !p.contains("no golden digest")) {
        Outcome::Failed
    } else {
        Outcome::Success
    })
}

fn show(golden: &GoldenDigests, selected: &[Selected]) -> Outcome {
    let mut table = Table::new(&[
        ("workload", Align::Left),
        ("input sha256", Align::Left),
        ("output sha256", Align::Left),
    ]);
    for s in selected {
        let id = s.workload.id.to_string();
        match golden.workloads.get(&id) {
            Some(d) => table.row(vec![id, d.input_sha256.clone(), d.output_sha256.clone()]),
            None => table.row(vec![id, "(none)".into(), "(none)".into()]),
        }
    }
    crate::present::style::print_out(&table.render());
    Outcome::Success
}
