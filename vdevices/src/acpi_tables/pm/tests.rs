//! Scenario tests for the PM timer and the PM1 registers, driven through
//! their ports.

use super::*;

const SECOND: u64 = 1_000_000_000;

fn outw(pm: &mut AcpiPmBlock, offset: u16, value: u16, now: Nanos) {
    pm.port_write(offset, 2, u32::from(value), now);
}

fn inw(pm: &mut AcpiPmBlock, offset: u16, now: Nanos) -> u16 {
    pm.port_read(offset, 2, now) as u16
}

/// The PM timer runs at 3.579545 MHz: one second is 3579545 counts,
/// computed from the time given, and reads work on every byte lane.
#[test]
fn timer_counts_at_3_579545_mhz() {
    let mut timer = PmTimer::new(/*extended=*/ true);
    assert_eq!(timer.port_read(0, 4, Nanos(0)), 0);
    assert_eq!(timer.port_read(0, 4, Nanos(SECOND)), 3_579_545);
    assert_eq!(timer.port_read(0, 4, Nanos(1000 * SECOND)), 3_579_545_000);
    assert_eq!(timer.port_read(2, 2, Nanos(SECOND)), 3_579_545 >> 16);
    assert_eq!(timer.port_read(3, 2, Nanos(SECOND)), 0xFF00);
    let mut pm = AcpiPmBlock::new(true);
    assert_eq!(pm.port_read(PM_TIMER, 4, Nanos(SECOND)), 3_579_545);
}

/// TMR_VAL_EXT clear: the counter is 24 bits and wraps after 2^24 counts;
/// set: 32 bits.
#[test]
fn timer_width_follows_tmr_val_ext() {
    let mut narrow = PmTimer::new(/*extended=*/ false);
    let wrap = PmTimer::tick_time(1 << 24);
    assert_eq!(narrow.port_read(0, 4, Nanos(wrap.0 - 1)), 0x00FF_FFFF);
    assert_eq!(narrow.port_read(0, 4, wrap), 0);
    let mut wide = PmTimer::new(/*extended=*/ true);
    assert_eq!(wide.port_read(0, 4, wrap), 1 << 24);
    let wide_wrap = PmTimer::tick_time(1 << 32);
    assert_eq!(wide.port_read(0, 4, Nanos(wide_wrap.0 - 1)), u32::MAX);
    assert_eq!(wide.port_read(0, 4, wide_wrap), 0);
}

/// The PM timer is read-only.
#[test]
fn timer_ignores_writes() {
    let mut pm = AcpiPmBlock::new(true);
    pm.port_write(PM_TIMER, 4, 0, Nanos(SECOND));
    assert_eq!(pm.port_read(PM_TIMER, 4, Nanos(SECOND)), 3_579_545);
}

/// PM1_CNT: SCI_EN reads 1 (always ACPI mode); SLP_EN with the SLP_TYP of
/// `\_S5` requests soft-off (`outw(0x604, 0x2000)` under QEMU q35) and
/// reads back 0; other sleep types are reported as unsupported.
#[test]
fn slp_en_with_s5_type_requests_soft_off() {
    let mut pm = AcpiPmBlock::new(true);
    assert_eq!(inw(&mut pm, PM1_CONTROL, Nanos(0)), SCI_EN);
    outw(&mut pm, PM1_CONTROL, 5 << SLP_TYP_SHIFT, Nanos(0));
    assert_eq!(pm.take_sleep_request(), None, "SLP_EN clear");
    assert_eq!(
        inw(&mut pm, PM1_CONTROL, Nanos(0)),
        SCI_EN | 5 << SLP_TYP_SHIFT
    );
    outw(&mut pm, PM1_CONTROL, 5 << SLP_TYP_SHIFT | SLP_EN, Nanos(0));
    assert_eq!(
        pm.take_sleep_request(),
        Some(SleepRequest::Unsupported { slp_typ: 5 })
    );
    outw(&mut pm, PM1_CONTROL, 0x2000, Nanos(0));
    assert_eq!(pm.take_sleep_request(), Some(SleepRequest::SoftOff));
    assert_eq!(inw(&mut pm, PM1_CONTROL, Nanos(0)) & SLP_EN, 0);
    // A byte write to the high half of PM1_CNT is enough.
    pm.port_write(PM1_CONTROL + 1, 1, u32::from(SLP_EN >> 8), Nanos(0));
    assert_eq!(pm.take_sleep_request(), Some(SleepRequest::SoftOff));
}

