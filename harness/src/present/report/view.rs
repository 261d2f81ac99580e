//! What the second report layout adds to the model for its templates: the rows that need
//! attention, the rest counted by verdict, and skipped items grouped by reason. Computed
//! from the model alone, so a rendering can still be checked by rendering again.

use serde::Serialize;

use crate::analysis::signoff::{ComparisonRow, DigestRow, InstrRow, SignoffReport};

/// A verdict and how many rows have it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Count {
    pub verdict: String,
    pub count: usize,
}

/// One reason and every item skipped for it, in the order they were skipped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SkippedGroup {
    pub reason: String,
    pub items: Vec<String>,
}

/// A release precondition as the templates show it: its reason's first line (exit status,
/// OS error, why skipped) apart from the lines the command printed last.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PreconditionView {
    pub command: String,
    pub status: String,
    pub first: Option<String>,
    pub last_lines: Option<String>,
    /// `12.3 s`, or `-` when it did not run.
    pub time: String,
}

/// The condensed view of a report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct View {
    /// Compared lines that regressed, improved or block.
    pub notable_comparisons: Vec<ComparisonRow>,
    /// Compared lines that neither moved nor block (inconclusive ones, mostly).
    pub quiet_comparisons: usize,
    /// Every compared line, counted by verdict (`unchanged` lines are not in the model).
    pub comparison_counts: Vec<Count>,
    /// Digests that did not reproduce (differs, unchecked).
    pub digest_exceptions: Vec<DigestRow>,
    pub digest_counts: Vec<Count>,
    /// Instruction counts that are not equal to the baseline's.
    pub instr_exceptions: Vec<InstrRow>,
    pub instr_counts: Vec<Count>,
    /// Of the instruction counts, how many came from the same executable as the baseline's.
    pub instr_same_executable: usize,
    pub skipped_groups: Vec<SkippedGroup>,
    pub preconditions: Vec<PreconditionView>,
    pub precondition_counts: Vec<Count>,
}

/// Counts of `verdicts` in order of first appearance.
fn counts<'a>(verdicts: impl Iterator<Item = &'a str>) -> Vec<Count> {
    let mut out: Vec<Count> = Vec::new();
    for verdict in verdicts {
        match out.iter_mut().find(|c| c.verdict == verdict) {
            Some(c) => c.count += 1,
            None => out.push(Count {
                verdict: verdict.to_string(),
                count: 1,
            }),
        }
    }
    out
}

impl View {
    pub fn of(report: &SignoffReport) -> View {
        let repro = &report.reproducibility;
        let mut skipped_groups: Vec<SkippedGroup> = Vec::new();
        for s in &report.skipped {
            match skipped_groups.iter_mut().find(|g| g.reason == s.reason) {
                Some(g) => g.items.push(s.item.clone()),
                None => skipped_groups.push(SkippedGroup {
                    reason: s.reason.clone(),
                    items: vec![s.item.clone()],
                }),
            }
        }
        let notable_comparisons: Vec<ComparisonRow> = report
            .comparisons
            .iter()
            .filter(|c| c.blocks || matches!(c.verdict.as_str(), "regressed" | "improved"))
            .cloned()
            .collect();
        View {
            quiet_comparisons: report.comparisons.len() - notable_comparisons.len(),
            notable_comparisons,
            comparison_counts: counts(report.comparisons.iter().map(|c| c.verdict.as_str())),
            digest_exceptions: repro
                .digests
                .iter()
                .filter(|d| d.verdict != "reproduced")
                .cloned()
                .collect(),
            digest_counts: counts(repro.digests.iter().map(|d| d.verdict.as_str())),
            instr_exceptions: repro
                .instructions
                .iter()
                .filter(|i| i.verdict != "equal")
                .cloned()
                .collect(),
            instr_counts: counts(repro.instructions.iter().map(|i| i.verdict.as_str())),
            instr_same_executable: repro
                .instructions
                .iter()
                .filter(|i| i.same_executable == Some(true))
                .count(),
            skipped_groups,
            preconditions: report
                .preconditions
                .iter()
                .map(|p| {
                    let (first, rest) = match p.reason.as_deref().map(|r| r.split_once('\n')) {
                        None => (None, None),
                        Some(None) => (p.reason.clone(), None),
                        Some(Some((first, rest))) => (Some(first.into()), Some(rest.into())),
                    };
                    PreconditionView {
                        command: p.command.clone(),
                        status: p.status.clone(),
                        first,
                        last_lines: rest,
                        time: p.seconds.map_or("-".into(), |s| {
                            crate::analysis::format::format_time(s * 1e9)
                        }),
                    }
                })
                .collect(),
            precondition_counts: counts(report.preconditions.iter().map(|p| p.status.as_str())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::signoff::SkippedRow;

    #[test]
    fn the_view_keeps_what_needs_attention_and_counts_the_rest() {
        let mut report = SignoffReport::derive(crate::analysis::fixture::inputs()).unwrap();
        let row = |verdict: &str, blocks: bool| ComparisonRow {
            subject: format!("quant/x@{verdict}"),
            metric: "wall".into(),
            baseline: "1 µs".into(),
            current: "1 µs".into(),
            change_pct: Some(0.0),
            statistics: String::new(),
            verdict: verdict.into(),
            how: None,
            blocks,
        };
        report.comparisons = vec![
            row("inconclusive", false),
            row("regressed", true),
            row("inconclusive", false),
            row("improved", false),
            row("inconclusive", true),
        ];
        let note = "the instr engine runs the tiny and small tiers";
        report.skipped = ["a/1", "a/2", "b/1"]
            .iter()
            .map(|item| SkippedRow {
                item: item.to_string(),
                reason: if item.starts_with('a') {
                    note
                } else {
                    "missing"
                }
                .into(),
            })
            .collect();
        let view = View::of(&report);
        let notable: Vec<&str> = view
            .notable_comparisons
            .iter()
            .map(|c| c.verdict.as_str())
            .collect();
        assert_eq!(notable, ["regressed", "improved", "inconclusive"]);
        assert_eq!(view.quiet_comparisons, 2);
        assert_eq!(
            view.comparison_counts,
            [
                Count {
                    verdict: "inconclusive".into(),
                    count: 3
                },
                Count {
                    verdict: "regressed".into(),
                    count: 1
                },
                Count {
                    verdict: "improved".into(),
                    count: 1
                },
            ]
        );
        assert_eq!(
            view.skipped_groups,
            [
                SkippedGroup {
                    reason: note.into(),
                    items: vec!["a/1".into(), "a/2".into()]
                },
                SkippedGroup {
                    reason: "missing".into(),
                    items: vec!["b/1".into()]
                },
            ]
        );
        let digests = report.reproducibility.digests.len();
        let reproduced: usize = view
            .digest_counts
            .iter()
            .filter(|c| c.verdict == "reproduced")
            .map(|c| c.count)
            .sum();
        assert_eq!(reproduced + view.digest_exceptions.len(), digests);
    }
}
