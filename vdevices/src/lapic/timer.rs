//! The local APIC timer (SDM Vol. 3A §11.5.4, "APIC Timer", and §11.5.4.1,
//! "TSC-Deadline Mode").
//!
//! The timer never reads a clock: every operation takes the current guest time
//! as a [`Nanos`], and the caller polls it (`poll`) to learn about expiries.
//! The counter is modelled as "it held `count_at_base` at time `base` and has
//! been counting down at `timer_hz / divisor` since", which keeps the current
//! count exact without a tick.

use super::regs::{
    DIVIDE_CONFIG_WRITABLE, LVT_TIMER_MODE_MASK, LVT_TIMER_MODE_SHIFT, TIMER_MODE_PERIODIC,
    TIMER_MODE_TSC_DEADLINE,
};
use crate::Nanos;

const NANOS_PER_SECOND: u128 = 1_000_000_000;

/// The clocks the local APIC counts in. The caller picks them so they agree
/// with what the partition's CPUID reports (leaf 0x15 core crystal clock for
/// the timer, the TSC frequency leaf for the TSC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ApicClock {
    /// Rate of the APIC timer's input clock (before the divider), in Hz.
    pub timer_hz: u64,
    /// Rate of the guest's time-stamp counter, in Hz, used to turn an
    /// IA32_TSC_DEADLINE value into guest time.
    pub tsc_hz: u64,
}

impl ApicClock {
    /// A clock pair. A zero rate is taken as 1 Hz rather than divided by.
    pub const fn new(timer_hz: u64, tsc_hz: u64) -> ApicClock {
        ApicClock {
            timer_hz: if timer_hz == 0 { 1 } else { timer_hz },
            tsc_hz: if tsc_hz == 0 { 1 } else { tsc_hz },
        }
    }
}

/// Bits 18:17 of the LVT timer register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TimerMode {
    OneShot,
    Periodic,
    TscDeadline,
}

impl TimerMode {
    /// Decodes the LVT timer register. The reserved encoding `11` counts as
    /// one-shot.
    pub(super) fn from_lvt(lvt_timer: u32) -> TimerMode {
        match (lvt_timer & LVT_TIMER_MODE_MASK) >> LVT_TIMER_MODE_SHIFT {
            TIMER_MODE_PERIODIC => TimerMode::Periodic,
            TIMER_MODE_TSC_DEADLINE => TimerMode::TscDeadline,
            _ => TimerMode::OneShot,
        }
    }
}

#[derive(Clone, Debug)]
pub(super) struct ApicTimer {
    clock: ApicClock,
    divide_config: u32,
    initial_count: u32,
    /// When the counter last held `count_at_base` (a start or a reload).
    base: Nanos,
    count_at_base: u32,
    /// When the timer fires next, in any mode; `None` when disarmed.
    next_expiry: Option<Nanos>,
    /// IA32_TSC_DEADLINE as the guest reads it; 0 when disarmed.
    tsc_deadline: u64,
}

impl ApicTimer {
    pub(super) fn new(clock: ApicClock) -> ApicTimer {
        ApicTimer {
            clock: ApicClock::new(clock.timer_hz, clock.tsc_hz),
            divide_config: 0,
            initial_count: 0,
            base: Nanos(0),
            count_at_base: 0,
            next_expiry: None,
            tsc_deadline: 0,
        }
    }

    pub(super) fn clock(&self) -> ApicClock {
        self.clock
    }

    pub(super) fn divide_config(&self) -> u32 {
        self.divide_config
    }

    pub(super) fn initial_count(&self) -> u32 {
        self.initial_count
    }

    pub(super) fn next_expiry(&self) -> Option<Nanos> {
        self.next_expiry
    }

    /// Divide value from bits 3, 1:0 (Figure 11-10): 000 → 2, 001 → 4, …,
    /// 110 → 128, 111 → 1.
    fn divisor(&self) -> u64 {
        let code = (self.divide_config & 0b11) | ((self.divide_config >> 1) & 0b100);
        if code == 0b111 { 1 } else { 2 << code }
    }

    /// Time `ticks` counter decrements take, rounded up so a deadline is
    /// never early.
    fn ticks_to_nanos(&self, ticks: u64) -> u64 {
        let numerator = u128::from(ticks) * u128::from(self.divisor()) * NANOS_PER_SECOND;
        let nanos = numerator.div_ceil(u128::from(self.clock.timer_hz));
        u64::try_from(nanos).unwrap_or(u64::MAX)
    }

    /// Whole counter decrements in `nanos`.
    fn nanos_to_ticks(&self, nanos: u64) -> u64 {
        let denominator = NANOS_PER_SECOND * u128::from(self.divisor());
        let ticks = u128::from(nanos) * u128::from(self.clock.timer_hz) / denominator;
        u64::try_from(ticks).unwrap_or(u64::MAX)
    }

