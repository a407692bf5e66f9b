//! Scenario tests for the 8259A pair, driven through the guest's port
//! accesses and the device lines only.

use super::regs::{icw1, icw4, ocw2, ocw3, poll_word};
use super::*;

const MASTER_BASE: u8 = 0x20;
const SLAVE_BASE: u8 = 0x28;

fn outb(pic: &mut PicPair, port: u16, value: u8) {
    pic.write_port(port, 1, u32::from(value));
}

fn inb(pic: &mut PicPair, port: u16) -> u8 {
    pic.read_port(port, 1) as u8
}

/// The Linux/BIOS sequence for the master: ICW1 (edge, cascade, ICW4),
/// ICW2 base, ICW3 slave on IR2, ICW4 8086 mode plus `icw4_extra`, all
/// lines unmasked.
fn init_primary_pic_with(pic: &mut PicPair, base: u8, icw4_extra: u8) {
    outb(pic, PIC_MASTER_COMMAND, icw1::SELECT | icw1::IC4);
    outb(pic, PIC_MASTER_DATA, base);
    outb(pic, PIC_MASTER_DATA, 1 << CASCADE_LINE);
    outb(pic, PIC_MASTER_DATA, icw4::UPM_8086 | icw4_extra);
    outb(pic, PIC_MASTER_DATA, 0x00);
}

fn init_primary_pic(pic: &mut PicPair, base: u8) {
    init_primary_pic_with(pic, base, 0);
}

/// The slave's sequence: ID 2, 8086 mode plus `icw4_extra`, unmasked.
fn init_secondary_pic_with(pic: &mut PicPair, base: u8, icw4_extra: u8) {
    outb(pic, PIC_SLAVE_COMMAND, icw1::SELECT | icw1::IC4);
    outb(pic, PIC_SLAVE_DATA, base);
    outb(pic, PIC_SLAVE_DATA, CASCADE_LINE);
    outb(pic, PIC_SLAVE_DATA, icw4::UPM_8086 | icw4_extra);
    outb(pic, PIC_SLAVE_DATA, 0x00);
}

fn init_secondary_pic(pic: &mut PicPair, base: u8) {
    init_secondary_pic_with(pic, base, 0);
}

fn initialised_pair() -> PicPair {
    let mut pic = PicPair::new();
    init_primary_pic(&mut pic, MASTER_BASE);
    init_secondary_pic(&mut pic, SLAVE_BASE);
    pic
}

fn read_isr(pic: &mut PicPair, command_port: u16) -> u8 {
    outb(pic, command_port, ocw3::READ_ISR);
    inb(pic, command_port)
}

fn read_irr(pic: &mut PicPair, command_port: u16) -> u8 {
    outb(pic, command_port, ocw3::READ_IRR);
    inb(pic, command_port)
}

fn eoi(pic: &mut PicPair, command_port: u16) {
    outb(pic, command_port, ocw2::NON_SPECIFIC_EOI);
}

/// Reset: the BIOS-like state (bases 0x08/0x70, cascade on IR2), with every
/// device line masked, so a request before the guest programs the pair
/// reaches nobody.
#[test]
fn reset_state_is_bios_like_with_device_lines_masked() {
    let mut pic = PicPair::new();
    pic.set_irq(/*irq=*/ 0, /*level=*/ true);
    pic.set_irq(/*irq=*/ 8, /*level=*/ true);
    assert!(!pic.intr());
    assert_eq!(inb(&mut pic, PIC_MASTER_DATA), 0xFB);
    assert_eq!(inb(&mut pic, PIC_SLAVE_DATA), 0xFF);
    outb(&mut pic, PIC_MASTER_DATA, 0xFA);
    assert_eq!(pic.pending_vector(), Some(0x08));
}

