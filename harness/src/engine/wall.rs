//! The wall engine. Filled in by the run-pipeline work.
