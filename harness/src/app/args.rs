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
