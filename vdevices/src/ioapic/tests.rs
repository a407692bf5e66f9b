//! Scenario tests for the IOAPIC, driven through its MMIO window and its
//! input pins only.

use super::*;

const NOW: Nanos = Nanos(0);

fn write_register(ioapic: &mut IoApic, index: u8, value: u32) {
    ioapic.mmio_write(IOREGSEL, 4, u64::from(index), NOW);
    ioapic.mmio_write(IOWIN, 4, u64::from(value), NOW);
}

fn read_register(ioapic: &mut IoApic, index: u8) -> u32 {
    ioapic.mmio_write(IOREGSEL, 4, u64::from(index), NOW);
    ioapic.mmio_read(IOWIN, 4, NOW) as u32
}

/// Programs redirection entry `pin`: the destination (high half) first and
/// the low half last, as guests do so the entry is complete when unmasked.
fn program_entry(ioapic: &mut IoApic, pin: u8, low: u64, destination: u8) {
    let index = IOREDTBL_BASE + 2 * pin;
    write_register(ioapic, index + 1, u32::from(destination) << 24);
    write_register(ioapic, index, low as u32);
}

fn read_entry(ioapic: &mut IoApic, pin: u8) -> u64 {
    let index = IOREDTBL_BASE + 2 * pin;
    let high = u64::from(read_register(ioapic, index + 1));
    let low = u64::from(read_register(ioapic, index));
    high << 32 | low
}

fn fixed_edge(vector: u8) -> u64 {
    u64::from(vector)
}

fn fixed_level(vector: u8) -> u64 {
    u64::from(vector) | REDIR_TRIGGER_LEVEL
}

fn with_mode(low: u64, mode: DeliveryMode) -> u64 {
    low | u64::from(mode.bits()) << REDIR_DELIVERY_MODE_SHIFT
}

fn deliveries(ioapic: &mut IoApic) -> Vec<Delivery> {
    ioapic.take_deliveries().collect()
}

/// §3.2.2: IOAPICVER reads version 0x20 and maximum redirection entry 23.
#[test]
fn version_register_reports_0x20_and_24_entries() {
    let mut ioapic = IoApic::new(0);
    assert_eq!(read_register(&mut ioapic, IOAPICVER), 0x0017_0020);
    write_register(&mut ioapic, IOAPICVER, 0);
    assert_eq!(
        read_register(&mut ioapic, IOAPICVER),
        0x0017_0020,
        "read-only"
    );
}

/// §3.2.1, §3.2.3: the ID lives in bits 27:24 and is writable; writing it
/// loads the (read-only) arbitration ID.
#[test]
fn id_register_is_writable_and_loads_arbitration_id() {
    let mut ioapic = IoApic::new(1);
    assert_eq!(read_register(&mut ioapic, IOAPICID), 0x0100_0000);
    write_register(&mut ioapic, IOAPICID, 0xFA00_00FF);
    assert_eq!(read_register(&mut ioapic, IOAPICID), 0x0A00_0000);
    assert_eq!(read_register(&mut ioapic, IOAPICARB), 0x0A00_0000);
    write_register(&mut ioapic, IOAPICARB, 0x0300_0000);
    assert_eq!(read_register(&mut ioapic, IOAPICARB), 0x0A00_0000);
}

/// After reset every redirection entry is masked, so an asserted pin sends
/// nothing.
#[test]
fn entries_reset_masked_and_send_nothing() {
    let mut ioapic = IoApic::new(0);
    for pin in 0..IOAPIC_PINS {
        assert_eq!(read_entry(&mut ioapic, pin), REDIR_MASKED);
    }
    ioapic.set_irq(/*pin=*/ 3, /*level=*/ true);
    assert!(deliveries(&mut ioapic).is_empty());
}

