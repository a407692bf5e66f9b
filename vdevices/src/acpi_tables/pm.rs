//! ACPI fixed hardware: the PM timer and the PM1 event and control
//! registers (ACPI 6.0 §4.8.2.1 "Power Management Timer", §4.8.3.1 "PM1
//! Event Grouping" with Tables 4-16/4-17, §4.8.3.2 "PM1 Control Grouping"
//! with Table 4-18, §4.8.3.2.1 on SLP_TYP/SLP_EN).
//!
//! [`PmTimer`] counts at 3.579545 MHz, derived from [`Nanos`] with integer
//! arithmetic (no drift), 24 or 32 bits wide as the FADT's TMR_VAL_EXT flag
//! says. It is read-only.
//!
//! [`AcpiPmBlock`] is the ICH9-style block of ports the FADT describes,
//! relative to its base:
//!
//! | offset | register | width |
//! | --- | --- | --- |
//! | 0 | PM1_STS (write 1 to clear) | 16 |
//! | 2 | PM1_EN | 16 |
//! | 4 | PM1_CNT | 16 |
//! | 8 | PM_TMR | 32 |
//!
//! Offsets 6–7 and 12 onwards read all-ones. The platform is always in ACPI
//! mode (the FADT has no SMI_CMD), so PM1_CNT.SCI_EN reads 1. Events: the
//! timer carry (TMR_STS, when the counter's top bit changes) and the
//! fixed-feature power button ([`AcpiPmBlock::press_power_button`], which
//! the core can use to ask a guest to shut down cleanly). The SCI is
//! level-style ([`AcpiPmBlock::sci_level`]): a status bit whose enable bit
//! is set. Writing SLP_EN with SLP_TYP = [`S5_SLP_TYP`] requests soft-off,
//! taken by the core through [`AcpiPmBlock::take_sleep_request`].
//!
//! Not modelled: GBL_STS/BIOS lock (no firmware), bus master status, the RTC
//! wake event, sleep states other than S5 (their requests are reported as
//! [`SleepRequest::Unsupported`] and nothing sleeps).

#[cfg(test)]
mod tests;

use crate::{Nanos, PortDevice};

/// PM timer frequency, in Hz.
pub const PM_TIMER_HZ: u64 = 3_579_545;

/// Offset of PM1_STS in the block.
pub const PM1_STATUS: u16 = 0;
/// Offset of PM1_EN in the block.
pub const PM1_ENABLE: u16 = 2;
/// Offset of PM1_CNT in the block.
pub const PM1_CONTROL: u16 = 4;
/// First offset past PM1_CNT (offsets 6–7 are unused).
const PM1_CONTROL_END: u16 = PM1_CONTROL + 2;
/// Offset of PM_TMR in the block.
pub const PM_TIMER: u16 = 8;
/// Ports the block spans.
pub const PM_BLOCK_LEN: u16 = 12;
/// Bytes of PM1a_EVT_BLK (status and enable).
pub const PM1_EVENT_LEN: usize = 4;
/// Bytes of PM1a_CNT_BLK.
pub const PM1_CONTROL_LEN: usize = 2;
/// Bytes of PM_TMR_BLK.
pub const PM_TIMER_LEN: usize = 4;

/// PM1_STS: timer carry.
pub const TMR_STS: u16 = 1 << 0;
/// PM1_STS: bus master activity.
pub const BM_STS: u16 = 1 << 4;
/// PM1_STS: global lock release.
pub const GBL_STS: u16 = 1 << 5;
/// PM1_STS: power button pressed.
pub const PWRBTN_STS: u16 = 1 << 8;
/// PM1_STS: sleep button pressed.
pub const SLPBTN_STS: u16 = 1 << 9;
/// PM1_STS: RTC alarm.
pub const RTC_STS: u16 = 1 << 10;
/// PM1_STS: woken from sleep.
pub const WAK_STS: u16 = 1 << 15;

/// PM1_EN: timer carry interrupt.
pub const TMR_EN: u16 = 1 << 0;
/// PM1_EN: global lock release interrupt.
pub const GBL_EN: u16 = 1 << 5;
/// PM1_EN: power button interrupt.
pub const PWRBTN_EN: u16 = 1 << 8;
/// PM1_EN: sleep button interrupt.
pub const SLPBTN_EN: u16 = 1 << 9;
/// PM1_EN: RTC alarm interrupt.
pub const RTC_EN: u16 = 1 << 10;
/// PM1_EN bits that exist.
const PM1_ENABLE_WRITABLE: u16 = TMR_EN | GBL_EN | PWRBTN_EN | SLPBTN_EN | RTC_EN;
/// Status bits that raise the SCI when enabled (each enable bit sits at
/// its status bit's position).
const SCI_EVENTS: u16 = TMR_STS | GBL_STS | PWRBTN_STS | SLPBTN_STS | RTC_STS;

