//! Scenario tests for the MC146818A, driven through ports 0x70/0x71.

use super::calendar::{civil_from_days, days_from_civil, days_in_month, weekday};
use super::*;

/// 2023-11-14 22:13:20 UTC, a Tuesday.
const TUESDAY_EVENING: u64 = 1_700_000_000;
const SECOND: u64 = 1_000_000_000;

fn rtc_at(epoch: u64) -> Rtc {
    Rtc::new(epoch, &RtcConfig::default())
}

fn read(rtc: &mut Rtc, index: u8, now: Nanos) -> u8 {
    rtc.port_write(PORT_INDEX, 1, u32::from(index), now);
    rtc.port_read(PORT_DATA, 1, now) as u8
}

fn write(rtc: &mut Rtc, index: u8, value: u8, now: Nanos) {
    rtc.port_write(PORT_INDEX, 1, u32::from(index), now);
    rtc.port_write(PORT_DATA, 1, u32::from(value), now);
}

/// Seconds, minutes, hours, day of week, day, month, year, century.
fn date_time(rtc: &mut Rtc, now: Nanos) -> [u8; 8] {
    TIME_REGISTERS.map(|index| read(rtc, index, now))
}

/// Time and calendar bytes: BCD and 24-hour format (register B = 0x02)
/// after construction, day of week 1 = Sunday, century at 0x32.
#[test]
fn reads_the_start_time_in_bcd_24_hour() {
    let mut rtc = rtc_at(TUESDAY_EVENING);
    let expected = [0x20, 0x13, 0x22, 0x03, 0x14, 0x11, 0x23, 0x20];
    assert_eq!(date_time(&mut rtc, Nanos(0)), expected);
    assert_eq!(read(&mut rtc, REG_A, Nanos(0)), 0x26);
    assert_eq!(read(&mut rtc, REG_B, Nanos(0)), 0x02);
}

/// Register B's DM bit selects binary data and its 24/12 bit the hour
/// format; in 12-hour format bit 7 of the hours byte is PM.
#[test]
fn binary_and_12_hour_formats() {
    let mut rtc = rtc_at(TUESDAY_EVENING);
    write(
        &mut rtc,
        REG_B,
        /*binary, 12 h=*/ B_DM_BINARY,
        Nanos(0),
    );
    assert_eq!(read(&mut rtc, REG_HOURS, Nanos(0)), 0x80 | 10);
    assert_eq!(read(&mut rtc, REG_MINUTES, Nanos(0)), 13);
    write(&mut rtc, REG_B, /*bcd, 12 h=*/ 0, Nanos(0));
    assert_eq!(read(&mut rtc, REG_HOURS, Nanos(0)), 0x90);
    write(&mut rtc, REG_B, B_DM_BINARY | B_24_HOUR, Nanos(0));
    assert_eq!(read(&mut rtc, REG_HOURS, Nanos(0)), 22);

    // Midnight and noon in 12-hour format are 12 AM and 12 PM.
    let mut rtc = rtc_at(946_728_000 - 12 * 3600);
    write(&mut rtc, REG_B, 0, Nanos(0));
    assert_eq!(read(&mut rtc, REG_HOURS, Nanos(0)), 0x12);
    assert_eq!(read(&mut rtc, REG_HOURS, Nanos(12 * 3600 * SECOND)), 0x92);
}

/// The update cycle carries seconds into minutes, hours, days, months and
/// years with the Gregorian leap rules (2024 leap, 2100 not).
#[test]
fn time_advances_across_midnight_month_and_leap_day() {
    let mut rtc = rtc_at(/*2024-02-28 23:59:59*/ 1_709_164_799);
    assert_eq!(
        date_time(&mut rtc, Nanos(SECOND)),
        [0x00, 0x00, 0x00, 0x05, 0x29, 0x02, 0x24, 0x20]
    );
    let next_day = Nanos(SECOND + 86_400 * SECOND);
    assert_eq!(date_time(&mut rtc, next_day)[4..6], [0x01, 0x03]);

    let mut rtc = rtc_at(/*2099-12-31 23:59:59*/ 4_102_444_799);
    assert_eq!(
        date_time(&mut rtc, Nanos(SECOND)),
        [0x00, 0x00, 0x00, 0x06, 0x01, 0x01, 0x00, 0x21]
    );
    let feb_28 = Nanos((31 + 27) * 86_400 * SECOND + SECOND);
    assert_eq!(date_time(&mut rtc, feb_28)[4..6], [0x28, 0x02]);
    let next_day = feb_28.plus(86_400 * SECOND);
    assert_eq!(date_time(&mut rtc, next_day)[4..6], [0x01, 0x03]);
}

