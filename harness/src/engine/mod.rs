//! Measuring engines: wall (criterion), instr (gungraun), process (whole commands).

pub mod ingest;
pub mod instr;
pub mod process;
pub mod wall;
