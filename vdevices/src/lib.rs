//! Virtual platform devices as pure state machines.
//!
//! Every device here is a plain struct: no hardware access, no clock of its
//! own, no locks. Guest accesses come in as `read`/`write` calls with the
//! register offset and width; time comes in as a [`Nanos`] argument; interrupt
//! outputs go out as returned state that the partition's interrupt router
//! collects. The core wires devices to ports and MMIO windows according to the
//! partition table and does all locking in one place.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod acpi_tables;
pub mod debug_exit;
pub mod fw_cfg;
pub mod ioapic;
pub mod irq;
pub mod lapic;
pub mod pci;
pub mod pic;
pub mod pit;
pub mod rtc;
pub mod uart;

/// Guest time in nanoseconds since the partition started. Devices never read a
/// clock; the caller passes the current time into every call that needs it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Nanos(pub u64);

impl Nanos {
    /// `self + nanos`, saturating.
    pub const fn plus(self, nanos: u64) -> Nanos {
        Nanos(self.0.saturating_add(nanos))
    }

    /// Nanoseconds from `earlier` to `self`, or 0 if `earlier` is later.
    pub const fn since(self, earlier: Nanos) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// A device reached through x86 I/O ports. `offset` is relative to the first
/// port of the device's range; `size` is 1, 2 or 4.
pub trait PortDevice {
    /// A guest `in`. Bits above `size` bytes are ignored by the caller.
    fn port_read(&mut self, offset: u16, size: u8, now: Nanos) -> u32;
    /// A guest `out`.
    fn port_write(&mut self, offset: u16, size: u8, value: u32, now: Nanos);
}

/// A device reached through a memory-mapped window. `offset` is relative to
/// the window's base; `size` is 1, 2, 4 or 8.
pub trait MmioDevice {
    /// A guest load.
    fn mmio_read(&mut self, offset: u64, size: u8, now: Nanos) -> u64;
    /// A guest store.
    fn mmio_write(&mut self, offset: u64, size: u8, value: u64, now: Nanos);
}
