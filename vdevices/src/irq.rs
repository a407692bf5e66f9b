//! The per-partition interrupt router: the wiring of a PC between device
//! interrupt lines, the 8259 pair, the IOAPIC and the vCPUs' local APICs.
//!
//! ```text
//!   ISA IRQ 0,1,3..15 --+------------------> [PicPair] --INTR--+--> LINT0 of vCPU 0's LAPIC
//!                       |                                      |    (ExtINT: virtual wire)
//!                       |                                      +--> IOAPIC pin 0
//!                       |  IRQ 0 -> pin 2, IRQ n -> pin n
//!                       +------------------> [IoApic] --messages--> [LocalApic i] --> vCPU i
//!   PCI 16..23 (active low) ---------------> pins 16..23   ^              |
//!                                                          +-- EOI of a --+
//!                                                              level vector
//!   [LocalApic i] --IPI--> [LocalApic j]: the partition's own vCPUs only
//! ```
//!
//! - **Lines.** [`Router::set_irq`] takes a line's logical level. ISA IRQ
//!   `n` (0–15) feeds PIC IRQ `n` and IOAPIC pin `n`, except IRQ 0 (the PIT),
//!   which feeds pin 2 — the interrupt source override every PC's MADT
//!   declares — and IRQ 2, which does not exist (it is the PIC cascade) and
//!   is ignored. Lines 16–23 are PCI interrupts: IOAPIC pins 16–23 only,
//!   driven active-low (electrically high when idle), as the ACPI tables must
//!   describe them (level, active low). ISA pins are active-high.
//! - **IOAPIC pin 0** is wired to the PIC's INTR output, so a guest may run
//!   the 8259 "through the IOAPIC" with an ExtINT entry on pin 0.
//! - **Messages.** IOAPIC deliveries and IPIs are matched against the
//!   partition's local APICs (APIC ID `i` for vCPU `i`). Fixed messages set
//!   the IRR of every match; lowest-priority ones pick the match with the
//!   lowest TPR (ties: lowest vCPU index); ExtINT ones make the vCPU fetch
//!   its next vector from the PIC; NMI, SMI, INIT and start-up become
//!   [`RouterEvent`]s for the core, since they change vCPU state (INIT also
//!   resets the target's local APIC here). A message that matches no vCPU of
//!   the partition — an IPI to another partition's core, say — is dropped
//!   and reported as an event for the caller to log. Nothing here can reach
//!   outside the partition.
//! - **Level EOIs.** A local APIC's EOI for a level-triggered vector is
//!   broadcast to the IOAPIC, which clears remote IRR and re-sends if the
//!   line is still asserted.
//! - **Injection.** [`Router::next_injection`] answers which vector the vCPU
//!   should take next: the 8259's, when it reaches this vCPU (LINT0 unmasked
//!   as ExtINT — virtual-wire mode —, an ExtINT message from the IOAPIC, or,
//!   on vCPU 0, when the partition has no local APIC or its APIC is globally
//!   disabled) and INTR is up; otherwise the local APIC's pending vector.
//!   The 8259 goes first, as in KVM. When the guest can take it, the backend
//!   calls [`Router::acknowledge`], which runs the INTA cycle in the right
//!   controller and returns the vector to inject.
//!
//! On construction vCPU 0's local APIC is put in virtual-wire mode, as a PC
//! BIOS leaves it, so a guest that never touches its APIC still receives
//! 8259 interrupts.
//!
//! Everything that changes routing state through the router (`set_irq`, the
//! MMIO and port wrappers, `next_injection`, `acknowledge`) settles it
//! before returning. After mutating a device directly through
//! [`Router::ioapic_mut`] and friends, call [`Router::sync`].

mod delivery;
#[cfg(test)]
mod tests;

use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;

use crate::ioapic::{Delivery, IoApic, IoApicSnapshot};
use crate::lapic::{ApicClock, Ipi, LocalApic, LocalApicSnapshot};
use crate::pic::{PicPair, PicSnapshot};
use crate::{MmioDevice, Nanos};

