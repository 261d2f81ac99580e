//! `run --shard I/N`: a deterministic 1/N of the selected cases, for a fleet that runs one
//! selection as N jobs on machines of one class ("Fleet runs" in `docs/architecture.md`).
//!
//! A case is one workload on one path (`id@path`, the bench protocol's key). The split is
//! longest-expected-cost-first onto the least-loaded shard (ties: the lower shard index),
//! over the cases in registry order, so it depends on nothing but the selection and the
//! cost of each case: every shard of the same command computes the same partition, and
//! the shards' case lists are disjoint and together cover the selection.

use std::fmt;
use std::str::FromStr;

use benchseal_benches::{Size, protocol};

use crate::model::record::{EngineKind, Shard};
use crate::pipeline::select::Selected;

/// `I/N`: the `index`-th (from 0) of `count` shards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardSpec {
    pub index: usize,
    pub count: usize,
}

impl FromStr for ShardSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad =
            |why: &str| format!("bad shard `{s}`: {why} (expected I/N with 0 <= I < N, e.g. 0/4)");
        let (i, n) = s.split_once('/').ok_or_else(|| bad("no `/`"))?;
        let number = |text: &str, what: &str| {
            text.trim()
                .parse::<usize>()
                .map_err(|_| bad(&format!("{what} `{text}` is not a whole number")))
        };
        let (index, count) = (number(i, "I")?, number(n, "N")?);
        if count == 0 {
            return Err(bad("N must be at least 1"));
        }
        if index >= count {
            return Err(bad(&format!(
                "I = {index} is not below N = {count}; shards are numbered from 0"
            )));
        }
        Ok(ShardSpec { index, count })
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What the engines of a run will do with a case, in engine runs: every case is measured by
/// the wall engine (`executions` processes, each with the same criterion sampling time
/// whatever the tier), and by the instr engine once where its tier is among `instr_sizes`
/// (callgrind's time grows with the input, hence the tier's weight).
#[derive(Clone, Debug)]
pub struct CostModel {
    pub engines: Vec<EngineKind>,
    pub executions: usize,
    pub instr_sizes: Vec<Size>,
}

impl CostModel {
    /// The expected cost of one case of tier `size`, in tenths of a wall execution.
    pub fn case_cost(&self, size: Size) -> u64 {
        let mut cost = 0;
        if self.engines.contains(&EngineKind::Wall) {
            cost += 10 * self.executions as u64;
        }
        if self.engines.contains(&EngineKind::Instr) && self.instr_sizes.contains(&size) {
            // One callgrind process: its start-up is about a wall execution's sampling time
            // at the tiny tier; each larger tier holds several times the input.
            cost += match size {
                Size::Tiny => 10,
                Size::Small => 20,
                Size::Medium => 80,
                Size::Large => 400,
            };
        }
        cost.max(1)
    }
}

/// Keeps the cases of `selected` that shard `spec` takes, and says which they are.
pub fn split(
    selected: Vec<Selected>,
    spec: ShardSpec,
    costs: &CostModel,
) -> (Vec<Selected>, Shard) {
    let cases: Vec<(String, u64)> = selected
        .iter()
        .flat_map(|s| {
            s.paths.iter().map(|p| {
                (
                    protocol::case_key(&s.workload.id, p),
                    costs.case_cost(s.workload.id.size),
                )
            })
        })
        .collect();
    let owner = assign(&cases, spec.count);
    let taken: Vec<String> = cases
        .iter()
        .zip(&owner)
        .filter(|(_, owner)| **owner == spec.index)
        .map(|((key, _), _)| key.clone())
        .collect();
    let expected_cost = cases
        .iter()
        .zip(&owner)
        .filter(|(_, owner)| **owner == spec.index)
        .map(|((_, cost), _)| cost)
        .sum();
    let kept = selected
        .into_iter()
        .filter_map(|mut s| {
            let id = s.workload.id.to_string();
            s.paths
                .retain(|p| taken.contains(&protocol::case_key(&id, p)));
            (!s.paths.is_empty()).then_some(s)
        })
        .collect();
    let shard = Shard {
        index: spec.index,
        count: spec.count,
        selection: cases.iter().map(|(key, _)| key.clone()).collect(),
        cases: taken,
        expected_cost,
        total_cost: cases.iter().map(|(_, cost)| cost).sum(),
    };
    (kept, shard)
}

