//! Helpers for the boot protocol tests: hand-made images, reading guest memory back, a
//! page-table walker and a deterministic image mutator.

use alloc::string::String;
use alloc::vec::Vec;

use crate::memory::GuestMemory;

/// A small xorshift64* generator: deterministic, seedable, good enough to mutate bytes.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

/// Runs `f` on `count` mutated copies of `image`: flipped bytes, truncations, and
/// interesting values written over fields, biased towards the first `hot` bytes where the
/// headers live.
pub(crate) fn mutations(
    seed: u64,
    image: &[u8],
    hot: usize,
    count: usize,
    mut f: impl FnMut(&[u8]),
) {
    const INTERESTING: [u64; 12] = [
        0,
        1,
        0x7F,
        0xFF,
        0x1000,
        0x7FFF_FFFF,
        0x8000_0000,
        0xFFFF_F000,
        0xFFFF_FFFF,
        0x1_0000_0000,
        0x7FFF_FFFF_FFFF_FFFF,
        u64::MAX,
    ];
    let mut rng = Rng::new(seed);
    for _ in 0..count {
        let mut m = image.to_vec();
        let rounds = 1 + rng.below(4);
        for _ in 0..rounds {
            let span = if rng.below(4) == 0 {
                m.len()
            } else {
                hot.min(m.len())
            };
            if span == 0 {
                break;
            }
            let at = rng.below(span as u64) as usize;
            match rng.below(5) {
                0 => m[at] ^= 1 << rng.below(8),
                1 => m[at] = rng.next() as u8,
                2 => m.truncate(at),
                3 | 4 => {
                    let value = INTERESTING[rng.below(INTERESTING.len() as u64) as usize];
                    let width = if rng.below(2) == 0 { 4 } else { 8 };
                    let at = at & !3;
                    let bytes = value.to_le_bytes();
                    for (i, &byte) in bytes.iter().take(width).enumerate() {
                        if let Some(b) = m.get_mut(at + i) {
                            *b = byte;
                        }
                    }
                }
                _ => unreachable!(),
            }
        }
        f(&m);
    }
}

/// One ELF note entry with 4-byte padding.
pub(crate) fn note(name: &[u8], kind: u32, desc: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend((name.len() as u32).to_le_bytes());
    out.extend((desc.len() as u32).to_le_bytes());
    out.extend(kind.to_le_bytes());
    out.extend(name);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
    out.extend(desc);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
    out
}

struct SegmentSpec {
    paddr: u64,
    vaddr: u64,
    data: Vec<u8>,
    memsz: u64,
}

/// Builds a minimal ELF executable: file header, program headers, an optional blob right
/// after them (a Multiboot header, say), an optional note segment, segment data.
pub(crate) struct ElfBuilder {
    is64: bool,
    machine: u16,
    entry: u64,
    segments: Vec<SegmentSpec>,
    notes: Vec<u8>,
    blob: Vec<u8>,
}

impl ElfBuilder {
    pub(crate) fn elf32(entry: u64) -> Self {
        Self {
            is64: false,
            machine: 3,
            entry,
            segments: Vec::new(),
            notes: Vec::new(),
            blob: Vec::new(),
        }
    }

    pub(crate) fn elf64(entry: u64) -> Self {
        Self {
            is64: true,
            machine: 62,
            ..Self::elf32(entry)
        }
    }

    pub(crate) fn segment(mut self, paddr: u64, vaddr: u64, data: &[u8], memsz: u64) -> Self {
        self.segments.push(SegmentSpec {
            paddr,
            vaddr,
            data: data.to_vec(),
            memsz,
        });
        self
    }

    pub(crate) fn notes(mut self, notes: Vec<u8>) -> Self {
        self.notes = notes;
        self
    }

    pub(crate) fn blob(mut self, blob: Vec<u8>) -> Self {
        self.blob = blob;
        self
    }

    /// Offset the blob will land at.
    pub(crate) fn blob_offset(&self) -> usize {
        let (eh, ph) = if self.is64 { (64, 56) } else { (52, 32) };
        let n = self.segments.len() + usize::from(!self.notes.is_empty());
        (eh + ph * n + 3) & !3
    }

