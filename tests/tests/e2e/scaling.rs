//! The scaling pass of `benchseal run`: thread counts checked, every count's output
//! digest-checked, and a result that depends on the thread count refused.

use benchseal::model::outcome::Outcome;
use benchseal::model::record::Status;
use benchseal_benches::{Instance, KernelPath, Parallel, RunError, Unit, Workload, WorkloadId};
use predicates::prelude::*;

use crate::run::{only_record, run_args};
use crate::support::benchseal;

/// A workload of the test's own whose output is its input, run whole or in four parts;
/// `honest: false` lets the thread count leak into the output.
struct Split {
    input: Vec<u8>,
    output: Vec<u8>,
    honest: bool,
}

impl Instance for Split {
    fn input(&self, sink: &mut dyn FnMut(&[u8])) {
        sink(&self.input)
    }
    fn run(&mut self, _: KernelPath) -> Result<(), RunError> {
        self.output.clone_from(&self.input);
        Ok(())
    }
    fn output(&self, sink: &mut dyn FnMut(&[u8])) {
        sink(&self.output)
    }
    fn run_threads(&mut self, _: KernelPath, threads: usize) -> Result<(), RunError> {
        self.output.clone_from(&self.input);
        if !self.honest && threads > 1 {
            self.output.push(threads as u8);
        }
        Ok(())
    }
}

fn split_workload(honest: bool) -> Workload {
    Workload::new(
        "sync/split/fixed/medium".parse::<WorkloadId>().unwrap(),
        Unit::Bytes,
        4,
        &[KernelPath::Scalar],
        "returns its input, on up to four threads",
        move || {
            Ok(Box::new(Split {
                input: b"abcd".to_vec(),
                output: Vec::new(),
                honest,
            }) as Box<dyn Instance>)
        },
    )
    .with_parallel(Parallel {
        unit: "records",
        count: 4,
    })
}

/// Runs the pass alone (nothing of the small tier matches), on 1, 2 and 8 threads.
fn scale(honest: bool) -> (Outcome, benchseal::model::record::RunRecord) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("runs");
    let args = run_args(&[
        "--size",
        "small",
        "--workload",
        "sync/split/*",
        "--threads",
        "2,8",
        "--oversubscribe",
        "--out",
        out.to_str().unwrap(),
    ]);
    let outcome = benchseal::app::run::execute_with(args, &[split_workload(honest)]).unwrap();
    let record = only_record(&out);
    record.verify_seal().unwrap();
    (outcome, record)
}

#[test]
fn every_thread_count_is_timed_with_its_output_digest_and_the_counts_above_the_parts_are_named() {
    let (outcome, record) = scale(true);
    assert_eq!(outcome, Outcome::Success, "{:?}", record.scaling);
    let [scaling] = record.scaling.as_slice() else {
        panic!("{:?}", record.scaling)
    };
    assert_eq!(scaling.status, Status::Ok);
    assert_eq!((scaling.divides.as_str(), scaling.parts), ("records", 4));
    let threads: Vec<usize> = scaling.points.iter().map(|p| p.threads).collect();
    assert_eq!(threads, [1, 2]);
    let abcd = benchseal::model::digest::sha256_hex(b"abcd");
    for point in &scaling.points {
        assert_eq!(point.output_sha256, abcd);
        assert_eq!(point.samples_ns.len(), scaling.rounds);
        assert!(point.samples_ns.iter().all(|&t| t > 0.0), "{point:?}");
    }
    assert_eq!(
        scaling.left_out.as_deref(),
        Some("4 records cannot be shared among 8 threads; measured up to 2")
    );
    assert!(scaling.speedup(2).is_some_and(|s| s > 0.0));
}

#[test]
fn an_output_that_depends_on_the_thread_count_is_invalid_and_the_run_irreproducible() {
    let (outcome, record) = scale(false);
    assert_eq!(outcome, Outcome::Irreproducible);
    assert_eq!(outcome.code(), 3);
    let [scaling] = record.scaling.as_slice() else {
        panic!("{:?}", record.scaling)
    };
    assert!(
        matches!(&scaling.status, Status::Invalid(why) if why.starts_with("digest mismatch")),
        "{:?}",
        scaling.status
    );
}

#[test]
fn thread_counts_above_the_cores_or_of_zero_are_usage_errors() {
    benchseal()
        .args(["run", "--threads", "100000"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("--threads 100000: this machine has").and(
                predicate::str::contains("add --oversubscribe to measure them anyway"),
            ),
        );
    benchseal()
        .args(["run", "--threads", "1,0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "a thread count must be at least 1",
        ));
}

struct Quiet;

impl benchseal::pipeline::progress::Progress for Quiet {
    fn line(&self, _: &str) {}
}

#[test]
fn a_spent_budget_skips_the_pass_bounded_by_policy_and_names_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let config = benchseal::pipeline::RunConfig {
        sizes: vec![benchseal_benches::Size::Small],
        workloads: vec!["sync/split/*".into()],
        out: dir.path().join("runs"),
        deadline: Some(benchseal::pipeline::Deadline {
            at: std::time::Instant::now(),
            budget: "30 min".into(),
        }),
        ..benchseal::pipeline::RunConfig::default()
    };
    let output = benchseal::pipeline::run_with(&config, &[split_workload(true)], &Quiet).unwrap();
    let [scaling] = output.record.scaling.as_slice() else {
        panic!("{:?}", output.record.scaling)
    };
    assert_eq!(
        scaling.status,
        Status::Skipped("bounded by policy: the budget of 30 min ran out before it began".into())
    );
    assert!(scaling.points.is_empty());
}
