//! The plain snapshot of a local APIC's guest-visible state.

use super::{LocalApic, Lvt};
use crate::Nanos;

/// The guest-visible state of a local APIC, for crash reports and tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalApicSnapshot {
    /// APIC ID (register bits 31:24).
    pub id: u8,
    /// Whether IA32_APIC_BASE enables the APIC (global enable).
    pub hardware_enabled: bool,
    /// Task priority register.
    pub tpr: u8,
    /// Processor priority register (computed).
    pub ppr: u8,
    /// Logical destination register.
    pub ldr: u32,
    /// Destination format register.
    pub dfr: u32,
    /// Spurious-interrupt vector register.
    pub svr: u32,
    /// In-service register, word `n` holding vectors `32n..32n+31`.
    pub isr: [u32; 8],
    /// Trigger mode register.
    pub tmr: [u32; 8],
    /// Interrupt request register.
    pub irr: [u32; 8],
    /// Error status register as last latched by a write.
    pub esr: u32,
    /// Errors detected since the last ESR write (not yet visible).
    pub esr_pending: u32,
    /// Interrupt command register, low half, as read (with delivery status).
    pub icr_low: u32,
    /// Interrupt command register, high half.
    pub icr_high: u32,
    /// LVT CMCI register.
    pub lvt_cmci: u32,
    /// LVT timer register.
    pub lvt_timer: u32,
    /// LVT thermal sensor register.
    pub lvt_thermal: u32,
    /// LVT performance counter register.
    pub lvt_perf: u32,
    /// LVT LINT0 register.
    pub lvt_lint0: u32,
    /// LVT LINT1 register.
    pub lvt_lint1: u32,
    /// LVT error register.
    pub lvt_error: u32,
    /// Timer initial count register.
    pub timer_initial_count: u32,
    /// Timer divide configuration register.
    pub timer_divide_config: u32,
    /// When the timer fires next (any mode), if armed.
    pub timer_next_expiry: Option<Nanos>,
    /// IA32_TSC_DEADLINE as the guest would read it.
    pub tsc_deadline: u64,
    /// IPIs sent but not yet collected by the router.
    pub ipis_queued: usize,
    /// IPIs dropped because the queue was full.
    pub ipis_dropped: u64,
}

impl LocalApic {
    /// The guest-visible state.
    pub fn snapshot(&self) -> LocalApicSnapshot {
        LocalApicSnapshot {
            id: self.id,
            hardware_enabled: self.hardware_enabled,
            tpr: self.tpr,
            ppr: self.processor_priority(),
            ldr: self.ldr,
            dfr: self.dfr,
            svr: self.svr,
            isr: self.isr.words(),
            tmr: self.tmr.words(),
            irr: self.irr.words(),
            esr: self.esr,
            esr_pending: self.esr_pending,
            icr_low: self.icr_low_value(),
            icr_high: self.icr_high,
            lvt_cmci: self.lvt[Lvt::Cmci as usize],
            lvt_timer: self.lvt[Lvt::Timer as usize],
            lvt_thermal: self.lvt[Lvt::Thermal as usize],
            lvt_perf: self.lvt[Lvt::Perf as usize],
            lvt_lint0: self.lvt[Lvt::Lint0 as usize],
            lvt_lint1: self.lvt[Lvt::Lint1 as usize],
            lvt_error: self.lvt[Lvt::Error as usize],
            timer_initial_count: self.timer.initial_count(),
            timer_divide_config: self.timer.divide_config(),
            timer_next_expiry: self.timer.next_expiry(),
            tsc_deadline: self.timer.tsc_deadline(self.timer_mode()),
            ipis_queued: self.ipis.len(),
            ipis_dropped: self.ipis_dropped,
        }
    }
}
