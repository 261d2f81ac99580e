//! `benchseal baseline save|list|show`: the versioned baseline store.
//!
//! A baseline is a sealed, complete run record promoted, unchanged (so its seal still
//! verifies), to `baselines/<version>/<machine-class>.json`. Beside it,
//! `baselines/<version>/digests.json` holds the golden output digests of that version
//! (`benchseal.digests/1`): input digest and scalar-oracle output digest per workload,
//! which do not depend on the machine, so every machine class saved under one version
//! must agree on them (a disagreement is broken reproducibility, exit 3).
//!
//! Saving writes `digests.json` first and the record second, each atomically (temporary
//! file, fsync, rename): whatever interrupts a save, a baseline record either exists
//! whole, with its digests beside it, or is as it was before.
//!
//! Versions and machine classes become path components, so both are held to a small
//! alphabet (`A–Z a–z 0–9 . _ + -`, not starting with `.` or `-`): nothing can climb out
//! of `baselines/` or hide there.

use std::path::PathBuf;

use anyhow::Result;
use serde::Serialize;

use super::args::StoreArgs as Stores;
use crate::model::golden::GoldenDigests;
use crate::model::outcome::{Irreproducible, Outcome, bad_input};
use crate::model::record::RunRecord;
use crate::store::baselines::{
    DIGESTS_FILE, baseline_path, check_promotable, digests_of, machine_classes, merge_digests,
    pick_machine_class, validate_name, version_dir, versions,
};
use crate::store::{Seal, json_files, load};

/// Examples and exit codes, after `--help`.
const BASELINE_HELP: &str = r#"Examples:
  benchseal baseline save --version 0.1.2 --sign-key ~/.ssh/release_ed25519
  benchseal baseline list
  benchseal baseline show --version 0.1.1 --machine-class <class>

Exit codes: 0 done; 2 bad input (no complete sealed run, an existing baseline without
--force); 3 a stored baseline whose seal does not match."#;

/// Arguments of `benchseal baseline`.
#[derive(Debug, clap::Args)]
#[command(after_help = BASELINE_HELP)]
pub struct BaselineArgs {
    #[command(subcommand)]
    pub command: BaselineCommand,
}

/// `benchseal baseline` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum BaselineCommand {
    /// Promote a sealed, complete run to the baseline of a version.
    // `--version` names the release here, so the propagated version flag must yield.
    #[command(disable_version_flag = true, after_help = BASELINE_HELP)]
    Save {
        /// The release version, e.g. `1.4.0`.
        #[arg(long)]
        version: String,
        /// A run file or run id; default: the newest complete run in the runs directory.
        #[arg(long)]
        from: Option<String>,
        /// Replace an existing baseline of this version and machine class.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        stores: Stores,
        /// Signs the baseline and its version's digests.json.
        #[command(flatten)]
        sign: super::args::SignArgs,
    },
    /// List stored baselines: versions × machine classes.
    #[command(after_help = BASELINE_HELP)]
    List {
        #[arg(long, value_enum, default_value = "table")]
        format: ListFormat,
        #[command(flatten)]
        stores: Stores,
    },
    /// Show one baseline.
    #[command(disable_version_flag = true)]
    #[command(after_help = BASELINE_HELP)]
    Show {
        /// The release version, e.g. `0.1.1` (as `baseline save --version`).
        #[arg(
            long = "version",
            value_name = "V",
            required_unless_present = "positional"
        )]
        version: Option<String>,
        /// The version as a bare word, as earlier releases of benchseal took it.
        #[arg(value_name = "V", hide = true, conflicts_with = "version")]
        positional: Option<String>,
        /// Needed when the version holds baselines of several machine classes.
        #[arg(long)]
        machine_class: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: ListFormat,
        #[command(flatten)]
        stores: Stores,
    },
}

/// Output of `baseline list` and `baseline show`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

pub fn execute(args: BaselineArgs) -> Result<Outcome> {
    match args.command {
        BaselineCommand::Save {
            version,
            from,
            force,
            stores,
            sign,
        } => save(&stores, &version, from.as_deref(), force, &sign),
        BaselineCommand::List { format, stores } => list(&stores, format),
        BaselineCommand::Show {
            version,
            positional,
            machine_class,
            format,
            stores,
        } => {
            let version = version.or(positional).unwrap_or_default();
            show(&stores, &version, machine_class.as_deref(), format)
        }
    }
}