/// Interrupt sequence: a rising edge sets IRR, INT goes up, INTA returns
/// `ICW2 base + line`, sets the ISR bit and clears the IRR bit.
#[test]
fn edge_request_delivers_base_plus_line_and_goes_in_service() {
    let mut pic = initialised_pair();
    pic.set_irq(/*irq=*/ 1, /*level=*/ true);
    assert!(pic.intr());
    assert_eq!(pic.pending_vector(), Some(MASTER_BASE + 1));
    assert_eq!(read_irr(&mut pic, PIC_MASTER_COMMAND), 0b0000_0010);
    assert_eq!(pic.ack(), MASTER_BASE + 1);
    assert_eq!(read_isr(&mut pic, PIC_MASTER_COMMAND), 0b0000_0010);
    assert_eq!(read_irr(&mut pic, PIC_MASTER_COMMAND), 0);
    assert!(!pic.intr());
}

/// Fully nested mode: a line in service blocks equal and lower priorities
/// and admits higher ones; a non-specific EOI clears the highest in-service
/// bit, uncovering the nested one.
#[test]
fn fully_nested_priority_blocks_lower_and_admits_higher() {
    let mut pic = initialised_pair();
    pic.set_irq(/*irq=*/ 3, /*level=*/ true);
    assert_eq!(pic.ack(), MASTER_BASE + 3);
    pic.set_irq(/*irq=*/ 5, /*level=*/ true);
    assert!(!pic.intr(), "IRQ 5 is below IRQ 3 in service");
    pic.set_irq(/*irq=*/ 1, /*level=*/ true);
    assert_eq!(pic.ack(), MASTER_BASE + 1);
    assert_eq!(read_isr(&mut pic, PIC_MASTER_COMMAND), 0b0000_1010);
    eoi(&mut pic, PIC_MASTER_COMMAND);
    assert_eq!(read_isr(&mut pic, PIC_MASTER_COMMAND), 0b0000_1000);
    assert!(!pic.intr());
    eoi(&mut pic, PIC_MASTER_COMMAND);
    assert_eq!(pic.ack(), MASTER_BASE + 5);
}

/// OCW2 specific EOI clears exactly the line named in L2–L0, whatever its
/// priority.
#[test]
fn specific_eoi_clears_only_the_named_line() {
    let mut pic = initialised_pair();
    pic.set_irq(/*irq=*/ 4, /*level=*/ true);
    pic.ack();
    pic.set_irq(/*irq=*/ 0, /*level=*/ true);
    pic.ack();
    outb(&mut pic, PIC_MASTER_COMMAND, ocw2::SPECIFIC_EOI | 4);
    assert_eq!(read_isr(&mut pic, PIC_MASTER_COMMAND), 0b0000_0001);
}

/// OCW1: a masked line raises no INT but its request stays visible in the
/// IRR; unmasking delivers it.
#[test]
fn mask_blocks_delivery_but_irr_still_shows_request() {
    let mut pic = initialised_pair();
    outb(&mut pic, PIC_MASTER_DATA, 0b0100_0000);
    pic.set_irq(/*irq=*/ 6, /*level=*/ true);
    assert!(!pic.intr());
    assert_eq!(read_irr(&mut pic, PIC_MASTER_COMMAND), 0b0100_0000);
    outb(&mut pic, PIC_MASTER_DATA, 0);
    assert_eq!(pic.ack(), MASTER_BASE + 6);
}

/// OCW3 RR/RIS select what the command port reads (and the choice sticks);
/// the data port always reads the IMR.
#[test]
fn ocw3_selects_irr_or_isr_and_data_port_reads_imr() {
    let mut pic = initialised_pair();
    pic.set_irq(/*irq=*/ 3, /*level=*/ true);
    pic.ack();
    pic.set_irq(/*irq=*/ 5, /*level=*/ true);
    outb(&mut pic, PIC_MASTER_DATA, 0x80);
    outb(&mut pic, PIC_MASTER_COMMAND, ocw3::READ_ISR);
    assert_eq!(inb(&mut pic, PIC_MASTER_COMMAND), 0b0000_1000);
    assert_eq!(
        inb(&mut pic, PIC_MASTER_COMMAND),
        0b0000_1000,
        "selection persists"
    );
    assert_eq!(inb(&mut pic, PIC_MASTER_DATA), 0x80);
    outb(&mut pic, PIC_MASTER_COMMAND, ocw3::READ_IRR);
    assert_eq!(inb(&mut pic, PIC_MASTER_COMMAND), 0b0010_0000);
}

