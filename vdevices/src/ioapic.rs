//! A virtual I/O APIC compatible with the Intel 82093AA (datasheet 290566,
//! §3.0 "Register Description") at the register level of the later version
//! 0x20 parts (ICH I/O APICs), which add a directed EOI register at 0x40.
//!
//! - §3.1: the memory-mapped window: IOREGSEL (index) at 0x00, IOWIN (data)
//!   at 0x10; version 0x20 adds EOI at 0x40.
//! - §3.2.1–§3.2.3: IOAPICID (bits 27:24, read/write), IOAPICVER (version
//!   0x20, maximum redirection entry 23), IOAPICARB (bits 27:24, read-only,
//!   loaded from the ID whenever the ID is written).
//! - §3.2.4: 24 redirection entries, registers 0x10–0x3F.
//!
//! Behaviour, from §3.2.4 and §2.4 "Interrupt Signals":
//!
//! - The input of a pin programmed active-low is inverted before anything
//!   else looks at it: [`IoApic::set_irq`] takes the electrical level.
//! - Edge-triggered: a rising edge of the (polarity-corrected) input on an
//!   unmasked entry sends one message. An edge on a masked entry is lost,
//!   not held pending.
//! - Level-triggered: while the input is asserted, the entry unmasked and its
//!   remote IRR clear, a message is sent and remote IRR set. An EOI for the
//!   entry's vector (a local APIC's broadcast via [`IoApic::eoi`], or a write
//!   to the EOI register) clears remote IRR; an input still asserted then
//!   sends again.
//! - Delivery status (bit 12) is 1 from the moment a message is due until the
//!   router takes it with [`IoApic::next_delivery`]; messages are built from
//!   the entry at that moment, as the hardware builds them when it sends.
//!
//! Accesses, which the datasheet requires to be 32-bit: IOREGSEL accepts any
//! width at offset 0x00 (the index is its low byte; reads return it
//! zero-extended); IOWIN takes only 4-byte accesses at exactly 0x10; EOI
//! takes a write of any width at exactly 0x40 (its low byte is the vector).
//! Everything else in the window reads 0 and ignores writes, as do indices
//! naming no register.
//!
//! Deliberately not modelled: the 82093AA's three-wire APIC bus and its
//! arbitration (messages go straight to the router), and the pin assertion
//! register some chipset IOAPICs add at 0x20.

mod redirection;

#[cfg(test)]
mod tests;

pub use redirection::{
    REDIR_DELIVERY_MODE_MASK, REDIR_DELIVERY_MODE_SHIFT, REDIR_DELIVERY_STATUS,
    REDIR_DESTINATION_LOGICAL, REDIR_DESTINATION_SHIFT, REDIR_MASKED, REDIR_POLARITY_LOW,
    REDIR_REMOTE_IRR, REDIR_RESET, REDIR_TRIGGER_LEVEL, REDIR_VECTOR_MASK, REDIR_WRITABLE,
};

use crate::lapic::{DeliveryMode, DestinationMode};
use crate::{MmioDevice, Nanos};
use redirection::RedirectionEntry;

/// Where the first IOAPIC sits on a PC.
pub const IOAPIC_DEFAULT_BASE: u64 = 0xFEC0_0000;
/// Size of the MMIO window claimed.
pub const IOAPIC_WINDOW_SIZE: u64 = 0x1000;
/// I/O register select (index) register offset.
pub const IOREGSEL: u64 = 0x00;
/// I/O window (data) register offset.
pub const IOWIN: u64 = 0x10;
/// EOI register offset (version 0x20).
pub const IOEOI: u64 = 0x40;

/// Index of the ID register.
pub const IOAPICID: u8 = 0x00;
/// Index of the version register.
pub const IOAPICVER: u8 = 0x01;
/// Index of the arbitration ID register.
pub const IOAPICARB: u8 = 0x02;
/// Index of the low half of redirection entry 0.
pub const IOREDTBL_BASE: u8 = 0x10;

/// Number of input pins and redirection entries.
pub const IOAPIC_PINS: u8 = 24;
/// Version register bits 7:0.
pub const IOAPIC_VERSION: u32 = 0x20;
/// Version register bits 23:16: the highest entry index.
pub const IOAPIC_MAX_REDIRECTION_ENTRY: u32 = IOAPIC_PINS as u32 - 1;
/// ID and arbitration ID live in bits 27:24.
const ID_SHIFT: u32 = 24;
const ID_MASK: u8 = 0x0F;

