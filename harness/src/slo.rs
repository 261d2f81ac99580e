//! Service-level objectives (`slo.toml`, schema `benchseal.slo/1`): parsing and evaluation.
//!
//! Parsing keeps every value's byte span, so each error names the line, the column, the
//! field and (once known) the objective. Targets are written with their unit
//! (`">= 4.1 GiB/s"`, `"<= 250 ns/file"`, `">= 3.2x"`, `"== 100 %"`); the number is kept as
//! written (a decimal mantissa and scale) and the unit as an exact rational factor to its
//! base unit, so `4.1 GiB/s` is `41 · 2^30 / 10` bytes per second with one rounding at the
//! very end, never `4.1e9`.
//!
//! Evaluation is pure: an objective and a run record (and optionally the baseline record)
//! go in, a verdict comes out. An objective whose workload or process is absent from the
//! run, or whose number was not measured, is `skipped (reason)` — never a pass. A number
//! from a path whose digest check failed is a failure: it did not do the work.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use benchseal_benches::{KernelPath, Unit, WorkloadId};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use toml::Spanned;

use crate::record::{PathRecord, ProcessRecord, RunRecord, Status, WorkloadRecord};

/// Schema name and version of SLO files.
pub const SLO_SCHEMA: &str = "benchseal.slo/1";

/// An error in an SLO file or in applying it to a run.
#[derive(Debug, Error, PartialEq)]
pub enum SloError {
    /// The file is not valid TOML, or a field is missing or has the wrong type.
    #[error("{file}:{line}:{column}: {message}")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// A field's value is not acceptable.
    #[error("{file}:{line}:{column}: {context}field `{field}`: {message}")]
    Field {
        file: String,
        line: usize,
        column: usize,
        /// `objective `id`: ` or empty.
        context: String,
        field: String,
        message: String,
    },
    /// The objective cannot be applied to what the run recorded (e.g. a rate in GiB/s on a
    /// workload that counts files).
    #[error("objective `{objective}`: {message}")]
    Mismatch { objective: String, message: String },
}

// ---------------------------------------------------------------------------------------
// Quantities and units
// ---------------------------------------------------------------------------------------

/// What a target measures, in which base unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "work", rename_all = "snake_case")]
pub enum Dimension {
    /// Units of work per second (bytes/s, weights/s, files/s, operations/s).
    Rate(Unit),
    /// Nanoseconds per unit of work (ns/file, ns/op).
    TimePerWork(Unit),
    /// Nanoseconds.
    Time,
    /// Bytes of memory.
    Memory,
    /// A dimensionless ratio (1.0 = 1x = 100 %).
    Ratio,
    /// Instructions executed.
    Count,
}

impl Dimension {
    fn describe(self) -> String {
        match self {
            Dimension::Rate(u) => format!("a rate of {} per second", u.name()),
            Dimension::TimePerWork(u) => format!("a time per {}", singular(u)),
            Dimension::Time => "a time".into(),
            Dimension::Memory => "an amount of memory".into(),
            Dimension::Ratio => "a ratio".into(),
            Dimension::Count => "an instruction count".into(),
        }
    }
}

fn singular(unit: Unit) -> &'static str {
    match unit {
        Unit::Bytes => "byte",
        Unit::Weights => "weight",
        Unit::Files => "file",
        Unit::Operations => "operation",
    }
}

/// A unit as written, with its exact factor to the base unit of its dimension
/// (bytes/s, ns per unit, ns, bytes, ratio, instructions): base = value · num / den.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitSpec {
    pub text: String,
    pub dimension: Dimension,
    pub num: u128,
    pub den: u128,
}

impl UnitSpec {
    /// Expresses a value in base units in this unit (for display).
    pub fn from_base(&self, base: f64) -> f64 {
        base * self.den as f64 / self.num as f64
    }
}

const KIB: u128 = 1 << 10;

fn binary_or_decimal_bytes(prefix: &str) -> Option<u128> {
    Some(match prefix {
        "" => 1,
        "K" | "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        "Ki" => KIB,
        "Mi" => KIB.pow(2),
        "Gi" => KIB.pow(3),
        "Ti" => KIB.pow(4),
        _ => return None,
    })
}

fn si_prefix(prefix: &str) -> Option<u128> {
    Some(match prefix {
        "" => 1,
        "K" | "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        _ => return None,
    })
}

/// Nanoseconds per time unit.
fn time_unit_ns(text: &str) -> Option<u128> {
    Some(match text {
        "ns" => 1,
        "us" | "µs" | "μs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "min" => 60_000_000_000,
        _ => None?,
    })
}

/// `(work unit, multiplier)` for a possibly prefixed work word: `GiB` → bytes · 2^30,
/// `Gweights` → weights · 10^9, `files`, `op`, `Mops`.
fn work_word(text: &str) -> Option<(Unit, u128)> {
    if let Some(prefix) = text.strip_suffix('B') {
        return binary_or_decimal_bytes(prefix).map(|f| (Unit::Bytes, f));
    }
    const WORDS: [(&str, Unit); 10] = [
        ("bytes", Unit::Bytes),
        ("byte", Unit::Bytes),
        ("weights", Unit::Weights),
        ("weight", Unit::Weights),
        ("files", Unit::Files),
        ("file", Unit::Files),
        ("operations", Unit::Operations),
        ("operation", Unit::Operations),
        ("ops", Unit::Operations),
        ("op", Unit::Operations),
    ];
    WORDS.iter().find_map(|(word, unit)| {
        let prefix = text.strip_suffix(word)?;
        si_prefix(prefix).map(|f| (*unit, f))
    })
}

