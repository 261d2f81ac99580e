//! `benchseal env` as text: the snapshot, the check, what pinning would do and did.

use std::collections::BTreeMap;

use anyhow::Result;

use crate::analysis::env::CheckItem;
use crate::model::env::EnvSnapshot;
use crate::model::record::Tuning;
use crate::present::table::Table;
use crate::sys::env::pin::{PinPlan, PinReport};

/// A titled list; `(none)` when empty.
pub fn section(out: &mut String, title: &str, lines: &[String]) {
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

pub fn render_dry_run(plan: &PinPlan) -> String {
    let mut out = String::new();
    let would: Vec<String> = plan.actions.iter().map(|a| a.describe()).collect();
    section(&mut out, "would change", &would);
    section(&mut out, "left alone", &plan.left_alone);
    out.push_str("nothing was changed (--dry-run)\n");
    out
}

pub fn render_pin(report: &PinReport) -> String {
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

pub fn render_check(items: &[CheckItem], tuning: &Tuning) -> String {
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
    let mut out = Table::rows_only(&rows);
    out.push_str(&format!(
        "tuned: {}\n",
        if tuning.tuned { "yes" } else { "no" }
    ));
    out
}

/// The snapshot as `[section]` headings with `key  value` rows under each; top-level
/// values (schema, machine class, capture time) come first.
pub fn render_snapshot(snap: &EnvSnapshot) -> Result<String> {
    let mut top: Vec<Vec<String>> = Vec::new();
    let mut sections: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    for (key, value) in crate::analysis::env::flatten_snapshot(snap)? {
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
    let mut out = Table::rows_only(&top);
    for (title, rows) in sections {
        out.push_str(&format!("[{title}]\n"));
        for line in Table::rows_only(&rows).lines() {
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
        assert_eq!(Table::rows_only(&rows), "a    bb  c\naaa  b\n");
    }
}
