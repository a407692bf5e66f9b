//! A virtual xAPIC local APIC, one per vCPU.
//!
//! Follows the Intel SDM Vol. 3A, Chapter 11 "Advanced Programmable Interrupt
//! Controller (APIC)" (Chapter 10 in editions before 2023):
//!
//! - §11.4.6–§11.4.8: ID, version (0x14, seven LVT entries, EOI-broadcast
//!   suppression supported), the states after power-up, software disable and
//!   INIT.
//! - §11.5.1–§11.5.3: the local vector table and the error status register
//!   (write before read; illegal vectors 0–15; illegal register address).
//! - §11.5.4, §11.5.4.1: the timer in one-shot, periodic and TSC-deadline
//!   modes.
//! - §11.6.1–§11.6.2: the interrupt command register, destination shorthands,
//!   physical and logical (flat, cluster) destinations.
//! - §11.8.3–§11.8.5: TPR, PPR, IRR/ISR/TMR, EOI and EOI-broadcast
//!   suppression. §11.9: the spurious vector.
//!
//! The APIC is a pure state machine. The guest reaches it through
//! [`MmioDevice`](crate::MmioDevice) on its 4 KiB page ([`regs::APIC_DEFAULT_BASE`]); the
//! partition's interrupt router hands it interrupts with
//! [`LocalApic::accept_interrupt`] and asks [`LocalApic::pending_vector`] /
//! [`LocalApic::ack`] what the vCPU should take. What the APIC sends out
//! comes back as values to collect: IPIs ([`LocalApic::take_ipi`]) and EOI
//! broadcasts for level-triggered vectors ([`LocalApic::take_eoi_broadcast`]).
//!
//! Time: every MMIO access and [`LocalApic::poll_timer`] take the current guest
//! time; IA32_TSC_DEADLINE is an MSR the core traps and forwards with
//! [`LocalApic::write_tsc_deadline`], passing the guest's TSC at that moment
//! (`now_tsc`) so the deadline can be turned into guest time with
//! [`ApicClock::tsc_hz`] whatever TSC offset the vCPU runs with.
//!
//! Deliberately not modelled: the LINT0/LINT1 pins as interrupt sources (the
//! router asks [`LocalApic::lint0_extint`] to wire the 8259 in virtual-wire
//! mode; nothing drives LINT1), thermal, performance-counter and CMCI events
//! (their LVT registers read and write, but nothing fires them), the
//! arbitration priority (APR reads 0), remote read (RRD reads 0), focus
//! processor checking, and x2APIC mode.

mod apic_bus;
mod ipi;
mod lvt;
mod mmio;
pub mod regs;
mod snapshot;
mod timer;
mod vector_set;

#[cfg(test)]
mod tests;

use alloc::collections::VecDeque;

pub use apic_bus::{DeliveryMode, DestinationMode};
pub use ipi::{IPI_QUEUE_CAPACITY, Ipi, IpiDestination};
pub use snapshot::LocalApicSnapshot;
pub use timer::ApicClock;

use crate::Nanos;
use lvt::{LVT_COUNT, Lvt};
use regs::*;
use timer::{ApicTimer, TimerMode};
use vector_set::VectorSet;

/// One xAPIC local APIC.
#[derive(Clone, Debug)]
pub struct LocalApic {
    id: u8,
    hardware_enabled: bool,
    tpr: u8,
    ldr: u32,
    dfr: u32,
    svr: u32,
    isr: VectorSet,
    tmr: VectorSet,
    irr: VectorSet,
    esr: u32,
    esr_pending: u32,
    icr_low: u32,
    icr_high: u32,
    lvt: [u32; LVT_COUNT],
    timer: ApicTimer,
    eoi_broadcasts: VectorSet,
    ipis: VecDeque<Ipi>,
    ipis_dropped: u64,
}

impl LocalApic {
    /// A local APIC in its power-up state (§11.4.7.1) with the given ID,
    /// hardware-enabled (IA32_APIC_BASE bit 11 set, as after reset) and
    /// software-disabled (SVR = 0xFF, every LVT entry masked).
    pub fn new(apic_id: u8, clock: ApicClock) -> LocalApic {
        LocalApic {
            id: apic_id,
            hardware_enabled: true,
            tpr: 0,
            ldr: 0,
            dfr: u32::MAX,
            svr: SVR_RESET,
            isr: VectorSet::default(),
            tmr: VectorSet::default(),
            irr: VectorSet::default(),
            esr: 0,
            esr_pending: 0,
            icr_low: 0,
            icr_high: 0,
            lvt: [LVT_MASKED; LVT_COUNT],
            timer: ApicTimer::new(clock),
            eoi_broadcasts: VectorSet::default(),
            ipis: VecDeque::new(),
            ipis_dropped: 0,
        }
    }

