//! The world switch: VMRUN and back (AMD64 APM Vol. 2, 15.5).
//!
//! VMRUN saves and restores only part of the host's state (RAX, RSP, RIP,
//! flags, control and segment registers); the rest is the software's job:
//!
//! - The general-purpose registers other than RAX and RSP are not touched by
//!   the hardware, so the guest's live in a [`Gprs`] block (register-number
//!   order, 8 bytes each) and are swapped in around VMRUN, with the host's
//!   callee-saved registers on the stack. RAX and RSP live in the VMCB.
//! - FS, GS, TR, LDTR and the SYSCALL/SYSENTER MSRs are "VMLOAD/VMSAVE state":
//!   the host's are saved to a host VMCB page before entering and loaded back
//!   after, so the core's GS base (its per-CPU pointer) survives the guest.
//! - GIF is cleared across the whole sequence so no NMI or SMI lands between
//!   the guest's state and the host's. The host's IF is set for VMRUN (with
//!   V_INTR_MASKING it is what lets a physical interrupt end the guest's run,
//!   APM Vol. 2, 15.21.1) and cleared again before GIF is set.
//!
//! The guest's x87/SSE/AVX state stays in the registers: the hypervisor is
//! built without floating point (the `x86_64-unknown-none` target is
//! soft-float), and each core runs exactly one guest.

use bulkhead_vcpu::Gprs;

/// Runs the guest until its next #VMEXIT.
///
/// # Safety
/// `guest_vmcb` and `host_vmcb` are the physical (identity-mapped) addresses
/// of two distinct, valid 4 KiB VMCB pages; EFER.SVME is set and VM_HSAVE_PA
/// points at this core's host save area; the guest VMCB's state passes the
/// VMRUN consistency checks or the CPU reports VMEXIT_INVALID.
#[unsafe(naked)]
pub unsafe extern "C" fn run(registers: &mut Gprs, guest_vmcb: u64, host_vmcb: u64) {
    core::arch::naked_asm!(
        "push rbp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        // [rsp] host vmcb, [rsp+8] guest vmcb, [rsp+16] registers
        "push rdi",
        "push rsi",
        "push rdx",
        "clgi",
        // With V_INTR_MASKING, physical interrupts end the guest's run only
        // if the host's IF was set at VMRUN; GIF=0 keeps them from being
        // taken here meanwhile.
        "sti",
        "mov rax, rdx",
        "vmsave rax",
        "mov rax, rsi",
        "vmload rax",
        "mov rcx, [rdi + 1*8]",
        "mov rdx, [rdi + 2*8]",
        "mov rbx, [rdi + 3*8]",
        "mov rbp, [rdi + 5*8]",
        "mov rsi, [rdi + 6*8]",
        "mov r8,  [rdi + 8*8]",
        "mov r9,  [rdi + 9*8]",
        "mov r10, [rdi + 10*8]",
        "mov r11, [rdi + 11*8]",
        "mov r12, [rdi + 12*8]",
        "mov r13, [rdi + 13*8]",
        "mov r14, [rdi + 14*8]",
        "mov r15, [rdi + 15*8]",
        "mov rdi, [rdi + 7*8]",
        "vmrun rax",
        // Host RAX, RSP and RIP are back; every other GPR holds the guest's.
        "push rdi",
        "mov rdi, [rsp + 3*8]",
        "mov [rdi + 1*8], rcx",
        "mov [rdi + 2*8], rdx",
        "mov [rdi + 3*8], rbx",
        "mov [rdi + 5*8], rbp",
        "mov [rdi + 6*8], rsi",
        "mov [rdi + 8*8], r8",
        "mov [rdi + 9*8], r9",
        "mov [rdi + 10*8], r10",
        "mov [rdi + 11*8], r11",
        "mov [rdi + 12*8], r12",
        "mov [rdi + 13*8], r13",
        "mov [rdi + 14*8], r14",
        "mov [rdi + 15*8], r15",
        "pop rax",
        "mov [rdi + 7*8], rax",
        "mov rax, [rsp + 8]",
        "vmsave rax",
        "mov rax, [rsp]",
        "vmload rax",
        // Back to IF=0 before GIF=1: a pending physical interrupt is taken
        // when the core chooses to (its ExternalInterrupt exit handling).
        "cli",
        "stgi",
        "add rsp, 24",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "ret",
    )
}
