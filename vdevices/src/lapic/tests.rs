//! Scenario tests for the local APIC, driven through its MMIO page, the
//! IA32_TSC_DEADLINE calls and the router-facing interrupt calls only.

use super::regs::*;
use super::*;
use crate::MmioDevice;

/// A 1 GHz timer clock (one count per nanosecond before the divider) and a
/// 2 GHz TSC.
const CLOCK: ApicClock = ApicClock::new(
    /*timer_hz=*/ 1_000_000_000,
    /*tsc_hz=*/ 2_000_000_000,
);
const T0: Nanos = Nanos(0);
/// Divide configuration value for "divide by 1".
const DIVIDE_BY_1: u32 = 0b1011;

fn write_at(apic: &mut LocalApic, register: u64, value: u32, now: Nanos) {
    apic.mmio_write(register, 4, u64::from(value), now);
}

fn read_at(apic: &mut LocalApic, register: u64, now: Nanos) -> u32 {
    apic.mmio_read(register, 4, now) as u32
}

fn write(apic: &mut LocalApic, register: u64, value: u32) {
    write_at(apic, register, value, T0);
}

fn read(apic: &mut LocalApic, register: u64) -> u32 {
    read_at(apic, register, T0)
}

/// An APIC with ID `id`, software-enabled through the SVR (spurious 0xFF).
fn enabled_apic(id: u8) -> LocalApic {
    let mut apic = LocalApic::new(id, CLOCK);
    write(&mut apic, APIC_SVR, SVR_APIC_ENABLED | 0xFF);
    apic
}

/// Reads the ESR the way the SDM prescribes: write, then read.
fn latch_esr(apic: &mut LocalApic) -> u32 {
    write(apic, APIC_ESR, 0);
    read(apic, APIC_ESR)
}

/// A register word of the ISR/TMR/IRR bank at `base` holding `vector`.
fn bank_bit(apic: &mut LocalApic, base: u64, vector: u8) -> bool {
    let word = read(apic, base + 0x10 * u64::from(vector / 32));
    word & (1 << (vector % 32)) != 0
}

/// §11.4.7.1: after power-up the APIC is software-disabled (SVR 0xFF), every
/// LVT entry masked, DFR all ones; the version register reads 0x14 with
/// max LVT 6 and EOI-broadcast suppression.
#[test]
fn power_up_state() {
    let mut apic = LocalApic::new(3, CLOCK);
    assert_eq!(read(&mut apic, APIC_ID), 3 << 24);
    assert_eq!(read(&mut apic, APIC_VERSION), 0x0106_0014);
    assert_eq!(read(&mut apic, APIC_SVR), 0xFF);
    assert_eq!(read(&mut apic, APIC_DFR), 0xFFFF_FFFF);
    for lvt in [
        APIC_LVT_CMCI,
        APIC_LVT_TIMER,
        APIC_LVT_THERMAL,
        APIC_LVT_PERF,
        APIC_LVT_LINT0,
        APIC_LVT_LINT1,
        APIC_LVT_ERROR,
    ] {
        assert_eq!(read(&mut apic, lvt), LVT_MASKED);
    }
    assert!(!apic.software_enabled());
    assert_eq!(apic.pending_vector(), None);
}

/// §11.4.7.2: software disable sets every LVT mask, which cannot be cleared
/// while disabled; fixed interrupts are not accepted; re-enabling leaves the
/// masks set.
#[test]
fn software_disable_forces_lvt_masks_and_drops_fixed_interrupts() {
    let mut apic = enabled_apic(0);
    write(&mut apic, APIC_LVT_TIMER, 0x40);
    assert_eq!(read(&mut apic, APIC_LVT_TIMER), 0x40);
    write(&mut apic, APIC_SVR, 0xFF);
    assert_eq!(read(&mut apic, APIC_LVT_TIMER), LVT_MASKED | 0x40);
    write(&mut apic, APIC_LVT_TIMER, 0x41);
    assert_eq!(read(&mut apic, APIC_LVT_TIMER), LVT_MASKED | 0x41);
    apic.accept_interrupt(/*vector=*/ 0x50, /*level_triggered=*/ false);
    assert!(!bank_bit(&mut apic, APIC_IRR_BASE, 0x50));
    write(&mut apic, APIC_SVR, SVR_APIC_ENABLED | 0xFF);
    assert_eq!(read(&mut apic, APIC_LVT_TIMER), LVT_MASKED | 0x41);
}

