//! `benchseal sign FILE…`: sign files already written (a release's report set, a record
//! made before a key existed) the way `run`, `baseline save` and `signoff` sign theirs.

use std::path::PathBuf;

use anyhow::Result;

use super::args::SignArgs;
use crate::model::outcome::{Outcome, bad_input};

/// Arguments of `benchseal sign`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    benchseal sign --sign-key ~/.ssh/release_ed25519 reports/v0.1.1/*\n  \
    ssh-keygen -Y verify -f allowed_signers -I release@example.org -n benchseal \\\n    \
    -s reports/v0.1.1/signoff.json.sig < reports/v0.1.1/signoff.json\n\n\
    Exit codes: 0 signed, 2 bad input (no key, unreadable key or file).")]
pub struct SignCommandArgs {
    /// The files to sign; each gets `<file>.sig` (`.sig` files themselves are skipped).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub sign: SignArgs,
}

pub fn execute(args: SignCommandArgs) -> Result<Outcome> {
    let Some(key) = args.sign.key()? else {
        return Err(bad_input(format!(
            "no signing key: pass --sign-key KEY or set ${}",
            crate::sys::sign::KEY_ENV
        )));
    };
    let files: Vec<&std::path::Path> = args
        .files
        .iter()
        .map(PathBuf::as_path)
        .filter(|f| f.extension().is_none_or(|e| e != "sig"))
        .collect();
    for file in &files {
        if !file.is_file() {
            return Err(bad_input(format!("{}: not a file", file.display())));
        }
    }
    super::args::sign_files(Some(&key), &files)?;
    Ok(Outcome::Success)
}
