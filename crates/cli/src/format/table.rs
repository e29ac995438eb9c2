//! Column alignment like Go's text/tabwriter with Docker's settings: cells end at `\t`,
//! each column is as wide as its widest cell plus padding (at least `min_width`), and the
//! last cell of a line is never padded.
//!
//! Runs in the CLI process; pure code. Widths count characters, not bytes.

/// Aligns tab-separated `text` (lines separated by `\n`).
pub fn align(text: &str, min_width: usize, padding: usize) -> String {
    let lines: Vec<Vec<&str>> = text.split('\n').map(|l| l.split('\t').collect()).collect();
    let mut widths: Vec<usize> = Vec::new();
    for cells in &lines {
        for (i, c) in cells.iter().enumerate().take(cells.len().saturating_sub(1)) {
            let w = (c.chars().count() + padding).max(min_width);
            if widths.len() <= i {
                widths.push(w);
            } else if widths[i] < w {
                widths[i] = w;
            }
        }
    }
    let mut out = String::with_capacity(text.len() * 2);
    for (n, cells) in lines.iter().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let last = cells.len() - 1;
        for (i, c) in cells.iter().enumerate() {
            out.push_str(c);
            if i < last {
                let pad = widths[i].saturating_sub(c.chars().count());
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
    }
    out
}

/// Docker's table writer: `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`.
pub fn docker_table(text: &str) -> String {
    align(text, 10, 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns() {
        let t = "CONTAINER ID\tIMAGE\tNAMES\nabc\tbusybox:latest\tweb";
        assert_eq!(
            docker_table(t),
            "CONTAINER ID   IMAGE            NAMES\nabc            busybox:latest   web"
        );
    }

    #[test]
    fn min_width_and_unicode() {
        assert_eq!(align("a\tb\nxé\tc", 4, 1), "a   b\nxé  c");
        assert_eq!(align("only", 10, 3), "only");
    }
}