/// Poll command: the next read is an INTA for that chip alone, answering
/// `1000_0www` with the highest request and putting it in service; with no
/// request the answer is 0. The read after that is a normal status read.
#[test]
fn poll_command_acknowledges_highest_request() {
    let mut pic = initialised_pair();
    outb(&mut pic, PIC_MASTER_COMMAND, ocw3::POLL_COMMAND);
    assert_eq!(inb(&mut pic, PIC_MASTER_COMMAND), 0);
    pic.set_irq(/*irq=*/ 6, /*level=*/ true);
    pic.set_irq(/*irq=*/ 4, /*level=*/ true);
    outb(&mut pic, PIC_MASTER_COMMAND, ocw3::POLL_COMMAND);
    assert_eq!(inb(&mut pic, PIC_MASTER_DATA), poll_word::INTERRUPT | 4);
    assert_eq!(read_isr(&mut pic, PIC_MASTER_COMMAND), 0b0001_0000);
    assert_eq!(read_irr(&mut pic, PIC_MASTER_COMMAND), 0b0100_0000);
    assert_eq!(
        inb(&mut pic, PIC_MASTER_DATA),
        0,
        "a plain read returns the IMR again"
    );
}

/// ICW4 AEOI: the end of interrupt happens at the end of INTA, so nothing is
/// left in service and equal/lower requests get through at once.
#[test]
fn auto_eoi_leaves_nothing_in_service() {
    let mut pic = PicPair::new();
    init_primary_pic_with(&mut pic, MASTER_BASE, icw4::AEOI);
    init_secondary_pic(&mut pic, SLAVE_BASE);
    pic.set_irq(/*irq=*/ 3, /*level=*/ true);
    assert_eq!(pic.ack(), MASTER_BASE + 3);
    assert_eq!(read_isr(&mut pic, PIC_MASTER_COMMAND), 0);
    pic.set_irq(/*irq=*/ 7, /*level=*/ true);
    assert_eq!(pic.ack(), MASTER_BASE + 7);
}

/// OCW2 rotate on non-specific EOI: the line just served becomes the lowest
/// priority, so equal-priority devices take turns.
#[test]
fn rotate_on_non_specific_eoi_makes_served_line_lowest() {
    let mut pic = initialised_pair();
    pic.set_irq(/*irq=*/ 0, /*level=*/ true);
    assert_eq!(pic.ack(), MASTER_BASE);
    outb(
        &mut pic,
        PIC_MASTER_COMMAND,
        ocw2::ROTATE_ON_NON_SPECIFIC_EOI,
    );
    assert_eq!(read_isr(&mut pic, PIC_MASTER_COMMAND), 0);
    pic.set_irq(/*irq=*/ 0, /*level=*/ false);
    pic.set_irq(/*irq=*/ 0, /*level=*/ true);
    pic.set_irq(/*irq=*/ 7, /*level=*/ true);
    assert_eq!(pic.ack(), MASTER_BASE + 7, "IR0 is now the lowest priority");
    assert_eq!(pic.snapshot().master.lowest_priority, 0);
}

