use super::header::offset as hdr;
use super::zero_page::offset as zp;
use super::*;
use crate::boot::test_support::{SparseMemory, bytes, cstr, mutations, rd8, rd32, rd64, translate};
use crate::boot::{MemoryType, Module};
use crate::memory::VecMemory;
use crate::state::{CpuMode, SegmentAttributes, boot_selectors, cr0, cr4, efer};

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// A synthetic bzImage: a boot sector and `setup_sects` setup sectors holding a setup
/// header, then a fake protected-mode payload.
#[derive(Clone)]
struct BzImage {
    version: u16,
    loadflags: u8,
    xloadflags: u16,
    setup_sects: u8,
    header_len: u8,
    pref_address: u64,
    init_size: u32,
    kernel_alignment: u32,
    relocatable: bool,
    initrd_addr_max: u32,
    cmdline_size: u32,
    payload_len: usize,
}

impl Default for BzImage {
    fn default() -> Self {
        Self {
            version: 0x020F,
            loadflags: 0x01,
            xloadflags: 0x01,
            setup_sects: 1,
            // The header ends at 0x26C, after kernel_info_offset, as in a 2.15 kernel.
            header_len: 0x6A,
            pref_address: 16 * MIB,
            init_size: 4 * MIB as u32,
            kernel_alignment: 2 * MIB as u32,
            relocatable: true,
            initrd_addr_max: 0x7FFF_FFFF,
            cmdline_size: 0x7FF,
            payload_len: 0x1000,
        }
    }
}

impl BzImage {
    fn build(&self) -> Vec<u8> {
        let setup = (usize::from(self.setup_sects.max(1)) + 1) * 512;
        let mut b = vec![0u8; setup.max(0x300)];
        b.truncate(setup.max(0x290));
        let mut put = |at: u64, data: &[u8]| {
            let at = at as usize;
            b[at..at + data.len()].copy_from_slice(data);
        };
        put(hdr::SETUP_SECTS, &[self.setup_sects]);
        put(0x1FA, &0xFFFFu16.to_le_bytes()); // vid_mode: "normal"
        put(hdr::BOOT_FLAG, &0xAA55u16.to_le_bytes());
        put(hdr::JUMP, &[0xEB, self.header_len]);
        put(hdr::HEADER, b"HdrS");
        put(hdr::VERSION, &self.version.to_le_bytes());
        put(0x20E, &0x3FF0u16.to_le_bytes()); // kernel_version string pointer
        put(hdr::LOADFLAGS, &[self.loadflags]);
        put(0x214, &0x10_0000u32.to_le_bytes()); // code32_start
        put(hdr::INITRD_ADDR_MAX, &self.initrd_addr_max.to_le_bytes());
        put(hdr::KERNEL_ALIGNMENT, &self.kernel_alignment.to_le_bytes());
        put(hdr::RELOCATABLE_KERNEL, &[u8::from(self.relocatable)]);
        put(0x235, &[21]); // min_alignment
        put(hdr::XLOADFLAGS, &self.xloadflags.to_le_bytes());
        put(hdr::CMDLINE_SIZE, &self.cmdline_size.to_le_bytes());
        put(0x248, &0x3B0u32.to_le_bytes()); // payload_offset
        put(0x24C, &0x1234u32.to_le_bytes()); // payload_length
        put(hdr::PREF_ADDRESS, &self.pref_address.to_le_bytes());
        put(hdr::INIT_SIZE, &self.init_size.to_le_bytes());
        put(0x268, &0x4_0000u32.to_le_bytes()); // kernel_info_offset
        b.resize(setup, 0);
        b.extend((0..self.payload_len).map(|i| (i % 251) as u8));
        b
    }
}

fn acpi_layout(size: u64) -> MemoryLayout {
    MemoryLayout::flat(size)
        .unwrap()
        .reserve(PhysRange::new(0xE_0000, 0xE_2000), MemoryType::Acpi)
        .unwrap()
        .with_rsdp(0xE_0000)
}