    pub(crate) fn build(self) -> Vec<u8> {
        let (eh, ph) = if self.is64 {
            (64usize, 56usize)
        } else {
            (52, 32)
        };
        let nph = self.segments.len() + usize::from(!self.notes.is_empty());
        let mut out = vec![0u8; eh + ph * nph];
        let blob_at = self.blob_offset();
        out.resize(blob_at, 0);
        out.extend(&self.blob);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
        let notes_at = out.len();
        out.extend(&self.notes);
        let mut placed = Vec::new();
        for s in &self.segments {
            while !out.len().is_multiple_of(16) {
                out.push(0);
            }
            placed.push(out.len());
            out.extend(&s.data);
        }
        out[0..4].copy_from_slice(b"\x7fELF");
        out[4] = if self.is64 { 2 } else { 1 };
        out[5] = 1;
        out[6] = 1;
        out[16..18].copy_from_slice(&2u16.to_le_bytes());
        out[18..20].copy_from_slice(&self.machine.to_le_bytes());
        out[20..24].copy_from_slice(&1u32.to_le_bytes());
        let mut headers: Vec<(u32, u64, u64, u64, u64, u64, u64)> = Vec::new();
        if !self.notes.is_empty() {
            let n = self.notes.len() as u64;
            headers.push((4, notes_at as u64, 0, 0, n, n, 4));
        }
        for (s, at) in self.segments.iter().zip(&placed) {
            headers.push((
                1,
                *at as u64,
                s.vaddr,
                s.paddr,
                s.data.len() as u64,
                s.memsz,
                0x1000,
            ));
        }
        if self.is64 {
            out[24..32].copy_from_slice(&self.entry.to_le_bytes());
            out[32..40].copy_from_slice(&(eh as u64).to_le_bytes());
            out[52..54].copy_from_slice(&(eh as u16).to_le_bytes());
            out[54..56].copy_from_slice(&(ph as u16).to_le_bytes());
            out[56..58].copy_from_slice(&(nph as u16).to_le_bytes());
            for (i, h) in headers.iter().enumerate() {
                let p = eh + i * ph;
                out[p..p + 4].copy_from_slice(&h.0.to_le_bytes());
                out[p + 4..p + 8].copy_from_slice(&5u32.to_le_bytes());
                out[p + 8..p + 16].copy_from_slice(&h.1.to_le_bytes());
                out[p + 16..p + 24].copy_from_slice(&h.2.to_le_bytes());
                out[p + 24..p + 32].copy_from_slice(&h.3.to_le_bytes());
                out[p + 32..p + 40].copy_from_slice(&h.4.to_le_bytes());
                out[p + 40..p + 48].copy_from_slice(&h.5.to_le_bytes());
                out[p + 48..p + 56].copy_from_slice(&h.6.to_le_bytes());
            }
        } else {
            out[24..28].copy_from_slice(&(self.entry as u32).to_le_bytes());
            out[28..32].copy_from_slice(&(eh as u32).to_le_bytes());
            out[40..42].copy_from_slice(&(eh as u16).to_le_bytes());
            out[42..44].copy_from_slice(&(ph as u16).to_le_bytes());
            out[44..46].copy_from_slice(&(nph as u16).to_le_bytes());
            for (i, h) in headers.iter().enumerate() {
                let p = eh + i * ph;
                out[p..p + 4].copy_from_slice(&h.0.to_le_bytes());
                out[p + 4..p + 8].copy_from_slice(&(h.1 as u32).to_le_bytes());
                out[p + 8..p + 12].copy_from_slice(&(h.2 as u32).to_le_bytes());
                out[p + 12..p + 16].copy_from_slice(&(h.3 as u32).to_le_bytes());
                out[p + 16..p + 20].copy_from_slice(&(h.4 as u32).to_le_bytes());
                out[p + 20..p + 24].copy_from_slice(&(h.5 as u32).to_le_bytes());
                out[p + 24..p + 28].copy_from_slice(&5u32.to_le_bytes());
                out[p + 28..p + 32].copy_from_slice(&(h.6 as u32).to_le_bytes());
            }
        }
        out
    }
}

pub(crate) fn rd8(m: &impl GuestMemory, gpa: u64) -> u8 {
    let mut b = [0; 1];
    m.read(gpa, &mut b).unwrap();
    b[0]
}

pub(crate) fn rd32(m: &impl GuestMemory, gpa: u64) -> u32 {
    let mut b = [0; 4];
    m.read(gpa, &mut b).unwrap();
    u32::from_le_bytes(b)
}

pub(crate) fn rd64(m: &impl GuestMemory, gpa: u64) -> u64 {
    let mut b = [0; 8];
    m.read(gpa, &mut b).unwrap();
    u64::from_le_bytes(b)
}

