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

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Serialize;

use crate::Outcome;
use crate::compare::{BASELINES_DIR, RUNS_DIR, load_record};
use crate::digests::{GoldenDigests, WorkloadDigests};
use crate::exit::{Irreproducible, bad_input};
use crate::record::RunRecord;
use benchseal_benches::KernelPath;

/// File name of the golden digests inside a version directory.
pub const DIGESTS_FILE: &str = "digests.json";

/// Where runs and baselines are stored.
#[derive(Debug, Clone, clap::Args)]
pub struct Stores {
    /// Directory of run records.
    #[arg(long, default_value = RUNS_DIR)]
    pub runs_dir: PathBuf,
    /// Directory of baselines.
    #[arg(long, default_value = BASELINES_DIR)]
    pub baselines_dir: PathBuf,
}

/// Arguments of `benchseal baseline`.
#[derive(Debug, clap::Args)]
pub struct BaselineArgs {
    #[command(subcommand)]
    pub command: BaselineCommand,
}

/// `benchseal baseline` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum BaselineCommand {
    /// Promote a sealed, complete run to the baseline of a version.
    // `--version` names the release here, so the propagated version flag must yield.
    #[command(disable_version_flag = true)]
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
    },
    /// List stored baselines: versions × machine classes.
    List {
        #[arg(long, value_enum, default_value = "table")]
        format: ListFormat,
        #[command(flatten)]
        stores: Stores,
    },
    /// Show one baseline.
    #[command(disable_version_flag = true)]
    Show {
        version: String,
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
        } => save(&stores, &version, from.as_deref(), force),
        BaselineCommand::List { format, stores } => list(&stores, format),
        BaselineCommand::Show {
            version,
            machine_class,
            format,
            stores,
        } => show(&stores, &version, machine_class.as_deref(), format),
    }
}

/// Checks that `name` is safe as one path component (see the module docs); `what`
/// names it in the error ("version", "machine class", "run id").
pub fn validate_name(name: &str, what: &str) -> Result<()> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-');
    let problem = if name.is_empty() {
        Some("is empty".to_string())
    } else if name.len() > 128 {
        Some("is longer than 128 characters".into())
    } else if name.starts_with('.') || name.starts_with('-') {
        Some("starts with `.` or `-`".into())
    } else {
        name.chars()
            .find(|&c| !allowed(c))
            .map(|c| format!("contains {c:?} (allowed: letters, digits, `.`, `_`, `+`, `-`)"))
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(bad_input(format!("{what} {name:?} {problem}"))),
    }
}

/// `baselines/<version>`, after validating the version.
pub fn version_dir(baselines_dir: &Path, version: &str) -> Result<PathBuf> {
    validate_name(version, "version")?;
    Ok(baselines_dir.join(version))
}

/// `baselines/<version>/<machine-class>.json`, after validating both names.
pub fn baseline_path(baselines_dir: &Path, version: &str, machine_class: &str) -> Result<PathBuf> {
    validate_name(machine_class, "machine class")?;
    Ok(version_dir(baselines_dir, version)?.join(format!("{machine_class}.json")))
}

