//! The run record being written, and where the pipeline says what happens.
//!
//! Every change to the record is saved atomically, so an interrupted run keeps everything
//! measured before the interruption.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::model::record::{
    ENGINE_COULD_NOT_RUN, EngineFailure, EngineKind, EngineResult, PathRecord, RunRecord, Status,
};
use crate::pipeline::progress::Progress;

/// One workload on one path, by position in the record.
#[derive(Clone, Debug)]
pub struct Case {
    pub workload: usize,
    pub path_index: usize,
    pub key: String,
    pub units: u64,
}

/// The record and where it lives; every change is saved atomically.
pub struct Recorder<'p> {
    pub record: RunRecord,
    pub path: PathBuf,
    pub progress: &'p dyn Progress,
}

impl Recorder<'_> {
    pub fn save(&self) -> Result<()> {
        crate::store::save(&self.record, &self.path)
            .with_context(|| format!("writing the run record {}", self.path.display()))
    }

    pub fn path_mut(&mut self, case: &Case) -> &mut PathRecord {
        &mut self.record.workloads[case.workload].paths[case.path_index]
    }

    /// An engine that cannot run at all: said once as progress and in the record, and
    /// each of `cases` is `skipped` with the reason (their own work was not at fault).
    pub fn engine_failed(&mut self, engine: EngineKind, why: String, cases: &[Case]) -> Result<()> {
        self.progress
            .line(&format!("{engine} engine could not run: {why}"));
        let status = Status::Skipped(format!("{ENGINE_COULD_NOT_RUN} ({engine})"));
        for case in cases {
            let path = self.path_mut(case);
            match engine {
                EngineKind::Wall => path.wall = Some(EngineResult::without_metrics(status.clone())),
                EngineKind::Instr => {
                    path.instr = Some(EngineResult::without_metrics(status.clone()))
                }
            }
        }
        self.record.engine_failures.push(EngineFailure {
            engine,
            reason: why,
        });
        self.save()
    }
}
