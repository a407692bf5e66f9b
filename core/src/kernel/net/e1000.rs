//! A polled driver for the Intel 8254x gigabit controllers QEMU and Bochs
//! emulate as `e1000` (82540EM, and QEMU's 82545EM), following the "PCI/PCI-X
//! Family of Gigabit Ethernet Controllers Software Developer's Manual"
//! (8254x SDM): legacy receive and transmit descriptors (3.2.3, 3.3.3), one
//! ring each, all interrupts masked.
//!
//! Each descriptor owns one 2 KiB buffer in the same DMA block as the rings,
//! so a frame is copied once each way and nothing is allocated while running.

use core::sync::atomic::{Ordering, compiler_fence};

use super::super::pci::{Bar, Function};
use super::super::time;
use super::DriverError;
use super::dma::DmaBlock;

/// Intel's PCI vendor ID.
pub const VENDOR: u16 = 0x8086;
/// Device IDs this driver runs: 82540EM (desktop) and 82545EM (copper).
pub const DEVICE_IDS: [u16; 2] = [0x100E, 0x100F];

/// Register offsets in BAR0 (8254x SDM, 13.4).
mod reg {
    pub const CTRL: u32 = 0x0000;
    pub const EERD: u32 = 0x0014;
    pub const ICR: u32 = 0x00C0;
    pub const IMC: u32 = 0x00D8;
    pub const RCTL: u32 = 0x0100;
    pub const TCTL: u32 = 0x0400;
    pub const TIPG: u32 = 0x0410;
    pub const RDBAL: u32 = 0x2800;
    pub const RDBAH: u32 = 0x2804;
    pub const RDLEN: u32 = 0x2808;
    pub const RDH: u32 = 0x2810;
    pub const RDT: u32 = 0x2818;
    pub const TDBAL: u32 = 0x3800;
    pub const TDBAH: u32 = 0x3804;
    pub const TDLEN: u32 = 0x3808;
    pub const TDH: u32 = 0x3810;
    pub const TDT: u32 = 0x3818;
    /// Multicast table array: 128 dwords.
    pub const MTA: u32 = 0x5200;
    pub const RAL0: u32 = 0x5400;
    pub const RAH0: u32 = 0x5404;
}

/// Device control (8254x SDM, 13.4.1).
mod ctrl {
    pub const LRST: u32 = 1 << 3;
    pub const ASDE: u32 = 1 << 5;
    pub const SLU: u32 = 1 << 6;
    pub const ILOS: u32 = 1 << 7;
    pub const RST: u32 = 1 << 26;
    pub const PHY_RST: u32 = 1 << 31;
}

/// EEPROM read register, 82540/82545 layout (8254x SDM, 13.4.4).
mod eerd {
    pub const START: u32 = 1 << 0;
    pub const DONE: u32 = 1 << 4;
    pub const ADDRESS_SHIFT: u32 = 8;
    pub const DATA_SHIFT: u32 = 16;
}

/// Receive control (8254x SDM, 13.4.22).
mod rctl {
    pub const EN: u32 = 1 << 1;
    /// Accept broadcast: DHCP offers and ARP requests arrive broadcast.
    pub const BAM: u32 = 1 << 15;
    /// BSIZE = 00 with BSEX = 0: 2048-byte receive buffers.
    pub const BSIZE_2048: u32 = 0 << 16;
    /// Strip the Ethernet CRC, which smoltcp does not expect.
    pub const SECRC: u32 = 1 << 26;
}

/// Transmit control (8254x SDM, 13.4.33).
mod tctl {
    pub const EN: u32 = 1 << 1;
    /// Pad short frames to 64 bytes.
    pub const PSP: u32 = 1 << 3;
    /// Collision threshold: the recommended 0x0F, in bits 11:4.
    pub const CT: u32 = 0x0F << 4;
    /// Collision distance for full duplex: 0x40, in bits 21:12.
    pub const COLD: u32 = 0x40 << 12;
}

/// Transmit inter-packet gap for copper parts (8254x SDM, 13.4.34):
/// IPGT 10, IPGR1 8, IPGR2 6.
const TIPG_COPPER: u32 = 10 | 8 << 10 | 6 << 20;

/// Receive address high bit 31: the entry is valid.
const RAH_AV: u32 = 1 << 31;

