//! `benchseal history` as Markdown.

use crate::analysis::format::format_value;
use crate::analysis::history::{History, Series};

/// Markdown: a summary line, the series with change points first, each as a table.
pub fn render_markdown(history: &History) -> String {
    let changes: usize = history.series.iter().map(|s| s.changes.len()).sum();
    let mut out = format!(
        "**benchseal history**: {} series over {} records, {} change point(s)\n\n",
        history.series.len(),
        history.records,
        changes
    );
    let mut ordered: Vec<&Series> = history.series.iter().collect();
    ordered.sort_by_key(|s| s.changes.is_empty());
    for series in ordered {
        out.push_str(&format!(
            "### `{}` — {} ({})\n\n",
            series.benchmark,
            series.metric.name(),
            series.machine_class
        ));
        for change in &series.changes {
            out.push_str(&format!(
                "- change at run `{}` ({}): {:+.2}% ({} → {})\n",
                change.run_id,
                change.started_at,
                change.shift_pct,
                format_value(series.metric, change.before),
                format_value(series.metric, change.after)
            ));
        }
        if !series.changes.is_empty() {
            out.push('\n');
        }
        out.push_str(
            "| started | run | labels | value | vs previous | |\n|---|---|---|---|---|---|\n",
        );
        let mut previous: Option<f64> = None;
        for point in &series.points {
            let delta = previous.map_or("-".into(), |p| {
                format!("{:+.2}%", (point.value / p - 1.0) * 100.0)
            });
            let marker = if series.changes.iter().any(|c| c.run_id == point.run_id) {
                "⚠ change"
            } else {
                ""
            };
            out.push_str(&format!(
                "| {} | `{}` | {} | {} | {} | {} |\n",
                point.started_at,
                point.run_id,
                point.labels.join(", "),
                format_value(series.metric, point.value),
                delta,
                marker
            ));
            previous = Some(point.value);
        }
        out.push('\n');
    }
    if !history.projections.is_empty() {
        out.push_str("### Projections\n\n| objective | machine class | target | points | fitted now | projection |\n|---|---|---|---|---|---|\n");
        for p in &history.projections {
            out.push_str(&format!(
                "| `{}` | {} | `{}` | {} | {} | {} |\n",
                p.objective,
                p.machine_class,
                p.target,
                p.points.len(),
                p.fitted.as_deref().unwrap_or("-"),
                p.sentence()
            ));
        }
        out.push('\n');
    }
    if !history.skipped.is_empty() {
        out.push_str("Skipped:\n\n");
        for s in &history.skipped {
            out.push_str(&format!("- {s}\n"));
        }
    }
    out
}
