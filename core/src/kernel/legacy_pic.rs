//! The physical 8259 pair belongs to the hypervisor, and it uses none of its
//! lines: firmware leaves IRQ0 (the BIOS tick) unmasked and the PIC wired to
//! the bootstrap processor's LINT0, which would otherwise raise physical
//! interrupts nobody services. Guests only ever see their virtual 8259s.

use x86_64::instructions::port::Port;

const PRIMARY_DATA: u16 = 0x21;
const SECONDARY_DATA: u16 = 0xA1;

/// Masks every line of both physical PICs.
pub fn mask_all() {
    // SAFETY: writing the interrupt mask registers only masks lines; the
    // hypervisor owns the physical PICs and no partition can reach them.
    unsafe {
        Port::<u8>::new(PRIMARY_DATA).write(0xFF);
        Port::<u8>::new(SECONDARY_DATA).write(0xFF);
    }
}
