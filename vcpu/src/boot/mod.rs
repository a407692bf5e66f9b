//! The four guest boot protocols, as pure builders.
//!
//! Each protocol's `prepare` takes the guest images ([`BootImages`]), the partition's
//! memory layout ([`MemoryLayout`]) and its guest memory ([`GuestMemory`]), places the
//! images and the protocol's information structures, and returns the register state the
//! guest starts in ([`Prepared`]). Nothing else is touched: no hardware, no globals.
//!
//! | protocol | module | spec | entry state |
//! |---|---|---|---|
//! | real mode | [`realmode`] | SDM Vol. 3A 10.1 / APM Vol. 2 14.1 (reset state) | CS:IP = F000:FFF0 or configured, CR0.PE = 0 |
//! | Multiboot | [`multiboot`] | Multiboot Specification 0.6.96 | 32-bit flat, EAX = 0x2BADB002, EBX = info |
//! | PVH | [`pvh`] | Xen `docs/misc/pvh.pandoc`, `arch-x86/hvm/start_info.h` | 32-bit flat, EBX = `hvm_start_info` |
//! | Linux | [`linux`] | `Documentation/arch/x86/boot.rst`, `zero-page.rst` | 64-bit, RSI = `boot_params` |
//!
//! # Placement
//!
//! Every range written is claimed first, against the layout's RAM and against everything
//! claimed before (reserved regions, the legacy hole 640 KiB to 1 MiB for the
//! protected-mode protocols, the boot structure area, each kernel segment, each module):
//! a collision is a [`BootError`] naming both parties, never a silent overwrite, and
//! nothing is written until the kernel's placement has been checked. Protocol
//! structures (GDT, information structures, memory map, command lines, page tables) go
//! into the layout's boot structure area, 0x7000..0xA0000 unless configured otherwise,
//! front to back in an order each protocol documents.
//!
//! Guest memory is expected to be zero on entry (fresh, or cleared by the core before a
//! restart): the builders write what they place, and the zeros a segment's bss and the
//! protocol structures need, but do not clear the rest.
//!
//! Every image is untrusted: malformed, truncated or hostile images produce a
//! [`BootError`], never a panic. The tests mutate valid images at random to hold that.

mod bytes;
mod elf;
mod error;
mod gdt;
mod layout;
mod paging;
mod place;
#[cfg(test)]
mod test_support;

pub mod linux;
pub mod multiboot;
pub mod pvh;
pub mod realmode;

use alloc::vec::Vec;

pub use error::{BootError, Item};
pub use layout::{MapEntry, MemoryLayout, MemoryType, PhysRange};

use crate::memory::GuestMemory;
use crate::state::GuestState;

/// The images and strings a guest boots with.
#[derive(Clone, Copy, Debug, Default)]
pub struct BootImages<'a> {
    /// The kernel file: a real-mode image, a Multiboot kernel, a PVH ELF, a bzImage.
    pub kernel: &'a [u8],
    /// The kernel command line (Multiboot, PVH, Linux).
    pub cmdline: &'a str,
    /// The initial ramdisk (PVH, where it becomes the first module; Linux).
    pub initrd: Option<&'a [u8]>,
    /// Boot modules (Multiboot, PVH).
    pub modules: &'a [Module<'a>],
}

/// A boot module.
#[derive(Clone, Copy, Debug, Default)]
pub struct Module<'a> {
    /// Its contents.
    pub image: &'a [u8],
    /// Its command line (the Multiboot module string, the PVH module `cmdline_paddr`).
    pub cmdline: &'a str,
}

/// One thing a builder put in guest memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Placement {
    /// What.
    pub item: Item,
    /// Where.
    pub range: PhysRange,
}

/// A guest ready to run: its initial registers, and where everything went (for the log).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    /// The register state to start the vCPU in.
    pub state: GuestState,
    /// Everything placed in guest memory, in placement order.
    pub placements: Vec<Placement>,
}

impl Prepared {
    /// The first placement of `item`.
    pub fn placement(&self, item: Item) -> Option<PhysRange> {
        self.placements
            .iter()
            .find(|p| p.item == item)
            .map(|p| p.range)
    }
}

/// A boot protocol and its options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// [`realmode`].
    RealMode(realmode::Options),
    /// [`multiboot`].
    Multiboot,
    /// [`pvh`].
    Pvh,
    /// [`linux`].
    Linux,
}

impl Protocol {
    /// The protocol's name in the partition table.
    pub const fn name(&self) -> &'static str {
        match self {
            Protocol::RealMode(_) => "realmode",
            Protocol::Multiboot => "multiboot",
            Protocol::Pvh => "pvh",
            Protocol::Linux => "linux",
        }
    }
}

/// Prepares a guest by `protocol`: see each protocol's module.
pub fn prepare<M: GuestMemory + ?Sized>(
    protocol: &Protocol,
    memory: &mut M,
    images: &BootImages<'_>,
    layout: &MemoryLayout,
) -> Result<Prepared, BootError> {
    match protocol {
        Protocol::RealMode(options) => realmode::prepare(memory, images, layout, options),
        Protocol::Multiboot => multiboot::prepare(memory, images, layout),
        Protocol::Pvh => pvh::prepare(memory, images, layout),
        Protocol::Linux => linux::prepare(memory, images, layout),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::VecMemory;
    use crate::state::CpuMode;

    /// `prepare` hands each protocol to its builder: the same image is a valid real-mode
    /// ROM and nothing the other protocols recognize.
    #[test]
    fn dispatch() {
        let rom = [0xF4u8; 16];
        let images = BootImages {
            kernel: &rom,
            ..BootImages::default()
        };
        let layout = MemoryLayout::flat(2 << 20).unwrap();
        let mut mem = VecMemory::new(2 << 20);
        let real = Protocol::RealMode(realmode::Options::default());
        assert_eq!(real.name(), "realmode");
        let p = prepare(&real, &mut mem, &images, &layout).unwrap();
        assert_eq!(p.state.mode(), CpuMode::Real);
        for protocol in [Protocol::Multiboot, Protocol::Pvh, Protocol::Linux] {
            let e = prepare(&protocol, &mut mem, &images, &layout).unwrap_err();
            assert!(
                matches!(e, BootError::NotRecognized(_) | BootError::Truncated { .. }),
                "{}: {e}",
                protocol.name()
            );
        }
        let as_dyn: &mut dyn GuestMemory = &mut mem;
        assert!(prepare(&real, as_dyn, &images, &layout).is_ok());
    }
}
