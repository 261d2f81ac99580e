//! `benchseal merge`: the shard records of one fleet run, joined into one record ("Fleet
//! runs" in `docs/architecture.md`).
//!
//! Shards join only when they are provably parts of one run: the same machine class, the
//! same commit and bench executables (by SHA-256), the same selection and options, each
//! shard once, every case of the selection in exactly one shard. Each case's results are
//! copied as the shard measured them, so the merged record holds the same output digests
//! and instruction counts as an unsharded run of the same cases; the shards themselves are
//! listed in `parts` with their seals.

use std::collections::{BTreeMap, BTreeSet};

use crate::analysis::env::class::MachineClass;
use crate::model::digest::sha256_hex;
use crate::model::record::{
    EngineFailure, Part, RunRecord, RunTiming, Session, SessionRole, Tuning, WorkloadRecord,
};

/// One shard record as `merge` was given it.
#[derive(Clone, Debug)]
pub struct Input {
    /// The file, as named on the command line.
    pub file: String,
    pub record: RunRecord,
    /// What the allowed-signers file says of its signature, if there is such a file.
    pub signature: Option<String>,
}

/// How many cases an error names before it counts the rest.
const NAMED: usize = 8;

fn named(items: &[String]) -> String {
    let mut text = items
        .iter()
        .take(NAMED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > NAMED {
        text.push_str(&format!(" and {} more", items.len() - NAMED));
    }
    text
}

/// Checks that `inputs` are the shards of one run and joins them; the error names the
/// files and what differs. `command` is the merge's own command line.
pub fn merge(mut inputs: Vec<Input>, command: Vec<String>) -> Result<RunRecord, String> {
    if inputs.is_empty() {
        return Err("no shard records given".into());
    }
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for input in &inputs {
        let seal = input.record.seal.as_deref().unwrap_or_default();
        if let Some(first) = seen.insert(seal, &input.file) {
            return Err(format!(
                "{} and {} are the same record (run {}): a shard cannot be merged with itself",
                first, input.file, input.record.run_id
            ));
        }
    }
    for input in &inputs {
        let (file, record) = (&input.file, &input.record);
        if !record.parts.is_empty() {
            return Err(format!(
                "{file} is already a merged record (of {} shards); merge the shard records \
                 themselves",
                record.parts.len()
            ));
        }
        let Some(shard) = &record.shard else {
            return Err(format!(
                "{file} is not a shard: it ran its whole selection; merge joins the records of \
                 `benchseal run --shard I/N`"
            ));
        };
        if !record.complete {
            return Err(format!(
                "{file} (shard {}/{}) is incomplete: the run was interrupted or had not \
                 finished; run that shard again",
                shard.index, shard.count
            ));
        }
        if let Some(session) = &record.session
            && session.role != SessionRole::Single
        {
            return Err(format!(
                "{file} is one side of a paired session; merge joins plain runs"
            ));
        }
    }
    let shard_of = |i: &Input| i.record.shard.clone().expect("checked above");
    inputs.sort_by_key(|i| shard_of(i).index);
    let first = &inputs[0];
    let first_shard = shard_of(first);
    let class = |r: &RunRecord| MachineClass::of(&r.env).id;
    let first_class = class(&first.record);
    for input in &inputs[1..] {
        let (file, record) = (&input.file, &input.record);
        let shard = shard_of(input);
        let differs = |what: &str, a: String, b: String| -> Result<(), String> {
            if a == b {
                Ok(())
            } else {
                Err(format!(
                    "{} and {file} are not shards of one run: {what} differ ({a} in {}, {b} in \
                     {file})",
                    first.file, first.file
                ))
            }
        };
        let other_class = class(record);
        if other_class != first_class {
            return Err(format!(
                "{} and {file} are of different machine classes ({first_class} and \
                 {other_class}): merge the shards of each class on its own, then sign off the \
                 merged records together (`signoff --run A.json --run B.json`)",
                first.file
            ));
        }
        let commit = |r: &RunRecord| {
            let dirty = if r.artifact.git_dirty == Some(true) {
                " with uncommitted changes"
            } else {
                ""
            };
            format!(
                "commit {}{dirty}",
                r.artifact.git_commit.as_deref().unwrap_or("unknown")
            )
        };
        differs("the commits", commit(&first.record), commit(record))?;
        differs(
            "benchseal versions",
            first.record.artifact.version.clone(),
            record.artifact.version.clone(),
        )?;
        for engine in first
            .record
            .artifact
            .bench_executables
            .keys()
            .chain(record.artifact.bench_executables.keys())
            .collect::<BTreeSet<_>>()
        {
            let sha = |r: &RunRecord| {
                r.artifact
                    .bench_executables
                    .get(engine)
                    .map_or_else(|| "none".to_string(), |e| e.sha256.clone())
            };
            differs(
                &format!("the {engine} bench executables (SHA-256)"),
                sha(&first.record),
                sha(record),
            )?;
        }
        differs(
            "the shard counts",
            format!("N = {}", first_shard.count),
            format!("N = {}", shard.count),
        )?;
        differs(
            "the options",
            format!("{:?}", first.record.options),
            format!("{:?}", record.options),
        )?;
        let executions = |r: &RunRecord| {
            r.session
                .as_ref()
                .map_or_else(|| "none".into(), |s| format!("{} executions", s.executions))
        };
        differs(
            "the wall executions per case",
            executions(&first.record),
            executions(record),
        )?;
        if shard.selection != first_shard.selection {
            let a: BTreeSet<&String> = first_shard.selection.iter().collect();
            let b: BTreeSet<&String> = shard.selection.iter().collect();
            let only_a: Vec<String> = a.difference(&b).map(|s| s.to_string()).collect();
            let only_b: Vec<String> = b.difference(&a).map(|s| s.to_string()).collect();
            return Err(format!(
                "{} and {file} are not shards of one run: their selections differ (only in \
                 {}: {}; only in {file}: {})",
                first.file,
                first.file,
                if only_a.is_empty() {
                    "none".into()
                } else {
                    named(&only_a)
                },
                if only_b.is_empty() {
                    "none".into()
                } else {
                    named(&only_b)
                },
            ));
        }
    }

    // Each shard once, each case once, no case left out.
    let mut by_index: BTreeMap<usize, &str> = BTreeMap::new();
    for input in &inputs {
        let shard = shard_of(input);
        if let Some(other) = by_index.insert(shard.index, &input.file) {
            return Err(format!(
                "{other} and {} are both shard {}/{}",
                input.file, shard.index, shard.count
            ));
        }
    }
    let mut owner: BTreeMap<&str, &str> = BTreeMap::new();
    let mut overlap = Vec::new();
    for input in &inputs {
        for case in &input.record.shard.as_ref().expect("checked").cases {
            if let Some(other) = owner.insert(case, &input.file) {
                overlap.push(format!("{case} ({other}, {})", input.file));
            }
        }
    }
    if !overlap.is_empty() {
        return Err(format!(
            "{} case(s) are in more than one shard: {}",
            overlap.len(),
            named(&overlap)
        ));
    }
    let missing: Vec<String> = first_shard
        .selection
        .iter()
        .filter(|c| !owner.contains_key(c.as_str()))
        .cloned()
        .collect();
    if !missing.is_empty() {
        let absent: Vec<String> = (0..first_shard.count)
            .filter(|i| !by_index.contains_key(i))
            .map(|i| format!("{i}/{}", first_shard.count))
            .collect();
        return Err(format!(
            "{} of the {} selected cases are in no shard given ({}): {}",
            missing.len(),
            first_shard.selection.len(),
            if absent.is_empty() {
                "every shard index is there, but their case lists do not cover the \
                 selection"
                    .to_string()
            } else {
                format!("shard {} missing", absent.join(", "))
            },
            named(&missing)
        ));
    }
    Ok(join(&inputs, command))
}

/// The merged record of checked shards, in shard order.
fn join(inputs: &[Input], command: Vec<String>) -> RunRecord {
    let first = &inputs[0].record;
    let last = &inputs[inputs.len() - 1].record;
    let seals: Vec<&str> = inputs
        .iter()
        .map(|i| i.record.seal.as_deref().unwrap_or_default())
        .collect();
    let run_id = format!("merged-{}", &sha256_hex(seals.join("\n").as_bytes())[..16]);

    // Each workload once, with its paths from every shard.
    let mut workloads: BTreeMap<String, WorkloadRecord> = BTreeMap::new();
    for input in inputs {
        for w in &input.record.workloads {
            match workloads.get_mut(&w.id.to_string()) {
                None => {
                    workloads.insert(w.id.to_string(), w.clone());
                }
                Some(merged) => {
                    merged.paths.extend(w.paths.iter().cloned());
                    for (k, v) in &w.extra {
                        merged.extra.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
        }
    }
    // In the selection's order, which is the order an unsharded run records them in.
    let selection = &first.shard.as_ref().expect("checked").selection;
    let position = |key: &str| {
        selection
            .iter()
            .position(|c| c == key)
            .unwrap_or(usize::MAX)
    };
    let mut workloads: Vec<WorkloadRecord> = workloads.into_values().collect();
    for w in &mut workloads {
        let id = w.id.to_string();
        w.paths
            .sort_by_key(|p| position(&benchseal_benches::protocol::case_key(&id, p.path)));
    }
    workloads.sort_by_key(|w| {
        w.paths.first().map_or(usize::MAX, |p| {
            position(&benchseal_benches::protocol::case_key(&w.id, p.path))
        })
    });

    let mut notes = Vec::new();
    let mut env_changes = Vec::new();
    let mut engine_failures: Vec<EngineFailure> = Vec::new();
    let mut reasons = Vec::new();
    for input in inputs {
        let r = &input.record;
        for note in &r.notes {
            if !notes.contains(note) {
                notes.push(note.clone());
            }
        }
        for change in &r.env_changes {
            env_changes.push(format!("shard {}: {change}", shard_index(r)));
        }
        for failure in &r.engine_failures {
            if !engine_failures.contains(failure) {
                engine_failures.push(failure.clone());
            }
        }
        for reason in &r.tuning.reasons {
            if !reasons.contains(reason) {
                reasons.push(reason.clone());
            }
        }
    }
    notes.push(format!(
        "merged from {} shards of {} cases: {}",
        inputs.len(),
        first.shard.as_ref().map_or(0, |s| s.selection.len()),
        inputs
            .iter()
            .map(|i| format!(
                "{} ({} cases)",
                i.file,
                i.record.shard.as_ref().map_or(0, |s| s.cases.len()),
            ))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let parts = inputs
        .iter()
        .map(|i| {
            let shard = i.record.shard.as_ref().expect("checked");
            Part {
                file: i.file.clone(),
                run_id: i.record.run_id.clone(),
                seal: i.record.seal.clone().unwrap_or_default(),
                index: shard.index,
                count: shard.count,
                cases: shard.cases.len(),
                started_at: i.record.started_at.clone(),
                finished_at: i.record.finished_at.clone(),
                signature: i.signature.clone(),
            }
        })
        .collect();
    let started_at = inputs
        .iter()
        .map(|i| i.record.started_at.clone())
        .min()
        .unwrap_or_default();
    let finished_at = inputs
        .iter()
        .map(|i| i.record.finished_at.clone())
        .collect::<Option<Vec<_>>>()
        .and_then(|all| all.into_iter().max());
    RunRecord {
        schema: first.schema.clone(),
        run_id: run_id.clone(),
        started_at,
        finished_at,
        complete: true,
        command,
        options: first.options.clone(),
        artifact: first.artifact.clone(),
        env: first.env.clone(),
        env_after: last.env_after.clone(),
        env_changes,
        tuning: Tuning {
            tuned: inputs.iter().all(|i| i.record.tuning.tuned),
            reasons,
        },
        workloads,
        processes: inputs
            .iter()
            .flat_map(|i| i.record.processes.iter().cloned())
            .collect(),
        notes,
        engine_failures,
        timing: sum_timing(inputs),
        session: first.session.as_ref().map(|s| Session {
            id: run_id,
            role: SessionRole::Single,
            executions: s.executions,
            order_seed: s.order_seed,
            partner: None,
            build: None,
        }),
        shard: None,
        parts,
        // Only shard 0 measures thread scaling (`pipeline::scaling`): the fleet's one set.
        scaling: inputs
            .iter()
            .flat_map(|i| i.record.scaling.iter().cloned())
            .collect(),
        seal: None,
    }
}

fn shard_index(r: &RunRecord) -> usize {
    r.shard.as_ref().map_or(0, |s| s.index)
}

/// The shards' times added up: what the fleet spent, not how long it took (that is
/// `started_at` to `finished_at`).
fn sum_timing(inputs: &[Input]) -> Option<RunTiming> {
    let timings: Vec<&RunTiming> = inputs
        .iter()
        .map(|i| i.record.timing.as_ref())
        .collect::<Option<Vec<_>>>()?;
    let sum = |f: fn(&RunTiming) -> f64| timings.iter().map(|t| f(t)).sum();
    let sum_opt = |f: fn(&RunTiming) -> Option<f64>| {
        timings
            .iter()
            .map(|t| f(t))
            .collect::<Option<Vec<f64>>>()
            .map(|v| v.iter().sum())
    };
    Some(RunTiming {
        total_s: sum(|t| t.total_s),
        build_s: sum(|t| t.build_s),
        bench_processes_s: sum(|t| t.bench_processes_s),
        harness_s: sum(|t| t.harness_s),
        harness_cpu_s: sum_opt(|t| t.harness_cpu_s),
        bench_processes_cpu_s: sum_opt(|t| t.bench_processes_cpu_s),
        tools_s: sum_opt(|t| t.tools_s),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fixture;
    use crate::model::record::Shard;

    fn keys(record: &RunRecord) -> Vec<String> {
        record
            .workloads
            .iter()
            .flat_map(|w| w.paths.iter().map(move |p| format!("{}@{}", w.id, p.path)))
            .collect()
    }

    /// The fixture run cut into `count` shards, case `k` in shard `k % count`, each sealed.
    fn shards(count: usize) -> Vec<Input> {
        let whole = fixture::run();
        let selection = keys(&whole);
        (0..count)
            .map(|index| {
                let mut record = whole.clone();
                let cases: Vec<String> = selection
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| k % count == index)
                    .map(|(_, c)| c.clone())
                    .collect();
                for w in &mut record.workloads {
                    let id = w.id.to_string();
                    w.paths
                        .retain(|p| cases.contains(&format!("{id}@{}", p.path)));
                }
                record.workloads.retain(|w| !w.paths.is_empty());
                record.run_id = format!("shard-{index}");
                record.shard = Some(Shard {
                    index,
                    count,
                    selection: selection.clone(),
                    cases,
                    expected_cost: 1,
                    total_cost: count as u64,
                });
                record.seal().unwrap();
                Input {
                    file: format!("s{index}.json"),
                    record,
                    signature: None,
                }
            })
            .collect()
    }

    fn merged(inputs: Vec<Input>) -> Result<RunRecord, String> {
        merge(inputs, vec!["benchseal".into(), "merge".into()])
    }

    #[test]
    fn shards_join_into_the_unsharded_results_in_any_order() {
        let whole = fixture::run();
        for count in [1, 2, 3] {
            let mut inputs = shards(count);
            inputs.reverse();
            let record = merged(inputs).unwrap();
            assert_eq!(record.workloads, whole.workloads, "N = {count}");
            assert_eq!(record.parts.len(), count);
            assert!(record.parts.windows(2).all(|p| p[0].index < p[1].index));
            assert!(record.shard.is_none() && record.complete);
            assert!(record.notes.last().unwrap().starts_with(&format!(
                "merged from {count} shards of {} cases",
                keys(&whole).len()
            )));
        }
        // The same shards always give the same run id.
        assert_eq!(
            merged(shards(2)).unwrap().run_id,
            merged(shards(2)).unwrap().run_id
        );
    }

    fn refused(inputs: Vec<Input>) -> String {
        merged(inputs).unwrap_err()
    }

    #[test]
    fn a_shard_twice_or_with_itself_is_refused() {
        let mut inputs = shards(2);
        inputs.push(inputs[0].clone());
        assert!(refused(inputs).contains("s0.json and s0.json are the same record (run shard-0)"));
        let mut inputs = shards(2);
        let mut again = inputs[0].clone();
        again.record.run_id = "shard-0-rerun".into();
        again.record.seal().unwrap();
        again.file = "rerun.json".into();
        inputs.push(again);
        let err = refused(inputs);
        assert!(err.contains("are both shard 0/2"), "{err}");
    }

    #[test]
    fn missing_and_overlapping_cases_are_named() {
        let mut inputs = shards(3);
        inputs.remove(1);
        let err = refused(inputs);
        assert!(err.contains("shard 1/3 missing"), "{err}");
        let missing = &shards(3)[1].record.shard.clone().unwrap().cases[0];
        assert!(err.contains(missing.as_str()), "{err}");

        let mut inputs = shards(2);
        let extra = inputs[1].record.shard.as_ref().unwrap().cases[0].clone();
        let shard = inputs[0].record.shard.as_mut().unwrap();
        shard.cases.push(extra.clone());
        inputs[0].record.seal().unwrap();
        let err = refused(inputs);
        assert!(
            err.contains(&format!(
                "in more than one shard: {extra} (s0.json, s1.json)"
            )),
            "{err}"
        );
    }

    #[test]
    fn shards_of_another_commit_class_or_build_are_refused() {
        let mut inputs = shards(2);
        inputs[1].record.artifact.git_commit = Some("0123abc".into());
        inputs[1].record.seal().unwrap();
        let err = refused(inputs);
        assert!(err.contains("the commits differ"), "{err}");
        assert!(err.contains("commit 0123abc in s1.json"), "{err}");

        let mut inputs = shards(2);
        inputs[1].record.env.cpu.model_name = crate::model::env::Captured::Present("Other".into());
        inputs[1].record.seal().unwrap();
        let err = refused(inputs);
        assert!(err.contains("of different machine classes"), "{err}");

        let mut inputs = shards(2);
        if let Some(e) = inputs[1]
            .record
            .artifact
            .bench_executables
            .values_mut()
            .next()
        {
            e.sha256 = "f".repeat(64);
        } else {
            inputs[1].record.artifact.bench_executables.insert(
                "wall".into(),
                crate::model::record::Executable {
                    path: "x".into(),
                    sha256: "f".repeat(64),
                },
            );
        }
        inputs[1].record.seal().unwrap();
        let err = refused(inputs);
        assert!(err.contains("bench executables (SHA-256) differ"), "{err}");
    }

    #[test]
    fn whole_runs_merged_records_and_incomplete_shards_are_refused() {
        let mut inputs = shards(2);
        inputs[1].record.shard = None;
        assert!(refused(inputs).contains("s1.json is not a shard"));
        let mut inputs = shards(2);
        inputs[0].record.complete = false;
        assert!(refused(inputs).contains("s0.json (shard 0/2) is incomplete"));
        let merged_record = merged(shards(2)).unwrap();
        let mut inputs = shards(2);
        inputs[0].record = merged_record;
        assert!(refused(inputs).contains("s0.json is already a merged record (of 2 shards)"));
    }
}
