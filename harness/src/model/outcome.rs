//! Outcomes and exit codes, decided in one place (docs/architecture.md, "Verdicts and exit codes").
//!
//! 0: all good; 1: an SLO failed or a regression; 2: bad usage or bad input;
//! 3: reproducibility broken (digest mismatch, seal mismatch).

use thiserror::Error;

/// How a command that ran to completion ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Everything passed.
    Success,
    /// An objective failed or a regression was found.
    Failed,
    /// A digest or seal did not match: the numbers cannot be trusted.
    Irreproducible,
}

impl Outcome {
    pub fn code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::Failed => 1,
            Outcome::Irreproducible => 3,
        }
    }

    /// The worse of two outcomes (irreproducible > failed > success).
    pub fn worst(self, other: Outcome) -> Outcome {
        self.max(other)
    }
}

/// Bad usage or bad input: exit code 2. The message names what and where.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// Broken reproducibility detected while failing (e.g. a seal mismatch): exit code 3.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct Irreproducible(pub String);

/// Shorthand for returning a [`BadInput`] error.
pub fn bad_input(msg: impl Into<String>) -> anyhow::Error {
    BadInput(msg.into()).into()
}
