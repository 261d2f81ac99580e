//! Environment snapshots, checks and pinning against fixture system trees: an Intel server
//! with intel_pstate, an AMD desktop with cpufreq boost, and a VM without cpufreq.

use std::path::Path;

use benchseal::sys::env::pin::{self, PinAction};

use benchseal::analysis::env::{self, CheckState};
use benchseal::model::env::{Captured, EnvSnapshot};
use benchseal::sys::env::capture::capture;
use benchseal::sys::env::{EnvSources, StubCommands};

use crate::support::env_trees::{fixture, tree_contents, writable_copy};

/// Commands as a typical development machine answers them.
fn tools() -> StubCommands {
    StubCommands::new()
        .with(
            "rustc -vV",
            "rustc 1.95.0 (59807616e 2026-04-14)\nbinary: rustc\ncommit-hash: 59807616e\n\
             host: x86_64-unknown-linux-gnu\nrelease: 1.95.0\nLLVM version: 22.1.2\n",
        )
        .with("cargo -V", "cargo 1.95.0 (f2d3ce0bd 2026-03-21)\n")
        .with("valgrind --version", "valgrind-3.19.0\n")
        .with("gungraun-runner --version", "gungraun-runner 0.20.0\n")
}

fn snap_of(tree: &Path, commands: &StubCommands) -> EnvSnapshot {
    capture(&EnvSources::fixture(tree, commands))
}

fn snap(name: &str) -> EnvSnapshot {
    snap_of(&fixture(name), &tools())
}

fn verdict<'a>(items: &'a [env::CheckItem], name: &str) -> &'a CheckState {
    &items
        .iter()
        .find(|i| i.name == name)
        .unwrap_or_else(|| panic!("no check item {name}"))
        .state
}

#[test]
fn intel_pstate_machine_is_captured() {
    let s = snap("intel-pstate");
    assert_eq!(s.schema, "benchseal.env/1");
    assert_eq!(s.cpu.vendor.value().unwrap(), "GenuineIntel");
    assert_eq!(
        s.cpu.model_name.value().unwrap(),
        "Intel(R) Xeon(R) Platinum 8480+"
    );
    assert_eq!(*s.cpu.logical_cpus.value().unwrap(), 4);
    assert_eq!(*s.cpu.physical_cores.value().unwrap(), 2);
    assert_eq!(*s.cpu.sockets.value().unwrap(), 1);
    assert_eq!(s.cpu.caches.value().unwrap().len(), 4);
    assert_eq!(*s.memory.total_kib.value().unwrap(), 263_842_516);
    let policies = s.tuning.cpufreq.value().unwrap();
    assert_eq!(policies.len(), 4);
    assert_eq!(policies["policy0"].governor.value().unwrap(), "powersave");
    assert_eq!(policies["policy0"].driver.value().unwrap(), "intel_pstate");
    assert_eq!(
        *policies["policy3"].hardware_max_khz.value().unwrap(),
        3_800_000
    );
    let boost = s.tuning.boost.value().unwrap();
    assert!(boost.enabled, "no_turbo = 0 means turbo is on");
    assert_eq!(
        boost.control,
        "/sys/devices/system/cpu/intel_pstate/no_turbo"
    );
    assert_eq!(s.tuning.intel_pstate_status.value().unwrap(), "active");
    assert_eq!(s.tuning.isolated_cpus.value().unwrap(), "2-3");
    assert_eq!(s.isolation.container, "podman");
    let containerenv = s.isolation.containerenv.value().unwrap();
    assert_eq!(containerenv["image"], "localhost/benchseal:0.1.0");
    assert_eq!(containerenv["imageid"], "9a8b7c6d");
    assert_eq!(s.isolation.cpu_quota.value().unwrap(), "cpu.max max 100000");
    assert_eq!(s.os.name.value().unwrap(), "Debian GNU/Linux 12 (bookworm)");
    assert_eq!(s.toolchain.rustc.value().unwrap().release, "1.95.0");
    assert_eq!(s.tools.valgrind.value().unwrap(), "3.19.0");
    assert_eq!(s.tools.gungraun_runner.value().unwrap(), "0.20.0");
    if !s.build.features.iter().any(|f| f == "cuda") {
        assert_eq!(s.gpu.cuda.reason(), Some("built without feature cuda"));
    }
    assert!(
        s.machine_class
            .starts_with("x86_64-intel-xeon-platinum-8480-"),
        "{}",
        s.machine_class
    );
    assert!(
        s.machine_class.contains("-rust1.95.0-"),
        "{}",
        s.machine_class
    );
}