/// The record `--from` names (a file or a run id), or the newest complete run.
fn source_run(stores: &Stores, from: Option<&str>) -> Result<(PathBuf, RunRecord)> {
    if let Some(from) = from {
        let as_file = PathBuf::from(from);
        let path = if as_file.is_file() {
            as_file
        } else {
            validate_name(from, "run id")?;
            let path = stores.runs_dir.join(format!("{from}.json"));
            if !path.is_file() {
                return Err(bad_input(format!(
                    "`{from}` is neither a file nor a run id in {}",
                    stores.runs_dir.display()
                )));
            }
            path
        };
        let record = load(&path, Seal::Required)?;
        return Ok((path, record));
    }
    let mut newest: Option<(PathBuf, RunRecord)> = None;
    for path in json_files(&stores.runs_dir)? {
        // A broken file that was not asked for must not stop the search; say so.
        let record = match load(&path, Seal::Unchecked) {
            Ok(record) => record,
            Err(e) => {
                eprintln!("benchseal: skipping {e:#}");
                continue;
            }
        };
        if !record.complete {
            continue;
        }
        let newer = newest
            .as_ref()
            .is_none_or(|(p, r)| (&record.started_at, &path) > (&r.started_at, p));
        if newer {
            newest = Some((path, record));
        }
    }
    let Some((path, _)) = newest else {
        return Err(bad_input(format!(
            "no complete run in {}: run `benchseal run` first or name one with --from",
            stores.runs_dir.display()
        )));
    };
    let record = load(&path, Seal::Required)?;
    Ok((path, record))
}

fn save(
    stores: &Stores,
    version: &str,
    from: Option<&str>,
    force: bool,
    sign: &super::args::SignArgs,
) -> Result<Outcome> {
    let key = sign.key()?;
    let dir = version_dir(&stores.baselines_dir, version)?;
    let (source, record) = source_run(stores, from)?;
    check_promotable(&record, &source)?;
    let class = record.env.machine_class.clone();
    let target = baseline_path(&stores.baselines_dir, version, &class)?;
    if target.exists() {
        let existing = load(&target, Seal::Required)?;
        if existing.seal == record.seal {
            println!(
                "baseline {version} for {class} is already run {}: {}",
                record.run_id,
                target.display()
            );
            return Ok(Outcome::Success);
        }
        if !force {
            return Err(bad_input(format!(
                "{} already holds run {} (pass --force to replace it with run {})",
                target.display(),
                existing.run_id,
                record.run_id
            )));
        }
    }

    let digests_path = dir.join(DIGESTS_FILE);
    let mut digests = if digests_path.exists() {
        crate::store::golden::load(&digests_path)?
    } else {
        GoldenDigests::default()
    };
    let conflicts = merge_digests(&mut digests, digests_of(&record));
    if !conflicts.is_empty() {
        return Err(Irreproducible(format!(
            "run {} disagrees with the golden digests of baseline {version} in {}:\n  {}",
            record.run_id,
            digests_path.display(),
            conflicts.join("\n  ")
        ))
        .into());
    }
    // Digests first: a record in the store always has its digests beside it.
    crate::store::golden::save(&digests, &digests_path)?;
    crate::store::save(&record, &target)?;
    // The callgrind profiles go with the record, so a comparison with the baseline can
    // still say which functions changed.
    let source_dir = source.parent().unwrap_or(std::path::Path::new("."));
    for problem in crate::store::profiles::copy(&record, source_dir, &dir)? {
        eprintln!("benchseal: profile not kept with the baseline: {problem}");
    }
    super::args::sign_files(key.as_ref(), &[&digests_path, &target])?;
    println!(
        "saved baseline {version} for machine class {class}: run {} ({} workloads) → {}",
        record.run_id,
        record.workloads.len(),
        target.display()
    );
    Ok(Outcome::Success)
}

/// One row of `baseline list`.
#[derive(Debug, Serialize)]
struct ListedBaseline {
    version: String,
    machine_class: String,
    run_id: String,
    started_at: String,
    finished_at: Option<String>,
    workloads: usize,
    seal: String,
}