/// An interrupt message the IOAPIC sends to the local APICs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Delivery {
    /// The vector (ignored by SMI, NMI, INIT and ExtINT).
    pub vector: u8,
    /// How the destination treats it.
    pub delivery_mode: DeliveryMode,
    /// How `destination` is matched.
    pub destination_mode: DestinationMode,
    /// APIC ID or logical mask.
    pub destination: u8,
    /// Level-triggered: the receiving APIC sets TMR and its EOI comes back.
    pub trigger_level: bool,
    /// The pin that raised it.
    pub pin: u8,
}

/// The guest-visible state of the IOAPIC, for crash reports and tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IoApicSnapshot {
    /// IOAPICID bits 27:24.
    pub id: u8,
    /// IOAPICARB bits 27:24.
    pub arbitration_id: u8,
    /// The IOREGSEL index.
    pub ioregsel: u8,
    /// Every redirection entry as the guest reads it (with delivery status).
    pub redirection: [u64; IOAPIC_PINS as usize],
    /// Electrical level of each input pin, bit `n` for pin `n`.
    pub pin_levels: u32,
}

/// The I/O APIC.
#[derive(Clone, Debug)]
pub struct IoApic {
    id: u8,
    arbitration_id: u8,
    ioregsel: u8,
    entries: [RedirectionEntry; IOAPIC_PINS as usize],
    /// Electrical input levels, bit per pin.
    pin_levels: u32,
    /// Pins with a message due (their delivery status bits).
    pending: u32,
}

impl IoApic {
    /// An IOAPIC after reset with the given ID: every entry masked, every
    /// input low.
    pub fn new(id: u8) -> IoApic {
        IoApic {
            id: id & ID_MASK,
            arbitration_id: id & ID_MASK,
            ioregsel: 0,
            entries: [RedirectionEntry::RESET; IOAPIC_PINS as usize],
            pin_levels: 0,
            pending: 0,
        }
    }

    /// Drives input `pin` to electrical `level`. Pins past 23 are ignored.
    pub fn set_irq(&mut self, pin: u8, level: bool) {
        let Some(entry) = self.entries.get(usize::from(pin)).copied() else {
            return;
        };
        let was_asserted = self.asserted(pin);
        let bit = 1u32 << pin;
        if level {
            self.pin_levels |= bit;
        } else {
            self.pin_levels &= !bit;
        }
        if entry.is_level() {
            self.evaluate_level(pin);
        } else if !was_asserted && self.asserted(pin) && !entry.masked() {
            self.pending |= bit;
        }
    }

    /// Whether a message is waiting for [`IoApic::next_delivery`].
    pub fn has_pending_delivery(&self) -> bool {
        self.pending != 0
    }

    /// The next message to send, lowest pin first. A message due on a pin
    /// that was masked since, or whose level input dropped since, is not
    /// sent; a level message sets the entry's remote IRR.
    pub fn next_delivery(&mut self) -> Option<Delivery> {
        while self.pending != 0 {
            let pin = self.pending.trailing_zeros() as u8;
            self.pending &= !(1 << pin);
            let Some(entry) = self.entries.get_mut(usize::from(pin)) else {
                continue;
            };
            let entry_now = *entry;
            let Some(delivery_mode) = entry_now.delivery_mode() else {
                continue; // Reserved delivery modes send nothing.
            };
            if entry_now.masked() {
                continue;
            }
            let trigger_level = entry_now.is_level();
            if trigger_level {
                let asserted = ((self.pin_levels >> pin) & 1 != 0) != entry_now.polarity_low();
                if !asserted {
                    continue;
                }
                entry.set_remote_irr(true);
            }
            return Some(Delivery {
                vector: entry_now.vector(),
                delivery_mode,
                destination_mode: entry_now.destination_mode(),
                destination: entry_now.destination(),
                trigger_level,
                pin,
            });
        }
        None
    }

