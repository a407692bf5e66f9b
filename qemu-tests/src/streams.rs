//! QEMU's stdout (the guest's COM1) and stderr, collected line by line.
//!
//! One reader thread per stream appends lines to a shared [`Log`] and wakes every waiter.
//! Keeping the lines in one place, rather than handing them through a channel, lets
//! [`Machine::log`](crate::Machine::log) show everything that has arrived even when no
//! one is waiting, and lets one wait cover "a line arrived" and "QEMU exited" at once.

use std::io::{ErrorKind, Read};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Instant;

/// Which of QEMU's output streams a reader collects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    /// stdout, where `-serial stdio` puts COM1.
    Serial,
    /// stderr: QEMU's own warnings and errors.
    Stderr,
}

/// What one stream has delivered so far.
#[derive(Debug, Default)]
pub(crate) struct Text {
    /// Complete lines, without `\r` or `\n`.
    pub lines: Vec<String>,
    /// What arrived after the last newline: shown in reports (a hypervisor that dies in
    /// the middle of a line should not hide that line), but not matched until it is
    /// complete, so a pattern never sees half a line.
    pub partial: String,
    /// The stream has reached end of file: QEMU has exited (or is exiting).
    pub closed: bool,
}

/// Everything both streams have delivered so far.
#[derive(Debug, Default)]
pub(crate) struct Log {
    /// stdout: COM1.
    pub serial: Text,
    /// stderr: QEMU's own messages.
    pub stderr: Text,
}

impl Log {
    /// Both streams are closed, so nothing more will arrive.
    pub fn all_closed(&self) -> bool {
        self.serial.closed && self.stderr.closed
    }
}

/// The shared log and the condition variable that announces every change to it.
#[derive(Debug, Default)]
pub(crate) struct Streams {
    log: Mutex<Log>,
    changed: Condvar,
}

impl Streams {
    /// Starts a thread that reads `input` to its end, line by line, into the log.
    pub fn spawn_reader(
        self: &Arc<Self>,
        input: impl Read + Send + 'static,
        stream: Stream,
    ) -> JoinHandle<()> {
        let streams = Arc::clone(self);
        thread::spawn(move || streams.read_to_end(input, stream))
    }

    fn read_to_end(&self, mut input: impl Read, stream: Stream) {
        let mut chunk = [0; 4096];
        let mut pending = Vec::new();
        loop {
            let read = match input.read(&mut chunk) {
                Ok(0) => break,
                Ok(read) => read,
                Err(err) if err.kind() == ErrorKind::Interrupted => continue,
                // A read error means the pipe is gone, which is the same as its end here.
                Err(_) => break,
            };
            pending.extend_from_slice(&chunk[..read]);
            let mut lines = Vec::new();
            while let Some(newline) = pending.iter().position(|&byte| byte == b'\n') {
                lines.push(line_text(&pending[..newline]));
                pending.drain(..=newline);
            }
            self.update(stream, |text| {
                text.lines.append(&mut lines);
                text.partial = line_text(&pending);
            });
        }
        // Output without a final newline becomes a line once QEMU is gone, so it can still
        // be matched; it is pushed under the same lock that marks the stream closed.
        self.update(stream, |text| {
            if !pending.is_empty() {
                text.lines.push(line_text(&pending));
            }
            text.partial.clear();
            text.closed = true;
        });
    }

    fn update(&self, stream: Stream, change: impl FnOnce(&mut Text)) {
        let mut log = self.lock();
        change(match stream {
            Stream::Serial => &mut log.serial,
            Stream::Stderr => &mut log.stderr,
        });
        drop(log);
        self.changed.notify_all();
    }

    /// The log as it is now.
    pub fn lock(&self) -> MutexGuard<'_, Log> {
        // A reader thread cannot leave the log half-updated, so a poisoned lock still
        // holds a consistent log.
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until `done` holds for the log or `deadline` passes, whichever is first;
    /// returns the log so the caller can look at it under the same lock.
    pub fn wait_until(
        &self,
        deadline: Instant,
        mut done: impl FnMut(&Log) -> bool,
    ) -> MutexGuard<'_, Log> {
        let mut log = self.lock();
        loop {
            if done(&log) {
                return log;
            }
            let now = Instant::now();
            if now >= deadline {
                return log;
            }
            log = self
                .changed
                .wait_timeout(log, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// One raw line as text: `\n` and every `\r` removed (a UART guest writes `\r\n`, and
/// firmware sometimes `\r` alone), bytes that are not UTF-8 replaced.
fn line_text(raw: &[u8]) -> String {
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    String::from_utf8_lossy(raw).replace('\r', "")
}