/// boot.rst's 64-bit protocol end to end: the zero page holds the image's setup header
/// with the loader's fields filled in, the E820 table and the RSDP; the guest enters in
/// long mode at load address + 0x200 with RSI at the zero page, a GDT with __BOOT_CS and
/// __BOOT_DS, and page tables identity-mapping the first 4 GiB.
#[test]
fn bzimage_zero_page_and_entry_state() {
    let bz = BzImage::default();
    let image = bz.build();
    let initrd: Vec<u8> = (0..10_000u32).map(|i| (i * 3) as u8).collect();
    let images = BootImages {
        kernel: &image,
        cmdline: "console=ttyS0 root=/dev/ram0",
        initrd: Some(&initrd),
        ..BootImages::default()
    };
    let mut mem = VecMemory::new(64 * MIB as usize);
    let p = prepare(&mut mem, &images, &acpi_layout(64 * MIB)).unwrap();

    // The kernel at pref_address, with init_size claimed.
    assert_eq!(
        p.placement(Item::Kernel),
        Some(PhysRange::new(16 * MIB, 20 * MIB))
    );
    assert_eq!(bytes(&mem, 16 * MIB, 0x1000), image[0x400..]);
    // The initrd at the top of RAM, page aligned.
    let initrd_at = (64 * MIB - 10_000) & !0xFFF;
    assert_eq!(initrd_at, 0x3FF_D000);
    assert_eq!(bytes(&mem, initrd_at, 10_000), initrd);

    // boot_params.
    let bp = p.state.gprs.rsi;
    assert_eq!(bp, 0x7000);
    let page = bytes(&mem, bp, 4096);
    for off in 0x1F1..0x26C {
        let changed = matches!(off, 0x210 | 0x218..=0x21F | 0x228..=0x22B);
        if !changed {
            assert_eq!(page[off], image[off], "setup header byte {off:#x}");
        }
    }
    assert_eq!(rd8(&mem, bp + hdr::TYPE_OF_LOADER), 0xFF);
    assert_eq!(rd32(&mem, bp + hdr::RAMDISK_IMAGE), initrd_at as u32);
    assert_eq!(rd32(&mem, bp + hdr::RAMDISK_SIZE), 10_000);
    let cmdline = u64::from(rd32(&mem, bp + hdr::CMD_LINE_PTR));
    assert_eq!(cmdline, 0xE030);
    assert_eq!(cstr(&mem, cmdline), "console=ttyS0 root=/dev/ram0");
    assert_eq!(rd32(&mem, bp + zp::EXT_RAMDISK_IMAGE as u64), 0);
    assert_eq!(rd32(&mem, bp + zp::EXT_RAMDISK_SIZE as u64), 0);
    assert_eq!(rd32(&mem, bp + zp::EXT_CMD_LINE_PTR as u64), 0);
    assert_eq!(rd64(&mem, bp + zp::ACPI_RSDP_ADDR as u64), 0xE_0000);
    assert_eq!(rd8(&mem, bp + zp::E820_ENTRIES as u64), 3);
    let e820: Vec<(u64, u64, u32)> = (0..3)
        .map(|i| {
            let e = bp + zp::E820_TABLE as u64 + i * 20;
            (rd64(&mem, e), rd64(&mem, e + 8), rd32(&mem, e + 16))
        })
        .collect();
    assert_eq!(
        e820,
        [(0, 0xA_0000, 1), (0xE_0000, 0x2000, 3), (MIB, 63 * MIB, 1)]
    );
    // Everything else in the zero page is zero.
    for (off, &b) in page.iter().enumerate() {
        let known = matches!(off, 0x070..=0x077 | 0x1E8 | 0x1F1..=0x26B | 0x2D0..=0x30B);
        if !known {
            assert_eq!(b, 0, "boot_params byte {off:#x}");
        }
    }

    // Entry state.
    let s = &p.state;
    assert_eq!(s.mode(), CpuMode::Long64);
    assert_eq!(s.rip, 16 * MIB + 0x200);
    assert_eq!(s.cr0, cr0::PG | cr0::PE | cr0::ET);
    assert_eq!(s.cr4, cr4::PAE);
    assert_eq!(s.efer, efer::LME | efer::LMA);
    assert_eq!(s.rflags, 2);
    assert!(!s.interrupts_enabled());
    let mut others = s.gprs;
    others.rsi = 0;
    assert_eq!(others, Default::default(), "every other register zero");
    assert_eq!(s.cs.selector, 0x10);
    assert_eq!(s.cs.attributes, SegmentAttributes::CODE64);
    for seg in [s.ds, s.es, s.ss, s.fs, s.gs] {
        assert_eq!(seg.selector, 0x18);
        assert_eq!((seg.base, seg.limit), (0, u32::MAX));
        assert_eq!(seg.attributes, SegmentAttributes::DATA32);
    }

    // The GDT: __BOOT_CS and __BOOT_DS flat, plus a 16-byte TSS descriptor.
    assert_eq!((s.gdtr.base, s.gdtr.limit), (0xE000, 47));
    assert_eq!(
        rd64(&mem, 0xE000 + u64::from(boot_selectors::CODE)),
        0x00AF_9B00_0000_FFFF
    );
    assert_eq!(
        rd64(&mem, 0xE000 + u64::from(boot_selectors::DATA)),
        0x00CF_9300_0000_FFFF
    );
    assert_eq!(
        rd64(&mem, 0xE000 + u64::from(boot_selectors::TSS)),
        0x0000_8B00_0000_0067
    );

    // The page tables map 0..4 GiB onto itself, and nothing beyond.
    assert_eq!(s.cr3, 0x8000);
    for va in [
        0,
        0x7000,
        0xE030,
        16 * MIB + 0x200,
        20 * MIB - 1,
        initrd_at,
        3 * GIB + 12345,
        4 * GIB - 1,
    ] {
        assert_eq!(translate(&mem, s.cr3, va), Some(va), "{va:#x}");
    }
    assert_eq!(translate(&mem, s.cr3, 4 * GIB), None);
    assert_eq!(translate(&mem, s.cr3, 512 * GIB), None);

    assert_eq!(
        p.placement(Item::BootParams),
        Some(PhysRange::new(0x7000, 0x8000))
    );
    assert_eq!(
        p.placement(Item::PageTables),
        Some(PhysRange::new(0x8000, 0xE000))
    );
    assert_eq!(
        p.placement(Item::Initrd),
        Some(PhysRange::new(initrd_at, initrd_at + 10_000))
    );
}