/// §11.8.4: accepted interrupts set IRR; the highest is offered; INTA moves
/// it to ISR; a lower class then waits behind it.
#[test]
fn accept_and_ack_move_irr_to_isr_highest_first() {
    let mut apic = enabled_apic(0);
    apic.accept_interrupt(/*vector=*/ 0x41, /*level_triggered=*/ false);
    apic.accept_interrupt(/*vector=*/ 0x52, /*level_triggered=*/ false);
    assert!(bank_bit(&mut apic, APIC_IRR_BASE, 0x41));
    assert_eq!(apic.pending_vector(), Some(0x52));
    assert_eq!(apic.ack(), Some(0x52));
    assert!(bank_bit(&mut apic, APIC_ISR_BASE, 0x52));
    assert!(!bank_bit(&mut apic, APIC_IRR_BASE, 0x52));
    assert_eq!(
        apic.pending_vector(),
        None,
        "class 4 waits behind class 5 in service"
    );
    write(&mut apic, APIC_EOI, 0);
    assert_eq!(apic.ack(), Some(0x41));
}

/// §11.8.3.1: the TPR blocks its own class and below; the PPR is the TPR or
/// the in-service class, whichever is higher.
#[test]
fn tpr_blocks_lower_classes_and_ppr_follows() {
    let mut apic = enabled_apic(0);
    write(&mut apic, APIC_TPR, 0x55);
    assert_eq!(read(&mut apic, APIC_PPR), 0x55);
    apic.accept_interrupt(/*vector=*/ 0x5F, /*level_triggered=*/ false);
    assert_eq!(apic.pending_vector(), None);
    apic.accept_interrupt(/*vector=*/ 0x61, /*level_triggered=*/ false);
    assert_eq!(apic.ack(), Some(0x61));
    assert_eq!(read(&mut apic, APIC_PPR), 0x60);
    write(&mut apic, APIC_TPR, 0x72);
    assert_eq!(read(&mut apic, APIC_PPR), 0x72);
    assert_eq!(read(&mut apic, APIC_TPR), 0x72);
}

/// §11.8.5: an EOI clears the highest in-service vector; for a
/// level-triggered one (TMR set) it is broadcast to the IOAPICs, for an
/// edge one it is not.
#[test]
fn eoi_clears_highest_in_service_and_broadcasts_level_vectors() {
    let mut apic = enabled_apic(0);
    apic.accept_interrupt(/*vector=*/ 0x60, /*level_triggered=*/ true);
    assert!(bank_bit(&mut apic, APIC_TMR_BASE, 0x60));
    apic.ack();
    apic.accept_interrupt(/*vector=*/ 0x70, /*level_triggered=*/ false);
    apic.ack();
    write(&mut apic, APIC_EOI, 0);
    assert!(!bank_bit(&mut apic, APIC_ISR_BASE, 0x70));
    assert_eq!(apic.take_eoi_broadcast(), None);
    write(&mut apic, APIC_EOI, 0);
    assert!(!bank_bit(&mut apic, APIC_ISR_BASE, 0x60));
    assert_eq!(apic.take_eoi_broadcast(), Some(0x60));
    assert_eq!(apic.take_eoi_broadcast(), None);
}

