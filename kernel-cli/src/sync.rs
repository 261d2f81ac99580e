//! `benchseal sync plan SRC DST`: the sync plan of a real pair of trees, for a person
//! (aligned columns, counts, problems) or for a program (`--json`, schema
//! `benchseal.sync-plan/1`). Planning itself lives in `benchseal_kernels::sync::plan`; this
//! module only parses, renders and maps outcomes to exit codes.
//!
//! Exit codes: 0 when every path was planned; 1 when some paths could not be planned (they
//! are listed, and got no action); 2 for bad usage or an unusable root or glob.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use benchseal_kernels::sync::plan::{EntryKind, Excludes, Plan, PlanEntry, plan};
use clap::Subcommand;
use serde::Serialize;

use crate::{ToolExit, bad_input};

/// Schema name of the `--json` output.
pub const PLAN_SCHEMA: &str = "benchseal.sync-plan/1";

/// Arguments of `benchseal sync`.
#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    #[command(subcommand)]
    pub command: SyncCommand,
}

#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Plan the sync of DST from SRC (create / update / delete / unchanged); writes nothing.
    ///
    /// Exits 1 when some paths could not be planned (they are listed with the reason).
    Plan(PlanArgs),
}

/// Arguments of `benchseal sync plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The source tree: what the target should become.
    pub src: PathBuf,
    /// The target tree; a missing target is planned as empty.
    pub dst: PathBuf,
    /// Print the plan as JSON (schema benchseal.sync-plan/1) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Leave out paths matching GLOB, matched against the `/`-separated relative path
    /// (`*` also matches `/`; an excluded directory is not walked). Repeatable.
    #[arg(long = "exclude", value_name = "GLOB")]
    pub excludes: Vec<String>,
    /// Also list unchanged entries in the table (always included in --json).
    #[arg(long)]
    pub all: bool,
}

pub fn execute(args: SyncArgs) -> Result<ToolExit> {
    match args.command {
        SyncCommand::Plan(args) => execute_plan(args),
    }
}

fn execute_plan(args: PlanArgs) -> Result<ToolExit> {
    let excludes = Excludes::new(&args.excludes).map_err(|e| bad_input(e.to_string()))?;
    let plan = plan(&args.src, &args.dst, &excludes).map_err(|e| bad_input(e.to_string()))?;
    let text = if args.json {
        let mut json = serde_json::to_string_pretty(&PlanJson::new(&args.src, &args.dst, &plan))
            .context("serialising the plan")?;
        json.push('\n');
        json
    } else {
        render_table(&plan, args.all)
    };
    print!("{text}");
    Ok(if plan.problems.is_empty() {
        ToolExit::Success
    } else {
        ToolExit::Failed
    })
}

/// A path for people: lossy UTF-8, directories with a trailing `/`.
fn display_path(path: &Path, kind: EntryKind) -> String {
    let mut s = path.to_string_lossy().into_owned();
    if kind == EntryKind::Dir {
        s.push('/');
    }
    s
}

fn size_text(entry: &PlanEntry) -> String {
    entry.size.map_or_else(|| "-".into(), |s| s.to_string())
}

