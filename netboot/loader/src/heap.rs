//! A small heap for the hermit-entry ELF loader's bookkeeping.
//!
//! hermit-entry's loader side links `alloc`; the arena is claimed lazily on
//! the first allocation, so no initialisation step can be forgotten.

use spinning_top::RawSpinlock;
use talc::source::Claim;

/// Bytes of arena; the ELF parser allocates little or nothing.
const ARENA_SIZE: usize = 32 * 1024;

static mut ARENA: [u8; ARENA_SIZE] = [0; ARENA_SIZE];

#[global_allocator]
// SAFETY: the arena is a static used by nothing but this allocator.
static ALLOCATOR: talc::TalcLock<RawSpinlock, Claim> =
    talc::TalcLock::new(unsafe { Claim::array(&raw mut ARENA) });
