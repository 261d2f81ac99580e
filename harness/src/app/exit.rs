//! The one mapping from an error that ended a command to its exit code.

use crate::model::outcome::{BadInput, Irreproducible};

/// The exit code for an error that ended a command: 2 for bad input, 3 for broken
/// reproducibility, 1 otherwise (an unexpected failure such as an I/O error mid-run).
pub fn code_for_error(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.downcast_ref::<BadInput>().is_some()
            || cause
                .downcast_ref::<benchseal_kernel_cli::BadInput>()
                .is_some()
        {
            return 2;
        }
        if cause.downcast_ref::<Irreproducible>().is_some() {
            return 3;
        }
        if cause.downcast_ref::<clap::Error>().is_some() {
            return 2;
        }
    }
    1
}
