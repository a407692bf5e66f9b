//! PCI configuration space through configuration mechanism #1: the address
//! port 0xCF8 and the data port 0xCFC (PCI Local Bus Specification 3.0,
//! 3.2.2.3.2). Mechanism #1 reaches every bus on every PC and needs no ACPI
//! table, unlike ECAM.
//!
//! Partitions never see these ports: the configuration validator refuses
//! 0xCF8..0xCFF in a partition's port list, so only the hypervisor moves the
//! address latch, and the lock here keeps its own users from interleaving an
//! address write with another's data access.
//!
//! The scan only reads identification registers. Sizing a BAR briefly turns
//! off the function's decoding, so [`Function::bars`] is only called for a
//! device the hypervisor is about to drive itself.

use alloc::vec::Vec;
use core::fmt;

use spinning_top::Spinlock;
use x86_64::instructions::port::Port;

const CONFIG_ADDRESS: u16 = 0xCF8;
const CONFIG_DATA: u16 = 0xCFC;
/// CONFIG_ADDRESS bit 31: the next data port access is a configuration cycle.
const CONFIG_ENABLE: u32 = 1 << 31;

/// Offsets in the configuration header (PCI 3.0, 6.1; bridges: PCI-to-PCI
/// Bridge Architecture 1.2, 3.2).
mod reg {
    pub const VENDOR_ID: u8 = 0x00;
    pub const COMMAND: u8 = 0x04;
    pub const CLASS_REVISION: u8 = 0x08;
    /// Cache line size, latency timer, header type, BIST.
    pub const HEADER_DWORD: u8 = 0x0C;
    pub const BAR0: u8 = 0x10;
    /// Primary, secondary and subordinate bus numbers of a bridge.
    pub const BRIDGE_BUSES: u8 = 0x18;
    pub const CAPABILITIES_POINTER: u8 = 0x34;
}

/// Command register bits (PCI 3.0, 6.2.2).
mod command {
    pub const IO_SPACE: u16 = 1 << 0;
    pub const MEMORY_SPACE: u16 = 1 << 1;
    pub const BUS_MASTER: u16 = 1 << 2;
    pub const INTERRUPT_DISABLE: u16 = 1 << 10;
}

/// Status register bit 4: the capabilities pointer at 0x34 is valid.
const STATUS_CAPABILITIES: u32 = 1 << (16 + 4);
const HEADER_MULTIFUNCTION: u8 = 0x80;
const HEADER_LAYOUT: u8 = 0x7F;
const LAYOUT_DEVICE: u8 = 0;
const LAYOUT_BRIDGE: u8 = 1;
/// A read of a function that does not exist ends in a master abort: all ones.
const ABSENT: u16 = 0xFFFF;

const BAR_IO: u32 = 1 << 0;
const BAR_TYPE_MASK: u32 = 0b110;
const BAR_TYPE_64: u32 = 0b100;
const BAR_PREFETCHABLE: u32 = 1 << 3;
const BAR_MEMORY_FLAGS: u32 = 0xF;
const BAR_IO_FLAGS: u32 = 0x3;

/// Capability list entries start past the standard header and are dword
/// aligned; a list can hold at most this many of them in 256 bytes, which
/// bounds the walk even when a device links its list into a loop.
const CAPABILITY_MIN_OFFSET: u8 = 0x40;
const CAPABILITY_MAX_COUNT: usize = (256 - 0x40) / 4;

static CONFIG_PORTS: Spinlock<()> = Spinlock::new(());

/// A function's place on the bus: bus, device and function number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Address {
    /// Bus number, 0 to 255.
    pub bus: u8,
    /// Device number, 0 to 31.
    pub device: u8,
    /// Function number, 0 to 7.
    pub function: u8,
}

impl Address {
    fn config_address(self, offset: u8) -> u32 {
        CONFIG_ENABLE
            | u32::from(self.bus) << 16
            | u32::from(self.device & 0x1F) << 11
            | u32::from(self.function & 0x7) << 8
            | u32::from(offset & 0xFC)
    }
}

impl fmt::Display for Address {
    /// The usual `bus:device.function` spelling, as `lspci` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02x}:{:02x}.{:x}",
            self.bus, self.device, self.function
        )
    }
}

/// Reads the configuration dword at `offset` (rounded down to a dword).
pub fn read32(at: Address, offset: u8) -> u32 {
    let _ports = CONFIG_PORTS.lock();
    // SAFETY: the configuration ports belong to the hypervisor alone (see the
    // module comment) and the lock orders the address write before this data
    // read; a configuration read has no side effect on memory.
    unsafe {
        Port::<u32>::new(CONFIG_ADDRESS).write(at.config_address(offset));
        Port::<u32>::new(CONFIG_DATA).read()
    }
}

