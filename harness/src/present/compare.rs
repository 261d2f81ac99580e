//! Renderers of a [`Comparison`]: one small type per format behind [`ComparisonFormat`].
//!
//! Every human format opens with [`Comparison::headline`], so the verdict is the first
//! thing a reader (or a pull-request notification) sees. Markdown lists regressions and
//! improvements with their statistics and folds the unchanged and inconclusive lines into
//! a `<details>` block, so a comment stays short when nothing happened.

use std::fmt::Write as _;

use crate::model::outcome::Outcome;
use crate::model::record::RunRecord;

use crate::analysis::compare::{Comparison, Metric, MetricComparison, Side, Verdict};
use crate::analysis::format::format_value;
use crate::present::report::view::ExplanationView;
use crate::present::table::{Table, markdown_cell};

/// A way to turn a comparison into text.
/// Output format of `compare`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Md,
    Json,
    Bmf,
    Badge,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Table,
        Format::Md,
        Format::Json,
        Format::Bmf,
        Format::Badge,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Md => "md",
            Format::Json => "json",
            Format::Bmf => "bmf",
            Format::Badge => "badge",
        }
    }

    pub fn help(self) -> &'static str {
        match self {
            Format::Table => "Terminal table",
            Format::Md => "Markdown for a pull-request comment",
            Format::Json => "The full comparison as JSON (`benchseal.comparison/1`)",
            Format::Bmf => "Bencher Metric Format of the new record",
            Format::Badge => "shields.io endpoint badge",
        }
    }
}

pub trait ComparisonFormat {
    fn render(&self, comparison: &Comparison) -> String;
}

/// Renders `comparison` in `format`. BMF is a format of a *record*, not of a comparison:
/// it reports `new`'s own numbers through [`render_bmf`].
pub fn render(comparison: &Comparison, format: Format, new: &RunRecord) -> String {
    match format {
        Format::Table => TableFormat.render(comparison),
        Format::Md => MarkdownFormat.render(comparison),
        Format::Json => JsonFormat.render(comparison),
        Format::Bmf => render_bmf(new),
        Format::Badge => BadgeFormat.render(comparison),
    }
}

/// Verdicts in the order readers care about them.
const VERDICT_ORDER: [Verdict; 4] = [
    Verdict::Regressed,
    Verdict::Improved,
    Verdict::Inconclusive,
    Verdict::Unchanged,
];

/// "new cost" only for a count that really went from zero to something; any other
/// ratio without a value (a zero or unusable time) is not a change anyone measured.
fn format_change(m: &MetricComparison) -> String {
    if m.ratio.is_finite() {
        format!("{:+.2}%", m.change_pct())
    } else if matches!(
        m.metric,
        Metric::Instructions | Metric::PeakRss | Metric::Allocations
    ) && m.old == 0.0
        && m.new > 0.0
    {
        "new cost".into()
    } else {
        "n/a".into()
    }
}

fn format_interval(m: &MetricComparison) -> String {
    match (m.ratio_lower, m.ratio_upper) {
        (Some(lo), Some(hi)) => {
            format!("[{:+.2}%, {:+.2}%]", (lo - 1.0) * 100.0, (hi - 1.0) * 100.0)
        }
        _ => "-".into(),
    }
}

fn format_p(m: &MetricComparison) -> String {
    match m.p_value {
        Some(p) if p < 1e-4 => "<0.0001".into(),
        Some(p) => format!("{p:.4}"),
        None if m.approximate => "no rank test".into(),
        None => "-".into(),
    }
}

fn metric_row(m: &MetricComparison, with_verdict: bool) -> Vec<String> {
    let mut row = vec![
        m.benchmark.clone(),
        m.metric.name().into(),
        format_value(m.metric, m.old),
        format_value(m.metric, m.new),
        format_change(m),
        format_interval(m),
        format_p(m),
    ];
    if with_verdict {
        row.push(m.verdict_with_basis());
    } else if let Some(basis) = &m.basis {
        // The section title says the verdict; how it was obtained still belongs on the line.
        let mut how = basis.to_string();
        if let Some(floor) = m.noise_floor_pct {
            how.push_str(&format!("; noise floor {floor:.2} %"));
        }
        row.push(how);
    }
    let roof = m.of_roof.as_ref().map(|r| format!("of roof {r}"));
    row.push(
        [m.note.clone(), roof]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("; "),
    );
    row
}

const METRIC_HEADERS: [&str; 7] = [
    "benchmark",
    "metric",
    "old",
    "new",
    "change",
    "CI of change",
    "p",
];

