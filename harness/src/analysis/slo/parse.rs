//! Parsing an SLO file, every value with its span: raw shapes as written, then checked.

use std::ops::Range;

use benchseal_benches::{KernelPath, Unit, WorkloadId};
use serde::Deserialize;
use toml::Spanned;

use super::error::*;
use super::file::*;
use super::unit::*;
use crate::analysis::names::closest_hint;

// Raw shapes, as written, with spans.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    schema: Spanned<String>,
    #[serde(default)]
    objective: Vec<Spanned<RawObjective>>,
    #[serde(default)]
    process: Vec<Spanned<RawProcess>>,
    regression: Option<Spanned<crate::analysis::compare::Policy>>,
    fleet: Option<Spanned<Fleet>>,
    preconditions: Option<RawPreconditions>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPreconditions {
    commands: Option<Spanned<Vec<Vec<String>>>>,
    budget: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawObjective {
    id: Spanned<String>,
    description: Option<String>,
    workload: Option<Spanned<String>>,
    metric: Spanned<String>,
    target: Spanned<String>,
    priority: Spanned<String>,
    path: Option<Spanned<String>>,
    paths: Option<Spanned<Vec<String>>>,
    relative_to: Option<Spanned<String>>,
    threads: Option<Spanned<usize>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProcess {
    id: Spanned<String>,
    description: Option<String>,
    command: Spanned<Vec<String>>,
    setup: Option<Vec<String>>,
    runs: Option<Spanned<u32>>,
    warmup: Option<u32>,
    unit: Option<Spanned<String>>,
    units: Option<u64>,
    quick: Option<bool>,
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// The key assigned on the line of `offset`, if the span points at a value (`key = …`).
fn key_before(text: &str, offset: usize) -> Option<&str> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let (key, _) = text[line_start..offset].split_once('=')?;
    let key = key.trim();
    (!key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-'))
    .then_some(key)
}

struct Parser<'a> {
    file: &'a str,
    text: &'a str,
    /// The registry's workload ids: a workload an objective names must be one of them.
    registered: Vec<String>,
    /// Those of them that divide their work among threads (`speedup_threads`,
    /// `efficiency`).
    parallel: Vec<String>,
}

/// What is wrong with a `[fleet]` table: no class, a class twice, or a name that cannot be a
/// machine class (the name of a baseline file and of a report directory).
fn fleet_problem(fleet: &Fleet) -> Option<String> {
    if fleet.required.is_empty() {
        return Some("`required` names no machine class".into());
    }
    for (i, class) in fleet.required.iter().enumerate() {
        if fleet.required[..i].contains(class) {
            return Some(format!("`required` names class `{class}` twice"));
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-');
        if class.is_empty() || class.starts_with(['.', '-']) || !class.chars().all(allowed) {
            return Some(format!(
                "`required`: `{class}` is not a machine class name (letters, digits, `.`, `_`, \
                 `+`, `-`)"
            ));
        }
    }
    None
}

/// The `[preconditions]` table checked: every command names a program, the budget is a
/// positive time.
fn preconditions(p: &Parser<'_>, raw: RawPreconditions) -> Result<Preconditions, SloError> {
    let commands = match raw.commands {
        None => DEFAULT_PRECONDITIONS
            .iter()
            .map(|argv| argv.iter().map(|a| a.to_string()).collect())
            .collect(),
        Some(commands) => {
            let span = commands.span();
            let commands = commands.into_inner();
            if let Some(i) = commands
                .iter()
                .position(|argv| argv.first().is_none_or(|program| program.trim().is_empty()))
            {
                return Err(p.field(
                    span,
                    None,
                    "commands",
                    format!(
                        "command {} names no program (write it as [\"program\", \"arg\", …])",
                        i + 1
                    ),
                ));
            }
            commands
        }
    };
    let budget = match raw.budget {
        None => None,
        Some(text) => {
            let span = text.span();
            let text = text.into_inner();
            let target = Target::parse(&format!("<= {text}"))
                .ok()
                .filter(|t| t.unit.dimension == Dimension::Time && t.base_value() > 0.0)
                .ok_or_else(|| {
                    p.field(
                        span,
                        None,
                        "budget",
                        format!("`{text}` is not a positive time such as \"30 min\" or \"2 h\""),
                    )
                })?;
            Some(Budget {
                text: text.trim().to_string(),
                ns: target.base_value(),
            })
        }
    };
    Ok(Preconditions { commands, budget })
}

impl Parser<'_> {
    fn field(
        &self,
        span: Range<usize>,
        objective: Option<&str>,
        field: &str,
        message: impl Into<String>,
    ) -> SloError {
        let (line, column) = line_col(self.text, span.start);
        SloError::Field {
            file: self.file.to_string(),
            line,
            column,
            context: objective
                .map(|o| format!("objective `{o}`: "))
                .unwrap_or_default(),
            field: field.to_string(),
            message: message.into(),
        }
    }

    fn syntax(&self, err: toml::de::Error) -> SloError {
        let span = err.span().unwrap_or(0..0);
        let (line, column) = line_col(self.text, span.start);
        let mut message = err.message().trim().to_string();
        if !message.contains('`')
            && let Some(key) = key_before(self.text, span.start)
        {
            message = format!("field `{key}`: {message}");
        }
        SloError::Syntax {
            file: self.file.to_string(),
            line,
            column,
            message,
        }
    }
}

impl SloFile {
    /// Parses SLO text; `file` names it in errors. Every workload an objective names
    /// (`workload`, `relative_to`, a reproducibility prefix) must be registered or, for
    /// `workload`, a `[[process]]` of the file: a misspelt name is an error naming the
    /// closest valid ones, not an objective skipped at sign-off.
    pub fn parse(text: &str, file: &str) -> Result<SloFile, SloError> {
        let registry = benchseal_benches::registry();
        let registered = registry.iter().map(|w| w.id.to_string()).collect();
        let parallel = registry
            .iter()
            .filter(|w| w.parallel.is_some())
            .map(|w| w.id.to_string())
            .collect();
        let p = Parser {
            file,
            text,
            registered,
            parallel,
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| p.syntax(e))?;
        if raw.schema.get_ref() != SLO_SCHEMA {
            return Err(p.field(
                raw.schema.span(),
                None,
                "schema",
                format!(
                    "`{}` is not supported (expected `{SLO_SCHEMA}`)",
                    raw.schema.get_ref()
                ),
            ));
        }
        let mut processes = Vec::new();
        for raw_process in &raw.process {
            let process = p.process(raw_process.get_ref())?;
            if processes.iter().any(|q: &ProcessSpec| q.id == process.id) {
                return Err(p.field(
                    raw_process.get_ref().id.span(),
                    None,
                    "id",
                    format!("process `{}` is defined twice", process.id),
                ));
            }
            processes.push(process);
        }
        let mut objectives: Vec<Objective> = Vec::new();
        for raw_objective in &raw.objective {
            let objective = p.objective(raw_objective.get_ref(), &processes)?;
            if objectives.iter().any(|o| o.id == objective.id) {
                return Err(p.field(
                    raw_objective.get_ref().id.span(),
                    None,
                    "id",
                    format!("objective `{}` is defined twice", objective.id),
                ));
            }
            objectives.push(objective);
        }
        let regression = match raw.regression {
            None => crate::analysis::compare::Policy::default(),
            Some(policy) => {
                policy
                    .get_ref()
                    .validate()
                    .map_err(|m| p.field(policy.span(), None, "regression", m))?;
                policy.into_inner()
            }
        };
        let fleet = match raw.fleet {
            None => None,
            Some(fleet) => {
                let span = fleet.span();
                let fleet = fleet.into_inner();
                if let Some(problem) = fleet_problem(&fleet) {
                    return Err(p.field(span, None, "fleet", problem));
                }
                Some(fleet)
            }
        };
        let preconditions = match raw.preconditions {
            None => None,
            Some(raw) => Some(preconditions(&p, raw)?),
        };
        Ok(SloFile {
            schema: SLO_SCHEMA.into(),
            objectives,
            processes,
            regression,
            fleet,
            preconditions,
        })
    }

    pub fn process(&self, id: &str) -> Option<&ProcessSpec> {
        self.processes.iter().find(|p| p.id == id)
    }
}

impl Parser<'_> {
    fn objective(
        &self,
        raw: &RawObjective,
        processes: &[ProcessSpec],
    ) -> Result<Objective, SloError> {
        let id = raw.id.get_ref().clone();
        let ctx = Some(id.as_str());
        if id.trim().is_empty() {
            return Err(self.field(raw.id.span(), None, "id", "must not be empty"));
        }
        let metric = Metric::ALL
            .into_iter()
            .find(|m| m.name() == raw.metric.get_ref())
            .ok_or_else(|| {
                let names: Vec<_> = Metric::ALL.iter().map(|m| m.name()).collect();
                self.field(
                    raw.metric.span(),
                    ctx,
                    "metric",
                    format!(
                        "unknown metric `{}` (valid: {})",
                        raw.metric.get_ref(),
                        names.join(", ")
                    ),
                )
            })?;
        let target = Target::parse(raw.target.get_ref())
            .map_err(|m| self.field(raw.target.span(), ctx, "target", m))?;
        if !metric.fits(target.unit.dimension) {
            return Err(self.field(
                raw.target.span(),
                ctx,
                "target",
                format!(
                    "unit `{}` is {}, which does not fit metric `{metric}` (expected {})",
                    target.unit.text,
                    target.unit.dimension.describe(),
                    metric.expects()
                ),
            ));
        }
        let priority = match raw.priority.get_ref().as_str() {
            "critical" => Priority::Critical,
            "high" => Priority::High,
            "medium" => Priority::Medium,
            other => {
                return Err(self.field(
                    raw.priority.span(),
                    ctx,
                    "priority",
                    format!("unknown priority `{other}` (valid: critical, high, medium)"),
                ));
            }
        };
        let subject = match &raw.workload {
            None if metric == Metric::DigestReproducibility => Subject::Workloads(String::new()),
            None => {
                return Err(self.field(
                    raw.id.span(),
                    ctx,
                    "workload",
                    "is missing (a workload id or a process id)",
                ));
            }
            Some(w) => {
                let text = w.get_ref();
                if processes.iter().any(|p| &p.id == text) {
                    Subject::Process(text.clone())
                } else if metric == Metric::DigestReproducibility {
                    let prefix = text.trim_end_matches('*');
                    if !self.registered.iter().any(|id| id.starts_with(prefix)) {
                        return Err(self.field(
                            w.span(),
                            ctx,
                            "workload",
                            format!(
                                "no registered workload starts with `{prefix}`{}",
                                closest_hint(prefix, self.registered.iter().map(String::as_str))
                            ),
                        ));
                    }
                    Subject::Workloads(prefix.to_string())
                } else {
                    let ids = self.registered.iter().map(String::as_str);
                    let names = ids.chain(processes.iter().map(|p| p.id.as_str()));
                    let hint = || closest_hint(text, names.clone());
                    let id: WorkloadId = text.parse().map_err(|e: String| {
                        self.field(
                            w.span(),
                            ctx,
                            "workload",
                            format!("{e}, nor a `[[process]]` id of this file{}", hint()),
                        )
                    })?;
                    self.check_registered(&id, w.span(), ctx, "workload", hint)?;
                    Subject::Workload(id)
                }
            }
        };
        let path = match &raw.path {
            None => None,
            Some(p) => Some(
                p.get_ref()
                    .parse::<KernelPath>()
                    .map_err(|m| self.field(p.span(), ctx, "path", m))?,
            ),
        };
        if let (Some(p), Subject::Process(_)) = (&raw.path, &subject) {
            return Err(self.field(
                p.span(),
                ctx,
                "path",
                "a process objective has no kernel path",
            ));
        }
        let process_metric = matches!(metric, Metric::PeakRss | Metric::ProgramSize);
        if process_metric && !matches!(subject, Subject::Process(_)) {
            return Err(self.field(
                raw.metric.span(),
                ctx,
                "metric",
                format!(
                    "{metric} is measured by the process engine: `workload` must name a \
                     `[[process]]`"
                ),
            ));
        }
        let process_subject = match &subject {
            Subject::Process(process) => Some(process.as_str()),
            _ => None,
        };
        if process_subject.is_some()
            && matches!(
                metric,
                Metric::Instructions | Metric::DigestReproducibility | Metric::RoofFraction
            )
        {
            return Err(self.field(
                raw.metric.span(),
                ctx,
                "metric",
                format!("`{metric}` does not apply to a process"),
            ));
        }
        let speedup = match (metric, &raw.paths, &raw.relative_to) {
            (Metric::Speedup, _, _) if let Some(process) = process_subject => {
                Some(self.process_speedup(raw, ctx, process, processes)?)
            }
            (Metric::Speedup, Some(paths), None) => {
                let [base, fast] = paths.get_ref().as_slice() else {
                    return Err(self.field(
                        paths.span(),
                        ctx,
                        "paths",
                        "must name two paths: [baseline path, fast path]",
                    ));
                };
                let parse = |s: &String| {
                    s.parse::<KernelPath>()
                        .map_err(|m| self.field(paths.span(), ctx, "paths", m))
                };
                Some(SpeedupBase::Path {
                    base: parse(base)?,
                    fast: parse(fast)?,
                })
            }
            (Metric::Speedup, None, Some(reference)) => {
                let text = reference.get_ref();
                let hint = || closest_hint(text, self.registered.iter().map(String::as_str));
                let id: WorkloadId = text.parse().map_err(|m: String| {
                    self.field(
                        reference.span(),
                        ctx,
                        "relative_to",
                        format!("{m}{}", hint()),
                    )
                })?;
                self.check_registered(&id, reference.span(), ctx, "relative_to", hint)?;
                Some(SpeedupBase::Workload { reference: id })
            }
            (Metric::Speedup, Some(paths), Some(_)) => {
                return Err(self.field(
                    paths.span(),
                    ctx,
                    "paths",
                    "give either `paths` or `relative_to`, not both",
                ));
            }
            (Metric::Speedup, None, None) => {
                return Err(self.field(
                    raw.metric.span(),
                    ctx,
                    "paths",
                    "a speedup needs `paths = [base, fast]` or `relative_to = workload`",
                ));
            }
            (_, Some(paths), _) => {
                return Err(self.field(
                    paths.span(),
                    ctx,
                    "paths",
                    "only a speedup compares paths",
                ));
            }
            (_, _, Some(r)) => {
                return Err(self.field(
                    r.span(),
                    ctx,
                    "relative_to",
                    "only a speedup has a reference workload",
                ));
            }
            _ => None,
        };
        let scaling_metric = matches!(metric, Metric::SpeedupThreads | Metric::Efficiency);
        let threads = match (&raw.threads, scaling_metric) {
            (Some(t), false) => {
                return Err(self.field(
                    t.span(),
                    ctx,
                    "threads",
                    "only `speedup_threads` and `efficiency` name a thread count",
                ));
            }
            (Some(t), true) if *t.get_ref() < 2 => {
                return Err(self.field(
                    t.span(),
                    ctx,
                    "threads",
                    "must be at least 2 (one thread is the reference)",
                ));
            }
            (t, _) => t.as_ref().map(|t| *t.get_ref()),
        };
        if scaling_metric {
            match &subject {
                Subject::Workload(w) if !self.parallel.contains(&w.to_string()) => {
                    let span = raw.workload.as_ref().map_or(raw.id.span(), |w| w.span());
                    return Err(self.field(
                        span,
                        ctx,
                        "workload",
                        format!(
                            "`{w}` does not run on several threads{}",
                            closest_hint(&w.to_string(), self.parallel.iter().map(String::as_str))
                        ),
                    ));
                }
                Subject::Workload(_) => {}
                _ => {
                    return Err(self.field(
                        raw.metric.span(),
                        ctx,
                        "metric",
                        format!("`{metric}` needs one workload that runs on several threads"),
                    ));
                }
            }
        }
        Ok(Objective {
            id,
            description: raw.description.clone(),
            subject,
            metric,
            target,
            priority,
            path,
            speedup,
            threads,
        })
    }

    /// A process's speedup over another `[[process]]` (`relative_to`): the only speedup a
    /// process has, as it has no kernel paths.
    fn process_speedup(
        &self,
        raw: &RawObjective,
        ctx: Option<&str>,
        process: &str,
        processes: &[ProcessSpec],
    ) -> Result<SpeedupBase, SloError> {
        if let Some(paths) = &raw.paths {
            return Err(self.field(
                paths.span(),
                ctx,
                "paths",
                "a process has no kernel paths; a process's speedup needs `relative_to = process`",
            ));
        }
        let Some(reference) = &raw.relative_to else {
            return Err(self.field(
                raw.metric.span(),
                ctx,
                "relative_to",
                "a process's speedup needs `relative_to = process` (another `[[process]]`)",
            ));
        };
        let text = reference.get_ref();
        if text == process {
            return Err(self.field(
                reference.span(),
                ctx,
                "relative_to",
                format!("`{text}` is the objective's own process"),
            ));
        }
        if !processes.iter().any(|p| &p.id == text) {
            let hint = closest_hint(text, processes.iter().map(|p| p.id.as_str()));
            return Err(self.field(
                reference.span(),
                ctx,
                "relative_to",
                format!("`{text}` is not a `[[process]]` of this file{hint}"),
            ));
        }
        Ok(SpeedupBase::Process {
            reference: text.clone(),
        })
    }

    /// A workload id that parses but is not in the registry is an error naming the
    /// closest valid names (`hint`).
    fn check_registered(
        &self,
        id: &WorkloadId,
        span: Range<usize>,
        objective: Option<&str>,
        field: &str,
        hint: impl Fn() -> String,
    ) -> Result<(), SloError> {
        if self.registered.contains(&id.to_string()) {
            return Ok(());
        }
        Err(self.field(
            span,
            objective,
            field,
            format!("`{id}` is not a registered workload{}", hint()),
        ))
    }

    fn process(&self, raw: &RawProcess) -> Result<ProcessSpec, SloError> {
        let id = raw.id.get_ref().clone();
        if id.trim().is_empty() {
            return Err(self.field(raw.id.span(), None, "id", "must not be empty"));
        }
        if raw.command.get_ref().is_empty() {
            return Err(self.field(
                raw.command.span(),
                None,
                "command",
                format!("process `{id}`: must name a program"),
            ));
        }
        let runs = raw.runs.as_ref().map_or(Ok(10), |r| {
            if *r.get_ref() == 0 {
                Err(self.field(
                    r.span(),
                    None,
                    "runs",
                    format!("process `{id}`: must be at least 1"),
                ))
            } else {
                Ok(*r.get_ref())
            }
        })?;
        let unit = match &raw.unit {
            None => None,
            Some(u) => Some(u.get_ref().parse::<Unit>().map_err(|why| {
                self.field(u.span(), None, "unit", format!("process `{id}`: {why}"))
            })?),
        };
        Ok(ProcessSpec {
            id,
            description: raw.description.clone(),
            command: raw.command.get_ref().clone(),
            setup: raw.setup.clone(),
            runs,
            warmup: raw.warmup.unwrap_or(1),
            unit,
            units: raw.units,
            quick: raw.quick.unwrap_or(true),
        })
    }
}
