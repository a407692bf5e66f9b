//! The console's own messages, which go to standard error so that standard output
//! stays exactly the partition's bytes.
//!
//! Every line starts `bulkhead: `. In raw mode the terminal no longer turns `\n` into
//! `\r\n`, so lines end in `\r\n` there; and since the partition's output and the
//! notices share the screen, a notice that would land mid-line starts a new one.
//! Text from the service (reasons, crash reports, the console tail) is shown with
//! control characters made visible: it must not be able to drive the terminal from
//! the side channel.

use bulkhead_netconsole::{CrashReport, Role};

/// What every notice line starts with.
pub const PREFIX: &str = "bulkhead: ";

/// Formats notice lines for the screen the partition's output is also on.
#[derive(Debug)]
pub struct Notices {
    raw: bool,
    mid_line: bool,
}

impl Notices {
    /// For a terminal in raw mode (`raw`) or anything else.
    pub fn new(raw: bool) -> Self {
        Self {
            raw,
            mid_line: false,
        }
    }

    /// The line end in use.
    pub fn eol(&self) -> &'static str {
        if self.raw { "\r\n" } else { "\n" }
    }

    /// Partition output went to the screen: a notice after it may need a new line.
    pub fn saw_output(&mut self, bytes: &[u8]) {
        if let Some(&last) = bytes.last() {
            self.mid_line = !matches!(last, b'\n' | b'\r');
        }
    }

    /// The text to write for these lines.
    pub fn lines<S: AsRef<str>>(&mut self, lines: &[S]) -> String {
        let eol = self.eol();
        let mut out = String::new();
        if self.raw && self.mid_line {
            out.push_str(eol);
        }
        self.mid_line = false;
        for line in lines {
            out.push_str(PREFIX);
            out.push_str(line.as_ref());
            out.push_str(eol);
        }
        out
    }

    /// A block of help text written with `\r\n`, in this screen's line ends.
    pub fn help(&mut self, text: &str) -> String {
        let mut out = self.lines::<&str>(&[]);
        out.push_str(&text.replace("\r\n", self.eol()));
        out
    }
}

/// The notice for a new session. `again`: the console was attached before and lost
/// the connection; `resumed`: output continues exactly where it stopped.
pub fn attached(partition: &str, session: u32, role: Role, again: bool, resumed: bool) -> String {
    let role = match role {
        Role::Writer => "writer",
        Role::Viewer => "viewer",
        Role::Control => "control",
    };
    let partition = printable(partition);
    match (again, resumed) {
        (false, _) => format!("attached to partition {partition} (session {session:08x}, {role})"),
        (true, true) => {
            format!("reattached to partition {partition} (session {session:08x}, {role})")
        }
        (true, false) => format!(
            "reattached to partition {partition} (session {session:08x}, {role}); output could \
             not resume where it stopped and continues from the service's history"
        ),
    }
}

/// The notice for output the service no longer had.
pub fn gap(count: u64) -> String {
    if count == 1 {
        String::from("gap: 1 byte of output was lost")
    } else {
        format!("gap: {count} bytes of output were lost")
    }
}

/// A crash report as notice lines: the headline, then each field indented.
pub fn crash(report: &CrashReport) -> Vec<String> {
    let mut lines = vec![format!(
        "crash report: partition {}",
        printable(&report.partition)
    )];
    for (label, value) in [
        ("reason", &report.reason),
        ("action", &report.action),
        ("exit", &report.exit),
    ] {
        lines.push(format!("  {label}: {}", printable(value)));
    }
    block(&mut lines, "registers", &report.registers);
    block(
        &mut lines,
        "last console output",
        &String::from_utf8_lossy(&report.console_tail),
    );
    lines
}

/// A labelled multi-line field, one notice line per line of text.
fn block(lines: &mut Vec<String>, label: &str, text: &str) {
    let text = text.trim_end_matches(['\r', '\n']);
    if text.is_empty() {
        lines.push(format!("  {label}: (none)"));
        return;
    }
    lines.push(format!("  {label}:"));
    for line in text.split('\n') {
        lines.push(format!("    {}", printable(line.trim_end_matches('\r'))));
    }
}

