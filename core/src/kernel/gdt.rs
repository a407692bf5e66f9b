//! Each core's GDT and TSS.
//!
//! A core needs its own TSS (the task register marks it busy) and with it its
//! own GDT. The TSS carries the double-fault stack, so a kernel stack overflow
//! still ends in a readable register dump instead of a triple fault.

use alloc::boxed::Box;

use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, DS, ES, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable};
use x86_64::structures::tss::TaskStateSegment;

/// IST slot (1-based in the IDT gate, 0-based in the TSS) of the double-fault stack.
pub const DOUBLE_FAULT_IST: u8 = 1;
const FAULT_STACK_SIZE: u64 = 16 * 1024;

/// Builds and loads a GDT and TSS for the running core.
pub fn init() {
    let stack = super::frames::allocate(FAULT_STACK_SIZE, 4096)
        .expect("no memory for a double-fault stack");
    let mut tss = TaskStateSegment::new();
    tss.interrupt_stack_table[usize::from(DOUBLE_FAULT_IST - 1)] =
        VirtAddr::new(stack + FAULT_STACK_SIZE);
    let tss: &'static TaskStateSegment = Box::leak(Box::new(tss));
    let gdt: &'static mut GlobalDescriptorTable = Box::leak(Box::new(GlobalDescriptorTable::new()));
    let code = gdt.append(Descriptor::kernel_code_segment());
    let data = gdt.append(Descriptor::kernel_data_segment());
    let tss_selector = gdt.append(Descriptor::tss_segment(tss));
    let gdt: &'static GlobalDescriptorTable = gdt;
    gdt.load();
    // SAFETY: the selectors index the GDT just loaded, whose code segment is
    // 64-bit ring 0 and whose data segment is writable; the TSS is 'static.
    unsafe {
        CS::set_reg(code);
        SS::set_reg(data);
        DS::set_reg(data);
        ES::set_reg(data);
        load_tss(tss_selector);
    }
}
