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

/// How many decision reasons, compared lines and differing instruction counts the
/// Markdown shows in full from layout 3 on (the rest are counted and listed in
/// `signoff.html` and `signoff.json`), so that a quick sign-off fits a pull request comment.
pub const SHOWN: usize = 10;

/// A function behind a moved instruction count, its figures written out.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FunctionView {
    pub function: String,
    pub self_old: String,
    pub self_new: String,
    /// `+1,210,442`, `-131`.
    pub delta: String,
    /// `10,103,067 → 11,311,989`.
    pub inclusive: String,
}

/// Where a moved instruction count's instructions went, as the templates show it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExplanationView {
    pub benchmark: String,
    /// The flame graphs written beside the report when there are functions:
    /// `<flame>.svg` (the new run) and `<flame>-diff.svg` (old → new).
    pub flame: String,
    /// The two raw profiles, or why there are no functions.
    pub source: String,
    pub functions: Vec<FunctionView>,
}

impl ExplanationView {
    pub fn of(e: &crate::analysis::callgrind::Explanation) -> ExplanationView {
        use crate::analysis::format::format_count;
        let source = match (&e.skipped, &e.old_profile, &e.new_profile) {
            (Some(why), _, _) => format!("skipped ({why})"),
            (None, a, b) => format!(
                "callgrind profiles {} → {}",
                a.as_deref().unwrap_or("-"),
                b.as_deref().unwrap_or("-")
            ),
        };
        let functions = e
            .functions
            .iter()
            .map(|f| {
                let delta = f.self_delta();
                let sign = match delta.signum() {
                    1 => "+",
                    -1 => "-",
                    _ => "",
                };
                FunctionView {
                    function: f.function.clone(),
                    self_old: format_count(f.self_old),
                    self_new: format_count(f.self_new),
                    delta: format!("{sign}{}", format_count(delta.unsigned_abs() as u64)),
                    inclusive: format!(
                        "{} → {}",
                        format_count(f.inclusive_old),
                        format_count(f.inclusive_new)
                    ),
                }
            })
            .collect();
        ExplanationView {
            benchmark: e.benchmark.clone(),
            flame: flame_name(&e.benchmark),
            source,
            functions,
        }
    }
}

/// The base name of a benchmark's flame graph files beside the report.
pub fn flame_name(benchmark: &str) -> String {
    format!("flamegraph-{}", benchmark.replace(['/', '@'], "_"))
}

impl PreconditionView {
    pub fn of(p: &crate::analysis::signoff::PreconditionRow) -> PreconditionView {
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
    }
}

/// The condensed view of a report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct View {
    /// The decision's reasons shown in full: all of them in layout 2, the first
    /// [`SHOWN`] from layout 3 on.
    pub reasons: Vec<String>,
    /// The reasons not shown.
    pub reasons_more: usize,
    /// Compared lines that regressed, improved or block.
    pub notable_comparisons: Vec<ComparisonRow>,
    /// The notable lines the Markdown shows: all of them in layout 2; from layout 3 on the
    /// [`SHOWN`] largest changes, blocking lines first.
    pub top_comparisons: Vec<ComparisonRow>,
    /// Notable lines not among `top_comparisons`.
    pub top_more: usize,
    /// Compared lines that neither moved nor block (inconclusive ones, mostly).
    pub quiet_comparisons: usize,
    /// Every compared line, counted by verdict (`unchanged` lines are not in the model).
    pub comparison_counts: Vec<Count>,
    /// Digests that did not reproduce (differs, unchecked).
    pub digest_exceptions: Vec<DigestRow>,
    pub digest_counts: Vec<Count>,
    /// Instruction counts that are not equal to the baseline's.
    pub instr_exceptions: Vec<InstrRow>,
    /// The exceptions the Markdown shows (all in layout 2, the first [`SHOWN`] from layout
    /// 3 on), and how many it leaves to the other files.
    pub instr_shown: Vec<InstrRow>,
    pub instr_more: usize,
    pub instr_counts: Vec<Count>,
    /// Of the instruction counts, how many came from the same executable as the baseline's.
    pub instr_same_executable: usize,
    pub skipped_groups: Vec<SkippedGroup>,
    pub preconditions: Vec<PreconditionView>,
    pub precondition_counts: Vec<Count>,
    /// The functions behind each moved instruction count (the Markdown shows five of
    /// each, the HTML all ten).
    pub explanations: Vec<ExplanationView>,
    /// The explanations the Markdown shows, one line each ([`SHOWN`] at most), and how many
    /// it leaves to the HTML.
    pub explanations_shown: Vec<ExplanationView>,
    pub explanations_more: usize,
    /// Thread scaling of the run's parallel workloads, with the widest count's figures
    /// written out for the Markdown's one row per workload.
    pub scaling: Vec<ScalingSummary>,
    /// Whether an objective row carries a roof fraction or a peer ratio (rules 6 on): the
    /// compliance table then shows those two columns.
    pub roof_columns: bool,
}

