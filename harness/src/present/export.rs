//! One run's numbers for other tools: Bencher (BMF), github-action-benchmark, flat JSON and
//! CSV. Every format is rendered from the same rows ([`rows`]), one per benchmark and
//! measure, each with a unit that says what the number is.
//!
//! Bencher shows a measure's unit as the measure is named, so throughput is split by what
//! a workload counts: `bytes-per-second`, `weights-per-second`, and for files and
//! operations the time per unit (`nanoseconds-per-file`, `nanoseconds-per-operation`), the
//! way the run summary shows them.

use benchseal_benches::Unit;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::model::record::RunRecord;

/// Output format of `export`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Bmf,
    CustomSmallerIsBetter,
    CustomBiggerIsBetter,
    Json,
    Csv,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 5] = [
        ExportFormat::Bmf,
        ExportFormat::CustomSmallerIsBetter,
        ExportFormat::CustomBiggerIsBetter,
        ExportFormat::Json,
        ExportFormat::Csv,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Bmf => "bmf",
            ExportFormat::CustomSmallerIsBetter => "custom-smaller-is-better",
            ExportFormat::CustomBiggerIsBetter => "custom-bigger-is-better",
            ExportFormat::Json => "json",
            ExportFormat::Csv => "csv",
        }
    }

    pub fn help(self) -> &'static str {
        match self {
            ExportFormat::Bmf => "Bencher Metric Format (`bencher run --adapter json`)",
            ExportFormat::CustomSmallerIsBetter => {
                "github-action-benchmark, tool `customSmallerIsBetter`: times and counts"
            }
            ExportFormat::CustomBiggerIsBetter => {
                "github-action-benchmark, tool `customBiggerIsBetter`: throughputs"
            }
            ExportFormat::Json => {
                "A flat JSON array of rows (benchmark, measure, unit, value, bounds)"
            }
            ExportFormat::Csv => "The same rows as CSV (RFC 4180), with a header line",
        }
    }
}

/// Which way a measure improves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    Smaller,
    Bigger,
}

/// One number of a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// `family/kernel/variant/size@path`, or `process:<id>` for a whole command.
    pub benchmark: String,
    /// The measure's name, which carries its unit (`latency`, `bytes-per-second`, …).
    pub measure: &'static str,
    /// The unit of `value`.
    pub unit: &'static str,
    #[serde(serialize_with = "serialize_number")]
    pub value: f64,
    #[serde(serialize_with = "serialize_optional_number")]
    pub lower: Option<f64>,
    #[serde(serialize_with = "serialize_optional_number")]
    pub upper: Option<f64>,
    pub better: Better,
}

/// A number as JSON: a whole number (an instruction count, a byte count) as an integer,
/// anything else as it is.
fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() <= crate::model::digest::MAX_SAFE_INTEGER as f64 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

fn serialize_number<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    number(*v).serialize(s)
}

fn serialize_optional_number<S: serde::Serializer>(
    v: &Option<f64>,
    s: S,
) -> Result<S::Ok, S::Error> {
    v.map(number).serialize(s)
}

/// The throughput measure of a workload counting `unit`, and how to get its value from
/// a median time in ns and the units per iteration.
fn throughput(unit: Unit, median_ns: f64, units: u64) -> (&'static str, &'static str, f64, Better) {
    let per_second = units as f64 * 1e9 / median_ns;
    let per_unit_ns = median_ns / units.max(1) as f64;
    match unit {
        Unit::Bytes => ("bytes-per-second", "B/s", per_second, Better::Bigger),
        Unit::Weights => (
            "weights-per-second",
            "weights/s",
            per_second,
            Better::Bigger,
        ),
        Unit::Macs => ("macs-per-second", "MAC/s", per_second, Better::Bigger),
        Unit::Files => (
            "nanoseconds-per-file",
            "ns/file",
            per_unit_ns,
            Better::Smaller,
        ),
        Unit::Operations => (
            "nanoseconds-per-operation",
            "ns/op",
            per_unit_ns,
            Better::Smaller,
        ),
        Unit::Tokens => ("tokens-per-second", "tokens/s", per_second, Better::Bigger),
    }
}