/// Delivery status and remote IRR are read-only: writing them changes
/// nothing, while the writable fields read back.
#[test]
fn read_only_entry_bits_ignore_writes() {
    let mut ioapic = IoApic::new(0);
    let low = fixed_level(0x40) | REDIR_DELIVERY_STATUS | REDIR_REMOTE_IRR | REDIR_MASKED;
    program_entry(
        &mut ioapic,
        /*pin=*/ 5,
        low,
        /*destination=*/ 0xAB,
    );
    assert_eq!(
        read_entry(&mut ioapic, 5),
        fixed_level(0x40) | REDIR_MASKED | 0xAB << REDIR_DESTINATION_SHIFT
    );
}

/// Edge-triggered: one message per rising edge carrying the entry's vector,
/// delivery mode, destination mode and destination; a pin held high sends
/// nothing more until it falls and rises again.
#[test]
fn edge_entry_sends_once_per_rising_edge_with_entry_fields() {
    let mut ioapic = IoApic::new(0);
    let low = with_mode(fixed_edge(0x31), DeliveryMode::LowestPriority) | REDIR_DESTINATION_LOGICAL;
    program_entry(
        &mut ioapic,
        /*pin=*/ 4,
        low,
        /*destination=*/ 0x03,
    );
    ioapic.set_irq(/*pin=*/ 4, /*level=*/ true);
    let expected = Delivery {
        vector: 0x31,
        delivery_mode: DeliveryMode::LowestPriority,
        destination_mode: DestinationMode::Logical,
        destination: 0x03,
        trigger_level: false,
        pin: 4,
    };
    assert_eq!(deliveries(&mut ioapic), [expected]);
    ioapic.set_irq(/*pin=*/ 4, /*level=*/ true);
    assert!(deliveries(&mut ioapic).is_empty());
    ioapic.set_irq(/*pin=*/ 4, /*level=*/ false);
    ioapic.set_irq(/*pin=*/ 4, /*level=*/ true);
    assert_eq!(deliveries(&mut ioapic), [expected]);
}

/// "Edge-sensitive interrupts signaled on a masked interrupt pin are
/// ignored": unmasking later does not send them.
#[test]
fn masked_edge_is_lost_not_held() {
    let mut ioapic = IoApic::new(0);
    program_entry(
        &mut ioapic,
        /*pin=*/ 1,
        fixed_edge(0x21) | REDIR_MASKED,
        /*destination=*/ 0,
    );
    ioapic.set_irq(/*pin=*/ 1, /*level=*/ true);
    program_entry(
        &mut ioapic,
        /*pin=*/ 1,
        fixed_edge(0x21),
        /*destination=*/ 0,
    );
    assert!(deliveries(&mut ioapic).is_empty());
}

/// Level-triggered: the message sets remote IRR, and while it is set the
/// asserted pin sends nothing more; the EOI for the vector clears it and a
/// still-asserted pin sends again.
#[test]
fn level_entry_sets_remote_irr_and_resends_after_eoi_while_asserted() {
    let mut ioapic = IoApic::new(0);
    program_entry(
        &mut ioapic,
        /*pin=*/ 9,
        fixed_level(0x49),
        /*destination=*/ 0,
    );
    ioapic.set_irq(/*pin=*/ 9, /*level=*/ true);
    let sent = deliveries(&mut ioapic);
    assert_eq!(sent.len(), 1);
    assert!(sent[0].trigger_level);
    assert_ne!(read_entry(&mut ioapic, 9) & REDIR_REMOTE_IRR, 0);
    ioapic.set_irq(/*pin=*/ 9, /*level=*/ true);
    assert!(deliveries(&mut ioapic).is_empty(), "remote IRR holds it");
    ioapic.eoi(0x49);
    assert_eq!(deliveries(&mut ioapic).len(), 1, "still asserted after EOI");
}

