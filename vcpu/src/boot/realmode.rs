//! Real mode: a flat image and a CS:IP, the way a processor leaves reset (SDM Vol. 3A,
//! 10.1 "Initialization Overview" and Table 10-1; APM Vol. 2, 14.1 "Processor
//! Initialization" and Table 14-1).
//!
//! # Placement
//!
//! The image is copied byte for byte to its load address. By default that is
//! `0x10_0000 - len`, so the image ends at 1 MiB the way a BIOS ROM does and its last 16
//! bytes hold the reset vector at 0xFFFF0; a configured load address puts it anywhere
//! else, as long as it ends at or below 1 MiB (real mode cannot reach further without
//! A20 tricks). The image may lie in the legacy hole 640 KiB to 1 MiB: that is where
//! firmware lives. It may not overlap a reserved region of the layout. Nothing else is
//! written: no interrupt table, no BIOS data area.
//!
//! # Entry state
//!
//! The reset state ([`GuestState::reset`]) with CS:IP = F000:FFF0 or the configured
//! entry, and CS.base = CS * 16. At a real reset CS.base is 0xFFFF_0000, so the first
//! fetch comes from 16 bytes below 4 GiB, where the chipset aliases the BIOS ROM until
//! the first far jump reloads CS. A partition's guest-physical memory is exactly its RAM
//! plus emulated MMIO, with no ROM alias at the top of 4 GiB, so the image is not mirrored
//! there; starting with CS.base = 0xF0000 gives a ROM image the same addresses it sees
//! after its first far jump (`jmp F000:E05B` in a PC BIOS). The entry must lie inside
//! the image.

use super::error::{BootError, Item};
use super::layout::{MemoryLayout, PhysRange};
use super::place::Placer;
use super::{BootImages, Prepared};
use crate::memory::GuestMemory;
use crate::state::GuestState;

/// The top of real-mode reach: 1 MiB.
pub const REAL_MODE_LIMIT: u64 = 0x10_0000;

/// A real-mode CS:IP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Entry {
    /// Code segment.
    pub cs: u16,
    /// Instruction pointer.
    pub ip: u16,
}

impl Entry {
    /// F000:FFF0, the reset vector.
    pub const RESET: Entry = Entry {
        cs: 0xF000,
        ip: 0xFFF0,
    };

    /// The linear address, `cs * 16 + ip`.
    pub const fn linear(self) -> u64 {
        // At most 0xFFFF0 + 0xFFFF: no wrap.
        ((self.cs as u64) << 4).wrapping_add(self.ip as u64)
    }
}

/// Where the image goes and where it starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Options {
    /// The load address; `None` means the image ends at 1 MiB.
    pub load_address: Option<u32>,
    /// The entry point; `None` means [`Entry::RESET`].
    pub entry: Option<Entry>,
}

