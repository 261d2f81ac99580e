//! `benchseal compare A B`, and the comparison after `run --compare-to V`.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::analysis::compare::{Comparison, Policy, Resolved, SideSource, compare_resolved};
use crate::model::outcome::{Outcome, bad_input};
use crate::model::record::RunRecord;
use crate::present::compare::Format;
use crate::store::baselines::{baseline_path, machine_classes, pick_machine_class, version_dir};
use crate::store::{BASELINES_DIR, RUNS_DIR, Seal, load, load_policy, resolve};

crate::app::args::value_enum!(Format);

/// Examples and exit codes, after `--help`.
const COMPARE_HELP: &str = r#"Examples:
  benchseal compare 0.1.1 <run-id>                       # a baseline vs a run (cross-session)
  benchseal compare --ab v0.1.1 --quick                  # paired: v0.1.1's build vs this checkout
  benchseal compare old.json new.json --format md        # Markdown for a pull request

Exit codes: 0 nothing fails; 1 a regression the policy counts as failing; 2 bad input;
3 reproducibility broken (an output digest differs, or one executable counts other
instructions)."#;

/// Arguments of `benchseal compare`.
#[derive(Debug, clap::Args)]
#[command(after_help = COMPARE_HELP)]
pub struct CompareArgs {
    /// The old side: a run file, a run id, or a baseline version (tried in that order).
    #[arg(required_unless_present = "ab")]
    pub old: Option<String>,
    /// The new side: a run file, a run id, or a baseline version (tried in that order).
    #[arg(required_unless_present = "ab")]
    pub new: Option<String>,
    /// A paired comparison in one session: build the bench executables of REV_A (and of
    /// REV_B, else use this checkout's), run them alternately (A B B A …) and judge wall
    /// clock on the per-pair ratios. Builds are cached under .benchseal/builds/.
    #[arg(long, num_args = 1..=2, value_names = ["REV_A", "REV_B"], conflicts_with_all = ["old", "new"])]
    pub ab: Vec<String>,
    /// With --ab: the quick suite (small tier; 5 short executions a side)
    #[arg(long, requires = "ab")]
    pub quick: bool,
    /// With --ab: kernel families, comma-separated [default: all]
    #[arg(
        long = "suite",
        value_name = "FAMILY",
        value_delimiter = ',',
        requires = "ab"
    )]
    pub suites: Vec<benchseal_benches::Family>,
    /// With --ab: size tiers, comma-separated [default: small with --quick, else all]
    #[arg(
        long = "size",
        value_name = "TIER",
        value_delimiter = ',',
        requires = "ab"
    )]
    pub sizes: Vec<benchseal_benches::Size>,
    /// With --ab: only these workloads (ids, segment prefixes or globs), comma-separated
    #[arg(
        long = "workload",
        value_name = "ID",
        value_delimiter = ',',
        requires = "ab"
    )]
    pub workloads: Vec<String>,
    /// With --ab: measuring engines, comma-separated
    #[arg(
        long,
        value_name = "ENGINE",
        value_delimiter = ',',
        default_value = "wall,instr"
    )]
    pub engines: Vec<crate::model::record::EngineKind>,
    /// With --ab: executions per side and case [default: 5, --quick too]
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=100), requires = "ab")]
    pub executions: Option<u32>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Compare across machine classes or toolchains; the environment diff is shown.
    #[arg(long)]
    pub allow_env_mismatch: bool,
    /// Machine class to read when a side is a baseline saved for several classes.
    #[arg(long)]
    pub machine_class: Option<String>,
    /// A TOML file with the regression policy (the fields of [`Policy`]).
    #[arg(long)]
    pub policy: Option<PathBuf>,
    #[command(flatten)]
    pub stores: super::args::StoreArgs,
    /// With --ab: sign both sides' records.
    #[command(flatten)]
    pub sign: super::args::SignArgs,
}

