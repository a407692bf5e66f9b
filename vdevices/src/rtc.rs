//! Motorola MC146818A real-time clock and CMOS RAM, at ports 0x70/0x71.
//!
//! Follows the MC146818A data sheet: "Address Map" (time, alarm and
//! calendar bytes, 0x00–0x09), "Time, Calendar, and Alarm Locations"
//! (BCD or binary data mode, 12- or 24-hour format, alarm "don't care"
//! codes 0xC0–0xFF), "Update Cycle" (the UIP bit), "Register A" (UIP,
//! DV2–DV0, RS3–RS0 with the periodic rate table), "Register B" (SET, PIE,
//! AIE, UIE, SQWE, DM, 24/12, DSE), "Register C" (IRQF, PF, AF, UF; cleared
//! by reading) and "Register D" (VRT). The index port's bit 7 is the PC's
//! NMI mask. The CMOS layout beyond the clock is the IBM PC/AT one that
//! SeaBIOS and QEMU use (memory sizes, century at 0x32).
//!
//! # Time
//!
//! The clock is a count of seconds (the guest's wall clock) plus the phase of
//! the divider chain; both are derived from [`Nanos`] with integer
//! arithmetic, so the clock never drifts. At construction the clock reads
//! `epoch_seconds_at_start` (seconds since 1970-01-01 00:00:00) at time 0
//! and updates on every whole second after it. The periodic interrupt
//! counts the 32.768 kHz time base from the moment the divider was started.
//!
//! # Interrupt output
//!
//! IRQ8 is level-style: [`Rtc::irq_level`] is register C's IRQF, which stays
//! set until the guest reads register C. Flags are brought up to date by
//! [`Rtc::advance`] and by every port access; [`Rtc::next_event_deadline`]
//! says when IRQF would next be set, so a halted vCPU can be woken.
//!
//! # Deliberate simplifications
//!
//! - The update cycle is instantaneous: UIP reads 1 during the 244 µs before
//!   each update and the time registers are always consistent.
//! - Time registers are always presented in the current data mode and hour
//!   format (the chip would leave the old bytes until the next update), and
//!   out-of-range values written while the clock runs, or left when SET is
//!   cleared, are clamped into range (the chip's behaviour is undefined).
//! - Only divider setting 010 (32.768 kHz time base) runs the clock; any
//!   other setting stops it, and 11x followed by 010 restarts the chain so
//!   the first update comes 500 ms later.
//! - DSE (daylight saving) and SQWE are stored but have no effect; the
//!   square-wave pin is not wired on a PC.

mod calendar;
#[cfg(test)]
mod tests;

use calendar::{DateTime, SECONDS_PER_DAY, days_in_month, weekday};

use crate::{Nanos, PortDevice};

/// Offset of the index port (0x70).
pub const PORT_INDEX: u16 = 0;
/// Offset of the data port (0x71).
pub const PORT_DATA: u16 = 1;
/// Index port bit 7: NMI disabled while set (a PC convention, not the chip's).
pub const INDEX_NMI_DISABLE: u8 = 0x80;
/// Index port bits 6:0 select one of 128 bytes.
pub const INDEX_MASK: u8 = 0x7F;

/// Seconds.
pub const REG_SECONDS: u8 = 0x00;
/// Seconds alarm.
pub const REG_SECONDS_ALARM: u8 = 0x01;
/// Minutes.
pub const REG_MINUTES: u8 = 0x02;
/// Minutes alarm.
pub const REG_MINUTES_ALARM: u8 = 0x03;
/// Hours (bit 7 = PM in 12-hour format).
pub const REG_HOURS: u8 = 0x04;
/// Hours alarm.
pub const REG_HOURS_ALARM: u8 = 0x05;
/// Day of week, 1 = Sunday.
pub const REG_DAY_OF_WEEK: u8 = 0x06;
/// Day of month.
pub const REG_DAY_OF_MONTH: u8 = 0x07;
/// Month.
pub const REG_MONTH: u8 = 0x08;
/// Year within the century.
pub const REG_YEAR: u8 = 0x09;
/// Register A.
pub const REG_A: u8 = 0x0A;
/// Register B.
pub const REG_B: u8 = 0x0B;
/// Register C.
pub const REG_C: u8 = 0x0C;
/// Register D.
pub const REG_D: u8 = 0x0D;
/// Century (IBM PC/AT convention; the FADT's CENTURY field points here).
pub const REG_CENTURY: u8 = 0x32;

