//! `benchseal env`: print, check, pin and reset the environment.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::Outcome;
use crate::env::pin::{self, PinPlan};
use crate::env::{self, EnvSources, SystemCommands};

/// Arguments of `benchseal env`.
#[derive(Debug, clap::Args)]
pub struct EnvArgs {
    /// Print JSON instead of a table (the snapshot, or the check items).
    #[arg(long, conflicts_with_all = ["pin", "reset"])]
    pub json: bool,
    /// Judge each tuning setting against benchseal's recommendation.
    #[arg(long, conflicts_with_all = ["pin", "reset"])]
    pub check: bool,
    /// Apply the recommended tuning this process may apply, saving the previous values.
    #[arg(long, conflicts_with = "reset")]
    pub pin: bool,
    /// With --pin: print what would change, change nothing.
    #[arg(long, requires = "pin")]
    pub dry_run: bool,
    /// Restore the values saved by --pin.
    #[arg(long)]
    pub reset: bool,
    /// The pin state file (default: .benchseal/pin-state.json in the workspace root, or
    /// $BENCHSEAL_PIN_STATE).
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,
}

pub fn execute(args: EnvArgs) -> Result<Outcome> {
    let commands = SystemCommands::default();
    let sources = EnvSources::system(&commands);
    let state_path = args
        .state
        .clone()
        .unwrap_or_else(|| pin::default_state_path(&sources.workdir));
    if args.reset {
        return reset(&state_path);
    }
    let snap = env::capture::capture(&sources);
    if args.pin {
        let plan = pin::plan(&snap, &sources.root);
        if args.dry_run {
            print!("{}", render_dry_run(&plan));
            return Ok(Outcome::Success);
        }
        let report = pin::apply(&plan, &sources.root, sources.commands, &state_path)?;
        print!("{}", render_pin(&report));
        return Ok(Outcome::Success);
    }
    if args.check {
        let items = env::check(&snap);
        let tuning = env::tuning_state(&snap);
        if args.json {
            let doc = serde_json::json!({
                "machine_class": snap.machine_class,
                "items": items,
                "tuned": tuning.tuned,
                "reasons": tuning.reasons,
            });
            println!("{}", serde_json::to_string_pretty(&doc)?);
        } else {
            print!("{}", render_check(&items, &tuning));
        }
        return Ok(Outcome::Success);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&snap)?);
    } else {
        print!("{}", render_snapshot(&snap)?);
    }
    Ok(Outcome::Success)
}

fn reset(state_path: &std::path::Path) -> Result<Outcome> {
    let report = pin::reset(&SystemCommands::default(), state_path)?;
    if !report.was_pinned {
        println!(
            "nothing to reset (no pin state at {})",
            state_path.display()
        );
        return Ok(Outcome::Success);
    }
    let mut out = String::new();
    section(&mut out, "restored", &report.restored);
    print!("{out}");
    if !report.failed.is_empty() {
        bail!(
            "could not restore {} setting(s): {}; they stay in {} for another `benchseal env --reset`",
            report.failed.len(),
            report.failed.join("; "),
            state_path.display()
        );
    }
    Ok(Outcome::Success)
}

/// A titled list; `(none)` when empty.
fn section(out: &mut String, title: &str, lines: &[String]) {
    out.push_str(title);
    out.push_str(":\n");
    if lines.is_empty() {
        out.push_str("  (none)\n");
    }
    for line in lines {
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
}

fn render_dry_run(plan: &PinPlan) -> String {
    let mut out = String::new();
    let would: Vec<String> = plan.actions.iter().map(|a| a.describe()).collect();
    section(&mut out, "would change", &would);
    section(&mut out, "left alone", &plan.left_alone);
    out.push_str("nothing was changed (--dry-run)\n");
    out
}

fn render_pin(report: &pin::PinReport) -> String {
    let mut out = String::new();
    section(&mut out, "applied", &report.applied);
    section(&mut out, "not applied", &report.not_applied);
    match &report.state_file {
        Some(path) => out.push_str(&format!(
            "previous values saved in {}; restore them with `benchseal env --reset`\n",
            path.display()
        )),
        None => out.push_str("nothing was changed\n"),
    }
    out
}

/// Rows padded to the widest cell of each column but the last.
pub(crate) fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[c]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn render_check(items: &[env::CheckItem], tuning: &crate::record::Tuning) -> String {
    let mut rows = vec![vec![
        "setting".to_string(),
        "value".into(),
        "recommended".into(),
        "verdict".into(),
    ]];
    rows.extend(items.iter().map(|i| {
        vec![
            i.name.clone(),
            i.value.clone(),
            i.recommended.clone(),
            i.state.to_string(),
        ]
    }));
    let mut out = table(&rows);
    out.push_str(&format!(
        "tuned: {}\n",
        if tuning.tuned { "yes" } else { "no" }
    ));
    out
}

/// The snapshot as `[section]` headings with `key  value` rows under each; top-level
/// values (schema, machine class, capture time) come first.
fn render_snapshot(snap: &env::EnvSnapshot) -> Result<String> {
    let mut top: Vec<Vec<String>> = Vec::new();
    let mut sections: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    for (key, value) in env::flatten_snapshot(snap)? {
        if key == "machine_class_basis" {
            // One row per basis line: they contain commas, so the joined form misleads.
            top.extend(
                snap.machine_class_basis
                    .iter()
                    .map(|line| vec![String::new(), line.clone()]),
            );
            continue;
        }
        match key.split_once('.') {
            Some((head, rest)) => sections
                .entry(head.to_string())
                .or_default()
                .push(vec![rest.to_string(), value]),
            None => top.push(vec![key, value]),
        }
    }
    let mut out = table(&top);
    for (title, rows) in sections {
        out.push_str(&format!("[{title}]\n"));
        for line in table(&rows).lines() {
            out.push_str("  ");
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_all_but_the_last_column() {
        let rows = vec![
            vec!["a".to_string(), "bb".into(), "c".into()],
            vec!["aaa".to_string(), "b".into(), "".into()],
        ];
        assert_eq!(table(&rows), "a    bb  c\naaa  b\n");
    }
}
