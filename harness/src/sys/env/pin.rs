//! Pinning: applying the recommended tuning, and undoing it.
//!
//! Like pyperf's `system tune`, but every change is reversible: the previous content of
//! every file about to be written (and the command that undoes every command about to be
//! run) goes into a state file *before* anything changes, so `benchseal env --reset`
//! restores the machine even when the process that pinned it crashed or was killed.
//! Writing a previous value back over an unchanged file is harmless, which is what makes
//! that order safe. Only what the process is permitted to change is changed; everything
//! else is reported with its reason (usually: needs root).
//!
//! What is deliberately *not* changed at run time: SMT (turning it off takes CPUs offline
//! under running processes; boot with `nosmt`) and CPU isolation (a boot parameter).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::capture::{ASLR, CPUFREQ_BOOST, INTEL_NO_TURBO, PERF_SAMPLE_RATE, irq_numbers};
use super::sources::{CommandRunner, EnvSources, SystemCommands, SystemRoot, set_affinity};
use crate::analysis::env::cpulist;
use crate::model::env::{Captured, EnvSnapshot};
use crate::model::outcome::bad_input;

/// Schema of the pin state file.
pub const PIN_STATE_SCHEMA: &str = "benchseal.pin-state/1";
/// Overrides where the pin state file lives.
pub const PIN_STATE_VAR: &str = "BENCHSEAL_PIN_STATE";

/// One change to the machine and how to undo it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum PinAction {
    /// Write `value` to a system file whose content was `previous`.
    Write {
        setting: String,
        path: String,
        previous: String,
        value: String,
    },
    /// Run `apply`; `undo` restores the previous state.
    Command {
        setting: String,
        apply: Vec<String>,
        undo: Vec<String>,
    },
}

impl PinAction {
    /// What applying this action does, for people.
    pub fn describe(&self) -> String {
        self.describe_direction(false)
    }

    /// What undoing this action does, for people.
    pub fn describe_undo(&self) -> String {
        self.describe_direction(true)
    }

    fn describe_direction(&self, undo: bool) -> String {
        match self {
            PinAction::Write {
                setting,
                path,
                previous,
                value,
            } => {
                let (from, to) = if undo {
                    (value.trim(), previous.trim())
                } else {
                    (previous.trim(), value.trim())
                };
                format!("{setting}: {from} → {to} ({path})")
            }
            PinAction::Command {
                setting,
                apply,
                undo: undo_argv,
            } => {
                let argv = if undo { undo_argv } else { apply };
                format!("{setting}: run `{}`", argv.join(" "))
            }
        }
    }

    fn apply(&self, root: &SystemRoot, commands: &dyn CommandRunner) -> Result<(), String> {
        match self {
            PinAction::Write { path, value, .. } => root.write(path, value),
            PinAction::Command { apply, .. } => run(commands, apply),
        }
    }

    fn undo(&self, root: &SystemRoot, commands: &dyn CommandRunner) -> Result<(), String> {
        match self {
            PinAction::Write { path, previous, .. } => root.write(path, previous),
            PinAction::Command { undo, .. } => run(commands, undo),
        }
    }
}

fn run(commands: &dyn CommandRunner, argv: &[String]) -> Result<(), String> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| "empty command in the pin state".to_string())?;
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    commands.output(program, &args, None).map(|_| ())
}

/// What pinning would do on this machine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PinPlan {
    pub actions: Vec<PinAction>,
    /// Settings that stay as they are, each with the reason.
    pub left_alone: Vec<String>,
}

/// The saved state of a pin: the root it was applied under and what to undo.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinState {
    pub schema: String,
    pub pinned_at: String,
    pub root: PathBuf,
    pub actions: Vec<PinAction>,
}

impl PinState {
    fn load(path: &Path) -> Result<PinState> {
        let text = crate::sys::fs::read_to_string(path)?;
        let state: PinState = serde_json::from_str(&text)
            .map_err(|e| bad_input(format!("{}: not a pin state file: {e}", path.display())))?;
        if state.schema != PIN_STATE_SCHEMA {
            return Err(bad_input(format!(
                "{}: schema `{}` is not supported (expected `{PIN_STATE_SCHEMA}`)",
                path.display(),
                state.schema
            )));
        }
        Ok(state)
    }
}

/// A file setting to move to `want`, if it exists and holds something else.
fn write_action(root: &SystemRoot, plan: &mut PinPlan, setting: &str, path: &str, want: &str) {
    match root.read_raw(path) {
        Captured::Present(previous) if previous.trim() == want => {}
        Captured::Present(previous) => plan.actions.push(PinAction::Write {
            setting: setting.into(),
            path: path.into(),
            previous,
            value: want.into(),
        }),
        Captured::Absent(a) => plan.left_alone.push(format!("{setting}: {}", a.absent)),
    }
}

