//! The fleet sign-off: one release judged on several machine classes at once.
//!
//! Each class's run is signed off on its own ([`SignoffReport`], against the baseline of its
//! own class); the [`FleetReport`] is derived, by a pure function, from those reports alone:
//! a class × objective matrix and one decision. The release is GO only when every required
//! class has a run and that run is GO; a class that is not required is judged and shown but
//! does not decide. The required classes are the SLO file's `[fleet] required` list, or,
//! without one, every class given.
//!
//! A class is recomputed from each run's environment snapshot ([`MachineClass::of`]), not
//! read from a field, so a report filed under a class is about a machine of that class.
//! `benchseal verify` reads the class reports beside the fleet report, checks each, and
//! derives the fleet report again from them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analysis::env::class::MachineClass;
use crate::analysis::signoff::{Decision, ReportError, SignoffReport};
use crate::model::digest::SealScheme;

/// Schema name and version of fleet sign-off reports.
pub const FLEET_SCHEMA: &str = "benchseal.fleet-signoff/1";

/// The rule behind a fleet's GO / NO-GO, stated in every fleet report.
pub const FLEET_RULE: &str = "GO only when every required machine class has a run and that \
class's own sign-off is GO; a required class without a run is NO-GO. Classes that are not \
required are judged and shown but do not decide. Required classes: the SLO file's [fleet] \
required list, or every class given when it has none. Exit codes: 0 GO, 1 NO-GO, 3 \
reproducibility broken in a deciding class.";

/// One cell of the matrix: an objective's status and measured value on one class.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FleetCell {
    pub objective: String,
    /// `pass | fail | skipped`, or `no run` for a required class without a run.
    pub status: String,
    pub measured: String,
}

/// One row of the matrix: a machine class, its decision and its cells.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FleetClass {
    pub class: String,
    pub required: bool,
    /// `GO`, `NO-GO`, or `no run`.
    pub verdict: String,
    pub run_id: Option<String>,
    pub run_seal: Option<String>,
    /// The class's own report, relative to the fleet report's directory.
    pub report: Option<String>,
    pub report_seal: Option<String>,
    pub cells: Vec<FleetCell>,
    /// Why the class's sign-off is NO-GO (its own reasons).
    pub reasons: Vec<String>,
}

/// The sign-off of one release on several machine classes (an unknown top-level field is
/// refused, not carried outside the seal).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetReport {
    pub schema: String,
    pub version: String,
    pub generated_at: String,
    pub decision: Decision,
    /// The `[fleet] required` list of the SLO file; absent when it has none.
    pub required: Option<Vec<String>>,
    /// The objectives, in the SLO file's order: the matrix's columns.
    pub objectives: Vec<String>,
    /// The matrix's rows: classes given, then required classes without a run.
    pub classes: Vec<FleetClass>,
    /// SHA-256 of the canonical JSON of everything else.
    pub seal: Option<String>,
}

/// The class of a class report's run, recomputed from its snapshot.
pub fn class_of(report: &SignoffReport) -> String {
    MachineClass::of(&report.inputs.run.env).id
}

/// Where a class's own report lies, relative to the fleet report's directory.
pub fn class_report_dir(class: &str) -> String {
    class.to_string()
}