/// §11.8.5: with SVR bit 12 set, EOIs for level-triggered vectors are not
/// broadcast (the guest EOIs the IOAPIC itself).
#[test]
fn eoi_broadcast_suppression() {
    let mut apic = LocalApic::new(0, CLOCK);
    write(
        &mut apic,
        APIC_SVR,
        SVR_APIC_ENABLED | SVR_EOI_BROADCAST_SUPPRESSION | 0xFF,
    );
    apic.accept_interrupt(/*vector=*/ 0x60, /*level_triggered=*/ true);
    apic.ack();
    assert_eq!(apic.eoi(), None);
    assert_eq!(
        read(&mut apic, APIC_SVR) & SVR_EOI_BROADCAST_SUPPRESSION,
        SVR_EOI_BROADCAST_SUPPRESSION
    );
}

/// §11.5.3: errors accumulate invisibly until a write to the ESR latches
/// them (write-before-read); the next write latches whatever came since.
/// §11.5.2: receiving vector 0–15 is "receive illegal vector" and sets no
/// IRR bit.
#[test]
fn esr_is_write_before_read_and_illegal_vectors_are_refused() {
    let mut apic = enabled_apic(0);
    apic.accept_interrupt(/*vector=*/ 5, /*level_triggered=*/ false);
    assert!(!bank_bit(&mut apic, APIC_IRR_BASE, 5));
    assert_eq!(read(&mut apic, APIC_ESR), 0, "not latched yet");
    assert_eq!(latch_esr(&mut apic), ESR_RECEIVE_ILLEGAL_VECTOR);
    assert_eq!(
        read(&mut apic, APIC_ESR),
        ESR_RECEIVE_ILLEGAL_VECTOR,
        "reads are stable"
    );
    assert_eq!(latch_esr(&mut apic), 0);
}

/// §11.5.2: sending a fixed IPI with vector 0–15 sets "send illegal vector"
/// and sends nothing.
#[test]
fn sending_an_illegal_vector_sets_esr_and_sends_nothing() {
    let mut apic = enabled_apic(0);
    write(&mut apic, APIC_ICR_HIGH, 1 << 24);
    write(&mut apic, APIC_ICR_LOW, ICR_LEVEL_ASSERT | 0x0F);
    assert_eq!(apic.take_ipi(), None);
    assert_eq!(latch_esr(&mut apic), ESR_SEND_ILLEGAL_VECTOR);
}

/// §11.5.3: a detected error raises the LVT error vector when unmasked;
/// touching an unimplemented register is "illegal register address".
#[test]
fn errors_raise_the_lvt_error_interrupt() {
    let mut apic = enabled_apic(0);
    write(&mut apic, APIC_LVT_ERROR, 0xFE);
    assert_eq!(read(&mut apic, 0x040), 0);
    assert_eq!(apic.pending_vector(), Some(0xFE));
    write(&mut apic, 0x3F0, 1);
    assert_eq!(latch_esr(&mut apic), ESR_ILLEGAL_REGISTER_ADDRESS);
}

/// §11.5.4 one-shot: the counter counts down from the initial count at the
/// divided clock, raises the LVT timer vector once at zero and stays at 0;
/// the deadline is reported for a halted vCPU.
#[test]
fn one_shot_timer_counts_down_and_fires_once() {
    let mut apic = enabled_apic(0);
    write(&mut apic, APIC_TIMER_DIVIDE_CONFIG, DIVIDE_BY_1);
    write(&mut apic, APIC_LVT_TIMER, 0xEC);
    write(&mut apic, APIC_TIMER_INITIAL_COUNT, 1000);
    assert_eq!(apic.next_timer_deadline(), Some(Nanos(1000)));
    assert_eq!(
        read_at(&mut apic, APIC_TIMER_CURRENT_COUNT, Nanos(250)),
        750
    );
    apic.poll_timer(Nanos(999));
    assert_eq!(apic.pending_vector(), None);
    apic.poll_timer(Nanos(1000));
    assert_eq!(apic.ack(), Some(0xEC));
    assert_eq!(read_at(&mut apic, APIC_TIMER_CURRENT_COUNT, Nanos(1500)), 0);
    assert_eq!(apic.next_timer_deadline(), None);
    write(&mut apic, APIC_EOI, 0);
    apic.poll_timer(Nanos(5000));
    assert_eq!(apic.pending_vector(), None, "one-shot fires once");
}