pub fn execute(args: CompareArgs) -> Result<Outcome> {
    let policy = match &args.policy {
        Some(path) => load_policy(path)?,
        None => Policy::default(),
    };
    if !args.ab.is_empty() {
        return paired(&args, &policy);
    }
    let (Some(old_arg), Some(new_arg)) = (args.old.clone(), args.new.clone()) else {
        return Err(bad_input(
            "compare needs two sides (OLD NEW) or --ab REV_A [REV_B]",
        ));
    };
    let args = CompareArgs {
        old: Some(old_arg.clone()),
        new: Some(new_arg.clone()),
        ..args
    };
    let (old_arg, new_arg) = (old_arg.as_str(), new_arg.as_str());
    let class = args.machine_class.as_deref();
    let (runs, baselines) = (&args.stores.runs_dir, &args.stores.baselines_dir);
    // A baseline side takes its machine class from the other side when that is a run, so
    // resolve whichever side is not a baseline version first.
    let old_is_plain =
        Path::new(old_arg).is_file() || runs.join(format!("{old_arg}.json")).is_file();
    let (old, new) = if old_is_plain {
        let old = resolve(old_arg, runs, baselines, class, None)?;
        let new = resolve(
            new_arg,
            runs,
            baselines,
            class,
            Some(&old.record.env.machine_class),
        )?;
        (old, new)
    } else {
        let new = resolve(new_arg, runs, baselines, class, None)?;
        let old = resolve(
            old_arg,
            runs,
            baselines,
            class,
            Some(&new.record.env.machine_class),
        )?;
        (old, new)
    };
    eprintln!("A (old): {}", old.source);
    eprintln!("B (new): {}", new.source);
    let mut comparison = compare_resolved(
        &old,
        &new,
        old_arg,
        new_arg,
        &policy,
        args.allow_env_mismatch,
    )?;
    explain_instructions(&mut comparison, &old, &new);
    crate::present::style::print_out(&crate::present::compare::render(
        &comparison,
        args.format,
        &new.record,
    ));
    Ok(comparison.outcome())
}

/// Adds to `comparison` the functions behind each instruction count that moved, from the
/// callgrind profiles kept beside the two records.
pub fn explain_instructions(comparison: &mut Comparison, old: &Resolved, new: &Resolved) {
    let dir = |r: &Resolved| {
        Path::new(r.source.path())
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    };
    let (old_dir, new_dir) = (dir(old), dir(new));
    comparison.explanations = comparison
        .moved_instruction_counts()
        .into_iter()
        .map(|benchmark| {
            crate::store::profiles::explain(
                benchmark,
                (&old.record, &old_dir),
                (&new.record, &new_dir),
            )
        })
        .collect();
}

