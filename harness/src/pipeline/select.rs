//! Which workloads and paths a run covers, from the command line and the registry.

use std::collections::BTreeSet;

use crate::analysis::names::{matches_pattern, nearest};
use benchseal_benches::{Family, KernelPath, Size, Workload, WorkloadId};

/// `--path`: every path the workload registers, or one of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathChoice {
    Auto,
    Scalar,
    Simd,
    Gpu,
    /// The system's converter, where a workload has one (iconv(3) for DISPLAY decoding).
    Reference,
}

impl PathChoice {
    pub const ALL: [PathChoice; 5] = [
        PathChoice::Auto,
        PathChoice::Scalar,
        PathChoice::Simd,
        PathChoice::Gpu,
        PathChoice::Reference,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            PathChoice::Auto => "auto",
            PathChoice::Scalar => "scalar",
            PathChoice::Simd => "simd",
            PathChoice::Gpu => "gpu",
            PathChoice::Reference => "reference",
        }
    }

    pub fn help(self) -> &'static str {
        ""
    }

    pub(crate) fn admits(self, path: KernelPath) -> bool {
        match self {
            PathChoice::Auto => true,
            PathChoice::Scalar => path == KernelPath::Scalar,
            PathChoice::Simd => path == KernelPath::Simd,
            PathChoice::Gpu => path == KernelPath::Gpu,
            PathChoice::Reference => path == KernelPath::Reference,
        }
    }
}

/// A workload and the paths to measure it on.
#[derive(Clone, Debug)]
pub struct Selected {
    pub workload: Workload,
    pub paths: Vec<KernelPath>,
}

/// What was asked for, already parsed.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Empty: every family.
    pub suites: Vec<Family>,
    /// Empty: every tier.
    pub sizes: Vec<Size>,
    /// Workload ids, prefixes of whole segments (`codec/comp3`) or globs (`*/cp037/*`);
    /// empty: every workload that passes the other filters.
    pub workloads: Vec<String>,
    /// Empty: `auto`.
    pub paths: Vec<PathChoice>,
}

/// How many registered ids an unknown `--workload` is answered with.
const SUGGESTIONS: usize = 5;

/// Applies `filter` to `registry`. A `--workload` that matches no registered workload is
/// an error naming the [`SUGGESTIONS`] nearest ids.
pub fn select(registry: &[Workload], filter: &Filter) -> Result<Vec<Selected>, String> {
    let valid: Vec<String> = registry.iter().map(|w| w.id.to_string()).collect();
    for pattern in &filter.workloads {
        if !valid.iter().any(|id| matches_pattern(pattern, id)) {
            return Err(if valid.is_empty() {
                format!("unknown workload `{pattern}`: no workloads are registered")
            } else {
                format!(
                    "unknown workload `{pattern}`: no registered workload matches it (nearest: \
                     {}; {} are registered: `benchseal digests` lists them; a prefix such as \
                     `codec/comp3` or a glob such as `*/small` selects several)",
                    nearest(pattern, valid.iter().map(String::as_str), SUGGESTIONS).join(", "),
                    valid.len()
                )
            });
        }
    }
    let choices = if filter.paths.is_empty() {
        vec![PathChoice::Auto]
    } else {
        filter.paths.clone()
    };
    Ok(registry
        .iter()
        .filter(|w| filter.suites.is_empty() || filter.suites.contains(&w.id.family))
        .filter(|w| filter.sizes.is_empty() || filter.sizes.contains(&w.id.size))
        .filter(|w| {
            let id = w.id.to_string();
            filter.workloads.is_empty() || filter.workloads.iter().any(|p| matches_pattern(p, &id))
        })
        .filter_map(|w| {
            let paths: Vec<KernelPath> = w
                .paths
                .iter()
                .copied()
                .filter(|p| choices.iter().any(|c| c.admits(*p)))
                .collect();
            (!paths.is_empty()).then(|| Selected {
                workload: w.clone(),
                paths,
            })
        })
        .collect())
}

/// `selected` with the roofline references its workloads name (their roof at their own
/// tier, or the tier of their working set) added on the `simd` path, the roof itself, where the selection lacks them: a
/// kernel's fraction of its roof is read from one run. A roof whose `simd` path cannot run
/// here is skipped, with the reason, rather than replaced by its scalar oracle, which is
/// not a roof. Roofs already selected keep the paths they were selected with.
pub fn with_roofs(registry: &[Workload], mut selected: Vec<Selected>) -> Vec<Selected> {
    let wanted: BTreeSet<WorkloadId> = selected
        .iter()
        .filter_map(|s| s.workload.roof.map(|r| r.workload(s.workload.id.size)))
        .collect();
    for id in wanted {
        if selected.iter().any(|s| s.workload.id == id) {
            continue;
        }
        if let Some(roof) = registry.iter().find(|w| w.id == id) {
            selected.push(Selected {
                workload: roof.clone(),
                paths: vec![KernelPath::Simd],
            });
        }
    }
    selected
}

#[cfg(test)]
mod tests {
    use super::*;
    use benchseal_benches::{Unit, WorkloadId};

