//! COM1 output for the loader's few messages.
//!
//! The loader only writes; it programs 115200 8N1 so that firmware that left
//! the port unconfigured (iPXE does not touch it) still shows the messages.

use core::fmt;
use x86_64::instructions::port::Port;

const COM1: u16 = 0x3F8;
/// Line status register: transmitter holding register empty.
const LSR_THR_EMPTY: u8 = 1 << 5;

/// The first serial port.
pub struct Com1;

impl Com1 {
    /// Programs 115200 baud, 8 data bits, no parity, one stop bit, FIFOs on.
    pub fn init() -> Self {
        for (offset, value) in [
            (1, 0x00),
            (3, 0x80),
            (0, 0x01),
            (1, 0x00),
            (3, 0x03),
            (2, 0xC7),
            (4, 0x03),
        ] {
            // SAFETY: COM1's registers are plain I/O ports with no memory side effects.
            unsafe { Port::<u8>::new(COM1 + offset).write(value) };
        }
        Com1
    }

    fn put(&mut self, byte: u8) {
        let mut lsr = Port::<u8>::new(COM1 + 5);
        // SAFETY: reading the line status register has no side effects beyond the port.
        while unsafe { lsr.read() } & LSR_THR_EMPTY == 0 {
            core::hint::spin_loop();
        }
        // SAFETY: writing the transmit register only sends a byte.
        unsafe { Port::<u8>::new(COM1).write(byte) };
    }
}

impl fmt::Write for Com1 {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for byte in s.bytes() {
            if byte == b'\n' {
                self.put(b'\r');
            }
            self.put(byte);
        }
        Ok(())
    }
}

/// Prints a line prefixed with the loader's name.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = writeln!($crate::serial::Com1, "bulkhead loader: {}", format_args!($($arg)*));
    }};
}
