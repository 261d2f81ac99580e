//! Colour and style on a terminal, decided once per process: `--color auto|always|never`,
//! `NO_COLOR`, `CLICOLOR_FORCE`, and whether each stream is a terminal. Nothing here ever
//! styles text bound for a file or a pipe unless `--color always` (or `CLICOLOR_FORCE`)
//! asks for it; with styling off every function returns its text unchanged.
//!
//! Styling is sparing: verdict words (red for what fails, green for what passes, yellow
//! for what is undecided), bold table headers, dim secondary notes.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use anstyle::{AnsiColor, Style};

/// When to colour (`--color`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ColorChoice {
    /// Colour a stream that is a terminal, unless `NO_COLOR` is set.
    #[default]
    Auto,
    /// Always colour, also into pipes and files.
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    pub const ALL: [ColorChoice; 3] = [ColorChoice::Auto, ColorChoice::Always, ColorChoice::Never];

    pub fn name(self) -> &'static str {
        match self {
            ColorChoice::Auto => "auto",
            ColorChoice::Always => "always",
            ColorChoice::Never => "never",
        }
    }

    pub fn help(self) -> &'static str {
        match self {
            ColorChoice::Auto => {
                "colour where the stream is a terminal and NO_COLOR is unset or empty \
                 (CLICOLOR_FORCE forces it)"
            }
            ColorChoice::Always => "colour also into pipes and files",
            ColorChoice::Never => "no colour",
        }
    }
}

/// The environment variables that bear on colour, as read from the process (or given by a
/// test).
#[derive(Clone, Debug, Default)]
pub struct ColorEnv {
    pub no_color: Option<String>,
    pub clicolor_force: Option<String>,
    pub term: Option<String>,
}

impl ColorEnv {
    pub fn from_process() -> Self {
        let var = |name| std::env::var(name).ok();
        ColorEnv {
            no_color: var("NO_COLOR"),
            clicolor_force: var("CLICOLOR_FORCE"),
            term: var("TERM"),
        }
    }
}

/// Whether a stream gets colour: `always` and `never` say so; `auto` colours a terminal,
/// except that a non-empty `NO_COLOR` turns colour off, a non-empty `CLICOLOR_FORCE` other
/// than `0` turns it on (also into a pipe), and `TERM=dumb` turns it off.
pub fn decide(choice: ColorChoice, is_terminal: bool, env: &ColorEnv) -> bool {
    let set = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty());
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto if set(&env.no_color) => false,
        ColorChoice::Auto
            if set(&env.clicolor_force) && env.clicolor_force.as_deref() != Some("0") =>
        {
            true
        }
        ColorChoice::Auto => is_terminal && env.term.as_deref() != Some("dumb"),
    }
}

static STDOUT_COLOR: AtomicBool = AtomicBool::new(false);
static STDERR_COLOR: AtomicBool = AtomicBool::new(false);
/// The terminal width tables fit on stdout; 0: none (not a terminal: no fitting).
static STDOUT_WIDTH: AtomicUsize = AtomicUsize::new(0);

/// Decides colour for stdout and stderr and the width tables fit, once, from the command
/// line's choice and the process's streams and environment.
pub fn init(choice: ColorChoice) {
    let env = ColorEnv::from_process();
    let stdout = std::io::stdout();
    STDOUT_COLOR.store(
        decide(choice, stdout.is_terminal(), &env),
        Ordering::Relaxed,
    );
    STDERR_COLOR.store(
        decide(choice, std::io::stderr().is_terminal(), &env),
        Ordering::Relaxed,
    );
    let width = if stdout.is_terminal() {
        terminal_width(std::env::var("COLUMNS").ok().as_deref(), || {
            rustix::termios::tcgetwinsize(&stdout)
                .ok()
                .map(|size| usize::from(size.ws_col))
        })
    } else {
        None
    };
    STDOUT_WIDTH.store(width.unwrap_or(0), Ordering::Relaxed);
}

