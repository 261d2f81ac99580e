//! Child processes: running one with its output streamed ([`child`]), Ctrl-C
//! ([`interrupt`]), CPU time used ([`cpu`]).

pub mod child;
pub mod cpu;
pub mod interrupt;
