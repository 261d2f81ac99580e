//! The one table: aligned plain text for terminals (with or without a header), or
//! Markdown.
//!
//! On a terminal ([`super::style`] decides) the header is bold, verdict and status cells
//! are coloured, and a table wider than the terminal is fitted to it by eliding the middle
//! of its widest cells (`codec/display/cp0…50/large`), text columns first. Widths count
//! characters, never escape codes. Into a pipe or a file the rows are whole and plain.

use super::style::{self, Tone};

/// How a column's cells line up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A table: a header row, then rows of cells; widths follow the widest cell.
#[derive(Clone, Debug)]
pub struct Table {
    columns: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(columns: &[(&str, Align)]) -> Self {
        Table {
            columns: columns.iter().map(|(h, a)| (h.to_string(), *a)).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; missing cells are blank, extra cells are dropped.
    pub fn row(&mut self, cells: Vec<String>) {
        let mut cells = cells;
        cells.resize(self.columns.len(), String::new());
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Left-aligned columns under `headers`, holding `rows`.
    pub fn left(headers: &[&str], rows: &[Vec<String>]) -> Self {
        let columns: Vec<(&str, Align)> = headers.iter().map(|h| (*h, Align::Left)).collect();
        let mut table = Table::new(&columns);
        for row in rows {
            table.row(row.clone());
        }
        table
    }

    /// Rows without a header, left-aligned, as many columns as the longest row.
    pub fn rows_only(rows: &[Vec<String>]) -> String {
        let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
        let table = Table::left(&vec![""; columns], rows);
        table.lines(false, style::table_width(), false)
    }

    /// The table as Markdown: a header row, the separator, the rows; `|` in a cell is
    /// escaped and line breaks become spaces.
    pub fn render_markdown(&self) -> String {
        let header: Vec<&str> = self.columns.iter().map(|(h, _)| h.as_str()).collect();
        let mut out = format!(
            "| {} |\n|{}\n",
            header.join(" | "),
            "---|".repeat(header.len())
        );
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(|c| markdown_cell(c)).collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        out
    }

    /// The table as text: header, a rule, the rows; two spaces between columns, no
    /// trailing spaces. Fitted to the terminal and styled when stdout is one.
    pub fn render(&self) -> String {
        self.render_within(style::table_width(), style::styled())
    }

    /// [`Table::render`] within `width` columns (`None`: as wide as the cells), styled
    /// when `styled`.
    pub fn render_within(&self, width: Option<usize>, styled: bool) -> String {
        self.lines(true, width, styled)
    }

    fn lines(&self, with_header: bool, width: Option<usize>, styled: bool) -> String {
        let natural: Vec<usize> = (0..self.columns.len())
            .map(|i| {
                self.rows
                    .iter()
                    .map(|r| style::text_width(&r[i]))
                    .chain([if with_header {
                        style::text_width(&self.columns[i].0)
                    } else {
                        0
                    }])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        // Right-aligned columns hold numbers, and so do columns whose every cell reads as
        // one (`1.23 ms`, `+4.5%`, `[-1%, +2%]`, `-`): those keep their digits longest.
        let numeric: Vec<bool> = (0..self.columns.len())
            .map(|i| {
                self.columns[i].1 == Align::Right
                    || self.rows.iter().all(|r| {
                        let cell = style::strip(&r[i]);
                        cell.is_empty()
                            || cell
                                .chars()
                                .next()
                                .is_some_and(|c| c.is_ascii_digit() || "+-[<>~".contains(c))
                    })
            })
            .collect();
        let widths = match width {
            Some(width) => fit_widths(&natural, &numeric, width),
            None => natural,
        };
        // Verdicts and statuses are coloured in the columns that hold them.
        let tones: Vec<bool> = self
            .columns
            .iter()
            .map(|(h, _)| styled && VERDICT_COLUMNS.contains(&h.as_str()))
            .collect();
        let header: Vec<String> = self.columns.iter().map(|(h, _)| h.clone()).collect();
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        let mut out = String::new();
        let head = if with_header {
            vec![(&header, Some(Tone::Strong)), (&rule, None)]
        } else {
            Vec::new()
        };
        let body = self.rows.iter().map(|r| (r, None));
        for (cells, tone) in head.into_iter().chain(body) {
            let mut line = String::new();
            for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
                // The first column names things (ids): its middle gives way; elsewhere
                // the end does, so a verdict or status keeps its leading word.
                let cell = if i == 0 {
                    elide(cell, *width)
                } else {
                    elide_end(&style::strip(cell), *width)
                };
                let pad = " ".repeat(width.saturating_sub(style::text_width(&cell)));
                let cell = match tone {
                    Some(tone) => style::paint_if(styled, &cell, tone),
                    None if tones[i] => style::verdict_if(true, &cell),
                    None => cell,
                };
                if i > 0 {
                    line.push_str("  ");
                }
                match self.columns[i].1 {
                    Align::Left => line.push_str(&format!("{cell}{pad}")),
                    Align::Right => line.push_str(&format!("{pad}{cell}")),
                }
            }
            let line = line.trim_end();
            match width {
                // Narrower than one character a column and the gaps: cut, plain.
                Some(width) if style::text_width(line) > width => {
                    out.push_str(&elide_end(&style::strip(line), width));
                }
                _ => out.push_str(line),
            }
            out.push('\n');
        }
        out
    }
}

/// The columns whose cells start with a verdict or status word, coloured on a terminal.
const VERDICT_COLUMNS: [&str; 4] = ["verdict", "status", "result", "decision"];

/// The narrowest a text (left-aligned) column is made before numbers give way.
const ELIDE_MIN: usize = 8;

/// The narrowest the first column (the ids) is made before numbers give way: enough for
/// an id elided in its middle to stay recognisable (`codec/display/c…10x50/large`).
const ID_MIN: usize = 28;

/// The narrowest other text columns are made before the ids give way: a verdict word
/// (`inconclusive`) stays whole.
const WORD_MIN: usize = 12;

/// Column widths that fit `width` (two spaces between columns), from the widths the
/// cells want and which columns hold numbers: a last text column (notes) gives way first,
/// down to [`ELIDE_MIN`]; then the other text columns after the first, widest first, down
/// to [`WORD_MIN`]; then the first column (the ids) down to [`ID_MIN`]; then every text
/// column down to [`ELIDE_MIN`]; then the widest of any column down to one. Where even
/// that is too wide the widths stay at their least.
pub fn fit_widths(natural: &[usize], numeric: &[bool], width: usize) -> Vec<usize> {
    let mut widths = natural.to_vec();
    let total = |w: &[usize]| w.iter().sum::<usize>() + 2 * w.len().saturating_sub(1);
    let last = widths.len().saturating_sub(1);
    let text = |i: usize| !numeric[i];
    let stages: [(usize, &dyn Fn(usize) -> bool); 5] = [
        (ELIDE_MIN, &|i| i == last && text(i)),
        (WORD_MIN, &|i| i > 0 && text(i)),
        (ID_MIN, &|i| i == 0),
        (ELIDE_MIN, &text),
        (1, &|_| true),
    ];
    for (floor, may_shrink) in stages {
        while total(&widths) > width {
            let widest = (0..widths.len())
                .filter(|&i| may_shrink(i) && widths[i] > floor)
                .max_by_key(|&i| (widths[i], text(i)));
            match widest {
                Some(i) => widths[i] -= 1,
                None => break,
            }
        }
    }
    widths
}

/// `text` in at most `width` characters: whole when it fits, else its start and end
/// around `…` (an id keeps what tells it apart: `codec/display/cp0…50/large`).
pub fn elide(text: &str, width: usize) -> String {
    if style::text_width(text) <= width {
        return text.to_string();
    }
    let chars: Vec<char> = style::strip(text).chars().collect();
    let kept = width.saturating_sub(1);
    if width == 0 {
        return String::new();
    }
    let tail = kept / 2;
    let head = kept - tail;
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// `text` in at most `width` characters, cut at the end with `…`.
pub fn elide_end(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    if width > 0 {
        out.push('…');
    }
    out
}

/// Text made safe for one Markdown table cell (or list item): `|` escaped, line breaks
/// flattened.
pub fn markdown_cell(cell: &str) -> String {
    style::strip(cell).replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_to_the_widest_cell() {
        let mut t = Table::new(&[("name", Align::Left), ("value", Align::Right)]);
        t.row(vec!["a".into(), "1".into()]);
        t.row(vec!["longer".into(), "12,345".into()]);
        t.row(vec!["µ".into()]);
        assert_eq!(
            t.render(),
            "name     value\n------  ------\na            1\nlonger  12,345\nµ\n"
        );
    }

    fn wide() -> Table {
        let mut t = Table::new(&[
            ("benchmark", Align::Left),
            ("metric", Align::Left),
            ("old", Align::Right),
            ("new", Align::Right),
            ("verdict", Align::Left),
            ("note", Align::Left),
        ]);
        t.row(vec![
            "codec/display/cp037-fixed-record-50/large".into(),
            "wall".into(),
            "1.234 ms".into(),
            "1.301 ms".into(),
            "regressed (paired same session, 30 pairs)".into(),
            "a long note about what else was seen in this comparison".into(),
        ]);
        t.row(vec![
            "sync/plan/small".into(),
            "instr".into(),
            "12,345".into(),
            "12,300".into(),
            "improved".into(),
            String::new(),
        ]);
        t
    }

    #[test]
    fn a_table_fits_any_width_and_elides_the_middle_of_long_ids() {
        let t = wide();
        let full = t.render_within(None, false);
        assert_eq!(full, t.render_within(Some(10_000), false));
        let natural = full.lines().map(|l| l.chars().count()).max().unwrap();
        for width in 1..=natural + 2 {
            let text = t.render_within(Some(width), false);
            assert_eq!(text.lines().count(), 4, "width {width}");
            for line in text.lines() {
                assert!(line.chars().count() <= width, "width {width}: {line:?}");
            }
        }
        let at_80 = t.render_within(Some(80), false);
        let ids: Vec<&str> = at_80
            .lines()
            .skip(2)
            .map(|l| l.split("  ").next().unwrap())
            .collect();
        assert!(
            ids[0].starts_with("codec/dis") && ids[0].ends_with("/large"),
            "{at_80}"
        );
        assert!(ids[0].contains('…'), "{at_80}");
        // A verdict keeps its word whole, the ids keep both ends.
        assert!(at_80.contains("regressed (…"), "{at_80}");
        // Numbers keep their digits while text columns can still give way.
        assert!(
            at_80.contains("1.234 ms") && at_80.contains("12,345"),
            "{at_80}"
        );
    }

    #[test]
    fn styling_does_not_change_what_fits() {
        let t = wide();
        for width in [40, 80, 120, 400] {
            let plain = t.render_within(Some(width), false);
            let styled = t.render_within(Some(width), true);
            assert_ne!(plain, styled);
            assert_eq!(style::strip(&styled), plain);
            for line in styled.lines() {
                assert!(style::text_width(line) <= width, "{line:?}");
            }
        }
    }

    #[test]
    fn widths_give_way_text_first() {
        // Which columns hold numbers.
        const TEXT: bool = false;
        const NUMBER: bool = true;
        assert_eq!(
            fit_widths(&[30, 10, 8], &[TEXT, TEXT, NUMBER], 100),
            [30, 10, 8]
        );
        assert_eq!(
            fit_widths(&[30, 10, 8], &[TEXT, TEXT, NUMBER], 40),
            [18, 10, 8]
        );
        assert_eq!(
            fit_widths(&[30, 10, 8], &[TEXT, TEXT, NUMBER], 24),
            [7, 6, 7]
        );
        // A note at the end goes first, then the widest text column.
        let note = [TEXT, NUMBER, TEXT];
        assert_eq!(fit_widths(&[20, 6, 30], &note, 40), [20, 6, 10]);
        assert_eq!(fit_widths(&[20, 6, 30], &note, 30), [12, 6, 8]);
        assert_eq!(elide_end("regressed (paired)", 12), "regressed (…");
        assert_eq!(
            elide("codec/display/cp037-50/large", 20),
            "codec/disp…-50/large"
        );
        assert_eq!(elide("short", 5), "short");
        assert_eq!(elide("short", 1), "…");
        assert_eq!(elide("short", 0), "");
    }
}