fn list(stores: &Stores, format: ListFormat) -> Result<Outcome> {
    let mut rows = Vec::new();
    let found = versions(&stores.baselines_dir)?;
    let mut unreadable = found.unreadable;
    for version in found.versions {
        let dir = stores.baselines_dir.join(&version);
        for class in machine_classes(&dir)? {
            let path = dir.join(format!("{class}.json"));
            match load(&path, Seal::Unchecked) {
                Ok(record) => rows.push(ListedBaseline {
                    version: version.clone(),
                    machine_class: class,
                    run_id: record.run_id.clone(),
                    started_at: record.started_at.clone(),
                    finished_at: record.finished_at.clone(),
                    workloads: record.workloads.len(),
                    seal: match record.verify_seal() {
                        Ok(_) => "ok".into(),
                        Err(problem) => problem,
                    },
                }),
                Err(e) => unreadable.push(format!("{e:#}")),
            }
        }
    }
    match format {
        ListFormat::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        ListFormat::Table if rows.is_empty() => {
            println!("no baselines in {}", stores.baselines_dir.display());
        }
        ListFormat::Table => {
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r.version.clone(),
                        r.machine_class.clone(),
                        r.run_id.clone(),
                        r.started_at.clone(),
                        r.workloads.to_string(),
                        r.seal.clone(),
                    ]
                })
                .collect();
            crate::present::style::print_out(
                &crate::present::table::Table::left(
                    &[
                        "version",
                        "machine class",
                        "run",
                        "started",
                        "workloads",
                        "seal",
                    ],
                    &table,
                )
                .render(),
            );
        }
    }
    // One unreadable file does not hide the others: it is named, and the listing stands.
    for problem in &unreadable {
        eprintln!("benchseal: warning: skipping {problem}");
    }
    Ok(if rows.iter().all(|r| r.seal == "ok") {
        Outcome::Success
    } else {
        Outcome::Irreproducible
    })
}

fn show(
    stores: &Stores,
    version: &str,
    machine_class: Option<&str>,
    format: ListFormat,
) -> Result<Outcome> {
    let dir = version_dir(&stores.baselines_dir, version)?;
    if !dir.is_dir() {
        return Err(bad_input(format!(
            "no baseline `{version}` in {}",
            stores.baselines_dir.display()
        )));
    }
    let class = pick_machine_class(&dir, machine_class, None)?;
    let path = baseline_path(&stores.baselines_dir, version, &class)?;
    let record = load(&path, Seal::Required)?;
    let digests_path = dir.join(DIGESTS_FILE);
    let digests = if digests_path.exists() {
        Some(crate::store::golden::load(&digests_path)?)
    } else {
        None
    };
    if format == ListFormat::Json {
        let shown = serde_json::json!({
            "version": version,
            "machine_class": class,
            "path": path.display().to_string(),
            "digests": digests,
            "record": record,
        });
        println!("{}", serde_json::to_string_pretty(&shown)?);
        return Ok(Outcome::Success);
    }
    let artifact = &record.artifact;
    println!("baseline {version} for machine class {class}");
    println!("  file:       {}", path.display());
    println!(
        "  run:        {} ({} → {})",
        record.run_id,
        record.started_at,
        record.finished_at.as_deref().unwrap_or("?")
    );
    println!("  version:    benchseal {}", artifact.version);
    println!(
        "  commit:     {}{}",
        artifact.git_commit.as_deref().unwrap_or("unknown"),
        if artifact.git_dirty == Some(true) {
            " (dirty)"
        } else {
            ""
        }
    );
    println!(
        "  Cargo.lock: {}",
        artifact.cargo_lock_sha256.as_deref().unwrap_or("unknown")
    );
    for (engine, exe) in &artifact.bench_executables {
        println!("  {engine} executable: {} sha256 {}", exe.path, exe.sha256);
    }
    println!(
        "  seal:       {} (verified)",
        record.seal.as_deref().unwrap_or("")
    );
    match &digests {
        Some(d) => println!(
            "  digests:    {} workloads in {}",
            d.workloads.len(),
            digests_path.display()
        ),
        None => println!(
            "  digests:    missing ({} does not exist)",
            digests_path.display()
        ),
    }
    let mut table = Vec::new();
    for workload in &record.workloads {
        for path in &workload.paths {
            let wall = path.wall.as_ref().and_then(|w| w.metrics.as_ref());
            let instr = path.instr.as_ref().and_then(|i| i.metrics.as_ref());
            table.push(vec![
                workload.id.to_string(),
                path.label.clone(),
                path.status.to_string(),
                wall.map_or("-".into(), |w| {
                    crate::analysis::format::format_time(w.median_ns)
                }),
                wall.map_or("-".into(), |w| {
                    format!("{:.4e} {}/s", w.throughput_per_s, workload.unit.name())
                }),
                instr.map_or("-".into(), |i| i.instructions.to_string()),
            ]);
        }
    }
    for process in &record.processes {
        table.push(vec![
            format!("process:{}", process.id),
            process.command.join(" "),
            process.status.to_string(),
            process
                .wall_p50_ns
                .map_or("-".into(), crate::analysis::format::format_time),
            process
                .peak_rss_bytes
                .map_or("-".into(), |b| format!("peak {b} B")),
            "-".into(),
        ]);
    }
    crate::present::style::print_out(
        &crate::present::table::Table::left(
            &[
                "benchmark",
                "path",
                "status",
                "median",
                "throughput",
                "instructions",
            ],
            &table,
        )
        .render(),
    );
    Ok(Outcome::Success)
}
