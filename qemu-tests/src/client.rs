//! The `bulkhead console` client run as a test drives it: standard input a
//! pipe (the client then stays out of raw terminal mode), standard output
//! (the partition's console) and standard error (the client's own notices)
//! collected line by line, and waits for lines with deadlines.

use std::ffi::OsStr;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::streams::{Log, Stream, Streams};
use crate::timeout::scaled;

/// A running `bulkhead` client process.
pub struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    streams: Arc<Streams>,
    command: String,
}

impl Client {
    /// Starts `bulkhead` with `args`.
    ///
    /// # Panics
    ///
    /// If the program cannot be started.
    pub fn spawn<I, S>(args: I) -> Client
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(crate::cli_path());
        command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let description = format!("{command:?}");
        let mut child = command.spawn().expect("the bulkhead command starts");
        let streams = Arc::new(Streams::default());
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        streams.spawn_reader(stdout, Stream::Serial);
        streams.spawn_reader(stderr, Stream::Stderr);
        Client {
            stdin: child.stdin.take(),
            child,
            streams,
            command: description,
        }
    }

    /// Waits until a line of standard output contains `needle`; returns the line.
    ///
    /// # Panics
    ///
    /// On timeout (scaled by `BULKHEAD_TIMEOUT_SCALE`), with everything the client printed.
    pub fn expect(&self, needle: &str, timeout: Duration) -> String {
        self.wait_for(needle, timeout, |log| &log.serial.lines)
    }

    /// As [`Self::expect`], on standard error (the client's notices).
    pub fn expect_notice(&self, needle: &str, timeout: Duration) -> String {
        self.wait_for(needle, timeout, |log| &log.stderr.lines)
    }

    fn wait_for(
        &self,
        needle: &str,
        timeout: Duration,
        lines: impl Fn(&Log) -> &Vec<String>,
    ) -> String {
        let deadline = Instant::now() + scaled(timeout);
        let mut found = None;
        let log = self.streams.wait_until(deadline, |log| {
            found = lines(log)
                .iter()
                .find(|line| line.contains(needle))
                .cloned();
            found.is_some() || log.all_closed()
        });
        drop(log);
        found.unwrap_or_else(|| {
            panic!(
                "{needle:?} never came from {}\n{}",
                self.command,
                self.transcript()
            )
        })
    }

    /// Every line of standard output so far.
    pub fn output(&self) -> Vec<String> {
        self.streams.lock().serial.lines.clone()
    }

    /// Types `bytes` into the client.
    ///
    /// # Panics
    ///
    /// If the client's standard input is closed.
    pub fn send(&mut self, bytes: &[u8]) {
        use std::io::Write as _;
        let stdin = self
            .stdin
            .as_mut()
            .expect("the client's standard input is open");
        stdin
            .write_all(bytes)
            .and_then(|()| stdin.flush())
            .expect("the client reads its standard input");
    }

    /// Waits for the client to exit by itself; its exit code.
    ///
    /// # Panics
    ///
    /// If it has not exited within `timeout`.
    pub fn wait(&mut self, timeout: Duration) -> Option<i32> {
        // The client's pipes close when it exits (it starts no children).
        let deadline = Instant::now() + scaled(timeout);
        let closed = self
            .streams
            .wait_until(deadline, Log::all_closed)
            .all_closed();
        assert!(
            closed,
            "the client did not exit: {}\n{}",
            self.command,
            self.transcript()
        );
        self.child.wait().expect("waiting for the client").code()
    }

    /// Everything the client printed, for failure messages.
    pub fn transcript(&self) -> String {
        let log = self.streams.lock();
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            log.serial.lines.join("\n"),
            log.stderr.lines.join("\n")
        )
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `bulkhead` with `args` to its end: exit code, stdout, stderr.
///
/// # Panics
///
/// If the program cannot be started.
pub fn run_cli<I, S>(args: I) -> (Option<i32>, String, String)
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let output = Command::new(crate::cli_path())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the bulkhead command runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
