//! A running QEMU and the ways a test waits on it.

use std::borrow::Cow;
use std::ffi::OsString;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use regex::Regex;
use tempfile::TempDir;

use crate::error::{HarnessError, Report};
use crate::qmp::Qmp;
use crate::streams::{Log, Stream, Streams};
use crate::timeout::scaled;

/// How often [`Machine::wait_halted`] asks QEMU for the vCPU states. Between two questions
/// it waits for QEMU's exit, so an exit is noticed at once.
const HALT_POLL_INTERVAL: Duration = Duration::from_millis(50);

/// How long stderr may trail stdout in closing once QEMU has exited. Both close when the
/// process ends; this only lets the stderr reader catch up so a report has QEMU's last
/// words.
const STDERR_GRACE: Duration = Duration::from_secs(5);

/// A running QEMU. Dropping it kills QEMU and reaps it.
///
/// QEMU is also killed when the thread that started it ends (Linux's parent-death
/// signal), so a test binary that dies leaves no QEMU behind; keep a machine on the
/// thread that started it.
///
/// The serial log is kept whole. [`expect`](Machine::expect) and
/// [`expect_regex`](Machine::expect_regex) read it in order: each looks only at lines
/// after the one the previous match returned, so a sequence of `expect` calls asserts
/// the order of the lines.
pub struct Machine {
    child: Child,
    streams: Arc<Streams>,
    readers: Vec<JoinHandle<()>>,
    command: String,
    smp: u32,
    /// QEMU's standard input: the guest's serial input (`-serial stdio`).
    stdin: Option<std::process::ChildStdin>,
    /// Index of the first serial line the next `expect` looks at.
    cursor: usize,
    qmp_socket: PathBuf,
    qmp: Option<Qmp>,
    exit_status: Option<ExitStatus>,
    /// Holds the QMP socket (and an iPXE script); deleted after QEMU is gone.
    _run_dir: TempDir,
}

impl Machine {
    pub(crate) fn spawn(
        program: OsString,
        args: Vec<OsString>,
        smp: u32,
        run_dir: TempDir,
        qmp_socket: PathBuf,
    ) -> Result<Machine, HarnessError> {
        let command = std::iter::once(&program)
            .chain(&args)
            .map(|arg| shell_quote(&arg.to_string_lossy()).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        let mut builder = Command::new(&program);
        builder
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SAFETY: the hook runs in the child between fork and exec; it only makes one
        // async-signal-safe system call and touches no memory shared with the parent.
        unsafe {
            builder.pre_exec(die_with_parent_thread);
        }
        let mut child = builder.spawn().map_err(|source| HarnessError::Spawn {
            command: command.clone(),
            source,
        })?;
        let streams = Arc::new(Streams::default());
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            readers.push(streams.spawn_reader(stdout, Stream::Serial));
        }
        if let Some(stderr) = child.stderr.take() {
            readers.push(streams.spawn_reader(stderr, Stream::Stderr));
        }
        let stdin = child.stdin.take();
        Ok(Machine {
            child,
            streams,
            readers,
            command,
            stdin,
            smp,
            cursor: 0,
            qmp_socket,
            qmp: None,
            exit_status: None,
            _run_dir: run_dir,
        })
    }

    /// Waits until a serial line after the previous match contains `needle`, and returns
    /// that line.
    ///
    /// `timeout` is scaled by `BULKHEAD_TIMEOUT_SCALE`. On timeout, or if QEMU exits
    /// first, the error holds the whole serial log and QEMU's stderr. Output QEMU printed
    /// without a final newline counts as a line once QEMU has exited.
    pub fn expect(&mut self, needle: &str, timeout: Duration) -> Result<String, HarnessError> {
        self.await_line(
            format!("a serial line containing {needle:?}"),
            timeout,
            |line| line.contains(needle).then(|| line.to_owned()),
        )
    }

    /// As [`expect`](Machine::expect), for a line that matches the regular expression
    /// `re` (anywhere in the line; anchor with `^`/`$`). Returns the captures: index 0 is
    /// the whole match, then one entry per group, empty for a group that did not take
    /// part.
    pub fn expect_regex(
        &mut self,
        re: &str,
        timeout: Duration,
    ) -> Result<Vec<String>, HarnessError> {
        let regex = Regex::new(re).map_err(|source| HarnessError::Regex {
            pattern: re.to_owned(),
            source,
        })?;
        self.await_line(format!("a serial line matching /{re}/"), timeout, |line| {
            regex.captures(line).map(|captures| {
                captures
                    .iter()
                    .map(|group| group.map_or_else(String::new, |m| m.as_str().to_owned()))
                    .collect()
            })
        })
    }

