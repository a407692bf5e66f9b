//! PCI configuration mechanism #1 with a single host bridge, ports
//! 0xCF8–0xCFF.
//!
//! Follows the PCI Local Bus Specification 3.0, §3.2.2.3.2 "Software
//! Generation of Configuration Transactions" (CONFIG_ADDRESS at 0xCF8:
//! enable bit 31, bus 23:16, device 15:11, function 10:8, register 7:2;
//! bits 30:24 and 1:0 reserved and read as 0; only a doubleword access to
//! 0xCF8 reaches CONFIG_ADDRESS, anything else is an ordinary I/O access),
//! and §6.1 "Configuration Space Organization" (type 0 header). The host
//! bridge at 00:00.0 presents itself as the Intel 82441FX PMC of the 440FX
//! chipset, vendor 8086h device 1237h revision 02h, as QEMU's `pc` machine
//! does, so guests find a bridge they know; its register defaults and
//! writable bits are those of the 82441FX data sheet ("PCI Configuration
//! Registers": PCICMD 0006h with SERR# enable and parity error response
//! writable, PCISTS 0280h, MLT bits 7:3 writable).
//!
//! Every other bus, device and function reads all-ones (vendor FFFFh: no
//! device) and ignores writes. Data port accesses use the byte lanes of
//! 0xCFC–0xCFF: a byte at 0xCFC+n or a word at 0xCFC/0xCFE reaches register
//! byte (CONFIG_ADDRESS & 0xFC) + n. Non-doubleword accesses to 0xCF8–0xCFB
//! are ordinary I/O to absent hardware here: they read all-ones and writes
//! are ignored (on real chipsets 0xCF9 is the reset control register; it is
//! not emulated).
//!
//! Not modelled: the 82441FX's chipset registers from 40h up (PAM, SMRAM,
//! DRAM control) read 0 and ignore writes, so firmware that programs them
//! (SeaBIOS) sees nothing happen; no other PCI devices exist.

#[cfg(test)]
mod tests;

use crate::{Nanos, PortDevice};

/// Offset of CONFIG_ADDRESS (0xCF8).
pub const CONFIG_ADDRESS: u16 = 0;
/// Offset of CONFIG_DATA (0xCFC–0xCFF).
pub const CONFIG_DATA: u16 = 4;
/// Ports the device spans.
pub const PORT_COUNT: u16 = 8;

/// CONFIG_ADDRESS: configuration space mapping enabled.
pub const ADDRESS_ENABLE: u32 = 1 << 31;
/// CONFIG_ADDRESS bits that hold a value; the rest read 0.
pub const ADDRESS_WRITABLE: u32 = ADDRESS_ENABLE | 0x00FF_FFFC;
/// CONFIG_ADDRESS: bus, device and function (bits 23:8).
pub const ADDRESS_BDF_MASK: u32 = 0x00FF_FF00;
/// CONFIG_ADDRESS: doubleword register number (bits 7:2), as a byte offset.
pub const ADDRESS_REGISTER_MASK: u32 = 0xFC;

/// Configuration space: vendor ID.
pub const VENDOR_ID: usize = 0x00;
/// Configuration space: device ID.
pub const DEVICE_ID: usize = 0x02;
/// Configuration space: command register.
pub const COMMAND: usize = 0x04;
/// Configuration space: status register.
pub const STATUS: usize = 0x06;
/// Configuration space: revision ID.
pub const REVISION_ID: usize = 0x08;
/// Configuration space: programming interface, subclass, base class.
pub const CLASS_CODE: usize = 0x09;
/// Configuration space: cache line size.
pub const CACHE_LINE_SIZE: usize = 0x0C;
/// Configuration space: master latency timer.
pub const LATENCY_TIMER: usize = 0x0D;
/// Configuration space: header type.
pub const HEADER_TYPE: usize = 0x0E;

/// Intel's vendor ID.
pub const VENDOR_INTEL: u16 = 0x8086;
/// 82441FX PMC (440FX host bridge).
pub const DEVICE_82441FX: u16 = 0x1237;
/// 82441FX revision as QEMU reports it.
pub const REVISION_82441FX: u8 = 0x02;
/// Base class 06h (bridge), subclass 00h (host bridge), interface 00h.
pub const CLASS_HOST_BRIDGE: [u8; 3] = [0x00, 0x00, 0x06];

/// Command: memory space enable (hard-wired 1 on the host bridge).
pub const COMMAND_MEMORY: u16 = 1 << 1;
/// Command: bus master enable (hard-wired 1 on the host bridge).
pub const COMMAND_BUS_MASTER: u16 = 1 << 2;
/// Command: parity error response (writable).
pub const COMMAND_PARITY_ERROR: u16 = 1 << 6;
/// Command: SERR# enable (writable).
pub const COMMAND_SERR: u16 = 1 << 8;
/// Status: fast back-to-back capable.
pub const STATUS_FAST_BACK_TO_BACK: u16 = 1 << 7;
/// Status: DEVSEL# timing medium.
pub const STATUS_DEVSEL_MEDIUM: u16 = 1 << 9;
/// Master latency timer bits that are writable (count of 8 clocks).
pub const LATENCY_TIMER_WRITABLE: u8 = 0xF8;