/// `compare --ab REV_A [REV_B]`: one paired session, then the comparison of its two sides.
fn paired(args: &CompareArgs, policy: &Policy) -> Result<Outcome> {
    let key = args.sign.key()?;
    use crate::pipeline::commit_build::build_commit;
    let root = crate::pipeline::benches::workspace_root().ok_or_else(|| {
        bad_input("compare --ab builds revisions of this repository: run it inside the checkout")
    })?;
    let progress = super::session::Stderr;
    let build = |rev: &str| {
        build_commit(&root, rev, &progress)
            .map_err(|e| bad_input(format!("revision `{rev}` cannot be measured: {e:#}")))
    };
    let a = build(&args.ab[0])?;
    let b = args.ab.get(1).map(|rev| build(rev)).transpose()?;
    let config = crate::pipeline::RunConfig {
        suites: args.suites.clone(),
        sizes: args.sizes.clone(),
        quick: args.quick,
        engines: args.engines.clone(),
        workloads: args.workloads.clone(),
        out: args.stores.runs_dir.clone(),
        executions: args.executions.map(|k| k as usize),
        paired: Some(crate::pipeline::Paired {
            a,
            a_reference: None,
            b,
        }),
        // Scaling runs this checkout's kernels in-process: it measures neither side.
        scaling: None,
        ..crate::pipeline::RunConfig::default()
    };
    let to = if args.format == Format::Table {
        super::session::SummaryTo::Stdout
    } else {
        super::session::SummaryTo::Stderr
    };
    let run =
        super::session::run_and_report(&config, &benchseal_benches::registry(), to, key.as_ref())?;
    let Some((a_record, a_path)) = &run.partner else {
        return Err(bad_input(
            "the paired session measured nothing on the baseline side (no engine selected?)",
        ));
    };
    let label_b = args
        .ab
        .get(1)
        .cloned()
        .unwrap_or_else(|| "working tree".into());
    let old = Resolved {
        record: a_record.clone(),
        source: SideSource::RunFile {
            path: a_path.display().to_string(),
        },
    };
    let new = Resolved {
        record: run.record.clone(),
        source: SideSource::RunFile {
            path: run.path.display().to_string(),
        },
    };
    eprintln!("A (old): {} = {}", args.ab[0], old.source);
    eprintln!("B (new): {label_b} = {}", new.source);
    let mut comparison = compare_resolved(&old, &new, &args.ab[0], &label_b, policy, false)?;
    explain_instructions(&mut comparison, &old, &new);
    crate::present::style::print_out(&crate::present::compare::render(
        &comparison,
        args.format,
        &run.record,
    ));
    Ok(comparison.outcome().worst(run.outcome))
}

/// Compares a finished run with the stored baseline `version` of its machine class, prints
/// the comparison and returns its outcome (used by `benchseal run --compare-to V`, after
/// the run has saved its own record). Uses the default [`Policy`].
pub fn compare_to_baseline(
    record: &RunRecord,
    version: &str,
    allow_env_mismatch: bool,
) -> Result<Outcome> {
    let comparison = compare_with_stored_baseline(
        record,
        version,
        allow_env_mismatch,
        Path::new(BASELINES_DIR),
        &Policy::default(),
    )?;
    crate::present::style::print_out(&crate::present::compare::render(
        &comparison,
        Format::Table,
        record,
    ));
    Ok(comparison.outcome())
}

/// The directory of the stored baseline `version`, when the name is valid and the version
/// holds at least one baseline record. `run --compare-to V` asks this before measuring, so
/// that a typo costs nothing.
pub fn check_baseline_exists(baselines_dir: &Path, version: &str) -> Result<PathBuf> {
    let dir = version_dir(baselines_dir, version)?;
    if !dir.is_dir() || machine_classes(&dir)?.is_empty() {
        return Err(bad_input(format!(
            "no baseline `{version}` in {} (save one with `benchseal baseline save --version {version}`)",
            baselines_dir.display()
        )));
    }
    Ok(dir)
}

/// The comparison behind [`compare_to_baseline`], with the store and policy explicit.
pub fn compare_with_stored_baseline(
    record: &RunRecord,
    version: &str,
    allow_env_mismatch: bool,
    baselines_dir: &Path,
    policy: &Policy,
) -> Result<Comparison> {
    let version_dir = check_baseline_exists(baselines_dir, version)?;
    let class = pick_machine_class(&version_dir, None, Some(&record.env.machine_class))?;
    let path = baseline_path(baselines_dir, version, &class)?;
    let old = Resolved {
        record: load(&path, Seal::Required)?,
        source: SideSource::Baseline {
            version: version.into(),
            machine_class: class,
            path: path.display().to_string(),
        },
    };
    let new = Resolved {
        record: record.clone(),
        source: SideSource::RunId {
            path: format!("{RUNS_DIR}/{}.json", record.run_id),
        },
    };
    let mut comparison = compare_resolved(
        &old,
        &new,
        version,
        &record.run_id,
        policy,
        allow_env_mismatch,
    )?;
    explain_instructions(&mut comparison, &old, &new);
    Ok(comparison)
}
