//! The Multiboot wrapper: the file QEMU, iPXE and GRUB load.

use proptest::prelude::*;

use super::{pattern, sample};
use crate::Image;
use crate::layout::{IMAGE_BASE, LOADER_BASE, MULTIBOOT_HEADER_OFFSET, payload_address};
use crate::multiboot::{
    MAX_LOADER_SIZE, MULTIBOOT_FLAGS, MULTIBOOT_MAGIC, Placement, WrapError, container_range, wrap,
};

/// One program header of a synthetic loader.
struct Segment {
    p_type: u32,
    vaddr: u64,
    paddr: u64,
    data: Vec<u8>,
    memsz: u64,
}

fn load(vaddr: u64, data: Vec<u8>, memsz: u64) -> Segment {
    Segment {
        p_type: 1,
        vaddr,
        paddr: vaddr,
        data,
        memsz,
    }
}

/// An x86-64 ET_EXEC ELF64 with the given segments; each segment's file bytes are
/// followed by 0xee filler, which must never reach the image.
fn elf64(entry: u64, segments: &[Segment]) -> Vec<u8> {
    let phoff = 64usize;
    let mut data_offset = phoff + 56 * segments.len();
    let mut out = vec![0u8; data_offset];
    out[..8].copy_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
    out[16..18].copy_from_slice(&2u16.to_le_bytes());
    out[18..20].copy_from_slice(&62u16.to_le_bytes());
    out[20..24].copy_from_slice(&1u32.to_le_bytes());
    out[24..32].copy_from_slice(&entry.to_le_bytes());
    out[32..40].copy_from_slice(&(phoff as u64).to_le_bytes());
    out[52..54].copy_from_slice(&64u16.to_le_bytes());
    out[54..56].copy_from_slice(&56u16.to_le_bytes());
    out[56..58].copy_from_slice(&(segments.len() as u16).to_le_bytes());
    for (i, s) in segments.iter().enumerate() {
        let ph = phoff + 56 * i;
        out[ph..ph + 4].copy_from_slice(&s.p_type.to_le_bytes());
        out[ph + 4..ph + 8].copy_from_slice(&7u32.to_le_bytes());
        out[ph + 8..ph + 16].copy_from_slice(&(data_offset as u64).to_le_bytes());
        out[ph + 16..ph + 24].copy_from_slice(&s.vaddr.to_le_bytes());
        out[ph + 24..ph + 32].copy_from_slice(&s.paddr.to_le_bytes());
        out[ph + 32..ph + 40].copy_from_slice(&(s.data.len() as u64).to_le_bytes());
        out[ph + 40..ph + 48].copy_from_slice(&s.memsz.to_le_bytes());
        out[ph + 48..ph + 56].copy_from_slice(&4096u64.to_le_bytes());
        data_offset += s.data.len() + 16;
    }
    for s in segments {
        out.extend_from_slice(&s.data);
        out.extend_from_slice(&[0xee; 16]);
    }
    out
}

/// A two-segment loader: text at LOADER_BASE, data + bss two pages higher.
fn two_segment_loader() -> Vec<u8> {
    let base = u64::from(LOADER_BASE);
    elf64(
        base + 0x10,
        &[
            load(base, pattern(100, 9), 100),
            load(base + 0x2000, vec![0xd0; 16], 0x1800),
        ],
    )
}

fn u32_at(bytes: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap())
}

fn u16_at(bytes: &[u8], offset: usize) -> u16 {
    u16::from_le_bytes(bytes[offset..offset + 2].try_into().unwrap())
}

/// The ELF32 header and its single PT_LOAD map the whole file flat at IMAGE_BASE,
/// with the memory size reaching the page after the container.
#[test]
fn elf32_header_maps_the_file_flat() {
    let container = sample();
    let image = wrap(&two_segment_loader(), &container).unwrap();
    assert_eq!(&image[..7], &[0x7f, b'E', b'L', b'F', 1, 1, 1]);
    assert_eq!(u16_at(&image, 16), 2, "ET_EXEC");
    assert_eq!(u16_at(&image, 18), 3, "EM_386");
    assert_eq!(u32_at(&image, 24), LOADER_BASE + 0x10, "e_entry");
    assert_eq!(u32_at(&image, 28), 52, "e_phoff");
    assert_eq!(u16_at(&image, 42), 32, "e_phentsize");
    assert_eq!(u16_at(&image, 44), 1, "e_phnum");
    assert_eq!(u32_at(&image, 32), 0, "e_shoff");

    let ph = 52;
    let file_len = image.len() as u32;
    let memsz = file_len.next_multiple_of(4096);
    assert_eq!(u32_at(&image, ph), 1, "PT_LOAD");
    assert_eq!(u32_at(&image, ph + 4), 0, "p_offset");
    assert_eq!(u32_at(&image, ph + 8), IMAGE_BASE, "p_vaddr");
    assert_eq!(u32_at(&image, ph + 12), IMAGE_BASE, "p_paddr");
    assert_eq!(u32_at(&image, ph + 16), file_len, "p_filesz");
    assert_eq!(u32_at(&image, ph + 20), memsz, "p_memsz");
    assert_eq!(u32_at(&image, ph + 24), 7, "p_flags RWX");
    assert_eq!(u32_at(&image, ph + 28), 4096, "p_align");
}

