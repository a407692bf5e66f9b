//! Emulated platform devices and I/O port ranges.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

use crate::partition::Protocol;

/// An inclusive range of I/O ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PortRange {
    /// First port.
    pub start: u16,
    /// Last port, included.
    pub end: u16,
}

impl PortRange {
    /// The range `start..=end`.
    pub const fn new(start: u16, end: u16) -> Self {
        Self { start, end }
    }

    /// Whether the two ranges share a port.
    pub const fn overlaps(&self, other: &PortRange) -> bool {
        self.start <= other.end && other.start <= self.end
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            write!(f, "{:#x}", self.start)
        } else {
            write!(f, "{:#x}-{:#x}", self.start, self.end)
        }
    }
}

/// The emulated devices of one partition (`[partition.devices]`).
///
/// Every field is resolved: the front end fills what the file leaves out with
/// [`Devices::defaults_for`] the partition's protocol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Devices {
    /// 16550 UARTs (`uart`).
    pub uarts: Vec<Uart>,
    /// The 8259 pair, with ELCR (`pic`).
    pub pic: bool,
    /// An IOAPIC at 0xFEC00000, 24 pins (`ioapic`).
    pub ioapic: bool,
    /// A local APIC per vCPU at 0xFEE00000 (`lapic`).
    pub lapic: bool,
    /// The 8254 PIT and port 0x61 (`pit`).
    pub pit: bool,
    /// The CMOS RTC (`rtc`).
    pub rtc: bool,
    /// A PCI host bridge with configuration mechanism #1 at 0xCF8 (`pci`).
    pub pci: bool,
    /// QEMU's fw_cfg interface at 0x510 (`fw_cfg`).
    pub fw_cfg: bool,
    /// The debug-exit port that ends the partition with a code (`debug_exit`).
    pub debug_exit: Option<DebugExit>,
}

/// One emulated 16550 UART.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Uart {
    /// Base I/O port; the UART takes eight ports from it.
    pub port: u16,
    /// Interrupt line (ISA IRQ, also the IOAPIC pin).
    pub irq: u8,
    /// Whether this UART is the partition's console (network and local).
    pub console: bool,
}

impl Uart {
    /// COM1 at 0x3F8, IRQ 4, the console.
    pub const COM1: Uart = Uart {
        port: 0x3F8,
        irq: 4,
        console: true,
    };

    /// The ports the UART decodes.
    pub fn ports(&self) -> PortRange {
        PortRange::new(self.port, self.port.saturating_add(7))
    }

    /// The IRQ a PC wires to a standard COM port base, if `port` is one.
    pub const fn standard_irq(port: u16) -> Option<u8> {
        match port {
            0x3F8 | 0x3E8 => Some(4),
            0x2F8 | 0x2E8 => Some(3),
            _ => None,
        }
    }
}

/// The debug-exit device: a write of `v` ends the partition with exit code `(v << 1) | 1`,
/// as QEMU's `isa-debug-exit` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DebugExit {
    /// Base I/O port.
    pub port: u16,
    /// Ports decoded from the base: 1, 2 or 4.
    pub size: u8,
}

impl DebugExit {
    /// The default placement, as in QEMU test setups: `iobase=0xf4,iosize=4`.
    pub const DEFAULT: DebugExit = DebugExit {
        port: 0xF4,
        size: 4,
    };

    /// The ports the device decodes.
    pub fn ports(&self) -> PortRange {
        let last = u16::from(self.size.max(1)) - 1;
        PortRange::new(self.port, self.port.saturating_add(last))
    }
}

/// Interrupt line of the PIT's channel 0.
pub(crate) const PIT_IRQ: u8 = 0;
/// Interrupt line the slave 8259 cascades into.
pub(crate) const CASCADE_IRQ: u8 = 2;
/// Interrupt line of the RTC.
pub(crate) const RTC_IRQ: u8 = 8;

impl Devices {
    /// The devices a partition of `protocol` gets when `[partition.devices]` says nothing.
    ///
    /// | protocol  | uart | pic | ioapic | lapic | pit | rtc | pci | fw_cfg | debug_exit |
    /// |-----------|------|-----|--------|-------|-----|-----|-----|--------|------------|
    /// | realmode  | COM1 | on  | off    | off   | on  | on  | off | off    | off        |
    /// | multiboot | COM1 | on  | on     | on    | on  | on  | off | off    | off        |
    /// | pvh       | COM1 | on  | on     | on    | on  | on  | on  | off    | off        |
    /// | linux     | COM1 | on  | on     | on    | on  | on  | on  | off    | off        |
    pub fn defaults_for(protocol: Protocol) -> Self {
        let apic = !matches!(protocol, Protocol::RealMode);
        let pci = matches!(protocol, Protocol::Pvh | Protocol::Linux);
        Self {
            uarts: vec![Uart::COM1],
            pic: true,
            ioapic: apic,
            lapic: apic,
            pit: true,
            rtc: true,
            pci,
            fw_cfg: false,
            debug_exit: None,
        }
    }

    /// Every emulated device's I/O ports, with a name for messages and the key path
    /// (relative to `devices`) that turns it on.
    pub(crate) fn port_claims(&self) -> Vec<(String, PortRange, String)> {
        let mut out = Vec::new();
        let mut push = |name: &str, start: u16, end: u16, key: String| {
            out.push((String::from(name), PortRange::new(start, end), key));
        };
        if self.pic {
            push("the emulated 8259 PIC", 0x20, 0x21, "pic".into());
            push("the emulated 8259 PIC", 0xA0, 0xA1, "pic".into());
            push("the emulated ELCR", 0x4D0, 0x4D1, "pic".into());
        }
        if self.pit {
            push("the emulated 8254 PIT", 0x40, 0x43, "pit".into());
            push(
                "the emulated port 0x61 (PIT gate)",
                0x61,
                0x61,
                "pit".into(),
            );
        }
        if self.rtc {
            push("the emulated RTC", 0x70, 0x71, "rtc".into());
        }
        if self.pci {
            push("the emulated PCI host bridge", 0xCF8, 0xCFF, "pci".into());
        }
        if self.fw_cfg {
            push("the emulated fw_cfg", 0x510, 0x51B, "fw_cfg".into());
        }
        for (i, uart) in self.uarts.iter().enumerate() {
            let r = uart.ports();
            push(
                "an emulated UART",
                r.start,
                r.end,
                alloc::format!("uart[{i}]"),
            );
        }
        if let Some(d) = self.debug_exit {
            let r = d.ports();
            push(
                "the emulated debug-exit port",
                r.start,
                r.end,
                "debug_exit".into(),
            );
        }
        out
    }
}