    /// Every message due now, in pin order.
    pub fn take_deliveries(&mut self) -> impl Iterator<Item = Delivery> + '_ {
        core::iter::from_fn(move || self.next_delivery())
    }

    /// An EOI for `vector`, from a local APIC's EOI broadcast or the EOI
    /// register: clears remote IRR of every level-triggered entry with that
    /// vector, which sends again if its input is still asserted.
    pub fn eoi(&mut self, vector: u8) {
        for pin in 0..IOAPIC_PINS {
            let entry = &mut self.entries[usize::from(pin)];
            if entry.remote_irr() && entry.vector() == vector {
                entry.set_remote_irr(false);
                self.evaluate_level(pin);
            }
        }
    }

    /// The guest-visible state.
    pub fn snapshot(&self) -> IoApicSnapshot {
        IoApicSnapshot {
            id: self.id,
            arbitration_id: self.arbitration_id,
            ioregsel: self.ioregsel,
            redirection: core::array::from_fn(|pin| self.entry_as_read(pin as u8)),
            pin_levels: self.pin_levels,
        }
    }

    /// The polarity-corrected input of `pin`.
    fn asserted(&self, pin: u8) -> bool {
        let Some(entry) = self.entries.get(usize::from(pin)) else {
            return false;
        };
        ((self.pin_levels >> pin) & 1 != 0) != entry.polarity_low()
    }

    /// Makes a level-triggered message due if the pin asks for one.
    fn evaluate_level(&mut self, pin: u8) {
        let Some(entry) = self.entries.get(usize::from(pin)).copied() else {
            return;
        };
        if entry.is_level() && self.asserted(pin) && !entry.masked() && !entry.remote_irr() {
            self.pending |= 1 << pin;
        }
    }

    fn entry_as_read(&self, pin: u8) -> u64 {
        let Some(entry) = self.entries.get(usize::from(pin)) else {
            return 0;
        };
        let status = if self.pending & (1 << pin) != 0 {
            REDIR_DELIVERY_STATUS
        } else {
            0
        };
        entry.raw() | status
    }

    fn read_register(&self, index: u8) -> u32 {
        match index {
            IOAPICID => u32::from(self.id) << ID_SHIFT,
            IOAPICVER => IOAPIC_VERSION | (IOAPIC_MAX_REDIRECTION_ENTRY << 16),
            IOAPICARB => u32::from(self.arbitration_id) << ID_SHIFT,
            _ => match redirection_half(index) {
                Some((pin, true)) => (self.entry_as_read(pin) >> 32) as u32,
                Some((pin, false)) => self.entry_as_read(pin) as u32,
                None => 0,
            },
        }
    }

    fn write_register(&mut self, index: u8, value: u32) {
        match index {
            IOAPICID => {
                self.id = (value >> ID_SHIFT) as u8 & ID_MASK;
                // §3.2.3: the arbitration ID is loaded from the ID on write.
                self.arbitration_id = self.id;
            }
            IOAPICVER | IOAPICARB => {}
            _ => {
                if let Some((pin, high)) = redirection_half(index) {
                    self.entries[usize::from(pin)].write_half(high, value);
                    // Unmasking, a trigger or polarity change, or a new
                    // vector may make an asserted level input due.
                    self.evaluate_level(pin);
                }
            }
        }
    }
}

/// The pin and half (`true` for bits 63:32) a register index names.
fn redirection_half(index: u8) -> Option<(u8, bool)> {
    let offset = index.checked_sub(IOREDTBL_BASE)?;
    let pin = offset / 2;
    (pin < IOAPIC_PINS).then_some((pin, offset % 2 == 1))
}

impl MmioDevice for IoApic {
    fn mmio_read(&mut self, offset: u64, size: u8, _now: Nanos) -> u64 {
        match (offset, size) {
            (IOREGSEL, 1 | 2 | 4 | 8) => u64::from(self.ioregsel),
            (IOWIN, 4) => u64::from(self.read_register(self.ioregsel)),
            _ => 0,
        }
    }

    fn mmio_write(&mut self, offset: u64, size: u8, value: u64, _now: Nanos) {
        match (offset, size) {
            (IOREGSEL, 1 | 2 | 4 | 8) => self.ioregsel = value as u8,
            (IOWIN, 4) => self.write_register(self.ioregsel, value as u32),
            (IOEOI, 1 | 2 | 4 | 8) => self.eoi(value as u8),
            _ => {}
        }
    }
}
