//! The PC's pair of 8259A programmable interrupt controllers, cascaded, with
//! the PIIX/ICH edge/level control registers.
//!
//! Follows the Intel 8259A/8259A-2/8259A-8 datasheet (231468) — "Interrupt
//! Sequence", "Programming the 8259A" (ICW1–ICW4, OCW1–OCW3), "Modes of
//! Operation", "Cascade Mode" — and, for the ELCR at 0x4D0/0x4D1, the
//! 82371AB PIIX4 datasheet's ELCR1/ELCR2 (edge/level control) registers,
//! which hard-wire IRQ 0, 1, 2, 8 and 13 to edge. Per line the trigger mode is level if ICW1.LTIM or
//! its ELCR bit says so.
//!
//! ```text
//!   IRQ 8..15 ──▶ ┌───────┐ INT
//!                 │ slave ├──────┐
//!                 └───────┘      │  IR2
//!   IRQ 0,1,3..7 ───────────▶ ┌──▼─────┐ INTR
//!                             │ master ├──────▶ CPU (directly, or LAPIC LINT0
//!                             └────────┘         as ExtINT, or IOAPIC pin 0)
//! ```
//!
//! The slave's INT output is wired to the master's IR2 and followed after
//! every operation; ISA IRQ 2 does not exist on its own (it is the cascade)
//! and [`PicPair::set_irq`] ignores it.
//!
//! INTA ([`PicPair::ack`]) runs the datasheet's interrupt sequence: the
//! master resolves priority; for a cascade line the slave whose ICW3 ID
//! matches supplies the vector. Spurious interrupts come out as on hardware:
//! if the master has nothing to offer at INTA time (a level request dropped,
//! or the line was masked between INTR and INTA), it answers with its IR7
//! vector and sets no in-service bit; if the slave has nothing, it answers
//! with its own IR7 vector while the master's IR2 goes in service (the guest
//! must EOI the master only). If no slave answers for a cascade line (a
//! master ICW3 bit with no chip behind it, or a slave ID other than 2),
//! nobody drives the bus and the vector reads 0xFF.
//!
//! Ports: the pair occupies three non-contiguous two-port ranges
//! ([`PIC_PORT_RANGES`]), so it does not implement `PortDevice` (whose
//! offsets are relative to one range). [`PicPair::read_port`] and
//! [`PicPair::write_port`] take the absolute port number; a 2- or 4-byte
//! access is split into byte accesses to consecutive ports as the ISA bus
//! does, and ports the pair does not decode read 0xFF.
//!
//! Reset state: no datasheet defines one (the chip must be initialised). A
//! new pair is in the state a PC BIOS leaves — initialised, 8086 mode, edge,
//! master vector base 0x08, slave 0x70, cascade on IR2 — except that every
//! line but the cascade is masked, since no firmware handlers exist.
//!
//! Deliberately not modelled: MCS-80/85 mode's CALL-instruction INTA
//! responses (an x86 CPU cannot consume them; the mode is recorded and INTA
//! still returns `base + line`), buffered mode and the SP/EN pin (bus
//! drivers only; ICW4's BUF and M/S are recorded), and the requirement that
//! an edge-triggered IR stay high until INTA (virtual devices pulse in zero
//! time, so edge requests latch; see `set_irq`).

mod chip;
pub mod regs;

#[cfg(test)]
mod tests;

use chip::{Chip, Role};
pub use chip::{InitStage, PicChipSnapshot};

/// Master command port (A0 = 0).
pub const PIC_MASTER_COMMAND: u16 = 0x20;
/// Master data port (A0 = 1).
pub const PIC_MASTER_DATA: u16 = 0x21;
/// Slave command port.
pub const PIC_SLAVE_COMMAND: u16 = 0xA0;
/// Slave data port.
pub const PIC_SLAVE_DATA: u16 = 0xA1;
/// ELCR for IRQ 0–7.
pub const ELCR_MASTER: u16 = 0x4D0;
/// ELCR for IRQ 8–15.
pub const ELCR_SLAVE: u16 = 0x4D1;
/// The port ranges the pair decodes, as `(first, last)` inclusive.
pub const PIC_PORT_RANGES: [(u16, u16); 3] = [
    (PIC_MASTER_COMMAND, PIC_MASTER_DATA),
    (PIC_SLAVE_COMMAND, PIC_SLAVE_DATA),
    (ELCR_MASTER, ELCR_SLAVE),
];