/// The Multiboot header asks for page alignment, memory info and flat loading by its
/// address fields, and its checksum makes the three words sum to zero.
#[test]
fn multiboot_header_has_address_fields() {
    let image = wrap(&two_segment_loader(), &sample()).unwrap();
    let mb = MULTIBOOT_HEADER_OFFSET as usize;
    let magic = u32_at(&image, mb);
    let flags = u32_at(&image, mb + 4);
    let checksum = u32_at(&image, mb + 8);
    assert_eq!(magic, 0x1BAD_B002);
    assert_eq!(magic, MULTIBOOT_MAGIC);
    assert_eq!(flags, 0x0001_0003);
    assert_eq!(flags, MULTIBOOT_FLAGS);
    assert_eq!(magic.wrapping_add(flags).wrapping_add(checksum), 0);
    assert_eq!(u32_at(&image, mb + 12), IMAGE_BASE + 0x60, "header_addr");
    assert_eq!(u32_at(&image, mb + 16), IMAGE_BASE, "load_addr");
    assert_eq!(u32_at(&image, mb + 20), 0, "load_end_addr: whole file");
    let memsz = u32_at(&image, 52 + 20);
    assert_eq!(u32_at(&image, mb + 24), IMAGE_BASE + memsz, "bss_end_addr");
    assert_eq!(u32_at(&image, mb + 28), LOADER_BASE + 0x10, "entry_addr");
    // The header must sit in the first 8 KiB, 4-byte aligned (Multiboot 3.1.1).
    assert!(mb + 32 <= 8192 && mb.is_multiple_of(4));
}

/// The loader's segments land at their addresses minus IMAGE_BASE, gaps and bss as
/// zeros, and nothing past a segment's file size is copied.
#[test]
fn loader_memory_image_is_laid_out_by_address() {
    let image = wrap(&two_segment_loader(), &sample()).unwrap();
    assert_eq!(&image[0x1000..0x1000 + 100], &pattern(100, 9)[..]);
    assert!(image[0x1000 + 100..0x3000].iter().all(|&b| b == 0), "gap");
    assert_eq!(&image[0x3000..0x3010], &[0xd0; 16]);
    assert!(image[0x3010..0x4800].iter().all(|&b| b == 0), "bss");
    let container_start = container_range(&image).unwrap().start;
    assert!(
        !image[..container_start].contains(&0xee),
        "filler past p_filesz copied"
    );
}

/// The container starts at payload_address(loader end) and the locator finds it.
#[test]
fn container_follows_the_loader() {
    let container = sample();
    let image = wrap(&two_segment_loader(), &container).unwrap();
    let loader_end = u64::from(LOADER_BASE) + 0x2000 + 0x1800;
    let start = (payload_address(loader_end) - u64::from(IMAGE_BASE)) as usize;
    assert_eq!(start, 0x5000);
    assert!(image[0x4800..start].iter().all(|&b| b == 0));
    assert_eq!(&image[start..], &container[..]);
    assert_eq!(
        container_range(&image),
        Some(start..start + container.len())
    );
    let parsed = Image::parse(&image[start..]).unwrap();
    parsed.verify_all().unwrap();
}

/// A loader ending exactly on a page boundary gets the container right after it; one
/// ending a byte later pushes it a page up.
#[test]
fn payload_address_rounds_up_to_a_page() {
    let base = u64::from(LOADER_BASE);
    for (memsz, start) in [(0x1000, 0x2000), (0x1001, 0x3000), (1, 0x2000)] {
        let loader = elf64(base, &[load(base, vec![0x90], memsz)]);
        let image = wrap(&loader, &sample()).unwrap();
        assert_eq!(
            container_range(&image).unwrap().start,
            start,
            "memsz {memsz:#x}"
        );
    }
    assert_eq!(payload_address(u64::MAX), u64::MAX - 4095);
}

