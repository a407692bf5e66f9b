//! Access to physical memory under the loader's 4 GiB identity map.

/// The bytes at physical `addr..addr + len`.
///
/// # Safety
/// The range must lie in RAM below 4 GiB (identity-mapped by the entry code)
/// and nothing may write to it while the returned slice is alive.
pub unsafe fn bytes(addr: u64, len: usize) -> &'static [u8] {
    // SAFETY: the caller promises the range is mapped RAM and not written meanwhile.
    unsafe { core::slice::from_raw_parts(addr as *const u8, len) }
}

/// The bytes at physical `addr..addr + len`, for writing.
///
/// # Safety
/// As for [`bytes`], and the range must not be in use by anything else.
pub unsafe fn bytes_mut(addr: u64, len: usize) -> &'static mut [u8] {
    // SAFETY: the caller promises the range is mapped, free RAM used by nobody else.
    unsafe { core::slice::from_raw_parts_mut(addr as *mut u8, len) }
}

/// The physical address of a linker-script symbol.
macro_rules! symbol_address {
    ($name:ident) => {{
        unsafe extern "C" {
            static $name: u8;
        }
        core::ptr::addr_of!($name) as u64
    }};
}
pub(crate) use symbol_address;