#[test]
fn amd_machine_with_cpufreq_boost_is_captured() {
    let s = snap("amd-boost");
    assert_eq!(s.cpu.vendor.value().unwrap(), "AuthenticAMD");
    let policies = s.tuning.cpufreq.value().unwrap();
    assert_eq!(policies.len(), 2);
    assert_eq!(policies["policy1"].cpus.value().unwrap(), "1 3");
    assert!(
        policies["policy0"]
            .energy_performance_preference
            .reason()
            .is_some()
    );
    let boost = s.tuning.boost.value().unwrap();
    assert!(boost.enabled);
    assert_eq!(boost.control, "/sys/devices/system/cpu/cpufreq/boost");
    assert_eq!(*s.tuning.aslr.value().unwrap(), 0);
    assert_eq!(s.isolation.container, "docker");
    assert!(s.isolation.dockerenv);
    assert_eq!(
        s.isolation.cpu_quota.value().unwrap(),
        "cfs_quota_us 200000, cfs_period_us 100000"
    );
    assert!(
        s.machine_class
            .starts_with("x86_64-amd-ryzen-9-7950x-16-processor-")
    );

    let items = env::check(&s);
    assert!(matches!(verdict(&items, "governor"), CheckState::Warn(w) if w.contains("schedutil")));
    assert!(matches!(
        verdict(&items, "boost/turbo"),
        CheckState::Warn(_)
    ));
    assert!(matches!(verdict(&items, "smt"), CheckState::Warn(_)));
    assert!(matches!(verdict(&items, "aslr"), CheckState::Warn(_)));
    assert_eq!(
        verdict(&items, "perf_event_max_sample_rate"),
        &CheckState::Ok
    );
}

#[test]
fn vm_without_cpufreq_records_absences_and_never_aborts() {
    let s = snap("vm-no-cpufreq");
    assert_eq!(
        s.tuning.cpufreq.reason(),
        Some("no cpufreq on this machine")
    );
    assert_eq!(s.tuning.boost.reason(), Some("no cpufreq on this machine"));
    assert_eq!(
        s.tuning.perf_event_max_sample_rate.reason(),
        Some("/proc/sys/kernel/perf_event_max_sample_rate is malformed: `not-a-number`")
    );
    assert_eq!(
        s.load.reason(),
        Some("/proc/loadavg is malformed: `garbage`")
    );
    assert_eq!(
        s.memory.total_kib.reason(),
        Some("/proc/meminfo is missing")
    );
    assert!(*s.cpu.virtualized.value().unwrap());
    // No sysfs topology: cores come from cpuinfo's ids.
    assert_eq!(*s.cpu.physical_cores.value().unwrap(), 2);
    // One cache index lacks its type and size: that entry alone is absent.
    let caches = s.cpu.caches.value().unwrap();
    assert!(caches[0].value().is_some());
    assert!(caches[2].reason().unwrap().contains("type is missing"));
    assert_eq!(s.isolation.container, "none detected");

    let items = env::check(&s);
    assert_eq!(
        verdict(&items, "governor").to_string(),
        "unavailable (no cpufreq on this machine)"
    );
    assert_eq!(
        verdict(&items, "boost/turbo").to_string(),
        "unavailable (no cpufreq on this machine)"
    );
    assert_eq!(verdict(&items, "smt"), &CheckState::Ok);
    assert!(matches!(
        verdict(&items, "perf_event_max_sample_rate"),
        CheckState::Unavailable(_)
    ));
    let tuning = env::tuning_state(&s);
    assert!(!tuning.tuned, "no isolated CPUs is a warning");
    assert!(
        tuning
            .reasons
            .iter()
            .any(|r| r == "governor: unavailable (no cpufreq on this machine)"),
        "{:?}",
        tuning.reasons
    );
}

