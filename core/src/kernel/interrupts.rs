//! The few physical interrupts the hypervisor takes: its local APIC timer
//! (to wake a core whose guest halted), the service core's kick (to make a
//! partition's core look at its input and commands now) and the APIC's
//! spurious vector. The handlers return; none touches guest state.

use super::{exceptions, lapic, time};

/// The APIC's spurious-interrupt vector, as `lapic::init` programs it.
pub const SPURIOUS_VECTOR: u8 = 0xFF;

// The timer stub saves the caller-saved registers (the handler is an ordinary
// function), signals EOI through the handler and returns. After the CPU's
// 40-byte frame and nine pushes the stack is 16-byte aligned for the call.
core::arch::global_asm!(
    r#"
    .section .text.interrupts, "ax"
    .global timer_interrupt_stub
    .global spurious_interrupt_stub
timer_interrupt_stub:
    push rax
    push rcx
    push rdx
    push rsi
    push rdi
    push r8
    push r9
    push r10
    push r11
    cld
    call {handler}
    pop r11
    pop r10
    pop r9
    pop r8
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rax
    iretq
spurious_interrupt_stub:
    iretq
"#,
    handler = sym timer_interrupt,
);

extern "C" fn timer_interrupt() {
    lapic::end_of_interrupt();
}

/// Installs the gates in the shared IDT. Bootstrap processor, before other cores start.
pub fn init() {
    unsafe extern "C" {
        static timer_interrupt_stub: u8;
        static spurious_interrupt_stub: u8;
    }
    exceptions::set_interrupt_gate(
        time::TIMER_VECTOR,
        core::ptr::addr_of!(timer_interrupt_stub) as u64,
    );
    // The kick needs nothing but its acknowledgement: being taken is its
    // whole effect (the guest's run or the core's sleep ends).
    exceptions::set_interrupt_gate(
        super::partition::link::KICK_VECTOR,
        core::ptr::addr_of!(timer_interrupt_stub) as u64,
    );
    exceptions::set_interrupt_gate(
        SPURIOUS_VECTOR,
        core::ptr::addr_of!(spurious_interrupt_stub) as u64,
    );
}
