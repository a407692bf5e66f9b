use super::header::header_flags;
use super::info::{info_flags, offset};
use super::*;
use crate::boot::test_support::{ElfBuilder, cstr, multiboot_header, mutations, rd32, rd64};
use crate::boot::{MemoryType, Module};
use crate::memory::VecMemory;
use crate::state::{CpuMode, SegmentAttributes, boot_selectors, cr0};

const MIB: u64 = 1 << 20;

fn layout(size: u64) -> MemoryLayout {
    MemoryLayout::flat(size)
        .unwrap()
        .reserve(PhysRange::new(0xE_0000, 0xE_2000), MemoryType::Acpi)
        .unwrap()
}

/// Memory full of 0xAA, so that zero-filling is visible.
fn dirty_memory(size: u64) -> VecMemory {
    let mut m = VecMemory::new(size as usize);
    m.write(0, &vec![0xAA; size as usize]).unwrap();
    m
}

/// An ELF32 Multiboot kernel: one PT_LOAD of 0x100 file bytes and 0x1000 bytes in
/// memory at 1 MiB, entry 0x100010.
fn elf_kernel() -> Vec<u8> {
    let code: Vec<u8> = (0..0x100u32).map(|i| i as u8).collect();
    ElfBuilder::elf32(0x10_0010)
        .blob(multiboot_header(
            header_flags::PAGE_ALIGN | header_flags::MEMORY_INFO,
            None,
        ))
        .segment(0x10_0000, 0x10_0000, &code, 0x1000)
        .build()
}

/// A flat a.out-kludge kernel: the header at file offset 0x20 describes a load to
/// 0x200000 with 0x800 bytes of bss and entry 0x200040.
fn aout_kernel() -> Vec<u8> {
    let mut image: Vec<u8> = (0..0x300u32).map(|i| (i * 7) as u8).collect();
    let len = image.len() as u32;
    let h = multiboot_header(
        header_flags::ADDRESS_FIELDS | header_flags::PAGE_ALIGN,
        Some([
            0x20_0020,
            0x20_0000,
            0x20_0000 + len,
            0x20_0000 + len + 0x800,
            0x20_0040,
        ]),
    );
    image[0x20..0x20 + h.len()].copy_from_slice(&h);
    image
}