/// Places a real-mode image and returns its entry state.
pub fn prepare<M: GuestMemory + ?Sized>(
    memory: &mut M,
    images: &BootImages<'_>,
    layout: &MemoryLayout,
    options: &Options,
) -> Result<Prepared, BootError> {
    const PROTOCOL: &str = "realmode";
    if !images.cmdline.is_empty() {
        return Err(BootError::UnexpectedInput {
            protocol: PROTOCOL,
            what: "command line",
        });
    }
    if images.initrd.is_some() {
        return Err(BootError::UnexpectedInput {
            protocol: PROTOCOL,
            what: "initrd",
        });
    }
    if !images.modules.is_empty() {
        return Err(BootError::UnexpectedInput {
            protocol: PROTOCOL,
            what: "boot modules",
        });
    }
    let image = images.kernel;
    if image.is_empty() {
        return Err(BootError::NotRecognized("the real-mode image is empty"));
    }
    let len = image.len() as u64;
    let load = match options.load_address {
        Some(address) => u64::from(address),
        None => REAL_MODE_LIMIT.saturating_sub(len),
    };
    let range = PhysRange::from_len(load, len).unwrap_or(PhysRange::new(load, u64::MAX));
    if range.end() > REAL_MODE_LIMIT || range.len() != len {
        return Err(BootError::Unreachable {
            item: Item::Kernel,
            range,
            limit: REAL_MODE_LIMIT,
        });
    }
    let entry = options.entry.unwrap_or(Entry::RESET);
    if !range.contains(entry.linear()) {
        return Err(BootError::EntryOutsideImage {
            entry: entry.linear(),
        });
    }
    let mut placer = Placer::new(layout, memory.size(), false)?;
    placer.claim(Item::Kernel, range)?;
    memory.write(load, image)?;
    Ok(Prepared {
        state: GuestState::real_mode(entry.cs, entry.ip),
        placements: placer.into_placements(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boot::MemoryType;
    use crate::boot::test_support::mutations;
    use crate::memory::VecMemory;
    use crate::state::{CpuMode, SegmentAttributes};

    const MIB: u64 = 1 << 20;

    fn rom(len: usize) -> Vec<u8> {
        let mut image: Vec<u8> = (0..len).map(|i| i as u8).collect();
        // The reset vector: jmp far F000:E05B, as a PC BIOS has it.
        let tail = len - 16;
        image[tail..tail + 5].copy_from_slice(&[0xEA, 0x5B, 0xE0, 0x00, 0xF0]);
        image
    }

    /// By default the image ends at 1 MiB like a BIOS ROM, and the guest starts at
    /// F000:FFF0 with CS.base 0xF0000, so the first fetch is the image's last 16 bytes.
    #[test]
    fn bios_style_image_ends_at_one_mib() {
        let image = rom(64 * 1024);
        let mut mem = VecMemory::new(2 * MIB as usize);
        let layout = MemoryLayout::flat(2 * MIB).unwrap();
        let images = BootImages {
            kernel: &image,
            ..BootImages::default()
        };
        let p = prepare(&mut mem, &images, &layout, &Options::default()).unwrap();
        assert_eq!(&mem.as_bytes()[0xF_0000..0x10_0000], &image[..]);
        assert_eq!(
            &mem.as_bytes()[0xF_FFF0..0xF_FFF5],
            &[0xEA, 0x5B, 0xE0, 0x00, 0xF0]
        );
        assert!(
            mem.as_bytes()[..0xF_0000].iter().all(|&b| b == 0),
            "nothing else written"
        );
        let s = &p.state;
        assert_eq!(s.mode(), CpuMode::Real);
        assert_eq!(
            (s.cs.selector, s.cs.base, s.cs.limit),
            (0xF000, 0xF_0000, 0xFFFF)
        );
        assert_eq!(s.cs.attributes, SegmentAttributes::REAL_CODE);
        assert_eq!(s.rip, 0xFFF0);
        assert_eq!(s.cs.base + s.rip, 0xF_FFF0);
        assert_eq!(s.cr0, 0x6000_0010);
        assert_eq!(s.rflags, 2);
        for seg in [s.ds, s.es, s.fs, s.gs, s.ss] {
            assert_eq!((seg.selector, seg.base, seg.limit), (0, 0, 0xFFFF));
        }
        assert_eq!(
            p.placement(Item::Kernel),
            Some(PhysRange::new(0xF_0000, 0x10_0000))
        );
    }

    /// A configured load address and CS:IP are honoured; CS.base follows the selector.
    #[test]
    fn configured_entry() {
        let image = [0xF4u8; 512];
        let mut mem = VecMemory::new(MIB as usize);
        let layout = MemoryLayout::flat(MIB).unwrap();
        let images = BootImages {
            kernel: &image,
            ..BootImages::default()
        };
        let options = Options {
            load_address: Some(0x7C00),
            entry: Some(Entry { cs: 0x07C0, ip: 0 }),
        };
        let p = prepare(&mut mem, &images, &layout, &options).unwrap();
        assert_eq!(&mem.as_bytes()[0x7C00..0x7E00], &image[..]);
        assert_eq!(
            (p.state.cs.selector, p.state.cs.base, p.state.rip),
            (0x07C0, 0x7C00, 0)
        );
    }

    /// Images that reach past 1 MiB, entries outside the image, images over reserved
    /// regions or outside RAM, and inputs real mode has no place for are refused.
    #[test]
    fn refusals() {
        let layout = MemoryLayout::flat(MIB)
            .unwrap()
            .reserve(PhysRange::new(0xE_0000, 0xE_1000), MemoryType::Acpi)
            .unwrap();
        let mut mem = VecMemory::new(MIB as usize);
        let big = vec![0u8; MIB as usize + 1];
        let small = rom(4096);
        let run = |mem: &mut VecMemory, kernel: &[u8], options: Options| {
            let images = BootImages {
                kernel,
                ..BootImages::default()
            };
            prepare(mem, &images, &layout, &options)
        };
        assert!(matches!(
            run(&mut mem, &big, Options::default()),
            Err(BootError::Unreachable { .. })
        ));
        assert!(matches!(
            run(&mut mem, &[], Options::default()),
            Err(BootError::NotRecognized(_))
        ));
        let high = Options {
            load_address: Some(0xF_F800),
            entry: Some(Entry { cs: 0xFF80, ip: 0 }),
        };
        assert!(matches!(
            run(&mut mem, &small, high),
            Err(BootError::Unreachable { .. })
        ));
        let wild = Options {
            load_address: Some(u32::MAX),
            entry: None,
        };
        assert!(matches!(
            run(&mut mem, &small, wild),
            Err(BootError::Unreachable { .. })
        ));
        let elsewhere = Options {
            load_address: Some(0x1000),
            entry: None,
        };
        assert_eq!(
            run(&mut mem, &small, elsewhere),
            Err(BootError::EntryOutsideImage { entry: 0xF_FFF0 })
        );
        let over_acpi = Options {
            load_address: Some(0xD_F800),
            entry: Some(Entry { cs: 0xDF80, ip: 0 }),
        };
        assert!(matches!(
            run(&mut mem, &small, over_acpi),
            Err(BootError::Overlap {
                other: Item::Reserved(MemoryType::Acpi),
                ..
            })
        ));
        let tiny = MemoryLayout::flat(0x8_0000).unwrap();
        let images = BootImages {
            kernel: &small,
            ..BootImages::default()
        };
        assert!(matches!(
            prepare(&mut mem, &images, &tiny, &Options::default()),
            Err(BootError::OutsideRam { .. })
        ));
        let with_cmdline = BootImages {
            kernel: &small,
            cmdline: "quiet",
            ..BootImages::default()
        };
        assert!(matches!(
            prepare(&mut mem, &with_cmdline, &layout, &Options::default()),
            Err(BootError::UnexpectedInput {
                what: "command line",
                ..
            })
        ));
        let with_initrd = BootImages {
            kernel: &small,
            initrd: Some(&[1]),
            ..BootImages::default()
        };
        assert!(prepare(&mut mem, &with_initrd, &layout, &Options::default()).is_err());
    }

    /// Mutated images and random options never panic.
    #[test]
    fn mutated_images_never_panic() {
        let image = rom(4096);
        let layout = MemoryLayout::flat(MIB).unwrap();
        let mut mem = VecMemory::new(MIB as usize);
        let mut rng = crate::boot::test_support::Rng::new(7);
        mutations(0x5EA1, &image, 4096, 500, |m| {
            let options = Options {
                load_address: (rng.below(2) == 0).then(|| rng.next() as u32 & 0x1F_FFFF),
                entry: (rng.below(2) == 0).then(|| Entry {
                    cs: rng.next() as u16,
                    ip: rng.next() as u16,
                }),
            };
            let images = BootImages {
                kernel: m,
                ..BootImages::default()
            };
            let _ = prepare(&mut mem, &images, &layout, &options);
        });
    }
}