/// OCW2 set priority names the lowest-priority line directly; rotate on
/// specific EOI clears the named line and makes it the lowest.
#[test]
fn set_priority_and_rotate_on_specific_eoi_reorder_lines() {
    let mut pic = initialised_pair();
    outb(&mut pic, PIC_MASTER_COMMAND, ocw2::SET_PRIORITY | 4);
    pic.set_irq(/*irq=*/ 3, /*level=*/ true);
    pic.set_irq(/*irq=*/ 6, /*level=*/ true);
    assert_eq!(
        pic.ack(),
        MASTER_BASE + 6,
        "IR5 is highest, so IR6 beats IR3"
    );
    outb(
        &mut pic,
        PIC_MASTER_COMMAND,
        ocw2::ROTATE_ON_SPECIFIC_EOI | 6,
    );
    assert_eq!(read_isr(&mut pic, PIC_MASTER_COMMAND), 0);
    assert_eq!(pic.snapshot().master.lowest_priority, 6);
    pic.set_irq(/*irq=*/ 1, /*level=*/ true);
    assert_eq!(pic.ack(), MASTER_BASE + 1, "IR7 is highest, then IR0, IR1");
}

/// OCW2 rotate in AEOI mode set/clear: with it set, each automatic EOI
/// rotates the served line to lowest; cleared, the priorities stay.
#[test]
fn rotate_in_auto_eoi_mode_set_and_clear() {
    let mut pic = PicPair::new();
    init_primary_pic_with(&mut pic, MASTER_BASE, icw4::AEOI);
    init_secondary_pic(&mut pic, SLAVE_BASE);
    outb(&mut pic, PIC_MASTER_COMMAND, ocw2::ROTATE_IN_AEOI_SET);
    pic.set_irq(/*irq=*/ 3, /*level=*/ true);
    assert_eq!(pic.ack(), MASTER_BASE + 3);
    assert_eq!(pic.snapshot().master.lowest_priority, 3);
    pic.set_irq(/*irq=*/ 1, /*level=*/ true);
    pic.set_irq(/*irq=*/ 4, /*level=*/ true);
    assert_eq!(
        pic.ack(),
        MASTER_BASE + 4,
        "IR4 is highest after rotating IR3 to lowest"
    );
    outb(&mut pic, PIC_MASTER_COMMAND, ocw2::ROTATE_IN_AEOI_CLEAR);
    assert_eq!(pic.ack(), MASTER_BASE + 1);
    assert_eq!(
        pic.snapshot().master.lowest_priority,
        4,
        "no rotation once cleared"
    );
}

/// Special mask mode: with the in-service line masked, lower priorities are
/// enabled too; reset, fully nested blocking returns.
#[test]
fn special_mask_mode_admits_lower_priority_while_masked_line_in_service() {
    let mut pic = initialised_pair();
    pic.set_irq(/*irq=*/ 1, /*level=*/ true);
    pic.ack();
    outb(&mut pic, PIC_MASTER_DATA, 0b0000_0010);
    pic.set_irq(/*irq=*/ 4, /*level=*/ true);
    assert!(!pic.intr(), "fully nested: IRQ 1 in service blocks IRQ 4");
    outb(&mut pic, PIC_MASTER_COMMAND, ocw3::SET_SPECIAL_MASK);
    assert!(pic.snapshot().master.special_mask);
    assert_eq!(pic.ack(), MASTER_BASE + 4);
    assert_eq!(read_isr(&mut pic, PIC_MASTER_COMMAND), 0b0001_0010);
    outb(&mut pic, PIC_MASTER_COMMAND, ocw3::RESET_SPECIAL_MASK);
    assert!(!pic.snapshot().master.special_mask);
}

/// Cascade mode: a slave request raises the slave's INT into master IR2; in
/// the INTA sequence the master puts IR2 in service and the slave (ID 2)
/// supplies `slave base + line`; each chip needs its own EOI.
#[test]
fn cascade_slave_interrupt_uses_slave_vector_and_both_in_service() {
    let mut pic = initialised_pair();
    pic.set_irq(/*irq=*/ 12, /*level=*/ true);
    assert!(pic.intr());
    assert_eq!(pic.ack(), SLAVE_BASE + 4);
    assert_eq!(read_isr(&mut pic, PIC_MASTER_COMMAND), 1 << CASCADE_LINE);
    assert_eq!(read_isr(&mut pic, PIC_SLAVE_COMMAND), 0b0001_0000);
    eoi(&mut pic, PIC_SLAVE_COMMAND);
    eoi(&mut pic, PIC_MASTER_COMMAND);
    assert_eq!(read_isr(&mut pic, PIC_MASTER_COMMAND), 0);
    assert_eq!(read_isr(&mut pic, PIC_SLAVE_COMMAND), 0);
}