/// Version 0x20's EOI register at 0x40 clears remote IRR like a local APIC
/// EOI broadcast does.
#[test]
fn eoi_register_clears_remote_irr() {
    let mut ioapic = IoApic::new(0);
    program_entry(
        &mut ioapic,
        /*pin=*/ 10,
        fixed_level(0x4A),
        /*destination=*/ 0,
    );
    ioapic.set_irq(/*pin=*/ 10, /*level=*/ true);
    deliveries(&mut ioapic);
    ioapic.set_irq(/*pin=*/ 10, /*level=*/ false);
    ioapic.mmio_write(IOEOI, 4, 0x4A, NOW);
    assert_eq!(read_entry(&mut ioapic, 10) & REDIR_REMOTE_IRR, 0);
    assert!(
        deliveries(&mut ioapic).is_empty(),
        "the line dropped: nothing to resend"
    );
}

/// An EOI names a vector: one for another vector leaves remote IRR alone.
#[test]
fn eoi_for_another_vector_leaves_remote_irr() {
    let mut ioapic = IoApic::new(0);
    program_entry(
        &mut ioapic,
        /*pin=*/ 11,
        fixed_level(0x4B),
        /*destination=*/ 0,
    );
    ioapic.set_irq(/*pin=*/ 11, /*level=*/ true);
    deliveries(&mut ioapic);
    ioapic.eoi(0x4C);
    assert_ne!(read_entry(&mut ioapic, 11) & REDIR_REMOTE_IRR, 0);
}

/// Polarity: an active-low pin is asserted when its input is low, so PCI's
/// idle-high line sends when pulled low, level-triggered.
#[test]
fn active_low_polarity_inverts_the_input() {
    let mut ioapic = IoApic::new(0);
    ioapic.set_irq(/*pin=*/ 16, /*level=*/ true);
    program_entry(
        &mut ioapic,
        /*pin=*/ 16,
        fixed_level(0x50) | REDIR_POLARITY_LOW,
        /*destination=*/ 0,
    );
    assert!(
        deliveries(&mut ioapic).is_empty(),
        "high is idle for an active-low pin"
    );
    ioapic.set_irq(/*pin=*/ 16, /*level=*/ false);
    assert_eq!(deliveries(&mut ioapic).len(), 1);
}

/// Unmasking a level entry whose pin is asserted sends at once; an edge
/// entry would not.
#[test]
fn unmasking_an_asserted_level_entry_sends() {
    let mut ioapic = IoApic::new(0);
    program_entry(
        &mut ioapic,
        /*pin=*/ 7,
        fixed_level(0x47) | REDIR_MASKED,
        /*destination=*/ 0,
    );
    ioapic.set_irq(/*pin=*/ 7, /*level=*/ true);
    assert!(deliveries(&mut ioapic).is_empty());
    program_entry(
        &mut ioapic,
        /*pin=*/ 7,
        fixed_level(0x47),
        /*destination=*/ 0,
    );
    assert_eq!(deliveries(&mut ioapic).len(), 1);
}

/// Delivery status reads 1 while the message is due and 0 once sent.
#[test]
fn delivery_status_is_set_until_the_message_is_taken() {
    let mut ioapic = IoApic::new(0);
    program_entry(
        &mut ioapic,
        /*pin=*/ 3,
        fixed_edge(0x33),
        /*destination=*/ 0,
    );
    ioapic.set_irq(/*pin=*/ 3, /*level=*/ true);
    assert!(ioapic.has_pending_delivery());
    assert_ne!(read_entry(&mut ioapic, 3) & REDIR_DELIVERY_STATUS, 0);
    assert!(ioapic.next_delivery().is_some());
    assert_eq!(read_entry(&mut ioapic, 3) & REDIR_DELIVERY_STATUS, 0);
    assert!(!ioapic.has_pending_delivery());
}