/// Writes the configuration dword at `offset` (rounded down to a dword).
pub fn write32(at: Address, offset: u8, value: u32) {
    let _ports = CONFIG_PORTS.lock();
    // SAFETY: as in `read32`. What a write changes (decoding, bus mastering,
    // BARs) is up to the caller, which only touches devices it drives.
    unsafe {
        Port::<u32>::new(CONFIG_ADDRESS).write(at.config_address(offset));
        Port::<u32>::new(CONFIG_DATA).write(value);
    }
}

fn read16(at: Address, offset: u8) -> u16 {
    (read32(at, offset) >> ((offset & 2) * 8)) as u16
}

fn read8(at: Address, offset: u8) -> u8 {
    (read32(at, offset) >> ((offset & 3) * 8)) as u8
}

/// A base address register, decoded and sized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bar {
    /// A memory window.
    Memory {
        /// Physical base address as firmware assigned it.
        base: u64,
        /// Size in bytes, a power of two.
        size: u64,
        /// Whether the BAR takes two slots (a 64-bit address).
        wide: bool,
        /// Whether reads have no side effects.
        prefetchable: bool,
    },
    /// An I/O port window.
    Io {
        /// First port.
        base: u16,
        /// Number of ports.
        size: u32,
    },
}

/// One capability list entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capability {
    /// Where the entry sits in configuration space.
    pub offset: u8,
    /// Capability ID (PCI Code and ID Assignment Specification, 2).
    pub id: u8,
}

/// What the scan found at one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Function {
    /// Where it is.
    pub address: Address,
    /// Vendor ID.
    pub vendor: u16,
    /// Device ID.
    pub device: u16,
    /// Base class (0x02: network controller).
    pub class: u8,
    /// Subclass.
    pub subclass: u8,
    /// Programming interface.
    pub prog_if: u8,
    /// Revision ID.
    pub revision: u8,
    /// Header layout: 0 for a device, 1 for a PCI-to-PCI bridge.
    pub layout: u8,
}

impl Function {
    fn probe(address: Address) -> Option<Function> {
        let ids = read32(address, reg::VENDOR_ID);
        let vendor = ids as u16;
        if vendor == ABSENT {
            return None;
        }
        let class = read32(address, reg::CLASS_REVISION);
        Some(Function {
            address,
            vendor,
            device: (ids >> 16) as u16,
            class: (class >> 24) as u8,
            subclass: (class >> 16) as u8,
            prog_if: (class >> 8) as u8,
            revision: class as u8,
            layout: header_type(address) & HEADER_LAYOUT,
        })
    }

    /// Decodes and sizes every BAR. Decoding is off while a BAR is sized
    /// (all ones written, the mask read back, the address restored), so
    /// that the device never answers at the probe address; call this only
    /// for a device the hypervisor drives.
    pub fn bars(&self) -> [Option<Bar>; 6] {
        let mut bars = [None; 6];
        let count = match self.layout {
            LAYOUT_DEVICE => 6,
            LAYOUT_BRIDGE => 2,
            _ => 0,
        };
        let saved = self.command();
        self.set_command(saved & !(command::IO_SPACE | command::MEMORY_SPACE));
        let mut index = 0;
        while index < count {
            let bar = self.size_bar(index);
            bars[index] = bar;
            index += match bar {
                Some(Bar::Memory { wide: true, .. }) => 2,
                _ => 1,
            };
        }
        self.set_command(saved);
        bars
    }

    fn size_bar(&self, index: usize) -> Option<Bar> {
        let offset = reg::BAR0 + 4 * index as u8;
        let original = read32(self.address, offset);
        write32(self.address, offset, u32::MAX);
        let mask = read32(self.address, offset);
        write32(self.address, offset, original);
        if original & BAR_IO != 0 {
            let mask = mask & !BAR_IO_FLAGS & 0xFFFF;
            if mask == 0 {
                return None;
            }
            return Some(Bar::Io {
                base: (original & !BAR_IO_FLAGS) as u16,
                size: (!mask & 0xFFFF) + 1,
            });
        }
        let wide = original & BAR_TYPE_MASK == BAR_TYPE_64;
        let low_mask = mask & !BAR_MEMORY_FLAGS;
        let (high, high_mask) = if wide {
            // A 64-bit BAR in the last slot has no upper half: a broken device.
            if index + 1 >= 6 {
                return None;
            }
            let high_offset = offset + 4;
            let high = read32(self.address, high_offset);
            write32(self.address, high_offset, u32::MAX);
            let high_mask = read32(self.address, high_offset);
            write32(self.address, high_offset, high);
            (high, high_mask)
        } else {
            if low_mask == 0 {
                return None;
            }
            // A 32-bit BAR decodes nothing above 4 GiB: as if the upper
            // half were all ones and fixed.
            (0, u32::MAX)
        };
        let mask = u64::from(high_mask) << 32 | u64::from(low_mask);
        if mask == 0 {
            return None;
        }
        Some(Bar::Memory {
            base: u64::from(high) << 32 | u64::from(original & !BAR_MEMORY_FLAGS),
            size: (!mask).wrapping_add(1),
            wide,
            prefetchable: original & BAR_PREFETCHABLE != 0,
        })
    }

