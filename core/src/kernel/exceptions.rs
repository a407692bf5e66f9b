//! CPU exceptions: an IDT shared by all cores, assembly entry stubs that save
//! every general-purpose register, and a handler that prints them with the
//! core's identity. An exception in the hypervisor is a hypervisor bug: the
//! core that took it prints the dump and halts; the other cores go on.

use core::cell::UnsafeCell;
use core::fmt::Write;

use log::error;
use x86_64::VirtAddr;
use x86_64::instructions::tables::lidt;
use x86_64::registers::control::{Cr0, Cr2, Cr3, Cr4};
use x86_64::structures::DescriptorTablePointer;

use super::gdt::DOUBLE_FAULT_IST;

/// Vectors 0..32 are the architecture's exceptions (SDM Vol. 3A, 6.15).
const EXCEPTION_VECTORS: usize = 32;
/// Bytes between consecutive entry stubs, fixed by `.balign` below.
const STUB_STRIDE: u64 = 16;
const DOUBLE_FAULT: usize = 8;

/// A 64-bit IDT gate descriptor (SDM Vol. 3A, Figure 6-8).
#[repr(C)]
#[derive(Clone, Copy)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    type_attributes: u8,
    offset_mid: u16,
    offset_high: u32,
    reserved: u32,
}

const _: () = assert!(core::mem::size_of::<Gate>() == 16);

/// Present, DPL 0, 64-bit interrupt gate (interrupts stay off in handlers).
const INTERRUPT_GATE: u8 = 0x8E;
/// The core's code segment in every GDT it loads (loader's and its own).
const KERNEL_CODE_SELECTOR: u16 = 0x08;

impl Gate {
    const MISSING: Gate = Gate {
        offset_low: 0,
        selector: 0,
        ist: 0,
        type_attributes: 0,
        offset_mid: 0,
        offset_high: 0,
        reserved: 0,
    };

    fn interrupt(handler: u64, ist: u8) -> Gate {
        Gate {
            offset_low: handler as u16,
            selector: KERNEL_CODE_SELECTOR,
            ist,
            type_attributes: INTERRUPT_GATE,
            offset_mid: (handler >> 16) as u16,
            offset_high: (handler >> 32) as u32,
            reserved: 0,
        }
    }
}

#[repr(C, align(16))]
struct Idt([Gate; 256]);

/// The table every core loads. Written only by the bootstrap processor
/// before any other core starts; read by the CPU through IDTR after that.
struct SharedIdt(UnsafeCell<Idt>);

// SAFETY: see `SharedIdt`: all writes happen on one core before others exist.
unsafe impl Sync for SharedIdt {}

static IDT: SharedIdt = SharedIdt(UnsafeCell::new(Idt([Gate::MISSING; 256])));

// One 16-byte stub per exception vector. Vectors where the CPU pushes an error
// code (8, 10-14, 17, 21, 29, 30) skip the dummy push, so every frame looks
// alike to `exception_common`.
core::arch::global_asm!(
    r#"
    .section .text.exceptions, "ax"
    .balign 16
    .global exception_stubs
exception_stubs:
    .irp vector, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .balign 16
    .if (\vector == 8) || (\vector >= 10 && \vector <= 14) || (\vector == 17) || (\vector == 21) || (\vector == 29) || (\vector == 30)
    .else
    push 0
    .endif
    push \vector
    jmp exception_common
    .endr

exception_common:
    push r15
    push r14
    push r13
    push r12
    push r11
    push r10
    push r9
    push r8
    push rbp
    push rdi
    push rsi
    push rdx
    push rcx
    push rbx
    push rax
    cld
    mov rdi, rsp
    call {handler}
    ud2
"#,
    handler = sym exception_handler,
);

/// The stack as `exception_common` leaves it: saved registers, then the
/// vector and error code from the stub, then the CPU's interrupt frame.
#[repr(C)]
struct Frame {
    rax: u64,
    rbx: u64,
    rcx: u64,
    rdx: u64,
    rsi: u64,
    rdi: u64,
    rbp: u64,
    r8: u64,
    r9: u64,
    r10: u64,
    r11: u64,
    r12: u64,
    r13: u64,
    r14: u64,
    r15: u64,
    vector: u64,
    error_code: u64,
    rip: u64,
    cs: u64,
    rflags: u64,
    rsp: u64,
    ss: u64,
}

/// Fills the shared IDT with the exception stubs and loads it on this core.
/// The double-fault gate gets its IST stack once [`use_double_fault_stack`] runs.
pub fn init() {
    let base = stub_base();
    // SAFETY: runs once on the bootstrap processor before any other core
    // exists and before interrupts are enabled; nothing else touches IDT.
    let idt = unsafe { &mut *IDT.0.get() };
    for (vector, gate) in idt.0.iter_mut().take(EXCEPTION_VECTORS).enumerate() {
        *gate = Gate::interrupt(base + vector as u64 * STUB_STRIDE, 0);
    }
    load();
}

