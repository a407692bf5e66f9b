//! COM1, the hypervisor's own log port.
//!
//! Writers take a spinlock so lines from different cores do not interleave.
//! The exception path writes without the lock if this core already holds it,
//! so a fault in the middle of a log line still gets its dump out.

use core::fmt;
use core::sync::atomic::{AtomicU32, Ordering};

use x86_64::instructions::port::Port;

const COM1: u16 = 0x3F8;
const LSR_THR_EMPTY: u8 = 1 << 5;
const NO_OWNER: u32 = u32::MAX;

/// Index of the core holding the port, or `NO_OWNER`.
static OWNER: AtomicU32 = AtomicU32::new(NO_OWNER);

/// Programs 115200 8N1 with FIFOs, as the loader did; harmless to repeat.
pub fn init() {
    for (offset, value) in [
        (1, 0x00),
        (3, 0x80),
        (0, 0x01),
        (1, 0x00),
        (3, 0x03),
        (2, 0xC7),
        (4, 0x03),
    ] {
        // SAFETY: COM1's registers are I/O ports with no memory side effects.
        unsafe { Port::<u8>::new(COM1 + offset).write(value) };
    }
}

fn put(byte: u8) {
    let mut lsr = Port::<u8>::new(COM1 + 5);
    // SAFETY: reading the line status register has no side effect.
    while unsafe { lsr.read() } & LSR_THR_EMPTY == 0 {
        core::hint::spin_loop();
    }
    // SAFETY: writing the transmit holding register only sends the byte.
    unsafe { Port::<u8>::new(COM1).write(byte) };
}

/// A byte received on COM1, if one is waiting (LSR bit 0, data ready).
pub fn try_read() -> Option<u8> {
    const LSR_DATA_READY: u8 = 1 << 0;
    // SAFETY: reading the line status register has no side effect; reading
    // the receive buffer takes the byte, which only the service core does.
    unsafe {
        if Port::<u8>::new(COM1 + 5).read() & LSR_DATA_READY == 0 {
            return None;
        }
        Some(Port::<u8>::new(COM1).read())
    }
}

/// Exclusive use of the port for one message.
pub struct Writer {
    owned: bool,
}

impl Writer {
    /// Waits for the port. If this core already holds it (a fault while
    /// logging), writes through instead of deadlocking.
    pub fn lock() -> Self {
        let me = super::percpu::index();
        loop {
            match OWNER.compare_exchange(NO_OWNER, me, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return Self { owned: true },
                Err(owner) if owner == me => return Self { owned: false },
                Err(_) => core::hint::spin_loop(),
            }
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if self.owned {
            OWNER.store(NO_OWNER, Ordering::Release);
        }
    }
}

impl fmt::Write for Writer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for byte in s.bytes() {
            if byte == b'\n' {
                put(b'\r');
            }
            put(byte);
        }
        Ok(())
    }
}