/// The width of a terminal: `COLUMNS` when it is a positive number, else what the
/// terminal says (a terminal that says 0 has no known width).
pub fn terminal_width(columns: Option<&str>, ask: impl FnOnce() -> Option<usize>) -> Option<usize> {
    columns
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|w| *w > 0)
        .or_else(|| ask().filter(|w| *w > 0))
}

/// Whether stderr is coloured (progress bars are drawn only where stderr is a terminal,
/// whatever the colour).
pub fn stderr_color() -> bool {
    STDERR_COLOR.load(Ordering::Relaxed)
}

/// Whether rendered text carries styles: when either stream is coloured. What goes to a
/// stream that is not is stripped by [`print_out`] and [`print_err`].
pub fn styled() -> bool {
    STDOUT_COLOR.load(Ordering::Relaxed) || STDERR_COLOR.load(Ordering::Relaxed)
}

/// The width tables on stdout fit, when stdout is a terminal.
pub fn table_width() -> Option<usize> {
    match STDOUT_WIDTH.load(Ordering::Relaxed) {
        0 => None,
        w => Some(w),
    }
}

/// What a piece of text means, which picks its style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Fails, regressed, broken, NO-GO: red.
    Bad,
    /// Passes, improved, GO: green.
    Good,
    /// Inconclusive, skipped, a warning: yellow.
    Doubt,
    /// A header: bold.
    Strong,
    /// A secondary note: dim.
    Dim,
}

impl Tone {
    fn style(self) -> Style {
        match self {
            Tone::Bad => AnsiColor::Red.on_default().bold(),
            Tone::Good => AnsiColor::Green.on_default(),
            Tone::Doubt => AnsiColor::Yellow.on_default(),
            Tone::Strong => Style::new().bold(),
            Tone::Dim => Style::new().dimmed(),
        }
    }
}

/// The tone of a verdict or status word (case as written: `GO`, `NO-GO`, `regressed`,
/// `BROKEN`, ...), if it is one.
pub fn tone_of_word(word: &str) -> Option<Tone> {
    let word = word.trim_matches(|c: char| matches!(c, ':' | ',' | ';' | '(' | ')'));
    match word {
        "regressed" | "regression" | "fail" | "failed" | "FAIL" | "NO-GO" | "BROKEN"
        | "invalid" | "OUTSIDE" | "crashed" | "mismatch" => Some(Tone::Bad),
        "improved" | "pass" | "passed" | "PASS" | "GO" | "ok" | "OK" | "reproduced" => {
            Some(Tone::Good)
        }
        "inconclusive" | "skipped" | "warning" | "unchecked" | "WARN" | "CONDITIONAL" => {
            Some(Tone::Doubt)
        }
        _ => None,
    }
}

/// `text` in the style of `tone` when `on`, else unchanged.
pub fn paint_if(on: bool, text: &str, tone: Tone) -> String {
    if !on || text.is_empty() {
        return text.to_string();
    }
    let style = tone.style();
    format!("{style}{text}{style:#}")
}

/// `text` in the style of `tone`, when styles are on.
pub fn paint(text: &str, tone: Tone) -> String {
    paint_if(styled(), text, tone)
}

/// `text` with its first word painted by the verdict it names (`regressed (−3.1 %)`), when
/// styles are on; text that starts with no verdict word is unchanged.
pub fn verdict_if(on: bool, text: &str) -> String {
    let lead = text.len() - text.trim_start().len();
    let end = text[lead..]
        .find(char::is_whitespace)
        .map_or(text.len(), |i| lead + i);
    match tone_of_word(&text[lead..end]) {
        Some(tone) if on => format!(
            "{}{}{}",
            &text[..lead],
            paint_if(true, &text[lead..end], tone),
            &text[end..]
        ),
        _ => text.to_string(),
    }
}

/// [`verdict_if`] when styles are on.
pub fn verdict(text: &str) -> String {
    verdict_if(styled(), text)
}

/// `text` without its escape sequences.
pub fn strip(text: &str) -> String {
    anstream::adapter::strip_str(text).to_string()
}