/// Section 3.2's machine state and 3.3's information structure, byte for byte: flags,
/// memory sizes, the memory map with the ACPI region as type 3 and the legacy hole left
/// out, the module list with page-aligned modules after the kernel's bss, the strings.
#[test]
fn elf_kernel_with_modules() {
    let kernel = elf_kernel();
    let mod0 = b"first module".to_vec();
    let mod1 = vec![0x5A; 5000];
    let modules = [
        Module {
            image: &mod0,
            cmdline: "mod0 arg",
        },
        Module {
            image: &mod1,
            cmdline: "",
        },
    ];
    let images = BootImages {
        kernel: &kernel,
        cmdline: "console=ttyS0 quiet",
        modules: &modules,
        ..BootImages::default()
    };
    let mut mem = dirty_memory(32 * MIB);
    let p = prepare(&mut mem, &images, &layout(32 * MIB)).unwrap();
    let s = &p.state;

    // Entry state (3.2).
    assert_eq!(s.gprs.rax, 0x2BAD_B002);
    assert_eq!(s.rip, 0x10_0010);
    assert_eq!(s.mode(), CpuMode::Protected);
    assert_eq!(s.code_bits(), 32);
    assert_eq!(s.cr0 & (cr0::PE | cr0::PG), cr0::PE);
    assert_eq!(s.rflags, 2);
    assert_eq!((s.cs.base, s.cs.limit), (0, 0xFFFF_FFFF));
    assert_eq!(s.cs.attributes, SegmentAttributes::CODE32);
    for seg in [s.ds, s.es, s.fs, s.gs, s.ss] {
        assert_eq!((seg.base, seg.limit), (0, 0xFFFF_FFFF));
        assert_eq!(seg.attributes, SegmentAttributes::DATA32);
    }

    // The kernel: file bytes, then zeros to p_memsz.
    assert_eq!(
        &mem.as_bytes()[0x10_0000..0x10_0100],
        &kernel[kernel.len() - 0x100..]
    );
    assert!(mem.as_bytes()[0x10_0100..0x10_1000].iter().all(|&b| b == 0));

    // The GDT the hidden segment state came from, at the start of the boot area.
    assert_eq!(s.gdtr.base, 0x7000);
    assert_eq!(s.gdtr.limit, 0x27);
    assert_eq!(
        rd64(&mem, 0x7000 + u64::from(boot_selectors::CODE)),
        0x00CF_9B00_0000_FFFF
    );
    assert_eq!(
        rd64(&mem, 0x7000 + u64::from(boot_selectors::DATA)),
        0x00CF_9300_0000_FFFF
    );

    // The information structure.
    let info = s.gprs.rbx;
    assert_eq!(info, 0x7030);
    let flags = rd32(&mem, info);
    assert_eq!(flags, 0x24D);
    assert_eq!(
        flags,
        info_flags::MEMORY
            | info_flags::CMDLINE
            | info_flags::MODS
            | info_flags::MMAP
            | info_flags::LOADER_NAME
    );
    assert_eq!(rd32(&mem, info + offset::MEM_LOWER as u64), 640);
    assert_eq!(rd32(&mem, info + offset::MEM_UPPER as u64), 31 * 1024);
    for unused in [
        12u64, 28, 32, 36, 40, 52, 56, 60, 68, 72, 76, 80, 84, 88, 96, 112,
    ] {
        assert_eq!(rd32(&mem, info + unused), 0, "field at {unused}");
    }
    assert_eq!(
        cstr(&mem, rd32(&mem, info + offset::CMDLINE as u64).into()),
        "console=ttyS0 quiet"
    );
    assert_eq!(
        cstr(&mem, rd32(&mem, info + offset::LOADER_NAME as u64).into()),
        "Bulkhead"
    );

    // The memory map: usable RAM, the ACPI tables as type 3, no legacy hole.
    let mmap_len = rd32(&mem, info + offset::MMAP_LENGTH as u64);
    let mmap = u64::from(rd32(&mem, info + offset::MMAP_ADDR as u64));
    assert_eq!(mmap_len, 3 * 24);
    let entries: Vec<(u32, u64, u64, u32)> = (0..3)
        .map(|i| {
            let e = mmap + i * 24;
            (
                rd32(&mem, e),
                rd64(&mem, e + 4),
                rd64(&mem, e + 12),
                rd32(&mem, e + 20),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            (20, 0, 0xA_0000, 1),
            (20, 0xE_0000, 0x2000, 3),
            (20, MIB, 31 * MIB, 1),
        ]
    );

    // Modules: page aligned from the end of the kernel's bss, in order.
    assert_eq!(rd32(&mem, info + offset::MODS_COUNT as u64), 2);
    let list = u64::from(rd32(&mem, info + offset::MODS_ADDR as u64));
    let m0 = (
        rd32(&mem, list),
        rd32(&mem, list + 4),
        rd32(&mem, list + 8),
        rd32(&mem, list + 12),
    );
    let m1 = (
        rd32(&mem, list + 16),
        rd32(&mem, list + 20),
        rd32(&mem, list + 24),
    );
    assert_eq!(
        (m0.0, m0.1, m0.3),
        (0x10_1000, 0x10_1000 + mod0.len() as u32, 0)
    );
    assert_eq!((m1.0, m1.1), (0x10_2000, 0x10_2000 + 5000));
    assert_eq!(cstr(&mem, m0.2.into()), "mod0 arg");
    assert_eq!(cstr(&mem, m1.2.into()), "");
    assert_eq!(
        &mem.as_bytes()[0x10_1000..0x10_1000 + mod0.len()],
        &mod0[..]
    );
    assert_eq!(&mem.as_bytes()[0x10_2000..0x10_2000 + 5000], &mod1[..]);

    // Everything placed is listed.
    assert_eq!(
        p.placement(Item::KernelSegment(0)),
        Some(PhysRange::new(0x10_0000, 0x10_1000))
    );
    assert_eq!(
        p.placement(Item::Module(1)),
        Some(PhysRange::new(0x10_2000, 0x10_2000 + 5000))
    );
    assert_eq!(
        p.placement(Item::MultibootInfo),
        Some(PhysRange::new(0x7030, 0x7030 + 116))
    );
}

/// With no modules, `mods_count` is 0 and `mods_addr` 0; the flag still says the fields
/// are valid.
#[test]
fn no_modules() {
    let kernel = elf_kernel();
    let images = BootImages {
        kernel: &kernel,
        ..BootImages::default()
    };
    let mut mem = VecMemory::new(8 * MIB as usize);
    let p = prepare(&mut mem, &images, &layout(8 * MIB)).unwrap();
    let info = p.state.gprs.rbx;
    assert_eq!(rd32(&mem, info + offset::MODS_COUNT as u64), 0);
    assert_eq!(rd32(&mem, info + offset::MODS_ADDR as u64), 0);
    assert_eq!(
        cstr(&mem, rd32(&mem, info + offset::CMDLINE as u64).into()),
        ""
    );
    assert_eq!(rd32(&mem, info + offset::MEM_UPPER as u64), 7 * 1024);
}

/// A kernel linked high (p_vaddr 0xC0100000, p_paddr 1 MiB) is loaded at its physical
/// address and entered at the physical alias of e_entry.
#[test]
fn high_linked_elf_entry_is_translated() {
    let kernel = ElfBuilder::elf32(0xC010_0020)
        .blob(multiboot_header(0, None))
        .segment(0x10_0000, 0xC010_0000, &[0x90; 64], 64)
        .build();
    let images = BootImages {
        kernel: &kernel,
        ..BootImages::default()
    };
    let mut mem = VecMemory::new(4 * MIB as usize);
    let p = prepare(&mut mem, &images, &layout(4 * MIB)).unwrap();
    assert_eq!(p.state.rip, 0x10_0020);
}

/// The a.out kludge (3.1.3): the file is loaded from header offset - (header_addr -
/// load_addr), bss zeroed to bss_end_addr, entry at entry_addr; modules follow the bss.
#[test]
fn address_fields_load_flat() {
    let kernel = aout_kernel();
    let module = [1u8, 2, 3];
    let modules = [Module {
        image: &module,
        cmdline: "m",
    }];
    let images = BootImages {
        kernel: &kernel,
        modules: &modules,
        ..BootImages::default()
    };
    let mut mem = dirty_memory(8 * MIB);
    let p = prepare(&mut mem, &images, &layout(8 * MIB)).unwrap();
    assert_eq!(&mem.as_bytes()[0x20_0000..0x20_0300], &kernel[..]);
    assert!(mem.as_bytes()[0x20_0300..0x20_0B00].iter().all(|&b| b == 0));
    assert_eq!(p.state.rip, 0x20_0040);
    assert_eq!(
        p.placement(Item::Kernel),
        Some(PhysRange::new(0x20_0000, 0x20_0B00))
    );
    assert_eq!(
        p.placement(Item::Module(0)),
        Some(PhysRange::new(0x20_1000, 0x20_1003))
    );

    // load_end_addr = 0: the rest of the file.
    let mut whole = kernel.clone();
    let h = multiboot_header(
        header_flags::ADDRESS_FIELDS,
        Some([0x20_0020, 0x20_0000, 0, 0, 0x20_0040]),
    );
    whole[0x20..0x20 + h.len()].copy_from_slice(&h);
    let images = BootImages {
        kernel: &whole,
        ..BootImages::default()
    };
    let p = prepare(&mut mem, &images, &layout(8 * MIB)).unwrap();
    assert_eq!(
        p.placement(Item::Kernel),
        Some(PhysRange::new(0x20_0000, 0x20_0300))
    );
}

fn refuse(kernel: &[u8]) -> BootError {
    let images = BootImages {
        kernel,
        ..BootImages::default()
    };
    let mut mem = VecMemory::new(8 * MIB as usize);
    prepare(&mut mem, &images, &layout(8 * MIB)).unwrap_err()
}

fn aout_with(fields: [u32; 5], len: usize) -> Vec<u8> {
    let mut image = vec![0u8; len];
    let h = multiboot_header(header_flags::ADDRESS_FIELDS, Some(fields));
    image[0x20..0x20 + h.len()].copy_from_slice(&h);
    image
}

/// Malformed headers and a.out-kludge fields are refused with what is wrong.
#[test]
fn malformed_headers() {
    assert!(matches!(refuse(&[0; 100]), BootError::NotRecognized(_)));
    let mut bad = elf_kernel();
    let at = ElfBuilder::elf32(0).segment(0, 0, &[], 0).blob_offset();
    bad[at + 8] ^= 0xFF;
    assert!(matches!(refuse(&bad), BootError::BadChecksum { .. }));
    let video = ElfBuilder::elf32(0x10_0000)
        .blob(multiboot_header(header_flags::VIDEO_MODE, None))
        .segment(0x10_0000, 0x10_0000, &[0], 1)
        .build();
    assert_eq!(refuse(&video), BootError::UnsupportedFlags { flags: 4 });

    // load_addr above header_addr.
    let e = refuse(&aout_with([0x20_0000, 0x20_0020, 0, 0, 0x20_0020], 0x100));
    assert!(matches!(e, BootError::Malformed { .. }), "{e}");
    // header_addr - load_addr reaches before the file.
    let e = refuse(&aout_with([0x20_1000, 0x20_0000, 0, 0, 0x20_0000], 0x100));
    assert!(matches!(e, BootError::Malformed { .. }), "{e}");
    // load_end_addr below load_addr.
    let e = refuse(&aout_with(
        [0x20_0020, 0x20_0000, 0x1F_0000, 0, 0x20_0000],
        0x100,
    ));
    assert!(matches!(e, BootError::Malformed { .. }), "{e}");
    // load_end_addr past the end of the file.
    let e = refuse(&aout_with(
        [0x20_0020, 0x20_0000, 0x20_1000, 0, 0x20_0000],
        0x100,
    ));
    assert!(matches!(e, BootError::Truncated { .. }), "{e}");
    // bss_end_addr below load_end_addr.
    let e = refuse(&aout_with(
        [0x20_0020, 0x20_0000, 0x20_0100, 0x20_0080, 0x20_0000],
        0x100,
    ));
    assert!(matches!(e, BootError::Malformed { .. }), "{e}");
    // entry outside the loaded bytes.
    let e = refuse(&aout_with([0x20_0020, 0x20_0000, 0, 0, 0x30_0000], 0x100));
    assert_eq!(e, BootError::EntryOutsideImage { entry: 0x30_0000 });
    // a huge bss past RAM.
    let e = refuse(&aout_with(
        [0x20_0020, 0x20_0000, 0, 0xFFFF_FFFF, 0x20_0000],
        0x100,
    ));
    assert!(matches!(e, BootError::OutsideRam { .. }), "{e}");
    // loading over the boot structure area.
    let e = refuse(&aout_with([0x8020, 0x8000, 0, 0, 0x8000], 0x100));
    assert!(
        matches!(
            e,
            BootError::Overlap {
                other: Item::BootArea,
                ..
            }
        ),
        "{e}"
    );
}

/// Malformed or misplaced ELF kernels are refused with what is wrong.
#[test]
fn malformed_elf() {
    let mb = || multiboot_header(0, None);
    let elf64 = ElfBuilder::elf64(0x10_0000)
        .blob(mb())
        .segment(0x10_0000, 0x10_0000, &[0], 1)
        .build();
    assert!(matches!(refuse(&elf64), BootError::Unsupported(_)));
    let mut arm = elf_kernel();
    arm[18] = 40;
    assert!(matches!(refuse(&arm), BootError::Malformed { .. }));
    let seg = |paddr: u64, data: &[u8], memsz: u64, entry: u64| {
        ElfBuilder::elf32(entry)
            .blob(mb())
            .segment(paddr, paddr, data, memsz)
            .build()
    };
    let e = refuse(&seg(0x7F_F000, &[0; 16], 0x2000, 0x7F_F000));
    assert!(matches!(e, BootError::OutsideRam { .. }), "{e}");
    let e = refuse(&seg(0xB_8000, &[0; 16], 16, 0xB_8000));
    assert!(
        matches!(
            e,
            BootError::Overlap {
                other: Item::LegacyHole,
                ..
            }
        ),
        "{e}"
    );
    let e = refuse(&seg(0xE_1000, &[0; 16], 16, 0xE_1000));
    assert!(
        matches!(
            e,
            BootError::Overlap {
                other: Item::Reserved(MemoryType::Acpi),
                ..
            }
        ),
        "{e}"
    );
    let e = refuse(&seg(0x9000, &[0; 16], 16, 0x9000));
    assert!(
        matches!(
            e,
            BootError::Overlap {
                other: Item::BootArea,
                ..
            }
        ),
        "{e}"
    );
    let e = refuse(&seg(0x10_0000, &[0; 16], 16, 0x20_0000));
    assert_eq!(e, BootError::EntryOutsideImage { entry: 0x20_0000 });
    let e = refuse(&seg(0xFFFF_F000, &[0; 16], 0x2000, 0xFFFF_F000));
    assert!(matches!(e, BootError::Unreachable { .. }), "{e}");

    let mut filesz = elf_kernel();
    // p_filesz (ELF32 phdr at 52, field at +16) larger than p_memsz.
    filesz[52 + 16..52 + 20].copy_from_slice(&0x2000u32.to_le_bytes());
    let e = refuse(&filesz);
    assert!(
        matches!(
            e,
            BootError::BadSegment { .. } | BootError::TruncatedSegment { .. }
        ),
        "{e}"
    );
    let mut offset = elf_kernel();
    offset[52 + 4..52 + 8].copy_from_slice(&0xFFFF_FF00u32.to_le_bytes());
    assert!(matches!(
        refuse(&offset),
        BootError::TruncatedSegment { index: 0, .. }
    ));
    let none = ElfBuilder::elf32(0).blob(mb()).build();
    assert!(matches!(refuse(&none), BootError::NotRecognized(_)));
}

/// Inputs with no place in the protocol, strings that would be cut short, modules too
/// large for RAM and a boot area too small are refused.
#[test]
fn refused_inputs() {
    let kernel = elf_kernel();
    let mut mem = VecMemory::new(8 * MIB as usize);
    let l = layout(8 * MIB);
    let initrd = BootImages {
        kernel: &kernel,
        initrd: Some(&[1]),
        ..BootImages::default()
    };
    assert!(matches!(
        prepare(&mut mem, &initrd, &l),
        Err(BootError::UnexpectedInput { .. })
    ));
    let nul = BootImages {
        kernel: &kernel,
        cmdline: "a\0b",
        ..BootImages::default()
    };
    assert_eq!(
        prepare(&mut mem, &nul, &l),
        Err(BootError::EmbeddedNul {
            item: Item::CommandLine
        })
    );
    let huge = vec![0u8; 8 * MIB as usize];
    let modules = [Module {
        image: &huge,
        cmdline: "",
    }];
    let too_big = BootImages {
        kernel: &kernel,
        modules: &modules,
        ..BootImages::default()
    };
    assert!(matches!(
        prepare(&mut mem, &too_big, &l),
        Err(BootError::NoRoom {
            item: Item::Module(0),
            ..
        })
    ));
    let long = "x".repeat(0x1000);
    let small_area = l.clone().with_boot_area(PhysRange::new(0x7000, 0x7800));
    let long_cmdline = BootImages {
        kernel: &kernel,
        cmdline: &long,
        ..BootImages::default()
    };
    assert!(matches!(
        prepare(&mut mem, &long_cmdline, &small_area),
        Err(BootError::BootAreaFull {
            item: Item::CommandLine,
            ..
        })
    ));
}

/// Randomly mutated ELF and a.out-kludge kernels never panic the builder.
#[test]
fn mutated_images_never_panic() {
    let l = layout(4 * MIB);
    let mut mem = VecMemory::new(4 * MIB as usize);
    let module = [7u8; 100];
    let modules = [Module {
        image: &module,
        cmdline: "m",
    }];
    for (seed, image) in [(1, elf_kernel()), (2, aout_kernel())] {
        let mut ok = 0;
        mutations(seed, &image, 0x100, 3000, |m| {
            let images = BootImages {
                kernel: m,
                cmdline: "c",
                modules: &modules,
                ..BootImages::default()
            };
            ok += usize::from(prepare(&mut mem, &images, &l).is_ok());
        });
        assert!(ok > 0, "some mutations still boot");
    }
}