    fn workload(id: &str, paths: &[KernelPath]) -> Workload {
        Workload::new(
            id.parse::<WorkloadId>().unwrap(),
            Unit::Bytes,
            1,
            paths,
            "test",
            || Err("not built".into()),
        )
    }

    fn registry() -> Vec<Workload> {
        vec![
            workload("codec/a/x/tiny", &[KernelPath::Scalar, KernelPath::Simd]),
            workload("codec/a/x/small", &[KernelPath::Scalar, KernelPath::Simd]),
            workload("sync/b/y/small", &[KernelPath::Scalar]),
        ]
    }

    fn ids(selected: &[Selected]) -> Vec<String> {
        selected.iter().map(|s| s.workload.id.to_string()).collect()
    }

    #[test]
    fn filters_by_suite_size_and_path() {
        let filter = Filter {
            sizes: vec![Size::Small],
            ..Filter::default()
        };
        assert_eq!(
            ids(&select(&registry(), &filter).unwrap()),
            ["codec/a/x/small", "sync/b/y/small"]
        );
        let filter = Filter {
            suites: vec![Family::Codec],
            paths: vec![PathChoice::Simd],
            ..Filter::default()
        };
        let selected = select(&registry(), &filter).unwrap();
        assert_eq!(ids(&selected), ["codec/a/x/tiny", "codec/a/x/small"]);
        assert!(selected.iter().all(|s| s.paths == [KernelPath::Simd]));
        let filter = Filter {
            paths: vec![PathChoice::Simd],
            ..Filter::default()
        };
        assert!(
            !ids(&select(&registry(), &filter).unwrap()).contains(&"sync/b/y/small".to_string())
        );
    }

    #[test]
    fn auto_admits_the_reference_path_and_reference_admits_only_it() {
        let paths = [KernelPath::Scalar, KernelPath::Simd, KernelPath::Reference];
        let registry = [workload("codec/display/x/tiny", &paths)];
        let chosen = |choices: Vec<PathChoice>| {
            let filter = Filter {
                paths: choices,
                ..Filter::default()
            };
            select(&registry, &filter).unwrap()[0].paths.clone()
        };
        assert_eq!(chosen(vec![]), paths);
        assert_eq!(chosen(vec![PathChoice::Reference]), [KernelPath::Reference]);
        assert_eq!(
            chosen(vec![PathChoice::Simd, PathChoice::Reference]),
            [KernelPath::Simd, KernelPath::Reference]
        );
    }

    #[test]
    fn roofs_ride_along_on_simd_once_at_the_tier_of_their_kernels() {
        use benchseal_benches::RoofKind;
        let mut registry = registry();
        registry[1] =
            registry[1]
                .clone()
                .with_roof(RoofKind::Copy, 1.0, "bytes copied per input byte");
        registry.push(workload(
            "roof/copy/memcpy/small",
            &[KernelPath::Scalar, KernelPath::Simd],
        ));
        registry.push(workload(
            "roof/copy/memcpy/tiny",
            &[KernelPath::Scalar, KernelPath::Simd],
        ));
        let filter = Filter {
            suites: vec![Family::Codec],
            paths: vec![PathChoice::Scalar],
            ..Filter::default()
        };
        let selected = with_roofs(&registry, select(&registry, &filter).unwrap());
        assert_eq!(
            ids(&selected),
            [
                "codec/a/x/tiny",
                "codec/a/x/small",
                "roof/copy/memcpy/small"
            ]
        );
        assert_eq!(selected[2].paths, [KernelPath::Simd]);
        // Selected already: kept as it was, not added twice.
        let filter = Filter {
            paths: vec![PathChoice::Scalar],
            ..Filter::default()
        };
        let selected = with_roofs(&registry, select(&registry, &filter).unwrap());
        let roofs: Vec<_> = selected
            .iter()
            .filter(|s| s.workload.id.to_string() == "roof/copy/memcpy/small")
            .collect();
        assert_eq!(roofs.len(), 1);
        assert_eq!(roofs[0].paths, [KernelPath::Scalar]);
    }

    #[test]
    fn unknown_workload_names_the_nearest_ids() {
        let filter = Filter {
            workloads: vec!["codec/a/x/huge".into()],
            ..Filter::default()
        };
        let err = select(&registry(), &filter).unwrap_err();
        assert!(
            err.starts_with(
                "unknown workload `codec/a/x/huge`: no registered workload matches it (nearest: \
                 codec/a/x/tiny, codec/a/x/small, sync/b/y/small; 3 are registered"
            ),
            "{err}"
        );
    }

    #[test]
    fn prefixes_and_globs_select_several() {
        let select_ids = |patterns: &[&str]| {
            let filter = Filter {
                workloads: patterns.iter().map(|p| p.to_string()).collect(),
                ..Filter::default()
            };
            ids(&select(&registry(), &filter).unwrap())
        };
        assert_eq!(
            select_ids(&["codec/a"]),
            ["codec/a/x/tiny", "codec/a/x/small"]
        );
        assert_eq!(
            select_ids(&["*/small"]),
            ["codec/a/x/small", "sync/b/y/small"]
        );
        assert_eq!(
            select_ids(&["sync", "codec/a/x/tiny"]),
            ["codec/a/x/tiny", "sync/b/y/small"]
        );
    }
}
