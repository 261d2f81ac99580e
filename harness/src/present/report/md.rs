//! The Markdown rendering: for reading in a pull request or a terminal.

use super::template::{ReportFormat, render_template};
use crate::analysis::signoff::ReportError;
use crate::analysis::signoff::SignoffReport;

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
            include_str!("../../../templates/signoff.md.tera"),
            report,
            &[],
        )
    }
}
