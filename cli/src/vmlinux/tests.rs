//! Tests on synthetic kernels: a minimal x86-64 ELF with the PVH note, compressed the
//! way the kernel build does it, inside a minimal bzImage.

use std::io::Write;

use flate2::write::GzEncoder;
use lzma_rust2::filter::FilterType;
use lzma_rust2::{CheckType, LzmaOptions, LzmaWriter, XzOptions, XzWriter};

use super::*;

const ENTRY: u32 = 0x0100_0ABC;
/// Where the fake setup code ends: (setup_sects + 1) * 512 with setup_sects = 2.
const PROTECTED_MODE: usize = 3 * 512;
/// Bytes of fake decompressor code before the payload.
const PAYLOAD_OFFSET_VALUE: usize = 0x40;

fn put(buf: &mut [u8], at: usize, bytes: &[u8]) {
    buf[at..at + bytes.len()].copy_from_slice(bytes);
}

/// A 64-bit x86 ELF: header, a PT_LOAD and a PT_NOTE, code with calls and jumps
/// (which the x86 BCJ filter rewrites), the Xen note, and section headers, the last
/// of them a `.bss` whose offset lies beyond the file (it takes no room in it).
fn make_elf(machine: u16, note_type: u32) -> Vec<u8> {
    let mut e = vec![0u8; 0x400];
    put(&mut e, 0, b"\x7fELF\x02\x01\x01");
    put(&mut e, 0x10, &2u16.to_le_bytes()); // ET_EXEC
    put(&mut e, 0x12, &machine.to_le_bytes());
    put(&mut e, 0x14, &1u32.to_le_bytes());
    put(&mut e, 0x18, &0xFFFF_FFFF_8100_0000u64.to_le_bytes()); // e_entry
    put(&mut e, 0x20, &64u64.to_le_bytes()); // e_phoff
    put(&mut e, 0x28, &0x300u64.to_le_bytes()); // e_shoff
    put(&mut e, 0x34, &64u16.to_le_bytes()); // e_ehsize
    put(&mut e, 0x36, &56u16.to_le_bytes()); // e_phentsize
    put(&mut e, 0x38, &2u16.to_le_bytes()); // e_phnum
    put(&mut e, 0x3A, &64u16.to_le_bytes()); // e_shentsize
    put(&mut e, 0x3C, &4u16.to_le_bytes()); // e_shnum
    // PT_LOAD: the code, 0x100..0x200.
    let ph = 64;
    put(&mut e, ph, &1u32.to_le_bytes());
    put(&mut e, ph + 8, &0x100u64.to_le_bytes());
    put(&mut e, ph + 16, &0xFFFF_FFFF_8100_0000u64.to_le_bytes());
    put(&mut e, ph + 24, &0x100_0000u64.to_le_bytes());
    put(&mut e, ph + 32, &0x100u64.to_le_bytes());
    put(&mut e, ph + 40, &0x100u64.to_le_bytes());
    // PT_NOTE: 0x200..0x214.
    let ph = 64 + 56;
    put(&mut e, ph, &4u32.to_le_bytes());
    put(&mut e, ph + 8, &0x200u64.to_le_bytes());
    put(&mut e, ph + 32, &0x14u64.to_le_bytes());
    // Code: call rel32 and jmp rel32, over and over.
    for (n, at) in (0x100..0x1F8).step_by(8).enumerate() {
        let op = if n % 2 == 0 { 0xE8 } else { 0xE9 };
        put(&mut e, at, &[op]);
        put(&mut e, at + 1, &(n as u32 * 0x40).to_le_bytes());
        put(&mut e, at + 5, &[0x90, 0x90, 0xC3]);
    }
    // The note: namesz 4, descsz 4, type, "Xen\0", entry.
    put(&mut e, 0x200, &4u32.to_le_bytes());
    put(&mut e, 0x204, &4u32.to_le_bytes());
    put(&mut e, 0x208, &note_type.to_le_bytes());
    put(&mut e, 0x20C, b"Xen\0");
    put(&mut e, 0x210, &ENTRY.to_le_bytes());
    // Section headers at 0x300: null, .text, .notes, .bss.
    let sh = |n: usize| 0x300 + n * 64;
    put(&mut e, sh(1) + 4, &1u32.to_le_bytes()); // SHT_PROGBITS
    put(&mut e, sh(1) + 24, &0x100u64.to_le_bytes());
    put(&mut e, sh(1) + 32, &0x100u64.to_le_bytes());
    put(&mut e, sh(2) + 4, &7u32.to_le_bytes()); // SHT_NOTE
    put(&mut e, sh(2) + 24, &0x200u64.to_le_bytes());
    put(&mut e, sh(2) + 32, &0x14u64.to_le_bytes());
    put(&mut e, sh(3) + 4, &SHT_NOBITS.to_le_bytes());
    put(&mut e, sh(3) + 24, &0x1000u64.to_le_bytes());
    put(&mut e, sh(3) + 32, &0x10_0000u64.to_le_bytes());
    assert_eq!(e.len(), sh(4));
    e
}

