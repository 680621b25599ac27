//! All printing of the API commands goes through here: human-readable lines and aligned tables
//! by default, pretty JSON with `--json` (for scripts). Output goes to stdout through a locked
//! handle so a closed pipe surfaces as an `io::Error` (main turns `BrokenPipe` into exit 0);
//! diagnostics and progress bars go to stderr.

use std::io::{self, IsTerminal, Write};

use serde::Serialize;

/// Prints `value` as pretty JSON followed by a newline.
pub fn json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Prints a list: as JSON with `--json`, else as a table with `headers` and one row per item
/// built by `cells`.
pub fn list<T: Serialize>(
    json: bool,
    rows: &[T],
    headers: &[&str],
    cells: impl Fn(&T) -> Vec<String>,
) -> anyhow::Result<()> {
    if json {
        return self::json(rows);
    }
    let table_rows: Vec<Vec<String>> = rows.iter().map(cells).collect();
    table(headers, &table_rows)
}

/// Prints one line.
pub fn line(text: impl std::fmt::Display) -> anyhow::Result<()> {
    writeln!(io::stdout().lock(), "{text}")?;
    Ok(())
}

/// Prints an aligned table with a header row; `rows` may be empty ("(none)").
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    if rows.is_empty() {
        writeln!(out, "(none)")?;
        return Ok(());
    }
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let render = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(c);
                let pad = widths[i].saturating_sub(c.chars().count()) + 2;
                s.extend(std::iter::repeat_n(' ', pad));
            }
        }
        s
    };
    writeln!(out, "{}", render(headers.to_vec()))?;
    for row in rows {
        writeln!(out, "{}", render(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

/// Shortens user text for a table cell (one line, at most `max` characters).
pub fn cell(text: &str, max: usize) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= max {
        one_line
    } else {
        let mut s: String = one_line.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// Unix seconds as `YYYY-MM-DD HH:MM` UTC (0 → "-").
pub fn time(unix: i64) -> String {
    if unix <= 0 {
        return "-".into();
    }
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant), valid for the proleptic Gregorian calendar.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        secs / 3600,
        (secs % 3600) / 60
    )
}

/// True when progress bars may be drawn: stdout is a terminal and JSON was not asked for.
pub fn interactive(json: bool) -> bool {
    !json && io::stdout().is_terminal() && io::stderr().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_time_renders_as_utc_date() {
        assert_eq!(time(1_717_171_717), "2024-05-31 16:08");
        assert_eq!(time(0), "-");
    }

    #[test]
    fn long_cells_are_shortened_to_one_line() {
        assert_eq!(cell("a\nb", 10), "a b");
        assert_eq!(cell("abcdef", 4), "abc…");
    }
}
