//! The JSON rendering: the report model itself, sealed, with its inputs. This is the file
//! `benchseal verify` reads; the other formats are checked by rendering it again.

use super::template::ReportFormat;
use crate::analysis::signoff::ReportError;
use crate::analysis::signoff::SignoffReport;

/// `signoff.json`.
pub struct Json;

impl ReportFormat for Json {
    fn file_name(&self) -> &'static str {
        "signoff.json"
    }

    fn render(&self, report: &SignoffReport) -> Result<String, ReportError> {
        let mut text = serde_json::to_string_pretty(report)?;
        text.push('\n');
        Ok(text)
    }
}
