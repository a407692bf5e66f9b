//! The core's heap: talc over a block from the frame allocator.

use log::info;
use spinning_top::RawSpinlock;
use talc::source::Manual;

const HEAP_SIZE: u64 = 4 << 20;

#[global_allocator]
static ALLOCATOR: talc::TalcLock<RawSpinlock, Manual> = talc::TalcLock::new(Manual);

/// Gives the heap its memory. Called once, after the frame allocator.
pub fn init() {
    let base = super::frames::allocate(HEAP_SIZE, 4096).expect("no memory for the heap");
    // SAFETY: the block was just taken from the free frames, is identity
    // mapped, and belongs to the heap from now on.
    let claimed = unsafe { ALLOCATOR.lock().claim(base as *mut u8, HEAP_SIZE as usize) };
    assert!(claimed.is_some(), "heap block too small");
    info!("heap: {} KiB at {base:#x}", HEAP_SIZE / 1024);
}
