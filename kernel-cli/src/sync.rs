//! `benchseal sync plan SRC DST`: the sync plan of a real pair of trees, for a person
//! (aligned columns, counts, problems) or for a program (`--json`, schema
//! `benchseal.sync-plan/2`). Planning itself lives in `benchseal_kernels::sync::plan`; this
//! module only parses, renders and maps outcomes to exit codes.
//!
//! `benchseal sync tree SRC DST` writes the two trees a `sync/plan/tree-26-dirs` workload
//! plans (the registry's own seeded generator, `benchseal_benches::write_plan_trees`), so a
//! whole command (`benchseal sync plan`, `rsync -an --checksum --delete`) can be timed on
//! exactly the work the workload times. It writes only into missing or empty directories.
//!
//! Names are file-system bytes, not always UTF-8. Both outputs write them losslessly in one
//! escaped form ([`escape_name`]): UTF-8 text as it is, a backslash as `\\`, and every byte
//! that is not part of valid UTF-8 as `\xNN` (two lowercase hex digits), so `n\xff` and
//! `n\xfe` stay two names and the bytes can be recovered by undoing the two escapes. The
//! table also writes control characters (a newline, a tab, an escape) as the `\xNN` of their
//! bytes, so one name stays on one row. In JSON a name that is not UTF-8 also carries its
//! exact bytes in hex (`path_bytes_hex`).
//!
//! Exit codes: 0 when every path was planned; 1 when some paths could not be planned (they
//! are listed, and got no action); 2 for bad usage or an unusable root or glob.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use benchseal_benches::{Size, write_plan_trees};
use benchseal_kernels::sync::plan::{EntryKind, Excludes, Plan, PlanEntry, plan};
use clap::Subcommand;
use serde::Serialize;

use crate::{ToolExit, bad_input};

/// Schema name of the `--json` output.
/// (`/2`: names are escaped, see the module docs; `/1` wrote them lossily.)
pub const PLAN_SCHEMA: &str = "benchseal.sync-plan/2";

/// Examples and exit codes of `sync plan`, after `--help`.
const PLAN_HELP: &str = r#"Examples:
  benchseal sync plan site/ /srv/www/
  benchseal sync plan --exclude '*.tmp' --exclude '.git' repo/ mirror/
  benchseal sync plan --json --all src/ dst/ > plan.json

Exit codes: 0 planned; 1 some paths could not be planned (each is listed with the reason);
2 bad input (a source that is not a readable directory, a bad --exclude glob)."#;

/// Arguments of `benchseal sync`.
#[derive(Debug, clap::Args)]
#[command(after_help = PLAN_HELP)]
pub struct SyncArgs {
    #[command(subcommand)]
    pub command: SyncCommand,
}

/// Examples and exit codes of `sync tree`, after `--help`.
const TREE_HELP: &str = r#"Examples:
  benchseal sync tree /tmp/t/src /tmp/t/dst
  benchseal sync tree --size medium src/ dst/ && rsync -an --checksum --delete src/ dst/

Exit codes: 0 written; 1 an I/O error while writing; 2 bad input (SRC or DST is not a
missing or empty directory)."#;

#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Plan the sync of DST from SRC (create / update / delete / unchanged); writes nothing.
    ///
    /// Exits 1 when some paths could not be planned (they are listed with the reason).
    #[command(after_help = PLAN_HELP)]
    Plan(PlanArgs),
    /// Write the source and target trees of the sync/plan/tree-26-dirs workload.
    ///
    /// The same seeded files the workload plans, for timing whole commands on them.
    #[command(after_help = TREE_HELP)]
    Tree(TreeArgs),
}

/// Arguments of `benchseal sync tree`.
#[derive(Debug, clap::Args)]
pub struct TreeArgs {
    /// The workload's size tier: tiny (104 source files), small (1000), medium (10 000).
    #[arg(long, value_enum, default_value_t = TreeSize::Small)]
    pub size: TreeSize,
    /// Where the source tree goes: a missing or empty directory.
    pub src: PathBuf,
    /// Where the target tree goes: a missing or empty directory.
    pub dst: PathBuf,
}

/// The size tiers of `sync/plan/tree-26-dirs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TreeSize {
    Tiny,
    Small,
    Medium,
}

impl TreeSize {
    fn size(self) -> Size {
        match self {
            TreeSize::Tiny => Size::Tiny,
            TreeSize::Small => Size::Small,
            TreeSize::Medium => Size::Medium,
        }
    }
}

/// Arguments of `benchseal sync plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The source tree: what the target should become.
    pub src: PathBuf,
    /// The target tree; a missing target is planned as empty.
    pub dst: PathBuf,
    /// Print the plan as JSON (schema benchseal.sync-plan/2) instead of a table. Names are
    /// escaped losslessly: `\\` for a backslash, `\xNN` for a byte that is not UTF-8.
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
        SyncCommand::Tree(args) => execute_tree(args),
    }
}