/// A truncated image still has its Multiboot header, so it still boots to the loader;
/// the locator range is cut at the end of the file and parse reports the truncation.
#[test]
fn truncated_image_is_reported_by_the_reader() {
    let container = sample();
    let image = wrap(&two_segment_loader(), &container).unwrap();
    let cut = &image[..image.len() - 100];
    let range = container_range(cut).unwrap();
    assert_eq!(range.end, cut.len());
    assert_eq!(
        Image::parse(&cut[range]).unwrap_err(),
        crate::ImageError::Truncated {
            needed: container.len() as u64,
            available: container.len() as u64 - 100
        }
    );
}

/// Files that are not wrapped images have no container range.
#[test]
fn container_range_rejects_other_files() {
    let image = wrap(&two_segment_loader(), &sample()).unwrap();
    assert_eq!(container_range(&sample()), None);
    assert_eq!(container_range(&two_segment_loader()), None);
    assert_eq!(container_range(&image[..0x70]), None);
    let mut bad = image.clone();
    bad[0x80] ^= 1;
    assert_eq!(container_range(&bad), None);
    let mut bad = image.clone();
    bad[0x60] ^= 1;
    assert_eq!(container_range(&bad), None);
    assert_eq!(container_range(&image[..0x1000]), None);
}

/// Each malformed loader is refused with its own error.
#[test]
fn bad_loaders_are_refused() {
    let base = u64::from(LOADER_BASE);
    let good = || load(base, vec![0x90; 16], 16);
    let c = sample();

    assert_eq!(wrap(b"MZ\x90\x00", &c), Err(WrapError::NotElf));
    assert_eq!(wrap(b"", &c), Err(WrapError::NotElf));

    let mut elf32 = elf64(base, &[good()]);
    elf32[4] = 1;
    assert_eq!(wrap(&elf32, &c), Err(WrapError::NotElf64 { class: 1 }));
    let mut big = elf64(base, &[good()]);
    big[5] = 2;
    assert_eq!(wrap(&big, &c), Err(WrapError::NotLittleEndian));
    let mut dynamic = elf64(base, &[good()]);
    dynamic[16] = 3;
    assert_eq!(
        wrap(&dynamic, &c),
        Err(WrapError::NotExecutable { e_type: 3 })
    );
    let mut arm = elf64(base, &[good()]);
    arm[18] = 183;
    assert_eq!(
        wrap(&arm, &c),
        Err(WrapError::WrongMachine { machine: 183 })
    );
    assert_eq!(
        wrap(&elf64(base, &[good()])[..40], &c),
        Err(WrapError::LoaderTruncated { what: "ELF header" })
    );
    assert_eq!(
        wrap(&elf64(base, &[good()])[..100], &c),
        Err(WrapError::LoaderTruncated {
            what: "program header table"
        })
    );
    let mut phentsize = elf64(base, &[good()]);
    phentsize[54] = 32;
    assert_eq!(
        wrap(&phentsize, &c),
        Err(WrapError::BadProgramHeaderSize { size: 32 })
    );

    assert_eq!(wrap(&elf64(base, &[]), &c), Err(WrapError::NoLoadSegments));
    let note = Segment {
        p_type: 4,
        ..good()
    };
    assert_eq!(
        wrap(&elf64(base, &[note]), &c),
        Err(WrapError::NoLoadSegments)
    );

    assert_eq!(
        wrap(
            &elf64(base + 0x1000, &[load(base + 0x1000, vec![0x90], 1)]),
            &c
        ),
        Err(WrapError::WrongBase {
            lowest: base + 0x1000,
            expected: LOADER_BASE
        })
    );
    assert_eq!(
        wrap(&elf64(0x10_0000, &[load(0x10_0000, vec![0x90], 1)]), &c),
        Err(WrapError::WrongBase {
            lowest: 0x10_0000,
            expected: LOADER_BASE
        })
    );
    assert_eq!(
        wrap(&elf64(base, &[good(), load(base + 8, vec![1], 1)]), &c),
        Err(WrapError::OverlappingSegments {
            first: 0,
            second: 1
        })
    );
    // Overlap found whatever the program header order.
    assert_eq!(
        wrap(
            &elf64(
                base,
                &[
                    load(base + 0x1000, vec![1], 0x10),
                    load(base, vec![1], 0x1001)
                ]
            ),
            &c
        ),
        Err(WrapError::OverlappingSegments {
            first: 1,
            second: 0
        })
    );
    assert_eq!(
        wrap(
            &elf64(base, &[good(), load(0xffff_f000, vec![1], 0x1001)]),
            &c
        ),
        Err(WrapError::SegmentAbove4GiB {
            index: 1,
            vaddr: 0xffff_f000,
            memsz: 0x1001
        })
    );
    assert!(matches!(
        wrap(&elf64(base, &[good(), load(u64::MAX - 1, vec![1], 4)]), &c),
        Err(WrapError::SegmentAbove4GiB { .. })
    ));
    assert_eq!(
        wrap(&elf64(base + 16, &[good()]), &c),
        Err(WrapError::EntryOutsideSegments { entry: base + 16 })
    );
    assert_eq!(
        wrap(&elf64(0, &[good()]), &c),
        Err(WrapError::EntryOutsideSegments { entry: 0 })
    );
    assert_eq!(
        wrap(&elf64(base, &[load(base, vec![1; 8], 4)]), &c),
        Err(WrapError::FileSizeExceedsMemSize {
            index: 0,
            filesz: 8,
            memsz: 4
        })
    );
    let moved = Segment {
        paddr: 0x20_0000,
        ..good()
    };
    assert_eq!(
        wrap(&elf64(base, &[moved]), &c),
        Err(WrapError::PhysicalAddressMismatch {
            index: 0,
            vaddr: base,
            paddr: 0x20_0000
        })
    );
    let mut past_end = elf64(base, &[good()]);
    past_end.truncate(64 + 56 + 8);
    assert_eq!(
        wrap(&past_end, &c),
        Err(WrapError::SegmentPastEndOfFile {
            index: 0,
            offset: 120,
            filesz: 16,
            file_len: 128
        })
    );
}