/// SET freezes the time bytes and clears UIE; the bytes written while SET
/// is high become the clock when SET is cleared, and the divider phase is
/// kept, so the next update comes on the next whole second.
#[test]
fn set_freezes_updates_and_sets_the_clock() {
    let mut rtc = rtc_at(TUESDAY_EVENING);
    write(&mut rtc, REG_B, B_24_HOUR | B_UIE, Nanos(0));
    write(
        &mut rtc,
        REG_B,
        B_24_HOUR | B_SET | B_UIE,
        Nanos(SECOND / 4),
    );
    assert_eq!(read(&mut rtc, REG_B, Nanos(SECOND / 4)), B_24_HOUR | B_SET);
    assert_eq!(
        read(&mut rtc, REG_SECONDS, Nanos(3 * SECOND)),
        0x20,
        "frozen"
    );
    let new_time = [0x00, 0x00, 0x12, 0x07, 0x01, 0x01, 0x00, 0x20];
    for (index, value) in TIME_REGISTERS.into_iter().zip(new_time) {
        write(&mut rtc, index, value, Nanos(3 * SECOND));
    }
    assert_eq!(date_time(&mut rtc, Nanos(3 * SECOND)), new_time);
    write(&mut rtc, REG_B, B_24_HOUR, Nanos(3 * SECOND + SECOND / 2));
    assert_eq!(
        rtc.snapshot().clock_seconds,
        /*2000-01-01 12:00:00*/ 946_728_000
    );
    assert_eq!(read(&mut rtc, REG_SECONDS, Nanos(4 * SECOND - 1)), 0x00);
    assert_eq!(read(&mut rtc, REG_SECONDS, Nanos(4 * SECOND)), 0x01);
}

/// A time byte written while the clock runs changes the clock at once.
#[test]
fn write_while_running_changes_the_clock() {
    let mut rtc = rtc_at(TUESDAY_EVENING);
    write(&mut rtc, REG_HOURS, 0x08, Nanos(0));
    assert_eq!(
        date_time(&mut rtc, Nanos(SECOND)),
        [0x21, 0x13, 0x08, 0x03, 0x14, 0x11, 0x23, 0x20]
    );
    // Out-of-range values are clamped rather than kept.
    write(&mut rtc, REG_MINUTES, 0x75, Nanos(SECOND));
    assert_eq!(read(&mut rtc, REG_MINUTES, Nanos(SECOND)), 0x59);
}

/// Register A's rate select gives the periodic interrupt rate (RS = 0110:
/// 1024 Hz); PF sets IRQF when PIE is on, and reading register C clears
/// the flags and the interrupt.
#[test]
fn periodic_interrupt_at_the_rate_of_register_a() {
    let mut rtc = rtc_at(TUESDAY_EVENING);
    write(&mut rtc, REG_B, B_24_HOUR | B_PIE, Nanos(0));
    assert_eq!(rtc.next_event_deadline(), Some(Nanos(976_563)));
    rtc.advance(Nanos(976_562));
    assert!(!rtc.irq_level());
    rtc.advance(Nanos(976_563));
    assert!(rtc.irq_level());
    assert_eq!(rtc.next_event_deadline(), None, "IRQF already set");
    assert_eq!(read(&mut rtc, REG_C, Nanos(976_563)), C_IRQF | C_PF);
    assert!(!rtc.irq_level());
    assert_eq!(read(&mut rtc, REG_C, Nanos(976_563)), 0);

    let mut interrupts = 1;
    while let Some(deadline) = rtc.next_event_deadline() {
        if deadline > Nanos(SECOND) {
            break;
        }
        rtc.advance(deadline);
        assert!(rtc.irq_level());
        read(&mut rtc, REG_C, deadline);
        interrupts += 1;
    }
    assert_eq!(interrupts, 1024);

    // RS = 1111: 2 Hz.
    write(&mut rtc, REG_A, A_DIVIDER_NORMAL | 0x0F, Nanos(SECOND));
    read(&mut rtc, REG_C, Nanos(SECOND));
    assert_eq!(rtc.next_event_deadline(), Some(Nanos(SECOND + SECOND / 2)));
}