/// §11.5.4 periodic: the counter reloads from the initial count at zero;
/// periods missed between polls collapse into one interrupt and the phase
/// is kept.
#[test]
fn periodic_timer_reloads_and_keeps_phase() {
    let mut apic = enabled_apic(0);
    write(&mut apic, APIC_TIMER_DIVIDE_CONFIG, 0b0000); // divide by 2
    write(
        &mut apic,
        APIC_LVT_TIMER,
        (TIMER_MODE_PERIODIC << LVT_TIMER_MODE_SHIFT) | 0xEC,
    );
    write(&mut apic, APIC_TIMER_INITIAL_COUNT, 100); // 200 ns per period
    apic.poll_timer(Nanos(200));
    assert_eq!(apic.ack(), Some(0xEC));
    write(&mut apic, APIC_EOI, 0);
    assert_eq!(apic.next_timer_deadline(), Some(Nanos(400)));
    apic.poll_timer(Nanos(1050));
    assert_eq!(apic.ack(), Some(0xEC));
    assert_eq!(apic.pending_vector(), None, "missed periods collapse");
    assert_eq!(apic.next_timer_deadline(), Some(Nanos(1200)));
    assert_eq!(
        read_at(&mut apic, APIC_TIMER_CURRENT_COUNT, Nanos(1100)),
        50
    );
}

/// Figure 11-10: the divide configuration selects 1–128; a change mid-count
/// keeps the current count and counts on at the new rate.
#[test]
fn divide_configuration_scales_the_count_rate() {
    let mut apic = enabled_apic(0);
    write(&mut apic, APIC_LVT_TIMER, 0xEC);
    write(&mut apic, APIC_TIMER_DIVIDE_CONFIG, 0b1010); // divide by 128
    assert_eq!(read(&mut apic, APIC_TIMER_DIVIDE_CONFIG), 0b1010);
    write(&mut apic, APIC_TIMER_INITIAL_COUNT, 10);
    assert_eq!(apic.next_timer_deadline(), Some(Nanos(1280)));
    assert_eq!(read_at(&mut apic, APIC_TIMER_CURRENT_COUNT, Nanos(640)), 5);
    write_at(&mut apic, APIC_TIMER_DIVIDE_CONFIG, DIVIDE_BY_1, Nanos(640));
    assert_eq!(apic.next_timer_deadline(), Some(Nanos(645)));
    write(&mut apic, APIC_TIMER_DIVIDE_CONFIG, 0xFFFF_FFFF);
    assert_eq!(
        read(&mut apic, APIC_TIMER_DIVIDE_CONFIG),
        DIVIDE_CONFIG_WRITABLE
    );
}

/// §11.5.4.1 TSC-deadline: IA32_TSC_DEADLINE arms the timer in guest TSC
/// units; it fires when the TSC passes the value and the MSR then reads 0;
/// the initial-count register is ignored and the current count reads 0.
#[test]
fn tsc_deadline_mode_fires_at_the_deadline_and_clears_the_msr() {
    let mut apic = enabled_apic(0);
    write(
        &mut apic,
        APIC_LVT_TIMER,
        (TIMER_MODE_TSC_DEADLINE << LVT_TIMER_MODE_SHIFT) | 0xEF,
    );
    write(&mut apic, APIC_TIMER_INITIAL_COUNT, 50);
    assert_eq!(
        read(&mut apic, APIC_TIMER_INITIAL_COUNT),
        0,
        "ignored in deadline mode"
    );
    // At guest time 100 ns the TSC reads 5000; 2000 more ticks at 2 GHz are
    // 1000 ns.
    apic.write_tsc_deadline(
        /*value=*/ 7000,
        /*now=*/ Nanos(100),
        /*now_tsc=*/ 5000,
    );
    assert_eq!(apic.read_tsc_deadline(Nanos(200)), 7000);
    assert_eq!(apic.next_timer_deadline(), Some(Nanos(1100)));
    assert_eq!(read_at(&mut apic, APIC_TIMER_CURRENT_COUNT, Nanos(500)), 0);
    apic.poll_timer(Nanos(1099));
    assert_eq!(apic.pending_vector(), None);
    assert_eq!(
        apic.read_tsc_deadline(Nanos(1100)),
        0,
        "cleared when it fires"
    );
    assert_eq!(apic.ack(), Some(0xEF));
}

