//! The core's entry point, as hermit-entry defines it.

use hermit_entry::Entry;
use hermit_entry::boot_info::RawBootInfo;

/// Stack of the bootstrap processor; the loader's stack is left behind at once.
const BOOT_STACK_SIZE: usize = 64 * 1024;

#[repr(C, align(16))]
struct Stack([u8; BOOT_STACK_SIZE]);

static mut BOOT_STACK: Stack = Stack([0; BOOT_STACK_SIZE]);

hermit_entry::define_entry_version!();

/// Switches to the core's own stack and enters [`super::boot_processor_init`].
#[unsafe(no_mangle)]
#[unsafe(naked)]
unsafe extern "C" fn _start(raw_boot_info: &'static RawBootInfo, cpu_id: u32) -> ! {
    core::arch::naked_asm!(
        "lea rsp, [rip + {stack} + {size}]",
        "xor ebp, ebp",
        "call {main}",
        "ud2",
        stack = sym BOOT_STACK,
        size = const BOOT_STACK_SIZE,
        main = sym start_rust,
    )
}

/// The loader's contract: `_start` has hermit-entry's entry signature.
const _: Entry = _start;

extern "C" fn start_rust(raw_boot_info: &'static RawBootInfo, _cpu_id: u32) -> ! {
    super::boot_processor_init(raw_boot_info)
}
