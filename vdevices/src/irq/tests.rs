//! Scenario tests for the interrupt router: device lines in, guest register
//! accesses through the router's port and MMIO entry points, vectors out.

use super::*;
use crate::ioapic::{
    IOREDTBL_BASE, IOREGSEL, IOWIN, REDIR_DELIVERY_MODE_SHIFT, REDIR_DESTINATION_LOGICAL,
    REDIR_MASKED, REDIR_POLARITY_LOW, REDIR_REMOTE_IRR, REDIR_TRIGGER_LEVEL,
};
use crate::lapic::regs::*;
use crate::lapic::{DeliveryMode, IpiDestination};
use crate::pic::regs::{icw1, icw4, ocw2};
use crate::pic::{PIC_MASTER_COMMAND, PIC_MASTER_DATA, PIC_SLAVE_COMMAND, PIC_SLAVE_DATA};

const CLOCK: ApicClock = ApicClock::new(
    /*timer_hz=*/ 1_000_000_000,
    /*tsc_hz=*/ 1_000_000_000,
);
const NOW: Nanos = Nanos(0);
const MASTER_BASE: u8 = 0x20;
const SLAVE_BASE: u8 = 0x28;

fn pc_router(lapic_count: u8) -> Router {
    Router::new(RouterConfig {
        pic: true,
        ioapic: true,
        lapic_count,
        apic_clock: CLOCK,
    })
}

fn outb(router: &mut Router, port: u16, value: u8) {
    router.pic_port_write(port, 1, u32::from(value));
}

/// Both 8259s initialised as Linux does, every line unmasked.
fn init_pics(router: &mut Router) {
    for (command, data, base, icw3) in [
        (PIC_MASTER_COMMAND, PIC_MASTER_DATA, MASTER_BASE, 1 << 2),
        (PIC_SLAVE_COMMAND, PIC_SLAVE_DATA, SLAVE_BASE, 2),
    ] {
        outb(router, command, icw1::SELECT | icw1::IC4);
        outb(router, data, base);
        outb(router, data, icw3);
        outb(router, data, icw4::UPM_8086);
        outb(router, data, 0);
    }
}

fn ioapic_write(router: &mut Router, index: u8, value: u32) {
    router.ioapic_mmio_write(IOREGSEL, 4, u64::from(index), NOW);
    router.ioapic_mmio_write(IOWIN, 4, u64::from(value), NOW);
}

fn ioapic_read(router: &mut Router, index: u8) -> u32 {
    router.ioapic_mmio_write(IOREGSEL, 4, u64::from(index), NOW);
    router.ioapic_mmio_read(IOWIN, 4, NOW) as u32
}

fn program_entry(router: &mut Router, pin: u8, low: u64, destination: u8) {
    ioapic_write(
        router,
        IOREDTBL_BASE + 2 * pin + 1,
        u32::from(destination) << 24,
    );
    ioapic_write(router, IOREDTBL_BASE + 2 * pin, low as u32);
}

fn lapic_write(router: &mut Router, vcpu: usize, register: u64, value: u32) {
    router.lapic_mmio_write(vcpu, register, 4, u64::from(value), NOW);
}

fn enable_lapic(router: &mut Router, vcpu: usize) {
    lapic_write(router, vcpu, APIC_SVR, SVR_APIC_ENABLED | 0xFF);
}

fn mask_lint0(router: &mut Router, vcpu: usize) {
    lapic_write(router, vcpu, APIC_LVT_LINT0, LVT_MASKED | 0x700);
}

/// What a backend does when the guest can take an interrupt: ask, then
/// acknowledge, and check both agree.
fn inject(router: &mut Router, vcpu: usize) -> Option<u8> {
    let offered = router.next_injection(vcpu, NOW)?;
    let taken = router.acknowledge(vcpu);
    assert_eq!(
        taken,
        Some(offered),
        "acknowledge returns what next_injection offered"
    );
    taken
}

fn mode(mode: DeliveryMode) -> u64 {
    u64::from(mode.bits()) << REDIR_DELIVERY_MODE_SHIFT
}