/// PM1_CNT: SCI enable (reads 1: always in ACPI mode).
pub const SCI_EN: u16 = 1 << 0;
/// PM1_CNT: bus master wakes from C3.
pub const BM_RLD: u16 = 1 << 1;
/// PM1_CNT: global lock release (write-only).
pub const GBL_RLS: u16 = 1 << 2;
/// PM1_CNT: sleep type, bits 12:10.
pub const SLP_TYP_SHIFT: u16 = 10;
/// PM1_CNT: sleep type mask.
pub const SLP_TYP_MASK: u16 = 0b111 << SLP_TYP_SHIFT;
/// PM1_CNT: sleep enable (write-only, reads 0).
pub const SLP_EN: u16 = 1 << 13;
/// PM1_CNT bits that hold a value.
const PM1_CONTROL_WRITABLE: u16 = BM_RLD | SLP_TYP_MASK;

/// SLP_TYP of S5 (soft off), as the DSDT's `\_S5` gives it.
pub const S5_SLP_TYP: u8 = 0;

/// The ACPI PM timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PmTimer {
    extended: bool,
}

impl PmTimer {
    /// A 32-bit timer if `extended` (TMR_VAL_EXT), else 24-bit.
    pub const fn new(extended: bool) -> PmTimer {
        PmTimer { extended }
    }

    /// Counter width in bits.
    pub const fn bits(&self) -> u32 {
        if self.extended { 32 } else { 24 }
    }

    /// Ticks since time 0, not wrapped.
    pub const fn ticks(now: Nanos) -> u64 {
        (now.0 as u128 * PM_TIMER_HZ as u128 / 1_000_000_000) as u64
    }

    /// The first nanosecond at which tick `tick` has happened.
    pub const fn tick_time(tick: u64) -> Nanos {
        let ns = (tick as u128 * 1_000_000_000).div_ceil(PM_TIMER_HZ as u128);
        Nanos(if ns > u64::MAX as u128 {
            u64::MAX
        } else {
            ns as u64
        })
    }

    /// The counter value at `now`.
    pub const fn count(&self, now: Nanos) -> u32 {
        let ticks = Self::ticks(now);
        if self.extended {
            ticks as u32
        } else {
            (ticks as u32) & 0x00FF_FFFF
        }
    }

    /// Number of times the counter's top bit has changed by `now`; TMR_STS is
    /// set whenever this grows.
    const fn carries(&self, now: Nanos) -> u64 {
        Self::ticks(now) >> (self.bits() - 1)
    }
}

impl PortDevice for PmTimer {
    fn port_read(&mut self, offset: u16, size: u8, now: Nanos) -> u32 {
        let count = self.count(now).to_le_bytes();
        let mut value = 0;
        for lane in 0..size.min(4) {
            let port = usize::from(offset.saturating_add(u16::from(lane)));
            let byte = count.get(port).copied().unwrap_or(0xFF);
            value |= u32::from(byte) << (8 * lane);
        }
        value
    }

    fn port_write(&mut self, _offset: u16, _size: u8, _value: u32, _now: Nanos) {}
}

/// A sleep the guest asked for by setting SLP_EN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SleepRequest {
    /// S5: power the partition off.
    SoftOff,
    /// A sleep type the DSDT does not offer; nothing happens.
    Unsupported {
        /// The SLP_TYP written.
        slp_typ: u8,
    },
}

/// The PM1 event and control registers and the PM timer.
#[derive(Clone, Debug)]
pub struct AcpiPmBlock {
    timer: PmTimer,
    status: u16,
    enable: u16,
    control: u16,
    /// Timer carries accounted for in TMR_STS.
    carries_seen: u64,
    sleep: Option<SleepRequest>,
}

impl AcpiPmBlock {
    /// The block after reset, with a 32-bit (`extended`) or 24-bit timer;
    /// this must match the FADT's TMR_VAL_EXT.
    pub fn new(extended: bool) -> AcpiPmBlock {
        AcpiPmBlock {
            timer: PmTimer::new(extended),
            status: 0,
            enable: 0,
            control: 0,
            carries_seen: 0,
            sleep: None,
        }
    }

    /// The PM timer of the block.
    pub fn timer(&self) -> PmTimer {
        self.timer
    }

    /// A press of the fixed-feature power button: PWRBTN_STS, and the SCI
    /// if PWRBTN_EN is set. An ACPI guest answers with an orderly shutdown.
    pub fn press_power_button(&mut self) {
        self.status |= PWRBTN_STS;
    }

