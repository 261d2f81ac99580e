//! The machine: the clock, files written atomically, child processes and interrupts, the
//! environment's capture and pinning, git.

pub mod alloc;
pub mod clock;
pub mod env;
pub mod fs;
pub mod git;
pub mod process;
pub mod sign;