/// Every number of `record`, in record order: per measured path its median time (with the
/// interval of the median), its throughput in the workload's unit and its instruction
/// count; per whole command its p50 (p95 as the upper bound) and peak RSS.
pub fn rows(record: &RunRecord) -> Vec<Row> {
    let mut rows = Vec::new();
    for workload in &record.workloads {
        for path in workload.paths.iter().filter(|p| p.status.is_ok()) {
            let benchmark = format!("{}@{}", workload.id, path.path);
            let wall = path
                .wall
                .as_ref()
                .filter(|w| w.status.is_ok())
                .and_then(|w| w.metrics.as_ref());
            if let Some(w) = wall {
                rows.push(Row {
                    benchmark: benchmark.clone(),
                    measure: "latency",
                    unit: "ns",
                    value: w.median_ns,
                    lower: Some(w.median_ci_lower_ns),
                    upper: Some(w.median_ci_upper_ns),
                    better: Better::Smaller,
                });
                if w.median_ns > 0.0 && workload.units > 0 {
                    let (measure, unit, value, better) =
                        throughput(workload.unit, w.median_ns, workload.units);
                    // The interval of the median, carried over (a longer time is a lower
                    // rate, so the bounds swap for rates).
                    let bound = |ns: f64| throughput(workload.unit, ns, workload.units).2;
                    let (lower, upper) = match better {
                        Better::Bigger => {
                            (bound(w.median_ci_upper_ns), bound(w.median_ci_lower_ns))
                        }
                        Better::Smaller => {
                            (bound(w.median_ci_lower_ns), bound(w.median_ci_upper_ns))
                        }
                    };
                    let finite = |v: f64| v.is_finite().then_some(v);
                    rows.push(Row {
                        benchmark: benchmark.clone(),
                        measure,
                        unit,
                        value,
                        lower: finite(lower),
                        upper: finite(upper),
                        better,
                    });
                }
            }
            if let Some(i) = path
                .instr
                .as_ref()
                .filter(|i| i.status.is_ok())
                .and_then(|i| i.metrics.as_ref())
            {
                rows.push(Row {
                    benchmark: benchmark.clone(),
                    measure: "instructions",
                    unit: "instructions",
                    value: i.instructions as f64,
                    lower: None,
                    upper: None,
                    better: Better::Smaller,
                });
            }
        }
    }
    for process in record.processes.iter().filter(|p| p.status.is_ok()) {
        let benchmark = format!("process:{}", process.id);
        if let Some(p50) = process.wall_p50_ns {
            rows.push(Row {
                benchmark: benchmark.clone(),
                measure: "latency",
                unit: "ns",
                value: p50,
                lower: None,
                upper: process.wall_p95_ns,
                better: Better::Smaller,
            });
        }
        if let Some(rss) = process.peak_rss_bytes {
            rows.push(Row {
                benchmark,
                measure: "peak-rss-bytes",
                unit: "B",
                value: rss as f64,
                lower: None,
                upper: None,
                better: Better::Smaller,
            });
        }
    }
    rows
}