/// ISA IRQ lines 0–15.
pub const ISA_IRQS: u8 = 16;
/// All lines the router takes: ISA 0–15 and PCI 16–23.
pub const ROUTER_LINES: u8 = 24;
/// The first PCI line (and IOAPIC pin).
pub const FIRST_PCI_LINE: u8 = 16;
/// The PIT's ISA IRQ.
pub const ISA_TIMER_IRQ: u8 = 0;
/// The IOAPIC pin ISA IRQ 0 is wired to (the MADT's interrupt source
/// override IRQ 0 → GSI 2).
pub const TIMER_IOAPIC_PIN: u8 = 2;
/// The ISA IRQ that is the 8259 cascade and no device line.
pub const CASCADE_IRQ: u8 = 2;
/// The IOAPIC pin the 8259's INTR drives.
pub const PIC_INTR_IOAPIC_PIN: u8 = 0;
/// The IOAPIC's ID (as QEMU's PC does; xAPIC systems keep IOAPIC and local
/// APIC IDs apart, so it may equal vCPU 0's).
pub const IOAPIC_ID: u8 = 0;
/// Events that may wait for the core before further ones are dropped.
pub const EVENT_QUEUE_CAPACITY: usize = 64;

/// The IOAPIC pin a router line reaches, if any.
pub const fn ioapic_pin(line: u8) -> Option<u8> {
    match line {
        ISA_TIMER_IRQ => Some(TIMER_IOAPIC_PIN),
        CASCADE_IRQ => None,
        1..ROUTER_LINES => Some(line),
        _ => None,
    }
}

/// Which controllers a partition has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RouterConfig {
    /// An 8259 pair at the legacy ports.
    pub pic: bool,
    /// An IOAPIC.
    pub ioapic: bool,
    /// Local APICs, one per vCPU (APIC ID = vCPU index); 0 for none.
    pub lapic_count: u8,
    /// The local APICs' timer and TSC clocks.
    pub apic_clock: ApicClock,
}

/// Something the core has to do because of an interrupt message, or should
/// log because a message went nowhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RouterEvent {
    /// Deliver an NMI to `vcpu`.
    Nmi {
        /// Target vCPU.
        vcpu: usize,
    },
    /// Deliver an SMI to `vcpu` (partitions have no SMM: log and drop).
    Smi {
        /// Target vCPU.
        vcpu: usize,
    },
    /// `vcpu` received INIT: its local APIC has been reset; the core resets
    /// the vCPU and holds it in wait-for-SIPI.
    Init {
        /// Target vCPU.
        vcpu: usize,
    },
    /// `vcpu` received a start-up IPI: it starts in real mode at
    /// `vector << 12` if it waits for SIPI.
    StartUp {
        /// Target vCPU.
        vcpu: usize,
        /// Start page.
        vector: u8,
    },
    /// An IPI from `from` whose destination matched no vCPU of the partition.
    UnroutedIpi {
        /// Sending vCPU.
        from: usize,
        /// The IPI as sent.
        ipi: Ipi,
    },
    /// An IOAPIC message whose destination matched no vCPU.
    UnroutedDelivery {
        /// The message as sent.
        delivery: Delivery,
    },
}

/// The guest-visible state of every controller, for crash reports and tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouterSnapshot {
    /// The 8259 pair, if configured.
    pub pic: Option<PicSnapshot>,
    /// The IOAPIC, if configured.
    pub ioapic: Option<IoApicSnapshot>,
    /// Each vCPU's local APIC.
    pub lapics: Vec<LocalApicSnapshot>,
    /// Logical level of each line, bit `n` for line `n`.
    pub line_levels: u32,
    /// vCPUs owed an 8259 INTA by an ExtINT message.
    pub extint_pending: Vec<bool>,
    /// Events not yet taken by the core.
    pub events_queued: usize,
    /// Events dropped because the queue was full.
    pub events_dropped: u64,
}

/// Where a vCPU's next interrupt comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Pic,
    Lapic,
}

/// The interrupt router of one partition.
#[derive(Clone, Debug)]
pub struct Router {
    pic: Option<PicPair>,
    ioapic: Option<IoApic>,
    lapics: Vec<LocalApic>,
    line_levels: u32,
    extint_pending: Vec<bool>,
    events: VecDeque<RouterEvent>,
    events_dropped: u64,
}

impl Router {
    /// The controllers `config` asks for, in their reset states, with vCPU
    /// 0's local APIC in virtual-wire mode and the PCI lines idle.
    pub fn new(config: RouterConfig) -> Router {
        let mut lapics: Vec<LocalApic> = (0..config.lapic_count)
            .map(|id| LocalApic::new(id, config.apic_clock))
            .collect();
        if let Some(bootstrap) = lapics.first_mut() {
            bootstrap.enter_virtual_wire_mode();
        }
        let mut ioapic = config.ioapic.then(|| IoApic::new(IOAPIC_ID));
        if let Some(ioapic) = &mut ioapic {
            for line in FIRST_PCI_LINE..ROUTER_LINES {
                ioapic.set_irq(line, true);
            }
        }
        let vcpus = usize::from(config.lapic_count).max(1);
        Router {
            pic: config.pic.then(PicPair::new),
            ioapic,
            lapics,
            line_levels: 0,
            extint_pending: vec![false; vcpus],
            events: VecDeque::new(),
            events_dropped: 0,
        }
    }

