//! SIGINT / SIGTERM during a run: stop between steps, keep what was measured.
//!
//! The first signal only raises a flag; the run checks it between steps, stops the bench
//! process it is waiting on, writes a valid partial record and returns, so the pinning
//! guard resets the machine on the way out. A second SIGINT or SIGTERM ends the process
//! at once (exit status 1) for a user who does not want to wait.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use signal_hook::consts::{SIGINT, SIGTERM};

/// A flag raised by SIGINT or SIGTERM.
#[derive(Clone, Debug, Default)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    /// Installs the handlers for this process.
    pub fn install() -> Result<Self> {
        let flag = Arc::new(AtomicBool::new(false));
        for signal in [SIGINT, SIGTERM] {
            // Registered first, so it sees the flag as it was before this signal.
            signal_hook::flag::register_conditional_shutdown(signal, 1, Arc::clone(&flag))
                .context("installing the second-signal handler")?;
            signal_hook::flag::register(signal, Arc::clone(&flag))
                .context("installing the signal handler")?;
        }
        Ok(Interrupt(flag))
    }

    /// A flag no signal raises (tests, library callers).
    pub fn never() -> Self {
        Self::default()
    }

    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Raises the flag by hand.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}