/// §11.5.4.1: outside TSC-deadline mode the MSR reads 0 and ignores writes;
/// switching the LVT timer out of (or into) deadline mode disarms the timer;
/// a deadline already passed fires at once; 0 disarms.
#[test]
fn tsc_deadline_mode_transitions_disarm() {
    let mut apic = enabled_apic(0);
    apic.write_tsc_deadline(/*value=*/ 10, T0, /*now_tsc=*/ 0);
    assert_eq!(apic.read_tsc_deadline(T0), 0);
    write(
        &mut apic,
        APIC_LVT_TIMER,
        (TIMER_MODE_TSC_DEADLINE << LVT_TIMER_MODE_SHIFT) | 0xEF,
    );
    apic.write_tsc_deadline(/*value=*/ 1_000_000, T0, /*now_tsc=*/ 0);
    write(&mut apic, APIC_LVT_TIMER, 0xEF);
    assert_eq!(apic.next_timer_deadline(), None);
    write(
        &mut apic,
        APIC_LVT_TIMER,
        (TIMER_MODE_TSC_DEADLINE << LVT_TIMER_MODE_SHIFT) | 0xEF,
    );
    assert_eq!(apic.read_tsc_deadline(T0), 0);
    apic.write_tsc_deadline(/*value=*/ 1_000, Nanos(50), /*now_tsc=*/ 100);
    apic.write_tsc_deadline(/*value=*/ 0, Nanos(50), /*now_tsc=*/ 100);
    apic.poll_timer(Nanos(10_000));
    assert_eq!(apic.pending_vector(), None, "0 disarmed it");
    apic.write_tsc_deadline(/*value=*/ 1, Nanos(10_000), /*now_tsc=*/ 20_000);
    apic.poll_timer(Nanos(10_000));
    assert_eq!(
        apic.pending_vector(),
        Some(0xEF),
        "a past deadline fires at once"
    );
}

/// LVT mask: a masked timer keeps counting but raises nothing, and reports
/// no deadline to wake a halted vCPU for.
#[test]
fn masked_timer_counts_without_interrupting() {
    let mut apic = enabled_apic(0);
    write(&mut apic, APIC_TIMER_DIVIDE_CONFIG, DIVIDE_BY_1);
    write(&mut apic, APIC_LVT_TIMER, LVT_MASKED | 0xEC);
    write(&mut apic, APIC_TIMER_INITIAL_COUNT, 100);
    assert_eq!(apic.next_timer_deadline(), None);
    assert_eq!(read_at(&mut apic, APIC_TIMER_CURRENT_COUNT, Nanos(40)), 60);
    apic.poll_timer(Nanos(100));
    assert_eq!(apic.pending_vector(), None);
}

/// §11.6.1: writing ICR low sends a fixed IPI to the physical destination in
/// ICR high; delivery status reads "send pending" until the router takes
/// it.
#[test]
fn icr_write_sends_a_fixed_physical_ipi() {
    let mut apic = enabled_apic(0);
    write(&mut apic, APIC_ICR_HIGH, 3 << ICR_HIGH_DESTINATION_SHIFT);
    write(&mut apic, APIC_ICR_LOW, ICR_LEVEL_ASSERT | 0x31);
    assert_ne!(read(&mut apic, APIC_ICR_LOW) & ICR_DELIVERY_STATUS, 0);
    assert_eq!(
        apic.take_ipi(),
        Some(Ipi {
            vector: 0x31,
            delivery_mode: DeliveryMode::Fixed,
            trigger_level: false,
            destination: IpiDestination::Physical(3),
        })
    );
    assert_eq!(read(&mut apic, APIC_ICR_LOW), ICR_LEVEL_ASSERT | 0x31);
    assert_eq!(read(&mut apic, APIC_ICR_HIGH), 3 << 24);
}