/// Parses a unit such as `GiB/s`, `G weights/s`, `ns/file`, `ms/1000 files`, `MiB`, `ms`,
/// `x`, `%`, `M instr`.
pub fn parse_unit(text: &str) -> Result<UnitSpec, String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let spec = |dimension, num, den| UnitSpec {
        text: text.trim().to_string(),
        dimension,
        num,
        den,
    };
    match compact.as_str() {
        "x" | "×" => return Ok(spec(Dimension::Ratio, 1, 1)),
        "%" => return Ok(spec(Dimension::Ratio, 1, 100)),
        _ => {}
    }
    if let Some((left, right)) = compact.split_once('/') {
        if right == "s" {
            let (unit, factor) = work_word(left)
                .ok_or_else(|| format!("unknown unit of work `{left}` in `{text}`"))?;
            return Ok(spec(Dimension::Rate(unit), factor, 1));
        }
        let time = time_unit_ns(left)
            .ok_or_else(|| format!("unknown unit `{text}` (a rate ends in `/s`, a time per unit starts with ns, us, ms or s)"))?;
        let digits_end = right
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(right.len());
        let count: u128 = if digits_end == 0 {
            1
        } else {
            right[..digits_end]
                .parse()
                .map_err(|_| format!("bad count in `{text}`"))?
        };
        if count == 0 {
            return Err(format!("per zero units in `{text}`"));
        }
        let (unit, factor) = work_word(&right[digits_end..]).ok_or_else(|| {
            format!(
                "unknown unit of work `{}` in `{text}`",
                &right[digits_end..]
            )
        })?;
        return Ok(spec(Dimension::TimePerWork(unit), time, count * factor));
    }
    if let Some(ns) = time_unit_ns(&compact) {
        return Ok(spec(Dimension::Time, ns, 1));
    }
    if let Some(prefix) = compact.strip_suffix('B')
        && let Some(factor) = binary_or_decimal_bytes(prefix)
    {
        return Ok(spec(Dimension::Memory, factor, 1));
    }
    for word in ["instructions", "instr", "Ir"] {
        if let Some(prefix) = compact.strip_suffix(word)
            && let Some(factor) = si_prefix(prefix)
        {
            return Ok(spec(Dimension::Count, factor, 1));
        }
    }
    Err(format!(
        "unknown unit `{text}` (expected e.g. GiB/s, G weights/s, ns/file, ms/1000 files, ms, MiB, x, %, M instr)"
    ))
}

/// How a measured value must relate to the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparator {
    #[serde(rename = ">=")]
    AtLeast,
    #[serde(rename = ">")]
    Above,
    #[serde(rename = "<=")]
    AtMost,
    #[serde(rename = "<")]
    Below,
    #[serde(rename = "==")]
    Equal,
}

impl Comparator {
    pub fn symbol(self) -> &'static str {
        match self {
            Comparator::AtLeast => ">=",
            Comparator::Above => ">",
            Comparator::AtMost => "<=",
            Comparator::Below => "<",
            Comparator::Equal => "==",
        }
    }

    pub fn holds(self, measured: f64, target: f64) -> bool {
        match self {
            Comparator::AtLeast => measured >= target,
            Comparator::Above => measured > target,
            Comparator::AtMost => measured <= target,
            Comparator::Below => measured < target,
            Comparator::Equal => measured == target,
        }
    }

    /// How far beyond the target `measured` is, in percent of the target: positive is on
    /// the good side, negative a shortfall.
    pub fn margin_pct(self, measured: f64, target: f64) -> f64 {
        if target == 0.0 {
            return 0.0;
        }
        let delta = (measured - target) / target.abs() * 100.0;
        match self {
            Comparator::AtLeast | Comparator::Above => delta,
            Comparator::AtMost | Comparator::Below => -delta,
            Comparator::Equal if delta == 0.0 => 0.0,
            Comparator::Equal => -delta.abs(),
        }
    }
}

/// A decimal number exactly as written: `mantissa · 10^-scale`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decimal {
    pub mantissa: u128,
    pub scale: u32,
}

impl Decimal {
    pub fn parse(text: &str) -> Result<Decimal, String> {
        let (int, frac) = text.split_once('.').unwrap_or((text, ""));
        let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if int.is_empty()
            || !all_digits(int)
            || !all_digits(frac)
            || (text.contains('.') && frac.is_empty())
        {
            return Err(format!("`{text}` is not a non-negative decimal number"));
        }
        if frac.len() > 18 || int.len() > 20 {
            return Err(format!("`{text}` has too many digits"));
        }
        let mantissa = format!("{int}{frac}")
            .parse::<u128>()
            .map_err(|e| format!("`{text}`: {e}"))?;
        Ok(Decimal {
            mantissa,
            scale: frac.len() as u32,
        })
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.mantissa.to_string();
        let scale = self.scale as usize;
        if scale == 0 {
            return f.write_str(&digits);
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (int, frac) = padded.split_at(padded.len() - scale);
        write!(f, "{int}.{frac}")
    }
}

/// A target such as `>= 4.1 GiB/s`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub comparator: Comparator,
    pub value: Decimal,
    pub unit: UnitSpec,
}

impl Target {
    pub fn parse(text: &str) -> Result<Target, String> {
        let trimmed = text.trim();
        let ops: [(&str, Comparator); 7] = [
            (">=", Comparator::AtLeast),
            ("≥", Comparator::AtLeast),
            ("<=", Comparator::AtMost),
            ("≤", Comparator::AtMost),
            ("==", Comparator::Equal),
            (">", Comparator::Above),
            ("<", Comparator::Below),
        ];
        let (comparator, rest) = ops
            .iter()
            .find_map(|(sym, cmp)| {
                trimmed
                    .strip_prefix(sym)
                    .map(|rest| (*cmp, rest.trim_start()))
            })
            .ok_or_else(|| format!("target `{text}` must start with >=, >, <=, <, or =="))?;
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_end == 0 {
            return Err(format!(
                "target `{text}` has no number after `{}`",
                comparator.symbol()
            ));
        }
        let value = Decimal::parse(&rest[..number_end])?;
        let unit_text = rest[number_end..].trim();
        if unit_text.is_empty() {
            return Err(format!("target `{text}` has no unit"));
        }
        let unit = parse_unit(unit_text)?;
        Ok(Target {
            comparator,
            value,
            unit,
        })
    }