/// The table: one row per entry (unchanged ones only with `all`), then the counts, then
/// the problems.
pub fn render_table(plan: &Plan, all: bool) -> String {
    let rows: Vec<&PlanEntry> = plan
        .entries
        .iter()
        .filter(|e| all || e.action != benchseal_kernels::sync::plan::Action::Unchanged)
        .collect();
    let size_width = rows
        .iter()
        .map(|e| size_text(e).len())
        .chain(["SIZE".len()])
        .max()
        .unwrap_or(4);
    let mut out = String::new();
    if !rows.is_empty() {
        let _ = writeln!(
            out,
            "{:<9}  {:<7}  {:>size_width$}  PATH",
            "ACTION", "KIND", "SIZE"
        );
        for e in rows {
            let mut line = format!(
                "{:<9}  {:<7}  {:>size_width$}  {}",
                e.action.name(),
                e.kind.name(),
                size_text(e),
                display_path(&e.path, e.kind)
            );
            if let Some(target) = &e.link_target {
                let _ = write!(line, " -> {}", target.to_string_lossy());
            }
            if e.action == benchseal_kernels::sync::plan::Action::Update {
                let _ = write!(line, "  ({} differs)", e.evidence.name());
            }
            out.push_str(&line);
            out.push('\n');
        }
    }
    let s = plan.summary();
    let _ = writeln!(
        out,
        "plan: {} create, {} update, {} delete, {} unchanged; {} excluded; {} problem{}",
        s.create,
        s.update,
        s.delete,
        s.unchanged,
        plan.excluded,
        plan.problems.len(),
        if plan.problems.len() == 1 { "" } else { "s" }
    );
    if !plan.problems.is_empty() {
        out.push_str("problems (these paths got no action):\n");
        for p in &plan.problems {
            let path = if p.path.as_os_str().is_empty() {
                ".".to_string()
            } else {
                p.path.to_string_lossy().into_owned()
            };
            let _ = writeln!(
                out,
                "  {:<6}  {:<15}  {}: {}",
                p.side.name(),
                p.kind.name(),
                path,
                p.detail
            );
        }
    }
    out
}

#[derive(Serialize)]
struct PlanJson {
    schema: &'static str,
    source: String,
    target: String,
    summary: SummaryJson,
    entries: Vec<EntryJson>,
    problems: Vec<ProblemJson>,
}

#[derive(Serialize)]
struct SummaryJson {
    create: u64,
    update: u64,
    delete: u64,
    unchanged: u64,
    excluded: u64,
    problems: usize,
}

/// A path in JSON: lossy text always, the exact bytes in hex when the name is not UTF-8.
#[derive(Serialize)]
struct PathJson {
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_bytes_hex: Option<String>,
}

impl PathJson {
    fn new(path: &OsStr) -> Self {
        PathJson {
            path: path.to_string_lossy().into_owned(),
            path_bytes_hex: path
                .to_str()
                .is_none()
                .then(|| hex::encode(path.as_encoded_bytes())),
        }
    }
}

#[derive(Serialize)]
struct EntryJson {
    #[serde(flatten)]
    path: PathJson,
    action: &'static str,
    kind: &'static str,
    size: Option<u64>,
    sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    link_target: Option<PathJson>,
    evidence: &'static str,
}

#[derive(Serialize)]
struct ProblemJson {
    side: &'static str,
    #[serde(flatten)]
    path: PathJson,
    kind: &'static str,
    detail: String,
}

impl PlanJson {
    fn new(src: &Path, dst: &Path, plan: &Plan) -> Self {
        let s = plan.summary();
        PlanJson {
            schema: PLAN_SCHEMA,
            source: src.to_string_lossy().into_owned(),
            target: dst.to_string_lossy().into_owned(),
            summary: SummaryJson {
                create: s.create,
                update: s.update,
                delete: s.delete,
                unchanged: s.unchanged,
                excluded: plan.excluded,
                problems: plan.problems.len(),
            },
            entries: plan
                .entries
                .iter()
                .map(|e| EntryJson {
                    path: PathJson::new(e.path.as_os_str()),
                    action: e.action.name(),
                    kind: e.kind.name(),
                    size: e.size,
                    sha256: e.digest.map(hex::encode),
                    link_target: e.link_target.as_deref().map(PathJson::new),
                    evidence: e.evidence.name(),
                })
                .collect(),
            problems: plan
                .problems
                .iter()
                .map(|p| ProblemJson {
                    side: p.side.name(),
                    path: PathJson::new(p.path.as_os_str()),
                    kind: p.kind.name(),
                    detail: p.detail.clone(),
                })
                .collect(),
        }
    }
}
