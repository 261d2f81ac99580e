//! Roofline fractions and peer ratios, read from one run record (docs/architecture.md,
//! "Roofline references").
//!
//! A workload that names a roof ([`RoofRecord`]) is read against the `roof/…` workload of
//! its tier measured in the same run: its throughput times `per_unit` (bytes moved, or
//! multiply-accumulates, per unit of its work) over the roof's throughput on the roof's
//! fastest valid path. Figures from two runs are never mixed: a roof absent from the
//! record, skipped or invalid gives no fraction, and says why. Pure: record in, values out.

use benchseal_benches::{KernelPath, WorkloadId};

use crate::model::record::{PathRecord, RunRecord, WorkloadRecord};

/// A workload path's fraction of its roof.
#[derive(Clone, Debug, PartialEq)]
pub struct RoofFraction {
    /// 0.62 for 62 %; above 1 where the declared `per_unit` is a lower bound the kernel
    /// beats (it keeps data in a nearer cache than the roof's buffer).
    pub fraction: f64,
    /// The roof workload it was read against.
    pub roof: WorkloadId,
    /// The roof's path that gave the roof (its fastest valid one).
    pub roof_path: KernelPath,
}

impl RoofFraction {
    /// `62 % of copy`.
    pub fn short(&self) -> String {
        format!("{} of {}", format_percent(self.fraction), self.roof.kernel)
    }
}

/// A fraction as the tables show it: `62 %`, `4.1 %`, `0.35 %`.
pub fn format_percent(fraction: f64) -> String {
    let pct = fraction * 100.0;
    if pct >= 10.0 {
        format!("{pct:.0} %")
    } else if pct >= 1.0 {
        format!("{pct:.1} %")
    } else {
        format!("{pct:.2} %")
    }
}

/// Units of work per second of a path's median wall time, if it has a trusted one.
pub fn units_per_second(workload: &WorkloadRecord, path: &PathRecord) -> Option<f64> {
    let median = trusted_median(path)?;
    (median > 0.0).then(|| workload.units as f64 * 1e9 / median)
}

fn trusted_median(path: &PathRecord) -> Option<f64> {
    if !path.status.is_ok() {
        return None;
    }
    let wall = path.wall.as_ref().filter(|r| r.status.is_ok())?;
    wall.metrics.as_ref().map(|m| m.median_ns)
}

/// `Ok(None)`: the workload names no roof, or the path has no trusted wall time to read.
/// `Err(why)`: it names one that this run cannot give (absent, skipped, invalid).
pub fn fraction(
    record: &RunRecord,
    workload: &WorkloadRecord,
    path: KernelPath,
) -> Result<Option<RoofFraction>, String> {
    let Some(roof) = &workload.roof else {
        return Ok(None);
    };
    let Some(rate) = workload
        .path(path)
        .and_then(|p| units_per_second(workload, p))
    else {
        return Ok(None);
    };
    let (roof_path, roof_rate) = roof_rate(record, &roof.workload)?;
    Ok(Some(RoofFraction {
        fraction: rate * roof.per_unit / roof_rate,
        roof: roof.workload.clone(),
        roof_path,
    }))
}