/// A workload's thread scaling, and the figures of its widest thread count.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScalingSummary {
    #[serde(flatten)]
    pub view: crate::analysis::scaling::ScalingView,
    pub widest_threads: usize,
    /// One-thread and widest-count median times.
    pub single_time: String,
    pub widest_time: String,
    pub widest_throughput: String,
    pub speedup: String,
    pub efficiency: String,
}

impl ScalingSummary {
    pub fn of(record: &crate::model::record::ScalingRecord) -> ScalingSummary {
        use crate::analysis::scaling::ScalingView;
        let view = ScalingView::of(record);
        let single = view.rows.iter().find(|r| r.threads == 1);
        let widest = view.widest();
        ScalingSummary {
            widest_threads: widest.map_or(0, |r| r.threads),
            single_time: single.map_or("-".into(), |r| r.time.clone()),
            widest_time: widest.map_or("-".into(), |r| r.time.clone()),
            widest_throughput: widest.map_or("-".into(), |r| r.throughput.clone()),
            speedup: widest.map_or("n/a".into(), |r| r.speedup_text.clone()),
            efficiency: widest.map_or("n/a".into(), |r| r.efficiency_text.clone()),
            view,
        }
    }
}

/// The first `limit` of `items` (all without a limit) and how many are left out.
fn capped<T: Clone>(items: &[T], limit: Option<usize>) -> (Vec<T>, usize) {
    let n = limit.map_or(items.len(), |l| l.min(items.len()));
    (items[..n].to_vec(), items.len() - n)
}