    /// Fails if any serial output received so far, from the very first line to the
    /// unfinished last one, contains `needle`.
    ///
    /// It looks only at what has arrived: call it after an `expect` of a line that
    /// follows the point where `needle` would have appeared.
    pub fn expect_absent(&self, needle: &str) -> Result<(), HarnessError> {
        let log = self.streams.lock();
        let found = log
            .serial
            .lines
            .iter()
            .chain([&log.serial.partial])
            .find(|line| line.contains(needle))
            .cloned();
        drop(log);
        match found {
            None => Ok(()),
            Some(line) => Err(HarnessError::Present {
                needle: needle.to_owned(),
                line,
                report: Box::new(self.report()),
            }),
        }
    }

    /// The whole serial log so far: every line with `\n` after it (and no `\r`), then
    /// whatever has arrived of the next line.
    pub fn log(&self) -> String {
        let log = self.streams.lock();
        let mut text: String = log
            .serial
            .lines
            .iter()
            .flat_map(|line| [line.as_str(), "\n"])
            .collect();
        text.push_str(&log.serial.partial);
        text
    }

    /// QEMU's command line, quoted for a shell, to reproduce a run by hand.
    pub fn command_line(&self) -> &str {
        &self.command
    }

    /// Waits until every vCPU is halted (`HLT=1` in QEMU's `info registers -a`, asked
    /// over QMP) while QEMU is still running: the machine stopped for good rather than
    /// resetting, which with `-no-reboot` would end QEMU.
    ///
    /// Call it once the last expected line has arrived: firmware halts briefly while it
    /// waits for interrupts, and application processors that were never started are
    /// halted too. Polls every 50 ms until `timeout` (scaled by `BULKHEAD_TIMEOUT_SCALE`);
    /// fails at once if QEMU exits. A timeout error lists each vCPU's last state.
    pub fn wait_halted(&mut self, timeout: Duration) -> Result<(), HarnessError> {
        let awaited = format!("all vCPUs ({}) to halt with QEMU still running", self.smp);
        let timeout = scaled(timeout);
        let deadline = Instant::now() + timeout;
        // The states from the last answer, or why there was none: a question cut short by
        // the deadline should not hide what the answer before it showed.
        let mut last = Err(String::from("QMP has not been asked yet"));
        loop {
            if self.streams.lock().serial.closed {
                return Err(self.exited_error(awaited));
            }
            match self.vcpu_states(deadline) {
                Ok(states) => {
                    let halted = states
                        .iter()
                        .filter(|state| state.contains(" HLT=1"))
                        .count();
                    if states.len() == self.smp as usize
                        && halted == states.len()
                        && matches!(self.child.try_wait(), Ok(None))
                    {
                        return Ok(());
                    }
                    last = Ok(states);
                }
                Err(err) => {
                    // Reconnect next time: the connection may be half-way through an answer.
                    self.qmp = None;
                    if last.is_err() {
                        last = Err(err);
                    }
                }
            }
            let now = Instant::now();
            if now >= deadline {
                let detail = match last {
                    Ok(states) => format!("\nlast vCPU states:\n  {}", states.join("\n  ")),
                    Err(err) => format!("\nno vCPU states: {err}"),
                };
                return Err(HarnessError::Timeout {
                    awaited,
                    timeout,
                    detail,
                    report: Box::new(self.report()),
                });
            }
            let next_poll = (now + HALT_POLL_INTERVAL).min(deadline);
            drop(self.streams.wait_until(next_poll, |log| log.serial.closed));
        }
    }

