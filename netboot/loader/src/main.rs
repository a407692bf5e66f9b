//! The Bulkhead loader stage.
//!
//! Entered by a Multiboot loader (QEMU `-kernel`, iPXE, GRUB) in 32-bit mode,
//! it switches to long mode, verifies every entry of the deployment container
//! that follows it in memory, loads the core with hermit-entry's ELF loader
//! (which checks the entry-version note and applies relocations), and jumps
//! into it through `hermit_entry::Entry`. Any failed check prints what failed
//! on COM1 and halts: the loader never jumps into a half-verified image.

#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod boot;
#[cfg(target_os = "none")]
mod entry;
#[cfg(target_os = "none")]
mod heap;
#[cfg(target_os = "none")]
mod phys;
#[cfg(target_os = "none")]
mod serial;

/// On a hosted target there is nothing to run: the loader only exists for bare metal.
#[cfg(not(target_os = "none"))]
fn main() {}

#[cfg(target_os = "none")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    crate::say!("IMAGE REFUSED: loader failure: {info}");
    boot::halt()
}