/// The shard of each case: longest expected cost first (ties in the given order) onto the
/// least-loaded shard (ties: the lowest index).
fn assign(cases: &[(String, u64)], count: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..cases.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(cases[i].1));
    let mut load = vec![0u64; count];
    let mut owner = vec![0; cases.len()];
    for i in order {
        let shard = (0..count).min_by_key(|&s| (load[s], s)).unwrap_or(0);
        load[shard] += cases[i].1;
        owner[i] = shard;
    }
    owner
}

#[cfg(test)]
mod tests {
    use super::*;
    use benchseal_benches::{KernelPath, Unit, Workload, WorkloadId};

    fn selected(ids: &[&str]) -> Vec<Selected> {
        ids.iter()
            .map(|id| Selected {
                workload: Workload::new(
                    id.parse::<WorkloadId>().unwrap(),
                    Unit::Bytes,
                    1,
                    &[KernelPath::Scalar, KernelPath::Simd],
                    "test",
                    || Err("not built".into()),
                ),
                paths: vec![KernelPath::Scalar, KernelPath::Simd],
            })
            .collect()
    }

    fn model() -> CostModel {
        CostModel {
            engines: EngineKind::ALL.to_vec(),
            executions: 3,
            instr_sizes: vec![Size::Tiny, Size::Small],
        }
    }

    #[test]
    fn specs_parse_and_bad_ones_say_why() {
        assert_eq!(
            "1/3".parse::<ShardSpec>().unwrap(),
            ShardSpec { index: 1, count: 3 }
        );
        for (bad, why) in [
            ("3/2", "I = 3 is not below N = 2"),
            ("2/2", "I = 2 is not below N = 2"),
            ("0/0", "N must be at least 1"),
            ("a/b", "I `a` is not a whole number"),
            ("1", "no `/`"),
            ("-1/2", "I `-1` is not a whole number"),
        ] {
            let err = bad.parse::<ShardSpec>().unwrap_err();
            assert!(
                err.starts_with(&format!("bad shard `{bad}`: {why}")),
                "{err}"
            );
        }
    }

    #[test]
    fn shards_are_disjoint_cover_the_selection_and_are_balanced() {
        let ids = [
            "codec/a/x/tiny",
            "codec/a/x/small",
            "codec/a/x/large",
            "quant/b/y/tiny",
            "quant/b/y/small",
            "sync/c/z/medium",
            "sync/c/z/tiny",
        ];
        for count in 1..=5 {
            let mut all = Vec::new();
            let mut costs = Vec::new();
            for index in 0..count {
                let (kept, shard) = split(selected(&ids), ShardSpec { index, count }, &model());
                let kept_keys: Vec<String> = kept
                    .iter()
                    .flat_map(|s| {
                        s.paths
                            .iter()
                            .map(|p| protocol::case_key(&s.workload.id, p))
                            .collect::<Vec<_>>()
                    })
                    .collect();
                assert_eq!(kept_keys, shard.cases, "kept in selection order");
                assert_eq!(shard.selection.len(), 2 * ids.len());
                all.extend(shard.cases);
                costs.push(shard.expected_cost);
            }
            all.sort();
            let mut want: Vec<String> = ids
                .iter()
                .flat_map(|id| [format!("{id}@scalar"), format!("{id}@simd")])
                .collect();
            want.sort();
            assert_eq!(all, want, "N = {count}: every case exactly once");
            // The two large cases weigh the most; no shard carries more than the heaviest
            // case above the lightest shard.
            let heaviest = model().case_cost(Size::Large);
            let (min, max) = (costs.iter().min().unwrap(), costs.iter().max().unwrap());
            assert!(max - min <= heaviest, "N = {count}: {costs:?}");
        }
    }

    #[test]
    fn the_split_is_the_same_every_time_and_equal_costs_go_round_robin() {
        let ids = ["sync/a/x/tiny", "sync/b/x/tiny", "sync/c/x/tiny"];
        let spec = ShardSpec { index: 0, count: 2 };
        let (_, first) = split(selected(&ids), spec, &model());
        let (_, again) = split(selected(&ids), spec, &model());
        assert_eq!(first, again);
        assert_eq!(
            first.cases,
            [
                "sync/a/x/tiny@scalar",
                "sync/b/x/tiny@scalar",
                "sync/c/x/tiny@scalar"
            ]
        );
    }
}