/// The alarm fires on the update that makes the time equal the alarm bytes;
/// 0xC0–0xFF in an alarm byte means "don't care".
#[test]
fn alarm_with_dont_care_bytes() {
    let mut rtc = rtc_at(TUESDAY_EVENING);
    write(&mut rtc, REG_SECONDS_ALARM, 0x30, Nanos(0));
    write(&mut rtc, REG_MINUTES_ALARM, 0xFF, Nanos(0));
    write(&mut rtc, REG_HOURS_ALARM, 0xC0, Nanos(0));
    write(&mut rtc, REG_B, B_24_HOUR | B_AIE, Nanos(0));
    assert_eq!(rtc.next_event_deadline(), Some(Nanos(10 * SECOND)));
    rtc.advance(Nanos(10 * SECOND - 1));
    assert!(!rtc.irq_level());
    rtc.advance(Nanos(10 * SECOND));
    assert!(rtc.irq_level());
    // PF is set too: the periodic rate runs whether or not PIE is set.
    assert_eq!(
        read(&mut rtc, REG_C, Nanos(10 * SECOND)),
        C_IRQF | C_PF | C_AF | C_UF
    );
    assert_eq!(rtc.next_event_deadline(), Some(Nanos(70 * SECOND)));

    // A fixed time in 12-hour format: 10:14:00 PM.
    write(&mut rtc, REG_B, B_AIE, Nanos(10 * SECOND));
    write(&mut rtc, REG_HOURS_ALARM, 0x80 | 0x10, Nanos(10 * SECOND));
    write(&mut rtc, REG_MINUTES_ALARM, 0x14, Nanos(10 * SECOND));
    write(&mut rtc, REG_SECONDS_ALARM, 0x00, Nanos(10 * SECOND));
    assert_eq!(rtc.next_event_deadline(), Some(Nanos(40 * SECOND)));
    // An alarm passed during a long halt is still seen.
    rtc.advance(Nanos(5000 * SECOND));
    assert!(rtc.irq_level());
}

/// UF is set by every update and raises IRQF with UIE; UIP reads 1 in the
/// 244 µs before each update.
#[test]
fn update_ended_interrupt_and_uip() {
    let mut rtc = rtc_at(TUESDAY_EVENING);
    write(&mut rtc, REG_B, B_24_HOUR | B_UIE, Nanos(0));
    assert_eq!(rtc.next_event_deadline(), Some(Nanos(SECOND)));
    assert_eq!(
        read(&mut rtc, REG_A, Nanos(SECOND - UIP_LEAD_NS - 1)) & A_UIP,
        0
    );
    assert_eq!(
        read(&mut rtc, REG_A, Nanos(SECOND - UIP_LEAD_NS)) & A_UIP,
        A_UIP
    );
    assert!(!rtc.irq_level());
    assert_eq!(read(&mut rtc, REG_A, Nanos(SECOND)) & A_UIP, 0);
    assert!(rtc.irq_level());
    assert_eq!(read(&mut rtc, REG_C, Nanos(SECOND)), C_IRQF | C_PF | C_UF);
    assert_eq!(rtc.next_event_deadline(), Some(Nanos(2 * SECOND)));
}

