//! The fleet report's renderings: `signoff.json` (the model itself), `signoff.md` and
//! `signoff.html` (tera templates compiled into the binary, the class × objective matrix
//! first). Pure functions of [`FleetReport`], so `verify` checks a rendered file by
//! rendering again.

use super::template::render_template;
use crate::analysis::fleet::FleetReport;
use crate::analysis::signoff::ReportError;

/// A rendering of the fleet report: its file name and how it is made.
pub type FleetFormat = (
    &'static str,
    fn(&FleetReport) -> Result<String, ReportError>,
);

fn json(report: &FleetReport) -> Result<String, ReportError> {
    let mut text = serde_json::to_string_pretty(report)?;
    text.push('\n');
    Ok(text)
}

fn markdown(report: &FleetReport) -> Result<String, ReportError> {
    render_template(
        "markdown",
        "fleet.md",
        include_str!("../../../templates/fleet.md.tera"),
        report,
        &[],
    )
}

fn html(report: &FleetReport) -> Result<String, ReportError> {
    render_template(
        "html",
        "fleet.html",
        include_str!("../../../templates/fleet.html.tera"),
        report,
        &[],
    )
}

/// Every rendering, in the order they are written.
pub fn formats() -> [FleetFormat; 3] {
    [
        ("signoff.json", json),
        ("signoff.md", markdown),
        ("signoff.html", html),
    ]
}

/// Renders every format; nothing is written until all rendered.
pub fn render_all(report: &FleetReport) -> Result<Vec<(&'static str, String)>, ReportError> {
    formats()
        .iter()
        .map(|(name, render)| Ok((*name, render(report)?)))
        .collect()
}

/// The terminal summary: the decision, a line per class, where the files are.
pub fn summary(report: &FleetReport, dir: &std::path::Path) -> String {
    use crate::present::style;
    let mut out = format!(
        "benchseal v{} fleet sign-off: {}\n",
        report.version,
        style::verdict(&report.decision.verdict)
    );
    for reason in &report.decision.reasons {
        out += &format!("  - {reason}\n");
    }
    let width = report
        .classes
        .iter()
        .map(|c| c.class.len())
        .max()
        .unwrap_or(0);
    for c in &report.classes {
        let failing: Vec<&str> = c
            .cells
            .iter()
            .filter(|cell| cell.status == "fail")
            .map(|cell| cell.objective.as_str())
            .collect();
        out += &format!(
            "  {:<width$}  {:<12}  {}{}\n",
            c.class,
            if c.required {
                "required"
            } else {
                "not required"
            },
            style::verdict(&c.verdict),
            if failing.is_empty() {
                String::new()
            } else {
                format!("  (failing: {})", failing.join(", "))
            }
        );
    }
    out += &format!(
        "  report: {}/signoff.{{md,html,json}}, one directory per class  seal {}\n",
        dir.display(),
        report.seal.as_deref().unwrap_or("-")
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fixture;

    #[test]
    fn markdown_and_html_start_with_the_matrix() {
        let class = crate::analysis::signoff::SignoffReport::derive(fixture::inputs()).unwrap();
        let fleet = FleetReport::derive("0.1.0", "t", &[class]).unwrap();
        let md = markdown(&fleet).unwrap();
        let lines: Vec<&str> = md.lines().collect();
        assert!(lines[0].starts_with("# Fleet sign-off: benchseal v0.1.0"));
        assert!(lines[2].starts_with("| Machine class | Required | Decision |"));
        let html = html(&fleet).unwrap();
        let matrix = html.find("<table id=\"matrix\">").unwrap();
        assert!(matrix < html.find("id=\"decision\"").unwrap());
    }
}
