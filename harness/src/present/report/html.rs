//! The HTML rendering: one self-contained file (inline CSS, inline SVG charts, no script,
//! nothing fetched), every piece of text escaped by tera's autoescape.
//!
//! Chart geometry is computed here, in Rust, and handed to the template as numbers; the
//! template only lays it out. Both charts plot *goodness*: measured / target for a
//! higher-is-better objective, target / measured for a lower-is-better one, on a log scale
//! from 0.1 to 10, so every objective shares one axis and the target is the middle line.

use serde::Serialize;
use serde_json::json;

use super::template::{ReportFormat, render_template};
use crate::analysis::format::significant;
use crate::analysis::signoff::ReportError;
use crate::analysis::signoff::SignoffReport;
use crate::analysis::slo::Comparator;

/// `signoff.html`.
pub struct Html;

const LABEL_W: f64 = 230.0;
const PLOT_W: f64 = 360.0;
const ROW_H: f64 = 24.0;

#[derive(Serialize)]
struct Bar {
    id: String,
    status: String,
    y: f64,
    width: f64,
    label: String,
    label_x: f64,
}

#[derive(Serialize)]
struct Trend {
    id: String,
    y: f64,
    points: String,
    dots: Vec<Dot>,
}

#[derive(Serialize)]
struct Dot {
    x: f64,
    y: f64,
    title: String,
}

fn goodness(comparator: Comparator, measured: f64, target: f64) -> Option<f64> {
    if measured <= 0.0 || target <= 0.0 {
        return None;
    }
    Some(match comparator {
        Comparator::AtLeast | Comparator::Above => measured / target,
        Comparator::AtMost | Comparator::Below => target / measured,
        Comparator::Equal => (measured / target).min(target / measured),
    })
}

/// Position of a goodness value on the log axis, 0..=1 (0.5 = on target).
fn axis(g: f64) -> f64 {
    (0.5 + g.log10() / 2.0).clamp(0.0, 1.0)
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

impl Html {
    fn charts(report: &SignoffReport) -> (Vec<Bar>, Vec<Trend>, Vec<serde_json::Value>) {
        let objectives = &report.inputs.slo.objectives;
        let mut bars = Vec::new();
        let mut trends = Vec::new();
        for (row, objective) in report.objectives.iter().zip(objectives) {
            let comparator = objective.target.comparator;
            if let Some(g) = row
                .measured_base
                .and_then(|m| goodness(comparator, m, row.target_base))
            {
                let width = round1(axis(g) * PLOT_W);
                bars.push(Bar {
                    id: row.id.clone(),
                    status: row.status.clone(),
                    y: round1(bars.len() as f64 * ROW_H),
                    width,
                    label: format!("{} (target {})", row.measured, row.target),
                    label_x: round1(LABEL_W + width + 6.0),
                });
            }
            // The trend: each history point, then this run.
            let mut series: Vec<(String, Option<f64>)> = report
                .inputs
                .history
                .iter()
                .map(|h| (h.label.clone(), h.values.get(&row.id).copied().flatten()))
                .collect();
            series.push((format!("v{}", report.version), row.measured_base));
            let values: Vec<(usize, f64, String)> = series
                .iter()
                .enumerate()
                .filter_map(|(i, (label, v))| {
                    let g = goodness(comparator, (*v)?, row.target_base)?;
                    Some((i, g, format!("{label}: {}x of target", significant(g, 3))))
                })
                .collect();
            if values.is_empty() {
                continue;
            }
            let y0 = trends.len() as f64 * ROW_H;
            let step = if series.len() > 1 {
                PLOT_W / (series.len() - 1) as f64
            } else {
                0.0
            };
            let dots: Vec<Dot> = values
                .iter()
                .map(|(i, g, title)| Dot {
                    x: round1(LABEL_W + *i as f64 * step),
                    y: round1(y0 + ROW_H - 4.0 - axis(*g) * (ROW_H - 8.0)),
                    title: title.clone(),
                })
                .collect();
            let points = dots
                .iter()
                .map(|d| format!("{},{}", d.x, d.y))
                .collect::<Vec<_>>()
                .join(" ");
            trends.push(Trend {
                id: row.id.clone(),
                y: round1(y0),
                points,
                dots,
            });
        }
        let mut labels: Vec<String> = report
            .inputs
            .history
            .iter()
            .map(|h| h.label.clone())
            .collect();
        labels.push(format!("v{}", report.version));
        let step = if labels.len() > 1 {
            PLOT_W / (labels.len() - 1) as f64
        } else {
            0.0
        };
        let axis_labels = labels
            .into_iter()
            .enumerate()
            .map(|(i, l)| json!({"x": round1(LABEL_W + i as f64 * step), "text": l}))
            .collect();
        (bars, trends, axis_labels)
    }
}

impl ReportFormat for Html {
    fn file_name(&self) -> &'static str {
        "signoff.html"
    }

    fn render(&self, report: &SignoffReport) -> Result<String, ReportError> {
        let (bars, trends, axis_labels) = Html::charts(report);
        let geometry = json!({
            "label_w": LABEL_W,
            "plot_w": PLOT_W,
            "target_x": LABEL_W + PLOT_W / 2.0,
            "bars_h": round1(bars.len() as f64 * ROW_H),
            "trends_h": round1(trends.len() as f64 * ROW_H),
            "width": LABEL_W + PLOT_W + 260.0,
        });
        render_template(
            "html",
            "signoff.html",
            include_str!("../../../templates/signoff.html.tera"),
            report,
            &[
                ("bars", serde_json::to_value(bars)?),
                ("trends", serde_json::to_value(trends)?),
                ("axis_labels", serde_json::Value::Array(axis_labels)),
                ("g", geometry),
            ],
        )
    }
}