/// A loader and container that would not fit below 4 GiB are refused, before any
/// memory is allocated for them.
#[test]
fn images_past_4_gib_are_refused() {
    let gib4 = 1u64 << 32;
    let loader_end = u64::from(LOADER_BASE) + 0x1000;
    let fits = 0xffff_f000 - payload_address(loader_end);
    let ok = Placement::new(loader_end, fits).unwrap();
    assert_eq!(u64::from(IMAGE_BASE + ok.memsz), 0xffff_f000);
    for len in [fits + 1, gib4, u64::MAX] {
        let err = Placement::new(loader_end, len).unwrap_err();
        assert!(
            matches!(err, WrapError::ImageTooLarge { .. }),
            "{len:#x}: {err}"
        );
    }
}

/// A loader whose memory image (bss included) exceeds MAX_LOADER_SIZE is refused: its
/// bss would be shipped as zeros.
#[test]
fn oversized_loaders_are_refused() {
    let base = u64::from(LOADER_BASE);
    let loader = elf64(base, &[load(base, vec![0x90], MAX_LOADER_SIZE + 1)]);
    assert_eq!(
        wrap(&loader, &sample()),
        Err(WrapError::LoaderTooLarge {
            size: MAX_LOADER_SIZE + 1,
            max: MAX_LOADER_SIZE
        })
    );
    let loader = elf64(base, &[load(base, vec![0x90], 0xffff_f000 - base)]);
    assert!(matches!(
        wrap(&loader, &sample()),
        Err(WrapError::LoaderTooLarge { .. })
    ));
}

/// The messages name the problem and the fix.
#[test]
fn wrap_error_messages() {
    assert_eq!(
        WrapError::WrongBase {
            lowest: 0x20_0000,
            expected: LOADER_BASE
        }
        .to_string(),
        "loader's lowest segment is at 0x200000, expected 0x101000; link the loader at \
         bulkhead_netboot::layout::LOADER_BASE"
    );
    assert_eq!(
        WrapError::NotElf64 { class: 1 }.to_string(),
        "loader is not an ELF64 file (EI_CLASS 1); build it for x86_64"
    );
}

proptest! {
    /// Arbitrary bytes as a loader never panic the wrapper.
    #[test]
    fn wrap_never_panics_on_arbitrary_loaders(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = wrap(&bytes, b"container");
    }

    /// Neither do byte flips in a valid loader's headers; whatever is accepted has the
    /// container where the locator says.
    #[test]
    fn wrap_never_panics_on_mutated_loaders(
        flips in proptest::collection::vec((0usize..64 + 2 * 56, any::<u8>()), 1..6),
    ) {
        let mut loader = two_segment_loader();
        for (i, mask) in flips {
            loader[i] ^= mask;
        }
        if let Ok(image) = wrap(&loader, &sample()) {
            let range = container_range(&image).unwrap();
            prop_assert_eq!(&image[range], &sample()[..]);
        }
    }
}
