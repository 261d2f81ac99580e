//! `benchseal completions SHELL` and `benchseal man [--out-dir DIR]`: shell completions and
//! manual pages generated from the command line's own definition (`clap_complete`,
//! `clap_mangen`), so they cannot drift from `--help`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::model::outcome::{Outcome, bad_input};

/// Arguments of `benchseal completions`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    benchseal completions bash > ~/.local/share/bash-completion/completions/benchseal\n  \
    benchseal completions zsh > \"${fpath[1]}/_benchseal\"\n  \
    benchseal completions fish > ~/.config/fish/completions/benchseal.fish\n\n\
    Exit codes: 0 written, 2 bad input (an unknown shell).")]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Arguments of `benchseal man`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    benchseal man | man -l -\n  \
    benchseal man --out-dir /usr/local/share/man/man1 && mandb\n\n\
    Exit codes: 0 written, 2 bad input (a directory that cannot be created or written).")]
pub struct ManArgs {
    /// Write `benchseal.1` and one page per subcommand (`benchseal-run.1`,
    /// `benchseal-baseline-save.1`, …) into DIR, instead of printing `benchseal.1`.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// `command`: the whole command line's definition (`Cli::command()`, passed in by `app`).
pub fn completions(args: CompletionsArgs, mut command: clap::Command) -> Result<Outcome> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "benchseal", &mut script);
    write_stdout(&script)?;
    Ok(Outcome::Success)
}

/// `command`: the whole command line's definition, as for [`completions`].
pub fn man(args: ManArgs, command: clap::Command) -> Result<Outcome> {
    let Some(dir) = args.out_dir else {
        write_stdout(&render(command)?)?;
        return Ok(Outcome::Success);
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| bad_input(format!("--out-dir {}: {e}", dir.display())))?;
    let mut pages = Vec::new();
    collect_pages(command, "benchseal", &mut pages);
    for (name, page) in pages {
        let path = dir.join(format!("{name}.1"));
        write_page(&path, &render(page)?)?;
        println!("{}", path.display());
    }
    Ok(Outcome::Success)
}

/// The page of `command` under `name`, then the pages of its subcommands, depth first
/// (`benchseal-baseline`, `benchseal-baseline-save`, …); `help` is left out.
fn collect_pages(command: clap::Command, name: &str, pages: &mut Vec<(String, clap::Command)>) {
    let command = command.name(name.to_string());
    let subcommands: Vec<clap::Command> = command
        .get_subcommands()
        .filter(|s| s.get_name() != "help")
        .cloned()
        .collect();
    pages.push((name.to_string(), command));
    for sub in subcommands {
        let sub_name = format!("{name}-{}", sub.get_name());
        collect_pages(sub, &sub_name, pages);
    }
}

fn render(command: clap::Command) -> Result<Vec<u8>> {
    let mut page = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut page)
        .context("rendering a manual page")?;
    Ok(page)
}

fn write_page(path: &Path, page: &[u8]) -> Result<()> {
    crate::sys::fs::write_atomic(path, page)
        .map_err(|e| bad_input(format!("{}: {e:#}", path.display())))
}

/// Writes to stdout; a reader that went away (`| head`) is no error.
fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to stdout"),
    }
}