/// The actions that bring `snap`'s machine (read under `root`) to the recommendations.
pub fn plan(snap: &EnvSnapshot, root: &SystemRoot) -> PinPlan {
    let mut plan = PinPlan::default();
    let t = &snap.tuning;
    match &t.cpufreq {
        Captured::Present(policies) => {
            for name in policies.keys() {
                let path = format!("/sys/devices/system/cpu/cpufreq/{name}/scaling_governor");
                write_action(
                    root,
                    &mut plan,
                    &format!("governor {name}"),
                    &path,
                    "performance",
                );
            }
        }
        Captured::Absent(a) => plan.left_alone.push(format!("governor: {}", a.absent)),
    }
    match &t.boost {
        Captured::Present(boost) => {
            let off = if boost.control == INTEL_NO_TURBO {
                "1"
            } else {
                "0"
            };
            if boost.control == INTEL_NO_TURBO || boost.control == CPUFREQ_BOOST {
                write_action(root, &mut plan, "boost/turbo", &boost.control, off);
            }
        }
        Captured::Absent(a) => plan.left_alone.push(format!("boost/turbo: {}", a.absent)),
    }
    write_action(root, &mut plan, "aslr", ASLR, "2");
    write_action(
        root,
        &mut plan,
        "perf_event_max_sample_rate",
        PERF_SAMPLE_RATE,
        "1",
    );
    if let Some(smt) = t.smt.value()
        && smt.control == "on"
        && smt.active.value() != Some(&false)
    {
        plan.left_alone.push(
            "smt: left on (turning it off takes CPUs offline under running processes; boot \
             with `nosmt`)"
                .into(),
        );
    }
    irq_actions(snap, root, &mut plan);
    gpu_actions(snap, &mut plan);
    plan
}

/// Moves interrupts off isolated CPUs, onto the other online CPUs.
fn irq_actions(snap: &EnvSnapshot, root: &SystemRoot, plan: &mut PinPlan) {
    let isolated = snap
        .tuning
        .isolated_cpus
        .value()
        .and_then(|l| cpulist::parse(l).ok())
        .unwrap_or_default();
    if isolated.is_empty() {
        plan.left_alone.push(
            "isolated cpus: none (isolation is a boot parameter: isolcpus=, nohz_full=); \
             interrupts left where they are"
                .into(),
        );
        return;
    }
    let online = snap
        .cpu
        .online
        .value()
        .and_then(|l| cpulist::parse(l).ok())
        .unwrap_or_default();
    let housekeeping: Vec<usize> = online.difference(&isolated).copied().collect();
    if housekeeping.is_empty() {
        plan.left_alone.push(
            "irq affinity: every online CPU is isolated; no CPU is left for interrupts".into(),
        );
        return;
    }
    let target = cpulist::format(&housekeeping);
    for irq in irq_numbers(root) {
        let path = format!("/proc/irq/{irq}/smp_affinity_list");
        let on_isolated = root
            .read(&path)
            .value()
            .and_then(|l| cpulist::parse(l).ok())
            .is_some_and(|cpus| !cpus.is_disjoint(&isolated));
        if on_isolated {
            write_action(root, plan, &format!("irq {irq}"), &path, &target);
        }
    }
}

/// Turns on persistence mode and locks the SM clock at its maximum on each NVIDIA GPU.
fn gpu_actions(snap: &EnvSnapshot, plan: &mut PinPlan) {
    let devices = match &snap.gpu.nvidia_smi {
        Captured::Present(smi) => &smi.devices,
        Captured::Absent(a) => {
            plan.left_alone.push(format!("gpu: {}", a.absent));
            return;
        }
    };
    let smi = |args: &[&str]| -> Vec<String> {
        std::iter::once("nvidia-smi")
            .chain(args.iter().copied())
            .map(str::to_string)
            .collect()
    };
    for (name, d) in devices {
        let i = d.index.as_str();
        if d.persistence_mode != "Enabled" {
            plan.actions.push(PinAction::Command {
                setting: format!("{name} persistence mode"),
                apply: smi(&["-i", i, "-pm", "1"]),
                undo: smi(&["-i", i, "-pm", "0"]),
            });
        }
        match d.max_clocks_sm_mhz.parse::<u32>() {
            Ok(max) => {
                let range = format!("{max},{max}");
                plan.actions.push(PinAction::Command {
                    setting: format!("{name} sm clock"),
                    apply: smi(&["-i", i, "-lgc", &range]),
                    undo: smi(&["-i", i, "-rgc"]),
                });
            }
            Err(_) => plan.left_alone.push(format!(
                "{name} sm clock: maximum unknown (`{}`)",
                d.max_clocks_sm_mhz
            )),
        }
    }
}