/// Register A: update in progress (read-only).
pub const A_UIP: u8 = 0x80;
/// Register A: divider control DV2–DV0.
pub const A_DIVIDER_MASK: u8 = 0x70;
/// Register A: DV = 010, 32.768 kHz time base, clock running.
pub const A_DIVIDER_NORMAL: u8 = 0x20;
/// Register A: rate select RS3–RS0 of the periodic interrupt.
pub const A_RATE_MASK: u8 = 0x0F;

/// Register B: SET, updates inhibited so software can set the clock.
pub const B_SET: u8 = 0x80;
/// Register B: periodic interrupt enable.
pub const B_PIE: u8 = 0x40;
/// Register B: alarm interrupt enable.
pub const B_AIE: u8 = 0x20;
/// Register B: update-ended interrupt enable.
pub const B_UIE: u8 = 0x10;
/// Register B: square-wave enable.
pub const B_SQWE: u8 = 0x08;
/// Register B: data mode, 1 = binary, 0 = BCD.
pub const B_DM_BINARY: u8 = 0x04;
/// Register B: 1 = 24-hour format, 0 = 12-hour.
pub const B_24_HOUR: u8 = 0x02;
/// Register B: daylight saving enable.
pub const B_DSE: u8 = 0x01;

/// Register C: IRQF = PF·PIE + AF·AIE + UF·UIE.
pub const C_IRQF: u8 = 0x80;
/// Register C: periodic interrupt flag.
pub const C_PF: u8 = 0x40;
/// Register C: alarm flag.
pub const C_AF: u8 = 0x20;
/// Register C: update-ended flag.
pub const C_UF: u8 = 0x10;

/// Register D: valid RAM and time.
pub const D_VRT: u8 = 0x80;

/// Alarm bytes with both top bits set match any value.
pub const ALARM_DONT_CARE: u8 = 0xC0;

/// Base memory in KiB, low byte (0x16 high).
pub const CMOS_BASE_MEMORY: u8 = 0x15;
/// Extended memory above 1 MiB in KiB, low byte (0x18 high), capped 0xFFFF.
pub const CMOS_EXTENDED_MEMORY: u8 = 0x17;
/// Checksum of 0x10–0x2D, high byte (0x2F low).
pub const CMOS_CHECKSUM: u8 = 0x2E;
/// Extended memory found by POST, same encoding as 0x17 (0x31 high).
pub const CMOS_EXTENDED_MEMORY_POST: u8 = 0x30;
/// Memory between 16 MiB and 4 GiB in 64 KiB blocks, low byte (0x35 high).
pub const CMOS_MEMORY_ABOVE_16M: u8 = 0x34;
/// Memory above 4 GiB in 64 KiB blocks, three bytes little-endian (0x5B–0x5D).
pub const CMOS_MEMORY_ABOVE_4G: u8 = 0x5B;
/// Number of CPUs minus one (QEMU's convention, read by SeaBIOS).
pub const CMOS_CPU_COUNT: u8 = 0x5F;

/// UIP is set this long before each update: 8 cycles of the 32.768 kHz
/// time base (244.140625 µs), rounded up.
pub const UIP_LEAD_NS: u64 = 244_141;
/// Frequency of the time base.
pub const TIME_BASE_HZ: u64 = 32_768;

const NS_PER_SECOND: u64 = 1_000_000_000;
/// The first update after the divider leaves reset comes this much later.
const FIRST_UPDATE_NS: u64 = 500_000_000;
/// Latest clock value the registers can show: 9999-12-31 23:59:59.
const MAX_CLOCK: i64 = 253_402_300_799;