/// How long the controller may take to come out of a software reset.
const RESET_TIMEOUT_NANOS: u64 = 10_000_000;
/// How long one EEPROM word may take to read.
const EEPROM_TIMEOUT_NANOS: u64 = 10_000_000;
/// BAR0 spans 128 KiB on every 8254x.
const REGISTER_WINDOW: u64 = 0x2_0000;

/// Legacy receive descriptor (8254x SDM, 3.2.3).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct RxDescriptor {
    buffer: u64,
    length: u16,
    checksum: u16,
    status: u8,
    errors: u8,
    special: u16,
}
const _: () = assert!(size_of::<RxDescriptor>() == 16);

/// Receive status bits (8254x SDM, 3.2.3.1).
mod rx_status {
    /// Descriptor done: the device has filled the buffer.
    pub const DD: u8 = 1 << 0;
    /// End of packet: the last buffer of a frame.
    pub const EOP: u8 = 1 << 1;
}

/// Legacy transmit descriptor (8254x SDM, 3.3.3).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct TxDescriptor {
    buffer: u64,
    length: u16,
    checksum_offset: u8,
    command: u8,
    status: u8,
    checksum_start: u8,
    special: u16,
}
const _: () = assert!(size_of::<TxDescriptor>() == 16);

/// Transmit command bits (8254x SDM, 3.3.3.1).
mod tx_command {
    /// End of packet.
    pub const EOP: u8 = 1 << 0;
    /// Insert the Ethernet CRC.
    pub const IFCS: u8 = 1 << 1;
    /// Report status: set DD when the descriptor is done.
    pub const RS: u8 = 1 << 3;
}

/// Transmit status bit 0: descriptor done.
const TX_STATUS_DD: u8 = 1 << 0;

/// Descriptors per ring: a multiple of eight, so each ring is a multiple of
/// 128 bytes as RDLEN and TDLEN require.
const RING: usize = 32;
const BUFFER: usize = 2048;
const RX_RING_OFFSET: usize = 0;
const TX_RING_OFFSET: usize = RING * 16;
const RX_BUFFERS_OFFSET: usize = 4096;
const TX_BUFFERS_OFFSET: usize = RX_BUFFERS_OFFSET + RING * BUFFER;
const DMA_BYTES: usize = TX_BUFFERS_OFFSET + RING * BUFFER;
const _: () = assert!(TX_RING_OFFSET + RING * 16 <= RX_BUFFERS_OFFSET);

/// The register window, the one place this driver touches MMIO.
struct Registers {
    base: usize,
}

impl Registers {
    /// # Safety
    ///
    /// `base` must be the start of this controller's 128 KiB register BAR,
    /// identity mapped uncacheable, with memory decoding on, and nothing else
    /// may drive the controller.
    unsafe fn new(base: u64) -> Registers {
        Registers {
            base: base as usize,
        }
    }

    fn read(&self, register: u32) -> u32 {
        // SAFETY: `register` is one of the offsets in `reg`, all inside the
        // window and dword aligned; the window is valid MMIO (see `new`).
        unsafe { ((self.base + register as usize) as *const u32).read_volatile() }
    }

    fn write(&self, register: u32, value: u32) {
        // SAFETY: as in `read`.
        unsafe { ((self.base + register as usize) as *mut u32).write_volatile(value) }
    }
}

/// A running 8254x.
pub struct E1000 {
    registers: Registers,
    dma: DmaBlock,
    mac: [u8; 6],
    /// The next receive descriptor the device will fill.
    rx_next: usize,
    /// The next transmit descriptor to hand to the device.
    tx_next: usize,
}

impl E1000 {
    /// Whether this driver runs `function`.
    pub fn supports(function: &Function) -> bool {
        function.vendor == VENDOR && DEVICE_IDS.contains(&function.device)
    }

