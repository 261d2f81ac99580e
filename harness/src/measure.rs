//! `benchseal measure [--runs N] [--id ID] [--out RUN_FILE] -- CMD ARGS...`: the process
//! engine on one command line.
//!
//! With `--out`, the measurement is added to a run record (replacing a measurement with
//! the same id) and the record is resealed; a record whose seal is already broken is
//! refused, so `measure` never launders an edited record into a freshly sealed one.

use std::path::PathBuf;

use anyhow::{Context, Result};
use benchseal_benches::Unit;

use crate::Outcome;
use crate::engine::process::{self, ProcessPlan};
use crate::exit::{Irreproducible, bad_input};
use crate::record::{ProcessRecord, RunRecord, Status};
use crate::slo::significant;

/// Arguments of `benchseal measure`.
#[derive(Debug, clap::Args)]
pub struct MeasureArgs {
    /// Measured runs.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub runs: u32,
    /// Unmeasured runs first.
    #[arg(long, default_value_t = 1)]
    pub warmup: u32,
    /// Id of the measurement (default: the program's file name).
    #[arg(long)]
    pub id: Option<String>,
    /// Unit of work one run of the command performs (bytes, weights, files, operations).
    #[arg(long, requires = "units", value_parser = parse_unit)]
    pub unit: Option<Unit>,
    /// Units of work per run of the command.
    #[arg(long, requires = "unit")]
    pub units: Option<u64>,
    /// A run record to add the measurement to (resealed); created if missing.
    #[arg(long, value_name = "RUN_FILE")]
    pub out: Option<PathBuf>,
    /// The command and its arguments.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

fn parse_unit(text: &str) -> Result<Unit, String> {
    match text {
        "bytes" => Ok(Unit::Bytes),
        "weights" => Ok(Unit::Weights),
        "files" => Ok(Unit::Files),
        "operations" => Ok(Unit::Operations),
        other => Err(format!(
            "unknown unit `{other}` (valid: bytes, weights, files, operations)"
        )),
    }
}

pub fn execute(args: MeasureArgs) -> Result<Outcome> {
    let id = args.id.clone().unwrap_or_else(|| {
        std::path::Path::new(&args.command[0])
            .file_name()
            .map_or_else(
                || args.command[0].clone(),
                |n| n.to_string_lossy().into_owned(),
            )
    });
    let plan = ProcessPlan {
        id,
        command: args.command.clone(),
        runs: args.runs,
        warmup: args.warmup,
        unit: args.unit,
        units: args.units,
    };
    let record = process::measure(&plan).map_err(|e| bad_input(e.to_string()))?;
    print!("{}", summary(&record));
    if let Some(out) = &args.out {
        append_to_run(out, record.clone())?;
        println!("added to {} (resealed)", out.display());
    }
    Ok(if record.status.is_ok() {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

/// The human-readable lines for one measurement.
pub fn summary(r: &ProcessRecord) -> String {
    let ms = |ns: Option<f64>| {
        ns.map_or("-".to_string(), |v| {
            format!("{} ms", significant(v / 1e6, 4))
        })
    };
    let mut out = format!("{}: {}\n", r.id, r.command.join(" "));
    match &r.status {
        Status::Ok => {
            out += &format!(
                "  runs {}  p50 {}  p95 {}  p99 {}  peak RSS {}\n",
                r.runs,
                ms(r.wall_p50_ns),
                ms(r.wall_p95_ns),
                ms(r.wall_p99_ns),
                r.peak_rss_bytes.map_or("-".into(), |b| format!(
                    "{} MiB",
                    significant(b as f64 / (1u64 << 20) as f64, 4)
                ))
            );
            if let (Some(unit), Some(units), Some(p50)) = (r.unit, r.units, r.wall_p50_ns) {
                out += &format!(
                    "  throughput at p50: {} {}/s\n",
                    significant(units as f64 * 1e9 / p50, 4),
                    unit.name()
                );
            }
        }
        other => out += &format!("  {other}\n"),
    }
    out
}

/// Adds (or replaces) a process measurement in a run record and reseals it.
pub fn append_to_run(path: &std::path::Path, record: ProcessRecord) -> Result<()> {
    let mut run = if path.exists() {
        let run = RunRecord::load(path)?;
        if let Err(why) = run.verify_seal() {
            return Err(Irreproducible(format!(
                "{}: {why}; refusing to reseal an edited record",
                path.display()
            ))
            .into());
        }
        run
    } else {
        new_run_record()
    };
    match run.processes.iter_mut().find(|p| p.id == record.id) {
        Some(existing) => *existing = record,
        None => run.processes.push(record),
    }
    run.seal()?;
    run.save(path)
        .with_context(|| format!("writing run record {}", path.display()))
}

/// A run record holding only process measurements: the environment and artifact of now.
pub fn new_run_record() -> RunRecord {
    let started = now_rfc3339();
    RunRecord {
        schema: crate::record::RUN_SCHEMA.into(),
        run_id: format!("measure-{}", started.replace([':', '-'], "")),
        started_at: started.clone(),
        finished_at: Some(started),
        complete: true,
        command: std::env::args().collect(),
        options: Default::default(),
        artifact: crate::record::Artifact {
            version: env!("CARGO_PKG_VERSION").into(),
            ..Default::default()
        },
        env: crate::env::snapshot(),
        env_after: None,
        env_changes: Vec::new(),
        tuning: Default::default(),
        workloads: Vec::new(),
        processes: Vec::new(),
        notes: Vec::new(),
        engine_failures: Vec::new(),
        timing: None,
        seal: None,
    }
}

/// Now, RFC 3339 UTC; `SOURCE_DATE_EPOCH` (the reproducible-builds convention) overrides
/// the clock so documents made twice from the same inputs are byte-identical.
pub fn now_rfc3339() -> String {
    let now = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .and_then(|secs| time::OffsetDateTime::from_unix_timestamp(secs).ok())
        .unwrap_or_else(time::OffsetDateTime::now_utc);
    now.replace_nanosecond(0)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}