/// §11.6.1 destination shorthands: "self" is delivered inside the APIC; "all
/// including self" and "all excluding self" go out as such; no shorthand in
/// logical mode carries the logical mask.
#[test]
fn icr_destination_shorthands_and_logical_mode() {
    let mut apic = enabled_apic(0);
    write(
        &mut apic,
        APIC_ICR_LOW,
        (SHORTHAND_SELF << ICR_SHORTHAND_SHIFT) | 0x44,
    );
    assert_eq!(apic.take_ipi(), None);
    assert_eq!(apic.pending_vector(), Some(0x44));
    write(
        &mut apic,
        APIC_ICR_LOW,
        (SHORTHAND_ALL_INCLUDING_SELF << ICR_SHORTHAND_SHIFT) | 0x45,
    );
    write(
        &mut apic,
        APIC_ICR_LOW,
        (SHORTHAND_ALL_EXCLUDING_SELF << ICR_SHORTHAND_SHIFT) | 0x46,
    );
    write(&mut apic, APIC_ICR_HIGH, 0x0C << ICR_HIGH_DESTINATION_SHIFT);
    write(&mut apic, APIC_ICR_LOW, ICR_DESTINATION_LOGICAL | 0x47);
    let destinations: Vec<(u8, IpiDestination)> = core::iter::from_fn(|| apic.take_ipi())
        .map(|ipi| (ipi.vector, ipi.destination))
        .collect();
    assert_eq!(
        destinations,
        [
            (0x45, IpiDestination::AllIncludingSelf),
            (0x46, IpiDestination::AllExcludingSelf),
            (0x47, IpiDestination::Logical(0x0C)),
        ]
    );
}

/// INIT and start-up IPIs go out with their delivery modes (the SIPI vector
/// is the start page); the obsolete INIT level de-assert is not sent.
#[test]
fn init_and_startup_ipis() {
    let mut apic = enabled_apic(0);
    write(&mut apic, APIC_ICR_HIGH, 1 << ICR_HIGH_DESTINATION_SHIFT);
    let init = u32::from(DeliveryMode::Init.bits()) << ICR_DELIVERY_MODE_SHIFT;
    let startup = u32::from(DeliveryMode::StartUp.bits()) << ICR_DELIVERY_MODE_SHIFT;
    write(
        &mut apic,
        APIC_ICR_LOW,
        init | ICR_LEVEL_ASSERT | ICR_TRIGGER_LEVEL,
    );
    write(&mut apic, APIC_ICR_LOW, init | ICR_TRIGGER_LEVEL);
    write(&mut apic, APIC_ICR_LOW, startup | ICR_LEVEL_ASSERT | 0x9A);
    let sent: Vec<(DeliveryMode, u8)> = core::iter::from_fn(|| apic.take_ipi())
        .map(|ipi| (ipi.delivery_mode, ipi.vector))
        .collect();
    assert_eq!(
        sent,
        [(DeliveryMode::Init, 0), (DeliveryMode::StartUp, 0x9A)]
    );
}

