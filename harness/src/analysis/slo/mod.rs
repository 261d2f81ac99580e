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

pub mod error;
pub mod eval;
pub mod file;
pub mod parse;
pub mod unit;

pub use error::*;
pub use eval::*;
pub use file::*;
pub use parse::*;
pub use unit::*;

#[cfg(test)]
mod tests {
    use super::*;
    use benchseal_benches::Unit;
    use proptest::prelude::*;

    #[test]
    fn measured_times_and_memory_read_in_their_own_largest_unit() {
        let minutes = Target::parse("<= 3 min").unwrap().unit;
        assert_eq!(format_in(&minutes, 139e9), "2.317 min");
        assert_eq!(format_natural(&minutes, 139e9), "139 s");
        assert_eq!(format_natural(&minutes, 10.26e6), "10.3 ms");
        let gib = Target::parse("< 1 GiB").unwrap().unit;
        let bytes = 57.21 * 1024.0 * 1024.0;
        assert_eq!(format_in(&gib, bytes), "0.05587 GiB");
        assert_eq!(format_natural(&gib, bytes), "57.21 MiB");
        assert_eq!(format_natural(&gib, 512.0), "512.0 B");
        let speedup = Target::parse(">= 8x").unwrap().unit;
        assert_eq!(format_natural(&speedup, 22.35), "22.35x");
    }

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
        let t = Target::parse(">= 5 tokens/s").unwrap();
        assert_eq!(t.unit.dimension, Dimension::Rate(Unit::Tokens));
        assert_eq!(t.base_value(), 5.0);
        let t = Target::parse("<= 200 ms/token").unwrap();
        assert_eq!(t.unit.dimension, Dimension::TimePerWork(Unit::Tokens));
        assert_eq!(t.base_value(), 200e6);
        assert_eq!(Target::parse("<= 3 min").unwrap().base_value(), 180e9);
        assert_eq!(
            Target::parse("≤ 20 ms").unwrap().comparator,
            Comparator::AtMost
        );
    }

    #[test]
    fn a_process_counts_any_unit_of_work_and_a_bad_one_lists_them() {
        let file = |unit: &str| {
            format!(
                "schema = \"benchseal.slo/1\"\n[[process]]\nid = \"gen\"\n\
                 command = [\"true\"]\nunit = \"{unit}\"\nunits = 128\n"
            )
        };
        let slo = SloFile::parse(&file("tokens"), "t.toml").unwrap();
        assert_eq!(slo.process("gen").unwrap().unit, Some(Unit::Tokens));
        let err = SloFile::parse(&file("furlongs"), "t.toml").unwrap_err();
        assert!(
            err.to_string().ends_with(
                "process `gen`: unknown unit `furlongs` \
                 (valid: bytes, weights, files, operations, macs, tokens)"
            ),
            "{err}"
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
            unit in prop::sample::select(vec!["GiB/s", "ns/file", "ms", "MiB", "x", "%", "G weights/s", "ms/1000 files", "M instr", "tokens/s"])) {
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