/// Delivery modes SMI, NMI, INIT and ExtINT pass through; the reserved
/// encodings 011 and 110 send nothing.
#[test]
fn delivery_modes_decode_and_reserved_ones_send_nothing() {
    let mut ioapic = IoApic::new(0);
    let modes = [
        DeliveryMode::Smi,
        DeliveryMode::Nmi,
        DeliveryMode::Init,
        DeliveryMode::ExtInt,
    ];
    for (pin, mode) in (0u8..).zip(modes) {
        program_entry(
            &mut ioapic,
            pin,
            with_mode(fixed_edge(0), mode),
            /*destination=*/ 0,
        );
        ioapic.set_irq(pin, /*level=*/ true);
    }
    let sent: Vec<DeliveryMode> = deliveries(&mut ioapic)
        .iter()
        .map(|d| d.delivery_mode)
        .collect();
    assert_eq!(sent, modes);
    for (pin, bits) in [(12u8, 0b011u64), (13, 0b110)] {
        program_entry(
            &mut ioapic,
            pin,
            bits << REDIR_DELIVERY_MODE_SHIFT | 0x60,
            0,
        );
        ioapic.set_irq(pin, /*level=*/ true);
    }
    assert!(deliveries(&mut ioapic).is_empty());
}

/// Non-fixed delivery modes must be programmed edge; one programmed level
/// acts as edge and never latches a remote IRR no EOI would clear.
#[test]
fn level_trigger_on_nmi_entry_acts_as_edge() {
    let mut ioapic = IoApic::new(0);
    let low = with_mode(fixed_level(0), DeliveryMode::Nmi);
    program_entry(&mut ioapic, /*pin=*/ 6, low, /*destination=*/ 0);
    ioapic.set_irq(/*pin=*/ 6, /*level=*/ true);
    let sent = deliveries(&mut ioapic);
    assert_eq!(sent.len(), 1);
    assert!(!sent[0].trigger_level);
    assert_eq!(read_entry(&mut ioapic, 6) & REDIR_REMOTE_IRR, 0);
}

/// Reprogramming a level entry as edge clears its remote IRR (undefined for
/// edge entries), so it cannot linger when the entry goes back to level.
#[test]
fn switching_to_edge_clears_remote_irr() {
    let mut ioapic = IoApic::new(0);
    program_entry(
        &mut ioapic,
        /*pin=*/ 8,
        fixed_level(0x48),
        /*destination=*/ 0,
    );
    ioapic.set_irq(/*pin=*/ 8, /*level=*/ true);
    deliveries(&mut ioapic);
    program_entry(
        &mut ioapic,
        /*pin=*/ 8,
        fixed_edge(0x48),
        /*destination=*/ 0,
    );
    assert_eq!(read_entry(&mut ioapic, 8) & REDIR_REMOTE_IRR, 0);
}

/// A message due on a pin that is masked before it is sent, or whose level
/// input drops first, is not sent.
#[test]
fn due_message_withdrawn_by_mask_or_deassertion() {
    let mut ioapic = IoApic::new(0);
    program_entry(
        &mut ioapic,
        /*pin=*/ 2,
        fixed_edge(0x32),
        /*destination=*/ 0,
    );
    program_entry(
        &mut ioapic,
        /*pin=*/ 14,
        fixed_level(0x3E),
        /*destination=*/ 0,
    );
    ioapic.set_irq(/*pin=*/ 2, /*level=*/ true);
    ioapic.set_irq(/*pin=*/ 14, /*level=*/ true);
    program_entry(
        &mut ioapic,
        /*pin=*/ 2,
        fixed_edge(0x32) | REDIR_MASKED,
        /*destination=*/ 0,
    );
    ioapic.set_irq(/*pin=*/ 14, /*level=*/ false);
    assert!(deliveries(&mut ioapic).is_empty());
    assert_eq!(read_entry(&mut ioapic, 14) & REDIR_REMOTE_IRR, 0);
}

