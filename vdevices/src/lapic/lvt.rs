//! The local vector table (SDM Vol. 3A §11.5.1, Figure 11-8): one register
//! per local interrupt source, each with its own writable fields.

use super::regs::{
    APIC_LVT_CMCI, APIC_LVT_ERROR, APIC_LVT_LINT0, APIC_LVT_LINT1, APIC_LVT_PERF, APIC_LVT_THERMAL,
    APIC_LVT_TIMER, LVT_ERROR_WRITABLE, LVT_LINT_WRITABLE, LVT_LOCAL_WRITABLE, LVT_TIMER_WRITABLE,
};

/// The local vector table entries, in the order they are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Lvt {
    Cmci,
    Timer,
    Thermal,
    Perf,
    Lint0,
    Lint1,
    Error,
}

pub(super) const LVT_COUNT: usize = 7;

impl Lvt {
    pub(super) fn from_register(offset: u64) -> Option<Lvt> {
        Some(match offset {
            APIC_LVT_CMCI => Lvt::Cmci,
            APIC_LVT_TIMER => Lvt::Timer,
            APIC_LVT_THERMAL => Lvt::Thermal,
            APIC_LVT_PERF => Lvt::Perf,
            APIC_LVT_LINT0 => Lvt::Lint0,
            APIC_LVT_LINT1 => Lvt::Lint1,
            APIC_LVT_ERROR => Lvt::Error,
            _ => return None,
        })
    }

    pub(super) fn writable(self) -> u32 {
        match self {
            Lvt::Timer => LVT_TIMER_WRITABLE,
            Lvt::Cmci | Lvt::Thermal | Lvt::Perf => LVT_LOCAL_WRITABLE,
            Lvt::Lint0 | Lvt::Lint1 => LVT_LINT_WRITABLE,
            Lvt::Error => LVT_ERROR_WRITABLE,
        }
    }
}