    fn start_count(&mut self, now: Nanos, count: u32) {
        if count == 0 {
            self.next_expiry = None;
            return;
        }
        self.base = now;
        self.count_at_base = count;
        self.next_expiry = Some(now.plus(self.ticks_to_nanos(u64::from(count))));
    }

    /// The current-count register. Callers poll first, so an expiry in the
    /// past has already been handled; the arithmetic still answers sensibly
    /// if they did not.
    pub(super) fn current_count(&self, now: Nanos, mode: TimerMode) -> u32 {
        if mode == TimerMode::TscDeadline || self.next_expiry.is_none() {
            return 0;
        }
        let ticks = self.nanos_to_ticks(now.since(self.base));
        let at_base = u64::from(self.count_at_base);
        if ticks < at_base {
            // ticks < at_base <= u32::MAX.
            return (at_base - ticks) as u32;
        }
        let initial = u64::from(self.initial_count);
        if mode == TimerMode::Periodic && initial != 0 {
            // The counter reloaded and kept going; the result is in 1..=initial.
            (initial - (ticks - at_base) % initial) as u32
        } else {
            0
        }
    }

    /// A write to the initial-count register: (re)starts the countdown, or
    /// stops it when 0. Ignored in TSC-deadline mode.
    pub(super) fn write_initial_count(&mut self, now: Nanos, value: u32, mode: TimerMode) {
        if mode == TimerMode::TscDeadline {
            return;
        }
        self.initial_count = value;
        self.start_count(now, value);
    }

    /// A write to the divide configuration register. The SDM leaves a change
    /// mid-count unspecified; here the counter keeps its current value and
    /// counts on at the new rate.
    pub(super) fn write_divide_config(&mut self, now: Nanos, value: u32, mode: TimerMode) {
        let running = mode != TimerMode::TscDeadline && self.next_expiry.is_some();
        let current = self.current_count(now, mode);
        self.divide_config = value & DIVIDE_CONFIG_WRITABLE;
        if running {
            self.start_count(now, current);
        }
    }

    /// The LVT timer mode changed. Moving into or out of TSC-deadline mode
    /// disarms the timer (§11.5.4.1); one-shot ↔ periodic keeps counting and
    /// takes effect at the next expiry.
    pub(super) fn mode_changed(&mut self, old: TimerMode, new: TimerMode) {
        if (old == TimerMode::TscDeadline) != (new == TimerMode::TscDeadline) {
            self.next_expiry = None;
            self.tsc_deadline = 0;
            self.initial_count = 0;
            self.count_at_base = 0;
        }
    }

    /// A WRMSR to IA32_TSC_DEADLINE at guest time `now`, when the guest's TSC
    /// reads `now_tsc`. Outside TSC-deadline mode writes are ignored. Zero
    /// disarms; a deadline already passed fires at the next poll.
    pub(super) fn write_tsc_deadline(
        &mut self,
        value: u64,
        now: Nanos,
        now_tsc: u64,
        mode: TimerMode,
    ) {
        if mode != TimerMode::TscDeadline {
            return;
        }
        self.tsc_deadline = value;
        if value == 0 {
            self.next_expiry = None;
            return;
        }
        let delta_tsc = u128::from(value.saturating_sub(now_tsc));
        let nanos = (delta_tsc * NANOS_PER_SECOND).div_ceil(u128::from(self.clock.tsc_hz));
        self.next_expiry = Some(now.plus(u64::try_from(nanos).unwrap_or(u64::MAX)));
    }

    /// A RDMSR of IA32_TSC_DEADLINE: the armed deadline, 0 once it fired or
    /// outside TSC-deadline mode.
    pub(super) fn tsc_deadline(&self, mode: TimerMode) -> u64 {
        if mode == TimerMode::TscDeadline {
            self.tsc_deadline
        } else {
            0
        }
    }

    /// Processes an expiry due at `now`; returns whether the timer fired.
    /// Periods missed while nobody polled collapse into one interrupt (the
    /// IRR holds one bit per vector anyway) and the phase is kept.
    pub(super) fn poll(&mut self, now: Nanos, mode: TimerMode) -> bool {
        let Some(expiry) = self.next_expiry else {
            return false;
        };
        if now < expiry {
            return false;
        }
        match mode {
            TimerMode::TscDeadline => {
                self.tsc_deadline = 0;
                self.next_expiry = None;
            }
            TimerMode::Periodic if self.initial_count != 0 => {
                let period = self.ticks_to_nanos(u64::from(self.initial_count)).max(1);
                let missed = now.since(expiry) / period;
                let reload = expiry.plus(missed * period);
                self.base = reload;
                self.count_at_base = self.initial_count;
                self.next_expiry = Some(reload.plus(period));
            }
            _ => self.next_expiry = None,
        }
        true
    }
}