/// Time registers in the order of [`TimeRegisters`].
const TIME_REGISTERS: [u8; 8] = [
    REG_SECONDS,
    REG_MINUTES,
    REG_HOURS,
    REG_DAY_OF_WEEK,
    REG_DAY_OF_MONTH,
    REG_MONTH,
    REG_YEAR,
    REG_CENTURY,
];

/// Bytes of the time registers, in the order of [`TIME_REGISTERS`].
type TimeRegisters = [u8; 8];

/// What the partition looks like to the CMOS memory-size bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RtcConfig {
    /// Bytes of RAM below 4 GiB (from guest-physical 0).
    pub ram_below_4g: u64,
    /// Bytes of RAM from 4 GiB up.
    pub ram_above_4g: u64,
    /// vCPUs of the partition (byte 0x5F holds this minus one).
    pub cpus: u16,
}

/// The MC146818A and its 128 bytes of CMOS.
#[derive(Clone, Debug)]
pub struct Rtc {
    index: u8,
    nmi_masked: bool,
    /// Alarm bytes, registers A (bits 6:0) and B, and general CMOS RAM, at
    /// their indexes. Time bytes, C and D are not kept here.
    ram: [u8; 128],
    /// PF, AF and UF.
    flags: u8,
    /// The clock, in seconds since 1970, as of `last`.
    clock: i64,
    /// Day of week the guest set, relative to the computed one (0..7).
    weekday_offset: u8,
    /// The time bytes while SET holds the clock.
    frozen: Option<TimeRegisters>,
    /// Time of the last advance.
    last: Nanos,
    /// Updates happen at the instants congruent to this modulo one second.
    update_phase: u64,
    /// The divider chain started at this instant (periodic interrupt phase).
    divider_start: Nanos,
}

impl Rtc {
    /// An RTC reading `epoch_seconds_at_start` at time 0, with register A =
    /// 0x26 (32.768 kHz, 1024 Hz periodic rate) and register B = 0x02 (24-hour
    /// BCD), as a PC BIOS leaves them, and the memory-size bytes filled:
    ///
    /// | bytes | value |
    /// | --- | --- |
    /// | 0x15–0x16 | base memory in KiB: 640 (less if the partition is smaller) |
    /// | 0x17–0x18, 0x30–0x31 | KiB above 1 MiB and below 4 GiB, capped at 0xFFFF |
    /// | 0x34–0x35 | 64 KiB blocks between 16 MiB and 4 GiB, capped at 0xFFFF |
    /// | 0x5B–0x5D | 64 KiB blocks above 4 GiB, capped at 0xFF_FFFF |
    /// | 0x5F | vCPUs − 1 |
    /// | 0x2E–0x2F | checksum of 0x10–0x2D, big-endian |
    pub fn new(epoch_seconds_at_start: u64, config: &RtcConfig) -> Rtc {
        let mut ram = [0u8; 128];
        ram[usize::from(REG_A)] = A_DIVIDER_NORMAL | 0x06;
        ram[usize::from(REG_B)] = B_24_HOUR;
        fill_memory_sizes(&mut ram, config);
        Rtc {
            index: 0,
            nmi_masked: false,
            ram,
            flags: 0,
            clock: i64::try_from(epoch_seconds_at_start).map_or(MAX_CLOCK, |s| s.min(MAX_CLOCK)),
            weekday_offset: 0,
            frozen: None,
            last: Nanos(0),
            update_phase: 0,
            divider_start: Nanos(0),
        }
    }

    /// Whether the guest masked NMIs through bit 7 of port 0x70.
    pub fn nmi_masked(&self) -> bool {
        self.nmi_masked
    }

    /// IRQ8: register C's IRQF as of the last advance or access.
    pub fn irq_level(&self) -> bool {
        self.irqf()
    }

