//! What the report formats share: the [`ReportFormat`] trait and the tera templates.

use crate::analysis::signoff::{ReportError, SignoffReport};

/// A report format: turns the typed report into the bytes of one file.
pub trait ReportFormat {
    /// The file name in the report directory, e.g. `signoff.md`.
    fn file_name(&self) -> &'static str;
    fn render(&self, report: &SignoffReport) -> Result<String, ReportError>;
}

/// Renders one compiled-in tera template with the report (a sign-off or a fleet report) as
/// `r` and `extra` beside it.
/// Autoescaping follows the template name (on for `.html`).
pub fn render_template(
    format: &'static str,
    name: &'static str,
    source: &'static str,
    report: &impl serde::Serialize,
    extra: &[(&str, serde_json::Value)],
) -> Result<String, ReportError> {
    let err = |e: tera::Error| {
        let mut message = e.to_string();
        let mut cause = std::error::Error::source(&e);
        while let Some(c) = cause {
            message = format!("{message}: {c}");
            cause = c.source();
        }
        ReportError::Render { format, message }
    };
    let mut tera = tera::Tera::default();
    tera.autoescape_on(vec![".html"]);
    tera.register_filter("cell", filters::cell);
    tera.register_filter("short", filters::short);
    tera.register_filter("pct", filters::pct);
    tera.add_raw_template(name, source).map_err(err)?;
    let mut context = tera::Context::new();
    context.insert("r", report);
    for (key, value) in extra {
        context.insert(*key, value);
    }
    tera.render(name, &context).map_err(err)
}

/// Template filters. Text is turned into safe Markdown table cells here; HTML escaping is
/// tera's autoescape, applied after these.
mod filters {
    use std::collections::HashMap;

    use tera::{Result, Value};

    /// A Markdown table cell: pipes escaped, line breaks flattened.
    pub fn cell(value: &Value, _: &HashMap<String, Value>) -> Result<Value> {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Null => "-".into(),
            other => other.to_string(),
        };
        Ok(Value::String(
            text.replace('|', "\\|").replace(['\n', '\r'], " "),
        ))
    }

    /// The first 12 hex digits of a digest, or `-`.
    pub fn short(value: &Value, _: &HashMap<String, Value>) -> Result<Value> {
        Ok(Value::String(match value.as_str() {
            Some(s) => crate::analysis::slo::short(s).to_string(),
            None => "-".into(),
        }))
    }

    /// A signed percentage with one decimal, or `-`.
    pub fn pct(value: &Value, _: &HashMap<String, Value>) -> Result<Value> {
        Ok(Value::String(match value.as_f64() {
            Some(v) => format!("{v:+.1} %"),
            None => "-".into(),
        }))
    }
}