/// The size of a change for ordering: blocking lines first, then by the distance of the
/// ratio from 1 on a log scale (a halving as large as a doubling); lines without a change
/// last.
fn change_size(c: &ComparisonRow) -> (bool, f64) {
    let size = c
        .change_pct
        .map_or(0.0, |pct| (1.0 + pct / 100.0).max(1e-12).ln().abs());
    (c.blocks, size)
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
        let limit = (report.inputs.layout >= 3).then_some(SHOWN);
        let (reasons, reasons_more) = capped(&report.decision.reasons, limit);
        let mut by_size = notable_comparisons.clone();
        if limit.is_some() {
            by_size.sort_by(|a, b| {
                let (a, b) = (change_size(a), change_size(b));
                b.0.cmp(&a.0).then(b.1.total_cmp(&a.1))
            });
        }
        let (top_comparisons, top_more) = capped(&by_size, limit);
        let instr_exceptions: Vec<InstrRow> = repro
            .instructions
            .iter()
            .filter(|i| i.verdict != "equal")
            .cloned()
            .collect();
        let (instr_shown, instr_more) = capped(&instr_exceptions, limit);
        let explanations: Vec<ExplanationView> = report
            .inputs
            .explanations
            .iter()
            .map(ExplanationView::of)
            .collect();
        let (explanations_shown, explanations_more) = capped(&explanations, Some(SHOWN));
        View {
            reasons,
            reasons_more,
            quiet_comparisons: report.comparisons.len() - notable_comparisons.len(),
            notable_comparisons,
            top_comparisons,
            top_more,
            comparison_counts: counts(report.comparisons.iter().map(|c| c.verdict.as_str())),
            digest_exceptions: repro
                .digests
                .iter()
                .filter(|d| d.verdict != "reproduced")
                .cloned()
                .collect(),
            digest_counts: counts(repro.digests.iter().map(|d| d.verdict.as_str())),
            instr_exceptions,
            instr_shown,
            instr_more,
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
                .map(PreconditionView::of)
                .collect(),
            precondition_counts: counts(report.preconditions.iter().map(|p| p.status.as_str())),
            explanations_shown,
            explanations_more,
            explanations,
            scaling: report
                .inputs
                .run
                .scaling
                .iter()
                .map(ScalingSummary::of)
                .collect(),
            roof_columns: report
                .objectives
                .iter()
                .any(|o| o.roof.is_some() || o.peer.is_some()),
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

    #[test]
    fn from_layout_3_the_markdown_shows_ten_of_each_largest_and_blocking_first() {
        let mut report = SignoffReport::derive(crate::analysis::fixture::inputs()).unwrap();
        let row = |n: usize, pct: f64, blocks: bool| ComparisonRow {
            subject: format!("quant/x{n}@scalar"),
            metric: "wall".into(),
            baseline: "1 µs".into(),
            current: "1 µs".into(),
            change_pct: Some(pct),
            statistics: String::new(),
            verdict: if pct > 0.0 { "regressed" } else { "improved" }.into(),
            how: None,
            blocks,
        };
        // 14 lines: one small blocking regression, a halving, and 12 of growing size.
        report.comparisons = vec![row(0, 4.0, true), row(1, -50.0, false)];
        report
            .comparisons
            .extend((2..14).map(|n| row(n, n as f64 * 5.0, false)));
        report.decision.reasons = (0..13).map(|n| format!("reason {n}")).collect();

        report.inputs.layout = 2;
        let all = View::of(&report);
        assert_eq!((all.reasons.len(), all.reasons_more), (13, 0));
        assert_eq!((all.top_comparisons.len(), all.top_more), (14, 0));
        assert_eq!(all.top_comparisons, all.notable_comparisons);

        report.inputs.layout = 3;
        let view = View::of(&report);
        assert_eq!(view.reasons, report.decision.reasons[..SHOWN].to_vec());
        assert_eq!(view.reasons_more, 3);
        assert_eq!(view.notable_comparisons.len(), 14);
        let order: Vec<&str> = view
            .top_comparisons
            .iter()
            .map(|c| c.subject.as_str())
            .collect();
        // Blocking first; then a halving (ln 2 = 0.69) before +65 % (ln 1.65 = 0.50).
        assert_eq!(
            order,
            [
                "quant/x0@scalar",
                "quant/x1@scalar",
                "quant/x13@scalar",
                "quant/x12@scalar",
                "quant/x11@scalar",
                "quant/x10@scalar",
                "quant/x9@scalar",
                "quant/x8@scalar",
                "quant/x7@scalar",
                "quant/x6@scalar",
            ]
        );
        assert_eq!(view.top_more, 4);
    }

    #[test]
    fn moved_instruction_counts_show_their_functions_in_the_markdown() {
        use crate::analysis::callgrind::{Explanation, FunctionDelta};
        use crate::present::report::template::ReportFormat;
        let mut inputs = crate::analysis::fixture::inputs();
        inputs.explanations = vec![
            Explanation {
                benchmark: "codec/binary/mixed-10/small@simd".into(),
                old_profile: Some("reports/runs/s-A.callgrind/a.out".into()),
                new_profile: Some("reports/runs/s.callgrind/a.out".into()),
                old_sha256: None,
                new_sha256: None,
                functions: (0..7)
                    .map(|n| FunctionDelta {
                        function: format!("f{n}"),
                        self_old: 1_000_000,
                        self_new: 1_000_000 + 1_210_442 / (n + 1),
                        inclusive_old: 2_000_000,
                        inclusive_new: 2_000_000 + 1_210_442 / (n + 1),
                    })
                    .collect(),
                skipped: None,
            },
            Explanation {
                benchmark: "sync/x@scalar".into(),
                old_profile: None,
                new_profile: None,
                old_sha256: None,
                new_sha256: None,
                functions: Vec::new(),
                skipped: Some("no callgrind profile kept in the old record".into()),
            },
        ];
        let report = SignoffReport::derive(inputs).unwrap();
        let view = View::of(&report);
        assert_eq!(view.explanations[0].functions[0].delta, "+1,210,442");
        assert_eq!(
            view.explanations[0].functions[0].inclusive,
            "2,000,000 → 3,210,442"
        );
        let md = crate::present::report::md::Markdown
            .render(&report)
            .unwrap();
        assert!(md.contains("### Where the instructions went"), "{md}");
        // One line per count in the Markdown, its three largest functions.
        assert!(
            md.contains("- `codec/binary/mixed-10/small@simd`: `f0` +1,210,442, `f1` +605,221, `f2` +403,480; flame graph `flamegraph-codec_binary_mixed-10_small_simd-diff.svg`"),
            "{md}"
        );
        assert!(!md.contains("`f3`"), "{md}");
        assert!(
            md.contains("- `sync/x@scalar`: skipped (no callgrind profile kept in the old record)"),
            "{md}"
        );
        let html = crate::present::report::html::Html.render(&report).unwrap();
        assert!(
            html.contains("<code>f6</code>"),
            "the HTML shows all of them"
        );
        assert!(
            html.contains(r#"<img src="flamegraph-codec_binary_mixed-10_small_simd-diff.svg""#)
        );
    }
}