    /// Brings the clock and the interrupt flags up to `now`. Earlier times
    /// are ignored.
    pub fn advance(&mut self, now: Nanos) {
        if now <= self.last {
            return;
        }
        if self.running() {
            let updates = self.updates_between(self.last, now);
            if updates > 0 {
                self.flags |= C_UF;
                let of_day = self.clock.rem_euclid(SECONDS_PER_DAY);
                if self
                    .alarm_delay(of_day)
                    .is_some_and(|delay| delay <= updates)
                {
                    self.flags |= C_AF;
                }
                self.clock = self.clock.saturating_add(updates as i64);
            }
        }
        if let Some(cycles) = self.periodic_cycles()
            && self.periodic_ticks(now, cycles) > self.periodic_ticks(self.last, cycles)
        {
            self.flags |= C_PF;
        }
        self.last = now;
    }

    /// When IRQF would next become set, or `None` if it is set already or
    /// nothing enabled is coming.
    pub fn next_event_deadline(&self) -> Option<Nanos> {
        if self.irqf() {
            return None;
        }
        let b = self.register_b();
        let mut deadline: Option<Nanos> = None;
        let mut consider = |at: Nanos| deadline = Some(deadline.map_or(at, |d| d.min(at)));
        if b & B_PIE != 0
            && let Some(cycles) = self.periodic_cycles()
        {
            let next = self.periodic_ticks(self.last, cycles) + 1;
            consider(self.periodic_tick_time(next, cycles));
        }
        if self.running() {
            let next_update = self.next_update_after(self.last);
            if b & B_UIE != 0 {
                consider(next_update);
            }
            if b & B_AIE != 0
                && let Some(delay) = self.alarm_delay(self.clock.rem_euclid(SECONDS_PER_DAY))
            {
                consider(next_update.plus((delay - 1) * NS_PER_SECOND));
            }
        }
        deadline
    }

    /// The state for crash reports and tests.
    pub fn snapshot(&self) -> RtcSnapshot {
        RtcSnapshot {
            index: self.index,
            nmi_masked: self.nmi_masked,
            register_a: self.ram[usize::from(REG_A)],
            register_b: self.register_b(),
            register_c: self.register_c(),
            clock_seconds: self.clock,
            time_registers: self.frozen.unwrap_or_else(|| self.time_registers()),
        }
    }

    fn register_b(&self) -> u8 {
        self.ram[usize::from(REG_B)]
    }

    fn binary(&self) -> bool {
        self.register_b() & B_DM_BINARY != 0
    }

    fn hours_24(&self) -> bool {
        self.register_b() & B_24_HOUR != 0
    }

    fn divider_running(&self) -> bool {
        self.ram[usize::from(REG_A)] & A_DIVIDER_MASK == A_DIVIDER_NORMAL
    }

    /// Whether updates happen: time base running and SET clear.
    fn running(&self) -> bool {
        self.divider_running() && self.register_b() & B_SET == 0
    }

    fn irqf(&self) -> bool {
        let b = self.register_b();
        (self.flags & C_PF != 0 && b & B_PIE != 0)
            || (self.flags & C_AF != 0 && b & B_AIE != 0)
            || (self.flags & C_UF != 0 && b & B_UIE != 0)
    }

    fn register_c(&self) -> u8 {
        self.flags | if self.irqf() { C_IRQF } else { 0 }
    }

    /// Update instants in `(after, until]`.
    fn updates_between(&self, after: Nanos, until: Nanos) -> u64 {
        let index = |t: Nanos| {
            (i128::from(t.0) - i128::from(self.update_phase)).div_euclid(NS_PER_SECOND.into())
        };
        (index(until) - index(after)).max(0) as u64
    }

    fn next_update_after(&self, t: Nanos) -> Nanos {
        let since_phase = i128::from(t.0) - i128::from(self.update_phase);
        let next = (since_phase.div_euclid(NS_PER_SECOND.into()) + 1) * i128::from(NS_PER_SECOND);
        let at = next + i128::from(self.update_phase);
        Nanos(u64::try_from(at).unwrap_or(u64::MAX))
    }

    /// Period of the periodic interrupt in time-base cycles (register A's
    /// rate table), or `None` when RS = 0 or the divider is stopped.
    fn periodic_cycles(&self) -> Option<u64> {
        if !self.divider_running() {
            return None;
        }
        match self.ram[usize::from(REG_A)] & A_RATE_MASK {
            0 => None,
            // RS 1 and 2 repeat rates 8 and 9 (256 Hz and 128 Hz).
            1 => Some(128),
            2 => Some(256),
            rs => Some(1 << (rs - 1)),
        }
    }

