//! `benchseal compare A B`, and the comparison after `run --compare-to V`.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::analysis::compare::{Comparison, Policy, Resolved, SideSource, compare_resolved};
use crate::model::outcome::{Outcome, bad_input};
use crate::model::record::RunRecord;
use crate::present::compare::Format;
use crate::store::baselines::{baseline_path, pick_machine_class, version_dir};
use crate::store::{BASELINES_DIR, RUNS_DIR, Seal, load, load_policy, resolve};

crate::app::args::value_enum!(Format);

/// Arguments of `benchseal compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The old side: a run file, a run id, or a baseline version (tried in that order).
    pub old: String,
    /// The new side: a run file, a run id, or a baseline version (tried in that order).
    pub new: String,
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
}

pub fn execute(args: CompareArgs) -> Result<Outcome> {
    let policy = match &args.policy {
        Some(path) => load_policy(path)?,
        None => Policy::default(),
    };
    let class = args.machine_class.as_deref();
    let (runs, baselines) = (&args.stores.runs_dir, &args.stores.baselines_dir);
    // A baseline side takes its machine class from the other side when that is a run, so
    // resolve whichever side is not a baseline version first.
    let old_is_plain =
        Path::new(&args.old).is_file() || runs.join(format!("{}.json", args.old)).is_file();
    let (old, new) = if old_is_plain {
        let old = resolve(&args.old, runs, baselines, class, None)?;
        let new = resolve(
            &args.new,
            runs,
            baselines,
            class,
            Some(&old.record.env.machine_class),
        )?;
        (old, new)
    } else {
        let new = resolve(&args.new, runs, baselines, class, None)?;
        let old = resolve(
            &args.old,
            runs,
            baselines,
            class,
            Some(&new.record.env.machine_class),
        )?;
        (old, new)
    };
    eprintln!("A (old): {}", old.source);
    eprintln!("B (new): {}", new.source);
    let comparison = compare_resolved(
        &old,
        &new,
        &args.old,
        &args.new,
        &policy,
        args.allow_env_mismatch,
    )?;
    print!(
        "{}",
        crate::present::compare::render(&comparison, args.format, &new.record)
    );
    Ok(comparison.outcome())
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
    print!(
        "{}",
        crate::present::compare::render(&comparison, Format::Table, record)
    );
    Ok(comparison.outcome())
}

/// The comparison behind [`compare_to_baseline`], with the store and policy explicit.
pub fn compare_with_stored_baseline(
    record: &RunRecord,
    version: &str,
    allow_env_mismatch: bool,
    baselines_dir: &Path,
    policy: &Policy,
) -> Result<Comparison> {
    let version_dir = version_dir(baselines_dir, version)?;
    if !version_dir.is_dir() {
        return Err(bad_input(format!(
            "no baseline `{version}` in {} (save one with `benchseal baseline save --version {version}`)",
            baselines_dir.display()
        )));
    }
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
    compare_resolved(
        &old,
        &new,
        version,
        &record.run_id,
        policy,
        allow_env_mismatch,
    )
}