/// The MADT's interrupt source override: ISA IRQ 0 (the PIT) arrives on
/// IOAPIC pin 2, and pin 0 does not see it; other ISA IRQs use their own
/// pin number.
#[test]
fn isa_irq0_reaches_ioapic_pin_2() {
    let mut router = pc_router(1);
    mask_lint0(&mut router, 0);
    program_entry(
        &mut router,
        /*pin=*/ 0,
        /*low=*/ 0x3F,
        /*destination=*/ 0,
    );
    program_entry(
        &mut router,
        /*pin=*/ 2,
        /*low=*/ 0x30,
        /*destination=*/ 0,
    );
    program_entry(
        &mut router,
        /*pin=*/ 1,
        /*low=*/ 0x31,
        /*destination=*/ 0,
    );
    router.pulse_irq(/*line=*/ 0);
    assert_eq!(inject(&mut router, 0), Some(0x30));
    assert_eq!(router.next_injection(0, NOW), None, "pin 0 did not fire");
    lapic_write(&mut router, 0, APIC_EOI, 0);
    router.pulse_irq(/*line=*/ 1);
    assert_eq!(inject(&mut router, 0), Some(0x31));
    assert_eq!(ioapic_pin(0), Some(2));
    assert_eq!(ioapic_pin(CASCADE_IRQ), None);
    assert_eq!(ioapic_pin(23), Some(23));
}

/// Virtual-wire mode: vCPU 0's LINT0 is ExtINT out of reset, so an 8259
/// interrupt reaches it and the acknowledge is the 8259's INTA (IRR → ISR in
/// the PIC); the other vCPUs' LINT0 is masked and they see nothing.
#[test]
fn pic_interrupt_reaches_vcpu0_through_lint0_extint() {
    let mut router = pc_router(2);
    init_pics(&mut router);
    router.set_irq(/*line=*/ 1, /*level=*/ true);
    assert_eq!(router.next_injection(1, NOW), None);
    assert_eq!(inject(&mut router, 0), Some(MASTER_BASE + 1));
    let pic = router.pic().unwrap().snapshot();
    assert_eq!((pic.master.irr & 0b10, pic.master.isr), (0, 0b10));
    assert_eq!(router.next_injection(0, NOW), None);
    outb(&mut router, PIC_MASTER_COMMAND, ocw2::NON_SPECIFIC_EOI);
    assert_eq!(router.pic().unwrap().snapshot().master.isr, 0);
}

/// With LINT0 masked (an APIC-mode guest), the 8259's INTR reaches nobody,
/// while the local APIC's own vectors still do.
#[test]
fn masked_lint0_keeps_the_pic_out() {
    let mut router = pc_router(1);
    init_pics(&mut router);
    mask_lint0(&mut router, 0);
    router.set_irq(/*line=*/ 4, /*level=*/ true);
    assert!(router.pic().unwrap().intr());
    assert_eq!(router.next_injection(0, NOW), None);
    router
        .lapic_mut(0)
        .unwrap()
        .accept_interrupt(/*vector=*/ 0x40, /*level_triggered=*/ false);
    assert_eq!(inject(&mut router, 0), Some(0x40));
}

/// A level-triggered PCI line through the IOAPIC: delivery sets remote IRR;
/// the local APIC's EOI for the (TMR-marked) vector is broadcast back and
/// clears it; the line still being asserted, the interrupt comes again;
/// once released, the next EOI ends it.
#[test]
fn level_line_through_ioapic_with_remote_irr_and_eoi_broadcast() {
    let mut router = pc_router(1);
    mask_lint0(&mut router, 0);
    let low = 0x50 | REDIR_TRIGGER_LEVEL | REDIR_POLARITY_LOW;
    program_entry(&mut router, /*pin=*/ 16, low, /*destination=*/ 0);
    assert_eq!(
        router.next_injection(0, NOW),
        None,
        "an idle PCI line is high, not asserted"
    );
    router.set_irq(/*line=*/ 16, /*level=*/ true);
    assert_eq!(inject(&mut router, 0), Some(0x50));
    let entry_low = |router: &mut Router| u64::from(ioapic_read(router, IOREDTBL_BASE + 32));
    assert_ne!(entry_low(&mut router) & REDIR_REMOTE_IRR, 0);
    lapic_write(&mut router, 0, APIC_EOI, 0);
    assert_ne!(
        entry_low(&mut router) & REDIR_REMOTE_IRR,
        0,
        "re-sent: the line is still up"
    );
    assert_eq!(inject(&mut router, 0), Some(0x50));
    router.set_irq(/*line=*/ 16, /*level=*/ false);
    lapic_write(&mut router, 0, APIC_EOI, 0);
    assert_eq!(entry_low(&mut router) & REDIR_REMOTE_IRR, 0);
    assert_eq!(router.next_injection(0, NOW), None);
}