/// Default IR7: when the request behind INTR is gone by INTA time (a level
/// line dropped, or the line was masked), the master answers with its IR7
/// vector and sets no in-service bit.
#[test]
fn spurious_master_irq7_when_request_vanishes_before_inta() {
    let mut pic = initialised_pair();
    outb(&mut pic, ELCR_MASTER, 1 << 5);
    pic.set_irq(/*irq=*/ 5, /*level=*/ true);
    assert!(pic.intr());
    pic.set_irq(/*irq=*/ 5, /*level=*/ false);
    assert_eq!(pic.ack(), MASTER_BASE + 7);
    assert_eq!(read_isr(&mut pic, PIC_MASTER_COMMAND), 0);

    pic.set_irq(/*irq=*/ 3, /*level=*/ true);
    outb(&mut pic, PIC_MASTER_DATA, 1 << 3);
    assert_eq!(pic.ack(), MASTER_BASE + 7);
    assert_eq!(read_isr(&mut pic, PIC_MASTER_COMMAND), 0);
}

/// Spurious IRQ 15: the slave's request drops after the master latched its
/// IR2 edge; the slave answers with its IR7 vector and no in-service bit,
/// while the master's IR2 does go in service.
#[test]
fn spurious_slave_irq15_leaves_master_ir2_in_service() {
    let mut pic = initialised_pair();
    outb(&mut pic, ELCR_SLAVE, 1 << 2);
    pic.set_irq(/*irq=*/ 10, /*level=*/ true);
    pic.set_irq(/*irq=*/ 10, /*level=*/ false);
    assert!(pic.intr(), "the master latched the edge on IR2");
    assert_eq!(pic.pending_vector(), Some(SLAVE_BASE + 7));
    assert_eq!(pic.ack(), SLAVE_BASE + 7);
    assert_eq!(read_isr(&mut pic, PIC_MASTER_COMMAND), 1 << CASCADE_LINE);
    assert_eq!(read_isr(&mut pic, PIC_SLAVE_COMMAND), 0);
}

/// Level-triggered (ELCR) lines request for as long as they are high: after
/// the EOI a line still held interrupts again. An edge line held high does
/// not.
#[test]
fn level_line_redelivers_after_eoi_while_held_but_edge_does_not() {
    let mut pic = initialised_pair();
    outb(&mut pic, ELCR_SLAVE, 1 << 3);
    pic.set_irq(/*irq=*/ 11, /*level=*/ true);
    assert_eq!(pic.ack(), SLAVE_BASE + 3);
    eoi(&mut pic, PIC_SLAVE_COMMAND);
    eoi(&mut pic, PIC_MASTER_COMMAND);
    assert_eq!(pic.ack(), SLAVE_BASE + 3, "still asserted");
    // The handler quiets the device before its EOIs, so nothing follows.
    pic.set_irq(/*irq=*/ 11, /*level=*/ false);
    eoi(&mut pic, PIC_SLAVE_COMMAND);
    eoi(&mut pic, PIC_MASTER_COMMAND);
    assert!(!pic.intr());

    pic.set_irq(/*irq=*/ 4, /*level=*/ true);
    assert_eq!(pic.ack(), MASTER_BASE + 4);
    eoi(&mut pic, PIC_MASTER_COMMAND);
    assert!(!pic.intr(), "an edge line held high requests once");
}

