//! Starting the application processors (SDM Vol. 3A, 9.4.4: INIT-SIPI-SIPI).
//!
//! A started core begins in real mode at the trampoline page. The trampoline
//! (copied below 1 MiB) enters protected mode, turns on PAE and long mode with
//! the bootstrap processor's page tables, and calls [`application_processor_init`]
//! on the stack the bootstrap processor prepared. Cores are started one at a
//! time: each reads the trampoline's parameter block before it reports in, and
//! only then is the block rewritten for the next.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use log::{info, warn};

use super::acpi::Platform;
use super::percpu::{self, PerCpu};
use super::{exceptions, frames, gdt, lapic, paging, pit, test_fault};

/// Physical address the trampoline runs at; SIPI vector = page number.
const TRAMPOLINE: u64 = 0x8000;
const AP_STACK_SIZE: u64 = 64 * 1024;
/// Intel's recommended waits after INIT and after each SIPI.
const INIT_WAIT_MICROS: u64 = 10_000;
const SIPI_WAIT_MICROS: u64 = 200;
/// How long a core may take to report in before it is given up on.
const START_TIMEOUT_MILLIS: u64 = 1000;

static REPORTED_IN: AtomicBool = AtomicBool::new(false);

core::arch::global_asm!(
    r#"
    .section .text.trampoline, "ax"
    .set TRAMPOLINE_BASE, {base}
    .global ap_trampoline_start
    .global ap_trampoline_end
    .global ap_trampoline_params
    .code16
ap_trampoline_start:
    cli
    cld
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    lgdt [AP_GDT_POINTER]
    mov eax, cr0
    or eax, 1
    mov cr0, eax
    /* ljmpl 0x08:protected */
    .byte 0x66, 0xEA
    .long TRAMPOLINE_BASE + (ap_protected - ap_trampoline_start)
    .word 0x08

    .code32
ap_protected:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, cr4
    or eax, 0x20
    mov cr4, eax
    mov eax, dword ptr [AP_PARAM_CR3]
    mov cr3, eax
    mov ecx, 0xC0000080
    rdmsr
    or eax, 0x100
    wrmsr
    mov eax, cr0
    or eax, 0x80000001
    mov cr0, eax
    /* ljmp 0x18:long */
    .byte 0xEA
    .long TRAMPOLINE_BASE + (ap_long - ap_trampoline_start)
    .word 0x18

    .code64
ap_long:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, offset AP_PARAM_STACK
    mov rsp, [rax]
    mov eax, offset AP_PARAM_RECORD
    mov rdi, [rax]
    mov eax, offset AP_PARAM_ENTRY
    mov rax, [rax]
    xor ebp, ebp
    call rax
    ud2

    .balign 8
ap_gdt:
    .quad 0
    .quad 0x00CF9A000000FFFF
    .quad 0x00CF92000000FFFF
    .quad 0x00AF9A000000FFFF
ap_gdt_pointer:
    .word 4 * 8 - 1
    .long TRAMPOLINE_BASE + (ap_gdt - ap_trampoline_start)
    .balign 8
ap_trampoline_params:
ap_param_cr3:
    .quad 0
ap_param_stack:
    .quad 0
ap_param_entry:
    .quad 0
ap_param_record:
    .quad 0
ap_trampoline_end:
    /* Where the labels above sit once the trampoline is copied to its page. */
    .set AP_GDT_POINTER, TRAMPOLINE_BASE + (ap_gdt_pointer - ap_trampoline_start)
    .set AP_PARAM_CR3, TRAMPOLINE_BASE + (ap_param_cr3 - ap_trampoline_start)
    .set AP_PARAM_STACK, TRAMPOLINE_BASE + (ap_param_stack - ap_trampoline_start)
    .set AP_PARAM_ENTRY, TRAMPOLINE_BASE + (ap_param_entry - ap_trampoline_start)
    .set AP_PARAM_RECORD, TRAMPOLINE_BASE + (ap_param_record - ap_trampoline_start)
    .code64
"#,
    base = const TRAMPOLINE,
);

/// The trampoline's parameter block, in the order the assembly lays it out.
#[repr(C)]
struct Params {
    cr3: u64,
    stack_top: u64,
    entry: u64,
    record: u64,
}

