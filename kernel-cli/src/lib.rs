//! The kernels' own command-line tools, on real files: `codec decode|generate` ([`codec`])
//! and `sync plan|tree` ([`sync`]). The `benchseal` binary mounts them as its `codec` and `sync`
//! subcommands.
//!
//! Each tool exposes its clap arguments and an `execute` that prints its report and returns
//! how it ended: [`ToolExit::Success`] (exit code 0) or [`ToolExit::Failed`] (exit code 1),
//! or an error. An error whose chain holds a [`BadInput`] is bad usage or bad input (exit
//! code 2, see [`is_bad_input`]); any other error is an unexpected failure such as an I/O
//! error mid-run (exit code 1).

use thiserror::Error;

pub mod codec;
pub mod sync;

/// How a tool that ran to completion ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToolExit {
    /// Everything was done: exit code 0.
    Success,
    /// The tool ran, but some of the work could not be done (it says which): exit code 1.
    Failed,
}

impl ToolExit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            ToolExit::Success => 0,
            ToolExit::Failed => 1,
        }
    }
}

/// Bad usage or bad input: exit code 2. The message names what and where.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// Shorthand for returning a [`BadInput`] error.
pub(crate) fn bad_input(msg: impl Into<String>) -> anyhow::Error {
    BadInput(msg.into()).into()
}

/// Whether `err` is bad usage or bad input (exit code 2) rather than an unexpected failure
/// (exit code 1).
pub fn is_bad_input(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| cause.is::<BadInput>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn bad_input_is_found_under_context() {
        let err = Err::<(), _>(bad_input("no such layout"))
            .context("decoding")
            .unwrap_err();
        assert!(is_bad_input(&err));
        assert!(!is_bad_input(&anyhow::anyhow!("disk full")));
        assert_eq!(ToolExit::Success.code(), 0);
        assert_eq!(ToolExit::Failed.code(), 1);
    }
}