/// ICW1.LTIM puts every line of that chip in level mode, whatever the ELCR
/// says.
#[test]
fn icw1_ltim_makes_every_line_level_triggered() {
    let mut pic = PicPair::new();
    outb(
        &mut pic,
        PIC_MASTER_COMMAND,
        icw1::SELECT | icw1::IC4 | icw1::LTIM,
    );
    outb(&mut pic, PIC_MASTER_DATA, MASTER_BASE);
    outb(&mut pic, PIC_MASTER_DATA, 1 << CASCADE_LINE);
    outb(&mut pic, PIC_MASTER_DATA, icw4::UPM_8086);
    outb(&mut pic, PIC_MASTER_DATA, 0);
    pic.set_irq(/*irq=*/ 1, /*level=*/ true);
    pic.set_irq(/*irq=*/ 1, /*level=*/ false);
    assert!(!pic.intr(), "a level request follows the line");
    pic.set_irq(/*irq=*/ 1, /*level=*/ true);
    assert_eq!(pic.ack(), MASTER_BASE + 1);
    eoi(&mut pic, PIC_MASTER_COMMAND);
    assert_eq!(pic.ack(), MASTER_BASE + 1);
    assert!(pic.snapshot().master.level_triggered_all);
}

/// ELCR: IRQ 0, 1, 2, 8 and 13 are hard-wired edge, their bits read 0.
#[test]
fn elcr_ignores_hardwired_edge_lines() {
    let mut pic = initialised_pair();
    outb(&mut pic, ELCR_MASTER, 0xFF);
    outb(&mut pic, ELCR_SLAVE, 0xFF);
    assert_eq!(inb(&mut pic, ELCR_MASTER), ELCR_MASTER_WRITABLE);
    assert_eq!(inb(&mut pic, ELCR_SLAVE), ELCR_SLAVE_WRITABLE);
}

/// ICW1 mid-run: IMR cleared, edge sense reset (an edge line held high no
/// longer requests until it goes low and high again), IR7 lowest priority,
/// special mask off, status reads back to IRR, in-service bits dropped; the
/// new ICW2 base applies at once.
#[test]
fn icw1_reinitialisation_mid_run_resets_per_datasheet() {
    let mut pic = initialised_pair();
    pic.set_irq(/*irq=*/ 3, /*level=*/ true);
    pic.ack();
    outb(&mut pic, PIC_MASTER_DATA, 0b0001_0000);
    pic.set_irq(/*irq=*/ 4, /*level=*/ true);
    outb(&mut pic, PIC_MASTER_COMMAND, ocw3::SET_SPECIAL_MASK);
    outb(&mut pic, PIC_MASTER_COMMAND, ocw2::SET_PRIORITY | 2);
    outb(&mut pic, PIC_MASTER_COMMAND, ocw3::READ_ISR);

    outb(&mut pic, PIC_MASTER_COMMAND, icw1::SELECT | icw1::IC4);
    assert_eq!(inb(&mut pic, PIC_MASTER_DATA), 0, "IMR cleared");
    assert_eq!(
        inb(&mut pic, PIC_MASTER_COMMAND),
        0,
        "IRR selected and edge latch reset"
    );
    let master = pic.snapshot().master;
    assert_eq!(master.isr, 0);
    assert_eq!(master.lowest_priority, 7);
    assert!(!master.special_mask);
    assert_eq!(master.init_stage, InitStage::Icw2);
    outb(&mut pic, PIC_MASTER_DATA, 0x40);
    outb(&mut pic, PIC_MASTER_DATA, 1 << CASCADE_LINE);
    outb(&mut pic, PIC_MASTER_DATA, icw4::UPM_8086);
    assert!(!pic.intr(), "IRQ 4 is still high but made no new edge");
    pic.set_irq(/*irq=*/ 4, /*level=*/ false);
    pic.set_irq(/*irq=*/ 4, /*level=*/ true);
    assert_eq!(pic.ack(), 0x44);
}