    /// The state after an INIT (§11.4.7.3): as after power-up, except that
    /// the APIC ID and the hardware enable are kept.
    pub fn init_reset(&mut self) {
        *self = LocalApic {
            hardware_enabled: self.hardware_enabled,
            ipis_dropped: self.ipis_dropped,
            ..LocalApic::new(self.id, self.timer.clock())
        };
    }

    /// Programs what the MultiProcessor Specification 1.4 §3.6.2.2 calls
    /// virtual-wire mode and what a PC BIOS leaves on the bootstrap processor:
    /// APIC software-enabled with spurious vector 0xFF, LINT0 unmasked as
    /// ExtINT (the 8259's INTR passes through), LINT1 unmasked as NMI. A
    /// guest booted without firmware then still receives 8259 interrupts.
    pub fn enter_virtual_wire_mode(&mut self) {
        self.svr = SVR_APIC_ENABLED | SVR_RESET;
        self.lvt[Lvt::Lint0 as usize] = u32::from(DeliveryMode::ExtInt.bits()) << 8;
        self.lvt[Lvt::Lint1 as usize] = u32::from(DeliveryMode::Nmi.bits()) << 8;
    }

    /// The APIC ID.
    pub fn id(&self) -> u8 {
        self.id
    }

    /// Whether IA32_APIC_BASE bit 11 (APIC global enable) is set.
    pub fn hardware_enabled(&self) -> bool {
        self.hardware_enabled
    }

    /// Sets or clears the global enable from IA32_APIC_BASE bit 11, which the
    /// core emulates. Clearing it puts the APIC back in its power-up state
    /// (§11.4.3): it then accepts nothing, offers nothing, ignores writes and
    /// reads 0 on its page, and an 8259 reaches the CPU directly.
    pub fn set_hardware_enabled(&mut self, enabled: bool) {
        if self.hardware_enabled && !enabled {
            self.init_reset();
        }
        self.hardware_enabled = enabled;
    }

    /// Whether SVR bit 8 (APIC software enable) is set.
    pub fn software_enabled(&self) -> bool {
        self.svr & SVR_APIC_ENABLED != 0
    }

    /// Whether the APIC takes part in interrupt delivery at all.
    fn active(&self) -> bool {
        self.hardware_enabled && self.software_enabled()
    }

    /// The task priority register.
    pub fn task_priority(&self) -> u8 {
        self.tpr
    }

    /// The processor priority (§11.8.3.1): the TPR if its class is at least
    /// that of the highest in-service vector, else that vector's class.
    pub fn processor_priority(&self) -> u8 {
        let isrv = self.isr.highest().unwrap_or(0);
        if self.tpr >> 4 >= isrv >> 4 {
            self.tpr
        } else {
            isrv & 0xF0
        }
    }

    /// The spurious-interrupt vector from the SVR (§11.9).
    pub fn spurious_vector(&self) -> u8 {
        (self.svr & SVR_VECTOR_MASK) as u8
    }

    /// Whether LINT0 passes the 8259's INTR through: the APIC is enabled and
    /// LVT LINT0 is unmasked with delivery mode ExtINT. A software-disabled
    /// APIC has every LVT entry masked, so this is false then.
    pub fn lint0_extint(&self) -> bool {
        let lint0 = self.lvt[Lvt::Lint0 as usize];
        self.hardware_enabled
            && lint0 & LVT_MASKED == 0
            && (lint0 & LVT_DELIVERY_MODE_MASK) >> LVT_DELIVERY_MODE_SHIFT
                == u32::from(DeliveryMode::ExtInt.bits())
    }

    /// Whether a message for `destination` under `mode` is for this APIC
    /// (§11.6.2). Physical: the ID, or 0xFF for all. Logical: 0xFF is a
    /// broadcast; the flat model matches any common bit of the 8-bit LDR; the
    /// cluster model needs the cluster (bits 7:4) to match, or to be 0xF, and
    /// a common bit in bits 3:0.
    pub fn accepts_destination(&self, mode: DestinationMode, destination: u8) -> bool {
        if !self.hardware_enabled {
            return false;
        }
        match mode {
            DestinationMode::Physical => destination == 0xFF || destination == self.id,
            DestinationMode::Logical => {
                let logical_id = (self.ldr >> 24) as u8;
                if destination == 0xFF {
                    return true;
                }
                if self.dfr >> 28 == DFR_MODEL_FLAT {
                    logical_id & destination != 0
                } else {
                    let cluster = destination >> 4;
                    (cluster == 0xF || cluster == logical_id >> 4)
                        && logical_id & destination & 0x0F != 0
                }
            }
        }
    }

    /// A fixed or lowest-priority interrupt arrives (§11.8.4): its IRR bit is
    /// set, and its TMR bit set for level-triggered, cleared for edge. An
    /// illegal vector (0–15) sets "receive illegal vector" in the ESR
    /// instead. A software-disabled APIC drops fixed interrupts (as KVM does;
    /// the SDM only says pending ones are held).
    pub fn accept_interrupt(&mut self, vector: u8, level_triggered: bool) {
        if !self.hardware_enabled {
            return;
        }
        if vector < FIRST_LEGAL_VECTOR {
            self.record_error(ESR_RECEIVE_ILLEGAL_VECTOR);
            return;
        }
        if !self.software_enabled() {
            return;
        }
        self.irr.set(vector);
        if level_triggered {
            self.tmr.set(vector);
        } else {
            self.tmr.clear(vector);
        }
    }