/// Size of a conventional configuration space.
const CONFIG_SPACE: usize = 256;

/// Configuration mechanism #1 and the host bridge behind it.
#[derive(Clone, Debug)]
pub struct PciHost {
    address: u32,
    config: [u8; CONFIG_SPACE],
    /// Writable bits of each configuration byte.
    write_mask: [u8; CONFIG_SPACE],
}

impl Default for PciHost {
    fn default() -> Self {
        Self::new()
    }
}

impl PciHost {
    /// The host bridge after reset, CONFIG_ADDRESS 0.
    pub fn new() -> PciHost {
        let mut config = [0u8; CONFIG_SPACE];
        let mut write_mask = [0u8; CONFIG_SPACE];
        let mut put = |offset: usize, bytes: &[u8]| {
            config[offset..offset + bytes.len()].copy_from_slice(bytes);
        };
        put(VENDOR_ID, &VENDOR_INTEL.to_le_bytes());
        put(DEVICE_ID, &DEVICE_82441FX.to_le_bytes());
        put(
            COMMAND,
            &(COMMAND_MEMORY | COMMAND_BUS_MASTER).to_le_bytes(),
        );
        put(
            STATUS,
            &(STATUS_FAST_BACK_TO_BACK | STATUS_DEVSEL_MEDIUM).to_le_bytes(),
        );
        put(REVISION_ID, &[REVISION_82441FX]);
        put(CLASS_CODE, &CLASS_HOST_BRIDGE);
        // Header type 0, single function.
        put(HEADER_TYPE, &[0x00]);
        let command_mask = (COMMAND_PARITY_ERROR | COMMAND_SERR).to_le_bytes();
        write_mask[COMMAND..COMMAND + 2].copy_from_slice(&command_mask);
        write_mask[LATENCY_TIMER] = LATENCY_TIMER_WRITABLE;
        PciHost {
            address: 0,
            config,
            write_mask,
        }
    }

    /// CONFIG_ADDRESS as the guest last wrote it (reserved bits cleared).
    pub fn config_address(&self) -> u32 {
        self.address
    }

    /// The host bridge's configuration space, read-only.
    pub fn host_bridge_config(&self) -> &[u8; CONFIG_SPACE] {
        &self.config
    }

    /// The state for crash reports and tests.
    pub fn snapshot(&self) -> PciSnapshot {
        PciSnapshot {
            config_address: self.address,
            command: u16::from_le_bytes([self.config[COMMAND], self.config[COMMAND + 1]]),
            latency_timer: self.config[LATENCY_TIMER],
        }
    }

    /// The host bridge's configuration byte that data port `port` (an
    /// offset 4..8) reaches, or `None` when nothing answers.
    fn target(&self, port: u16) -> Option<usize> {
        if self.address & ADDRESS_ENABLE == 0 || self.address & ADDRESS_BDF_MASK != 0 {
            return None;
        }
        let register = (self.address & ADDRESS_REGISTER_MASK) as usize;
        Some(register + usize::from(port - CONFIG_DATA))
    }
}

impl PortDevice for PciHost {
    fn port_read(&mut self, offset: u16, size: u8, _now: Nanos) -> u32 {
        if offset == CONFIG_ADDRESS && size == 4 {
            return self.address;
        }
        let mut value = 0;
        for lane in 0..size.min(4) {
            let port = offset.wrapping_add(u16::from(lane));
            let byte = match port {
                CONFIG_DATA..PORT_COUNT => self.target(port).map_or(0xFF, |at| self.config[at]),
                _ => 0xFF,
            };
            value |= u32::from(byte) << (8 * lane);
        }
        value
    }

    fn port_write(&mut self, offset: u16, size: u8, value: u32, _now: Nanos) {
        if offset == CONFIG_ADDRESS && size == 4 {
            self.address = value & ADDRESS_WRITABLE;
            return;
        }
        for lane in 0..size.min(4) {
            let port = offset.wrapping_add(u16::from(lane));
            if !(CONFIG_DATA..PORT_COUNT).contains(&port) {
                continue;
            }
            if let Some(at) = self.target(port) {
                let byte = (value >> (8 * lane)) as u8;
                let mask = self.write_mask[at];
                self.config[at] = (self.config[at] & !mask) | (byte & mask);
            }
        }
    }
}

/// What [`PciHost::snapshot`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PciSnapshot {
    /// CONFIG_ADDRESS.
    pub config_address: u32,
    /// The host bridge's command register.
    pub command: u16,
    /// The host bridge's master latency timer.
    pub latency_timer: u8,
}