impl FleetReport {
    /// Derives the fleet report of `version` from the class reports (one per class, each
    /// made from the same SLO file). Pure.
    pub fn derive(
        version: &str,
        generated_at: &str,
        reports: &[SignoffReport],
    ) -> Result<FleetReport, ReportError> {
        let slo = reports.first().map(|r| &r.inputs.slo);
        let objectives: Vec<String> = slo
            .map(|s| s.objectives.iter().map(|o| o.id.clone()).collect())
            .unwrap_or_default();
        let required = slo
            .and_then(|s| s.fleet.as_ref())
            .map(|f| f.required.clone());
        let is_required = |class: &str| {
            required
                .as_ref()
                .is_none_or(|list| list.iter().any(|c| c == class))
        };
        let mut classes: Vec<FleetClass> = reports
            .iter()
            .map(|report| {
                let class = class_of(report);
                let by_id: BTreeMap<&str, _> = report
                    .objectives
                    .iter()
                    .map(|row| (row.id.as_str(), row))
                    .collect();
                FleetClass {
                    required: is_required(&class),
                    verdict: report.decision.verdict.clone(),
                    run_id: Some(report.run_id.clone()),
                    run_seal: report.run_seal.clone(),
                    report: Some(format!("{}/signoff.json", class_report_dir(&class))),
                    report_seal: report.seal.clone(),
                    cells: objectives
                        .iter()
                        .map(|id| FleetCell {
                            objective: id.clone(),
                            status: by_id
                                .get(id.as_str())
                                .map_or("-".into(), |r| r.status.clone()),
                            measured: by_id
                                .get(id.as_str())
                                .map_or("-".into(), |r| r.measured.clone()),
                        })
                        .collect(),
                    reasons: report.decision.reasons.clone(),
                    class,
                }
            })
            .collect();
        classes.sort_by(|a, b| a.class.cmp(&b.class));
        for class in required.iter().flatten() {
            if !classes.iter().any(|c| &c.class == class) {
                classes.push(FleetClass {
                    class: class.clone(),
                    required: true,
                    verdict: "no run".into(),
                    run_id: None,
                    run_seal: None,
                    report: None,
                    report_seal: None,
                    cells: objectives
                        .iter()
                        .map(|id| FleetCell {
                            objective: id.clone(),
                            status: "no run".into(),
                            measured: "-".into(),
                        })
                        .collect(),
                    reasons: Vec::new(),
                });
            }
        }
        let mut reasons = Vec::new();
        let mut broken = false;
        for c in classes.iter().filter(|c| c.required) {
            if c.run_id.is_none() {
                reasons.push(format!("required class {} has no run", c.class));
                continue;
            }
            let report = reports.iter().find(|r| class_of(r) == c.class);
            broken |= report.is_some_and(|r| r.decision.reproducibility_broken);
            if c.verdict != "GO" {
                reasons.push(format!(
                    "class {} is {}: {}",
                    c.class,
                    c.verdict,
                    c.reasons.first().map_or("-", String::as_str)
                ));
            }
        }
        let go = reasons.is_empty();
        let mut report = FleetReport {
            schema: FLEET_SCHEMA.into(),
            version: version.into(),
            generated_at: generated_at.into(),
            decision: Decision {
                verdict: if go { "GO" } else { "NO-GO" }.into(),
                go,
                reproducibility_broken: broken,
                exit_code: if broken {
                    3
                } else if go {
                    0
                } else {
                    1
                },
                reasons,
                rule: FLEET_RULE.into(),
            },
            required,
            objectives,
            classes,
            seal: None,
        };
        report.seal = Some(
            crate::model::digest::seal_with(&report, SealScheme::Jcs).map_err(ReportError::Seal)?,
        );
        Ok(report)
    }