fn symbol(which: Symbol) -> u64 {
    unsafe extern "C" {
        static ap_trampoline_start: u8;
        static ap_trampoline_end: u8;
        static ap_trampoline_params: u8;
    }
    match which {
        Symbol::Start => core::ptr::addr_of!(ap_trampoline_start) as u64,
        Symbol::End => core::ptr::addr_of!(ap_trampoline_end) as u64,
        Symbol::Params => core::ptr::addr_of!(ap_trampoline_params) as u64,
    }
}

enum Symbol {
    Start,
    End,
    Params,
}

/// Starts every enabled core the MADT lists, one after the other.
pub fn start_application_processors(platform: &Platform) {
    let me = lapic::id();
    info!("core 0 online, apic id {me} (bootstrap processor)");
    let others: Vec<(u32, u32)> = platform.core_indexes(me).skip(1).collect();
    if others.is_empty() {
        return;
    }
    let start = symbol(Symbol::Start);
    let len = symbol(Symbol::End) - start;
    // SAFETY: the first megabyte is never handed out by the frame allocator,
    // and the trampoline page lies in conventional memory, unused since the
    // loader copied the boot information above 1 MiB. Source and destination
    // do not overlap.
    unsafe {
        core::ptr::copy_nonoverlapping(start as *const u8, TRAMPOLINE as *mut u8, len as usize)
    };
    let params = (TRAMPOLINE + symbol(Symbol::Params) - start) as *mut Params;

    for (index, apic_id) in others {
        let stack = frames::allocate(AP_STACK_SIZE, 4096).expect("no memory for a core's stack");
        let record: &'static PerCpu = percpu::new_record(index, apic_id);
        let entry: extern "C" fn(&'static PerCpu) -> ! = application_processor_init;
        // SAFETY: the parameter block is in the trampoline copy, which no
        // started core reads any more (the previous one reported in).
        unsafe {
            params.write_volatile(Params {
                cr3: paging::root(),
                stack_top: stack + AP_STACK_SIZE,
                entry: entry as usize as u64,
                record: record as *const PerCpu as u64,
            })
        };
        REPORTED_IN.store(false, Ordering::SeqCst);
        lapic::send_init(apic_id);
        pit::wait_micros(INIT_WAIT_MICROS);
        for _ in 0..2 {
            lapic::send_startup(apic_id, (TRAMPOLINE >> 12) as u8);
            pit::wait_micros(SIPI_WAIT_MICROS);
            if REPORTED_IN.load(Ordering::SeqCst) {
                break;
            }
        }
        let mut waited = 0;
        while !REPORTED_IN.load(Ordering::SeqCst) && waited < START_TIMEOUT_MILLIS {
            pit::wait_micros(1000);
            waited += 1;
        }
        if !REPORTED_IN.load(Ordering::SeqCst) {
            warn!(
                "core {index} (apic id {apic_id}) did not start within {START_TIMEOUT_MILLIS} ms"
            );
        }
    }
}

static ONLINE: spinning_top::Spinlock<Vec<(u32, u32)>> = spinning_top::Spinlock::new(Vec::new());

/// Prints the line that closes bring-up: every core online with its APIC ID.
pub fn report_online(platform: &Platform) {
    let mut online = ONLINE.lock().clone();
    online.insert(0, (0, super::percpu::apic_id()));
    let ids: Vec<u32> = online.iter().map(|&(_, id)| id).collect();
    let expected = platform.enabled_cpus().count().max(1);
    if online.len() == expected {
        info!("all {} cores online: apic ids {ids:?}", online.len());
    } else {
        warn!(
            "{} of {expected} cores online: apic ids {ids:?}",
            online.len()
        );
    }
    info!(
        "{} KiB of memory not assigned to any partition",
        frames::free_bytes() / 1024
    );
}

/// First Rust code on an application processor.
extern "C" fn application_processor_init(record: &'static PerCpu) -> ! {
    percpu::install(record);
    gdt::init();
    exceptions::load();
    lapic::init();
    let index = percpu::index();
    info!("core {index} online, apic id {}", lapic::id());
    ONLINE.lock().push((index, lapic::id()));
    REPORTED_IN.store(true, Ordering::SeqCst);
    test_fault::maybe_raise(index);
    super::run_assigned_partition(index)
}