#[test]
fn an_empty_root_gives_a_snapshot_of_absences() {
    let dir = tempfile::tempdir().unwrap();
    let s = snap_of(dir.path(), &StubCommands::new());
    assert!(s.cpu.model_name.reason().is_some());
    assert!(s.tuning.smt.reason().is_some());
    assert!(
        s.toolchain
            .rustc
            .reason()
            .unwrap()
            .contains("not installed")
    );
    // The class names the compiler that built this binary, known without any rustc on PATH.
    let built = s
        .toolchain
        .built_with
        .value()
        .expect("embedded at build time");
    assert!(
        s.machine_class
            .contains(&format!("-rust{}-", built.release)),
        "{}",
        s.machine_class
    );
    assert!(
        env::check(&s)
            .iter()
            .all(|i| matches!(i.state, CheckState::Unavailable(_))),
        "nothing can be judged without a system"
    );
    // The JSON form reads back to the same snapshot.
    let text = serde_json::to_string(&s).unwrap();
    let back: EnvSnapshot = serde_json::from_str(&text).unwrap();
    assert_eq!(back, s);
}

#[test]
fn garbage_in_every_file_never_aborts() {
    let dir = writable_copy("intel-pstate");
    for (rel, _) in tree_contents(dir.path()) {
        std::fs::write(dir.path().join(rel), b"\xff\xfe garbage \x00 -1-\n").unwrap();
    }
    let s = snap_of(dir.path(), &tools());
    assert!(s.tuning.aslr.reason().unwrap().contains("malformed"));
    assert!(s.tuning.boost.reason().unwrap().contains("malformed"));
    assert!(s.cpu.model_name.reason().is_some());
    env::check(&s);
    env::tuning_state(&s);
}

#[test]
fn machine_class_is_stable_across_captures_and_splits_machines() {
    let a = snap("intel-pstate");
    let b = snap("intel-pstate");
    assert_eq!(a.machine_class, b.machine_class);
    assert_eq!(a.machine_class_basis, b.machine_class_basis);
    assert_ne!(a.machine_class, snap("amd-boost").machine_class);
    assert_ne!(a.machine_class, snap("vm-no-cpufreq").machine_class);
    // A binary built by a different compiler is a different class; a different rustc on
    // PATH, or a different kernel, is not.
    let newer = tools().with(
        "rustc -vV",
        "rustc 1.96.0\nhost: x86_64-unknown-linux-gnu\nrelease: 1.96.0\n",
    );
    assert_eq!(
        a.machine_class,
        snap_of(&fixture("intel-pstate"), &newer).machine_class
    );
    let mut rebuilt = a.clone();
    if let Captured::Present(r) = &mut rebuilt.toolchain.built_with {
        r.release = "1.96.0".into();
    }
    assert_ne!(
        a.machine_class,
        env::MachineClass::of(&rebuilt).id,
        "a new build compiler must change the class"
    );
    let dir = writable_copy("intel-pstate");
    std::fs::write(dir.path().join("proc/sys/kernel/osrelease"), "6.12.0\n").unwrap();
    assert_eq!(a.machine_class, snap_of(dir.path(), &tools()).machine_class);
}

#[test]
fn changes_name_settings_and_ignore_load() {
    let dir = writable_copy("intel-pstate");
    let before = snap_of(dir.path(), &tools());
    assert!(env::changes(&before, &before).is_empty());
    std::fs::write(dir.path().join("proc/loadavg"), "7.00 3.00 1.00 2/300 1\n").unwrap();
    let policy = dir
        .path()
        .join("sys/devices/system/cpu/cpufreq/policy1/scaling_governor");
    std::fs::write(policy, "performance\n").unwrap();
    let after = snap_of(dir.path(), &tools());
    assert_eq!(
        env::changes(&before, &after),
        ["tuning.cpufreq.policy1.governor: powersave → performance"]
    );
}

