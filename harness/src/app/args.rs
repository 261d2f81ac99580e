//! Argument types several commands share.

use std::path::PathBuf;

use crate::store::{BASELINES_DIR, RUNS_DIR, Stores};

/// Lets clap parse an enum of a lower layer by the names and help texts it gives
/// (`ALL`, `name`, `help`), so that clap stays in this layer.
macro_rules! value_enum {
    ($type:ty) => {
        impl clap::ValueEnum for $type {
            fn value_variants<'a>() -> &'a [Self] {
                &<$type>::ALL
            }

            fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
                let value = clap::builder::PossibleValue::new(self.name());
                Some(match self.help() {
                    "" => value,
                    help => value.help(help),
                })
            }
        }
    };
}
pub(crate) use value_enum;

/// Where runs and baselines are stored (`--runs-dir`, `--baselines-dir`).
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    /// Directory of run records.
    #[arg(long, default_value = RUNS_DIR)]
    pub runs_dir: PathBuf,
    /// Directory of baselines.
    #[arg(long, default_value = BASELINES_DIR)]
    pub baselines_dir: PathBuf,
}

impl From<&StoreArgs> for Stores {
    fn from(args: &StoreArgs) -> Stores {
        Stores {
            runs_dir: args.runs_dir.clone(),
            baselines_dir: args.baselines_dir.clone(),
        }
    }
}

/// The key that signs what a command writes (`--sign-key`, else `$BENCHSEAL_SIGN_KEY`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SignArgs {
    /// Sign what is written with this OpenSSH private key (ed25519, no passphrase): each
    /// file gets a detached SSHSIG `<file>.sig` in the `benchseal` namespace, checkable with
    /// `ssh-keygen -Y verify`. Default: $BENCHSEAL_SIGN_KEY; neither: nothing is signed
    #[arg(long, value_name = "KEY")]
    pub sign_key: Option<PathBuf>,
}

impl SignArgs {
    /// The key, loaded before any work is done (a bad key is exit 2 before measuring).
    pub fn key(&self) -> anyhow::Result<Option<crate::sys::sign::SigningKey>> {
        crate::sys::sign::SigningKey::from_flag_or_env(self.sign_key.as_deref())
    }
}

/// Signs each of `files` with `key` (if any) and says so on stderr.
pub fn sign_files(
    key: Option<&crate::sys::sign::SigningKey>,
    files: &[&std::path::Path],
) -> anyhow::Result<()> {
    let Some(key) = key else { return Ok(()) };
    for file in files {
        let sig = key.sign_file(file)?;
        eprintln!(
            "benchseal: signed {} ({})",
            sig.display(),
            key.fingerprint()
        );
    }
    Ok(())
}