/// ICW1 without IC4 zeroes every ICW4 function: AEOI and 8086 mode drop,
/// so the next INTA leaves the line in service.
#[test]
fn icw1_without_ic4_zeroes_icw4_functions() {
    let mut pic = PicPair::new();
    init_primary_pic_with(&mut pic, MASTER_BASE, icw4::AEOI | icw4::SFNM);
    outb(&mut pic, PIC_MASTER_COMMAND, icw1::SELECT);
    outb(&mut pic, PIC_MASTER_DATA, 0x30);
    outb(&mut pic, PIC_MASTER_DATA, 1 << CASCADE_LINE);
    let master = pic.snapshot().master;
    assert_eq!(master.init_stage, InitStage::Ready, "no ICW4 expected");
    assert!(!master.auto_eoi && !master.mode_8086 && !master.special_fully_nested);
    pic.set_irq(/*irq=*/ 6, /*level=*/ true);
    assert_eq!(pic.ack(), 0x36);
    assert_eq!(read_isr(&mut pic, PIC_MASTER_COMMAND), 1 << 6);
}

/// ICW1.SNGL: no ICW3 is expected, and IR2 is an ordinary line: the master
/// supplies `base + 2` itself and the slave sees no INTA.
#[test]
fn single_mode_skips_icw3_and_ir2_is_an_ordinary_line() {
    let mut pic = PicPair::new();
    init_secondary_pic(&mut pic, SLAVE_BASE);
    outb(
        &mut pic,
        PIC_MASTER_COMMAND,
        icw1::SELECT | icw1::SNGL | icw1::IC4,
    );
    outb(&mut pic, PIC_MASTER_DATA, MASTER_BASE);
    assert_eq!(pic.snapshot().master.init_stage, InitStage::Icw4);
    outb(&mut pic, PIC_MASTER_DATA, icw4::UPM_8086);
    outb(&mut pic, PIC_MASTER_DATA, 0);
    pic.set_irq(/*irq=*/ 9, /*level=*/ true);
    assert_eq!(pic.ack(), MASTER_BASE + CASCADE_LINE);
    assert_eq!(read_isr(&mut pic, PIC_SLAVE_COMMAND), 0);
}

/// Special fully nested mode (master ICW4.SFNM): while a slave interrupt is
/// in service, a higher-priority request from the same slave still gets
/// through IR2; in plain fully nested mode IR2 in service blocks it.
#[test]
fn special_fully_nested_mode_admits_higher_slave_interrupt() {
    for sfnm in [false, true] {
        let mut pic = PicPair::new();
        init_primary_pic_with(&mut pic, MASTER_BASE, if sfnm { icw4::SFNM } else { 0 });
        init_secondary_pic(&mut pic, SLAVE_BASE);
        pic.set_irq(/*irq=*/ 12, /*level=*/ true);
        assert_eq!(pic.ack(), SLAVE_BASE + 4);
        pic.set_irq(/*irq=*/ 9, /*level=*/ true);
        if sfnm {
            assert_eq!(pic.ack(), SLAVE_BASE + 1);
            assert_eq!(read_isr(&mut pic, PIC_SLAVE_COMMAND), 0b0001_0010);
        } else {
            assert!(!pic.intr());
        }
    }
}

/// Cascade with no slave answering: the master's ICW3 names IR2 but the
/// slave's ID is 3, so no chip drives the vector bus (0xFF) while the
/// master's IR2 still goes in service.
#[test]
fn cascade_line_without_answering_slave_reads_floating_bus() {
    let mut pic = PicPair::new();
    init_primary_pic(&mut pic, MASTER_BASE);
    outb(&mut pic, PIC_SLAVE_COMMAND, icw1::SELECT | icw1::IC4);
    outb(&mut pic, PIC_SLAVE_DATA, SLAVE_BASE);
    outb(&mut pic, PIC_SLAVE_DATA, 3);
    outb(&mut pic, PIC_SLAVE_DATA, icw4::UPM_8086);
    outb(&mut pic, PIC_SLAVE_DATA, 0);
    pic.set_irq(/*irq=*/ 12, /*level=*/ true);
    assert_eq!(pic.ack(), 0xFF);
    assert_eq!(read_isr(&mut pic, PIC_MASTER_COMMAND), 1 << CASCADE_LINE);
}

