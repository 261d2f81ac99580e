//! The Markdown rendering: for reading in a pull request or a terminal.

use super::{ReportError, ReportFormat, SignoffReport, render_template};

/// `signoff.md`.
pub struct Markdown;

impl ReportFormat for Markdown {
    fn file_name(&self) -> &'static str {
        "signoff.md"
    }

    fn render(&self, report: &SignoffReport) -> Result<String, ReportError> {
        render_template(
            "markdown",
            "signoff.md",
            include_str!("../../templates/signoff.md.tera"),
            report,
            &[],
        )
    }
}
