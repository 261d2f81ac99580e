//! `benchseal run`: the run pipeline from the command line, its summary, and the
//! comparison with a stored baseline after it (`--compare-to`).

use std::path::PathBuf;

use anyhow::Result;
use benchseal_benches::{Family, Size, Workload, registry};

pub use super::session::{Stderr, SummaryTo, run_and_report};
use crate::model::golden::GOLDEN_PATH;
use crate::model::outcome::{Outcome, bad_input};
use crate::model::record::EngineKind;
use crate::pipeline::RunConfig;
use crate::pipeline::scaling::{self, Threads};
use crate::pipeline::select::PathChoice;
use crate::pipeline::shard::ShardSpec;
use crate::store::{BASELINES_DIR, RUNS_DIR};

crate::app::args::value_enum!(PathChoice);

/// Examples and exit codes, after `--help`.
const RUN_HELP: &str = r#"Examples:
  benchseal run --quick                                  # quick suite: sealed record + summary
  benchseal run --suite codec --workload codec/comp3 --path simd
  benchseal run --quick --compare-to 0.1.1               # then compare with that baseline
  benchseal run --size tiny --shard 0/2                  # one of two shards; then `benchseal merge`
  benchseal run --quick --suite quant --threads 1,2      # scaling of the GEMMs on 1 and 2 threads

Exit codes: 0 every path measured and every digest matched; 1 a kernel or bench process
failed, or --compare-to found a failing regression; 2 bad input; 3 an output digest did
not match the golden one."#;

/// Arguments of `benchseal run`.
#[derive(Debug, clap::Args)]
#[command(after_help = RUN_HELP)]
pub struct RunArgs {
    /// Kernel families to run, comma-separated: codec, quant, sync, roof [default: all]
    #[arg(long = "suite", value_name = "FAMILY", value_delimiter = ',')]
    pub suites: Vec<Family>,
    /// Size tiers, comma-separated or repeated: tiny, small, medium, large
    /// [default: small with --quick, else all]
    #[arg(long = "size", value_name = "TIER", value_delimiter = ',')]
    pub sizes: Vec<Size>,
    /// Tiers the instr engine counts among the selected workloads and the roofs they read
    /// against, comma-separated [default: tiny and small]; valgrind runs code about 50x
    /// slower, so larger tiers only on request
    #[arg(long = "instr-size", value_name = "TIER", value_delimiter = ',')]
    pub instr_sizes: Vec<Size>,
    /// The quick suite: small tier (unless --size says otherwise), 3 executions and short
    /// criterion sampling (10 samples, 0.1 s warm-up, 0.3 s measurement per execution)
    #[arg(long)]
    pub quick: bool,
    /// Process executions of the wall bench executable per case, each in a fresh randomized
    /// case order [default: 3 with --quick, else 5]
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub executions: Option<u32>,
    /// Measuring engines, comma-separated
    #[arg(
        long,
        value_name = "ENGINE",
        value_delimiter = ',',
        default_value = "wall,instr"
    )]
    pub engines: Vec<EngineKind>,
    /// Kernel paths: auto (every path a workload registers), scalar, simd, gpu or reference
    /// (the system's converter, where a workload has one)
    #[arg(
        long = "path",
        value_enum,
        value_delimiter = ',',
        default_value = "auto"
    )]
    pub paths: Vec<PathChoice>,
    /// Only these workloads, comma-separated or repeated: full ids (family/kernel/variant/size,
    /// run whatever their tier), prefixes of whole segments (`codec/comp3`) or globs
    /// (`*/cp037/*`), which select within the run's tiers
    #[arg(long = "workload", value_name = "ID", value_delimiter = ',')]
    pub workloads: Vec<String>,
    /// Run only the I-th (from 0) of N shards of the selected cases (workload x path), e.g.
    /// on one node of a fleet; the split is the same on every machine, balanced by expected
    /// cost, and the record lists the cases it took. `benchseal merge` joins the N records
    #[arg(long, value_name = "I/N")]
    pub shard: Option<ShardSpec>,
    /// Thread counts of the scaling pass, comma-separated [default: 1 to the number of
    /// cores]; the parallel workloads of the medium tier (of the tiny tier in a run of it
    /// alone) run on each (GEMMs split by tokens, codec decode by record ranges), with the
    /// output digest checked at each
    #[arg(
        long,
        value_name = "N",
        value_delimiter = ',',
        conflicts_with = "no_scaling"
    )]
    pub threads: Vec<usize>,
    /// Allow --threads above the number of cores
    #[arg(long)]
    pub oversubscribe: bool,
    /// No scaling pass
    #[arg(long)]
    pub no_scaling: bool,
    /// Do not add the roofline references (`roof/…`: read, copy, write bandwidth at each
    /// tier, int8 dot-product peak) that the selected workloads are read against; without
    /// them no "of roof" figure is shown
    #[arg(long)]
    pub no_roofs: bool,
    /// Directory of run records
    #[arg(long, value_name = "DIR", default_value = RUNS_DIR)]
    pub out: PathBuf,
    /// Print the run record as JSON on stdout (the summary table goes to stderr)
    #[arg(long)]
    pub json: bool,
    /// Pin the machine for the run (see `benchseal env`); reset when the run ends,
    /// also when it is interrupted
    #[arg(long)]
    pub pin: bool,
    /// After the run, compare it with the stored baseline of this version
    #[arg(long, value_name = "VERSION")]
    pub compare_to: Option<String>,
    /// With --compare-to: compare even if the environment differs from the baseline's
    #[arg(long, requires = "compare_to")]
    pub allow_env_mismatch: bool,
    /// Golden output digests to hold every path to
    #[arg(long, value_name = "FILE", default_value = GOLDEN_PATH)]
    pub golden: PathBuf,
    #[command(flatten)]
    pub sign: super::args::SignArgs,
}