    /// Resets the controller and brings both rings up.
    pub fn new(function: &Function) -> Result<E1000, DriverError> {
        let base = match function.bars()[0] {
            Some(Bar::Memory { base, size, .. }) if size >= REGISTER_WINDOW => base,
            _ => return Err(DriverError::NoRegisterBar { index: 0 }),
        };
        super::reachable(0, base, REGISTER_WINDOW)?;
        let dma = DmaBlock::new(DMA_BYTES).ok_or(DriverError::OutOfMemory)?;
        function.enable_memory_and_bus_mastering();
        // SAFETY: BAR0 is the 128 KiB register window (checked above), below
        // 4 GiB in no-RAM space and so identity mapped uncacheable, decoding
        // was just enabled, and the service core is the only driver.
        let registers = unsafe { Registers::new(base) };
        let mut nic = E1000 {
            registers,
            dma,
            mac: [0; 6],
            rx_next: 0,
            tx_next: 0,
        };
        nic.reset()?;
        nic.mac = nic.read_mac()?;
        nic.set_up_receive();
        nic.set_up_transmit();
        Ok(nic)
    }

    /// Global reset (8254x SDM, 14.3). Interrupts are masked before it, so
    /// nothing is raised while it runs, and again after it, in case firmware
    /// left a mask the reset does not clear; reading ICR drops any latched
    /// cause. Then link up, with speed and duplex left to the PHY.
    fn reset(&mut self) -> Result<(), DriverError> {
        let r = &self.registers;
        r.write(reg::IMC, u32::MAX);
        r.write(reg::CTRL, r.read(reg::CTRL) | ctrl::RST);
        let deadline = time::now_nanos() + RESET_TIMEOUT_NANOS;
        while r.read(reg::CTRL) & ctrl::RST != 0 {
            if time::now_nanos() > deadline {
                return Err(DriverError::ResetTimeout);
            }
            core::hint::spin_loop();
        }
        r.write(reg::IMC, u32::MAX);
        let _ = r.read(reg::ICR);
        let control = r.read(reg::CTRL);
        r.write(
            reg::CTRL,
            (control | ctrl::SLU | ctrl::ASDE) & !(ctrl::LRST | ctrl::PHY_RST | ctrl::ILOS),
        );
        Ok(())
    }

    /// The station address: receive address 0, which the controller loads
    /// from its EEPROM at reset, or else the EEPROM's first three words.
    fn read_mac(&self) -> Result<[u8; 6], DriverError> {
        let r = &self.registers;
        let low = r.read(reg::RAL0).to_le_bytes();
        let high = r.read(reg::RAH0);
        if high & RAH_AV != 0 {
            let [a, b] = (high as u16).to_le_bytes();
            let mac = [low[0], low[1], low[2], low[3], a, b];
            if mac != [0; 6] {
                return Ok(mac);
            }
        }
        let mut mac = [0; 6];
        for (word, pair) in mac.chunks_exact_mut(2).enumerate() {
            pair.copy_from_slice(&self.read_eeprom(word as u32)?.to_le_bytes());
        }
        r.write(
            reg::RAL0,
            u32::from_le_bytes([mac[0], mac[1], mac[2], mac[3]]),
        );
        r.write(
            reg::RAH0,
            u32::from(u16::from_le_bytes([mac[4], mac[5]])) | RAH_AV,
        );
        Ok(mac)
    }

    fn read_eeprom(&self, word: u32) -> Result<u16, DriverError> {
        let r = &self.registers;
        r.write(reg::EERD, eerd::START | word << eerd::ADDRESS_SHIFT);
        let deadline = time::now_nanos() + EEPROM_TIMEOUT_NANOS;
        loop {
            let value = r.read(reg::EERD);
            if value & eerd::DONE != 0 {
                return Ok((value >> eerd::DATA_SHIFT) as u16);
            }
            if time::now_nanos() > deadline {
                return Err(DriverError::NoMacAddress);
            }
            core::hint::spin_loop();
        }
    }

    /// Receive set-up (8254x SDM, 14.4): no multicast, every descriptor but
    /// one handed to the device (head == tail would mean none).
    fn set_up_receive(&mut self) {
        let r = &self.registers;
        for entry in 0..128 {
            r.write(reg::MTA + 4 * entry, 0);
        }
        for index in 0..RING {
            let descriptor = RxDescriptor {
                buffer: self.dma.bus_address(RX_BUFFERS_OFFSET + index * BUFFER),
                ..RxDescriptor::default()
            };
            self.dma.write(rx_descriptor(index), descriptor);
        }
        let ring = self.dma.bus_address(RX_RING_OFFSET);
        r.write(reg::RDBAL, ring as u32);
        r.write(reg::RDBAH, (ring >> 32) as u32);
        r.write(reg::RDLEN, (RING * size_of::<RxDescriptor>()) as u32);
        r.write(reg::RDH, 0);
        r.write(reg::RDT, (RING - 1) as u32);
        self.rx_next = 0;
        r.write(
            reg::RCTL,
            rctl::EN | rctl::BAM | rctl::BSIZE_2048 | rctl::SECRC,
        );
    }