fn headers(with_verdict: bool, with_basis: bool) -> Vec<&'static str> {
    let mut headers = METRIC_HEADERS.to_vec();
    if with_verdict {
        headers.push("verdict");
    } else if with_basis {
        headers.push("how");
    }
    headers.push("note");
    headers
}

fn sides(c: &Comparison) -> String {
    let side = |s: &Side| {
        let source = s
            .source
            .as_ref()
            .map(|x| x.to_string())
            .unwrap_or_else(|| "record".into());
        format!(
            "{} — {source}, run {}, commit {}",
            s.label,
            s.run_id,
            s.git_commit.as_deref().unwrap_or("unknown")
        )
    };
    format!("A (old): {}\nB (new): {}\n", side(&c.old), side(&c.new))
}

/// The functions behind a moved instruction count as a table: self instructions old → new
/// and their change, and the inclusive ones (written as the sign-off report writes them).
fn explanation_table(view: &ExplanationView) -> Table {
    use crate::present::table::Align;
    let mut table = Table::new(&[
        ("function", Align::Left),
        ("self old", Align::Right),
        ("self new", Align::Right),
        ("Δ self", Align::Right),
        ("inclusive old → new", Align::Right),
    ]);
    for f in &view.functions {
        table.row(vec![
            f.function.clone(),
            f.self_old.clone(),
            f.self_new.clone(),
            f.delta.clone(),
            f.inclusive.clone(),
        ]);
    }
    table
}

/// The terminal table: every line, worst first.
pub struct TableFormat;

impl ComparisonFormat for TableFormat {
    fn render(&self, c: &Comparison) -> String {
        let mut out = format!("{}\n{}", c.headline(), sides(c));
        if let Some(caveat) = &c.caveat {
            let _ = writeln!(out, "note: {caveat}");
        }
        if !c.reproducibility.is_empty() {
            out.push_str("\nreproducibility broken:\n");
            for issue in &c.reproducibility {
                let _ = writeln!(out, "  {}: {}", issue.benchmark, issue.problem);
            }
        }
        let rows: Vec<Vec<String>> = VERDICT_ORDER
            .iter()
            .flat_map(|&v| c.with_verdict(v))
            .chain(c.informational())
            .map(|m| metric_row(m, true))
            .collect();
        if !rows.is_empty() {
            out.push('\n');
            out.push_str(&Table::left(&headers(true, false), &rows).render());
        }
        for view in c.explanations.iter().map(ExplanationView::of) {
            let _ = writeln!(
                out,
                "\nwhere {}'s instructions went: {}",
                view.benchmark, view.source
            );
            if !view.functions.is_empty() {
                out.push_str(&explanation_table(&view).render());
            }
        }
        if !c.not_compared.is_empty() {
            out.push_str("\nnot compared:\n");
            for n in &c.not_compared {
                let _ = writeln!(out, "  {}: {}", n.benchmark, n.reason);
            }
        }
        out.push_str(&env_text(c, "  "));
        out
    }
}

fn env_text(c: &Comparison, indent: &str) -> String {
    let mut out = String::new();
    if c.env.is_mismatch() {
        let _ = writeln!(
            out,
            "\nwarning: compared across {} (--allow-env-mismatch); the numbers may not be comparable",
            if c.env.machine_class_differs {
                "machine classes"
            } else {
                "toolchains"
            }
        );
    }
    if !c.env.changes.is_empty() {
        let _ = writeln!(out, "\nenvironment changes ({}):", c.env.changes.len());
        for change in &c.env.changes {
            let _ = writeln!(out, "{indent}{change}");
        }
    }
    out
}

/// Markdown for a pull-request comment.
pub struct MarkdownFormat;