/// How many columns `text` takes on a terminal: its characters, escape sequences not
/// counted.
pub fn text_width(text: &str) -> usize {
    if text.contains('\u{1b}') {
        strip(text).chars().count()
    } else {
        text.chars().count()
    }
}

/// Prints `text` on stdout, its styles stripped unless stdout is coloured.
pub fn print_out(text: &str) {
    write_to(
        &mut std::io::stdout().lock(),
        text,
        STDOUT_COLOR.load(Ordering::Relaxed),
    );
}

/// Prints `text` on stderr, its styles stripped unless stderr is coloured.
pub fn print_err(text: &str) {
    write_to(&mut std::io::stderr().lock(), text, stderr_color());
}

fn write_to(out: &mut impl Write, text: &str, color: bool) {
    let text = if color || !text.contains('\u{1b}') {
        std::borrow::Cow::Borrowed(text)
    } else {
        std::borrow::Cow::Owned(strip(text))
    };
    // Like print!: a closed pipe is not worth a panic here; the exit code says the rest.
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(no_color: Option<&str>, force: Option<&str>, term: Option<&str>) -> ColorEnv {
        ColorEnv {
            no_color: no_color.map(str::to_string),
            clicolor_force: force.map(str::to_string),
            term: term.map(str::to_string),
        }
    }

    #[test]
    fn auto_colours_a_terminal_unless_no_color_says_otherwise() {
        use ColorChoice::*;
        let plain = env(None, None, Some("xterm-256color"));
        assert!(decide(Auto, true, &plain));
        assert!(!decide(Auto, false, &plain));
        assert!(!decide(Auto, true, &env(Some("1"), None, None)));
        // An empty NO_COLOR is as if unset.
        assert!(decide(Auto, true, &env(Some(""), None, None)));
        assert!(decide(Auto, false, &env(None, Some("1"), None)));
        assert!(!decide(Auto, false, &env(None, Some("0"), None)));
        assert!(!decide(Auto, true, &env(Some("1"), Some("1"), None)));
        assert!(!decide(Auto, true, &env(None, None, Some("dumb"))));
        assert!(decide(Always, false, &env(Some("1"), None, Some("dumb"))));
        assert!(!decide(Never, true, &env(None, Some("1"), None)));
    }

    #[test]
    fn columns_overrides_the_terminal_width() {
        assert_eq!(terminal_width(Some("100"), || Some(80)), Some(100));
        assert_eq!(terminal_width(Some("x"), || Some(80)), Some(80));
        assert_eq!(terminal_width(Some("0"), || Some(0)), None);
        assert_eq!(terminal_width(None, || None), None);
    }

    #[test]
    fn verdict_words_are_painted_and_widths_ignore_escapes() {
        let painted = verdict_if(true, "regressed (warning)");
        assert_eq!(painted, "\u{1b}[1m\u{1b}[31mregressed\u{1b}[0m (warning)");
        assert_eq!(text_width(&painted), "regressed (warning)".len());
        assert_eq!(strip(&painted), "regressed (warning)");
        assert_eq!(verdict_if(false, "regressed"), "regressed");
        assert_eq!(verdict_if(true, "codec/x"), "codec/x");
        assert_eq!(verdict_if(true, ""), "");
        assert_eq!(tone_of_word("NO-GO"), Some(Tone::Bad));
        assert_eq!(tone_of_word("GO"), Some(Tone::Good));
        assert_eq!(tone_of_word("inconclusive,"), Some(Tone::Doubt));
        assert_eq!(paint_if(false, "x", Tone::Strong), "x");
    }

    #[test]
    fn a_stream_without_colour_gets_plain_text() {
        let mut out = Vec::new();
        write_to(&mut out, &paint_if(true, "GO", Tone::Good), false);
        assert_eq!(out, b"GO");
        let mut out = Vec::new();
        write_to(&mut out, &paint_if(true, "GO", Tone::Good), true);
        assert_eq!(String::from_utf8(out).unwrap(), "\u{1b}[32mGO\u{1b}[0m");
    }
}