    /// Transmit set-up (8254x SDM, 14.5). Every descriptor starts out done,
    /// so "done" is what "free" means from here on.
    fn set_up_transmit(&mut self) {
        let r = &self.registers;
        for index in 0..RING {
            let descriptor = TxDescriptor {
                buffer: self.dma.bus_address(TX_BUFFERS_OFFSET + index * BUFFER),
                status: TX_STATUS_DD,
                ..TxDescriptor::default()
            };
            self.dma.write(tx_descriptor(index), descriptor);
        }
        let ring = self.dma.bus_address(TX_RING_OFFSET);
        r.write(reg::TDBAL, ring as u32);
        r.write(reg::TDBAH, (ring >> 32) as u32);
        r.write(reg::TDLEN, (RING * size_of::<TxDescriptor>()) as u32);
        r.write(reg::TDH, 0);
        r.write(reg::TDT, 0);
        self.tx_next = 0;
        r.write(reg::TIPG, TIPG_COPPER);
        r.write(reg::TCTL, tctl::EN | tctl::PSP | tctl::CT | tctl::COLD);
    }

    /// The station address.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// Copies the next received frame into `into` and returns its length.
    /// Frames with errors, frames spread over several buffers (none are,
    /// with 2 KiB buffers and long packets off) and frames longer than
    /// `into` are dropped.
    pub fn receive(&mut self, into: &mut [u8]) -> Option<usize> {
        loop {
            let index = self.rx_next;
            let mut descriptor: RxDescriptor = self.dma.read(rx_descriptor(index));
            if descriptor.status & rx_status::DD == 0 {
                return None;
            }
            let length = usize::from(descriptor.length);
            let whole = descriptor.status & rx_status::EOP != 0 && descriptor.errors == 0;
            let fits = length <= into.len() && length <= BUFFER;
            if whole && fits {
                self.dma
                    .copy_out(RX_BUFFERS_OFFSET + index * BUFFER, &mut into[..length]);
            }
            descriptor.status = 0;
            self.dma.write(rx_descriptor(index), descriptor);
            compiler_fence(Ordering::Release);
            // The tail names the last descriptor the device may fill: give
            // this one back.
            self.registers.write(reg::RDT, index as u32);
            self.rx_next = (index + 1) % RING;
            if whole && fits {
                return Some(length);
            }
        }
    }

    /// Whether [`transmit`](Self::transmit) would take a frame now. One
    /// descriptor always stays free: a full ring would have tail == head,
    /// which the device reads as empty.
    pub fn can_transmit(&self) -> bool {
        let free = |index: usize| {
            self.dma.read::<TxDescriptor>(tx_descriptor(index)).status & TX_STATUS_DD != 0
        };
        free(self.tx_next) && free((self.tx_next + 1) % RING)
    }

    /// Queues one frame; false when the ring is full or the frame too long.
    pub fn transmit(&mut self, frame: &[u8]) -> bool {
        if frame.len() > BUFFER || !self.can_transmit() {
            return false;
        }
        let index = self.tx_next;
        let offset = TX_BUFFERS_OFFSET + index * BUFFER;
        self.dma.copy_in(offset, frame);
        let descriptor = TxDescriptor {
            buffer: self.dma.bus_address(offset),
            length: frame.len() as u16,
            command: tx_command::EOP | tx_command::IFCS | tx_command::RS,
            ..TxDescriptor::default()
        };
        self.dma.write(tx_descriptor(index), descriptor);
        self.tx_next = (index + 1) % RING;
        compiler_fence(Ordering::Release);
        self.registers.write(reg::TDT, self.tx_next as u32);
        true
    }
}

fn rx_descriptor(index: usize) -> usize {
    RX_RING_OFFSET + index * size_of::<RxDescriptor>()
}

fn tx_descriptor(index: usize) -> usize {
    TX_RING_OFFSET + index * size_of::<TxDescriptor>()
}
