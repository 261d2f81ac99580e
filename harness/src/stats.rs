//! Filled in by the baselines work.