/// `len` bytes at `gpa`.
pub(crate) fn bytes(m: &impl GuestMemory, gpa: u64, len: usize) -> Vec<u8> {
    let mut b = vec![0; len];
    m.read(gpa, &mut b).unwrap();
    b
}

/// The NUL-terminated string at `gpa`.
pub(crate) fn cstr(m: &impl GuestMemory, gpa: u64) -> String {
    let mut out = Vec::new();
    let mut at = gpa;
    loop {
        let b = rd8(m, at);
        if b == 0 {
            break;
        }
        out.push(b);
        at += 1;
    }
    String::from_utf8(out).unwrap()
}

/// Guest memory that stores only the pages written: lets tests give a partition RAM
/// above 4 GiB without allocating it.
pub(crate) struct SparseMemory {
    size: u64,
    pages: std::collections::BTreeMap<u64, Vec<u8>>,
}

impl SparseMemory {
    pub(crate) fn new(size: u64) -> Self {
        Self {
            size,
            pages: Default::default(),
        }
    }
}

impl GuestMemory for SparseMemory {
    fn size(&self) -> u64 {
        self.size
    }

    fn read(&self, gpa: u64, buf: &mut [u8]) -> Result<(), crate::memory::MemoryError> {
        let err = crate::memory::MemoryError {
            gpa,
            len: buf.len() as u64,
            size: self.size,
        };
        if gpa
            .checked_add(buf.len() as u64)
            .is_none_or(|e| e > self.size)
        {
            return Err(err);
        }
        for (i, b) in buf.iter_mut().enumerate() {
            let a = gpa + i as u64;
            *b = self
                .pages
                .get(&(a >> 12))
                .map_or(0, |p| p[(a & 0xFFF) as usize]);
        }
        Ok(())
    }

    fn write(&mut self, gpa: u64, data: &[u8]) -> Result<(), crate::memory::MemoryError> {
        let err = crate::memory::MemoryError {
            gpa,
            len: data.len() as u64,
            size: self.size,
        };
        if gpa
            .checked_add(data.len() as u64)
            .is_none_or(|e| e > self.size)
        {
            return Err(err);
        }
        for (i, b) in data.iter().enumerate() {
            let a = gpa + i as u64;
            self.pages.entry(a >> 12).or_insert_with(|| vec![0; 4096])[(a & 0xFFF) as usize] = *b;
        }
        Ok(())
    }
}

/// Translates `va` through 4-level page tables at `cr3` the way the processor does
/// (present bits, 1 GiB and 2 MiB leaves), or `None` where nothing is mapped.
pub(crate) fn translate(m: &impl GuestMemory, cr3: u64, va: u64) -> Option<u64> {
    const ADDR: u64 = 0x000F_FFFF_FFFF_F000;
    let pml4e = rd64(m, (cr3 & ADDR) + ((va >> 39) & 0x1FF) * 8);
    if pml4e & 1 == 0 {
        return None;
    }
    let pdpte = rd64(m, (pml4e & ADDR) + ((va >> 30) & 0x1FF) * 8);
    if pdpte & 1 == 0 {
        return None;
    }
    if pdpte & 0x80 != 0 {
        return Some((pdpte & ADDR & !0x3FFF_FFFF) | (va & 0x3FFF_FFFF));
    }
    let pde = rd64(m, (pdpte & ADDR) + ((va >> 21) & 0x1FF) * 8);
    if pde & 1 == 0 {
        return None;
    }
    if pde & 0x80 != 0 {
        return Some((pde & ADDR & !0x1F_FFFF) | (va & 0x1F_FFFF));
    }
    let pte = rd64(m, (pde & ADDR) + ((va >> 12) & 0x1FF) * 8);
    if pte & 1 == 0 {
        return None;
    }
    Some((pte & ADDR) | (va & 0xFFF))
}

/// A Multiboot header with a correct checksum and, when given, the five address fields.
pub(crate) fn multiboot_header(flags: u32, addresses: Option<[u32; 5]>) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(0x1BAD_B002u32.to_le_bytes());
    out.extend(flags.to_le_bytes());
    out.extend(
        0u32.wrapping_sub(0x1BAD_B002)
            .wrapping_sub(flags)
            .to_le_bytes(),
    );
    for a in addresses.into_iter().flatten() {
        out.extend(a.to_le_bytes());
    }
    out
}