impl RunArgs {
    /// The typed configuration these arguments ask for (`--compare-to` is the command's
    /// own step after the run, not part of it).
    pub fn config(&self) -> Result<RunConfig> {
        let scaling = if self.no_scaling {
            None
        } else {
            Some(
                Threads::new(&self.threads, scaling::cores(), self.oversubscribe)
                    .map_err(bad_input)?,
            )
        };
        Ok(RunConfig {
            suites: self.suites.clone(),
            sizes: self.sizes.clone(),
            instr_sizes: self.instr_sizes.clone(),
            quick: self.quick,
            engines: self.engines.clone(),
            paths: self.paths.clone(),
            workloads: self.workloads.clone(),
            out: self.out.clone(),
            pin: self.pin,
            golden: self.golden.clone(),
            executions: self.executions.map(|k| k as usize),
            paired: None,
            shard: self.shard,
            scaling,
            deadline: None,
            roofs: !self.no_roofs,
        })
    }
}

pub fn execute(args: RunArgs) -> Result<Outcome> {
    execute_with(args, &registry())
}

/// `benchseal run` over the given workloads instead of the registry's (tests use this to
/// run workloads of their own).
pub fn execute_with(args: RunArgs, registry: &[Workload]) -> Result<Outcome> {
    let to = if args.json {
        SummaryTo::StderrWithRecordJson
    } else {
        SummaryTo::Stdout
    };
    // A baseline that is not there is said before anything is measured.
    if let Some(version) = &args.compare_to {
        super::compare::check_baseline_exists(std::path::Path::new(BASELINES_DIR), version)?;
    }
    let key = args.sign.key()?;
    let run = run_and_report(&args.config()?, registry, to, key.as_ref())?;
    let mut outcome = run.outcome;
    if let Some(version) = &args.compare_to {
        outcome = outcome.worst(super::compare::compare_to_baseline(
            &run.record,
            version,
            args.allow_env_mismatch,
        )?);
    }
    Ok(outcome)
}