/// Flags are set whether or not their enable is; enabling an interrupt
/// whose flag is pending raises IRQF at once (IRQF = PF·PIE + AF·AIE +
/// UF·UIE). Register D always reads VRT and ignores writes.
#[test]
fn flags_without_enables_and_register_d() {
    let mut rtc = rtc_at(TUESDAY_EVENING);
    rtc.advance(Nanos(SECOND));
    assert!(!rtc.irq_level());
    assert_eq!(rtc.snapshot().register_c, C_PF | C_UF);
    write(&mut rtc, REG_B, B_24_HOUR | B_UIE, Nanos(SECOND));
    assert!(rtc.irq_level());
    write(&mut rtc, REG_C, 0, Nanos(SECOND));
    assert!(rtc.irq_level(), "register C is read-only");
    write(&mut rtc, REG_D, 0, Nanos(SECOND));
    assert_eq!(read(&mut rtc, REG_D, Nanos(SECOND)), D_VRT);
}

/// Divider control 11x holds the divider in reset: the clock stops; back
/// to 010, the first update comes half a second later.
#[test]
fn divider_reset_stops_the_clock() {
    let mut rtc = rtc_at(TUESDAY_EVENING);
    write(&mut rtc, REG_A, 0x70, Nanos(SECOND / 10));
    assert_eq!(read(&mut rtc, REG_SECONDS, Nanos(5 * SECOND)), 0x20);
    write(&mut rtc, REG_A, 0x26, Nanos(5 * SECOND + 1));
    assert_eq!(
        read(&mut rtc, REG_SECONDS, Nanos(5 * SECOND + SECOND / 2)),
        0x20
    );
    assert_eq!(
        read(&mut rtc, REG_SECONDS, Nanos(5 * SECOND + SECOND / 2 + 1)),
        0x21
    );
}

/// The day of week is its own counter on the chip: a value the guest sets
/// that disagrees with the date is kept and advances at midnight.
#[test]
fn day_of_week_written_is_kept() {
    let mut rtc = rtc_at(TUESDAY_EVENING);
    write(&mut rtc, REG_B, B_24_HOUR | B_SET, Nanos(0));
    write(&mut rtc, REG_DAY_OF_WEEK, 0x07, Nanos(0));
    write(&mut rtc, REG_B, B_24_HOUR, Nanos(0));
    assert_eq!(read(&mut rtc, REG_DAY_OF_WEEK, Nanos(0)), 0x07);
    assert_eq!(
        read(&mut rtc, REG_DAY_OF_WEEK, Nanos(2 * 3600 * SECOND)),
        0x01
    );
}

/// Bit 7 of port 0x70 masks NMIs; bits 6:0 select the byte; port 0x70
/// is write-only.
#[test]
fn index_port_and_nmi_mask() {
    let mut rtc = rtc_at(TUESDAY_EVENING);
    rtc.port_write(PORT_INDEX, 1, 0x80 | 0x40, Nanos(0));
    assert!(rtc.nmi_masked());
    rtc.port_write(PORT_DATA, 1, 0x5A, Nanos(0));
    rtc.port_write(PORT_INDEX, 1, 0x40, Nanos(0));
    assert!(!rtc.nmi_masked());
    assert_eq!(rtc.port_read(PORT_DATA, 1, Nanos(0)), 0x5A);
    assert_eq!(rtc.port_read(PORT_INDEX, 1, Nanos(0)), 0xFF);
}

