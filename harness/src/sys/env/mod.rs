//! Reading and changing the machine: what a run's environment is ([`capture`] through
//! [`sources`]) and pinning it for a run ([`pin`](mod@pin)).

pub mod capture;
pub mod pin;
pub mod sources;

pub use pin::{PinGuard, pin};
pub use sources::{CommandRunner, EnvSources, StubCommands, SystemCommands, SystemRoot};

use crate::model::env::EnvSnapshot;

/// Captures the environment of this process and machine. Never fails: what cannot be
/// read is recorded as absent, with the reason.
pub fn snapshot() -> EnvSnapshot {
    capture::capture(&EnvSources::system(&SystemCommands::default()))
}