/// ELCR1 bits that exist: IRQ 0, 1 and 2 are always edge.
pub const ELCR_MASTER_WRITABLE: u8 = 0xF8;
/// ELCR2 bits that exist: IRQ 8 (RTC) and 13 (FPU) are always edge.
pub const ELCR_SLAVE_WRITABLE: u8 = 0xDE;

/// The master line the slave's INT drives.
pub const CASCADE_LINE: u8 = 2;
/// Number of ISA IRQ lines the pair serves.
pub const PIC_IRQS: u8 = 16;

/// What the vector bus carries when no chip drives it.
const FLOATING_BUS: u8 = 0xFF;
/// The line a spurious interrupt reports.
const SPURIOUS_LINE: u8 = 7;

/// The guest-visible state of both chips.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PicSnapshot {
    /// The master (IRQ 0–7).
    pub master: PicChipSnapshot,
    /// The slave (IRQ 8–15).
    pub slave: PicChipSnapshot,
}

/// Who answers an INTA cycle, worked out before any state changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Responder {
    /// The master had nothing: spurious IR7, no in-service bit.
    MasterSpurious,
    /// A master line that is not a cascade.
    Master(u8),
    /// The master's cascade line `2`, and the slave's line (`None`:
    /// spurious on the slave).
    Slave(Option<u8>),
    /// A cascade line with no slave answering.
    Nobody(u8),
}

/// The cascaded 8259A pair.
#[derive(Clone, Debug)]
pub struct PicPair {
    master: Chip,
    slave: Chip,
}

impl Default for PicPair {
    fn default() -> PicPair {
        PicPair::new()
    }
}

impl PicPair {
    /// A pair in the BIOS-like reset state described in the module doc.
    pub fn new() -> PicPair {
        PicPair {
            master: Chip::new(
                Role::Master,
                0x08,
                1 << CASCADE_LINE,
                ELCR_MASTER_WRITABLE,
                0xFB,
            ),
            slave: Chip::new(Role::Slave, 0x70, CASCADE_LINE, ELCR_SLAVE_WRITABLE, 0xFF),
        }
    }

    /// Whether `port` is one the pair decodes.
    pub fn claims_port(port: u16) -> bool {
        PIC_PORT_RANGES
            .iter()
            .any(|(first, last)| (*first..=*last).contains(&port))
    }

    /// Drives ISA IRQ `irq` (0–15) to `level`; edge detection for
    /// edge-triggered lines happens inside. IRQ 2 (the cascade) and numbers
    /// past 15 are ignored.
    pub fn set_irq(&mut self, irq: u8, level: bool) {
        match irq {
            CASCADE_LINE => {}
            0..=7 => self.master.set_input(irq, level),
            8..=15 => {
                self.slave.set_input(irq - 8, level);
                self.follow_slave_int();
            }
            _ => {}
        }
    }

    /// The INTR output to the CPU.
    pub fn intr(&self) -> bool {
        self.master.int_output()
    }

    /// The vector an INTA cycle would return now, if INTR is asserted.
    pub fn pending_vector(&self) -> Option<u8> {
        self.intr().then(|| self.vector_of(self.responder()))
    }

    /// The vector an INTA cycle would return now, INTR asserted or not (with
    /// nothing requesting, the master's spurious IR7 vector).
    pub fn inta_vector(&self) -> u8 {
        self.vector_of(self.responder())
    }

