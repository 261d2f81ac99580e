//! Quantities and units: targets as written, exact conversion to base units.

use std::fmt;

use benchseal_benches::Unit;
use serde::{Deserialize, Serialize};

use crate::analysis::format::significant;

/// What a target measures, in which base unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "work", rename_all = "snake_case")]
pub enum Dimension {
    /// Units of work per second (bytes/s, weights/s, files/s, operations/s, tokens/s).
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
    pub(crate) fn describe(self) -> String {
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
        Unit::Macs => "MAC",
        Unit::Tokens => "token",
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
        "h" => 3_600_000_000_000,
        _ => None?,
    })
}

/// `(work unit, multiplier)` for a possibly prefixed work word: `GiB` → bytes · 2^30,
/// `Gweights` → weights · 10^9, `files`, `op`, `Mops`.
fn work_word(text: &str) -> Option<(Unit, u128)> {
    if let Some(prefix) = text.strip_suffix('B') {
        return binary_or_decimal_bytes(prefix).map(|f| (Unit::Bytes, f));
    }
    const WORDS: [(&str, Unit); 14] = [
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
        ("MACs", Unit::Macs),
        ("MAC", Unit::Macs),
        ("tokens", Unit::Tokens),
        ("token", Unit::Tokens),
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

/// Formats a measured base-unit value for a reader: a time or an amount of memory in the
/// largest unit that keeps it at least 1 (`139 s`, `57.21 MiB`, whatever unit the target
/// was written in), anything else in `unit` ([`format_in`]).
pub fn format_natural(unit: &UnitSpec, base: f64) -> String {
    match unit.dimension {
        Dimension::Time => crate::analysis::format::format_time(base),
        Dimension::Memory => {
            let (value, name) = [("GiB", 3), ("MiB", 2), ("KiB", 1)]
                .into_iter()
                .map(|(name, power)| (base / (KIB as f64).powi(power), name))
                .find(|(v, _)| v.abs() >= 1.0)
                .unwrap_or((base, "B"));
            format!("{} {name}", significant(value, 4))
        }
        _ => format_in(unit, base),
    }
}

/// A measured value as a report of a given version writes it: [`format_natural`] when
/// `natural` (derivation rules 5, layout 3 on), [`format_in`] the target's unit before.
pub fn format_measured(unit: &UnitSpec, base: f64, natural: bool) -> String {
    if natural {
        format_natural(unit, base)
    } else {
        format_in(unit, base)
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