    fn periodic_ticks(&self, t: Nanos, cycles: u64) -> u64 {
        let elapsed = u128::from(t.since(self.divider_start));
        (elapsed * u128::from(TIME_BASE_HZ) / (u128::from(NS_PER_SECOND) * u128::from(cycles)))
            as u64
    }

    fn periodic_tick_time(&self, tick: u64, cycles: u64) -> Nanos {
        let ns = (u128::from(tick) * u128::from(cycles) * u128::from(NS_PER_SECOND))
            .div_ceil(u128::from(TIME_BASE_HZ));
        self.divider_start
            .plus(u64::try_from(ns).unwrap_or(u64::MAX))
    }

    fn uip(&self, now: Nanos) -> bool {
        self.running() && self.next_update_after(now).since(now) <= UIP_LEAD_NS
    }

    fn encode(&self, value: u8) -> u8 {
        if self.binary() {
            value
        } else {
            ((value / 10) << 4) | (value % 10)
        }
    }

    /// Decodes a byte written in the current data mode, `None` if it is not
    /// a valid BCD byte.
    fn decode_exact(&self, byte: u8) -> Option<u8> {
        if self.binary() {
            Some(byte)
        } else if byte >> 4 <= 9 && byte & 0xF <= 9 {
            Some((byte >> 4) * 10 + (byte & 0xF))
        } else {
            None
        }
    }

    /// Decodes a byte, taking non-decimal BCD digits at face value.
    fn decode_lenient(&self, byte: u8) -> u8 {
        if self.binary() {
            byte
        } else {
            (byte >> 4) * 10 + (byte & 0xF)
        }
    }

    fn encode_hour(&self, hour: u8) -> u8 {
        if self.hours_24() {
            return self.encode(hour);
        }
        let pm = if hour >= 12 { 0x80 } else { 0 };
        let hour_12 = match hour % 12 {
            0 => 12,
            h => h,
        };
        self.encode(hour_12) | pm
    }

    /// The 24-hour value of an hour byte, `None` if no time can show it.
    fn decode_hour_exact(&self, byte: u8) -> Option<u8> {
        if self.hours_24() {
            return self.decode_exact(byte).filter(|&h| h < 24);
        }
        let hour = self
            .decode_exact(byte & 0x7F)
            .filter(|h| (1..=12).contains(h))?;
        Some(hour % 12 + if byte & 0x80 != 0 { 12 } else { 0 })
    }

    fn decode_hour_lenient(&self, byte: u8) -> u8 {
        if self.hours_24() {
            return self.decode_lenient(byte).min(23);
        }
        let hour = self.decode_lenient(byte & 0x7F).clamp(1, 12);
        hour % 12 + if byte & 0x80 != 0 { 12 } else { 0 }
    }

    fn time_registers(&self) -> TimeRegisters {
        let days = self.clock.div_euclid(SECONDS_PER_DAY);
        let time = DateTime::from_seconds(self.clock);
        let day_of_week = (weekday(days) - 1 + self.weekday_offset) % 7 + 1;
        [
            self.encode(time.second),
            self.encode(time.minute),
            self.encode_hour(time.hour),
            self.encode(day_of_week),
            self.encode(time.day),
            self.encode(time.month),
            self.encode(time.year.rem_euclid(100) as u8),
            self.encode(time.year.div_euclid(100).rem_euclid(100) as u8),
        ]
    }

