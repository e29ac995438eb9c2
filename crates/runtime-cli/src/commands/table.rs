//! Aligned text columns like Go's `text/tabwriter` as runc's `list` configures it.
//!
//! Pure formatting, in the CLI process. runc uses minwidth 12, padding 3, blank padding:
//! every column but the last is as wide as its widest cell plus 3, and at least 12.

/// Minimum column width (tabwriter `minwidth`).
const MIN_WIDTH: usize = 12;
/// Blanks added after the widest cell of a column (tabwriter `padding`).
const PADDING: usize = 3;

/// Render rows (the first is normally the header) as newline-terminated aligned lines.
pub fn format_table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            let widest = rows
                .iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0);
            (widest + PADDING).max(MIN_WIDTH)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        for (c, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if c + 1 < row.len() {
                let pad = widths[c] - cell.chars().count();
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn matches_runc_list() {
        let rows = [
            row(&["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]),
            row(&[
                "rbtest",
                "6596",
                "created",
                "/tmp/rb",
                "2026-11-28T01:54:52.04364519Z",
                "root",
            ]),
        ];
        assert_eq!(
            format_table(&rows),
            "ID          PID         STATUS      BUNDLE      CREATED                         OWNER\n\
             rbtest      6596        created     /tmp/rb     2026-11-28T01:54:52.04364519Z   root\n"
        );
    }

    #[test]
    fn header_only() {
        let rows = [row(&["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"])];
        assert_eq!(
            format_table(&rows),
            "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n"
        );
    }

    #[test]
    fn wide_cells_widen_their_column() {
        let rows = [row(&["A", "B"]), row(&["a-very-long-container-id", "x"])];
        let text = format_table(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0].find('B'), Some(24 + PADDING));
        assert_eq!(lines[1].find('x'), Some(24 + PADDING));
    }
}