/// What a pin did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PinReport {
    pub applied: Vec<String>,
    pub not_applied: Vec<String>,
    /// The state file to reset from; `None` when nothing was changed.
    pub state_file: Option<PathBuf>,
}

/// Applies `plan`, saving what undoes it to `state_path` first. Refuses when a pin is
/// already in place (its state file exists): pinning over it would save pinned values as
/// the "previous" ones.
pub fn apply(
    plan: &PinPlan,
    root: &SystemRoot,
    commands: &dyn CommandRunner,
    state_path: &Path,
) -> Result<PinReport> {
    if state_path.exists() {
        return Err(bad_input(format!(
            "the machine is already pinned (state in {}); run `benchseal env --reset` first",
            state_path.display()
        )));
    }
    let mut report = PinReport {
        not_applied: plan.left_alone.clone(),
        ..PinReport::default()
    };
    if plan.actions.is_empty() {
        return Ok(report);
    }
    let mut state = PinState {
        schema: PIN_STATE_SCHEMA.into(),
        pinned_at: crate::sys::clock::now_rfc3339(),
        root: root.root.clone(),
        actions: plan.actions.clone(),
    };
    crate::sys::fs::write_json_atomic(state_path, &state)
        .context("saving the values to restore before pinning")?;
    let mut done = Vec::new();
    for action in &plan.actions {
        match action.apply(root, commands) {
            Ok(()) => {
                report.applied.push(action.describe());
                done.push(action.clone());
            }
            Err(why) => report.not_applied.push(why),
        }
    }
    if done.is_empty() {
        std::fs::remove_file(state_path)
            .with_context(|| format!("removing {}", state_path.display()))?;
    } else {
        state.actions = done;
        crate::sys::fs::write_json_atomic(state_path, &state)?;
        report.state_file = Some(state_path.to_path_buf());
    }
    Ok(report)
}

/// What a reset did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResetReport {
    pub restored: Vec<String>,
    /// Undo steps that failed; they stay in the state file for another try.
    pub failed: Vec<String>,
    /// False when there was no state file (nothing was pinned).
    pub was_pinned: bool,
}

/// Restores what the pin saved in `state_path`, last change first. The state file is
/// removed once everything is restored; failed steps are kept in it.
pub fn reset(commands: &dyn CommandRunner, state_path: &Path) -> Result<ResetReport> {
    let mut report = ResetReport::default();
    if !state_path.exists() {
        return Ok(report);
    }
    report.was_pinned = true;
    let mut state = PinState::load(state_path)?;
    let root = SystemRoot::new(&state.root);
    let mut kept = Vec::new();
    for action in state.actions.iter().rev() {
        match action.undo(&root, commands) {
            Ok(()) => report.restored.push(action.describe_undo()),
            Err(why) => {
                report.failed.push(why);
                kept.push(action.clone());
            }
        }
    }
    if kept.is_empty() {
        std::fs::remove_file(state_path)
            .with_context(|| format!("removing {}", state_path.display()))?;
    } else {
        kept.reverse();
        state.actions = kept;
        crate::sys::fs::write_json_atomic(state_path, &state)?;
    }
    Ok(report)
}

/// Where the pin state lives: `$BENCHSEAL_PIN_STATE`, else `.benchseal/pin-state.json` in
/// the workspace root (or in `workdir` outside a workspace).
pub fn default_state_path(workdir: &Path) -> PathBuf {
    if let Some(path) = std::env::var_os(PIN_STATE_VAR).filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    super::capture::find_workspace_root(workdir)
        .unwrap_or_else(|_| workdir.to_path_buf())
        .join(".benchseal")
        .join("pin-state.json")
}

/// Tuning applied for the duration of a run; dropping it restores the previous values.
#[derive(Debug, Default)]
pub struct PinGuard {
    /// What was applied, and what could not be (each a human-readable line).
    pub applied: Vec<String>,
    pub not_applied: Vec<String>,
    /// The state file this guard resets from when dropped; `None` when it changed nothing
    /// or when an earlier `benchseal env --pin` owns the pin.
    state_file: Option<PathBuf>,
    /// This process's CPU affinity before it was moved onto the isolated CPUs.
    previous_affinity: Option<Vec<usize>>,
}

