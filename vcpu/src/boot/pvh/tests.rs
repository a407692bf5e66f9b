use super::start_info::{START_INFO_VERSION, offset};
use super::*;
use crate::boot::test_support::{ElfBuilder, cstr, mutations, note, rd32, rd64};
use crate::boot::{MemoryType, Module};
use crate::memory::VecMemory;
use crate::state::{CpuMode, SegmentAttributes, cr0};

const MIB: u64 = 1 << 20;

fn layout(size: u64) -> MemoryLayout {
    MemoryLayout::flat(size)
        .unwrap()
        .reserve(PhysRange::new(0xE_0000, 0xE_2000), MemoryType::Acpi)
        .unwrap()
        .reserve(
            PhysRange::new(0xFEC0_0000, 0xFEC0_1000),
            MemoryType::Reserved,
        )
        .unwrap()
        .with_rsdp(0xE_0000)
}

/// A 64-bit kernel laid out like Linux's vmlinux: linked at 0xFFFFFFFF81000000, loaded
/// at 16 MiB, with the PVH entry as an 8-byte note descriptor.
fn vmlinux_like() -> Vec<u8> {
    let mut notes = note(b"GNU\0", 3, &[0xAB; 20]);
    notes.extend(note(b"Xen\0", 6, b"linux\0"));
    notes.extend(note(
        b"Xen\0",
        XEN_ELFNOTE_PHYS32_ENTRY,
        &0x100_0040u64.to_le_bytes(),
    ));
    ElfBuilder::elf64(0xFFFF_FFFF_8100_0000)
        .notes(notes)
        .segment(0x100_0000, 0xFFFF_FFFF_8100_0000, &[0xC3; 0x200], 0x3000)
        .build()
}

/// A 32-bit kernel with a 4-byte entry note.
fn elf32_pvh(entry: u32, paddr: u64) -> Vec<u8> {
    ElfBuilder::elf32(0)
        .notes(note(
            b"Xen\0",
            XEN_ELFNOTE_PHYS32_ENTRY,
            &entry.to_le_bytes(),
        ))
        .segment(paddr, paddr, &[0x90; 16], 16)
        .build()
}

