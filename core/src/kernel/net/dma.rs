//! Memory a NIC reads and writes behind the CPU's back: descriptor rings and
//! packet buffers.
//!
//! The frame allocator hands out identity-mapped RAM below 4 GiB, so the
//! address the CPU uses is the one the device is given, and any 32-bit DMA
//! engine reaches it. x86 keeps DMA coherent with the caches, so the only
//! ordering to get right is the compiler's: every access here is volatile or
//! sits behind a compiler fence, and stores become visible to the device in
//! program order (the architecture never reorders a store with an older one).
//!
//! The frame allocator has no way to give memory back; a NIC's rings live as
//! long as the hypervisor, so nothing is lost.

use core::sync::atomic::{Ordering, compiler_fence};

use super::super::frames;

const PAGE: u64 = 4096;

/// A zeroed, physically contiguous block owned by one device.
pub struct DmaBlock {
    base: u64,
    len: usize,
}

impl DmaBlock {
    /// `len` zeroed bytes, page aligned, or `None` when memory is short.
    pub fn new(len: usize) -> Option<DmaBlock> {
        let base = frames::allocate(len as u64, PAGE)?;
        // SAFETY: the frames were just taken from the free set, so nothing
        // else refers to them, and all RAM below 4 GiB is identity mapped.
        unsafe { core::ptr::write_bytes(base as *mut u8, 0, len) };
        Some(DmaBlock { base, len })
    }

    /// The bus address of `offset`, to hand to the device.
    pub fn bus_address(&self, offset: usize) -> u64 {
        assert!(offset < self.len, "DMA offset {offset:#x} out of range");
        self.base + offset as u64
    }

    fn pointer(&self, offset: usize, len: usize) -> *mut u8 {
        assert!(
            offset.checked_add(len).is_some_and(|end| end <= self.len),
            "DMA access {offset:#x}+{len:#x} out of range"
        );
        (self.base as usize + offset) as *mut u8
    }

    /// Reads a `T` the device may have written.
    pub fn read<T: Copy>(&self, offset: usize) -> T {
        let pointer = self.pointer(offset, size_of::<T>()).cast::<T>();
        assert!(pointer.is_aligned(), "misaligned DMA read");
        // SAFETY: in bounds and aligned (checked above), identity-mapped RAM
        // owned by this block; volatile because the device writes it.
        let value = unsafe { pointer.read_volatile() };
        compiler_fence(Ordering::Acquire);
        value
    }

    /// Writes a `T` for the device to read.
    pub fn write<T: Copy>(&self, offset: usize, value: T) {
        let pointer = self.pointer(offset, size_of::<T>()).cast::<T>();
        assert!(pointer.is_aligned(), "misaligned DMA write");
        compiler_fence(Ordering::Release);
        // SAFETY: as in `read`.
        unsafe { pointer.write_volatile(value) };
    }

    /// Copies bytes the device wrote (a received frame) out of the block.
    pub fn copy_out(&self, offset: usize, into: &mut [u8]) {
        let source = self.pointer(offset, into.len());
        compiler_fence(Ordering::Acquire);
        // SAFETY: the source range is in bounds (checked above) and the
        // device is done with it (its descriptor said so); `into` is a
        // distinct Rust buffer, so the two cannot overlap.
        unsafe { core::ptr::copy_nonoverlapping(source, into.as_mut_ptr(), into.len()) };
    }

    /// Copies bytes into the block for the device to read (a frame to send).
    pub fn copy_in(&self, offset: usize, from: &[u8]) {
        let target = self.pointer(offset, from.len());
        // SAFETY: as in `copy_out`; the device does not read this range
        // until a later descriptor write hands it over.
        unsafe { core::ptr::copy_nonoverlapping(from.as_ptr(), target, from.len()) };
        compiler_fence(Ordering::Release);
    }
}