impl PinGuard {
    /// Resets now, reporting failures instead of printing them as `Drop` must.
    pub fn release(mut self) -> Result<ResetReport> {
        let mut report = ResetReport::default();
        if let Some(cpus) = self.previous_affinity.take()
            && let Err(why) = set_affinity(&cpus)
        {
            report.failed.push(why);
        }
        if let Some(path) = self.state_file.take() {
            let files = reset(&SystemCommands::default(), &path)?;
            report.was_pinned = files.was_pinned;
            report.restored.extend(files.restored);
            report.failed.extend(files.failed);
        }
        Ok(report)
    }

    /// Moves this process (and the benchmarks it starts later) onto the isolated CPUs,
    /// when there are any and it is not on them already. Affinity is per thread: call
    /// [`pin`] from the thread that starts the engines.
    fn move_onto_isolated_cpus(&mut self, snap: &EnvSnapshot, sources: &EnvSources<'_>) {
        let isolated: Vec<usize> = snap
            .tuning
            .isolated_cpus
            .value()
            .and_then(|l| cpulist::parse(l).ok())
            .map(|set| set.into_iter().collect())
            .unwrap_or_default();
        let Some(current) = sources.affinity.value() else {
            return;
        };
        if isolated.is_empty() || current.iter().all(|c| isolated.contains(c)) {
            return;
        }
        let change = format!(
            "cpu affinity: {} → {} (this process and the benchmarks it starts)",
            cpulist::format(current),
            cpulist::format(&isolated)
        );
        match set_affinity(&isolated) {
            Ok(()) => {
                self.applied.push(change);
                self.previous_affinity = Some(current.clone());
            }
            Err(why) => self.not_applied.push(why),
        }
    }
}

impl Drop for PinGuard {
    fn drop(&mut self) {
        // Checked before building the guard below: dropping a guard with nothing to
        // restore must not build another one.
        if self.state_file.is_none() && self.previous_affinity.is_none() {
            return;
        }
        let path = self.state_file.clone();
        let owned = PinGuard {
            applied: Vec::new(),
            not_applied: Vec::new(),
            state_file: self.state_file.take(),
            previous_affinity: self.previous_affinity.take(),
        };
        match owned.release() {
            Ok(report) if report.failed.is_empty() => {}
            Ok(report) => eprintln!(
                "benchseal: could not restore every pinned setting ({}){}",
                report.failed.join("; "),
                path.map(|p| format!("; run `benchseal env --reset` (state in {})", p.display()))
                    .unwrap_or_default()
            ),
            Err(e) => eprintln!("benchseal: restoring pinned settings failed: {e:#}"),
        }
    }
}

/// Applies what this process may apply of the recommended tuning and returns a guard that
/// resets it when dropped (on error paths too). A process killed outright leaves the state
/// file behind; `benchseal env --reset` restores from it.
pub fn pin() -> Result<PinGuard> {
    let commands = SystemCommands::default();
    let sources = EnvSources::system(&commands);
    let state_path = default_state_path(&sources.workdir);
    pin_with(&sources, &state_path)
}

/// [`pin`] with explicit sources and state file.
pub fn pin_with(sources: &EnvSources<'_>, state_path: &Path) -> Result<PinGuard> {
    let snap = super::capture::capture(sources);
    let mut guard = PinGuard::default();
    if state_path.exists() {
        guard.applied.push(format!(
            "pinned earlier by `benchseal env --pin` (state in {}); left in place",
            state_path.display()
        ));
    } else {
        let plan = plan(&snap, &sources.root);
        let report = apply(&plan, &sources.root, sources.commands, state_path)?;
        guard.applied = report.applied;
        guard.not_applied = report.not_applied;
        guard.state_file = report.state_file;
    }
    if sources.may_set_affinity {
        guard.move_onto_isolated_cpus(&snap, sources);
    }
    Ok(guard)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: `Drop` built a temporary guard before checking whether anything needed
    /// restoring, and dropping that temporary recursed until the stack overflowed.
    #[test]
    fn dropping_a_guard_with_nothing_to_restore_does_not_recurse() {
        drop(PinGuard::default());
        let report = PinGuard::default().release().unwrap();
        assert!(!report.was_pinned && report.failed.is_empty());
    }

    #[test]
    fn undo_descriptions_run_the_other_way() {
        let action = PinAction::Write {
            setting: "aslr".into(),
            path: ASLR.into(),
            previous: "0\n".into(),
            value: "2".into(),
        };
        assert_eq!(
            action.describe(),
            "aslr: 0 → 2 (/proc/sys/kernel/randomize_va_space)"
        );
        assert_eq!(
            action.describe_undo(),
            "aslr: 2 → 0 (/proc/sys/kernel/randomize_va_space)"
        );
    }
}