    /// The target in base units, rounded once.
    pub fn base_value(&self) -> f64 {
        let pow = 10u128.pow(self.value.scale);
        match self.value.mantissa.checked_mul(self.unit.num) {
            Some(n) => n as f64 / (pow * self.unit.den) as f64,
            None => {
                self.value.mantissa as f64 * self.unit.num as f64 / (pow * self.unit.den) as f64
            }
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sep = if self.unit.text == "x" || self.unit.text == "×" {
            ""
        } else {
            " "
        };
        write!(
            f,
            "{} {}{sep}{}",
            self.comparator.symbol(),
            self.value,
            self.unit.text
        )
    }
}

/// Formats a base-unit value in `unit`, with four significant digits.
pub fn format_in(unit: &UnitSpec, base: f64) -> String {
    let v = unit.from_base(base);
    let sep = if unit.text == "x" || unit.text == "×" {
        ""
    } else {
        " "
    };
    format!("{}{sep}{}", significant(v, 4), unit.text)
}

/// `v` with `digits` significant digits, no exponent, trailing zeros kept to the precision.
pub fn significant(v: f64, digits: i32) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    if v == 0.0 {
        return "0".into();
    }
    let magnitude = v.abs().log10().floor() as i32;
    let decimals = (digits - 1 - magnitude).max(0) as usize;
    format!("{v:.decimals$}")
}

// ---------------------------------------------------------------------------------------
// The SLO file
// ---------------------------------------------------------------------------------------

/// What an objective measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Throughput,
    LatencyP50,
    LatencyP95,
    LatencyP99,
    Instructions,
    PeakRss,
    Speedup,
    DigestReproducibility,
}

impl Metric {
    pub const ALL: [Metric; 8] = [
        Metric::Throughput,
        Metric::LatencyP50,
        Metric::LatencyP95,
        Metric::LatencyP99,
        Metric::Instructions,
        Metric::PeakRss,
        Metric::Speedup,
        Metric::DigestReproducibility,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::Throughput => "throughput",
            Metric::LatencyP50 => "latency_p50",
            Metric::LatencyP95 => "latency_p95",
            Metric::LatencyP99 => "latency_p99",
            Metric::Instructions => "instructions",
            Metric::PeakRss => "peak_rss",
            Metric::Speedup => "speedup",
            Metric::DigestReproducibility => "digest_reproducibility",
        }
    }

    fn fits(self, dimension: Dimension) -> bool {
        use Dimension as D;
        match self {
            Metric::Throughput => matches!(dimension, D::Rate(_) | D::TimePerWork(_)),
            Metric::LatencyP50 | Metric::LatencyP95 | Metric::LatencyP99 => {
                matches!(dimension, D::Time | D::TimePerWork(_))
            }
            Metric::Instructions => dimension == D::Count,
            Metric::PeakRss => dimension == D::Memory,
            Metric::Speedup | Metric::DigestReproducibility => dimension == D::Ratio,
        }
    }

    fn expects(self) -> &'static str {
        match self {
            Metric::Throughput => {
                "a rate (GiB/s, G weights/s, files/s) or a time per unit (ns/file, ns/op)"
            }
            Metric::LatencyP50 | Metric::LatencyP95 | Metric::LatencyP99 => {
                "a time (ns, us, ms, s) or a time per unit (ns/file)"
            }
            Metric::Instructions => "an instruction count (instr, K instr, M instr)",
            Metric::PeakRss => "an amount of memory (KiB, MiB, GiB)",
            Metric::Speedup => "a ratio (x or %)",
            Metric::DigestReproducibility => "a percentage (%)",
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How much an objective matters to the go / no-go decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Critical,
    High,
    Medium,
}

impl Priority {
    pub fn name(self) -> &'static str {
        match self {
            Priority::Critical => "critical",
            Priority::High => "high",
            Priority::Medium => "medium",
        }
    }

    /// Whether failing an objective of this priority blocks the release.
    pub fn blocks_release(self) -> bool {
        matches!(self, Priority::Critical | Priority::High)
    }
}

/// What an objective is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Subject {
    /// One workload of the registry.
    Workload(WorkloadId),
    /// A whole command measured by the process engine (a `[[process]]` of the file).
    Process(String),
    /// Every workload whose id starts with the prefix (empty: all), for reproducibility.
    Workloads(String),
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Workload(id) => write!(f, "{id}"),
            Subject::Process(id) => write!(f, "process {id}"),
            Subject::Workloads(prefix) if prefix.is_empty() => f.write_str("all workloads"),
            Subject::Workloads(prefix) => write!(f, "{prefix}*"),
        }
    }
}

/// For a speedup: what the subject is measured against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpeedupBase {
    /// The same workload on another path: `paths = ["scalar", "simd"]`.
    Path { base: KernelPath, fast: KernelPath },
    /// Another workload on the objective's path: `relative_to = "…"` (throughput ratio).
    Workload { reference: WorkloadId },
}

/// One objective.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Objective {
    pub id: String,
    pub description: Option<String>,
    pub subject: Subject,
    pub metric: Metric,
    pub target: Target,
    pub priority: Priority,
    /// The kernel path measured (workload objectives); `None` picks the workload's fast path.
    pub path: Option<KernelPath>,
    pub speedup: Option<SpeedupBase>,
}

/// A whole command the sign-off measures with the process engine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcessSpec {
    pub id: String,
    pub description: Option<String>,
    /// argv; `{benchseal}` is replaced by the running benchseal executable, `{scratch}` by
    /// a scratch directory that lives for the measurement.
    pub command: Vec<String>,
    /// Run once before measuring (e.g. to generate an input file), with the same
    /// placeholders.
    pub setup: Option<Vec<String>>,
    pub runs: u32,
    pub warmup: u32,
    pub unit: Option<Unit>,
    pub units: Option<u64>,
}

/// A parsed `slo.toml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SloFile {
    pub schema: String,
    pub objectives: Vec<Objective>,
    pub processes: Vec<ProcessSpec>,
    /// The `[regression]` table: how the comparison with the baseline decides.
    pub regression: crate::compare::Policy,
}