/// `record` in `format`, ending with a newline.
pub fn render(record: &RunRecord, format: ExportFormat) -> String {
    let rows = rows(record);
    let mut text = match format {
        ExportFormat::Bmf => bmf(&rows),
        ExportFormat::CustomSmallerIsBetter => custom(&rows, Better::Smaller),
        ExportFormat::CustomBiggerIsBetter => custom(&rows, Better::Bigger),
        ExportFormat::Json => serde_json::to_string_pretty(&rows).unwrap_or_default(),
        ExportFormat::Csv => csv(&rows),
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// `{benchmark: {measure: {value, lower_value, upper_value}}}`.
fn bmf(rows: &[Row]) -> String {
    let mut benchmarks = Map::new();
    for row in rows {
        let mut metric = json!({ "value": number(row.value) });
        if let Some(lower) = row.lower {
            metric["lower_value"] = number(lower);
        }
        if let Some(upper) = row.upper {
            metric["upper_value"] = number(upper);
        }
        let measures = benchmarks
            .entry(row.benchmark.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(measures) = measures {
            measures.insert(row.measure.to_string(), metric);
        }
    }
    serde_json::to_string_pretty(&Value::Object(benchmarks)).unwrap_or_default()
}

/// github-action-benchmark's custom tools: `[{name, unit, value, range?}]`, the rows that
/// improve the way the tool assumes.
fn custom(rows: &[Row], better: Better) -> String {
    let entries: Vec<Value> = rows
        .iter()
        .filter(|r| r.better == better)
        .map(|r| {
            let mut entry = json!({
                "name": format!("{} ({})", r.benchmark, r.measure),
                "unit": r.unit,
                "value": number(r.value),
            });
            if let (Some(lower), Some(upper)) = (r.lower, r.upper) {
                entry["range"] = json!(format!("{lower} .. {upper}"));
            }
            entry
        })
        .collect();
    serde_json::to_string_pretty(&entries).unwrap_or_default()
}

/// RFC 4180 CSV: `benchmark,measure,unit,value,lower,upper,better`.
fn csv(rows: &[Row]) -> String {
    let field = |text: &str| {
        if text.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text.to_string()
        }
    };
    let number = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let mut text = String::from("benchmark,measure,unit,value,lower,upper,better\r\n");
    for r in rows {
        text.push_str(&format!(
            "{},{},{},{},{},{},{}\r\n",
            field(&r.benchmark),
            r.measure,
            r.unit,
            r.value,
            number(r.lower),
            number(r.upper),
            match r.better {
                Better::Smaller => "smaller",
                Better::Bigger => "bigger",
            }
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> RunRecord {
        crate::analysis::fixture::run()
    }

    #[test]
    fn every_measured_path_has_latency_throughput_in_its_unit_and_instructions() {
        let record = record();
        let rows = rows(&record);
        assert!(!rows.is_empty());
        for workload in &record.workloads {
            for path in workload.paths.iter().filter(|p| p.status.is_ok()) {
                let name = format!("{}@{}", workload.id, path.path);
                let measures: Vec<&str> = rows
                    .iter()
                    .filter(|r| r.benchmark == name)
                    .map(|r| r.measure)
                    .collect();
                if path.wall.as_ref().is_some_and(|w| w.status.is_ok()) {
                    assert!(measures.contains(&"latency"), "{name}: {measures:?}");
                    let expected = throughput(workload.unit, 1.0, 1).0;
                    assert!(measures.contains(&expected), "{name}: {measures:?}");
                }
            }
        }
        for row in &rows {
            assert!(row.value.is_finite() && row.value >= 0.0, "{row:?}");
            if let (Some(lower), Some(upper)) = (row.lower, row.upper) {
                assert!(lower <= row.value && row.value <= upper, "{row:?}");
            }
        }
    }

    #[test]
    fn throughput_is_named_by_unit_and_rates_swap_their_bounds() {
        assert_eq!(
            throughput(Unit::Bytes, 1e9, 2 << 30),
            (
                "bytes-per-second",
                "B/s",
                (2u64 << 30) as f64,
                Better::Bigger
            )
        );
        assert_eq!(
            throughput(Unit::Operations, 1000.0, 10),
            ("nanoseconds-per-operation", "ns/op", 100.0, Better::Smaller)
        );
        assert_eq!(throughput(Unit::Files, 4000.0, 2).0, "nanoseconds-per-file");
        assert_eq!(throughput(Unit::Weights, 1e9, 5).1, "weights/s");
        // One decode step in 40 ms.
        assert_eq!(
            throughput(Unit::Tokens, 40e6, 1),
            ("tokens-per-second", "tokens/s", 25.0, Better::Bigger)
        );
    }

    #[test]
    fn formats_carry_the_same_rows() {
        let record = record();
        let rows = rows(&record);
        let bmf: Value = serde_json::from_str(&render(&record, ExportFormat::Bmf)).unwrap();
        for row in &rows {
            assert_eq!(bmf[&row.benchmark][row.measure]["value"], number(row.value));
        }
        let smaller: Vec<Value> =
            serde_json::from_str(&render(&record, ExportFormat::CustomSmallerIsBetter)).unwrap();
        let bigger: Vec<Value> =
            serde_json::from_str(&render(&record, ExportFormat::CustomBiggerIsBetter)).unwrap();
        assert_eq!(smaller.len() + bigger.len(), rows.len());
        assert!(
            smaller
                .iter()
                .all(|e| e["name"].is_string() && e["unit"].is_string())
        );
        let csv = render(&record, ExportFormat::Csv);
        assert_eq!(csv.lines().count(), rows.len() + 1);
        assert!(csv.starts_with("benchmark,measure,unit,value,lower,upper,better\r\n"));
        let json: Vec<Value> = serde_json::from_str(&render(&record, ExportFormat::Json)).unwrap();
        assert_eq!(json.len(), rows.len());
    }
}
