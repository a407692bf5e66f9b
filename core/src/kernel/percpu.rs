//! Data each core reaches through its GS base.
//!
//! GS is set before anything else runs on a core, so the logger and the
//! exception path can always name the core they run on.

use alloc::boxed::Box;
use core::sync::atomic::{AtomicU32, Ordering};

use x86_64::VirtAddr;
use x86_64::registers::model_specific::GsBase;

/// A core's own record. `index` must stay the first field: [`index`] reads it
/// as `gs:[0]`.
#[repr(C)]
pub struct PerCpu {
    index: u32,
    apic_id: AtomicU32,
}

/// The bootstrap processor's record, usable before any heap exists.
static BOOTSTRAP: PerCpu = PerCpu {
    index: 0,
    apic_id: AtomicU32::new(0),
};

/// Points GS at the bootstrap processor's record. First thing the core does.
pub fn init_bootstrap() {
    install(&BOOTSTRAP);
}

/// A fresh record for application processor `index`, kept for the machine's lifetime.
pub fn new_record(index: u32, apic_id: u32) -> &'static PerCpu {
    Box::leak(Box::new(PerCpu {
        index,
        apic_id: AtomicU32::new(apic_id),
    }))
}

/// Points this core's GS base at `record`.
pub fn install(record: &'static PerCpu) {
    GsBase::write(VirtAddr::from_ptr(record));
}

/// Index of the running core (0 is the bootstrap processor).
pub fn index() -> u32 {
    let index: u32;
    // SAFETY: GS points at this core's `PerCpu`, whose first field is the
    // index; `install` runs before any code that could call this.
    unsafe {
        core::arch::asm!("mov {:e}, gs:[0]", out(reg) index, options(nostack, readonly, preserves_flags))
    };
    index
}

fn current() -> &'static PerCpu {
    // SAFETY: GS base holds a pointer to a `'static PerCpu`, set by `install`.
    unsafe { &*GsBase::read().as_ptr::<PerCpu>() }
}

/// Local APIC ID of the running core.
pub fn apic_id() -> u32 {
    current().apic_id.load(Ordering::Relaxed)
}

/// Records the bootstrap processor's APIC ID once the local APIC is known.
pub fn set_apic_id(id: u32) {
    current().apic_id.store(id, Ordering::Relaxed);
}
