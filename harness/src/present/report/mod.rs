//! The sign-off report's three renderings, each a type implementing [`ReportFormat`], one
//! file each: Markdown and HTML through tera templates compiled into the binary (HTML with
//! autoescaping, so every piece of text from a run or an SLO file is escaped), JSON through
//! serde. Renderings are pure functions of the model (`analysis::signoff`), so a rendered
//! file can be checked by rendering again.

pub mod fleet;
pub mod html;
pub mod json;
pub mod md;
pub mod template;
pub mod view;

use crate::analysis::signoff::{PreconditionRow, ReportError, SignoffReport};
use crate::present::style;
pub use template::ReportFormat;

/// All formats, in the order they are written.
pub fn formats() -> [&'static dyn ReportFormat; 3] {
    [&json::Json, &md::Markdown, &html::Html]
}

/// Renders every format; nothing is written until all rendered.
pub fn render_all(report: &SignoffReport) -> Result<Vec<(&'static str, String)>, ReportError> {
    formats()
        .iter()
        .map(|f| Ok((f.file_name(), f.render(report)?)))
        .collect()
}

/// The release preconditions as terminal lines: one per command with its status and time,
/// a failure's last lines indented below it.
pub fn precondition_lines(rows: &[PreconditionRow]) -> String {
    let mut out = String::new();
    for row in rows {
        let view = view::PreconditionView::of(row);
        let time = row
            .seconds
            .map(|_| format!(" ({})", view.time))
            .unwrap_or_default();
        let first = view.first.map(|f| format!(": {f}")).unwrap_or_default();
        out += &format!(
            "  precondition {}{time}  `{}`{first}\n",
            style::verdict(&view.status),
            view.command
        );
        for line in view.last_lines.iter().flat_map(|l| l.lines()) {
            out += &format!("      | {line}\n");
        }
    }
    out
}

/// What a sign-off that could not measure prints instead of a report: NO-GO, why, and the
/// preconditions' rows.
pub fn not_measured(version: &str, rows: &[PreconditionRow], why: &str) -> String {
    format!(
        "benchseal v{version} sign-off: {} (exit 1)\n  - {why}\n{}  nothing was measured and \
         no report was written; fix what failed and sign off again\n",
        style::verdict("NO-GO"),
        precondition_lines(rows)
    )
}

/// The terminal summary: decision, matrix, where the files are.
pub fn summary(report: &SignoffReport, dir: &std::path::Path) -> String {
    let mut out = format!(
        "benchseal v{} sign-off: {}\n",
        report.version,
        style::verdict(&report.decision.verdict.to_string())
    );
    for reason in &report.decision.reasons {
        out += &format!("  - {reason}\n");
    }
    for e in &report.inputs.explanations {
        let e = view::ExplanationView::of(e);
        match e.functions.first() {
            Some(f) => {
                out += &format!(
                    "  why {}: {} {} self instructions (top {} in the report)\n",
                    e.benchmark,
                    f.function,
                    f.delta,
                    e.functions.len()
                )
            }
            None => out += &format!("  why {}: {}\n", e.benchmark, e.source),
        }
    }
    out += &precondition_lines(&report.preconditions);
    let width = report
        .objectives
        .iter()
        .map(|o| o.id.len())
        .max()
        .unwrap_or(0);
    for o in &report.objectives {
        // The roof fraction and the peer ratio of the same run, after the verdict.
        let context: Vec<&str> = [o.roof.as_deref(), o.peer.as_deref()]
            .into_iter()
            .flatten()
            .filter(|c| *c != "-")
            .collect();
        let context = if context.is_empty() {
            String::new()
        } else {
            format!("  ({})", context.join(", "))
        };
        out += &format!(
            "  {:<width$}  {:<8}  {:>18}  {:>18}  {:>9}  {}{context}\n",
            o.id,
            o.priority,
            o.target,
            o.measured,
            o.margin,
            style::verdict(&o.status.to_string())
        );
    }
    out += &format!(
        "  reproducibility: {}/{} output digests reproduced\n",
        report.reproducibility.reproduced, report.reproducibility.checked
    );
    out += &format!(
        "  report: {}/signoff.{{md,html,json}}  seal {}\n",
        dir.display(),
        report.seal.as_deref().unwrap_or("-")
    );
    out
}
