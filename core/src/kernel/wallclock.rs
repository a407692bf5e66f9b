//! The machine's wall-clock time, read once from the physical CMOS RTC at boot
//! (MC146818: registers 0x00–0x09, century at 0x32, status B for BCD/24 h),
//! so each partition's virtual RTC starts at the real date.

use core::sync::atomic::{AtomicU64, Ordering};

use x86_64::instructions::port::Port;

use super::time;

const INDEX: u16 = 0x70;
const DATA: u16 = 0x71;
/// Keep NMIs enabled (bit 7 clear) while selecting registers.
const STATUS_A: u8 = 0x0A;
const STATUS_B: u8 = 0x0B;
const UPDATE_IN_PROGRESS: u8 = 0x80;
const BINARY: u8 = 0x04;
const HOURS_24: u8 = 0x02;

static EPOCH_AT_BOOT: AtomicU64 = AtomicU64::new(0);
static NANOS_AT_BOOT: AtomicU64 = AtomicU64::new(0);

fn cmos(register: u8) -> u8 {
    // SAFETY: the CMOS index/data ports belong to the hypervisor; reading a
    // time register has no side effect.
    unsafe {
        Port::<u8>::new(INDEX).write(register);
        Port::<u8>::new(DATA).read()
    }
}

/// Days since 1970-01-01 of a Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Reads the RTC, waiting out an update in progress. Bootstrap processor, once.
pub fn init() {
    let mut spins = 0u32;
    while cmos(STATUS_A) & UPDATE_IN_PROGRESS != 0 && spins < 1_000_000 {
        spins += 1;
        core::hint::spin_loop();
    }
    let b = cmos(STATUS_B);
    let decode = |v: u8| {
        if b & BINARY != 0 {
            v
        } else {
            (v & 0x0F) + (v >> 4) * 10
        }
    };
    let seconds = decode(cmos(0x00));
    let minutes = decode(cmos(0x02));
    let raw_hours = cmos(0x04);
    let mut hours = decode(raw_hours & 0x7F);
    if b & HOURS_24 == 0 {
        hours %= 12;
        if raw_hours & 0x80 != 0 {
            hours += 12;
        }
    }
    let day = decode(cmos(0x07));
    let month = decode(cmos(0x08));
    let year = decode(cmos(0x09));
    let century = match decode(cmos(0x32)) {
        c @ 19..=30 => c,
        _ => 20,
    };
    let year = i64::from(century) * 100 + i64::from(year);
    let days = days_from_civil(year, month.clamp(1, 12).into(), day.clamp(1, 31).into());
    let epoch =
        days * 86_400 + i64::from(hours) * 3600 + i64::from(minutes) * 60 + i64::from(seconds);
    EPOCH_AT_BOOT.store(epoch.max(0) as u64, Ordering::Relaxed);
    NANOS_AT_BOOT.store(time::now_nanos(), Ordering::Relaxed);
}

/// Seconds since 1970 now.
pub fn epoch_seconds() -> u64 {
    let elapsed = time::now_nanos().saturating_sub(NANOS_AT_BOOT.load(Ordering::Relaxed));
    EPOCH_AT_BOOT.load(Ordering::Relaxed) + elapsed / 1_000_000_000
}
