//! A partition's console output on the machine's COM1.
//!
//! Bytes from the partition's console UART are collected into lines and
//! printed as `[name] line`, so the consoles of partitions running side by
//! side stay readable in one log. A line longer than [`MAX_LINE`] is cut and
//! continued; carriage returns are dropped (COM1's writer adds its own).
//! Every byte, as the guest sent it, also goes to the partition's output
//! ring, from which the service core serves the network console.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use bulkhead_core::output_ring::OutputRing;

use super::super::serial;

/// Longest line kept before it is printed anyway.
pub const MAX_LINE: usize = 512;

/// Line buffer for one partition's console.
pub struct ConsoleOut {
    name: String,
    line: Vec<u8>,
    ring: Option<&'static OutputRing>,
}

impl ConsoleOut {
    /// An empty buffer for the partition called `name`, whose bytes also
    /// go to `ring`.
    pub fn new(name: &str, ring: Option<&'static OutputRing>) -> Self {
        Self {
            name: name.into(),
            line: Vec::with_capacity(MAX_LINE),
            ring,
        }
    }

    /// Takes one byte the guest sent.
    pub fn push(&mut self, byte: u8) {
        if let Some(ring) = self.ring {
            ring.write(&[byte]);
        }
        match byte {
            b'\n' => self.flush(),
            b'\r' => {}
            _ => {
                self.line.push(byte);
                if self.line.len() >= MAX_LINE {
                    self.flush();
                }
            }
        }
    }

    /// Prints what is buffered, if anything, as one line.
    pub fn flush(&mut self) {
        if self.line.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.line);
        let mut out = serial::Writer::lock();
        let _ = writeln!(out, "[{}] {}", self.name, text);
        drop(out);
        self.line.clear();
    }
}
