//! The one table: aligned plain text for terminals (with or without a header), or
//! Markdown.

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
        table.lines(false)
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
    /// trailing spaces.
    pub fn render(&self) -> String {
        self.lines(true)
    }

    fn lines(&self, with_header: bool) -> String {
        let widths: Vec<usize> = (0..self.columns.len())
            .map(|i| {
                self.rows
                    .iter()
                    .map(|r| r[i].chars().count())
                    .chain([self.columns[i].0.chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let header: Vec<String> = self.columns.iter().map(|(h, _)| h.clone()).collect();
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        let mut out = String::new();
        let head = if with_header {
            vec![&header, &rule]
        } else {
            Vec::new()
        };
        for cells in head.into_iter().chain(self.rows.iter()) {
            let line: Vec<String> = cells
                .iter()
                .zip(&widths)
                .zip(&self.columns)
                .map(|((cell, width), (_, align))| {
                    let pad = " ".repeat(width - cell.chars().count());
                    match align {
                        Align::Left => format!("{cell}{pad}"),
                        Align::Right => format!("{pad}{cell}"),
                    }
                })
                .collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
        }
        out
    }
}

/// Text made safe for one Markdown table cell (or list item): `|` escaped, line breaks
/// flattened.
pub fn markdown_cell(cell: &str) -> String {
    cell.replace('|', "\\|").replace('\n', " ")
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
}