impl ComparisonFormat for MarkdownFormat {
    fn render(&self, c: &Comparison) -> String {
        let icon = match c.outcome() {
            Outcome::Irreproducible => "⛔",
            Outcome::Failed => "🔴",
            Outcome::Success => "🟢",
        };
        let mut out = format!("{icon} **{}**\n\n", c.headline());
        if let Some(caveat) = &c.caveat {
            let _ = writeln!(out, "> {}\n", markdown_cell(caveat));
        }
        let side = |s: &Side| format!("`{}` (run `{}`)", s.label, s.run_id);
        let _ = writeln!(
            out,
            "{} → {} · machine class `{}` · wall: {}% threshold at {}% confidence\n",
            side(&c.old),
            side(&c.new),
            c.new.machine_class,
            c.policy.wall.threshold_pct,
            c.policy.wall.confidence * 100.0
        );
        if !c.reproducibility.is_empty() {
            out.push_str("### Reproducibility broken\n\n");
            for issue in &c.reproducibility {
                let _ = writeln!(
                    out,
                    "- `{}`: {}",
                    issue.benchmark,
                    markdown_cell(&issue.problem)
                );
            }
            out.push('\n');
        }
        let informational: Vec<&MetricComparison> = c.informational().collect();
        for (lines, title) in [
            (c.with_verdict(Verdict::Regressed).collect(), "Regressions"),
            (c.with_verdict(Verdict::Improved).collect(), "Improvements"),
            (informational, "Informational changes (not gating)"),
        ] {
            let lines: Vec<&MetricComparison> = lines;
            let with_basis = lines.iter().any(|m| m.basis.is_some());
            let rows: Vec<Vec<String>> = lines
                .into_iter()
                .map(|m| metric_row(m, title.starts_with("Informational")))
                .collect();
            if !rows.is_empty() {
                let _ = writeln!(out, "### {title}\n");
                let verdicts = title.starts_with("Informational");
                out.push_str(&Table::left(&headers(verdicts, with_basis), &rows).render_markdown());
                out.push('\n');
            }
        }
        if !c.explanations.is_empty() {
            out.push_str("### Where the instructions went\n\n");
            for view in c.explanations.iter().map(ExplanationView::of) {
                let _ = writeln!(
                    out,
                    "`{}`: {}\n",
                    view.benchmark,
                    markdown_cell(&view.source)
                );
                if !view.functions.is_empty() {
                    out.push_str(&explanation_table(&view).render_markdown());
                    out.push('\n');
                }
            }
        }
        let folded: Vec<Vec<String>> = [Verdict::Inconclusive, Verdict::Unchanged]
            .iter()
            .flat_map(|&v| c.with_verdict(v))
            .map(|m| metric_row(m, true))
            .collect();
        if !folded.is_empty() {
            let _ = writeln!(
                out,
                "<details><summary>{} unchanged, {} inconclusive</summary>\n",
                c.summary.unchanged, c.summary.inconclusive
            );
            out.push_str(&Table::left(&headers(true, false), &folded).render_markdown());
            out.push_str("\n</details>\n\n");
        }
        if !c.not_compared.is_empty() {
            let _ = writeln!(
                out,
                "<details><summary>{} not compared</summary>\n",
                c.not_compared.len()
            );
            for n in &c.not_compared {
                let _ = writeln!(out, "- `{}`: {}", n.benchmark, markdown_cell(&n.reason));
            }
            out.push_str("\n</details>\n\n");
        }
        if c.env.is_mismatch() || !c.env.changes.is_empty() {
            let warning = if c.env.is_mismatch() {
                " ⚠ different machine class or toolchain"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "<details><summary>Environment: {} change(s){warning}</summary>\n",
                c.env.changes.len()
            );
            for change in &c.env.changes {
                let _ = writeln!(out, "- {}", markdown_cell(change));
            }
            out.push_str("\n</details>\n");
        }
        out
    }
}

/// The comparison itself as JSON (`benchseal.comparison/1`).
pub struct JsonFormat;

impl ComparisonFormat for JsonFormat {
    fn render(&self, c: &Comparison) -> String {
        let mut text =
            serde_json::to_string_pretty(c).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        text.push('\n');
        text
    }
}

/// Bencher Metric Format of a record, as `benchseal export --format bmf` writes it.
pub fn render_bmf(record: &RunRecord) -> String {
    crate::present::export::render(record, crate::present::export::ExportFormat::Bmf)
}

/// A shields.io endpoint badge (`schemaVersion` 1).
pub struct BadgeFormat;