    /// An INTA cycle: returns the vector, moves the request into service in
    /// the chip(s) concerned (or ends it at once under AEOI), and handles
    /// cascade and spurious cases as the module doc describes.
    pub fn ack(&mut self) -> u8 {
        let responder = self.responder();
        match responder {
            Responder::MasterSpurious => {}
            Responder::Master(line) | Responder::Nobody(line) => self.master.acknowledge(line),
            Responder::Slave(slave_line) => {
                self.master.acknowledge(CASCADE_LINE);
                if let Some(line) = slave_line {
                    self.slave.acknowledge(line);
                }
                // The slave's INT goes inactive during the INTA sequence, so
                // a request that is still (or again) pending afterwards is a
                // fresh edge on the master's IR2.
                self.master.set_input(CASCADE_LINE, false);
                self.follow_slave_int();
            }
        }
        self.vector_of(responder)
    }

    /// A guest `in` of `size` bytes from absolute `port`.
    pub fn read_port(&mut self, port: u16, size: u8) -> u32 {
        (0..size.min(4)).fold(0, |value, index| {
            let byte = self.read_byte(port.wrapping_add(u16::from(index)));
            value | u32::from(byte) << (8 * index)
        })
    }

    /// A guest `out` of `size` bytes to absolute `port`.
    pub fn write_port(&mut self, port: u16, size: u8, value: u32) {
        for index in 0..size.min(4) {
            let byte = (value >> (8 * index)) as u8;
            self.write_byte(port.wrapping_add(u16::from(index)), byte);
        }
    }

    /// The guest-visible state.
    pub fn snapshot(&self) -> PicSnapshot {
        PicSnapshot {
            master: self.master.snapshot(),
            slave: self.slave.snapshot(),
        }
    }

    fn read_byte(&mut self, port: u16) -> u8 {
        // An armed poll turns the next read of either port into an INTA.
        let value = match port {
            PIC_MASTER_COMMAND => self
                .master
                .take_poll()
                .unwrap_or_else(|| self.master.read_status()),
            PIC_MASTER_DATA => self
                .master
                .take_poll()
                .unwrap_or_else(|| self.master.read_mask()),
            PIC_SLAVE_COMMAND => self
                .slave
                .take_poll()
                .unwrap_or_else(|| self.slave.read_status()),
            PIC_SLAVE_DATA => self
                .slave
                .take_poll()
                .unwrap_or_else(|| self.slave.read_mask()),
            ELCR_MASTER => self.master.elcr(),
            ELCR_SLAVE => self.slave.elcr(),
            _ => FLOATING_BUS,
        };
        self.follow_slave_int();
        value
    }

    fn write_byte(&mut self, port: u16, value: u8) {
        match port {
            PIC_MASTER_COMMAND => self.master.write_command(value),
            PIC_MASTER_DATA => self.master.write_data(value),
            PIC_SLAVE_COMMAND => self.slave.write_command(value),
            PIC_SLAVE_DATA => self.slave.write_data(value),
            ELCR_MASTER => self.master.write_elcr(value),
            ELCR_SLAVE => self.slave.write_elcr(value),
            _ => {}
        }
        self.follow_slave_int();
    }

    /// The master's IR2 input follows the slave's INT output.
    fn follow_slave_int(&mut self) {
        self.master.set_input(CASCADE_LINE, self.slave.int_output());
    }

    fn responder(&self) -> Responder {
        let Some(line) = self.master.pending_line() else {
            return Responder::MasterSpurious;
        };
        if self.master.cascade_lines() & (1 << line) == 0 {
            Responder::Master(line)
        } else if line == CASCADE_LINE && self.slave.slave_id() == CASCADE_LINE {
            Responder::Slave(self.slave.pending_line())
        } else {
            Responder::Nobody(line)
        }
    }

    fn vector_of(&self, responder: Responder) -> u8 {
        match responder {
            Responder::MasterSpurious => self.master.vector_base() | SPURIOUS_LINE,
            Responder::Master(line) => self.master.vector_base() | line,
            Responder::Slave(line) => self.slave.vector_base() | line.unwrap_or(SPURIOUS_LINE),
            Responder::Nobody(_) => FLOATING_BUS,
        }
    }
}
