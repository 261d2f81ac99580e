//! The instr engine. Filled in by the run-pipeline work.