    /// The capability list, in link order.
    pub fn capabilities(&self) -> Capabilities {
        let first = if read32(self.address, reg::COMMAND) & STATUS_CAPABILITIES != 0 {
            read8(self.address, reg::CAPABILITIES_POINTER)
        } else {
            0
        };
        Capabilities {
            at: self.address,
            next: first,
            left: CAPABILITY_MAX_COUNT,
        }
    }

    /// Lets the device answer memory accesses and master the bus (DMA),
    /// and keeps its legacy interrupt line quiet: the hypervisor's drivers
    /// poll, and an asserted level-triggered line nobody clears would only
    /// disturb whoever shares it.
    pub fn enable_memory_and_bus_mastering(&self) {
        let enabled = self.command()
            | command::MEMORY_SPACE
            | command::BUS_MASTER
            | command::INTERRUPT_DISABLE;
        self.set_command(enabled);
    }

    fn command(&self) -> u16 {
        read16(self.address, reg::COMMAND)
    }

    /// Writes the command register. The status half of the dword is written
    /// as zeros, which leaves its write-one-to-clear bits alone.
    fn set_command(&self, value: u16) {
        write32(self.address, reg::COMMAND, u32::from(value));
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:04x} at {} (class {:02x}{:02x})",
            self.vendor, self.device, self.address, self.class, self.subclass
        )
    }
}

/// Walks a function's capability list.
pub struct Capabilities {
    at: Address,
    next: u8,
    left: usize,
}

impl Iterator for Capabilities {
    type Item = Capability;

    fn next(&mut self) -> Option<Capability> {
        let offset = self.next & !3;
        if offset < CAPABILITY_MIN_OFFSET || self.left == 0 {
            return None;
        }
        self.left -= 1;
        let header = read16(self.at, offset);
        self.next = (header >> 8) as u8;
        Some(Capability {
            offset,
            id: header as u8,
        })
    }
}

fn header_type(at: Address) -> u8 {
    (read32(at, reg::HEADER_DWORD) >> 16) as u8
}

/// Every function reachable from the host bridges, in bus order: bus 0 and
/// whatever lies behind its PCI-to-PCI bridges. A multi-function host bridge
/// at 00:00 means one host controller per function, each with its own root
/// bus numbered after the function. Each bus is scanned once, so a bridge
/// that claims an already scanned bus cannot send the walk round in a loop.
pub fn scan() -> Vec<Function> {
    let mut found = Vec::new();
    let mut seen = [false; 256];
    let host = Address {
        bus: 0,
        device: 0,
        function: 0,
    };
    if header_type(host) & HEADER_MULTIFUNCTION != 0 {
        for function in 0..8 {
            let controller = Address { function, ..host };
            if read16(controller, reg::VENDOR_ID) != ABSENT {
                scan_bus(function, &mut seen, &mut found);
            }
        }
    } else {
        scan_bus(0, &mut seen, &mut found);
    }
    found
}

fn scan_bus(bus: u8, seen: &mut [bool; 256], found: &mut Vec<Function>) {
    if core::mem::replace(&mut seen[usize::from(bus)], true) {
        return;
    }
    for device in 0..32 {
        let first = Address {
            bus,
            device,
            function: 0,
        };
        if read16(first, reg::VENDOR_ID) == ABSENT {
            continue;
        }
        let functions = if header_type(first) & HEADER_MULTIFUNCTION != 0 {
            8
        } else {
            1
        };
        for function in 0..functions {
            let Some(found_function) = Function::probe(Address { function, ..first }) else {
                continue;
            };
            found.push(found_function);
            if found_function.layout == LAYOUT_BRIDGE {
                let secondary = (read32(found_function.address, reg::BRIDGE_BUSES) >> 8) as u8;
                if secondary != 0 {
                    scan_bus(secondary, seen, found);
                }
            }
        }
    }
}
