//! What can be wrong with an SLO file or its use on a run.

use thiserror::Error;

/// Schema name and version of SLO files.
pub const SLO_SCHEMA: &str = "benchseal.slo/1";

/// An error in an SLO file or in applying it to a run.
#[derive(Debug, Error, PartialEq)]
pub enum SloError {
    /// The file is not valid TOML, or a field is missing or has the wrong type.
    #[error("{file}:{line}:{column}: {message}")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// A field's value is not acceptable.
    #[error("{file}:{line}:{column}: {context}field `{field}`: {message}")]
    Field {
        file: String,
        line: usize,
        column: usize,
        /// `objective `id`: ` or empty.
        context: String,
        field: String,
        message: String,
    },
    /// The objective cannot be applied to what the run recorded (e.g. a rate in GiB/s on a
    /// workload that counts files).
    #[error("objective `{objective}`: {message}")]
    Mismatch { objective: String, message: String },
}