/// §11.6.2: physical destinations match the APIC ID or 0xFF; logical ones
/// match the LDR under the DFR's flat model (any common bit) or cluster
/// model (cluster in bits 7:4, 0xF for all; member bits in 3:0).
#[test]
fn destination_matching_physical_flat_and_cluster() {
    let mut apic = enabled_apic(5);
    assert!(apic.accepts_destination(DestinationMode::Physical, 5));
    assert!(apic.accepts_destination(DestinationMode::Physical, 0xFF));
    assert!(!apic.accepts_destination(DestinationMode::Physical, 4));

    write(&mut apic, APIC_LDR, 0x0400_0000 | 0x00FF_FFFF);
    assert_eq!(read(&mut apic, APIC_LDR), 0x0400_0000);
    assert!(apic.accepts_destination(DestinationMode::Logical, 0x06));
    assert!(!apic.accepts_destination(DestinationMode::Logical, 0x01));
    assert!(apic.accepts_destination(DestinationMode::Logical, 0xFF));

    write(&mut apic, APIC_DFR, DFR_MODEL_CLUSTER << 28);
    assert_eq!(read(&mut apic, APIC_DFR), DFR_RESERVED_ONES);
    write(&mut apic, APIC_LDR, 0x21 << 24);
    assert!(apic.accepts_destination(DestinationMode::Logical, 0x23));
    assert!(apic.accepts_destination(DestinationMode::Logical, 0xF1));
    assert!(!apic.accepts_destination(DestinationMode::Logical, 0x11));
    assert!(!apic.accepts_destination(DestinationMode::Logical, 0x22));
}

/// Virtual-wire mode (MP spec §3.6.2.2): LINT0 unmasked as ExtINT passes the
/// 8259 through; masking it or choosing another delivery mode does not.
#[test]
fn lint0_extint_in_virtual_wire_mode() {
    let mut apic = LocalApic::new(0, CLOCK);
    assert!(!apic.lint0_extint());
    apic.enter_virtual_wire_mode();
    assert!(apic.software_enabled());
    assert!(apic.lint0_extint());
    assert_eq!(read(&mut apic, APIC_LVT_LINT0), 0x700);
    assert_eq!(read(&mut apic, APIC_LVT_LINT1), 0x400);
    write(&mut apic, APIC_LVT_LINT0, LVT_MASKED | 0x700);
    assert!(!apic.lint0_extint());
    write(&mut apic, APIC_LVT_LINT0, 0x30);
    assert!(!apic.lint0_extint());
}

/// Fixed registers: APR and RRD read 0; ID and LDR keep bits 31:24; SVR bit
/// 9 (focus checking) is reserved; read-only registers ignore writes.
#[test]
fn register_field_widths_and_read_only_registers() {
    let mut apic = enabled_apic(0);
    write(&mut apic, APIC_TPR, 0x40);
    assert_eq!(read(&mut apic, APIC_APR), 0);
    assert_eq!(read(&mut apic, APIC_RRD), 0);
    write(&mut apic, APIC_ID, 0x07FF_FFFF);
    assert_eq!(read(&mut apic, APIC_ID), 0x0700_0000);
    assert_eq!(apic.id(), 7);
    write(&mut apic, APIC_SVR, 0xFFFF_FFFF);
    assert_eq!(read(&mut apic, APIC_SVR), SVR_WRITABLE);
    write(&mut apic, APIC_VERSION, 0);
    write(&mut apic, APIC_PPR, 0xFF);
    write(&mut apic, APIC_IRR_BASE + 0x20, u32::MAX);
    assert_eq!(read(&mut apic, APIC_VERSION), VERSION_VALUE);
    assert_eq!(read(&mut apic, APIC_PPR), 0x40);
    assert_eq!(read(&mut apic, APIC_IRR_BASE + 0x20), 0);
    assert_eq!(
        latch_esr(&mut apic),
        0,
        "read-only registers are not illegal"
    );
}

/// Odd accesses: narrow reads within a register's first four bytes return
/// those bytes; wider or straddling reads return 0; only aligned 4-byte
/// writes take effect.
#[test]
fn odd_width_and_misaligned_accesses_are_defined() {
    let mut apic = enabled_apic(0x5A);
    assert_eq!(apic.mmio_read(APIC_ID + 3, 1, T0), 0x5A);
    assert_eq!(apic.mmio_read(APIC_ID + 2, 2, T0), 0x5A00);
    assert_eq!(apic.mmio_read(APIC_ID, 8, T0), 0);
    assert_eq!(apic.mmio_read(APIC_ID + 4, 4, T0), 0);
    apic.mmio_write(APIC_TPR, 2, 0x30, T0);
    apic.mmio_write(APIC_TPR + 4, 4, 0x30, T0);
    apic.mmio_write(APIC_TPR, 8, 0x30, T0);
    assert_eq!(read(&mut apic, APIC_TPR), 0);
    assert_eq!(apic.mmio_read(APIC_WINDOW_SIZE + APIC_TPR, 4, T0), 0);
}