/// The vector base is the guest's to change at any time by reinitialising;
/// the slave's base moves independently of the master's.
#[test]
fn vector_bases_are_reprogrammable() {
    let mut pic = initialised_pair();
    pic.set_irq(/*irq=*/ 14, /*level=*/ true);
    init_secondary_pic(&mut pic, 0x78);
    pic.set_irq(/*irq=*/ 14, /*level=*/ false);
    pic.set_irq(/*irq=*/ 14, /*level=*/ true);
    assert_eq!(pic.ack(), 0x78 + 6);
    init_primary_pic(&mut pic, 0x50);
    pic.set_irq(/*irq=*/ 0, /*level=*/ true);
    assert_eq!(pic.ack(), 0x50);
}

/// An edge request is latched on the rising edge and survives the line
/// falling before INTA (a zero-time pulse from a virtual device).
#[test]
fn edge_request_survives_early_line_drop() {
    let mut pic = initialised_pair();
    pic.set_irq(/*irq=*/ 6, /*level=*/ true);
    pic.set_irq(/*irq=*/ 6, /*level=*/ false);
    assert_eq!(pic.ack(), MASTER_BASE + 6);
}

/// ISA bus sizing: a 16-bit access to 0x20 is two byte accesses, 0x20 then
/// 0x21; ports the pair does not decode read 0xFF.
#[test]
fn word_access_splits_into_byte_ports() {
    let mut pic = initialised_pair();
    pic.set_irq(/*irq=*/ 5, /*level=*/ true);
    outb(&mut pic, PIC_MASTER_DATA, 0x81);
    assert_eq!(pic.read_port(PIC_MASTER_COMMAND, 2), 0x8120);
    pic.write_port(
        PIC_MASTER_COMMAND,
        2,
        u32::from(0x0F00 | u16::from(ocw3::READ_IRR)),
    );
    assert_eq!(inb(&mut pic, PIC_MASTER_DATA), 0x0F);
    assert_eq!(pic.read_port(0x22, 1), 0xFF);
    assert!(PicPair::claims_port(ELCR_SLAVE) && !PicPair::claims_port(0x22));
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

/// Any sequence of port accesses, line changes and INTA cycles is handled
/// without a panic, and INTA always returns exactly the vector
/// `pending_vector` predicted.
#[test]
fn random_register_and_line_traffic_never_panics() {
    const PORTS: [u16; 7] = [
        PIC_MASTER_COMMAND,
        PIC_MASTER_DATA,
        PIC_SLAVE_COMMAND,
        PIC_SLAVE_DATA,
        ELCR_MASTER,
        ELCR_SLAVE,
        0x22,
    ];
    for seed in 1..=20u64 {
        let mut rng = XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut pic = PicPair::new();
        for _ in 0..5_000 {
            let roll = rng.next();
            let port = PORTS[(roll % PORTS.len() as u64) as usize];
            let size = [1, 2, 4][((roll >> 8) % 3) as usize];
            match (roll >> 16) % 6 {
                0 => pic.write_port(port, size, (roll >> 32) as u32),
                1 => {
                    pic.read_port(port, size);
                }
                2 | 3 => pic.set_irq(((roll >> 24) % 20) as u8, roll & (1 << 40) != 0),
                _ => {
                    if pic.intr() {
                        let predicted = pic.pending_vector();
                        assert_eq!(predicted, Some(pic.ack()));
                    } else {
                        pic.ack();
                    }
                }
            }
        }
    }
}