/// Moves double faults onto the TSS's IST stack; call after this core's TSS is loaded.
pub fn use_double_fault_stack() {
    let handler = stub_base() + DOUBLE_FAULT as u64 * STUB_STRIDE;
    // SAFETY: only the bootstrap processor calls this, before other cores start.
    let idt = unsafe { &mut *IDT.0.get() };
    idt.0[DOUBLE_FAULT] = Gate::interrupt(handler, DOUBLE_FAULT_IST);
}

/// Points `vector` at `handler` (an interrupt gate on the current stack).
/// Bootstrap processor only, before other cores start.
pub fn set_interrupt_gate(vector: u8, handler: u64) {
    // SAFETY: see `SharedIdt`: only the bootstrap processor writes, before
    // other cores exist.
    let idt = unsafe { &mut *IDT.0.get() };
    idt.0[usize::from(vector)] = Gate::interrupt(handler, 0);
}

/// Loads the shared IDT on the running core.
pub fn load() {
    let pointer = DescriptorTablePointer {
        limit: (core::mem::size_of::<Idt>() - 1) as u16,
        base: VirtAddr::from_ptr(IDT.0.get()),
    };
    // SAFETY: the IDT is a 'static table of valid gates pointing at the stubs.
    unsafe { lidt(&pointer) };
}

fn stub_base() -> u64 {
    unsafe extern "C" {
        static exception_stubs: u8;
    }
    core::ptr::addr_of!(exception_stubs) as u64
}

fn name(vector: u64) -> &'static str {
    const NAMES: [&str; EXCEPTION_VECTORS] = [
        "#DE divide error",
        "#DB debug",
        "NMI",
        "#BP breakpoint",
        "#OF overflow",
        "#BR bound range exceeded",
        "#UD invalid opcode",
        "#NM device not available",
        "#DF double fault",
        "coprocessor segment overrun",
        "#TS invalid TSS",
        "#NP segment not present",
        "#SS stack-segment fault",
        "#GP general protection",
        "#PF page fault",
        "reserved (15)",
        "#MF x87 floating-point error",
        "#AC alignment check",
        "#MC machine check",
        "#XM SIMD floating-point",
        "#VE virtualization exception",
        "#CP control protection",
        "reserved (22)",
        "reserved (23)",
        "reserved (24)",
        "reserved (25)",
        "reserved (26)",
        "reserved (27)",
        "#HV hypervisor injection",
        "#VC VMM communication",
        "#SX security exception",
        "reserved (31)",
    ];
    NAMES.get(vector as usize).copied().unwrap_or("unknown")
}

extern "C" fn exception_handler(frame: &Frame) -> ! {
    let cpu = super::percpu::index();
    let apic = super::percpu::apic_id();
    {
        let mut out = super::serial::Writer::lock();
        let f = frame;
        let _ = writeln!(
            out,
            "[cpu{cpu}] EXCEPTION {} (vector {}, error code {:#x}) on core {cpu} (apic id {apic})",
            name(f.vector),
            f.vector,
            f.error_code
        );
        let _ = writeln!(
            out,
            "[cpu{cpu}]   rip={:#018x} cs={:#06x} rflags={:#010x} rsp={:#018x} ss={:#06x}",
            f.rip, f.cs, f.rflags, f.rsp, f.ss
        );
        let rows = [
            [
                ("rax", f.rax),
                ("rbx", f.rbx),
                ("rcx", f.rcx),
                ("rdx", f.rdx),
            ],
            [
                ("rsi", f.rsi),
                ("rdi", f.rdi),
                ("rbp", f.rbp),
                ("r8 ", f.r8),
            ],
            [
                ("r9 ", f.r9),
                ("r10", f.r10),
                ("r11", f.r11),
                ("r12", f.r12),
            ],
        ];
        for row in rows {
            let _ = write!(out, "[cpu{cpu}]  ");
            for (label, value) in row {
                let _ = write!(out, " {label}={value:#018x}");
            }
            let _ = writeln!(out);
        }
        let _ = writeln!(
            out,
            "[cpu{cpu}]   r13={:#018x} r14={:#018x} r15={:#018x}",
            f.r13, f.r14, f.r15
        );
        let _ = writeln!(
            out,
            "[cpu{cpu}]   cr0={:#018x} cr2={:#018x} cr3={:#018x} cr4={:#018x}",
            Cr0::read_raw(),
            Cr2::read_raw(),
            Cr3::read().0.start_address().as_u64(),
            Cr4::read_raw()
        );
    }
    error!("core {cpu} halted after an exception in the hypervisor");
    super::idle()
}