    /// How many vCPUs the router serves: one per local APIC, or one.
    pub fn vcpu_count(&self) -> usize {
        self.extint_pending.len()
    }

    /// Drives `line` (0–23) to logical `level` (true = asserted). Lines past
    /// 23 are ignored.
    pub fn set_irq(&mut self, line: u8, level: bool) {
        if line >= ROUTER_LINES {
            return;
        }
        let bit = 1u32 << line;
        if level {
            self.line_levels |= bit;
        } else {
            self.line_levels &= !bit;
        }
        if line < ISA_IRQS
            && let Some(pic) = &mut self.pic
        {
            pic.set_irq(line, level);
        }
        if let (Some(ioapic), Some(pin)) = (&mut self.ioapic, ioapic_pin(line)) {
            let electrical = if line >= FIRST_PCI_LINE {
                !level
            } else {
                level
            };
            ioapic.set_irq(pin, electrical);
        }
        self.route();
    }

    /// An edge on `line`: asserted, then released.
    pub fn pulse_irq(&mut self, line: u8) {
        self.set_irq(line, true);
        self.set_irq(line, false);
    }

    /// Which vector `vcpu` should take next, after polling its local APIC
    /// timer at `now` and settling all routing; `None` if nothing is
    /// pending. This only looks: nothing is acknowledged, so a backend can
    /// use it to decide whether to open an interrupt window.
    pub fn next_injection(&mut self, vcpu: usize, now: Nanos) -> Option<u8> {
        if let Some(lapic) = self.lapics.get_mut(vcpu) {
            lapic.poll_timer(now);
        }
        self.route();
        match self.source(vcpu)? {
            Source::Pic => self.pic.as_ref().map(PicPair::inta_vector),
            Source::Lapic => self.lapics.get(vcpu).and_then(LocalApic::pending_vector),
        }
    }

    /// The vCPU is about to take an interrupt: runs the acknowledge cycle in
    /// the controller [`Router::next_injection`] chose (an 8259 INTA for
    /// ExtINT, IRR → ISR in the local APIC otherwise) and returns the vector
    /// to inject. Called right after `next_injection` it returns the same
    /// vector; if a request vanished in between, the 8259 answers with its
    /// spurious vector, as the hardware would.
    pub fn acknowledge(&mut self, vcpu: usize) -> Option<u8> {
        match self.source(vcpu)? {
            Source::Pic => {
                let vector = self.pic.as_mut()?.ack();
                if let Some(owed) = self.extint_pending.get_mut(vcpu) {
                    *owed = false;
                }
                self.route();
                Some(vector)
            }
            Source::Lapic => self.lapics.get_mut(vcpu)?.ack(),
        }
    }

    /// When `vcpu`'s local APIC timer next fires, for arming a host timer
    /// while the vCPU is halted.
    pub fn next_timer_deadline(&self, vcpu: usize) -> Option<Nanos> {
        self.lapics.get(vcpu)?.next_timer_deadline()
    }

    /// The next event for the core, oldest first.
    pub fn take_event(&mut self) -> Option<RouterEvent> {
        self.events.pop_front()
    }

    /// Settles routing after direct changes to the controllers: the PIC's
    /// INTR to IOAPIC pin 0, IOAPIC messages to local APICs, EOI broadcasts
    /// to the IOAPIC, IPIs between local APICs.
    pub fn sync(&mut self) {
        self.route();
    }

    /// The 8259 pair, if configured.
    pub fn pic(&self) -> Option<&PicPair> {
        self.pic.as_ref()
    }

    /// The 8259 pair, if configured. Call [`Router::sync`] after changes.
    pub fn pic_mut(&mut self) -> Option<&mut PicPair> {
        self.pic.as_mut()
    }

    /// The IOAPIC, if configured.
    pub fn ioapic(&self) -> Option<&IoApic> {
        self.ioapic.as_ref()
    }

    /// The IOAPIC, if configured. Call [`Router::sync`] after changes.
    pub fn ioapic_mut(&mut self) -> Option<&mut IoApic> {
        self.ioapic.as_mut()
    }