// Raw shapes, as written, with spans.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    schema: Spanned<String>,
    #[serde(default)]
    objective: Vec<Spanned<RawObjective>>,
    #[serde(default)]
    process: Vec<Spanned<RawProcess>>,
    regression: Option<Spanned<crate::compare::Policy>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawObjective {
    id: Spanned<String>,
    description: Option<String>,
    workload: Option<Spanned<String>>,
    metric: Spanned<String>,
    target: Spanned<String>,
    priority: Spanned<String>,
    path: Option<Spanned<String>>,
    paths: Option<Spanned<Vec<String>>>,
    relative_to: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProcess {
    id: Spanned<String>,
    description: Option<String>,
    command: Spanned<Vec<String>>,
    setup: Option<Vec<String>>,
    runs: Option<Spanned<u32>>,
    warmup: Option<u32>,
    unit: Option<Spanned<String>>,
    units: Option<u64>,
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// The key assigned on the line of `offset`, if the span points at a value (`key = …`).
fn key_before(text: &str, offset: usize) -> Option<&str> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let (key, _) = text[line_start..offset].split_once('=')?;
    let key = key.trim();
    (!key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-'))
    .then_some(key)
}

struct Parser<'a> {
    file: &'a str,
    text: &'a str,
}

impl Parser<'_> {
    fn field(
        &self,
        span: Range<usize>,
        objective: Option<&str>,
        field: &str,
        message: impl Into<String>,
    ) -> SloError {
        let (line, column) = line_col(self.text, span.start);
        SloError::Field {
            file: self.file.to_string(),
            line,
            column,
            context: objective
                .map(|o| format!("objective `{o}`: "))
                .unwrap_or_default(),
            field: field.to_string(),
            message: message.into(),
        }
    }

    fn syntax(&self, err: toml::de::Error) -> SloError {
        let span = err.span().unwrap_or(0..0);
        let (line, column) = line_col(self.text, span.start);
        let mut message = err.message().trim().to_string();
        if !message.contains('`')
            && let Some(key) = key_before(self.text, span.start)
        {
            message = format!("field `{key}`: {message}");
        }
        SloError::Syntax {
            file: self.file.to_string(),
            line,
            column,
            message,
        }
    }
}

impl SloFile {
    /// Parses SLO text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<SloFile, SloError> {
        let p = Parser { file, text };
        let raw: RawFile = toml::from_str(text).map_err(|e| p.syntax(e))?;
        if raw.schema.get_ref() != SLO_SCHEMA {
            return Err(p.field(
                raw.schema.span(),
                None,
                "schema",
                format!(
                    "`{}` is not supported (expected `{SLO_SCHEMA}`)",
                    raw.schema.get_ref()
                ),
            ));
        }
        let mut processes = Vec::new();
        for raw_process in &raw.process {
            let process = p.process(raw_process.get_ref())?;
            if processes.iter().any(|q: &ProcessSpec| q.id == process.id) {
                return Err(p.field(
                    raw_process.get_ref().id.span(),
                    None,
                    "id",
                    format!("process `{}` is defined twice", process.id),
                ));
            }
            processes.push(process);
        }
        let mut objectives: Vec<Objective> = Vec::new();
        for raw_objective in &raw.objective {
            let objective = p.objective(raw_objective.get_ref(), &processes)?;
            if objectives.iter().any(|o| o.id == objective.id) {
                return Err(p.field(
                    raw_objective.get_ref().id.span(),
                    None,
                    "id",
                    format!("objective `{}` is defined twice", objective.id),
                ));
            }
            objectives.push(objective);
        }
        let regression = match raw.regression {
            None => crate::compare::Policy::default(),
            Some(policy) => {
                policy
                    .get_ref()
                    .validate()
                    .map_err(|m| p.field(policy.span(), None, "regression", m))?;
                policy.into_inner()
            }
        };
        Ok(SloFile {
            schema: SLO_SCHEMA.into(),
            objectives,
            processes,
            regression,
        })
    }

    /// Reads and parses an SLO file; every failure is bad input (exit 2).
    pub fn load(path: &std::path::Path) -> anyhow::Result<SloFile> {
        let text = crate::fsutil::read_to_string(path)
            .map_err(|e| crate::exit::bad_input(format!("{e:#}")))?;
        SloFile::parse(&text, &path.display().to_string())
            .map_err(|e| crate::exit::bad_input(e.to_string()))
    }

    pub fn process(&self, id: &str) -> Option<&ProcessSpec> {
        self.processes.iter().find(|p| p.id == id)
    }
}

