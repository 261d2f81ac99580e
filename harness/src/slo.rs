//! Filled in by the sign-off work.