/// §11.4.7.3: INIT resets everything but the APIC ID; §11.4.3: a globally
/// disabled APIC accepts nothing and its page reads 0.
#[test]
fn init_reset_keeps_id_and_hardware_disable_silences() {
    let mut apic = enabled_apic(9);
    write(&mut apic, APIC_TPR, 0x20);
    apic.accept_interrupt(/*vector=*/ 0x80, /*level_triggered=*/ true);
    apic.init_reset();
    assert_eq!(apic.snapshot(), LocalApic::new(9, CLOCK).snapshot());

    let mut apic = enabled_apic(9);
    apic.set_hardware_enabled(false);
    apic.accept_interrupt(/*vector=*/ 0x80, /*level_triggered=*/ false);
    assert_eq!(apic.mmio_read(APIC_ID, 4, T0), 0);
    apic.set_hardware_enabled(true);
    assert_eq!(apic.pending_vector(), None);
    assert!(!apic.software_enabled(), "re-enabled in the power-up state");
}

/// Tiny deterministic generator for the randomized test.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Any sequence of MMIO accesses of any width and offset, interrupts, INTAs,
/// EOIs, timer polls and TSC-deadline writes with time moving forward is
/// handled without a panic; an acknowledged vector is always in service.
#[test]
fn random_register_and_interrupt_traffic_never_panics() {
    const REGISTERS: [u64; 16] = [
        APIC_TPR,
        APIC_EOI,
        APIC_SVR,
        APIC_ESR,
        APIC_ICR_LOW,
        APIC_ICR_HIGH,
        APIC_LVT_TIMER,
        APIC_LVT_ERROR,
        APIC_LVT_LINT0,
        APIC_TIMER_INITIAL_COUNT,
        APIC_TIMER_CURRENT_COUNT,
        APIC_TIMER_DIVIDE_CONFIG,
        APIC_LDR,
        APIC_DFR,
        0x040,
        0xFFF,
    ];
    for seed in 1..=20u64 {
        let mut rng = XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut apic = LocalApic::new(0, ApicClock::new(1 + seed * 7_919, 1 + seed * 104_729));
        let mut now = T0;
        for _ in 0..5_000 {
            let roll = rng.next();
            now = now.plus((roll >> 48) % 64);
            let register = REGISTERS[(roll % REGISTERS.len() as u64) as usize];
            let offset = register + (roll >> 60) % 2 * ((roll >> 56) % 16);
            let size = [1, 2, 4, 8][((roll >> 8) % 4) as usize];
            match (roll >> 16) % 8 {
                0 | 1 => apic.mmio_write(offset, size, roll >> 20, now),
                2 => apic.mmio_write(register, 4, (roll >> 24) as u32 as u64, now),
                3 => {
                    apic.mmio_read(offset, size, now);
                }
                4 => apic.accept_interrupt((roll >> 24) as u8, roll & (1 << 40) != 0),
                5 => {
                    if let Some(vector) = apic.ack() {
                        assert!(
                            apic.snapshot().isr[usize::from(vector / 32)] & (1 << (vector % 32))
                                != 0
                        );
                    }
                    apic.eoi();
                }
                6 => apic.write_tsc_deadline(roll >> 40, now, roll >> 44),
                _ => {
                    apic.poll_timer(now);
                    apic.take_ipi();
                    apic.take_eoi_broadcast();
                    apic.next_timer_deadline();
                }
            }
        }
    }
}