    /// The vector the APIC would hand the CPU now: the highest IRR vector
    /// whose priority class (bits 7:4) is above the PPR's class.
    pub fn pending_vector(&self) -> Option<u8> {
        if !self.active() {
            return None;
        }
        let vector = self.irr.highest()?;
        (vector >> 4 > self.processor_priority() >> 4).then_some(vector)
    }

    /// The CPU acknowledges: the pending vector moves from IRR to ISR. `None`
    /// when nothing is deliverable (on hardware the CPU would then receive
    /// the spurious vector, which is not set in the ISR).
    pub fn ack(&mut self) -> Option<u8> {
        let vector = self.pending_vector()?;
        self.irr.clear(vector);
        self.isr.set(vector);
        Some(vector)
    }

    /// An EOI (§11.8.5): clears the highest in-service bit. Returns that
    /// vector if it was level-triggered (TMR set) and EOI-broadcast
    /// suppression is off, so the router can send the EOI to the IOAPIC.
    pub fn eoi(&mut self) -> Option<u8> {
        let vector = self.isr.highest()?;
        self.isr.clear(vector);
        let broadcast = self.tmr.contains(vector) && self.svr & SVR_EOI_BROADCAST_SUPPRESSION == 0;
        broadcast.then_some(vector)
    }

    /// The next EOI broadcast produced by a guest write to the EOI register.
    pub fn take_eoi_broadcast(&mut self) -> Option<u8> {
        let vector = self.eoi_broadcasts.highest()?;
        self.eoi_broadcasts.clear(vector);
        Some(vector)
    }

    /// The next IPI the guest sent through the ICR, oldest first.
    pub fn take_ipi(&mut self) -> Option<Ipi> {
        self.ipis.pop_front()
    }

    /// Processes a timer expiry due at `now`: raises the LVT timer vector
    /// (unless masked) once per expiry.
    pub fn poll_timer(&mut self, now: Nanos) {
        if self.timer.poll(now, self.timer_mode()) {
            self.raise_local(Lvt::Timer);
        }
    }

    /// When the timer will next raise an interrupt, so the core can arm a
    /// host timer while the vCPU is halted. `None` when disarmed, masked or
    /// the APIC is disabled (a masked timer still counts, but wakes nobody).
    pub fn next_timer_deadline(&self) -> Option<Nanos> {
        if !self.active() || self.lvt[Lvt::Timer as usize] & LVT_MASKED != 0 {
            return None;
        }
        self.timer.next_expiry()
    }

    /// A guest WRMSR to IA32_TSC_DEADLINE at guest time `now`, when the
    /// guest's TSC reads `now_tsc`. Ignored unless the LVT timer is in
    /// TSC-deadline mode; 0 disarms.
    pub fn write_tsc_deadline(&mut self, value: u64, now: Nanos, now_tsc: u64) {
        self.poll_timer(now);
        let mode = self.timer_mode();
        self.timer.write_tsc_deadline(value, now, now_tsc, mode);
    }

    /// A guest RDMSR of IA32_TSC_DEADLINE: the armed deadline, or 0 once it
    /// fired or outside TSC-deadline mode.
    pub fn read_tsc_deadline(&mut self, now: Nanos) -> u64 {
        self.poll_timer(now);
        self.timer.tsc_deadline(self.timer_mode())
    }

    fn timer_mode(&self) -> TimerMode {
        TimerMode::from_lvt(self.lvt[Lvt::Timer as usize])
    }

    /// An error is detected (§11.5.3): it accumulates until the next ESR
    /// write latches it, and raises the LVT error interrupt.
    fn record_error(&mut self, error: u32) {
        self.esr_pending |= error;
        self.raise_local(Lvt::Error);
    }

    /// A local interrupt source fires through its LVT entry. Only the timer
    /// and error entries have sources in this model; both deliver fixed.
    fn raise_local(&mut self, lvt: Lvt) {
        let entry = self.lvt[lvt as usize];
        if entry & LVT_MASKED != 0 || !self.active() {
            return;
        }
        let vector = (entry & VECTOR_MASK) as u8;
        if vector < FIRST_LEGAL_VECTOR {
            // The error entry's own illegal vector is recorded but raises
            // nothing further, or the two would chase each other.
            self.esr_pending |= ESR_RECEIVE_ILLEGAL_VECTOR;
            if lvt != Lvt::Error {
                self.raise_local(Lvt::Error);
            }
            return;
        }
        self.irr.set(vector);
        self.tmr.clear(vector);
    }
}