    /// Parses a fleet `signoff.json`, rejecting other schemas.
    pub fn from_json(text: &str) -> Result<FleetReport, String> {
        let report: FleetReport = serde_json::from_str(text)
            .map_err(|e| format!("invalid fleet sign-off report: {e}"))?;
        if report.schema != FLEET_SCHEMA {
            return Err(format!(
                "schema `{}` is not supported (expected `{FLEET_SCHEMA}`)",
                report.schema
            ));
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fixture;
    use crate::analysis::slo::SloFile;
    use crate::model::env::Captured;

    /// The example report's run, on a machine whose CPU is named `cpu`, with `slo`.
    fn class_report(cpu: &str, slo: &str) -> SignoffReport {
        let mut inputs = fixture::inputs();
        inputs.baseline = None;
        inputs.baseline_version = None;
        inputs.slo = SloFile::parse(slo, "slo.toml").unwrap();
        inputs.run.env.cpu.model_name = Captured::Present(cpu.into());
        inputs.run.env.machine_class = MachineClass::of(&inputs.run.env).id;
        inputs.run.seal().unwrap();
        SignoffReport::derive(inputs).unwrap()
    }

    fn passing() -> String {
        fixture::FIXTURE_SLO.replace("target = \">= 1 GiB/s\"", "target = \">= 0.5 GiB/s\"")
    }

    fn with_fleet(slo: &str, required: &[&str]) -> String {
        let list: Vec<String> = required.iter().map(|c| format!("\"{c}\"")).collect();
        format!("{slo}\n[fleet]\nrequired = [{}]\n", list.join(", "))
    }

    #[test]
    fn every_class_go_is_go_and_the_matrix_has_a_row_per_class() {
        let reports = [
            class_report("AMD EPYC 9R45", &passing()),
            class_report("Intel Xeon Platinum 8480", &passing()),
        ];
        let fleet = FleetReport::derive("0.1.0", "t", &reports).unwrap();
        assert!(fleet.decision.go, "{:?}", fleet.decision.reasons);
        assert_eq!(fleet.decision.exit_code, 0);
        assert_eq!(fleet.classes.len(), 2);
        assert!(fleet.classes.iter().all(|c| c.required));
        assert_eq!(fleet.classes[0].cells.len(), fleet.objectives.len());
        assert_ne!(fleet.classes[0].class, fleet.classes[1].class);
    }

    #[test]
    fn one_failing_required_class_is_no_go_naming_it() {
        let reports = [
            class_report("AMD EPYC 9R45", fixture::FIXTURE_SLO),
            class_report("Intel Xeon Platinum 8480", &passing()),
        ];
        let fleet = FleetReport::derive("0.1.0", "t", &reports).unwrap();
        assert!(!fleet.decision.go);
        assert_eq!(fleet.decision.exit_code, 1);
        let failing = class_of(&reports[0]);
        assert_eq!(
            fleet.decision.reasons.len(),
            1,
            "{:?}",
            fleet.decision.reasons
        );
        assert!(fleet.decision.reasons[0].starts_with(&format!("class {failing} is NO-GO")));
    }

    #[test]
    fn a_class_not_required_is_shown_but_does_not_decide() {
        let go = class_report("AMD EPYC 9R45", &passing());
        let required = class_of(&go);
        let slo_go = with_fleet(&passing(), &[&required]);
        let slo_fail = with_fleet(fixture::FIXTURE_SLO, &[&required]);
        let reports = [
            class_report("AMD EPYC 9R45", &slo_go),
            class_report("Intel Xeon Platinum 8480", &slo_fail),
        ];
        let fleet = FleetReport::derive("0.1.0", "t", &reports).unwrap();
        assert!(fleet.decision.go, "{:?}", fleet.decision.reasons);
        let other = fleet.classes.iter().find(|c| c.class != required).unwrap();
        assert!(!other.required);
        assert_eq!(other.verdict, "NO-GO");
        assert_eq!(
            fleet.required,
            Some(vec![required.clone()]),
            "the [fleet] list is recorded"
        );
    }

    #[test]
    fn a_required_class_without_a_run_is_no_go() {
        let slo = with_fleet(&passing(), &["x86_64-missing-class"]);
        let reports = [class_report("AMD EPYC 9R45", &slo)];
        let fleet = FleetReport::derive("0.1.0", "t", &reports).unwrap();
        assert!(!fleet.decision.go);
        assert_eq!(
            fleet.decision.reasons,
            ["required class x86_64-missing-class has no run"]
        );
        let missing = fleet.classes.last().unwrap();
        assert_eq!(missing.verdict, "no run");
        assert!(missing.cells.iter().all(|c| c.status == "no run"));
    }

    #[test]
    fn the_derivation_is_deterministic_and_sealed() {
        let reports = [
            class_report("AMD EPYC 9R45", &passing()),
            class_report("Intel Xeon Platinum 8480", &passing()),
        ];
        let a = FleetReport::derive("0.1.0", "t", &reports).unwrap();
        let b =
            FleetReport::derive("0.1.0", "t", &[reports[1].clone(), reports[0].clone()]).unwrap();
        assert_eq!(a, b, "the order the runs were given in does not matter");
        assert!(a.seal.as_deref().unwrap().starts_with("jcs-sha256:"));
    }
}