/// Without an initrd or command line the fields say so: ramdisk 0, an empty string.
#[test]
fn no_initrd_no_cmdline() {
    let image = BzImage::default().build();
    let images = BootImages {
        kernel: &image,
        initrd: Some(&[]),
        ..BootImages::default()
    };
    let mut mem = VecMemory::new(32 * MIB as usize);
    let p = prepare(&mut mem, &images, &MemoryLayout::flat(32 * MIB).unwrap()).unwrap();
    let bp = p.state.gprs.rsi;
    assert_eq!(rd32(&mem, bp + hdr::RAMDISK_IMAGE), 0);
    assert_eq!(rd32(&mem, bp + hdr::RAMDISK_SIZE), 0);
    assert_eq!(cstr(&mem, rd32(&mem, bp + hdr::CMD_LINE_PTR).into()), "");
    assert_eq!(rd64(&mem, bp + zp::ACPI_RSDP_ADDR as u64), 0);
    assert_eq!(p.placement(Item::Initrd), None);
}

/// A relocatable kernel whose preferred range is taken moves up to the next
/// kernel_alignment boundary where init_size fits; one that is not relocatable is refused.
#[test]
fn relocation() {
    let layout = MemoryLayout::flat(64 * MIB)
        .unwrap()
        .reserve(PhysRange::new(16 * MIB, 17 * MIB), MemoryType::AcpiNvs)
        .unwrap();
    let image = BzImage::default().build();
    let images = BootImages {
        kernel: &image,
        ..BootImages::default()
    };
    let mut mem = VecMemory::new(64 * MIB as usize);
    let p = prepare(&mut mem, &images, &layout).unwrap();
    assert_eq!(
        p.placement(Item::Kernel),
        Some(PhysRange::new(18 * MIB, 22 * MIB))
    );
    assert_eq!(p.state.rip, 18 * MIB + 0x200);

    let fixed = BzImage {
        relocatable: false,
        ..BzImage::default()
    }
    .build();
    let images = BootImages {
        kernel: &fixed,
        ..BootImages::default()
    };
    assert!(matches!(
        prepare(&mut mem, &images, &layout),
        Err(BootError::Overlap {
            item: Item::Kernel,
            other: Item::Reserved(MemoryType::AcpiNvs),
            ..
        })
    ));
    // A fixed kernel in RAM too small for its init_size.
    let small = MemoryLayout::flat(18 * MIB).unwrap();
    assert!(matches!(
        prepare(&mut mem, &images, &small),
        Err(BootError::OutsideRam {
            item: Item::Kernel,
            ..
        })
    ));
}

