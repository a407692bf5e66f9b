//! The harness's error, which carries everything needed to see why a wait failed.

use std::fmt;
use std::io;
use std::process::ExitStatus;
use std::time::Duration;

/// Why starting or waiting on a machine failed.
///
/// `Debug` prints the same text as `Display` (the serial log line by line, not as one
/// escaped string), because `.unwrap()` and `.expect()` in a test print `Debug`.
#[derive(thiserror::Error)]
pub enum HarnessError {
    /// An operating-system call failed: preparing the per-machine directory (QMP
    /// socket, iPXE script) or collecting QEMU's exit status.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        source: io::Error,
    },
    /// QEMU could not be started at all (not installed, not executable).
    #[error("cannot start QEMU: {source}\nQEMU command line:\n  {command}")]
    Spawn {
        /// The command line that was tried.
        command: String,
        /// The underlying error.
        source: io::Error,
    },
    /// A pattern given to [`Machine::expect_regex`](crate::Machine::expect_regex) does
    /// not compile.
    #[error("invalid regular expression /{pattern}/: {source}")]
    Regex {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        source: regex::Error,
    },
    /// The awaited event did not happen before the deadline.
    #[error("timed out after {timeout:?} waiting for {awaited}{detail}\n{report}")]
    Timeout {
        /// What was awaited.
        awaited: String,
        /// The timeout, after scaling.
        timeout: Duration,
        /// Anything learnt while waiting (for example the last vCPU states), starting
        /// with a newline, or empty.
        detail: String,
        /// Command line, serial log and stderr.
        report: Box<Report>,
    },
    /// QEMU exited before the awaited event happened.
    #[error("QEMU exited while waiting for {awaited}\n{report}")]
    Exited {
        /// What was awaited.
        awaited: String,
        /// Command line, exit status, serial log and stderr.
        report: Box<Report>,
    },
    /// A line that must not appear is in the serial log.
    #[error(
        "the serial log contains {needle:?}, which must not appear, in line:\n  {line}\n{report}"
    )]
    Present {
        /// The text that must not appear.
        needle: String,
        /// The first line that holds it.
        line: String,
        /// Command line, serial log and stderr.
        report: Box<Report>,
    },
}

impl fmt::Debug for HarnessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// What QEMU was asked to do and everything it printed up to the failure.
#[derive(Debug, Clone)]
pub struct Report {
    /// QEMU's command line, quoted for a shell.
    pub command: String,
    /// QEMU's exit status, if it is known to have exited.
    pub exit_status: Option<ExitStatus>,
    /// Every complete serial line so far, without line endings.
    pub serial: Vec<String>,
    /// Serial output after the last newline, if any.
    pub serial_partial: String,
    /// Every line QEMU printed on stderr so far.
    pub stderr: Vec<String>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "QEMU command line:\n  {}", self.command)?;
        if let Some(status) = self.exit_status {
            writeln!(f, "QEMU {status}")?;
        }
        section(f, "serial log", &self.serial, &self.serial_partial)?;
        section(f, "QEMU stderr", &self.stderr, "")
    }
}

/// Writes `lines`, and the unfinished line `partial` if there is one, between two rulers
/// that say what they are.
fn section(f: &mut fmt::Formatter<'_>, name: &str, lines: &[String], partial: &str) -> fmt::Result {
    writeln!(f, "----- {name} ({} lines) -----", lines.len())?;
    for line in lines {
        writeln!(f, "{line}")?;
    }
    if partial.is_empty() {
        writeln!(f, "----- end of {name} -----")
    } else {
        writeln!(f, "{partial}")?;
        writeln!(
            f,
            "----- end of {name} (its last line has no newline yet) -----"
        )
    }
}
