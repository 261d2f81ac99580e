//! `benchseal merge SHARD… -o OUT`: the shard records of one machine class joined into one
//! sealed (and, with a key, signed) record; the checks are `analysis::merge`'s.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::args::SignArgs;
use crate::analysis::merge::{Input, merge};
use crate::model::outcome::{Outcome, bad_input};
use crate::store::Seal;

/// Examples and exit codes, after `--help`.
const MERGE_HELP: &str = r#"Examples:
  benchseal run --size tiny --shard 0/2 --out shards/    # on one node
  benchseal run --size tiny --shard 1/2 --out shards/    # on another node of the same class
  benchseal merge shards/*.json -o reports/runs/fleet.json --sign-key ~/.ssh/ci_ed25519

Exit codes: 0 merged; 2 bad input (a truncated or edited record, a record given twice,
shards of different machine classes, commits, bench executables or selections, a shard
given twice, or cases that no shard or two shards ran; each error names the files)."#;

/// Arguments of `benchseal merge`.
#[derive(Debug, clap::Args)]
#[command(after_help = MERGE_HELP)]
pub struct MergeArgs {
    /// The shard records (`benchseal run --shard I/N`), all N of them, in any order
    #[arg(required = true, value_name = "SHARD")]
    pub shards: Vec<PathBuf>,
    /// Where the merged record is written (atomically)
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,
    /// Whose signatures on the shard records are trusted; each part lists what it says of
    /// its shard's `.sig` (left out when the file does not exist)
    #[arg(long, value_name = "FILE", default_value = "allowed_signers")]
    pub allowed_signers: PathBuf,
    #[command(flatten)]
    pub sign: SignArgs,
}

pub fn execute(args: MergeArgs) -> Result<Outcome> {
    let key = args.sign.key()?;
    for shard in &args.shards {
        if same_file(shard, &args.output) {
            return Err(bad_input(format!(
                "{}: the output is one of the shards; write the merged record elsewhere",
                args.output.display()
            )));
        }
    }
    crate::sys::fs::check_output_file(&args.output)?;
    let signers = if args.allowed_signers.exists() {
        Some(crate::sys::sign::AllowedSigners::load(
            &args.allowed_signers,
        )?)
    } else {
        None
    };
    let mut inputs = Vec::new();
    for shard in &args.shards {
        let record = crate::store::load(shard, Seal::Required)?;
        let signature = match &signers {
            Some(signers) => Some(signers.check_file(shard)?.to_string()),
            None => None,
        };
        inputs.push(Input {
            file: shard.display().to_string(),
            record,
            signature,
        });
    }
    let mut merged = merge(inputs, std::env::args().collect()).map_err(bad_input)?;
    merged.seal()?;
    crate::store::save(&merged, &args.output)?;
    let cases: usize = merged.parts.iter().map(|p| p.cases).sum();
    crate::present::style::print_out(&format!(
        "merged {} shards of class {} ({cases} cases, commit {}) into {} (seal {})\n",
        merged.parts.len(),
        merged.env.machine_class,
        merged.artifact.git_commit.as_deref().unwrap_or("unknown"),
        args.output.display(),
        merged.seal.as_deref().unwrap_or_default()
    ));
    super::args::sign_files(key.as_ref(), &[args.output.as_path()])?;
    Ok(Outcome::Success)
}

/// Whether two paths name one file (the output need not exist yet).
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