/// `text` with control characters shown in caret notation (`^[` for ESC) and other
/// non-printing ones (C1 controls) escaped, so that it cannot move the cursor or
/// change the terminal's state. Tabs stay.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\t' => out.push(c),
            '\0'..='\x1f' => {
                out.push('^');
                out.push(char::from(c as u8 + 0x40));
            }
            '\x7f' => out.push_str("^?"),
            c if c.is_control() => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Outside raw mode lines end in `\n` and never get an extra line start.
    #[test]
    fn cooked_lines() {
        let mut notices = Notices::new(false);
        notices.saw_output(b"login: ");
        assert_eq!(notices.lines(&["gap"]), "bulkhead: gap\n");
    }

    /// In raw mode lines end in `\r\n`, and a notice after a partial line of output
    /// starts on a line of its own.
    #[test]
    fn raw_lines_start_on_a_fresh_line() {
        let mut notices = Notices::new(true);
        notices.saw_output(b"login: ");
        assert_eq!(
            notices.lines(&["a", "b"]),
            "\r\nbulkhead: a\r\nbulkhead: b\r\n"
        );
        assert_eq!(notices.lines(&["c"]), "bulkhead: c\r\n");
        notices.saw_output(b"done\r\n");
        assert_eq!(notices.lines(&["d"]), "bulkhead: d\r\n");
        notices.saw_output(b"");
        assert_eq!(notices.lines(&["e"]), "bulkhead: e\r\n");
    }

    /// The escape help keeps its lines, in the screen's line ends.
    #[test]
    fn help_line_ends() {
        assert_eq!(Notices::new(false).help("a\r\nb\r\n"), "a\nb\n");
        assert_eq!(Notices::new(true).help("a\r\nb\r\n"), "a\r\nb\r\n");
    }

    /// First attach, a resumed reattach, and one that lost its place.
    #[test]
    fn attach_notices() {
        assert_eq!(
            attached("web", 0x2a, Role::Writer, false, false),
            "attached to partition web (session 0000002a, writer)"
        );
        assert_eq!(
            attached("web", 7, Role::Viewer, true, true),
            "reattached to partition web (session 00000007, viewer)"
        );
        assert!(attached("web", 7, Role::Viewer, true, false).contains("history"));
    }

    /// Gaps give the exact count, singular and plural.
    #[test]
    fn gap_notices() {
        assert_eq!(gap(1), "gap: 1 byte of output was lost");
        assert_eq!(gap(4096), "gap: 4096 bytes of output were lost");
    }

    /// A crash report: headline, fields, register lines and console tail lines, each
    /// its own notice line, the tail decoded lossily and its escapes defused.
    #[test]
    fn crash_report_lines() {
        let report = CrashReport {
            partition: String::from("web"),
            reason: String::from("triple fault"),
            registers: String::from("rip=ffffffff81000000\nrsp=0000000000001000\n"),
            exit: String::from("shutdown"),
            action: String::from("restarting (1 of 3)"),
            console_tail: b"Oops\r\n\x1b[31mpanic\xff\r\n".to_vec(),
        };
        assert_eq!(
            crash(&report),
            [
                "crash report: partition web",
                "  reason: triple fault",
                "  action: restarting (1 of 3)",
                "  exit: shutdown",
                "  registers:",
                "    rip=ffffffff81000000",
                "    rsp=0000000000001000",
                "  last console output:",
                "    Oops",
                "    ^[[31mpanic\u{fffd}",
            ]
        );
    }

    /// Empty fields say so rather than printing a bare label.
    #[test]
    fn crash_report_empty_fields() {
        let lines = crash(&CrashReport {
            partition: String::from("db"),
            ..CrashReport::default()
        });
        assert_eq!(lines[4], "  registers: (none)");
        assert_eq!(lines[5], "  last console output: (none)");
    }

    /// Control characters become visible; ordinary text and tabs are untouched.
    #[test]
    fn printable_defuses_controls() {
        assert_eq!(printable("a\tb"), "a\tb");
        assert_eq!(printable("\x1b]0;pwned\x07"), "^[]0;pwned^G");
        assert_eq!(printable("\x7f\u{9b}é"), "^?\\u{9b}é");
    }
}
