//! The ELF `vmlinux` inside a bzImage, for partitions that boot Linux by PVH.
//!
//! A bzImage is the real-mode setup code followed by the protected-mode part, which
//! carries the kernel proper as a compressed payload. The setup header (boot protocol
//! 2.08 and newer) says where: `payload_offset` at 0x248, counted from the start of the
//! protected-mode part, and `payload_length` at 0x24C. On x86 the payload is the ELF
//! `vmlinux`, stripped, followed by its relocation table (for KASLR), and the build
//! appends the uncompressed size as a 32-bit little-endian number (`size_append`; for
//! gzip, the trailer's ISIZE is the same number). Extraction checks that size, cuts the
//! relocation table off, and checks the ELF is an x86-64 kernel with the PVH entry note.

use std::io::{self, Read, Write};
use std::path::Path;

use bulkhead_config::image::{LINUX_HDRS_OFFSET, pvh_entry};

use crate::error::CliError;

/// Setup header offset of `setup_sects`, the size of the real-mode setup in sectors.
const SETUP_SECTS: usize = 0x1F1;
/// Setup header offset of the boot protocol version.
const VERSION: usize = 0x206;
/// Setup header offset of `payload_offset`.
const PAYLOAD_OFFSET: usize = 0x248;
/// Setup header offset of `payload_length`.
const PAYLOAD_LENGTH: usize = 0x24C;
/// The first boot protocol with `payload_offset` and `payload_length` (2.08).
const MIN_PROTOCOL: u16 = 0x0208;
/// The largest vmlinux this will produce. Debian's is about 60 MiB; the limit only
/// stops a corrupt size field from asking for gigabytes.
const MAX_VMLINUX: u32 = 1 << 30;

/// `e_machine` of x86-64.
const EM_X86_64: u16 = 62;
/// `sh_type` of a section that takes no room in the file (`.bss`).
const SHT_NOBITS: u32 = 8;

/// How a kernel's payload is compressed, known by the first bytes of the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// `1F 8B 08`.
    Gzip,
    /// `FD 37 7A 58 5A 00`: xz with the x86 BCJ filter and CRC32, as the kernel builds it.
    Xz,
    /// `5D 00 00`: the legacy `.lzma` format.
    Lzma,
    /// `28 B5 2F FD` (not supported here).
    Zstd,
    /// `02 21 4C 18`, the legacy LZ4 frame (not supported here).
    Lz4,
    /// `42 5A 68`, "BZh" (not supported here).
    Bzip2,
    /// `89 4C 5A 4F`, "\x89LZO" (not supported here).
    Lzo,
}

impl Compression {
    /// Recognises the compressor by the stream's magic bytes.
    pub fn detect(stream: &[u8]) -> Option<Self> {
        const MAGICS: [(&[u8], Compression); 7] = [
            (&[0x1F, 0x8B, 0x08], Compression::Gzip),
            (&[0xFD, b'7', b'z', b'X', b'Z', 0x00], Compression::Xz),
            (&[0x5D, 0x00, 0x00], Compression::Lzma),
            (&[0x28, 0xB5, 0x2F, 0xFD], Compression::Zstd),
            (&[0x02, 0x21, 0x4C, 0x18], Compression::Lz4),
            (b"BZh", Compression::Bzip2),
            (&[0x89, b'L', b'Z', b'O'], Compression::Lzo),
        ];
        MAGICS
            .iter()
            .find(|(magic, _)| stream.starts_with(magic))
            .map(|&(_, kind)| kind)
    }

    /// The name the kernel's configuration uses (`CONFIG_KERNEL_XZ` → "xz").
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Xz => "xz",
            Compression::Lzma => "lzma",
            Compression::Zstd => "zstd",
            Compression::Lz4 => "lz4",
            Compression::Bzip2 => "bzip2",
            Compression::Lzo => "lzo",
        }
    }
}