#[test]
fn pin_then_reset_restores_every_value() {
    let dir = writable_copy("intel-pstate");
    let original = tree_contents(dir.path());
    let state_dir = tempfile::tempdir().unwrap();
    let state = state_dir.path().join("pin-state.json");
    let commands = tools();
    let sources = EnvSources::fixture(dir.path(), &commands);

    let snap = capture(&sources);
    let plan = pin::plan(&snap, &sources.root);
    let report = pin::apply(&plan, &sources.root, &commands, &state).unwrap();
    // Four governors, turbo, perf sample rate, and the three IRQs that may run on the
    // isolated CPUs 2-3 (IRQ 8 already stays on 0-1).
    assert_eq!(report.applied.len(), 4 + 1 + 1 + 3, "{:#?}", report.applied);
    assert!(state.is_file());
    let pinned = capture(&sources);
    let items = env::check(&pinned);
    for name in [
        "governor",
        "boost/turbo",
        "perf_event_max_sample_rate",
        "irq affinity",
    ] {
        assert_eq!(verdict(&items, name), &CheckState::Ok, "{name}");
    }
    let read = |rel: &str| std::fs::read_to_string(dir.path().join(rel)).unwrap();
    assert_eq!(read("sys/devices/system/cpu/intel_pstate/no_turbo"), "1");
    assert_eq!(read("proc/irq/9/smp_affinity_list"), "0-1");
    assert!(
        env::changes(&snap, &pinned)
            .contains(&"tuning.cpufreq.policy0.governor: powersave → performance".to_string())
    );

    let reset = pin::reset(&commands, &state).unwrap();
    assert!(reset.failed.is_empty(), "{:?}", reset.failed);
    assert_eq!(reset.restored.len(), report.applied.len());
    assert!(!state.exists(), "a complete reset removes the state file");
    assert_eq!(tree_contents(dir.path()), original);
    assert!(env::changes(&snap, &capture(&sources)).is_empty());
}

#[test]
fn pinning_twice_is_refused_and_reset_without_pin_is_a_no_op() {
    let dir = writable_copy("amd-boost");
    let state = dir.path().join("state/pin-state.json");
    let commands = tools();
    let sources = EnvSources::fixture(dir.path(), &commands);
    let plan = pin::plan(&capture(&sources), &sources.root);
    pin::apply(&plan, &sources.root, &commands, &state).unwrap();
    let err = pin::apply(&plan, &sources.root, &commands, &state).unwrap_err();
    assert!(format!("{err:#}").contains("already pinned"), "{err:#}");
    pin::reset(&commands, &state).unwrap();
    let again = pin::reset(&commands, &state).unwrap();
    assert!(!again.was_pinned);
}

#[test]
fn failed_writes_are_reported_and_kept_out_of_the_state() {
    let dir = writable_copy("amd-boost");
    let state = dir.path().join("pin-state.json");
    // A directory where the boost file should be makes the write fail.
    let boost = dir.path().join("sys/devices/system/cpu/cpufreq/boost");
    let commands = tools();
    let sources = EnvSources::fixture(dir.path(), &commands);
    let plan = pin::plan(&capture(&sources), &sources.root);
    std::fs::remove_file(&boost).unwrap();
    std::fs::create_dir(&boost).unwrap();
    let report = pin::apply(&plan, &sources.root, &commands, &state).unwrap();
    assert!(
        report
            .not_applied
            .iter()
            .any(|l| l.contains("/sys/devices/system/cpu/cpufreq/boost")),
        "{:?}",
        report.not_applied
    );
    let saved: pin::PinState =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert!(saved.actions.iter().all(|a| match a {
        PinAction::Write { path, .. } => !path.ends_with("cpufreq/boost"),
        PinAction::Command { .. } => true,
    }));
    pin::reset(&commands, &state).unwrap();
}

