//! Unit-correct figures for people: throughput in the workload's own unit, times, counts,
//! significant digits.
//!
//! The one formatter of numbers, shared by the run summary, the comparison, the history
//! and the sign-off report so a figure reads the same everywhere. It sits below the
//! report model because a sign-off report carries its figures already written out. Throughput is always work units per time at the median, with the
//! unit named; never an iteration count.

use benchseal_benches::Unit;

use crate::analysis::compare::Metric;

const KIB: f64 = 1024.0;
const MIB: f64 = KIB * 1024.0;
const GIB: f64 = MIB * 1024.0;

/// The throughput of `units` of `unit` done in `ns` nanoseconds, in the unit's customary
/// form: bytes as GiB/s (MiB/s, KiB/s when smaller), weights as G weights/s, files as
/// ns per file (plus ms per 1000 files when one run covers at least 1000 files),
/// operations as ns per operation, multiply-accumulates as G MAC/s, tokens as tokens/s.
pub fn format_throughput(unit: Unit, units: u64, ns: f64) -> String {
    if ns.is_nan() || ns <= 0.0 || units == 0 {
        return "n/a".into();
    }
    let per_second = units as f64 * 1e9 / ns;
    match unit {
        Unit::Bytes => {
            if per_second >= GIB {
                format!("{:.2} GiB/s", per_second / GIB)
            } else if per_second >= MIB {
                format!("{:.1} MiB/s", per_second / MIB)
            } else {
                format!("{:.1} KiB/s", per_second / KIB)
            }
        }
        Unit::Weights => format!("{:.3} G weights/s", per_second / 1e9),
        Unit::Files => {
            let per_file = format!("{}/file", format_time(ns / units as f64));
            if units >= 1000 {
                format!(
                    "{per_file} ({:.2} ms per 1000 files)",
                    ns / units as f64 * 1000.0 / 1e6
                )
            } else {
                per_file
            }
        }
        Unit::Operations => format!("{}/op", format_time(ns / units as f64)),
        Unit::Macs => format!("{:.1} G MAC/s", per_second / 1e9),
        Unit::Tokens => format!("{} tokens/s", three_significant(per_second)),
    }
}

/// A duration in the largest unit that keeps it ≥ 1: `812 ns`, `3.42 µs`, `12.1 ms`, `1.50 s`.
pub fn format_time(ns: f64) -> String {
    if !ns.is_finite() {
        return "n/a".into();
    }
    let (value, unit) = if ns.abs() >= 1e9 {
        (ns / 1e9, "s")
    } else if ns.abs() >= 1e6 {
        (ns / 1e6, "ms")
    } else if ns.abs() >= 1e3 {
        (ns / 1e3, "µs")
    } else {
        (ns, "ns")
    };
    format!("{} {unit}", three_significant(value))
}

/// An exact count with thousands separators: `2,785,340`.
pub fn format_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// How many times faster `fast_ns` is than `slow_ns`: `3.41x`.
pub fn format_speedup(slow_ns: f64, fast_ns: f64) -> String {
    if slow_ns > 0.0 && fast_ns > 0.0 {
        format!("{:.2}x", slow_ns / fast_ns)
    } else {
        "n/a".into()
    }
}

fn three_significant(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 100.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
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

/// A value of a compared metric in its unit: times as [`format_time`], instruction
/// and allocation counts as [`format_count`], peak memory in MiB.
pub fn format_value(metric: Metric, value: f64) -> String {
    match metric {
        Metric::Wall | Metric::ProcessWall => format_time(value),
        Metric::Instructions => format_count(value as u64),
        Metric::PeakRss => format!("{} MiB", significant(value / MIB, 4)),
        Metric::Allocations => format_count(value as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_pick_gib_mib_or_kib() {
        // 1 GiB in one second.
        assert_eq!(format_throughput(Unit::Bytes, 1 << 30, 1e9), "1.00 GiB/s");
        assert_eq!(format_throughput(Unit::Bytes, 1 << 20, 2e9), "512.0 KiB/s");
        assert_eq!(
            format_throughput(Unit::Bytes, 600 << 20, 1e9),
            "600.0 MiB/s"
        );
        // 4.1 GiB/s: 4.1 GiB processed in 1 s.
        let bytes = (4.1 * GIB) as u64;
        assert_eq!(format_throughput(Unit::Bytes, bytes, 1e9), "4.10 GiB/s");
    }

    #[test]
    fn weights_files_operations_and_tokens_use_their_own_units() {
        assert_eq!(
            format_throughput(Unit::Weights, 16_777_216, 4e6),
            "4.194 G weights/s"
        );
        assert_eq!(format_throughput(Unit::Files, 4, 1000.0), "250 ns/file");
        assert_eq!(
            format_throughput(Unit::Files, 1000, 3.5e6),
            "3.50 µs/file (3.50 ms per 1000 files)"
        );
        assert_eq!(
            format_throughput(Unit::Macs, 12_000_000, 100_000.0),
            "120.0 G MAC/s"
        );
        assert_eq!(
            format_throughput(Unit::Operations, 1000, 42_000.0),
            "42.0 ns/op"
        );
        // One decode step of 40 ms, of 2.5 s, and 4 tokens in 5 ms.
        assert_eq!(format_throughput(Unit::Tokens, 1, 40e6), "25.0 tokens/s");
        assert_eq!(format_throughput(Unit::Tokens, 1, 2.5e9), "0.40 tokens/s");
        assert_eq!(format_throughput(Unit::Tokens, 4, 5e6), "800 tokens/s");
    }

    #[test]
    fn no_time_or_no_work_is_not_a_throughput() {
        assert_eq!(format_throughput(Unit::Bytes, 10, 0.0), "n/a");
        assert_eq!(format_throughput(Unit::Bytes, 0, 10.0), "n/a");
        assert_eq!(format_throughput(Unit::Bytes, 10, f64::NAN), "n/a");
    }

    #[test]
    fn times_counts_and_speedups() {
        assert_eq!(format_time(812.0), "812 ns");
        assert_eq!(format_time(3_420.0), "3.42 µs");
        assert_eq!(format_time(12_100_000.0), "12.1 ms");
        assert_eq!(format_time(1.5e9), "1.50 s");
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(2_785_340), "2,785,340");
        assert_eq!(format_speedup(341.0, 100.0), "3.41x");
        assert_eq!(format_speedup(0.0, 100.0), "n/a");
    }
}