/// The initrd stays at or below initrd_addr_max unless XLF_CAN_BE_LOADED_ABOVE_4G lets
/// it go to the top of RAM above 4 GiB; the high halves land in ext_ramdisk_image.
#[test]
fn initrd_limits() {
    let initrd = vec![9u8; 5000];
    let capped = BzImage {
        initrd_addr_max: 32 * MIB as u32 - 1,
        ..BzImage::default()
    }
    .build();
    let images = BootImages {
        kernel: &capped,
        initrd: Some(&initrd),
        ..BootImages::default()
    };
    let mut mem = VecMemory::new(64 * MIB as usize);
    let p = prepare(&mut mem, &images, &MemoryLayout::flat(64 * MIB).unwrap()).unwrap();
    assert_eq!(
        p.placement(Item::Initrd),
        Some(PhysRange::new(32 * MIB - 0x2000, 32 * MIB - 0x2000 + 5000))
    );

    let split =
        MemoryLayout::new(&[PhysRange::new(0, 3 * GIB), PhysRange::new(4 * GIB, 5 * GIB)]).unwrap();
    let mut sparse = SparseMemory::new(5 * GIB);
    let low_only = BzImage::default().build();
    let images = BootImages {
        kernel: &low_only,
        initrd: Some(&initrd),
        ..BootImages::default()
    };
    let p = prepare(&mut sparse, &images, &split).unwrap();
    assert_eq!(p.placement(Item::Initrd).unwrap().start(), 2 * GIB - 0x2000);

    let above = BzImage {
        xloadflags: xloadflags::KERNEL_64 | xloadflags::CAN_BE_LOADED_ABOVE_4G,
        ..BzImage::default()
    }
    .build();
    let images = BootImages {
        kernel: &above,
        initrd: Some(&initrd),
        ..BootImages::default()
    };
    let mut sparse = SparseMemory::new(5 * GIB);
    let p = prepare(&mut sparse, &images, &split).unwrap();
    let at = 5 * GIB - 0x2000;
    assert_eq!(p.placement(Item::Initrd).unwrap().start(), at);
    let bp = p.state.gprs.rsi;
    assert_eq!(
        rd32(&sparse, bp + hdr::RAMDISK_IMAGE),
        (at & 0xFFFF_FFFF) as u32
    );
    assert_eq!(rd32(&sparse, bp + zp::EXT_RAMDISK_IMAGE as u64), 1);
    assert_eq!(bytes(&sparse, at, 5000), initrd);
    assert_eq!(
        rd8(&sparse, bp + zp::E820_ENTRIES as u64),
        3,
        "low RAM split by the hole"
    );
}

fn refuse_with(bz: &BzImage, images: BootImages<'_>) -> BootError {
    let image = bz.build();
    let images = BootImages {
        kernel: &image,
        ..images
    };
    let mut mem = VecMemory::new(64 * MIB as usize);
    prepare(&mut mem, &images, &MemoryLayout::flat(64 * MIB).unwrap()).unwrap_err()
}

fn refuse(bz: BzImage) -> BootError {
    refuse_with(&bz, BootImages::default())
}