/// A PIC-only partition (no IOAPIC, no local APIC), as a real-mode guest
/// has: the 8259's INTR goes straight to the one vCPU; the absent devices
/// read all-ones.
#[test]
fn pic_only_partition_injects_straight_from_the_8259() {
    let mut router = Router::new(RouterConfig {
        pic: true,
        ioapic: false,
        lapic_count: 0,
        apic_clock: CLOCK,
    });
    assert_eq!(router.vcpu_count(), 1);
    init_pics(&mut router);
    router.set_irq(/*line=*/ 12, /*level=*/ true);
    assert_eq!(inject(&mut router, 0), Some(SLAVE_BASE + 4));
    assert_eq!(router.next_injection(1, NOW), None);
    assert_eq!(router.lapic_mmio_read(0, APIC_ID, 4, NOW), 0xFFFF_FFFF);
    assert_eq!(router.ioapic_mmio_read(IOWIN, 4, NOW), 0xFFFF_FFFF);
}

/// IPIs reach the partition's own vCPUs only: a fixed IPI to APIC ID 1 sets
/// vCPU 1's IRR; one to an APIC ID outside the partition is dropped and
/// reported; the physical broadcast and "all excluding self" stay inside.
#[test]
fn ipis_are_limited_to_the_partitions_own_vcpus() {
    let mut router = pc_router(2);
    enable_lapic(&mut router, 1);
    let send = |router: &mut Router, destination: u8, low: u32| {
        lapic_write(router, 0, APIC_ICR_HIGH, u32::from(destination) << 24);
        lapic_write(router, 0, APIC_ICR_LOW, ICR_LEVEL_ASSERT | low);
    };
    send(&mut router, 1, 0x61);
    assert_eq!(inject(&mut router, 1), Some(0x61));
    send(&mut router, 7, 0x62);
    assert!(matches!(
        router.take_event(),
        Some(RouterEvent::UnroutedIpi { from: 0, ipi }) if ipi.destination == IpiDestination::Physical(7)
    ));
    send(&mut router, 0xFF, 0x63);
    assert_eq!(inject(&mut router, 0), Some(0x63));
    send(
        &mut router,
        0,
        (SHORTHAND_ALL_EXCLUDING_SELF << ICR_SHORTHAND_SHIFT) | 0x64,
    );
    assert_eq!(
        router.next_injection(0, NOW),
        None,
        "vCPU 0 has 0x63 in service; nothing new"
    );
    lapic_write(&mut router, 1, APIC_EOI, 0);
    assert_eq!(inject(&mut router, 1), Some(0x64));
    assert_eq!(
        inject(&mut router, 1),
        None,
        "0x63 is below 0x64 in service"
    );
    assert_eq!(router.take_event(), None);
}

/// INIT and start-up IPIs become events for the core; INIT also resets the
/// target's local APIC.
#[test]
fn init_and_startup_ipis_become_events() {
    let mut router = pc_router(2);
    enable_lapic(&mut router, 1);
    lapic_write(&mut router, 1, APIC_TPR, 0x30);
    let init = u32::from(DeliveryMode::Init.bits()) << ICR_DELIVERY_MODE_SHIFT;
    let startup = u32::from(DeliveryMode::StartUp.bits()) << ICR_DELIVERY_MODE_SHIFT;
    let all_but_self = SHORTHAND_ALL_EXCLUDING_SELF << ICR_SHORTHAND_SHIFT;
    lapic_write(
        &mut router,
        0,
        APIC_ICR_LOW,
        all_but_self | init | ICR_LEVEL_ASSERT,
    );
    lapic_write(
        &mut router,
        0,
        APIC_ICR_LOW,
        all_but_self | startup | ICR_LEVEL_ASSERT | 0x9A,
    );
    assert_eq!(router.take_event(), Some(RouterEvent::Init { vcpu: 1 }));
    assert_eq!(
        router.take_event(),
        Some(RouterEvent::StartUp {
            vcpu: 1,
            vector: 0x9A
        })
    );
    assert_eq!(router.lapic(1).unwrap().task_priority(), 0);
    assert!(!router.lapic(1).unwrap().software_enabled());
}