impl Parser<'_> {
    fn objective(
        &self,
        raw: &RawObjective,
        processes: &[ProcessSpec],
    ) -> Result<Objective, SloError> {
        let id = raw.id.get_ref().clone();
        let ctx = Some(id.as_str());
        if id.trim().is_empty() {
            return Err(self.field(raw.id.span(), None, "id", "must not be empty"));
        }
        let metric = Metric::ALL
            .into_iter()
            .find(|m| m.name() == raw.metric.get_ref())
            .ok_or_else(|| {
                let names: Vec<_> = Metric::ALL.iter().map(|m| m.name()).collect();
                self.field(
                    raw.metric.span(),
                    ctx,
                    "metric",
                    format!(
                        "unknown metric `{}` (valid: {})",
                        raw.metric.get_ref(),
                        names.join(", ")
                    ),
                )
            })?;
        let target = Target::parse(raw.target.get_ref())
            .map_err(|m| self.field(raw.target.span(), ctx, "target", m))?;
        if !metric.fits(target.unit.dimension) {
            return Err(self.field(
                raw.target.span(),
                ctx,
                "target",
                format!(
                    "unit `{}` is {}, which does not fit metric `{metric}` (expected {})",
                    target.unit.text,
                    target.unit.dimension.describe(),
                    metric.expects()
                ),
            ));
        }
        let priority = match raw.priority.get_ref().as_str() {
            "critical" => Priority::Critical,
            "high" => Priority::High,
            "medium" => Priority::Medium,
            other => {
                return Err(self.field(
                    raw.priority.span(),
                    ctx,
                    "priority",
                    format!("unknown priority `{other}` (valid: critical, high, medium)"),
                ));
            }
        };
        let subject = match &raw.workload {
            None if metric == Metric::DigestReproducibility => Subject::Workloads(String::new()),
            None => {
                return Err(self.field(
                    raw.id.span(),
                    ctx,
                    "workload",
                    "is missing (a workload id or a process id)",
                ));
            }
            Some(w) => {
                let text = w.get_ref();
                if processes.iter().any(|p| &p.id == text) {
                    Subject::Process(text.clone())
                } else if metric == Metric::DigestReproducibility {
                    Subject::Workloads(text.trim_end_matches('*').to_string())
                } else {
                    Subject::Workload(text.parse().map_err(|e: String| {
                        self.field(
                            w.span(),
                            ctx,
                            "workload",
                            format!("{e}, nor a `[[process]]` id of this file"),
                        )
                    })?)
                }
            }
        };
        let path = match &raw.path {
            None => None,
            Some(p) => Some(
                p.get_ref()
                    .parse::<KernelPath>()
                    .map_err(|m| self.field(p.span(), ctx, "path", m))?,
            ),
        };
        if let (Some(p), Subject::Process(_)) = (&raw.path, &subject) {
            return Err(self.field(
                p.span(),
                ctx,
                "path",
                "a process objective has no kernel path",
            ));
        }
        let process_metric = matches!(metric, Metric::PeakRss);
        if process_metric && !matches!(subject, Subject::Process(_)) {
            return Err(self.field(
                raw.metric.span(),
                ctx,
                "metric",
                "peak_rss is measured by the process engine: `workload` must name a `[[process]]`",
            ));
        }
        if matches!(subject, Subject::Process(_))
            && matches!(
                metric,
                Metric::Instructions | Metric::Speedup | Metric::DigestReproducibility
            )
        {
            return Err(self.field(
                raw.metric.span(),
                ctx,
                "metric",
                format!("`{metric}` does not apply to a process"),
            ));
        }
        let speedup = match (metric, &raw.paths, &raw.relative_to) {
            (Metric::Speedup, Some(paths), None) => {
                let [base, fast] = paths.get_ref().as_slice() else {
                    return Err(self.field(
                        paths.span(),
                        ctx,
                        "paths",
                        "must name two paths: [baseline path, fast path]",
                    ));
                };
                let parse = |s: &String| {
                    s.parse::<KernelPath>()
                        .map_err(|m| self.field(paths.span(), ctx, "paths", m))
                };
                Some(SpeedupBase::Path {
                    base: parse(base)?,
                    fast: parse(fast)?,
                })
            }
            (Metric::Speedup, None, Some(reference)) => Some(SpeedupBase::Workload {
                reference: reference
                    .get_ref()
                    .parse()
                    .map_err(|m| self.field(reference.span(), ctx, "relative_to", m))?,
            }),
            (Metric::Speedup, Some(paths), Some(_)) => {
                return Err(self.field(
                    paths.span(),
                    ctx,
                    "paths",
                    "give either `paths` or `relative_to`, not both",
                ));
            }
            (Metric::Speedup, None, None) => {
                return Err(self.field(
                    raw.metric.span(),
                    ctx,
                    "paths",
                    "a speedup needs `paths = [base, fast]` or `relative_to = workload`",
                ));
            }
            (_, Some(paths), _) => {
                return Err(self.field(
                    paths.span(),
                    ctx,
                    "paths",
                    "only a speedup compares paths",
                ));
            }
            (_, _, Some(r)) => {
                return Err(self.field(
                    r.span(),
                    ctx,
                    "relative_to",
                    "only a speedup has a reference workload",
                ));
            }
            _ => None,
        };
        Ok(Objective {
            id,
            description: raw.description.clone(),
            subject,
            metric,
            target,
            priority,
            path,
            speedup,
        })
    }

    fn process(&self, raw: &RawProcess) -> Result<ProcessSpec, SloError> {
        let id = raw.id.get_ref().clone();
        if id.trim().is_empty() {
            return Err(self.field(raw.id.span(), None, "id", "must not be empty"));
        }
        if raw.command.get_ref().is_empty() {
            return Err(self.field(
                raw.command.span(),
                None,
                "command",
                format!("process `{id}`: must name a program"),
            ));
        }
        let runs = raw.runs.as_ref().map_or(Ok(10), |r| {
            if *r.get_ref() == 0 {
                Err(self.field(
                    r.span(),
                    None,
                    "runs",
                    format!("process `{id}`: must be at least 1"),
                ))
            } else {
                Ok(*r.get_ref())
            }
        })?;
        let unit = match &raw.unit {
            None => None,
            Some(u) => Some(match u.get_ref().as_str() {
                "bytes" => Unit::Bytes,
                "weights" => Unit::Weights,
                "files" => Unit::Files,
                "operations" => Unit::Operations,
                other => {
                    return Err(self.field(u.span(), None, "unit", format!("process `{id}`: unknown unit `{other}` (valid: bytes, weights, files, operations)")));
                }
            }),
        };
        Ok(ProcessSpec {
            id,
            description: raw.description.clone(),
            command: raw.command.get_ref().clone(),
            setup: raw.setup.clone(),
            runs,
            warmup: raw.warmup.unwrap_or(1),
            unit,
            units: raw.units,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------

/// `pass | fail | skipped (reason)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", content = "reason", rename_all = "lowercase")]
pub enum SloVerdict {
    Pass,
    Fail(String),
    Skipped(String),
}

impl SloVerdict {
    pub fn name(&self) -> &'static str {
        match self {
            SloVerdict::Pass => "pass",
            SloVerdict::Fail(_) => "fail",
            SloVerdict::Skipped(_) => "skipped",
        }
    }
}

impl fmt::Display for SloVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SloVerdict::Pass => f.write_str("pass"),
            SloVerdict::Fail(why) => write!(f, "fail ({why})"),
            SloVerdict::Skipped(why) => write!(f, "skipped ({why})"),
        }
    }
}

/// The outcome of one objective.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub verdict: SloVerdict,
    /// The measured value in the base unit of the target's dimension.
    pub measured_base: Option<f64>,
    /// Percent beyond the target (negative: short of it).
    pub margin_pct: Option<f64>,
    /// Where the number came from (workload, path, engine), for the evidence column.
    pub source: String,
}

impl Evaluation {
    fn skipped(reason: impl Into<String>, source: impl Into<String>) -> Evaluation {
        Evaluation {
            verdict: SloVerdict::Skipped(reason.into()),
            measured_base: None,
            margin_pct: None,
            source: source.into(),
        }
    }
}

/// What an objective needs from the run, found or the reason it is not there.
enum Found<T> {
    Yes(T),
    Skip(String),
    Fail(String),
}

