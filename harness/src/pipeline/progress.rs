//! Where the pipeline says what it is doing.

/// Where the pipeline says what it is doing, one line at a time (the command line prints
/// them on stderr; tests collect them).
pub trait Progress {
    fn line(&self, text: &str);
}