/// The version directories of a baseline store, sorted; a missing store has none. Every
/// error (an unreadable store or entry) names the path it came from.
pub fn versions(baselines_dir: &Path) -> Result<Vec<String>> {
    let entries = match std::fs::read_dir(baselines_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(bad_input(format!(
                "reading {}: {e}",
                baselines_dir.display()
            )));
        }
    };
    let mut versions = Vec::new();
    for entry in entries {
        let entry =
            entry.map_err(|e| bad_input(format!("reading {}: {e}", baselines_dir.display())))?;
        let path = entry.path();
        let metadata = std::fs::metadata(&path)
            .map_err(|e| bad_input(format!("reading {}: {e}", path.display())))?;
        if metadata.is_dir() {
            versions.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    versions.sort();
    Ok(versions)
}

/// The machine classes stored under a version directory, sorted.
pub fn machine_classes(version_dir: &Path) -> Result<Vec<String>> {
    let entries = std::fs::read_dir(version_dir)
        .map_err(|e| bad_input(format!("reading {}: {e}", version_dir.display())))?;
    let mut classes = Vec::new();
    for entry in entries {
        let entry =
            entry.map_err(|e| bad_input(format!("reading {}: {e}", version_dir.display())))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == DIGESTS_FILE || name.starts_with('.') {
            continue;
        }
        if let Some(class) = name.strip_suffix(".json") {
            classes.push(class.to_string());
        }
    }
    classes.sort();
    Ok(classes)
}

/// Chooses the machine class of a baseline: the one asked for, else `hint` (the class of
/// the run it will be compared with) when stored, else the only one stored.
pub fn pick_machine_class(
    version_dir: &Path,
    explicit: Option<&str>,
    hint: Option<&str>,
) -> Result<String> {
    let classes = machine_classes(version_dir)?;
    let listed = || {
        if classes.is_empty() {
            "none".to_string()
        } else {
            classes.join(", ")
        }
    };
    if let Some(class) = explicit {
        validate_name(class, "machine class")?;
        if classes.iter().any(|c| c == class) {
            return Ok(class.into());
        }
        return Err(bad_input(format!(
            "{} holds no baseline for machine class `{class}` (stored: {})",
            version_dir.display(),
            listed()
        )));
    }
    if let Some(class) = hint
        && classes.iter().any(|c| c == class)
    {
        return Ok(class.into());
    }
    match classes.as_slice() {
        [only] => Ok(only.clone()),
        _ => Err(bad_input(format!(
            "{} holds baselines for {} machine classes ({}): choose one with --machine-class",
            version_dir.display(),
            classes.len(),
            listed()
        ))),
    }
}

/// The golden digests a record vouches for: input digest and the scalar oracle's output
/// digest of each workload (the committed golden digest when the scalar path did not run).
pub fn digests_of(record: &RunRecord) -> GoldenDigests {
    let mut digests = GoldenDigests::default();
    for workload in &record.workloads {
        let scalar = workload
            .path(KernelPath::Scalar)
            .filter(|p| p.status.is_ok())
            .and_then(|p| p.output_sha256.clone());
        if let (Some(input), Some(output)) = (
            workload.input_sha256.clone(),
            scalar.or_else(|| workload.golden_output_sha256.clone()),
        ) {
            digests.workloads.insert(
                workload.id.to_string(),
                WorkloadDigests {
                    input_sha256: input,
                    output_sha256: output,
                },
            );
        }
    }
    digests
}

/// Merges `new` into `existing`; a workload whose digests differ is listed as a conflict.
pub fn merge_digests(existing: &mut GoldenDigests, new: GoldenDigests) -> Vec<String> {
    let mut conflicts = Vec::new();
    for (id, digest) in new.workloads {
        match existing.workloads.get(&id) {
            Some(stored) if stored != &digest => conflicts.push(format!(
                "{id}: stored input {} output {}, this run input {} output {}",
                stored.input_sha256,
                stored.output_sha256,
                digest.input_sha256,
                digest.output_sha256
            )),
            Some(_) => {}
            None => {
                existing.workloads.insert(id, digest);
            }
        }
    }
    conflicts
}

/// Checks that a record may become a baseline: complete, no invalid results.
pub fn check_promotable(record: &RunRecord, path: &Path) -> Result<()> {
    if !record.complete {
        return Err(bad_input(format!(
            "{}: field `complete` is false: an interrupted run cannot become a baseline",
            path.display()
        )));
    }
    let invalid: Vec<String> = record
        .workloads
        .iter()
        .flat_map(|w| {
            w.paths
                .iter()
                .filter(|p| p.status.is_invalid())
                .map(move |p| format!("{}@{} ({})", w.id, p.path, p.status))
        })
        .collect();
    if !invalid.is_empty() {
        return Err(Irreproducible(format!(
            "{}: results failed their digest check, refusing to make them a baseline: {}",
            path.display(),
            invalid.join(", ")
        ))
        .into());
    }
    Ok(())
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
        let record = load_record(&path)?;
        return Ok((path, record));
    }
    let mut newest: Option<(PathBuf, RunRecord)> = None;
    for path in json_files(&stores.runs_dir)? {
        // A broken file that was not asked for must not stop the search; say so.
        let record = match crate::compare::load_unverified(&path) {
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
    let record = load_record(&path)?;
    Ok((path, record))
}

/// The `*.json` files of a directory, sorted; a missing directory has none.
pub fn json_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(bad_input(format!("reading {}: {e}", dir.display()))),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| bad_input(format!("reading {}: {e}", dir.display())))?
            .path();
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if !hidden && path.extension().is_some_and(|e| e == "json") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn save(stores: &Stores, version: &str, from: Option<&str>, force: bool) -> Result<Outcome> {
    let dir = version_dir(&stores.baselines_dir, version)?;
    let (source, record) = source_run(stores, from)?;
    check_promotable(&record, &source)?;
    let class = record.env.machine_class.clone();
    let target = baseline_path(&stores.baselines_dir, version, &class)?;
    if target.exists() {
        let existing = load_record(&target)?;
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
        GoldenDigests::load(&digests_path)?
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
    digests.save(&digests_path)?;
    record.save(&target)?;
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
    let mut unreadable = Vec::new();
    for version in versions(&stores.baselines_dir)? {
        let dir = stores.baselines_dir.join(&version);
        for class in machine_classes(&dir)? {
            let path = dir.join(format!("{class}.json"));
            match crate::compare::load_unverified(&path) {
                Ok(record) => rows.push(ListedBaseline {
                    version: version.clone(),
                    machine_class: class,
                    run_id: record.run_id.clone(),
                    started_at: record.started_at.clone(),
                    finished_at: record.finished_at.clone(),
                    workloads: record.workloads.len(),
                    seal: match record.verify_seal() {
                        Ok(()) => "ok".into(),
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
            print!(
                "{}",
                crate::compare::render::text_table(
                    &[
                        "version",
                        "machine class",
                        "run",
                        "started",
                        "workloads",
                        "seal"
                    ],
                    &table
                )
            );
        }
    }
    if !unreadable.is_empty() {
        return Err(bad_input(unreadable.join("\n")));
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
    let record = load_record(&path)?;
    let digests_path = dir.join(DIGESTS_FILE);
    let digests = if digests_path.exists() {
        Some(GoldenDigests::load(&digests_path)?)
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
                    crate::compare::render::format_ns(w.median_ns)
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
                .map_or("-".into(), crate::compare::render::format_ns),
            process
                .peak_rss_bytes
                .map_or("-".into(), |b| format!("peak {b} B")),
            "-".into(),
        ]);
    }
    print!(
        "{}",
        crate::compare::render::text_table(
            &[
                "benchmark",
                "path",
                "status",
                "median",
                "throughput",
                "instructions"
            ],
            &table
        )
    );
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: version directories were listed twice (list and history) and unreadable
    /// entries were silently dropped by `.flatten()`.
    #[test]
    fn versions_listing_is_sorted_skips_files_and_names_the_path_of_errors() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("baselines");
        assert!(
            versions(&store).unwrap().is_empty(),
            "a missing store is empty"
        );
        for version in ["2.0.0", "1.0.0", "1.10.0"] {
            std::fs::create_dir_all(store.join(version)).unwrap();
        }
        std::fs::write(store.join("notes.txt"), "not a version").unwrap();
        assert_eq!(versions(&store).unwrap(), ["1.0.0", "1.10.0", "2.0.0"]);

        std::os::unix::fs::symlink(store.join("gone"), store.join("dangling")).unwrap();
        let err = versions(&store).unwrap_err();
        assert!(format!("{err:#}").contains("dangling"), "{err:#}");
        assert_eq!(crate::exit::code_for_error(&err), 2);

        let not_a_dir = dir.path().join("file");
        std::fs::write(&not_a_dir, "").unwrap();
        let err = versions(&not_a_dir).unwrap_err();
        assert!(
            format!("{err:#}").contains(&*not_a_dir.to_string_lossy()),
            "{err:#}"
        );
    }

    #[test]
    fn names_that_could_escape_the_store_are_rejected() {
        for bad in [
            "", ".", "..", "../x", "a/b", "a\\b", "/abs", ".hidden", "-rf", "v1\n", "v\u{7}", "a b",
        ] {
            let err = validate_name(bad, "version").unwrap_err();
            assert_eq!(crate::exit::code_for_error(&err), 2, "{bad:?}");
        }
        for good in [
            "1.4.0",
            "v2.0.0-rc.1",
            "1.0+build.5",
            "x86_64-intel-xeon-avx512-rust1.95.0-1a2b3c4d",
        ] {
            validate_name(good, "version").unwrap();
        }
    }

    #[test]
    fn merging_digests_reports_conflicts_and_keeps_the_stored_ones() {
        let digest = |i: &str, o: &str| WorkloadDigests {
            input_sha256: i.into(),
            output_sha256: o.into(),
        };
        let mut stored = GoldenDigests::default();
        stored.workloads.insert("a".into(), digest("1", "2"));
        let mut incoming = GoldenDigests::default();
        incoming.workloads.insert("a".into(), digest("1", "3"));
        incoming.workloads.insert("b".into(), digest("4", "5"));
        let conflicts = merge_digests(&mut stored, incoming);
        assert_eq!(conflicts.len(), 1);
        assert!(conflicts[0].starts_with("a:"));
        assert_eq!(stored.workloads["a"], digest("1", "2"));
        assert_eq!(stored.workloads["b"], digest("4", "5"));
    }
}