/// The local APIC timer raises its vector when `next_injection` is asked at
/// or after the deadline, which the router reports for a halted vCPU.
#[test]
fn lapic_timer_is_polled_by_next_injection() {
    let mut router = pc_router(1);
    lapic_write(&mut router, 0, APIC_TIMER_DIVIDE_CONFIG, 0b1011);
    lapic_write(&mut router, 0, APIC_LVT_TIMER, 0xEC);
    lapic_write(&mut router, 0, APIC_TIMER_INITIAL_COUNT, 500);
    assert_eq!(router.next_timer_deadline(0), Some(Nanos(500)));
    assert_eq!(router.next_injection(0, Nanos(499)), None);
    assert_eq!(router.next_injection(0, Nanos(500)), Some(0xEC));
}

/// Lowest-priority delivery goes to exactly one of the matching APICs: the
/// one with the lowest task priority.
#[test]
fn lowest_priority_delivery_picks_the_lowest_tpr() {
    let mut router = pc_router(2);
    enable_lapic(&mut router, 1);
    mask_lint0(&mut router, 0);
    lapic_write(&mut router, 0, APIC_LDR, 0x01 << 24);
    lapic_write(&mut router, 1, APIC_LDR, 0x02 << 24);
    lapic_write(&mut router, 0, APIC_TPR, 0x20);
    lapic_write(&mut router, 1, APIC_TPR, 0x10);
    let low = 0x55 | mode(DeliveryMode::LowestPriority) | REDIR_DESTINATION_LOGICAL;
    program_entry(
        &mut router,
        /*pin=*/ 5,
        low,
        /*destination=*/ 0x03,
    );
    router.pulse_irq(/*line=*/ 5);
    assert_eq!(router.next_injection(0, NOW), None);
    assert_eq!(inject(&mut router, 1), Some(0x55));
}

/// The 8259 through the IOAPIC: pin 0 follows the PIC's INTR; an ExtINT
/// entry there makes the destination vCPU fetch its vector from the PIC,
/// even with LINT0 masked.
#[test]
fn pic_through_ioapic_pin0_extint() {
    let mut router = pc_router(1);
    init_pics(&mut router);
    mask_lint0(&mut router, 0);
    program_entry(
        &mut router,
        /*pin=*/ 0,
        mode(DeliveryMode::ExtInt),
        /*destination=*/ 0,
    );
    router.set_irq(/*line=*/ 3, /*level=*/ true);
    assert_eq!(inject(&mut router, 0), Some(MASTER_BASE + 3));
    assert_eq!(router.pic().unwrap().snapshot().master.isr, 1 << 3);
    assert_eq!(router.next_injection(0, NOW), None);
}

/// A globally disabled local APIC (IA32_APIC_BASE bit 11 clear) turns LINT0
/// into the INTR pin: vCPU 0 takes the 8259's interrupts directly.
#[test]
fn hardware_disabled_lapic_passes_the_pic_through() {
    let mut router = pc_router(1);
    init_pics(&mut router);
    mask_lint0(&mut router, 0);
    router.lapic_mut(0).unwrap().set_hardware_enabled(false);
    router.set_irq(/*line=*/ 6, /*level=*/ true);
    assert_eq!(inject(&mut router, 0), Some(MASTER_BASE + 6));
}

/// An IOAPIC message for an APIC ID the partition does not have is dropped
/// and reported for the log.
#[test]
fn ioapic_message_to_a_foreign_apic_is_reported() {
    let mut router = pc_router(1);
    program_entry(
        &mut router,
        /*pin=*/ 4,
        /*low=*/ 0x34,
        /*destination=*/ 9,
    );
    router.pulse_irq(/*line=*/ 4);
    assert!(matches!(
        router.take_event(),
        Some(RouterEvent::UnroutedDelivery { delivery }) if delivery.pin == 4 && delivery.destination == 9
    ));
    assert_eq!(router.next_injection(0, NOW), None);
}