/// Images that are not 64-bit bzImages, or whose header contradicts itself, are refused
/// with the reason.
#[test]
fn malformed_images() {
    let e = refuse(BzImage {
        version: 0x020A,
        ..BzImage::default()
    });
    assert_eq!(e, BootError::ProtocolTooOld { found: 0x020A });
    assert!(e.to_string().contains("2.10"), "{e}");
    assert!(matches!(
        refuse(BzImage {
            loadflags: 0,
            ..BzImage::default()
        }),
        BootError::Unsupported(_)
    ));
    assert!(matches!(
        refuse(BzImage {
            xloadflags: 0,
            ..BzImage::default()
        }),
        BootError::Unsupported(_)
    ));
    assert!(matches!(
        refuse(BzImage {
            header_len: 0xFF,
            ..BzImage::default()
        }),
        BootError::Malformed { .. }
    ));
    assert!(matches!(
        refuse(BzImage {
            header_len: 0x20,
            ..BzImage::default()
        }),
        BootError::Malformed { .. }
    ));
    assert!(matches!(
        refuse(BzImage {
            kernel_alignment: 3 * MIB as u32,
            ..BzImage::default()
        }),
        BootError::Malformed { .. }
    ));
    assert!(matches!(
        refuse(BzImage {
            payload_len: 0,
            ..BzImage::default()
        }),
        BootError::Truncated { .. }
    ));
    assert!(matches!(
        refuse(BzImage {
            init_size: u32::MAX,
            ..BzImage::default()
        }),
        BootError::NoRoom {
            item: Item::Kernel,
            ..
        }
    ));
    assert!(matches!(
        refuse(BzImage {
            pref_address: u64::MAX - 0x1000,
            relocatable: false,
            ..BzImage::default()
        }),
        BootError::Unreachable { .. }
    ));

    let mut setup_past_end = BzImage::default().build();
    setup_past_end[hdr::SETUP_SECTS as usize] = 200;
    let images = BootImages {
        kernel: &setup_past_end,
        ..BootImages::default()
    };
    let mut mem = VecMemory::new(64 * MIB as usize);
    let layout = MemoryLayout::flat(64 * MIB).unwrap();
    assert!(matches!(
        prepare(&mut mem, &images, &layout),
        Err(BootError::Truncated { .. })
    ));

    let mut no_hdrs = BzImage::default().build();
    no_hdrs[0x202] = b'X';
    let images = BootImages {
        kernel: &no_hdrs,
        ..BootImages::default()
    };
    assert!(matches!(
        prepare(&mut mem, &images, &layout),
        Err(BootError::NotRecognized(_))
    ));
    let mut no_flag = BzImage::default().build();
    no_flag[0x1FE] = 0;
    let images = BootImages {
        kernel: &no_flag,
        ..BootImages::default()
    };
    assert!(matches!(
        prepare(&mut mem, &images, &layout),
        Err(BootError::NotRecognized(_))
    ));
    let images = BootImages {
        kernel: &no_flag[..0x100],
        ..BootImages::default()
    };
    assert!(matches!(
        prepare(&mut mem, &images, &layout),
        Err(BootError::Truncated { .. })
    ));
}

/// Inputs the protocol or the kernel cannot take are refused: a command line past
/// cmdline_size or with a NUL, modules, an initrd with no room, a memory map larger than
/// the zero page's table.
#[test]
fn refused_inputs() {
    let bz = BzImage {
        cmdline_size: 8,
        ..BzImage::default()
    };
    let e = refuse_with(
        &bz,
        BootImages {
            cmdline: "123456789",
            ..BootImages::default()
        },
    );
    assert_eq!(e, BootError::CommandLineTooLong { len: 9, max: 8 });
    let ok = refuse_with(
        &bz,
        BootImages {
            cmdline: "12345678",
            initrd: Some(&[0; 128 * MIB as usize]),
            ..BootImages::default()
        },
    );
    assert!(
        matches!(
            ok,
            BootError::NoRoom {
                item: Item::Initrd,
                ..
            }
        ),
        "{ok}"
    );
    let e = refuse_with(
        &BzImage::default(),
        BootImages {
            cmdline: "a\0",
            ..BootImages::default()
        },
    );
    assert!(matches!(e, BootError::EmbeddedNul { .. }));
    let modules = [Module::default()];
    let e = refuse_with(
        &BzImage::default(),
        BootImages {
            modules: &modules,
            ..BootImages::default()
        },
    );
    assert!(matches!(e, BootError::UnexpectedInput { .. }));

    let mut layout = MemoryLayout::flat(64 * MIB).unwrap();
    for i in 0..130 {
        let at = 32 * MIB + i * 0x2000;
        layout = layout
            .reserve(PhysRange::new(at, at + 0x1000), MemoryType::Reserved)
            .unwrap();
    }
    let image = BzImage::default().build();
    let images = BootImages {
        kernel: &image,
        ..BootImages::default()
    };
    let mut mem = VecMemory::new(64 * MIB as usize);
    assert!(matches!(
        prepare(&mut mem, &images, &layout),
        Err(BootError::TooManyMapEntries { max: 128, .. })
    ));
}

/// Randomly mutated bzImages never panic the builder.
#[test]
fn mutated_images_never_panic() {
    let image = BzImage {
        init_size: 0x10_0000,
        pref_address: 4 * MIB,
        ..BzImage::default()
    }
    .build();
    let layout = acpi_layout(16 * MIB);
    let mut mem = VecMemory::new(16 * MIB as usize);
    let initrd = [1u8; 300];
    let mut ok = 0;
    mutations(5, &image, 0x300, 4000, |m| {
        let images = BootImages {
            kernel: m,
            cmdline: "quiet",
            initrd: Some(&initrd),
            ..BootImages::default()
        };
        ok += usize::from(prepare(&mut mem, &images, &layout).is_ok());
    });
    assert!(ok > 0, "some mutations still boot");
}