/// pvh.pandoc's entry state and start_info.h's structures, field by field: magic,
/// version 1, the module list with the initrd first, the command lines, the RSDP, and
/// the memory map with E820 types.
#[test]
fn vmlinux_with_initrd_and_module() {
    let kernel = vmlinux_like();
    let initrd = vec![0x11u8; 3000];
    let module = b"module".to_vec();
    let modules = [Module {
        image: &module,
        cmdline: "mod args",
    }];
    let images = BootImages {
        kernel: &kernel,
        cmdline: "console=hvc0 root=/dev/ram0",
        initrd: Some(&initrd),
        modules: &modules,
    };
    let mut mem = VecMemory::new(32 * MIB as usize);
    let p = prepare(&mut mem, &images, &layout(32 * MIB)).unwrap();
    let s = &p.state;

    assert_eq!(s.rip, 0x100_0040);
    assert_eq!(s.mode(), CpuMode::Protected);
    assert_eq!(s.code_bits(), 32);
    assert_eq!(s.cr0, cr0::PE | cr0::ET);
    assert_eq!(s.cr4, 0);
    assert_eq!(s.rflags, 2);
    assert_eq!(
        (s.cs.base, s.cs.limit, s.cs.attributes),
        (0, u32::MAX, SegmentAttributes::CODE32)
    );
    for seg in [s.ds, s.es, s.ss] {
        assert_eq!(
            (seg.base, seg.limit, seg.attributes),
            (0, u32::MAX, SegmentAttributes::DATA32)
        );
    }
    assert_eq!(
        (s.tr.base, s.tr.limit, s.tr.attributes),
        (0, 0x67, SegmentAttributes::TSS_BUSY)
    );

    assert_eq!(&mem.as_bytes()[0x100_0000..0x100_0200], &[0xC3; 0x200][..]);
    assert!(
        mem.as_bytes()[0x100_0200..0x100_3000]
            .iter()
            .all(|&b| b == 0)
    );

    let si = s.gprs.rbx;
    assert_eq!(si, 0x7030, "after the 40-byte GDT at 0x7000");
    assert_eq!(rd32(&mem, si + offset::MAGIC as u64), 0x336E_C578);
    assert_eq!(rd32(&mem, si + offset::VERSION as u64), START_INFO_VERSION);
    assert_eq!(rd32(&mem, si + offset::FLAGS as u64), 0);
    assert_eq!(rd64(&mem, si + offset::RSDP_PADDR as u64), 0xE_0000);
    assert_eq!(rd32(&mem, si + 52), 0, "reserved");
    let cmdline = rd64(&mem, si + offset::CMDLINE_PADDR as u64);
    assert_eq!(cstr(&mem, cmdline), "console=hvc0 root=/dev/ram0");

    let memmap = rd64(&mem, si + offset::MEMMAP_PADDR as u64);
    let n = rd32(&mem, si + offset::MEMMAP_ENTRIES as u64);
    let entries: Vec<(u64, u64, u32, u32)> = (0..u64::from(n))
        .map(|i| {
            let e = memmap + i * 24;
            (
                rd64(&mem, e),
                rd64(&mem, e + 8),
                rd32(&mem, e + 16),
                rd32(&mem, e + 20),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            (0, 0xA_0000, 1, 0),
            (0xE_0000, 0x2000, 3, 0),
            (MIB, 31 * MIB, 1, 0),
            (0xFEC0_0000, 0x1000, 2, 0),
        ]
    );

    assert_eq!(rd32(&mem, si + offset::NR_MODULES as u64), 2);
    let list = rd64(&mem, si + offset::MODLIST_PADDR as u64);
    let initrd_at = rd64(&mem, list);
    assert_eq!(
        initrd_at, 0x100_3000,
        "first page after the kernel's p_memsz"
    );
    assert_eq!(rd64(&mem, list + 8), 3000);
    assert_eq!(rd64(&mem, list + 16), 0, "no command line for the initrd");
    assert_eq!(rd64(&mem, list + 24), 0);
    assert_eq!(
        &mem.as_bytes()[initrd_at as usize..initrd_at as usize + 3000],
        &initrd[..]
    );
    let mod_at = rd64(&mem, list + 32);
    assert_eq!(mod_at, 0x100_4000);
    assert_eq!(rd64(&mem, list + 40), module.len() as u64);
    assert_eq!(cstr(&mem, rd64(&mem, list + 48)), "mod args");
    assert_eq!(
        &mem.as_bytes()[mod_at as usize..mod_at as usize + 6],
        b"module"
    );

    assert_eq!(
        p.placement(Item::Initrd),
        Some(PhysRange::new(0x100_3000, 0x100_3000 + 3000))
    );
    assert_eq!(
        p.placement(Item::StartInfo),
        Some(PhysRange::new(0x7030, 0x7030 + 56))
    );
}

/// With nothing optional, the optional fields are 0 ("not present").
#[test]
fn minimal_elf32() {
    let kernel = elf32_pvh(0x20_0000, 0x20_0000);
    let images = BootImages {
        kernel: &kernel,
        ..BootImages::default()
    };
    let mut mem = VecMemory::new(4 * MIB as usize);
    let p = prepare(&mut mem, &images, &MemoryLayout::flat(4 * MIB).unwrap()).unwrap();
    let si = p.state.gprs.rbx;
    assert_eq!(p.state.rip, 0x20_0000);
    assert_eq!(rd32(&mem, si + offset::NR_MODULES as u64), 0);
    assert_eq!(rd64(&mem, si + offset::MODLIST_PADDR as u64), 0);
    assert_eq!(rd64(&mem, si + offset::CMDLINE_PADDR as u64), 0);
    assert_eq!(rd64(&mem, si + offset::RSDP_PADDR as u64), 0);
    assert_eq!(rd32(&mem, si + offset::MEMMAP_ENTRIES as u64), 2);
}

fn refuse(kernel: &[u8]) -> BootError {
    let images = BootImages {
        kernel,
        ..BootImages::default()
    };
    let mut mem = VecMemory::new(8 * MIB as usize);
    prepare(&mut mem, &images, &layout(8 * MIB)).unwrap_err()
}

/// Kernels without the note, with a malformed note, for another machine, with the entry
/// outside the image or segments out of reach are refused with what is wrong.
#[test]
fn refusals() {
    assert!(matches!(refuse(b"not an elf"), BootError::NotRecognized(_)));
    let no_note = ElfBuilder::elf64(0x10_0000)
        .segment(0x10_0000, 0x10_0000, &[0], 1)
        .build();
    assert!(matches!(refuse(&no_note), BootError::NotRecognized(_)));
    let wrong_owner = ElfBuilder::elf32(0)
        .notes(note(
            b"Xem\0",
            XEN_ELFNOTE_PHYS32_ENTRY,
            &0x10_0000u32.to_le_bytes(),
        ))
        .segment(0x10_0000, 0x10_0000, &[0], 1)
        .build();
    assert!(matches!(refuse(&wrong_owner), BootError::NotRecognized(_)));
    let odd_desc = ElfBuilder::elf32(0)
        .notes(note(b"Xen\0", XEN_ELFNOTE_PHYS32_ENTRY, &[0, 0]))
        .segment(0x10_0000, 0x10_0000, &[0], 1)
        .build();
    assert!(matches!(refuse(&odd_desc), BootError::Malformed { .. }));
    let high_entry = ElfBuilder::elf64(0)
        .notes(note(
            b"Xen\0",
            XEN_ELFNOTE_PHYS32_ENTRY,
            &0x1_0000_0000u64.to_le_bytes(),
        ))
        .segment(0x10_0000, 0x10_0000, &[0], 1)
        .build();
    assert!(matches!(refuse(&high_entry), BootError::Malformed { .. }));
    assert_eq!(
        refuse(&elf32_pvh(0x30_0000, 0x20_0000)),
        BootError::EntryOutsideImage { entry: 0x30_0000 }
    );
    let mut arm = elf32_pvh(0x20_0000, 0x20_0000);
    arm[18] = 40;
    assert!(matches!(refuse(&arm), BootError::Malformed { .. }));
    let above_4g = ElfBuilder::elf64(0)
        .notes(note(
            b"Xen\0",
            XEN_ELFNOTE_PHYS32_ENTRY,
            &0x10_0000u32.to_le_bytes(),
        ))
        .segment(0x1_0000_0000, 0x1_0000_0000, &[0], 1)
        .build();
    assert!(matches!(refuse(&above_4g), BootError::Unreachable { .. }));
    assert!(matches!(
        refuse(&elf32_pvh(0x7F_FFF8, 0x7F_FFF8)),
        BootError::OutsideRam { .. }
    ));
    assert!(matches!(
        refuse(&elf32_pvh(0x9_0000, 0x9_0000)),
        BootError::Overlap {
            other: Item::BootArea,
            ..
        }
    ));
    let mut truncated_note = vmlinux_like();
    // The PT_NOTE program header is first: make its p_filesz reach past the file.
    truncated_note[64 + 32..64 + 40].copy_from_slice(&0x10_0000u64.to_le_bytes());
    assert!(matches!(
        refuse(&truncated_note),
        BootError::TruncatedSegment { index: 0, .. }
    ));
}

/// Modules that do not fit, and strings with NULs, are refused.
#[test]
fn refused_inputs() {
    let kernel = elf32_pvh(0x20_0000, 0x20_0000);
    let mut mem = VecMemory::new(4 * MIB as usize);
    let l = MemoryLayout::flat(4 * MIB).unwrap();
    let big = vec![0u8; 2 * MIB as usize];
    let images = BootImages {
        kernel: &kernel,
        initrd: Some(&big),
        ..BootImages::default()
    };
    assert!(matches!(
        prepare(&mut mem, &images, &l),
        Err(BootError::NoRoom {
            item: Item::Initrd,
            ..
        })
    ));
    let modules = [Module {
        image: &[1],
        cmdline: "x\0y",
    }];
    let images = BootImages {
        kernel: &kernel,
        modules: &modules,
        ..BootImages::default()
    };
    assert_eq!(
        prepare(&mut mem, &images, &l),
        Err(BootError::EmbeddedNul {
            item: Item::ModuleCommandLine(0)
        })
    );
}

/// Randomly mutated 64- and 32-bit PVH kernels never panic the builder.
#[test]
fn mutated_images_never_panic() {
    let l = layout(32 * MIB);
    let mut mem = VecMemory::new(32 * MIB as usize);
    let initrd = [3u8; 64];
    for (seed, image) in [(3, vmlinux_like()), (4, elf32_pvh(0x20_0000, 0x20_0000))] {
        let mut ok = 0;
        mutations(seed, &image, 0x180, 3000, |m| {
            let images = BootImages {
                kernel: m,
                cmdline: "c",
                initrd: Some(&initrd),
                ..BootImages::default()
            };
            ok += usize::from(prepare(&mut mem, &images, &l).is_ok());
        });
        assert!(ok > 0, "some mutations still boot");
    }
}