/// Why no vmlinux came out of a file.
#[derive(Debug, thiserror::Error)]
pub enum VmlinuxError {
    /// No `"HdrS"` at 0x202.
    #[error("not a bzImage: no \"HdrS\" signature at offset 0x202")]
    NotBzImage,
    /// The setup header predates the payload fields.
    #[error(
        "the bzImage speaks boot protocol {}.{}, which does not locate its payload \
         (2.08 or newer is needed)",
        .0 >> 8,
        .0 & 0xFF
    )]
    OldProtocol(u16),
    /// The payload fields point outside the file, or the payload is too short.
    #[error(
        "the setup header places the payload at {start:#x}..{end:#x}, which is not a \
         payload of 8 bytes or more inside the file ({len:#x} bytes)"
    )]
    PayloadOutOfBounds {
        /// Where the payload starts in the file.
        start: u64,
        /// Where it ends.
        end: u64,
        /// The file's length.
        len: usize,
    },
    /// The payload starts with no known magic.
    #[error("the payload's compression is unknown (first bytes {0:02x?})")]
    UnknownCompression(Vec<u8>),
    /// The payload uses a compressor this build does not decode.
    #[error(
        "the payload is {}-compressed; only xz, lzma and gzip kernels are supported \
         (boot this kernel with protocol \"linux\" instead)",
        .0.name()
    )]
    UnsupportedCompression(Compression),
    /// The decompressor refused the payload.
    #[error("the {}-compressed payload is corrupt: {source}", .compression.name())]
    Decompress {
        /// The compressor.
        compression: Compression,
        /// What the decompressor said.
        source: io::Error,
    },
    /// The decompressed size differs from the one recorded after the payload.
    #[error(
        "the payload decompresses to {actual} bytes, but the size recorded after it \
         is {expected}"
    )]
    SizeMismatch {
        /// The size in the payload's last four bytes.
        expected: u32,
        /// What came out (stops counting just past the expected size).
        actual: usize,
    },
    /// The size recorded after the payload is beyond any kernel.
    #[error(
        "the size recorded after the payload, {0} bytes, is beyond any kernel (the limit \
         is {MAX_VMLINUX} bytes): the file is corrupt"
    )]
    TooLarge(u32),
    /// The payload is not an x86-64 ELF file.
    #[error("the payload is not an x86-64 kernel: {0}")]
    NotElf(&'static str),
    /// The ELF file has no PVH entry.
    #[error("{0}")]
    NoPvhNote(String),
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// Whether the file is a bzImage (has the setup header signature).
pub fn is_bzimage(data: &[u8]) -> bool {
    data.get(LINUX_HDRS_OFFSET..LINUX_HDRS_OFFSET + 4) == Some(b"HdrS".as_slice())
}

/// The compressed payload of a bzImage, size trailer included.
fn payload(bzimage: &[u8]) -> Result<&[u8], VmlinuxError> {
    if !is_bzimage(bzimage) {
        return Err(VmlinuxError::NotBzImage);
    }
    let version = u16_at(bzimage, VERSION).unwrap_or(0);
    if version < MIN_PROTOCOL {
        return Err(VmlinuxError::OldProtocol(version));
    }
    // setup_sects 0 means 4, for compatibility with ancient kernels.
    let setup_sects = match bzimage[SETUP_SECTS] {
        0 => 4,
        n => u64::from(n),
    };
    let protected_mode = (setup_sects + 1) * 512;
    let offset = u32_at(bzimage, PAYLOAD_OFFSET).unwrap_or(0);
    let length = u32_at(bzimage, PAYLOAD_LENGTH).unwrap_or(0);
    let start = protected_mode + u64::from(offset);
    let end = start + u64::from(length);
    let out_of_bounds = VmlinuxError::PayloadOutOfBounds {
        start,
        end,
        len: bzimage.len(),
    };
    // Magic plus the four-byte size: anything shorter cannot be a kernel.
    if length < 8 {
        return Err(out_of_bounds);
    }
    match (usize::try_from(start), usize::try_from(end)) {
        (Ok(start), Ok(end)) if end <= bzimage.len() => Ok(&bzimage[start..end]),
        _ => Err(out_of_bounds),
    }
}

/// How the payload of a bzImage is compressed.
pub fn compression(bzimage: &[u8]) -> Result<Compression, VmlinuxError> {
    let stream = payload(bzimage)?;
    Compression::detect(stream)
        .ok_or_else(|| VmlinuxError::UnknownCompression(stream[..stream.len().min(8)].to_vec()))
}

/// Decompresses `stream` into exactly `expected` bytes, or says why not.
fn decompress(
    compression: Compression,
    stream: &[u8],
    expected: u32,
) -> Result<Vec<u8>, VmlinuxError> {
    let reader: Box<dyn Read + '_> = match compression {
        Compression::Gzip => Box::new(flate2::read::GzDecoder::new(stream)),
        // One stream: the size trailer that follows it is not stream padding.
        Compression::Xz => Box::new(lzma_rust2::XzReader::new(stream, false)),
        Compression::Lzma => Box::new(
            lzma_rust2::LzmaReader::new_mem_limit(stream, u32::MAX, None).map_err(|source| {
                VmlinuxError::Decompress {
                    compression,
                    source,
                }
            })?,
        ),
        other => return Err(VmlinuxError::UnsupportedCompression(other)),
    };
    let mut out = Vec::with_capacity(expected as usize);
    // One byte more than expected, to notice a payload that is too long.
    reader
        .take(u64::from(expected) + 1)
        .read_to_end(&mut out)
        .map_err(|source| VmlinuxError::Decompress {
            compression,
            source,
        })?;
    if out.len() != expected as usize {
        return Err(VmlinuxError::SizeMismatch {
            expected,
            actual: out.len(),
        });
    }
    Ok(out)
}