/// Odd accesses: IOREGSEL takes any width; IOWIN only 4 bytes at 0x10; the
/// EOI register only writes; other offsets and unknown indices read 0 and
/// ignore writes.
#[test]
fn odd_width_and_misaligned_accesses_are_defined() {
    let mut ioapic = IoApic::new(0);
    ioapic.mmio_write(IOREGSEL, 1, u64::from(IOAPICVER), NOW);
    assert_eq!(ioapic.mmio_read(IOREGSEL, 2, NOW), u64::from(IOAPICVER));
    assert_eq!(ioapic.mmio_read(IOWIN, 2, NOW), 0);
    assert_eq!(ioapic.mmio_read(IOWIN + 1, 4, NOW), 0);
    assert_eq!(ioapic.mmio_read(IOWIN, 8, NOW), 0);
    assert_eq!(ioapic.mmio_read(IOEOI, 4, NOW), 0);
    assert_eq!(ioapic.mmio_read(0x20, 4, NOW), 0);
    assert_eq!(ioapic.mmio_read(IOAPIC_WINDOW_SIZE + 0x10, 4, NOW), 0);

    ioapic.mmio_write(IOREGSEL, 4, u64::from(IOREDTBL_BASE), NOW);
    ioapic.mmio_write(IOWIN, 1, 0x20, NOW);
    ioapic.mmio_write(IOWIN + 4, 4, 0x20, NOW);
    assert_eq!(
        read_entry(&mut ioapic, 0),
        REDIR_MASKED,
        "narrow/misaligned writes ignored"
    );
    for index in [0x03u8, 0x0F, 0x40, 0xFF] {
        write_register(&mut ioapic, index, u32::MAX);
        assert_eq!(read_register(&mut ioapic, index), 0);
    }
}

/// The snapshot shows each entry as the guest reads it, and the pin levels.
#[test]
fn snapshot_matches_guest_view() {
    let mut ioapic = IoApic::new(2);
    program_entry(
        &mut ioapic,
        /*pin=*/ 1,
        fixed_edge(0x41),
        /*destination=*/ 1,
    );
    ioapic.set_irq(/*pin=*/ 1, /*level=*/ true);
    let snapshot = ioapic.snapshot();
    assert_eq!(snapshot.id, 2);
    assert_eq!(snapshot.redirection[1], read_entry(&mut ioapic, 1));
    assert_ne!(snapshot.redirection[1] & REDIR_DELIVERY_STATUS, 0);
    assert_eq!(snapshot.pin_levels, 1 << 1);
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

/// Any sequence of MMIO accesses of any width and offset, pin changes and
/// EOIs is handled without a panic, and every message names a real pin of
/// an unmasked entry.
#[test]
fn random_register_and_pin_traffic_never_panics() {
    const OFFSETS: [u64; 6] = [IOREGSEL, IOWIN, IOEOI, 0x04, 0x11, 0x1000];
    for seed in 1..=20u64 {
        let mut rng = XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut ioapic = IoApic::new(0);
        for _ in 0..5_000 {
            let roll = rng.next();
            let offset = OFFSETS[(roll % OFFSETS.len() as u64) as usize];
            let size = [1, 2, 4, 8][((roll >> 8) % 4) as usize];
            match (roll >> 16) % 7 {
                0 => ioapic.mmio_write(offset, size, roll >> 24, NOW),
                // Aim IOREGSEL at real registers most of the time.
                1 => ioapic.mmio_write(IOREGSEL, 4, (roll >> 24) % 0x44, NOW),
                2 => ioapic.mmio_write(IOWIN, 4, roll >> 32, NOW),
                3 => {
                    ioapic.mmio_read(offset, size, NOW);
                }
                4 => ioapic.set_irq(((roll >> 24) % 30) as u8, roll & (1 << 40) != 0),
                5 => ioapic.eoi((roll >> 24) as u8),
                _ => {
                    for delivery in ioapic.take_deliveries() {
                        assert!(delivery.pin < IOAPIC_PINS);
                    }
                }
            }
        }
    }
}