    /// Waits for QEMU to exit and returns its exit status; `timeout` is scaled by
    /// `BULKHEAD_TIMEOUT_SCALE`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus, HarnessError> {
        let timeout = scaled(timeout);
        let deadline = Instant::now() + timeout;
        let closed = self
            .streams
            .wait_until(deadline, Log::all_closed)
            .all_closed();
        if !closed {
            return Err(HarnessError::Timeout {
                awaited: "QEMU to exit".to_owned(),
                timeout,
                detail: String::new(),
                report: Box::new(self.report()),
            });
        }
        self.reap()
    }

    /// Kills QEMU (if it still runs) and reaps it. Dropping the machine does the same.
    pub fn kill(&mut self) {
        if self.exit_status.is_none() {
            // An error means QEMU has already been reaped; there is nothing left to end.
            let _ = self.child.kill();
            if let Ok(status) = self.child.wait() {
                self.exit_status = Some(status);
            }
        }
    }

    /// Waits for lines until one makes `matcher` return a value, QEMU exits or the
    /// deadline passes.
    /// Waits until a line containing `needle` is anywhere in the log, from the
    /// first line on, and leaves the reading position where it was: for output
    /// of partitions that run side by side, whose lines interleave in no fixed order.
    pub fn expect_any_order(
        &mut self,
        needle: &str,
        timeout: Duration,
    ) -> Result<String, HarnessError> {
        let cursor = self.cursor;
        self.cursor = 0;
        let found = self.await_line(
            format!("a serial line (anywhere in the log) containing {needle:?}"),
            timeout,
            |line| line.contains(needle).then(|| line.to_owned()),
        );
        self.cursor = cursor;
        found
    }

    /// Types `bytes` on the machine's serial input (QEMU's standard input,
    /// which `-serial stdio` connects to COM1's receiver).
    ///
    /// # Panics
    ///
    /// If QEMU's standard input is closed (QEMU has exited).
    pub fn send(&mut self, bytes: &[u8]) {
        use std::io::Write as _;
        let stdin = self.stdin.as_mut().expect("QEMU's standard input is open");
        stdin
            .write_all(bytes)
            .and_then(|()| stdin.flush())
            .expect("QEMU accepts serial input");
    }

    fn await_line<T>(
        &mut self,
        awaited: String,
        timeout: Duration,
        mut matcher: impl FnMut(&str) -> Option<T>,
    ) -> Result<T, HarnessError> {
        let timeout = scaled(timeout);
        let deadline = Instant::now() + timeout;
        let mut next = self.cursor;
        let mut found = None;
        let log = self.streams.wait_until(deadline, |log| {
            while let Some(line) = log.serial.lines.get(next) {
                found = matcher(line);
                if found.is_some() {
                    return true;
                }
                next += 1;
            }
            // The reader pushes a final unterminated line before it marks the stream
            // closed, so nothing is lost by giving up here.
            log.serial.closed
        });
        let closed = log.serial.closed;
        drop(log);
        if let Some(value) = found {
            self.cursor = next + 1;
            return Ok(value);
        }
        if closed {
            return Err(self.exited_error(awaited));
        }
        Err(HarnessError::Timeout {
            awaited,
            timeout,
            detail: String::new(),
            report: Box::new(self.report()),
        })
    }

    /// One line per vCPU from `info registers -a`: its number and the line that holds the
    /// instruction pointer, flags and `HLT=`.
    fn vcpu_states(&mut self, deadline: Instant) -> Result<Vec<String>, String> {
        let qmp = match &mut self.qmp {
            Some(qmp) => qmp,
            None => self.qmp.insert(Qmp::connect(&self.qmp_socket, deadline)?),
        };
        let dump = qmp.human_monitor_command("info registers -a", deadline)?;
        let mut states = Vec::new();
        let mut cpu = "CPU#?";
        for line in dump.lines() {
            let line = line.trim();
            if line.starts_with("CPU#") {
                cpu = line;
            } else if line.contains(" HLT=") {
                states.push(format!("{cpu}: {line}"));
            }
        }
        Ok(states)
    }

    /// The error for QEMU having exited while `awaited` had not happened.
    fn exited_error(&mut self, awaited: String) -> HarnessError {
        if let Err(err) = self.reap() {
            return err;
        }
        HarnessError::Exited {
            awaited,
            report: Box::new(self.report()),
        }
    }

    /// Collects the exit status of a QEMU whose stdout has closed.
    fn reap(&mut self) -> Result<ExitStatus, HarnessError> {
        drop(
            self.streams
                .wait_until(Instant::now() + STDERR_GRACE, Log::all_closed),
        );
        if let Some(status) = self.exit_status {
            return Ok(status);
        }
        let status = self.child.wait().map_err(|source| HarnessError::Io {
            what: "cannot collect QEMU's exit status".to_owned(),
            source,
        })?;
        self.exit_status = Some(status);
        Ok(status)
    }

    fn report(&self) -> Report {
        let log = self.streams.lock();
        Report {
            command: self.command.clone(),
            exit_status: self.exit_status,
            serial: log.serial.lines.clone(),
            serial_partial: log.serial.partial.clone(),
            stderr: log
                .stderr
                .lines
                .iter()
                .chain([&log.stderr.partial])
                .filter(|line| !line.is_empty())
                .cloned()
                .collect(),
        }
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        self.kill();
        for reader in self.readers.drain(..) {
            // A reader only ends by reaching the end of its pipe, which QEMU's death
            // guarantees; a panic in one has nothing left to report.
            let _ = reader.join();
        }
    }
}

/// Asks Linux to kill the calling process when the thread that forked it ends, so a test
/// binary that is killed (or aborts) leaves no QEMU spinning on a CPU.
fn die_with_parent_thread() -> io::Result<()> {
    // SAFETY: PR_SET_PDEATHSIG takes a signal number and reads no memory.
    let result = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    if result == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `arg` quoted for a POSIX shell when it needs to be.
fn shell_quote(arg: &str) -> Cow<'_, str> {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_+=,.:/@%#".contains(c));
    if plain {
        Cow::Borrowed(arg)
    } else {
        Cow::Owned(format!("'{}'", arg.replace('\'', r"'\''")))
    }
}