/// The roof workload's best throughput in `record` (units per second) and its path.
fn roof_rate(record: &RunRecord, roof: &WorkloadId) -> Result<(KernelPath, f64), String> {
    let Some(measured) = record.workloads.iter().find(|w| w.id == *roof) else {
        return Err(format!("roof {roof} not in this run"));
    };
    measured
        .paths
        .iter()
        .filter_map(|p| units_per_second(measured, p).map(|r| (p.path, r)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .ok_or_else(|| {
            let why = measured
                .paths
                .iter()
                .find_map(|p| {
                    (!p.status.is_ok())
                        .then(|| p.status.to_string())
                        .or_else(|| {
                            p.wall
                                .as_ref()
                                .filter(|w| !w.status.is_ok())
                                .map(|w| w.status.to_string())
                        })
                })
                .unwrap_or_else(|| "no wall-clock time".into());
            format!("roof {roof}: {why}")
        })
}

/// A workload's `simd` path against a peer measured in the same run.
#[derive(Clone, Debug, PartialEq)]
pub struct Peer {
    /// The peer's name: `iconv` for glibc's converter.
    pub name: String,
    /// Median wall times of the peer's run and of ours.
    pub peer_ns: f64,
    pub ours_ns: f64,
}

/// The `simd` path against the `reference` path (the system's own converter) of a
/// workload that has both, from this run. `None` when the workload has no reference path
/// or either lacks a trusted time.
pub fn peer(workload: &WorkloadRecord) -> Option<Peer> {
    let reference = workload.path(KernelPath::Reference)?;
    let simd = workload.path(KernelPath::Simd)?;
    let name = reference
        .label
        .split_once('(')
        .map_or("reference", |(_, rest)| rest.trim_end_matches(')'));
    Some(Peer {
        name: name.into(),
        peer_ns: trusted_median(reference)?,
        ours_ns: trusted_median(simd)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fixture;
    use crate::model::record::{RoofRecord, Status};

    fn with_roof(per_unit: f64) -> RunRecord {
        let mut run = fixture::run();
        let roof_id: WorkloadId = "roof/copy/memcpy/small".parse().unwrap();
        let mut roof = run.workloads[0].clone();
        roof.id = roof_id.clone();
        roof.unit = benchseal_benches::Unit::Bytes;
        roof.roof = None;
        run.workloads[0].roof = Some(RoofRecord {
            workload: roof_id,
            per_unit,
            basis: "bytes copied per input byte".into(),
        });
        run.workloads.push(roof);
        run
    }

    #[test]
    fn a_workload_is_read_against_its_roofs_fastest_path_in_the_same_run() {
        let run = with_roof(1.0);
        let w = &run.workloads[0];
        let roof = run.workloads.last().unwrap();
        let best = roof
            .paths
            .iter()
            .filter_map(|p| units_per_second(roof, p))
            .fold(0.0, f64::max);
        for p in w.paths.iter().filter(|p| units_per_second(w, p).is_some()) {
            let got = fraction(&run, w, p.path).unwrap().unwrap();
            let own = units_per_second(w, p).unwrap();
            assert!((got.fraction - own / best).abs() < 1e-12);
            assert_eq!(got.roof.to_string(), "roof/copy/memcpy/small");
        }
        // Twice the bytes per unit, twice the fraction.
        let double = with_roof(2.0);
        let p = w.paths[0].path;
        let (one, two) = (
            fraction(&run, w, p).unwrap().unwrap().fraction,
            fraction(&double, &double.workloads[0], p)
                .unwrap()
                .unwrap()
                .fraction,
        );
        assert!((two / one - 2.0).abs() < 1e-12);
    }

    #[test]
    fn a_missing_or_skipped_roof_gives_its_reason_and_no_roof_gives_none() {
        let mut run = with_roof(1.0);
        let p = run.workloads[0].paths[0].path;
        let roof = run.workloads.len() - 1;
        for path in &mut run.workloads[roof].paths {
            path.status = Status::Skipped("no int8 dot instructions".into());
        }
        let why = fraction(&run, &run.workloads[0], p).unwrap_err();
        assert!(
            why.contains("roof/copy/memcpy/small: skipped (no int8 dot instructions)"),
            "{why}"
        );
        run.workloads.pop();
        let why = fraction(&run, &run.workloads[0], p).unwrap_err();
        assert_eq!(why, "roof roof/copy/memcpy/small not in this run");
        run.workloads[0].roof = None;
        assert_eq!(fraction(&run, &run.workloads[0], p), Ok(None));
    }

    #[test]
    fn the_peer_is_the_reference_path_of_the_same_run_named_by_its_label() {
        let mut run = fixture::run();
        let w = &mut run.workloads[0];
        assert_eq!(peer(w), None);
        let simd = w.path(KernelPath::Simd).unwrap().clone();
        let mut reference = simd.clone();
        reference.path = KernelPath::Reference;
        reference.label = "reference (iconv)".into();
        if let Some(m) = reference.wall.as_mut().and_then(|r| r.metrics.as_mut()) {
            m.median_ns *= 11.6;
        }
        w.paths.push(reference.clone());
        let got = peer(w).unwrap();
        assert_eq!(got.name, "iconv");
        assert!((got.peer_ns / got.ours_ns - 11.6).abs() < 1e-9);
        // A reference that did not reproduce the oracle's digest is not a peer.
        w.paths.last_mut().unwrap().status = Status::Invalid("digest mismatch".into());
        assert_eq!(peer(w), None);
    }

    #[test]
    fn percentages_keep_two_significant_digits() {
        assert_eq!(format_percent(0.624), "62 %");
        assert_eq!(format_percent(0.0412), "4.1 %");
        assert_eq!(format_percent(0.0035), "0.35 %");
        assert_eq!(format_percent(1.31), "131 %");
    }
}
