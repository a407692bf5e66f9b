//! The `bulkhead.test-fault` switch: an exception raised on purpose after
//! bring-up, so the integration tests can check the exception path end to end.

use core::sync::atomic::{AtomicU64, Ordering};

use bulkhead_core::options::{Options, TestFault};
use log::warn;

const NONE: u64 = u64::MAX;

/// The armed fault, packed as `kind << 32 | core`.
static ARMED: AtomicU64 = AtomicU64::new(NONE);

/// Remembers what the command line asked for.
pub fn arm(options: Options) {
    if let Some((fault, core)) = options.test_fault {
        ARMED.store(((fault as u64) << 32) | u64::from(core), Ordering::Relaxed);
    }
}

/// Raises the armed fault if it is meant for `core`.
pub fn maybe_raise(core: u32) {
    let armed = ARMED.load(Ordering::Relaxed);
    if armed == NONE || armed as u32 != core {
        return;
    }
    let fault = [
        TestFault::InvalidOpcode,
        TestFault::GeneralProtection,
        TestFault::PageFault,
        TestFault::Breakpoint,
    ]
    .into_iter()
    .find(|&f| f as u64 == armed >> 32);
    let Some(fault) = fault else { return };
    warn!("raising {fault:?} on core {core}, as bulkhead.test-fault asks");
    match fault {
        TestFault::InvalidOpcode => {
            // SAFETY: deliberately faults: `ud2` raises #UD and has no other effect.
            unsafe { core::arch::asm!("ud2", options(nomem, nostack)) }
        }
        TestFault::GeneralProtection => {
            // SAFETY: deliberately faults: a non-canonical address raises #GP
            // before any memory is touched.
            unsafe { core::ptr::read_volatile(0x8000_0000_0000_0000 as *const u64) };
        }
        TestFault::PageFault => {
            // SAFETY: deliberately faults: the identity map ends far below this
            // canonical address, so the read raises #PF and touches nothing.
            unsafe { core::ptr::read_volatile(0x0000_7FFF_FFFF_F000 as *const u64) };
        }
        TestFault::Breakpoint => x86_64::instructions::interrupts::int3(),
    }
}