/// Refuses a path that exists and is not an empty directory: writing a tree into one
/// would mix the workload's files with others (or overwrite them).
fn check_missing_or_empty(path: &Path, role: &str) -> Result<()> {
    let mut entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) if path.exists() && !path.is_dir() => {
            return Err(bad_input(format!(
                "{role} {}: not a directory ({e})",
                path.display()
            )));
        }
        Err(e) => return Err(bad_input(format!("{role} {}: {e}", path.display()))),
    };
    if entries.next().is_some() {
        return Err(bad_input(format!(
            "{role} {} is not empty; sync tree writes only into a missing or empty directory",
            path.display()
        )));
    }
    Ok(())
}

fn execute_tree(args: TreeArgs) -> Result<ToolExit> {
    check_missing_or_empty(&args.src, "source")?;
    check_missing_or_empty(&args.dst, "target")?;
    let written = write_plan_trees(args.size.size(), &args.src, &args.dst)
        .map_err(anyhow::Error::msg)
        .context("writing the sync plan trees")?;
    println!(
        "wrote {} ({} source files) to {} and {} target files to {}",
        written.workload,
        written.source_files,
        args.src.display(),
        written.target_files,
        args.dst.display()
    );
    Ok(ToolExit::Success)
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

/// Where an escaped name goes: a table escapes control characters too.
#[derive(Clone, Copy, PartialEq, Eq)]
enum EscapeFor {
    Json,
    Table,
}

/// A name written losslessly (see the module docs): `\` as `\\`, bytes that are not UTF-8
/// as `\xNN`, and for a table, control characters as the `\xNN` of their bytes.
fn escape_name(name: &OsStr, to: EscapeFor) -> String {
    let mut out = String::new();
    for chunk in name.as_encoded_bytes().utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else if to == EscapeFor::Table && c.is_control() {
                for b in c.encode_utf8(&mut [0; 4]).bytes() {
                    let _ = write!(out, "\\x{b:02x}");
                }
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// A path for people: escaped for a table, directories with a trailing `/`.
fn display_path(path: &Path, kind: EntryKind) -> String {
    let mut s = escape_name(path.as_os_str(), EscapeFor::Table);
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
                let _ = write!(
                    line,
                    " -> {}",
                    escape_name(target.as_os_str(), EscapeFor::Table)
                );
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
                escape_name(p.path.as_os_str(), EscapeFor::Table)
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

/// A path in JSON: escaped text always (lossless, see the module docs), and the exact
/// bytes in hex when the name is not UTF-8.
#[derive(Serialize)]
struct PathJson {
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_bytes_hex: Option<String>,
}

impl PathJson {
    fn new(path: &OsStr) -> Self {
        PathJson {
            path: escape_name(path, EscapeFor::Json),
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
            source: escape_name(src.as_os_str(), EscapeFor::Json),
            target: escape_name(dst.as_os_str(), EscapeFor::Json),
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

#[cfg(test)]
mod tests {
    use std::os::unix::ffi::OsStrExt;

    use super::*;

    fn escaped(bytes: &[u8], to: EscapeFor) -> String {
        escape_name(OsStr::from_bytes(bytes), to)
    }

    /// Undoes [`escape_name`]'s JSON form.
    fn unescape(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let mut rest = text.as_bytes();
        while let Some((&b, tail)) = rest.split_first() {
            rest = tail;
            match (b, rest) {
                (b'\\', [b'\\', tail @ ..]) => {
                    out.push(b'\\');
                    rest = tail;
                }
                (b'\\', [b'x', h, l, tail @ ..]) => {
                    let hex = std::str::from_utf8(&[*h, *l]).unwrap().to_string();
                    out.push(u8::from_str_radix(&hex, 16).unwrap());
                    rest = tail;
                }
                _ => out.push(b),
            }
        }
        out
    }

    #[test]
    fn non_utf8_names_stay_distinct_and_round_trip() {
        let names: [&[u8]; 6] = [
            b"n\xff",
            b"n\xfe",
            b"n\\xff",
            b"caf\xc3\xa9",
            b"a\nb",
            b"\\",
        ];
        let json: Vec<String> = names.iter().map(|n| escaped(n, EscapeFor::Json)).collect();
        assert_eq!(json[..3], ["n\\xff", "n\\xfe", "n\\\\xff"]);
        assert_eq!(json[3], "café");
        for (name, text) in names.iter().zip(&json) {
            assert_eq!(&unescape(text), name, "{text}");
        }
        let table: Vec<String> = names.iter().map(|n| escaped(n, EscapeFor::Table)).collect();
        assert_eq!(table[4], "a\\x0ab", "a newline does not split a row");
        for (name, text) in names.iter().zip(&table) {
            assert_eq!(&unescape(text), name, "{text}");
        }
    }
}