/// CMOS memory-size bytes as SeaBIOS reads them: 640 KiB base memory,
/// extended memory in KiB capped at 0xFFFF, 64 KiB blocks above 16 MiB and
/// above 4 GiB, CPU count − 1, and the AT checksum over 0x10–0x2D.
#[test]
fn cmos_memory_size_fields() {
    const MIB: u64 = 1024 * 1024;
    let config = RtcConfig {
        ram_below_4g: 3072 * MIB,
        ram_above_4g: 2048 * MIB,
        cpus: 4,
    };
    let mut rtc = Rtc::new(TUESDAY_EVENING, &config);
    let mut word = |index: u8| {
        u16::from_le_bytes([
            read(&mut rtc, index, Nanos(0)),
            read(&mut rtc, index + 1, Nanos(0)),
        ])
    };
    assert_eq!(word(CMOS_BASE_MEMORY), 640);
    assert_eq!(word(CMOS_EXTENDED_MEMORY), 0xFFFF);
    assert_eq!(word(CMOS_EXTENDED_MEMORY_POST), 0xFFFF);
    assert_eq!(word(CMOS_MEMORY_ABOVE_16M), ((3072 - 16) * 16) as u16);
    let above: Vec<u8> = (0..3)
        .map(|i| read(&mut rtc, CMOS_MEMORY_ABOVE_4G + i, Nanos(0)))
        .collect();
    assert_eq!(above, [0x00, 0x80, 0x00]);
    assert_eq!(read(&mut rtc, CMOS_CPU_COUNT, Nanos(0)), 3);
    let sum: u16 = (0x10..=0x2D)
        .map(|i| u16::from(read(&mut rtc, i, Nanos(0))))
        .sum();
    let stored = u16::from_be_bytes([
        read(&mut rtc, 0x2E, Nanos(0)),
        read(&mut rtc, 0x2F, Nanos(0)),
    ]);
    assert_eq!(stored, sum);

    let small = RtcConfig {
        ram_below_4g: 32 * MIB,
        ram_above_4g: 0,
        cpus: 1,
    };
    let mut rtc = Rtc::new(0, &small);
    assert_eq!(
        read(&mut rtc, CMOS_EXTENDED_MEMORY, Nanos(0)),
        (31 * 1024 % 256) as u8
    );
    assert_eq!(
        read(&mut rtc, CMOS_EXTENDED_MEMORY + 1, Nanos(0)),
        (31 * 1024 / 256) as u8
    );
    assert_eq!(read(&mut rtc, CMOS_MEMORY_ABOVE_16M, Nanos(0)), 0);
}

/// Calendar arithmetic: over a whole 400-year cycle (and across 1970 and
/// 0000), each day is the successor of the previous one, round-trips, and
/// the weekday cycles by seven.
#[test]
fn calendar_walks_day_by_day() {
    let start = days_from_civil(1599, 12, 25);
    let (mut year, mut month, mut day) = civil_from_days(start);
    assert_eq!((year, month, day), (1599, 12, 25));
    for days in start + 1..start + 146_097 * 2 {
        day += 1;
        if day > days_in_month(year, month) {
            day = 1;
            month += 1;
            if month > 12 {
                month = 1;
                year += 1;
            }
        }
        assert_eq!(civil_from_days(days), (year, month, day));
        assert_eq!(days_from_civil(year, month, day), days);
        assert_eq!(weekday(days), weekday(days - 7));
    }
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(weekday(0), 5, "1970-01-01 was a Thursday");
    assert_eq!(civil_from_days(days_from_civil(0, 2, 29)), (0, 2, 29));
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Arbitrary guest accesses at arbitrary times never panic.
#[test]
fn arbitrary_accesses_never_panic() {
    let mut rng = XorShift(0x0123_4567_89AB_CDEF);
    for epoch in [0, TUESDAY_EVENING, u64::MAX] {
        let config = RtcConfig {
            ram_below_4g: rng.next(),
            ram_above_4g: rng.next(),
            cpus: 0,
        };
        let mut rtc = Rtc::new(epoch, &config);
        let mut now = Nanos(0);
        for _ in 0..50_000 {
            now = match rng.next() % 8 {
                0 => Nanos(rng.next()),
                1 => now.plus(rng.next() % (1 << 50)),
                _ => now.plus(rng.next() % 2_000_000),
            };
            let offset = (rng.next() % 3) as u16;
            let size = [1, 2, 4, 0, 3][(rng.next() % 5) as usize];
            let value = match rng.next() % 3 {
                0 => u32::from(
                    [REG_A, REG_B, REG_C, REG_HOURS, REG_CENTURY][(rng.next() % 5) as usize],
                ),
                _ => rng.next() as u32,
            };
            if rng.next() & 1 == 0 {
                rtc.port_write(offset, size, value, now);
            } else {
                rtc.port_read(offset, size, now);
            }
            rtc.next_event_deadline();
            rtc.irq_level();
        }
    }
}
