//! The Markdown rendering: for reading in a pull request or a terminal.

use super::template::{ReportFormat, render_template};
use super::view::View;
use crate::analysis::signoff::ReportError;
use crate::analysis::signoff::SignoffReport;

/// `signoff.md`.
pub struct Markdown;

impl ReportFormat for Markdown {
    fn file_name(&self) -> &'static str {
        "signoff.md"
    }

    fn render(&self, report: &SignoffReport) -> Result<String, ReportError> {
        if report.inputs.layout < 2 {
            return render_template(
                "markdown",
                "signoff.md",
                include_str!("../../../templates/signoff-layout1.md.tera"),
                report,
                &[],
            );
        }
        render_template(
            "markdown",
            "signoff.md",
            include_str!("../../../templates/signoff.md.tera"),
            report,
            &[("v", serde_json::to_value(View::of(report))?)],
        )
    }
}
