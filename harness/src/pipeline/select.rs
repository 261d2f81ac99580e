//! Which workloads and paths a run covers, from the command line and the registry.

use benchseal_benches::{Family, KernelPath, Size, Workload};

/// `--path`: every path the workload registers, or one of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathChoice {
    Auto,
    Scalar,
    Simd,
    Gpu,
}

impl PathChoice {
    pub const ALL: [PathChoice; 4] = [
        PathChoice::Auto,
        PathChoice::Scalar,
        PathChoice::Simd,
        PathChoice::Gpu,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            PathChoice::Auto => "auto",
            PathChoice::Scalar => "scalar",
            PathChoice::Simd => "simd",
            PathChoice::Gpu => "gpu",
        }
    }

    pub fn help(self) -> &'static str {
        ""
    }

    fn admits(self, path: KernelPath) -> bool {
        match self {
            PathChoice::Auto => true,
            PathChoice::Scalar => path == KernelPath::Scalar,
            PathChoice::Simd => path == KernelPath::Simd,
            PathChoice::Gpu => path == KernelPath::Gpu,
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
    /// Workload ids; empty: every workload that passes the other filters.
    pub workloads: Vec<String>,
    /// Empty: `auto`.
    pub paths: Vec<PathChoice>,
}

/// Applies `filter` to `registry`. An unknown workload id is an error listing the valid
/// ones.
pub fn select(registry: &[Workload], filter: &Filter) -> Result<Vec<Selected>, String> {
    for id in &filter.workloads {
        if !registry.iter().any(|w| &w.id.to_string() == id) {
            let valid: Vec<String> = registry.iter().map(|w| w.id.to_string()).collect();
            return Err(if valid.is_empty() {
                format!("unknown workload `{id}`: no workloads are registered")
            } else {
                format!("unknown workload `{id}` (valid: {})", valid.join(", "))
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
        .filter(|w| filter.workloads.is_empty() || filter.workloads.contains(&w.id.to_string()))
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
    fn unknown_workload_lists_the_valid_ids() {
        let filter = Filter {
            workloads: vec!["codec/a/x/huge".into()],
            ..Filter::default()
        };
        let err = select(&registry(), &filter).unwrap_err();
        assert_eq!(
            err,
            "unknown workload `codec/a/x/huge` (valid: codec/a/x/tiny, codec/a/x/small, sync/b/y/small)"
        );
    }
}