impl ComparisonFormat for BadgeFormat {
    fn render(&self, c: &Comparison) -> String {
        let s = &c.summary;
        let (message, color) = match c.outcome() {
            Outcome::Irreproducible => ("reproducibility broken".to_string(), "critical"),
            Outcome::Failed => (format!("{} regressed", s.failing), "red"),
            Outcome::Success if s.regressed > 0 => {
                (format!("{} regressed (warning)", s.regressed), "orange")
            }
            Outcome::Success if s.inconclusive > 0 => (
                format!("no regressions, {} inconclusive", s.inconclusive),
                "yellow",
            ),
            Outcome::Success if s.improved > 0 => {
                (format!("{} improved", s.improved), "brightgreen")
            }
            Outcome::Success => ("no regressions".to_string(), "brightgreen"),
        };
        let badge = serde_json::json!({
            "schemaVersion": 1,
            "label": format!("perf vs {}", c.old.label),
            "message": message,
            "color": color,
        });
        let mut text = badge.to_string();
        text.push('\n');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::compare::{
        EnvComparison, NotCompared, Policy, ReproducibilityIssue, Side, Summary,
    };

    fn line(
        benchmark: &str,
        metric: Metric,
        old: f64,
        new: f64,
        verdict: Verdict,
    ) -> MetricComparison {
        let ratio = new / old;
        let wall = matches!(metric, Metric::Wall | Metric::ProcessWall);
        MetricComparison {
            benchmark: benchmark.into(),
            metric,
            old,
            new,
            ratio,
            ratio_lower: wall.then_some(ratio - 0.01),
            ratio_upper: wall.then_some(ratio + 0.01),
            p_value: wall.then_some(0.00003),
            verdict,
            fails: verdict == Verdict::Regressed,
            note: None,
            approximate: false,
            basis: None,
            noise_floor_pct: None,
            of_roof: None,
        }
    }

    fn comparison() -> Comparison {
        let side = |label: &str, run: &str| Side {
            label: label.into(),
            source: None,
            run_id: run.into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            machine_class: "x86_64-test-rust1.95.0-00000000".into(),
            git_commit: Some("abc123".into()),
        };
        let metrics = vec![
            line(
                "codec/comp3/s9v2/large@simd",
                Metric::Wall,
                1.0e6,
                1.1e6,
                Verdict::Regressed,
            ),
            line(
                "quant/gemv/i2s/large@simd",
                Metric::Wall,
                2.0e5,
                1.8e5,
                Verdict::Improved,
            ),
            line(
                "sync/detect/text8k/small@simd",
                Metric::Instructions,
                4000.0,
                4001.0,
                Verdict::Unchanged,
            ),
            line(
                "process:decode-file",
                Metric::PeakRss,
                100.0 * 1048576.0,
                101.0 * 1048576.0,
                Verdict::Unchanged,
            ),
        ];
        Comparison {
            schema: crate::analysis::compare::COMPARISON_SCHEMA.into(),
            old: side("1.3.0", "run-a"),
            new: side("run-b", "run-b"),
            policy: Policy::default(),
            env: EnvComparison {
                changes: vec!["os.kernel: 6.1.0-40 → 6.1.0-41".into()],
                ..EnvComparison::default()
            },
            metrics,
            reproducibility: Vec::new(),
            not_compared: vec![NotCompared {
                benchmark: "sync/cache/ttl/large".into(),
                reason: "only in the old record".into(),
            }],
            summary: Summary {
                regressed: 1,
                improved: 1,
                unchanged: 2,
                inconclusive: 0,
                failing: 1,
                reproducibility_issues: 0,
                not_compared: 1,
                informational: 0,
            },
            caveat: None,
            explanations: vec![
                crate::analysis::callgrind::Explanation {
                    benchmark: "codec/comp3/s9v2/large@simd".into(),
                    old_profile: Some("reports/runs/run-a.callgrind/codec_comp3.out".into()),
                    new_profile: Some("reports/runs/run-b.callgrind/codec_comp3.out".into()),
                    old_sha256: None,
                    new_sha256: None,
                    functions: vec![crate::analysis::callgrind::FunctionDelta {
                        function: "benchseal_kernels::codec::x86::unpack_comp3".into(),
                        self_old: 1_200_000,
                        self_new: 1_450_000,
                        inclusive_old: 1_300_000,
                        inclusive_new: 1_550_000,
                    }],
                    skipped: None,
                },
                crate::analysis::callgrind::Explanation {
                    benchmark: "sync/cache/get-hit/large@scalar".into(),
                    old_profile: None,
                    new_profile: None,
                    old_sha256: None,
                    new_sha256: None,
                    functions: Vec::new(),
                    skipped: Some("no callgrind profile kept in the old record".into()),
                },
            ],
        }
    }

    #[test]
    fn markdown_for_a_pull_request() {
        insta::assert_snapshot!(MarkdownFormat.render(&comparison()));
    }

    #[test]
    fn terminal_table() {
        insta::assert_snapshot!(TableFormat.render(&comparison()));
    }

    #[test]
    fn badge_turns_critical_when_reproducibility_breaks() {
        let mut c = comparison();
        assert_eq!(
            BadgeFormat.render(&c),
            "{\"color\":\"red\",\"label\":\"perf vs 1.3.0\",\"message\":\"1 regressed\",\"schemaVersion\":1}\n"
        );
        c.reproducibility.push(ReproducibilityIssue {
            benchmark: "codec/comp3/s9v2/large@simd".into(),
            problem: "output digest differs".into(),
        });
        c.summary.reproducibility_issues = 1;
        assert!(
            BadgeFormat
                .render(&c)
                .contains("\"message\":\"reproducibility broken\",\"schemaVersion\":1")
        );
        assert!(BadgeFormat.render(&c).contains("\"color\":\"critical\""));
    }
}