    /// Sets the clock from time bytes in the current format, clamping
    /// out-of-range fields.
    fn load_time(&mut self, bytes: TimeRegisters) {
        let [second, minute, hour, day_of_week, day, month, year, century] = bytes;
        let year = i64::from(self.decode_lenient(century).min(99)) * 100
            + i64::from(self.decode_lenient(year).min(99));
        let month = self.decode_lenient(month).clamp(1, 12);
        let time = DateTime {
            year,
            month,
            day: self
                .decode_lenient(day)
                .clamp(1, days_in_month(year, month)),
            hour: self.decode_hour_lenient(hour),
            minute: self.decode_lenient(minute).min(59),
            second: self.decode_lenient(second).min(59),
        };
        self.clock = time.to_seconds();
        let computed = weekday(self.clock.div_euclid(SECONDS_PER_DAY));
        let written = self.decode_lenient(day_of_week).clamp(1, 7);
        self.weekday_offset = (written + 7 - computed) % 7;
    }

    /// Seconds from `of_day` (seconds since midnight) to the next time the
    /// alarm bytes match, in 1..=86400, or `None` if they never match.
    fn alarm_delay(&self, of_day: i64) -> Option<u64> {
        let field = |index: u8, decode: &dyn Fn(u8) -> Option<u8>| {
            let byte = self.ram[usize::from(index)];
            if byte & ALARM_DONT_CARE == ALARM_DONT_CARE {
                Ok(None)
            } else {
                decode(byte).map(Some).ok_or(())
            }
        };
        let second = field(REG_SECONDS_ALARM, &|b| {
            self.decode_exact(b).filter(|&s| s < 60)
        });
        let minute = field(REG_MINUTES_ALARM, &|b| {
            self.decode_exact(b).filter(|&m| m < 60)
        });
        let hour = field(REG_HOURS_ALARM, &|b| self.decode_hour_exact(b));
        let (Ok(second), Ok(minute), Ok(hour)) = (second, minute, hour) else {
            return None;
        };
        let now_hour = of_day / 3600;
        let now_minute = of_day / 60 % 60;
        let now_second = of_day % 60;
        // Candidates in time order: the rest of this hour, the next 23
        // hours, then this hour again tomorrow.
        for hours_ahead in 0..=24 {
            let h = (now_hour + hours_ahead) % 24;
            if hour.is_some_and(|want| i64::from(want) != h) {
                continue;
            }
            let first_minute = if hours_ahead == 0 { now_minute } else { 0 };
            for m in first_minute..60 {
                if minute.is_some_and(|want| i64::from(want) != m) {
                    continue;
                }
                let first_second = if hours_ahead == 0 && m == now_minute {
                    now_second + 1
                } else {
                    0
                };
                let s = match second {
                    Some(want) if i64::from(want) >= first_second => i64::from(want),
                    None if first_second <= 59 => first_second,
                    _ => continue,
                };
                let target = (now_hour + hours_ahead) * 3600 + m * 60 + s;
                return Some((target - of_day) as u64);
            }
        }
        None
    }

    fn read_register(&mut self, index: u8, now: Nanos) -> u8 {
        self.advance(now);
        if let Some(slot) = TIME_REGISTERS.iter().position(|&r| r == index) {
            return self.frozen.unwrap_or_else(|| self.time_registers())[slot];
        }
        match index {
            REG_A => self.ram[usize::from(REG_A)] | if self.uip(now) { A_UIP } else { 0 },
            REG_C => {
                let value = self.register_c();
                self.flags = 0;
                value
            }
            REG_D => D_VRT,
            _ => self.ram[usize::from(index & INDEX_MASK)],
        }
    }

    fn write_register(&mut self, index: u8, value: u8, now: Nanos) {
        self.advance(now);
        if let Some(slot) = TIME_REGISTERS.iter().position(|&r| r == index) {
            match &mut self.frozen {
                Some(bytes) => bytes[slot] = value,
                None => {
                    let mut bytes = self.time_registers();
                    bytes[slot] = value;
                    self.load_time(bytes);
                }
            }
            return;
        }
        match index {
            REG_A => self.write_register_a(value, now),
            REG_B => self.write_register_b(value),
            REG_C | REG_D => {}
            _ => self.ram[usize::from(index & INDEX_MASK)] = value,
        }
    }