#[test]
fn gpu_is_pinned_through_nvidia_smi_and_reset() {
    let query = "nvidia-smi --query-gpu=index,name,uuid,driver_version,persistence_mode,\
                 ecc.mode.current,pstate,clocks.sm,clocks.mem,clocks.max.sm,clocks.max.mem,\
                 clocks.applications.graphics,clocks.applications.memory,power.limit,\
                 temperature.gpu --format=csv,noheader,nounits";
    let commands = tools()
        .with(
            query,
            "0, NVIDIA H100 80GB HBM3, GPU-1234, 550.54.15, Disabled, Enabled, P0, 345, 2619, \
             1980, 2619, 1755, 2619, 700.00, 31\n",
        )
        .with(
            "nvidia-smi",
            "| NVIDIA-SMI 550.54.15  Driver Version: 550.54.15  CUDA Version: 12.4 |\n",
        )
        .with("nvidia-smi -i 0 -pm 1", "")
        .with("nvidia-smi -i 0 -lgc 1980,1980", "")
        .with("nvidia-smi -i 0 -rgc", "")
        .with("nvidia-smi -i 0 -pm 0", "");
    let dir = writable_copy("vm-no-cpufreq");
    let state = dir.path().join("pin-state.json");
    let sources = EnvSources::fixture(dir.path(), &commands);
    let snap = capture(&sources);
    let smi = snap.gpu.nvidia_smi.value().unwrap();
    assert_eq!(smi.cuda_version.value().unwrap(), "12.4");
    assert_eq!(smi.devices["gpu0"].name, "NVIDIA H100 80GB HBM3");
    assert!(
        snap.machine_class_basis
            .contains(&"gpus: NVIDIA H100 80GB HBM3".to_string())
    );
    assert!(matches!(
        verdict(&env::check(&snap), "gpu persistence and clocks"),
        CheckState::Warn(_)
    ));

    let plan = pin::plan(&snap, &sources.root);
    pin::apply(&plan, &sources.root, &commands, &state).unwrap();
    pin::reset(&commands, &state).unwrap();
    let calls: Vec<String> = commands
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("nvidia-smi -i"))
        .collect();
    assert_eq!(
        calls,
        [
            "nvidia-smi -i 0 -pm 1",
            "nvidia-smi -i 0 -lgc 1980,1980",
            "nvidia-smi -i 0 -rgc",
            "nvidia-smi -i 0 -pm 0"
        ]
    );
}

#[test]
fn pin_guard_resets_when_dropped() {
    let dir = writable_copy("intel-pstate");
    let original = tree_contents(dir.path());
    let state = dir.path().join("pin-state.json");
    let commands = tools();
    let sources = EnvSources::fixture(dir.path(), &commands);
    {
        let guard = pin::pin_with(&sources, &state).unwrap();
        assert!(!guard.applied.is_empty());
        assert!(state.exists());
        // An earlier pin is left to its owner: a second guard neither pins nor resets.
        let nested = pin::pin_with(&sources, &state).unwrap();
        assert!(nested.applied[0].contains("pinned earlier"));
        drop(nested);
        assert!(state.exists());
    }
    assert!(!state.exists());
    let mut after = tree_contents(dir.path());
    after.remove(Path::new("pin-state.json"));
    assert_eq!(after, original);
}

#[test]
fn a_stored_snapshot_with_fewer_fields_reads_as_not_recorded() {
    let s: EnvSnapshot =
        serde_json::from_str(r#"{"schema": "benchseal.env/1", "machine_class": "m"}"#).unwrap();
    assert_eq!(s.machine_class, "m");
    assert_eq!(s.tuning.aslr.reason(), Some("not recorded"));
    assert_eq!(s.cpu.model_name.reason(), Some("not recorded"));
    assert_eq!(
        EnvSnapshot::default().toolchain.rustc.reason(),
        Some("not recorded")
    );
}

#[test]
fn pin_moves_this_process_onto_isolated_cpus_and_back() {
    let commands = tools();
    let real = EnvSources::system(&commands)
        .affinity
        .value()
        .cloned()
        .unwrap();
    assert!(
        real.len() > 1,
        "the test needs a process allowed on two CPUs or more"
    );
    let first = real[0];
    let dir = writable_copy("vm-no-cpufreq");
    std::fs::write(
        dir.path().join("sys/devices/system/cpu/isolated"),
        format!("{first}\n"),
    )
    .unwrap();
    let mut sources = EnvSources::fixture(dir.path(), &commands);
    sources.affinity = Captured::Present(real.clone());
    sources.may_set_affinity = true;
    let guard = pin::pin_with(&sources, &dir.path().join("pin-state.json")).unwrap();
    assert!(
        guard.applied.iter().any(|l| l.starts_with("cpu affinity:")),
        "{:?}",
        guard.applied
    );
    let during = EnvSources::system(&commands).affinity.value().cloned();
    assert_eq!(during, Some(vec![first]));
    drop(guard);
    let after = EnvSources::system(&commands).affinity.value().cloned();
    assert_eq!(after, Some(real));
}
