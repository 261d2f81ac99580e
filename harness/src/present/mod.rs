//! Everything benchseal prints or renders as text: one number and unit formatter
//! ([`format`]), one table ([`table`]), the run summary, the comparison formats, the
//! environment views, the history and the sign-off report (Markdown, HTML, JSON); colour
//! and the terminal's width in one place ([`style`]).

pub mod compare;
pub mod env;
pub mod export;
pub mod flamegraph;
pub mod history;
pub mod report;
pub mod style;
pub mod summary;
pub mod table;
