//! Where the pipeline says what it is doing.

/// Where the pipeline says what it is doing, one line at a time (the command line prints
/// them on stderr; tests collect them).
///
/// A phase of counted items (the digest pass, an engine's cases) is also announced with
/// [`Progress::phase_start`], each item with [`Progress::advance`] and its end with
/// [`Progress::phase_end`], so that a terminal can draw a bar; by default an item is the
/// line `<phase> [<done>/<total>] <item>` and the start and end say nothing.
pub trait Progress {
    fn line(&self, text: &str);

    /// A phase of `total` items begins (`digest`, `wall-e1`, `instr`).
    fn phase_start(&self, phase: &str, total: usize) {
        let _ = (phase, total);
    }

    /// The `done`-th of the phase's `total` items is finished: `item`.
    fn advance(&self, phase: &str, done: usize, total: usize, item: &str) {
        self.line(&format!("{phase} [{done}/{total}] {item}"));
    }

    /// The phase begun last is over (finished, interrupted or failed).
    fn phase_end(&self) {}
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    struct Lines(RefCell<Vec<String>>);

    impl Progress for Lines {
        fn line(&self, text: &str) {
            self.0.borrow_mut().push(text.to_string());
        }
    }

    #[test]
    fn a_phase_is_plain_lines_by_default() {
        let lines = Lines(RefCell::new(Vec::new()));
        lines.phase_start("digest", 2);
        lines.advance("digest", 1, 2, "codec/a");
        lines.line("a note");
        lines.advance("digest", 2, 2, "codec/b");
        lines.phase_end();
        assert_eq!(
            lines.0.into_inner(),
            ["digest [1/2] codec/a", "a note", "digest [2/2] codec/b"]
        );
    }
}
