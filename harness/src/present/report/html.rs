//! The HTML rendering: one self-contained file (inline CSS, inline SVG charts, no script,
//! nothing fetched), every piece of text escaped by tera's autoescape.
//!
//! Chart geometry is computed here, in Rust, and handed to the template as numbers; the
//! template only lays it out. The bar chart plots *goodness*: measured / target for a
//! higher-is-better objective, target / measured for a lower-is-better one, on a log scale
//! from 0.1 to 10, so every objective shares one axis and the target is the middle line.
//! The history is one small chart per objective with its own value axis in the
//! objective's unit (layout 2; layout 1 drew it as goodness rows without an axis).

use serde::Serialize;
use serde_json::json;

use super::template::{ReportFormat, render_template};
use super::view::View;
use crate::analysis::format::significant;
use crate::analysis::signoff::ReportError;
use crate::analysis::signoff::SignoffReport;
use crate::analysis::slo::{Comparator, format_in};

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

/// One objective's history: a small chart with a value axis.
#[derive(Serialize)]
struct Panel {
    id: String,
    /// `higher is better`, `lower is better` or `closer is better`.
    better: &'static str,
    status: String,
    points: String,
    dots: Vec<Dot>,
    target_y: f64,
    /// The target's value on the y axis, at its dashed line.
    target: Tick,
    /// Value labels on the y axis (its top and bottom).
    ticks: Vec<Tick>,
    /// Release labels on the x axis.
    releases: Vec<Tick>,
}

#[derive(Serialize)]
struct Tick {
    x: f64,
    y: f64,
    text: String,
    /// A value's unit, drawn under its number so long units (`ms/1000 files`) stay inside
    /// the panel's margin; empty for release labels.
    unit: String,
}

/// A label on the value axis for `formatted` (`"10.00 ms/1000 files"`) centred on `y`: the
/// number, and the unit on a second line when there is one.
fn value_tick(y: f64, formatted: &str) -> Tick {
    let (number, unit) = formatted.split_once(' ').unwrap_or((formatted, ""));
    Tick {
        x: PANEL_LEFT - 4.0,
        y: round1(if unit.is_empty() { y + 4.0 } else { y - 1.0 }),
        text: number.to_string(),
        unit: unit.to_string(),
    }
}

const PANEL_W: f64 = 270.0;
const PANEL_H: f64 = 140.0;
const PANEL_LEFT: f64 = 90.0;
const PANEL_RIGHT: f64 = 22.0;
const PANEL_TOP: f64 = 30.0;
const PANEL_BOTTOM: f64 = 26.0;

/// One workload's thread scaling: speedup over one thread by thread count, on linear axes
/// from 0, with the ideal (speedup = threads) dashed.
#[derive(Serialize)]
struct ScalingPanel {
    case: String,
    /// `x,y` pairs of the measured speedups.
    points: String,
    dots: Vec<Dot>,
    /// From (1, 1) to (T, T).
    ideal: (f64, f64, f64, f64),
    ticks: Vec<Tick>,
    threads: Vec<Tick>,
    /// `pass`, else `fail` (a digest differed).
    status: &'static str,
}

fn scaling_panels(report: &SignoffReport) -> Vec<ScalingPanel> {
    let plot_w = PANEL_W - PANEL_LEFT - PANEL_RIGHT;
    let plot_h = PANEL_H - PANEL_TOP - PANEL_BOTTOM;
    report
        .inputs
        .run
        .scaling
        .iter()
        .filter(|s| s.points.len() > 1)
        .map(|s| {
            let view = crate::analysis::scaling::ScalingView::of(s);
            let most = view.widest().map_or(1, |r| r.threads).max(2) as f64;
            let top = view
                .rows
                .iter()
                .map(|r| r.speedup)
                .filter(|v| v.is_finite())
                .fold(most, f64::max);
            let x = |t: f64| round1(PANEL_LEFT + (t - 1.0) / (most - 1.0) * plot_w);
            let y = |v: f64| round1(PANEL_TOP + plot_h - v / top * plot_h);
            let dots: Vec<Dot> = view
                .rows
                .iter()
                .filter(|r| r.speedup.is_finite())
                .map(|r| Dot {
                    x: x(r.threads as f64),
                    y: y(r.speedup),
                    title: format!(
                        "{} thread(s): {}, {} ({}, efficiency {})",
                        r.threads, r.time, r.throughput, r.speedup_text, r.efficiency_text
                    ),
                })
                .collect();
            ScalingPanel {
                case: view.case.clone(),
                points: dots
                    .iter()
                    .map(|d| format!("{},{}", d.x, d.y))
                    .collect::<Vec<_>>()
                    .join(" "),
                dots,
                ideal: (x(1.0), y(1.0), x(most), y(most)),
                ticks: [0.0, 1.0, most]
                    .into_iter()
                    .map(|v| value_tick(y(v), &format!("{v:.0}x")))
                    .collect(),
                threads: view
                    .rows
                    .iter()
                    .map(|r| Tick {
                        x: x(r.threads as f64),
                        y: round1(PANEL_H - PANEL_BOTTOM + 14.0),
                        text: r.threads.to_string(),
                        unit: String::new(),
                    })
                    .collect(),
                status: if view.digests_identical {
                    "pass"
                } else {
                    "fail"
                },
            }
        })
        .collect()
}