    /// The sleep the guest asked for, if any; clears it.
    pub fn take_sleep_request(&mut self) -> Option<SleepRequest> {
        self.sleep.take()
    }

    /// The SCI (IRQ 9): an enabled event's status bit is set. As of the last
    /// advance or access.
    pub fn sci_level(&self) -> bool {
        self.status & self.enable & SCI_EVENTS != 0
    }

    /// Brings TMR_STS up to `now`.
    pub fn advance(&mut self, now: Nanos) {
        let carries = self.timer.carries(now);
        if carries > self.carries_seen {
            self.carries_seen = carries;
            self.status |= TMR_STS;
        }
    }

    /// When the timer carry would raise the SCI, if TMR_EN is set and the SCI
    /// is not raised already.
    pub fn next_event_deadline(&self) -> Option<Nanos> {
        if self.enable & TMR_EN == 0 || self.sci_level() {
            return None;
        }
        let next = self.carries_seen.saturating_add(1);
        let tick = next.checked_shl(self.timer.bits() - 1).unwrap_or(u64::MAX);
        Some(PmTimer::tick_time(tick))
    }

    /// The state for crash reports and tests.
    pub fn snapshot(&self) -> AcpiPmSnapshot {
        AcpiPmSnapshot {
            status: self.status,
            enable: self.enable,
            control: self.control_value(),
            sci: self.sci_level(),
        }
    }

    fn control_value(&self) -> u16 {
        self.control | SCI_EN
    }

    /// The byte at `port` of the block.
    fn read_byte(&self, port: u16, now: Nanos) -> u8 {
        let register = |value: u16, at: u16| value.to_le_bytes()[usize::from(port - at)];
        match port {
            PM1_STATUS..PM1_ENABLE => register(self.status, PM1_STATUS),
            PM1_ENABLE..PM1_CONTROL => register(self.enable, PM1_ENABLE),
            PM1_CONTROL..PM1_CONTROL_END => register(self.control_value(), PM1_CONTROL),
            PM_TIMER..PM_BLOCK_LEN => {
                self.timer.count(now).to_le_bytes()[usize::from(port - PM_TIMER)]
            }
            _ => 0xFF,
        }
    }

    /// A write to the 16-bit register at `at`: `value` in the bytes `mask`
    /// selects (a byte access writes one half).
    fn write_register(&mut self, at: u16, value: u16, mask: u16) {
        match at {
            PM1_STATUS => self.status &= !(value & mask),
            PM1_ENABLE => {
                let writable = mask & PM1_ENABLE_WRITABLE;
                self.enable = (self.enable & !writable) | (value & writable);
            }
            PM1_CONTROL => {
                let writable = mask & PM1_CONTROL_WRITABLE;
                self.control = (self.control & !writable) | (value & writable);
                if value & mask & SLP_EN != 0 {
                    let slp_typ = ((self.control & SLP_TYP_MASK) >> SLP_TYP_SHIFT) as u8;
                    let request = if slp_typ == S5_SLP_TYP {
                        SleepRequest::SoftOff
                    } else {
                        SleepRequest::Unsupported { slp_typ }
                    };
                    self.sleep.get_or_insert(request);
                }
            }
            _ => {}
        }
    }
}

impl PortDevice for AcpiPmBlock {
    fn port_read(&mut self, offset: u16, size: u8, now: Nanos) -> u32 {
        self.advance(now);
        let mut value = 0;
        for lane in 0..size.min(4) {
            let byte = self.read_byte(offset.saturating_add(u16::from(lane)), now);
            value |= u32::from(byte) << (8 * lane);
        }
        value
    }

    fn port_write(&mut self, offset: u16, size: u8, value: u32, now: Nanos) {
        self.advance(now);
        for at in [PM1_STATUS, PM1_ENABLE, PM1_CONTROL] {
            let mut register = 0u16;
            let mut mask = 0u16;
            for lane in 0..size.min(4) {
                let port = offset.saturating_add(u16::from(lane));
                if port == at || port == at + 1 {
                    let shift = 8 * (port - at);
                    register |= u16::from((value >> (8 * lane)) as u8) << shift;
                    mask |= 0xFF << shift;
                }
            }
            if mask != 0 {
                self.write_register(at, register, mask);
            }
        }
    }
}

/// What [`AcpiPmBlock::snapshot`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AcpiPmSnapshot {
    /// PM1_STS.
    pub status: u16,
    /// PM1_EN.
    pub enable: u16,
    /// PM1_CNT as a read returns it.
    pub control: u16,
    /// The SCI level.
    pub sci: bool,
}