/// Where the ELF file ends: the furthest byte any header, segment or section uses.
/// What follows (the relocation table) is not part of it.
fn elf_extent(elf: &[u8]) -> Result<usize, VmlinuxError> {
    if elf.get(..4) != Some(b"\x7fELF".as_slice()) {
        return Err(VmlinuxError::NotElf("no ELF magic"));
    }
    if elf.get(4) != Some(&2) {
        return Err(VmlinuxError::NotElf("not a 64-bit ELF file"));
    }
    if elf.get(5) != Some(&1) {
        return Err(VmlinuxError::NotElf("not a little-endian ELF file"));
    }
    if u16_at(elf, 0x12) != Some(EM_X86_64) {
        return Err(VmlinuxError::NotElf("the ELF machine is not x86-64"));
    }
    extent(elf)
        .filter(|&end| end <= elf.len() as u64)
        .map(|end| end as usize)
        .ok_or(VmlinuxError::NotElf(
            "the ELF headers are truncated, or point past the end of the file",
        ))
}

/// The furthest byte of an ELF64 file's headers, segments and sections, if the headers
/// can be read.
fn extent(elf: &[u8]) -> Option<u64> {
    let at = |base: u64, plus: u64| usize::try_from(base.checked_add(plus)?).ok();
    let u16_field = |base, plus| u16_at(elf, at(base, plus)?).map(u64::from);
    let u32_field = |base, plus| u32_at(elf, at(base, plus)?);
    let u64_field = |base, plus| u64_at(elf, at(base, plus)?);
    let (phoff, phentsize, phnum) = (
        u64_field(0, 0x20)?,
        u16_field(0, 0x36)?,
        u16_field(0, 0x38)?,
    );
    let (shoff, shentsize, shnum) = (
        u64_field(0, 0x28)?,
        u16_field(0, 0x3A)?,
        u16_field(0, 0x3C)?,
    );
    // The ELF header itself, and the program header table.
    let mut end = 64u64.max(phoff.checked_add(phentsize * phnum)?);
    for n in 0..phnum {
        let ph = phoff.checked_add(n * phentsize)?;
        // p_offset + p_filesz
        end = end.max(u64_field(ph, 8)?.checked_add(u64_field(ph, 32)?)?);
    }
    if shoff != 0 {
        end = end.max(shoff.checked_add(shentsize * shnum)?);
        for n in 0..shnum {
            let sh = shoff.checked_add(n * shentsize)?;
            if u32_field(sh, 4)? != SHT_NOBITS {
                // sh_offset + sh_size
                end = end.max(u64_field(sh, 24)?.checked_add(u64_field(sh, 32)?)?);
            }
        }
    }
    Some(end)
}

/// Extracts the ELF vmlinux from a bzImage: finds the payload through the setup
/// header, decompresses it (xz, lzma or gzip), drops the relocation table after the
/// ELF file, and checks the result is an x86-64 ELF with the PVH entry note
/// (`XEN_ELFNOTE_PHYS32_ENTRY`), so that it boots with protocol `pvh`.
pub fn extract_vmlinux(bzimage: &[u8]) -> Result<Vec<u8>, VmlinuxError> {
    let compression = compression(bzimage)?;
    let payload = payload(bzimage)?;
    let (stream, trailer) = payload.split_at(payload.len() - 4);
    let expected = u32::from_le_bytes(trailer.try_into().unwrap_or_default());
    if expected > MAX_VMLINUX {
        return Err(VmlinuxError::TooLarge(expected));
    }
    // gzip's own trailer is the size, so its decoder must see all of it.
    let stream = if compression == Compression::Gzip {
        payload
    } else {
        stream
    };
    let mut elf = decompress(compression, stream, expected)?;
    let end = elf_extent(&elf)?;
    elf.truncate(end);
    pvh_entry(&elf).map_err(VmlinuxError::NoPvhNote)?;
    Ok(elf)
}

/// The kernel entry of a `pvh` partition whose kernel file is a bzImage: its vmlinux,
/// announced on `out`. Errors name the file.
pub fn pvh_kernel(
    path: &Path,
    partition: &str,
    bzimage: &[u8],
    out: &mut dyn Write,
) -> Result<Vec<u8>, CliError> {
    let failed = |e: VmlinuxError| CliError::Read {
        path: path.into(),
        source: io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "partition {partition} boots by PVH, but no vmlinux comes out of this bzImage: {e}"
            ),
        ),
    };
    let compression = compression(bzimage).map_err(failed)?;
    let elf = extract_vmlinux(bzimage).map_err(failed)?;
    let entry = pvh_entry(&elf).unwrap_or_default();
    writeln!(
        out,
        "{}: a bzImage for PVH partition {partition}: storing its vmlinux \
         ({}-compressed, {:.1} MiB, PVH entry {entry:#x})",
        path.display(),
        compression.name(),
        elf.len() as f64 / f64::from(1u32 << 20),
    )?;
    Ok(elf)
}

#[cfg(test)]
mod tests;