/// When both the 8259 (through LINT0) and the local APIC have something,
/// the 8259 goes first; the APIC's vector follows.
#[test]
fn pic_goes_before_lapic_when_both_are_pending() {
    let mut router = pc_router(1);
    init_pics(&mut router);
    router
        .lapic_mut(0)
        .unwrap()
        .accept_interrupt(/*vector=*/ 0xE0, /*level_triggered=*/ false);
    router.set_irq(/*line=*/ 7, /*level=*/ true);
    assert_eq!(inject(&mut router, 0), Some(MASTER_BASE + 7));
    assert_eq!(inject(&mut router, 0), Some(0xE0));
}

/// IRQ 2 is the cascade, not a device line, and numbers past 23 do not
/// exist: driving them changes nothing; the snapshot records line levels.
#[test]
fn cascade_irq_and_out_of_range_lines_are_ignored() {
    let mut router = pc_router(1);
    init_pics(&mut router);
    program_entry(
        &mut router,
        /*pin=*/ 2,
        /*low=*/ 0x32 | REDIR_MASKED,
        /*destination=*/ 0,
    );
    router.set_irq(/*line=*/ CASCADE_IRQ, /*level=*/ true);
    router.set_irq(/*line=*/ 24, /*level=*/ true);
    router.set_irq(/*line=*/ 200, /*level=*/ true);
    assert_eq!(router.next_injection(0, NOW), None);
    let snapshot = router.snapshot();
    assert_eq!(snapshot.line_levels, 1 << CASCADE_IRQ);
    assert_eq!(snapshot.ioapic.unwrap().pin_levels & (1 << 2), 0);
    assert_eq!(snapshot.lapics.len(), 1);
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

/// Any mix of line changes, guest accesses to all three controllers, INTA
/// cycles and event draining, on any configuration, is handled without a
/// panic, and `acknowledge` right after `next_injection` agrees with it.
#[test]
fn random_traffic_across_the_router_never_panics() {
    let registers = [
        APIC_EOI,
        APIC_ICR_LOW,
        APIC_ICR_HIGH,
        APIC_SVR,
        APIC_LVT_LINT0,
        APIC_TPR,
    ];
    let ports = [
        PIC_MASTER_COMMAND,
        PIC_MASTER_DATA,
        PIC_SLAVE_COMMAND,
        PIC_SLAVE_DATA,
    ];
    for seed in 1..=24u64 {
        let mut rng = XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let config = RouterConfig {
            pic: seed % 2 == 0,
            ioapic: seed % 3 != 0,
            lapic_count: (seed % 4) as u8,
            apic_clock: CLOCK,
        };
        let mut router = Router::new(config);
        let mut now = NOW;
        for _ in 0..4_000 {
            let roll = rng.next();
            now = now.plus((roll >> 56) % 32);
            let vcpu = ((roll >> 4) % 4) as usize;
            match (roll >> 8) % 9 {
                0 => router.set_irq(((roll >> 16) % 30) as u8, roll & (1 << 40) != 0),
                1 => router.pulse_irq(((roll >> 16) % 30) as u8),
                2 => router.pic_port_write(
                    ports[((roll >> 16) % 4) as usize],
                    1,
                    (roll >> 24) as u32 & 0xFF,
                ),
                3 => {
                    router.ioapic_mmio_write(IOREGSEL, 4, (roll >> 16) % 0x40, now);
                    router.ioapic_mmio_write(IOWIN, 4, (roll >> 24) & 0x1_FFFF, now);
                }
                4 => router.lapic_mmio_write(
                    vcpu,
                    registers[((roll >> 16) % 6) as usize],
                    4,
                    (roll >> 24) & 0xFFFF_FFFF,
                    now,
                ),
                5 => {
                    if let Some(vector) = router.next_injection(vcpu, now) {
                        assert_eq!(router.acknowledge(vcpu), Some(vector));
                    }
                }
                6 => {
                    router.acknowledge(vcpu);
                }
                7 => {
                    if let Some(lapic) = router.lapic_mut(vcpu) {
                        lapic.set_hardware_enabled(roll & (1 << 41) != 0);
                    }
                    router.sync();
                }
                _ => while router.take_event().is_some() {},
            }
        }
        router.snapshot();
    }
}