    fn write_register_a(&mut self, value: u8, now: Nanos) {
        let was_running = self.divider_running();
        self.ram[usize::from(REG_A)] = value & !A_UIP;
        if !was_running && self.divider_running() {
            // "The first update cycle begins one-half second later."
            self.update_phase = (now.0 % NS_PER_SECOND + FIRST_UPDATE_NS) % NS_PER_SECOND;
            self.divider_start = now;
        }
    }

    fn write_register_b(&mut self, mut value: u8) {
        let old = self.register_b();
        if value & B_SET != 0 {
            // "The SET bit going high clears the UIE bit."
            value &= !B_UIE;
            if old & B_SET == 0 {
                self.frozen = Some(self.time_registers());
            }
            self.ram[usize::from(REG_B)] = value;
        } else {
            // The bytes written while SET was high are read in the format
            // this write selects.
            self.ram[usize::from(REG_B)] = value;
            if let Some(bytes) = self.frozen.take() {
                self.load_time(bytes);
            }
        }
    }
}

fn fill_memory_sizes(ram: &mut [u8; 128], config: &RtcConfig) {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * KIB;
    const BLOCK: u64 = 64 * KIB;
    let mut put_u16 = |index: u8, value: u64| {
        let bytes = (value.min(0xFFFF) as u16).to_le_bytes();
        ram[usize::from(index)..usize::from(index) + 2].copy_from_slice(&bytes);
    };
    put_u16(CMOS_BASE_MEMORY, (config.ram_below_4g / KIB).min(640));
    let extended = config.ram_below_4g.saturating_sub(MIB) / KIB;
    put_u16(CMOS_EXTENDED_MEMORY, extended);
    put_u16(CMOS_EXTENDED_MEMORY_POST, extended);
    put_u16(
        CMOS_MEMORY_ABOVE_16M,
        config.ram_below_4g.saturating_sub(16 * MIB) / BLOCK,
    );
    let above_4g = (config.ram_above_4g / BLOCK).min(0xFF_FFFF) as u32;
    let start = usize::from(CMOS_MEMORY_ABOVE_4G);
    ram[start..start + 3].copy_from_slice(&above_4g.to_le_bytes()[..3]);
    ram[usize::from(CMOS_CPU_COUNT)] = config.cpus.saturating_sub(1).min(0xFF) as u8;
    let checksum: u16 = ram[0x10..=0x2D].iter().map(|&b| u16::from(b)).sum();
    let start = usize::from(CMOS_CHECKSUM);
    ram[start..start + 2].copy_from_slice(&checksum.to_be_bytes());
}

impl PortDevice for Rtc {
    fn port_read(&mut self, offset: u16, size: u8, now: Nanos) -> u32 {
        let mut value = 0;
        for lane in 0..size.min(4) {
            let byte = match offset.wrapping_add(u16::from(lane)) {
                PORT_DATA => self.read_register(self.index, now),
                // The index register is write-only on a PC.
                _ => 0xFF,
            };
            value |= u32::from(byte) << (8 * lane);
        }
        value
    }

    fn port_write(&mut self, offset: u16, size: u8, value: u32, now: Nanos) {
        for lane in 0..size.min(4) {
            let byte = (value >> (8 * lane)) as u8;
            match offset.wrapping_add(u16::from(lane)) {
                PORT_INDEX => {
                    self.index = byte & INDEX_MASK;
                    self.nmi_masked = byte & INDEX_NMI_DISABLE != 0;
                }
                PORT_DATA => self.write_register(self.index, byte, now),
                _ => {}
            }
        }
    }
}

/// The RTC's state, as [`Rtc::snapshot`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtcSnapshot {
    /// Selected CMOS index.
    pub index: u8,
    /// NMI mask bit of the index port.
    pub nmi_masked: bool,
    /// Register A without UIP.
    pub register_a: u8,
    /// Register B.
    pub register_b: u8,
    /// Register C as a read would return it (without clearing it).
    pub register_c: u8,
    /// The clock in seconds since 1970-01-01 00:00:00, as of the last advance.
    pub clock_seconds: i64,
    /// Seconds, minutes, hours, day of week, day, month, year and century as
    /// the guest would read them.
    pub time_registers: [u8; 8],
}