macro_rules! found {
    ($e:expr, $source:expr) => {
        match $e {
            Found::Yes(v) => v,
            Found::Skip(why) => return Ok(Evaluation::skipped(why, $source)),
            Found::Fail(why) => {
                return Ok(Evaluation {
                    verdict: SloVerdict::Fail(why),
                    measured_base: None,
                    margin_pct: None,
                    source: $source,
                });
            }
        }
    };
}

fn workload<'r>(run: &'r RunRecord, id: &WorkloadId) -> Found<&'r WorkloadRecord> {
    match run.workload(id) {
        Some(w) => Found::Yes(w),
        None => Found::Skip("workload not in run".into()),
    }
}

/// The path an objective reads: the named one, or the workload's fast path (SIMD when it
/// ran, else its only path).
fn default_path(w: &WorkloadRecord, path: Option<KernelPath>) -> KernelPath {
    path.unwrap_or_else(|| {
        if w.path(KernelPath::Simd).is_some() || w.paths.len() != 1 {
            KernelPath::Simd
        } else {
            w.paths[0].path
        }
    })
}

fn path_record(w: &WorkloadRecord, path: KernelPath) -> Found<&PathRecord> {
    let Some(p) = w.path(path) else {
        return Found::Skip(format!("path {path} not in run"));
    };
    match &p.status {
        Status::Ok => Found::Yes(p),
        Status::Skipped(why) => Found::Skip(format!("path {path}: {why}")),
        Status::Invalid(why) => Found::Fail(format!("path {path} invalid: {why}")),
    }
}

fn wall(p: &PathRecord) -> Found<&crate::record::WallStats> {
    match &p.wall {
        None => Found::Skip("wall engine not run".into()),
        Some(r) => match (&r.status, &r.metrics) {
            (Status::Ok, Some(m)) => Found::Yes(m),
            (Status::Ok, None) => Found::Skip("wall engine recorded no statistics".into()),
            (Status::Skipped(why), _) => Found::Skip(format!("wall engine: {why}")),
            (Status::Invalid(why), _) => Found::Fail(format!("wall engine invalid: {why}")),
        },
    }
}

fn process<'r>(run: &'r RunRecord, id: &str) -> Found<&'r ProcessRecord> {
    match run.processes.iter().find(|p| p.id == id) {
        None => Found::Skip("process not in run".into()),
        Some(p) => match &p.status {
            Status::Ok => Found::Yes(p),
            Status::Skipped(why) => Found::Skip(why.clone()),
            Status::Invalid(why) => Found::Fail(format!("process invalid: {why}")),
        },
    }
}

/// Linear-interpolated quantile (`q` in 0..=1) of unsorted samples; `None` when empty.
pub fn quantile(samples: &[f64], q: f64) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lower = pos.floor() as usize;
    let upper = pos.ceil() as usize;
    Some(sorted[lower] + (sorted[upper] - sorted[lower]) * (pos - lower as f64))
}

fn check_work_unit(objective: &Objective, actual: Option<Unit>) -> Result<(), SloError> {
    let wanted = match objective.target.unit.dimension {
        Dimension::Rate(u) | Dimension::TimePerWork(u) => u,
        _ => return Ok(()),
    };
    match actual {
        Some(actual) if actual == wanted => Ok(()),
        Some(actual) => Err(SloError::Mismatch {
            objective: objective.id.clone(),
            message: format!(
                "target unit `{}` counts {}, but {} counts {}",
                objective.target.unit.text,
                wanted.name(),
                objective.subject,
                actual.name()
            ),
        }),
        None => Err(SloError::Mismatch {
            objective: objective.id.clone(),
            message: format!(
                "target unit `{}` needs a unit of work, and {} has none",
                objective.target.unit.text, objective.subject
            ),
        }),
    }
}

/// Converts a time per run of the work into the target's dimension.
fn time_in_dimension(
    objective: &Objective,
    ns_per_run: f64,
    units: Option<u64>,
) -> Result<f64, SloError> {
    match objective.target.unit.dimension {
        Dimension::TimePerWork(_) => match units {
            Some(n) if n > 0 => Ok(ns_per_run / n as f64),
            _ => Err(SloError::Mismatch {
                objective: objective.id.clone(),
                message: "a time per unit needs a count of units of work".into(),
            }),
        },
        Dimension::Rate(_) => match units {
            Some(n) if n > 0 => Ok(n as f64 * 1e9 / ns_per_run),
            _ => Err(SloError::Mismatch {
                objective: objective.id.clone(),
                message: "a rate needs a count of units of work".into(),
            }),
        },
        _ => Ok(ns_per_run),
    }
}

