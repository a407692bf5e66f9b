//! A minimal client for the QEMU Machine Protocol: just enough to run a monitor command.
//!
//! QMP speaks one JSON object per line. After the greeting and `qmp_capabilities`, every
//! command gets exactly one `return` or `error` object, possibly with asynchronous
//! `event` objects before it, which are skipped.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Instant;

use serde_json::{Value, json};

/// A connection to QEMU's QMP socket. Failures are plain text: they end up in an error
/// report and nothing acts on them.
pub(crate) struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Qmp {
    /// Connects, reads the greeting and leaves capabilities negotiation.
    pub fn connect(path: &Path, deadline: Instant) -> Result<Qmp, String> {
        let stream = UnixStream::connect(path)
            .map_err(|err| format!("cannot connect to QMP at {}: {err}", path.display()))?;
        let writer = stream
            .try_clone()
            .map_err(|err| format!("cannot clone the QMP socket: {err}"))?;
        let mut qmp = Qmp {
            reader: BufReader::new(stream),
            writer,
        };
        qmp.set_deadline(deadline)?;
        let greeting = qmp.read_message()?;
        if greeting.get("QMP").is_none() {
            return Err(format!("QMP greeting expected, got {greeting}"));
        }
        qmp.execute("qmp_capabilities", None, deadline)?;
        Ok(qmp)
    }

    /// Runs a human monitor command (such as `info registers -a`) and returns its output.
    pub fn human_monitor_command(
        &mut self,
        command_line: &str,
        deadline: Instant,
    ) -> Result<String, String> {
        let output = self.execute(
            "human-monitor-command",
            Some(json!({ "command-line": command_line })),
            deadline,
        )?;
        output
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("`{command_line}` returned {output}, not text"))
    }

    /// Sends one command and returns the value of its `return`.
    fn execute(
        &mut self,
        command: &str,
        arguments: Option<Value>,
        deadline: Instant,
    ) -> Result<Value, String> {
        self.set_deadline(deadline)?;
        let mut request = json!({ "execute": command });
        if let Some(arguments) = arguments {
            request["arguments"] = arguments;
        }
        let mut line = request.to_string();
        line.push('\n');
        self.writer
            .write_all(line.as_bytes())
            .map_err(|err| format!("cannot send {command} to QMP: {err}"))?;
        loop {
            let mut reply = self.read_message()?;
            if let Some(value) = reply.get_mut("return") {
                return Ok(value.take());
            }
            if let Some(error) = reply.get("error") {
                return Err(format!("QMP {command} failed: {error}"));
            }
            // Anything else is an asynchronous event; the answer is still to come.
        }
    }

    fn read_message(&mut self) -> Result<Value, String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => Err("QMP connection closed".to_owned()),
            Ok(_) => serde_json::from_str(&line)
                .map_err(|err| format!("QMP sent something that is not JSON ({err}): {line}")),
            Err(err) => Err(format!("reading from QMP: {err}")),
        }
    }

    /// Makes every read and write give up at `deadline`.
    fn set_deadline(&mut self, deadline: Instant) -> Result<(), String> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("deadline passed before QMP answered".to_owned());
        }
        self.writer
            .set_read_timeout(Some(left))
            .and_then(|()| self.writer.set_write_timeout(Some(left)))
            .map_err(|err| format!("cannot set QMP socket timeouts: {err}"))
    }
}
