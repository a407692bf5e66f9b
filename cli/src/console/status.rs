//! The table `bulkhead status` prints: one partition a line, the name first so that
//! `awk '{print $1}'` and friends work, columns at least two spaces apart.

use std::fmt::Write;

use bulkhead_netconsole::{PartitionState, PartitionStatus};

use super::render::printable;

/// The column headings.
const HEADINGS: [&str; 4] = ["PARTITION", "STATE", "RESTARTS", "EXITS"];
/// Space between columns.
const GAP: &str = "  ";

/// A state as the table shows it.
pub fn state_name(state: PartitionState) -> &'static str {
    match state {
        PartitionState::Starting => "starting",
        PartitionState::Running => "running",
        PartitionState::Halted => "halted",
        PartitionState::Crashed => "crashed",
    }
}

/// The table, headings first, with a line end after every line. Names and states are
/// left-aligned, counts right-aligned.
pub fn table(partitions: &[PartitionStatus]) -> String {
    let rows: Vec<[String; 4]> = partitions
        .iter()
        .map(|p| {
            [
                printable(&p.name),
                state_name(p.state).to_string(),
                p.restarts.to_string(),
                p.exits.to_string(),
            ]
        })
        .collect();
    let mut widths = HEADINGS.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: [&str; 4]| {
        let [name, state, restarts, exits] = cells;
        let [w0, w1, w2, w3] = widths;
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "{name:<w0$}{GAP}{state:<w1$}{GAP}{restarts:>w2$}{GAP}{exits:>w3$}"
        );
    };
    line(HEADINGS);
    for row in &rows {
        line(row.each_ref().map(String::as_str));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(name: &str, state: PartitionState, restarts: u64, exits: u64) -> PartitionStatus {
        PartitionStatus {
            name: name.into(),
            state,
            restarts,
            exits,
        }
    }

    /// The layout: headings, then each partition with its name as the first word and
    /// its state in lower case, numbers right-aligned under their headings.
    #[test]
    fn layout() {
        let text = table(&[
            status("web", PartitionState::Running, 0, 123_456_789),
            status("a-long-partition-name", PartitionState::Crashed, 12, 7),
        ]);
        assert_eq!(
            text,
            "\
PARTITION              STATE    RESTARTS      EXITS
web                    running         0  123456789
a-long-partition-name  crashed        12          7
"
        );
    }

    /// Every state has its lower-case word, and each row splits into four fields.
    #[test]
    fn states_and_fields() {
        let list = [
            PartitionState::Starting,
            PartitionState::Running,
            PartitionState::Halted,
            PartitionState::Crashed,
        ]
        .map(|s| status("p", s, 1, 2));
        let text = table(&list);
        let rows: Vec<Vec<&str>> = text
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().collect())
            .collect();
        let states: Vec<&str> = rows.iter().map(|r| r[1]).collect();
        assert_eq!(states, ["starting", "running", "halted", "crashed"]);
        assert!(rows.iter().all(|r| r.len() == 4 && r[0] == "p"));
    }

    /// No partitions: the headings alone.
    #[test]
    fn empty() {
        assert_eq!(table(&[]), "PARTITION  STATE  RESTARTS  EXITS\n");
    }
}