/// Evaluates one objective against a run (and the baseline run, for reproducibility).
///
/// `Err` means the objective cannot be applied to this run at all (a unit that does not fit
/// the workload): a configuration error, not a verdict.
pub fn evaluate(
    objective: &Objective,
    run: &RunRecord,
    baseline: Option<&RunRecord>,
) -> Result<Evaluation, SloError> {
    let measured_in = |source: String, measured: f64| {
        let target = objective.target.base_value();
        let cmp = objective.target.comparator;
        let verdict = if cmp.holds(measured, target) {
            SloVerdict::Pass
        } else {
            SloVerdict::Fail(format!(
                "{} is not {}",
                format_in(&objective.target.unit, measured),
                objective.target
            ))
        };
        Evaluation {
            verdict,
            measured_base: Some(measured),
            margin_pct: Some(cmp.margin_pct(measured, target)),
            source,
        }
    };
    match (&objective.subject, objective.metric) {
        (Subject::Process(id), metric) => {
            let source = format!("process {id}");
            let p = found!(process(run, id), source);
            let measured = match metric {
                Metric::PeakRss => found!(
                    p.peak_rss_bytes
                        .map_or(Found::Skip("peak RSS not recorded".into()), |b| Found::Yes(
                            b as f64
                        )),
                    source
                ),
                Metric::Throughput
                | Metric::LatencyP50
                | Metric::LatencyP95
                | Metric::LatencyP99 => {
                    let wall = match metric {
                        Metric::LatencyP95 => p.wall_p95_ns,
                        Metric::LatencyP99 => p.wall_p99_ns,
                        _ => p.wall_p50_ns,
                    };
                    let ns = found!(
                        wall.map_or(Found::Skip("wall time not recorded".into()), Found::Yes),
                        source
                    );
                    if matches!(
                        objective.target.unit.dimension,
                        Dimension::Rate(_) | Dimension::TimePerWork(_)
                    ) {
                        check_work_unit(objective, p.unit)?;
                    }
                    time_in_dimension(objective, ns, p.units)?
                }
                other => {
                    return Err(SloError::Mismatch {
                        objective: objective.id.clone(),
                        message: format!("`{other}` does not apply to a process"),
                    });
                }
            };
            Ok(measured_in(source, measured))
        }
        (Subject::Workload(id), Metric::Speedup) => {
            let w = found!(workload(run, id), id.to_string());
            let (base_rate, fast_rate, source) = match objective.speedup.as_ref() {
                Some(SpeedupBase::Path { base, fast }) => {
                    let source = format!("{id} {fast} over {base}, wall");
                    let b = found!(path_record(w, *base), source);
                    let f = found!(path_record(w, *fast), source);
                    let bw = found!(wall(b), source);
                    let fw = found!(wall(f), source);
                    (1.0 / bw.median_ns, 1.0 / fw.median_ns, source)
                }
                Some(SpeedupBase::Workload { reference }) => {
                    let path = default_path(w, objective.path);
                    let source = format!("{id} over {reference}, path {path}, wall");
                    let r = found!(
                        workload(run, reference)
                            .map_skip(|why| format!("reference {reference}: {why}")),
                        source
                    );
                    let f = found!(path_record(w, path), source);
                    let rp = found!(path_record(r, default_path(r, objective.path)), source);
                    let fw = found!(wall(f), source);
                    let rw = found!(wall(rp), source);
                    (
                        r.units as f64 / rw.median_ns,
                        w.units as f64 / fw.median_ns,
                        source,
                    )
                }
                None => {
                    return Err(SloError::Mismatch {
                        objective: objective.id.clone(),
                        message: "a speedup needs `paths` or `relative_to`".into(),
                    });
                }
            };
            Ok(measured_in(source, fast_rate / base_rate))
        }
        (Subject::Workload(id), metric) => {
            let w = found!(workload(run, id), id.to_string());
            let path = default_path(w, objective.path);
            let p = found!(path_record(w, path), format!("{id} {path}"));
            match metric {
                Metric::Throughput
                | Metric::LatencyP50
                | Metric::LatencyP95
                | Metric::LatencyP99 => {
                    let source = format!("{id} {path}, wall");
                    let stats = found!(wall(p), source);
                    let ns = match metric {
                        Metric::Throughput => stats.median_ns,
                        Metric::LatencyP50 => {
                            quantile(&stats.samples_ns, 0.50).unwrap_or(stats.median_ns)
                        }
                        Metric::LatencyP95 => found!(
                            quantile(&stats.samples_ns, 0.95)
                                .map_or(Found::Skip("no wall samples".into()), Found::Yes),
                            source
                        ),
                        _ => found!(
                            quantile(&stats.samples_ns, 0.99)
                                .map_or(Found::Skip("no wall samples".into()), Found::Yes),
                            source
                        ),
                    };
                    if matches!(
                        objective.target.unit.dimension,
                        Dimension::Rate(_) | Dimension::TimePerWork(_)
                    ) {
                        check_work_unit(objective, Some(w.unit))?;
                    }
                    Ok(measured_in(
                        source,
                        time_in_dimension(objective, ns, Some(w.units))?,
                    ))
                }
                Metric::Instructions => {
                    let source = format!("{id} {path}, instr");
                    let instr = match &p.instr {
                        None => return Ok(Evaluation::skipped("instr engine not run", source)),
                        Some(r) => match (&r.status, &r.metrics) {
                            (Status::Ok, Some(m)) => m.instructions,
                            (Status::Invalid(why), _) => {
                                return Ok(Evaluation {
                                    verdict: SloVerdict::Fail(format!(
                                        "instr engine invalid: {why}"
                                    )),
                                    measured_base: None,
                                    margin_pct: None,
                                    source,
                                });
                            }
                            (Status::Skipped(why), _) => {
                                return Ok(Evaluation::skipped(
                                    format!("instr engine: {why}"),
                                    source,
                                ));
                            }
                            (Status::Ok, None) => {
                                return Ok(Evaluation::skipped(
                                    "instr engine recorded no metrics",
                                    source,
                                ));
                            }
                        },
                    };
                    Ok(measured_in(source, instr as f64))
                }
                other => Err(SloError::Mismatch {
                    objective: objective.id.clone(),
                    message: format!("`{other}` does not apply to one workload"),
                }),
            }
        }
        (Subject::Workloads(prefix), Metric::DigestReproducibility) => {
            let source = if prefix.is_empty() {
                "all workloads, digest pass".to_string()
            } else {
                format!("{prefix}*, digest pass")
            };
            let summary = reproducibility(run, baseline, prefix);
            if summary.checked == 0 {
                return Ok(Evaluation::skipped("no output digests in run", source));
            }
            let pct = summary.reproduced as f64 / summary.checked as f64;
            let mut evaluation = measured_in(
                format!(
                    "{source}: {}/{} reproduced",
                    summary.reproduced, summary.checked
                ),
                pct,
            );
            if let (SloVerdict::Fail(_), Some(first)) =
                (&evaluation.verdict, summary.mismatches.first())
            {
                evaluation.verdict = SloVerdict::Fail(format!(
                    "{} of {} digests differ, first {first}",
                    summary.checked - summary.reproduced,
                    summary.checked
                ));
            }
            Ok(evaluation)
        }
        (Subject::Workloads(_), other) => Err(SloError::Mismatch {
            objective: objective.id.clone(),
            message: format!("`{other}` needs one workload or process"),
        }),
    }
}

trait MapSkip {
    fn map_skip(self, f: impl FnOnce(String) -> String) -> Self;
}

impl<T> MapSkip for Found<T> {
    fn map_skip(self, f: impl FnOnce(String) -> String) -> Self {
        match self {
            Found::Skip(why) => Found::Skip(f(why)),
            other => other,
        }
    }
}

/// Digest reproducibility over the workloads whose id starts with `prefix`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReproducibilitySummary {
    /// Paths with an output digest.
    pub checked: usize,
    /// Of those, paths whose digest equals the golden digest and the baseline's.
    pub reproduced: usize,
    /// `workload path: what differs`, in run order.
    pub mismatches: Vec<String>,
}