fn pvh_elf() -> Vec<u8> {
    make_elf(EM_X86_64, 18)
}

/// The ELF followed by a relocation table, as the kernel build compresses it.
fn with_relocs(elf: &[u8]) -> Vec<u8> {
    let mut data = elf.to_vec();
    data.extend((0..64u32).flat_map(|n| (0x8100_0000 + n * 8).to_le_bytes()));
    data.extend([0; 4]);
    data
}

fn xz(data: &[u8]) -> Vec<u8> {
    // As scripts/xz_wrap.sh: CRC32, the x86 BCJ filter, then LZMA2.
    let mut options = XzOptions::with_preset(6);
    options.set_check_sum_type(CheckType::Crc32);
    options.prepend_pre_filter(FilterType::BcjX86, 0);
    let mut w = XzWriter::new(Vec::new(), options).unwrap();
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

fn lzma(data: &[u8]) -> Vec<u8> {
    // As `lzma -9` from a pipe: a .lzma header with the size unknown, an end marker.
    let mut w = LzmaWriter::new_use_header(Vec::new(), &LzmaOptions::with_preset(6), None).unwrap();
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut w = GzEncoder::new(Vec::new(), flate2::Compression::best());
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

/// The kernel build's payload: the stream and, but for gzip, the size after it.
fn payload_of(stream: Vec<u8>, size: usize, append_size: bool) -> Vec<u8> {
    let mut p = stream;
    if append_size {
        p.extend((size as u32).to_le_bytes());
    }
    p
}

/// A bzImage around `payload`: boot sector, two setup sectors, fake decompressor code,
/// the payload, and more code after it.
fn bzimage(payload: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; PROTECTED_MODE + PAYLOAD_OFFSET_VALUE];
    b[SETUP_SECTS] = 2;
    put(&mut b, 0x1FE, &0xAA55u16.to_le_bytes());
    put(&mut b, LINUX_HDRS_OFFSET, b"HdrS");
    put(&mut b, VERSION, &0x020Fu16.to_le_bytes());
    put(&mut b, 0x236, &0x7Fu16.to_le_bytes()); // xloadflags
    put(
        &mut b,
        PAYLOAD_OFFSET,
        &(PAYLOAD_OFFSET_VALUE as u32).to_le_bytes(),
    );
    put(
        &mut b,
        PAYLOAD_LENGTH,
        &(payload.len() as u32).to_le_bytes(),
    );
    for byte in &mut b[PROTECTED_MODE..] {
        *byte = 0xCC;
    }
    b.extend_from_slice(payload);
    b.extend([0xCC; 100]);
    b
}

fn xz_kernel(elf: &[u8]) -> Vec<u8> {
    let data = with_relocs(elf);
    bzimage(&payload_of(xz(&data), data.len(), true))
}

#[test]
fn xz_with_bcj_gives_the_elf_without_its_relocations() {
    let elf = pvh_elf();
    let kernel = xz_kernel(&elf);
    assert_eq!(compression(&kernel).unwrap(), Compression::Xz);
    let vmlinux = extract_vmlinux(&kernel).unwrap();
    assert_eq!(vmlinux, elf);
    assert_eq!(pvh_entry(&vmlinux), Ok(ENTRY));
}

#[test]
fn lzma_and_gzip_payloads_are_extracted() {
    let elf = pvh_elf();
    let data = with_relocs(&elf);
    let lzma_kernel = bzimage(&payload_of(lzma(&data), data.len(), true));
    assert_eq!(compression(&lzma_kernel).unwrap(), Compression::Lzma);
    assert_eq!(extract_vmlinux(&lzma_kernel).unwrap(), elf);
    // gzip carries its size in its own trailer; nothing is appended.
    let gzip_kernel = bzimage(&payload_of(gzip(&data), data.len(), false));
    assert_eq!(compression(&gzip_kernel).unwrap(), Compression::Gzip);
    assert_eq!(extract_vmlinux(&gzip_kernel).unwrap(), elf);
}

#[test]
fn setup_sects_zero_means_four() {
    let elf = pvh_elf();
    let data = with_relocs(&elf);
    let mut kernel = bzimage(&payload_of(xz(&data), data.len(), true));
    // Move the protected-mode part from sector 3 to sector 5.
    kernel[SETUP_SECTS] = 0;
    let tail = kernel.split_off(PROTECTED_MODE);
    kernel.resize(5 * 512, 0);
    kernel.extend(tail);
    assert_eq!(extract_vmlinux(&kernel).unwrap(), elf);
}

#[test]
fn files_that_are_not_bzimages_are_refused() {
    let elf = pvh_elf();
    assert!(!is_bzimage(&elf));
    assert!(matches!(
        extract_vmlinux(&elf),
        Err(VmlinuxError::NotBzImage)
    ));
    for len in 0..0x300 {
        assert!(extract_vmlinux(&vec![0; len]).is_err());
    }
}

#[test]
fn an_old_protocol_has_no_payload_fields() {
    let mut kernel = xz_kernel(&pvh_elf());
    put(&mut kernel, VERSION, &0x0207u16.to_le_bytes());
    let err = extract_vmlinux(&kernel).unwrap_err();
    assert!(matches!(err, VmlinuxError::OldProtocol(0x0207)));
    assert!(err.to_string().contains("2.7"), "{err}");
}

#[test]
fn a_payload_beyond_the_file_is_refused() {
    let mut kernel = xz_kernel(&pvh_elf());
    let len = kernel.len();
    put(&mut kernel, PAYLOAD_LENGTH, &(len as u32).to_le_bytes());
    assert!(matches!(
        extract_vmlinux(&kernel),
        Err(VmlinuxError::PayloadOutOfBounds { len: l, .. }) if l == len
    ));
    put(&mut kernel, PAYLOAD_OFFSET, &u32::MAX.to_le_bytes());
    assert!(matches!(
        extract_vmlinux(&kernel),
        Err(VmlinuxError::PayloadOutOfBounds { .. })
    ));
    put(&mut kernel, PAYLOAD_OFFSET, &0u32.to_le_bytes());
    put(&mut kernel, PAYLOAD_LENGTH, &3u32.to_le_bytes());
    assert!(matches!(
        extract_vmlinux(&kernel),
        Err(VmlinuxError::PayloadOutOfBounds { .. })
    ));
}

#[test]
fn compressors_are_known_by_their_magic() {
    let cases: [(&[u8], Compression); 7] = [
        (&[0x1F, 0x8B, 0x08, 0], Compression::Gzip),
        (b"\xFD7zXZ\0\0", Compression::Xz),
        (&[0x5D, 0, 0, 0x80], Compression::Lzma),
        (&[0x28, 0xB5, 0x2F, 0xFD], Compression::Zstd),
        (&[0x02, 0x21, 0x4C, 0x18], Compression::Lz4),
        (b"BZh9", Compression::Bzip2),
        (b"\x89LZO\0", Compression::Lzo),
    ];
    for (magic, kind) in cases {
        assert_eq!(Compression::detect(magic), Some(kind), "{}", kind.name());
    }
    assert_eq!(Compression::detect(b"\x7fELF"), None);
}

#[test]
fn compressors_without_a_decoder_are_named() {
    let mut stream = vec![0x28, 0xB5, 0x2F, 0xFD];
    stream.extend([0; 60]);
    let err = extract_vmlinux(&bzimage(&stream)).unwrap_err();
    assert!(matches!(
        err,
        VmlinuxError::UnsupportedCompression(Compression::Zstd)
    ));
    assert!(err.to_string().contains("zstd"), "{err}");
    let err = extract_vmlinux(&bzimage(&[0x42; 64])).unwrap_err();
    assert!(matches!(err, VmlinuxError::UnknownCompression(ref b) if b == &[0x42; 8]));
}

#[test]
fn a_corrupt_stream_is_refused() {
    let elf = pvh_elf();
    let data = with_relocs(&elf);
    let stream = xz(&data);
    let mut kernel = bzimage(&payload_of(stream.clone(), data.len(), true));
    // Flip a bit in the middle of the compressed data.
    let at = PROTECTED_MODE + PAYLOAD_OFFSET_VALUE + stream.len() / 2;
    kernel[at] ^= 0x10;
    assert!(matches!(
        extract_vmlinux(&kernel),
        Err(VmlinuxError::Decompress {
            compression: Compression::Xz,
            ..
        })
    ));
}

#[test]
fn the_recorded_size_must_match() {
    let elf = pvh_elf();
    let data = with_relocs(&elf);
    for size in [data.len() - 1, data.len() + 1] {
        let kernel = bzimage(&payload_of(xz(&data), size, true));
        assert!(matches!(
            extract_vmlinux(&kernel),
            Err(VmlinuxError::SizeMismatch { expected, .. }) if expected as usize == size
        ));
    }
    let kernel = bzimage(&payload_of(xz(&data), u32::MAX as usize, true));
    assert!(matches!(
        extract_vmlinux(&kernel),
        Err(VmlinuxError::TooLarge(u32::MAX))
    ));
}

#[test]
fn the_payload_must_be_an_x86_64_elf() {
    let err = extract_vmlinux(&xz_kernel(&make_elf(3, 18))).unwrap_err();
    assert!(matches!(err, VmlinuxError::NotElf(_)), "{err}");
    let mut elf32 = pvh_elf();
    elf32[4] = 1;
    assert!(matches!(
        extract_vmlinux(&xz_kernel(&elf32)),
        Err(VmlinuxError::NotElf(_))
    ));
    let mut truncated = pvh_elf();
    truncated.truncate(0x200);
    assert!(matches!(
        extract_vmlinux(&xz_kernel(&truncated)),
        Err(VmlinuxError::NotElf(_))
    ));
    let data = b"not an ELF file at all, just text".to_vec();
    let kernel = bzimage(&payload_of(xz(&data), data.len(), true));
    assert!(matches!(
        extract_vmlinux(&kernel),
        Err(VmlinuxError::NotElf("no ELF magic"))
    ));
}

#[test]
fn a_kernel_without_the_pvh_note_is_refused() {
    // Type 17 is XEN_ELFNOTE_SUPPORTED_FEATURES, not the entry.
    let err = extract_vmlinux(&xz_kernel(&make_elf(EM_X86_64, 17))).unwrap_err();
    assert!(matches!(err, VmlinuxError::NoPvhNote(_)));
    assert!(err.to_string().contains("PVH"), "{err}");
}

#[test]
fn pvh_kernel_announces_the_vmlinux_and_names_the_file_on_failure() {
    let elf = pvh_elf();
    let kernel = xz_kernel(&elf);
    let mut out = Vec::new();
    let got = pvh_kernel(Path::new("guests/bzImage"), "linux", &kernel, &mut out).unwrap();
    assert_eq!(got, elf);
    let said = String::from_utf8(out).unwrap();
    assert_eq!(
        said,
        "guests/bzImage: a bzImage for PVH partition linux: storing its vmlinux \
         (xz-compressed, 0.0 MiB, PVH entry 0x1000abc)\n"
    );

    let mut out = Vec::new();
    let broken = xz_kernel(&make_elf(EM_X86_64, 17));
    let err = pvh_kernel(Path::new("guests/bzImage"), "linux", &broken, &mut out).unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("cannot read guests/bzImage: "),
        "{message}"
    );
    assert!(
        message.contains("partition linux boots by PVH"),
        "{message}"
    );
    assert!(message.contains("XEN_ELFNOTE_PHYS32_ENTRY"), "{message}");
    assert!(out.is_empty());
}
