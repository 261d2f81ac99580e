//! `benchseal env`: print, check, pin and reset the environment.

use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::model::outcome::Outcome;
use crate::present::env::{render_check, render_dry_run, render_pin, render_snapshot, section};
use crate::sys::env::pin;
use crate::sys::env::{EnvSources, SystemCommands};

/// Examples and exit codes, after `--help`.
const ENV_HELP: &str = r#"Examples:
  benchseal env                         # what can change a number, and the machine class
  benchseal env --check                 # each tuning setting against the recommendation
  benchseal env --pin --dry-run         # what --pin would change; --reset restores

Exit codes: 0 done (--check reports each setting, it does not fail); 1 a setting that
could not be applied or restored; 2 bad input."#;

/// Arguments of `benchseal env`.
#[derive(Debug, clap::Args)]
#[command(after_help = ENV_HELP)]
pub struct EnvArgs {
    /// Print JSON instead of a table (the snapshot, or the check items).
    #[arg(long, conflicts_with_all = ["pin", "reset"])]
    pub json: bool,
    /// Judge each tuning setting against benchseal's recommendation.
    #[arg(long, conflicts_with_all = ["pin", "reset"])]
    pub check: bool,
    /// Apply the recommended tuning this process may apply, saving the previous values.
    #[arg(long, conflicts_with = "reset")]
    pub pin: bool,
    /// With --pin: print what would change, change nothing.
    #[arg(long, requires = "pin")]
    pub dry_run: bool,
    /// Restore the values saved by --pin.
    #[arg(long)]
    pub reset: bool,
    /// The pin state file (default: .benchseal/pin-state.json in the workspace root, or
    /// $BENCHSEAL_PIN_STATE).
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,
}

pub fn execute(args: EnvArgs) -> Result<Outcome> {
    let commands = SystemCommands::default();
    let sources = EnvSources::system(&commands);
    let state_path = args
        .state
        .clone()
        .unwrap_or_else(|| pin::default_state_path(&sources.workdir));
    if args.reset {
        return reset(&state_path);
    }
    let snap = crate::sys::env::capture::capture(&sources);
    if args.pin {
        let plan = pin::plan(&snap, &sources.root);
        if args.dry_run {
            print!("{}", render_dry_run(&plan));
            return Ok(Outcome::Success);
        }
        let report = pin::apply(&plan, &sources.root, sources.commands, &state_path)?;
        print!("{}", render_pin(&report));
        return Ok(Outcome::Success);
    }
    if args.check {
        let items = crate::analysis::env::check(&snap);
        let tuning = crate::analysis::env::tuning_state(&snap);
        if args.json {
            let doc = serde_json::json!({
                "machine_class": snap.machine_class,
                "items": items,
                "tuned": tuning.tuned,
                "reasons": tuning.reasons,
            });
            println!("{}", serde_json::to_string_pretty(&doc)?);
        } else {
            print!("{}", render_check(&items, &tuning));
        }
        return Ok(Outcome::Success);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&snap)?);
    } else {
        print!("{}", render_snapshot(&snap)?);
    }
    Ok(Outcome::Success)
}

fn reset(state_path: &std::path::Path) -> Result<Outcome> {
    let report = pin::reset(&SystemCommands::default(), state_path)?;
    if !report.was_pinned {
        println!(
            "nothing to reset (no pin state at {})",
            state_path.display()
        );
        return Ok(Outcome::Success);
    }
    let mut out = String::new();
    section(&mut out, "restored", &report.restored);
    print!("{out}");
    if !report.failed.is_empty() {
        bail!(
            "could not restore {} setting(s): {}; they stay in {} for another `benchseal env --reset`",
            report.failed.len(),
            report.failed.join("; "),
            state_path.display()
        );
    }
    Ok(Outcome::Success)
}