/// Checks every path's output digest against the golden digest, the other paths of the
/// same workload, and the baseline's digest of the same workload and path; and the input
/// digest against the baseline's.
pub fn reproducibility(
    run: &RunRecord,
    baseline: Option<&RunRecord>,
    prefix: &str,
) -> ReproducibilitySummary {
    let mut summary = ReproducibilitySummary::default();
    for w in run
        .workloads
        .iter()
        .filter(|w| w.id.to_string().starts_with(prefix))
    {
        let base = baseline.and_then(|b| b.workload(&w.id));
        let reference = w
            .golden_output_sha256
            .clone()
            .or_else(|| w.paths.iter().find_map(|p| p.output_sha256.clone()));
        for p in &w.paths {
            let Some(digest) = &p.output_sha256 else {
                if p.status.is_invalid() {
                    summary.checked += 1;
                    summary
                        .mismatches
                        .push(format!("{} {}: {}", w.id, p.path, p.status));
                }
                continue;
            };
            summary.checked += 1;
            let mut problems = Vec::new();
            if let Some(expected) = &reference
                && digest != expected
            {
                let against = if w.golden_output_sha256.is_some() {
                    "golden"
                } else {
                    "other paths"
                };
                problems.push(format!(
                    "output {} != {against} {}",
                    short(digest),
                    short(expected)
                ));
            }
            if let Some(bp) = base
                .and_then(|b| b.path(p.path))
                .and_then(|bp| bp.output_sha256.as_ref())
                && bp != digest
            {
                problems.push(format!(
                    "output {} != baseline {}",
                    short(digest),
                    short(bp)
                ));
            }
            if let (Some(input), Some(base_input)) =
                (&w.input_sha256, base.and_then(|b| b.input_sha256.as_ref()))
                && input != base_input
            {
                problems.push(format!(
                    "input {} != baseline {}",
                    short(input),
                    short(base_input)
                ));
            }
            if p.status.is_invalid() {
                problems.push(p.status.to_string());
            }
            if problems.is_empty() {
                summary.reproduced += 1;
            } else {
                summary
                    .mismatches
                    .push(format!("{} {}: {}", w.id, p.path, problems.join("; ")));
            }
        }
    }
    summary
}

/// The first 12 hex digits of a digest, for messages.
pub fn short(digest: &str) -> &str {
    &digest[..digest.len().min(12)]
}

/// Evaluations of all objectives, in file order; the first objective that cannot be
/// applied stops evaluation with its error.
pub fn evaluate_all(
    slo: &SloFile,
    run: &RunRecord,
    baseline: Option<&RunRecord>,
) -> Result<BTreeMap<String, Evaluation>, SloError> {
    slo.objectives
        .iter()
        .map(|o| Ok((o.id.clone(), evaluate(o, run, baseline)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn units_convert_exactly() {
        let t = Target::parse(">= 4.1 GiB/s").unwrap();
        assert_eq!(t.base_value(), 41.0 * (1u64 << 30) as f64 / 10.0);
        assert_eq!(t.unit.dimension, Dimension::Rate(Unit::Bytes));
        let t = Target::parse("<= 10 ms/1000 files").unwrap();
        assert_eq!(t.unit.dimension, Dimension::TimePerWork(Unit::Files));
        assert_eq!(t.base_value(), 10_000.0);
        assert_eq!(
            Target::parse(">= 50 Gweights/s").unwrap().base_value(),
            50e9
        );
        assert_eq!(
            Target::parse(">= 50 G weights/s").unwrap().base_value(),
            50e9
        );
        assert_eq!(
            Target::parse("< 256 MiB").unwrap().base_value(),
            (256u64 << 20) as f64
        );
        assert_eq!(Target::parse("== 100 %").unwrap().base_value(), 1.0);
        assert_eq!(Target::parse(">= 80 %").unwrap().base_value(), 0.8);
        assert_eq!(Target::parse(">= 3.2x").unwrap().base_value(), 3.2);
        assert_eq!(Target::parse("<= 25 ns/op").unwrap().base_value(), 25.0);
        assert_eq!(Target::parse("<= 3 min").unwrap().base_value(), 180e9);
        assert_eq!(
            Target::parse("≤ 20 ms").unwrap().comparator,
            Comparator::AtMost
        );
    }

    #[test]
    fn bad_targets_are_rejected() {
        for bad in [
            "4.1 GiB/s",
            ">= GiB/s",
            ">= 4.1",
            ">= 4.1 furlongs/s",
            ">= 1. x",
            ">= 1 ns/0 files",
            ">= -1 x",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn margin_is_positive_on_the_good_side() {
        assert_eq!(Comparator::AtLeast.margin_pct(110.0, 100.0), 10.0);
        assert_eq!(Comparator::AtMost.margin_pct(90.0, 100.0), 10.0);
        assert_eq!(Comparator::AtMost.margin_pct(125.0, 100.0), -25.0);
        assert_eq!(Comparator::Equal.margin_pct(100.0, 100.0), 0.0);
    }

    proptest! {
        #[test]
        fn decimal_roundtrips(mantissa in 0u128..10u128.pow(15), scale in 0u32..6) {
            let d = Decimal { mantissa, scale };
            prop_assert_eq!(Decimal::parse(&d.to_string()).unwrap(), d);
        }

        #[test]
        fn target_display_reparses(mantissa in 0u128..10u128.pow(9), scale in 0u32..4,
            unit in prop::sample::select(vec!["GiB/s", "ns/file", "ms", "MiB", "x", "%", "G weights/s", "ms/1000 files", "M instr"])) {
            let t = Target::parse(&format!(">= {} {unit}", Decimal { mantissa, scale })).unwrap();
            prop_assert_eq!(Target::parse(&t.to_string()).unwrap(), t);
        }

        #[test]
        fn quantile_lies_within_the_samples(samples in prop::collection::vec(0.0f64..1e9, 1..50), q in 0.0f64..=1.0) {
            let v = quantile(&samples, q).unwrap();
            let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
            let max = samples.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            prop_assert!(v >= min && v <= max);
        }
    }
}
