//! QEMU's `isa-debug-exit` device: a port window whose write ends the
//! machine with a status derived from the value.
//!
//! Follows QEMU's `hw/misc/debugexit.c`: a window of `iosize` ports (1, 2 or
//! 4; QEMU's default port is 0x501, Bulkhead's 0xF4 as in
//! `isa-debug-exit,iobase=0xf4,iosize=4`), any write of value *v* asks to
//! end with status `(v << 1) | 1`, and reads return 0 (QEMU's
//! `debug_exit_read`, so a guest can tell the device from absent hardware,
//! which reads all-ones). Ports past the window read all-ones.
//!
//! The device does not end anything itself: [`DebugExitPort::take_exit`]
//! hands the request to the core, which ends the partition and logs the
//! status. A process's exit code is the status's low 8 bits
//! ([`DebugExit::exit_code`]), which is what test harnesses see from QEMU.
//!
//! An access that starts inside the window and runs past its end carries
//! only the bytes inside it, as QEMU's memory core splits it. If the guest
//! writes again before the core has taken the first request, the first one
//! stands.

#[cfg(test)]
mod tests;

use core::fmt;

use crate::{Nanos, PortDevice};

/// Bulkhead's default port (the `debug_exit = true` setting).
pub const DEFAULT_PORT: u16 = 0xF4;
/// Default window size in ports.
pub const DEFAULT_SIZE: u8 = 4;

/// A request to end the partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DebugExit {
    /// The value the guest wrote (only the bytes inside the window).
    pub value: u32,
    /// QEMU's exit status for it: `(value << 1) | 1`, truncated to 32 bits.
    pub status: u32,
}

impl DebugExit {
    /// The request for `value`.
    pub const fn new(value: u32) -> DebugExit {
        DebugExit {
            value,
            status: (value << 1) | 1,
        }
    }

    /// The exit code a process gets from QEMU for this request: the status
    /// modulo 256, always odd.
    pub const fn exit_code(&self) -> u8 {
        self.status as u8
    }
}

/// The window size was not 1, 2 or 4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnsupportedSize(pub u8);

impl fmt::Display for UnsupportedSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "debug-exit window of {} ports: must be 1, 2 or 4",
            self.0
        )
    }
}

impl core::error::Error for UnsupportedSize {}

/// The debug-exit port window.
#[derive(Clone, Debug)]
pub struct DebugExitPort {
    size: u8,
    pending: Option<DebugExit>,
}

impl Default for DebugExitPort {
    fn default() -> Self {
        DebugExitPort {
            size: DEFAULT_SIZE,
            pending: None,
        }
    }
}

impl DebugExitPort {
    /// A window of `size` ports (1, 2 or 4).
    pub fn new(size: u8) -> Result<DebugExitPort, UnsupportedSize> {
        match size {
            1 | 2 | 4 => Ok(DebugExitPort {
                size,
                pending: None,
            }),
            _ => Err(UnsupportedSize(size)),
        }
    }

    /// Ports in the window.
    pub fn size(&self) -> u8 {
        self.size
    }

    /// The exit the guest asked for, if any; clears it.
    pub fn take_exit(&mut self) -> Option<DebugExit> {
        self.pending.take()
    }

    /// The exit the guest asked for, without clearing it.
    pub fn pending_exit(&self) -> Option<DebugExit> {
        self.pending
    }
}

impl PortDevice for DebugExitPort {
    fn port_read(&mut self, offset: u16, size: u8, _now: Nanos) -> u32 {
        let mut value = 0;
        for lane in 0..size.min(4) {
            let port = offset.saturating_add(u16::from(lane));
            let byte: u32 = if port < u16::from(self.size) {
                0x00
            } else {
                0xFF
            };
            value |= byte << (8 * lane);
        }
        value
    }

    fn port_write(&mut self, offset: u16, size: u8, value: u32, _now: Nanos) {
        if offset >= u16::from(self.size) || size == 0 {
            return;
        }
        let inside = u16::from(size.min(4)).min(u16::from(self.size) - offset);
        let mask = if inside >= 4 {
            u32::MAX
        } else {
            (1u32 << (8 * inside)) - 1
        };
        if self.pending.is_none() {
            self.pending = Some(DebugExit::new(value & mask));
        }
    }
}