    /// `vcpu`'s local APIC, if configured.
    pub fn lapic(&self, vcpu: usize) -> Option<&LocalApic> {
        self.lapics.get(vcpu)
    }

    /// `vcpu`'s local APIC, if configured. Call [`Router::sync`] after
    /// changes.
    pub fn lapic_mut(&mut self, vcpu: usize) -> Option<&mut LocalApic> {
        self.lapics.get_mut(vcpu)
    }

    /// A guest `in` from a PIC or ELCR port (absolute port number); all-ones
    /// without a PIC.
    pub fn pic_port_read(&mut self, port: u16, size: u8) -> u32 {
        let Some(pic) = &mut self.pic else {
            return all_ones(size) as u32;
        };
        let value = pic.read_port(port, size);
        self.route();
        value
    }

    /// A guest `out` to a PIC or ELCR port (absolute port number).
    pub fn pic_port_write(&mut self, port: u16, size: u8, value: u32) {
        if let Some(pic) = &mut self.pic {
            pic.write_port(port, size, value);
            self.route();
        }
    }

    /// A guest load from the IOAPIC window; all-ones without an IOAPIC.
    pub fn ioapic_mmio_read(&mut self, offset: u64, size: u8, now: Nanos) -> u64 {
        match &mut self.ioapic {
            Some(ioapic) => ioapic.mmio_read(offset, size, now),
            None => all_ones(size),
        }
    }

    /// A guest store to the IOAPIC window.
    pub fn ioapic_mmio_write(&mut self, offset: u64, size: u8, value: u64, now: Nanos) {
        if let Some(ioapic) = &mut self.ioapic {
            ioapic.mmio_write(offset, size, value, now);
            self.route();
        }
    }

    /// A guest load from `vcpu`'s local APIC page; all-ones without one.
    pub fn lapic_mmio_read(&mut self, vcpu: usize, offset: u64, size: u8, now: Nanos) -> u64 {
        match self.lapics.get_mut(vcpu) {
            Some(lapic) => lapic.mmio_read(offset, size, now),
            None => all_ones(size),
        }
    }

    /// A guest store to `vcpu`'s local APIC page; EOI broadcasts and IPIs it
    /// produces are routed before this returns.
    pub fn lapic_mmio_write(&mut self, vcpu: usize, offset: u64, size: u8, value: u64, now: Nanos) {
        if let Some(lapic) = self.lapics.get_mut(vcpu) {
            lapic.mmio_write(offset, size, value, now);
            self.route();
        }
    }

    /// The guest-visible state.
    pub fn snapshot(&self) -> RouterSnapshot {
        RouterSnapshot {
            pic: self.pic.as_ref().map(PicPair::snapshot),
            ioapic: self.ioapic.as_ref().map(IoApic::snapshot),
            lapics: self.lapics.iter().map(LocalApic::snapshot).collect(),
            line_levels: self.line_levels,
            extint_pending: self.extint_pending.clone(),
            events_queued: self.events.len(),
            events_dropped: self.events_dropped,
        }
    }

    /// Whether the 8259's INTR reaches `vcpu` (see the module doc).
    fn pic_reaches(&self, vcpu: usize) -> bool {
        if self.pic.is_none() {
            return false;
        }
        if self.extint_pending.get(vcpu).copied().unwrap_or(false) {
            return true;
        }
        if self.lapics.is_empty() {
            return vcpu == 0;
        }
        match self.lapics.get(vcpu) {
            // A globally disabled APIC turns LINT0 into the plain INTR pin;
            // only the bootstrap processor's is wired on a PC.
            Some(lapic) if !lapic.hardware_enabled() => vcpu == 0,
            Some(lapic) => lapic.lint0_extint(),
            None => false,
        }
    }

    fn source(&self, vcpu: usize) -> Option<Source> {
        let pic_intr = self.pic.as_ref().is_some_and(PicPair::intr);
        let extint_owed = self.extint_pending.get(vcpu).copied().unwrap_or(false);
        if self.pic_reaches(vcpu) && (pic_intr || extint_owed) {
            return Some(Source::Pic);
        }
        self.lapics
            .get(vcpu)?
            .pending_vector()
            .map(|_| Source::Lapic)
    }
}

/// What an absent device's `size`-byte read returns.
fn all_ones(size: u8) -> u64 {
    match size {
        1 => 0xFF,
        2 => 0xFFFF,
        4 => 0xFFFF_FFFF,
        _ => u64::MAX,
    }
}
