//! The process engine. Filled in by the sign-off work.