/// The fixed power button: PWRBTN_STS raises the SCI when PWRBTN_EN is
/// set; status bits clear when written with 1, and writing 0 changes
/// nothing.
#[test]
fn power_button_raises_sci_until_cleared() {
    let mut pm = AcpiPmBlock::new(true);
    pm.press_power_button();
    assert!(!pm.sci_level());
    outw(&mut pm, PM1_ENABLE, PWRBTN_EN, Nanos(0));
    assert!(pm.sci_level());
    assert_eq!(inw(&mut pm, PM1_STATUS, Nanos(0)), PWRBTN_STS);
    outw(&mut pm, PM1_STATUS, 0, Nanos(0));
    assert!(pm.sci_level());
    outw(&mut pm, PM1_STATUS, PWRBTN_STS, Nanos(0));
    assert!(!pm.sci_level());
    outw(&mut pm, PM1_ENABLE, 0xFFFF, Nanos(0));
    assert_eq!(
        inw(&mut pm, PM1_ENABLE, Nanos(0)),
        TMR_EN | GBL_EN | PWRBTN_EN | SLPBTN_EN | RTC_EN
    );
}

/// TMR_STS is set whenever the counter's top bit changes (every 2^23
/// counts with the 24-bit timer), and with TMR_EN raises the SCI; the
/// deadline is the carry's first nanosecond.
#[test]
fn timer_carry_sets_tmr_sts() {
    let mut pm = AcpiPmBlock::new(/*extended=*/ false);
    assert_eq!(pm.next_event_deadline(), None, "TMR_EN clear");
    outw(&mut pm, PM1_ENABLE, TMR_EN, Nanos(0));
    let carry = PmTimer::tick_time(1 << 23);
    assert_eq!(pm.next_event_deadline(), Some(carry));
    pm.advance(Nanos(carry.0 - 1));
    assert!(!pm.sci_level());
    pm.advance(carry);
    assert!(pm.sci_level());
    assert_eq!(pm.next_event_deadline(), None);
    outw(&mut pm, PM1_STATUS, TMR_STS, carry);
    assert_eq!(pm.next_event_deadline(), Some(PmTimer::tick_time(2 << 23)));
}

/// Ports past the registers read all-ones and ignore writes.
#[test]
fn unused_ports_read_all_ones() {
    let mut pm = AcpiPmBlock::new(true);
    assert_eq!(pm.port_read(6, 2, Nanos(0)), 0xFFFF);
    assert_eq!(pm.port_read(PM_BLOCK_LEN, 1, Nanos(0)), 0xFF);
    pm.port_write(6, 2, 0xFFFF, Nanos(0));
    assert_eq!(
        pm.snapshot(),
        AcpiPmSnapshot {
            status: 0,
            enable: 0,
            control: SCI_EN,
            sci: false
        }
    );
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

/// Arbitrary accesses at arbitrary times never panic.
#[test]
fn arbitrary_accesses_never_panic() {
    let mut rng = XorShift(0x1656_67B1_9E37_79F9);
    let mut pm = AcpiPmBlock::new(false);
    let mut timer = PmTimer::new(true);
    for _ in 0..200_000 {
        let now = Nanos(rng.next());
        let offset = (rng.next() % 16) as u16;
        let size = [1, 2, 4, 0, 3][(rng.next() % 5) as usize];
        match rng.next() % 4 {
            0 => pm.port_write(offset, size, rng.next() as u32, now),
            1 => {
                pm.port_read(offset, size, now);
            }
            2 => {
                timer.port_read(offset, size, now);
                pm.press_power_button();
            }
            _ => {
                pm.advance(now);
                pm.next_event_deadline();
                pm.take_sleep_request();
            }
        }
    }
}