/// The history's x axis: each earlier release, then this one.
fn release_labels(report: &SignoffReport) -> Vec<String> {
    let history = report.inputs.history.iter().map(|h| h.label.clone());
    history.chain([format!("v{}", report.version)]).collect()
}

/// The history panels of layout 2: each history point and this run, on a log value axis
/// spanning the values and the target.
fn panels(report: &SignoffReport) -> Vec<Panel> {
    let plot_w = PANEL_W - PANEL_LEFT - PANEL_RIGHT;
    let plot_h = PANEL_H - PANEL_TOP - PANEL_BOTTOM;
    let labels = release_labels(report);
    let x_of = |i: usize| {
        let x = if labels.len() > 1 {
            PANEL_LEFT + i as f64 * plot_w / (labels.len() - 1) as f64
        } else {
            PANEL_LEFT + plot_w / 2.0
        };
        round1(x)
    };
    let shown: Vec<usize> = if labels.len() <= 4 {
        (0..labels.len()).collect()
    } else {
        vec![0, labels.len() - 1]
    };
    let mut out = Vec::new();
    for (row, objective) in report.objectives.iter().zip(&report.inputs.slo.objectives) {
        let unit = &objective.target.unit;
        let mut series: Vec<Option<f64>> = report
            .inputs
            .history
            .iter()
            .map(|h| h.values.get(&row.id).copied().flatten())
            .collect();
        series.push(row.measured_base);
        let values: Vec<(usize, f64)> = series
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.filter(|v| *v > 0.0 && v.is_finite()).map(|v| (i, v)))
            .collect();
        if values.is_empty() || row.target_base <= 0.0 {
            continue;
        }
        let all = values.iter().map(|(_, v)| *v).chain([row.target_base]);
        let (mut lo, mut hi) = all.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
        if hi / lo < 1.2 {
            let mid = (hi * lo).sqrt();
            lo = mid / 1.2f64.sqrt();
            hi = mid * 1.2f64.sqrt();
        }
        lo /= 1.05;
        hi *= 1.05;
        // Values as the matrix writes them (rules 5: times and memory in their own largest
        // unit) from layout 3 on; the target stays in the unit it was written in.
        let show =
            |v: f64| crate::analysis::slo::format_measured(unit, v, report.inputs.layout >= 3);
        let y_of = |v: f64| round1(PANEL_TOP + (1.0 - (v / lo).ln() / (hi / lo).ln()) * plot_h);
        let dots: Vec<Dot> = values
            .iter()
            .map(|(i, v)| Dot {
                x: x_of(*i),
                y: y_of(*v),
                title: format!("{}: {}", labels[*i], show(*v)),
            })
            .collect();
        let points = dots
            .iter()
            .map(|d| format!("{},{}", d.x, d.y))
            .collect::<Vec<_>>()
            .join(" ");
        let target_y = y_of(row.target_base);
        // The axis ends, unless the target's own label would overlap them.
        let ticks = [(PANEL_TOP, hi), (PANEL_TOP + plot_h, lo)]
            .into_iter()
            .filter(|(y, _)| (y - target_y).abs() >= 22.0)
            .map(|(y, v)| value_tick(y, &show(v)))
            .collect();
        let releases = shown
            .iter()
            .map(|&i| Tick {
                x: x_of(i),
                y: PANEL_H - 8.0,
                text: labels[i].clone(),
                unit: String::new(),
            })
            .collect();
        out.push(Panel {
            id: row.id.clone(),
            better: match objective.target.comparator {
                Comparator::AtLeast | Comparator::Above => "higher is better",
                Comparator::AtMost | Comparator::Below => "lower is better",
                Comparator::Equal => "closer is better",
            },
            status: row.status.clone(),
            points,
            dots,
            target_y,
            target: value_tick(target_y, &format_in(unit, row.target_base)),
            ticks,
            releases,
        });
    }
    out
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
        let labels = release_labels(report);
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
        let layout1 = report.inputs.layout < 2;
        let geometry = json!({
            "label_w": LABEL_W,
            "plot_w": PLOT_W,
            "target_x": LABEL_W + PLOT_W / 2.0,
            "bars_h": round1(bars.len() as f64 * ROW_H),
            "trends_h": round1(trends.len() as f64 * ROW_H),
            "width": LABEL_W + PLOT_W + 260.0,
            "panel_w": PANEL_W,
            "panel_h": PANEL_H,
            "panel_left": PANEL_LEFT,
            "panel_right": PANEL_W - PANEL_RIGHT,
            "panel_top": PANEL_TOP,
            "panel_bottom": PANEL_H - PANEL_BOTTOM,
        });
        let mut extra = vec![("bars", serde_json::to_value(bars)?), ("g", geometry)];
        if layout1 {
            extra.push(("trends", serde_json::to_value(trends)?));
            extra.push(("axis_labels", serde_json::Value::Array(axis_labels)));
            return render_template(
                "html",
                "signoff.html",
                include_str!("../../../templates/signoff-layout1.html.tera"),
                report,
                &extra,
            );
        }
        extra.push(("panels", serde_json::to_value(panels(report))?));
        extra.push((
            "scaling_panels",
            serde_json::to_value(scaling_panels(report))?,
        ));
        extra.push(("v", serde_json::to_value(View::of(report))?));
        render_template(
            "html",
            "signoff.html",
            include_str!("../../../templates/signoff.html.tera"),
            report,
            &extra,
        )
    }
}
