#![allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used
)]

use std::collections::HashMap;

use super::error_code::{ID, P, RSVD, U, W};
use super::{
    Access, AccessKind, AddressSize, Paging, SegmentMode, SegmentRegister, UnsupportedPaging,
    WalkError, bits, fetch, segment_linear, translate,
};

/// Present, writable, user.
const PWU: u64 = 0b111;
/// Page size.
const PS: u64 = 1 << 7;
/// Execute disable.
const XD: u64 = 1 << 63;
/// Guest RAM for the tests: 16 MiB from 0.
const RAM_END: u64 = 16 << 20;

/// Guest-physical memory: 8-byte words, RAM below 16 MiB, zeros where nothing was put.
#[derive(Default)]
struct Mem {
    words: HashMap<u64, u64>,
}

impl Mem {
    fn set64(&mut self, address: u64, value: u64) {
        assert_eq!(address % 8, 0);
        self.words.insert(address, value);
    }

    fn set32(&mut self, address: u64, value: u32) {
        let word = self.words.entry(address & !7).or_insert(0);
        let shift = (address & 4) * 8;
        *word = (*word & !(0xFFFF_FFFF << shift)) | (u64::from(value) << shift);
    }

    fn set_bytes(&mut self, address: u64, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            let a = address + i as u64;
            let word = self.words.entry(a & !7).or_insert(0);
            let shift = (a & 7) * 8;
            *word = (*word & !(0xFF << shift)) | (u64::from(*b) << shift);
        }
    }

    fn read(&self, address: u64) -> Option<u64> {
        (address < RAM_END).then(|| self.words.get(&address).copied().unwrap_or(0))
    }
}

fn read(kind: AccessKind) -> Access {
    Access::new(kind, false)
}

fn user(kind: AccessKind) -> Access {
    Access::new(kind, true)
}

fn pf(error_code: u32, address: u64) -> Result<u64, WalkError> {
    Err(WalkError::PageFault {
        error_code,
        address,
    })
}

/// 4-level tables: PML4 0x1000, PDPT 0x2000, PD 0x3000, PT 0x4000. Linear 0x5000 maps
/// 0x12_3000 (user, writable); 0x20_0000 is a 2 MiB page at 0x40_0000; 0x4000_0000 a 1 GiB
/// page at 0x8000_0000; 0xFFFF_8000_0000_0000 shares the low PDPT.
fn long_mode() -> (Mem, Paging) {
    let mut m = Mem::default();
    m.set64(0x1000, 0x2000 | PWU);
    m.set64(0x1000 + 256 * 8, 0x2000 | PWU);
    m.set64(0x2000, 0x3000 | PWU);
    m.set64(0x2008, 0x8000_0000 | PS | PWU);
    m.set64(0x3000, 0x4000 | PWU);
    m.set64(0x3008, 0x40_0000 | PS | PWU);
    m.set64(0x4000 + 5 * 8, 0x12_3000 | PWU);
    let paging = Paging {
        cr0: bits::CR0_PG | bits::CR0_WP | 1,
        cr3: 0x1000,
        cr4: bits::CR4_PAE,
        efer: bits::EFER_LMA | bits::EFER_NXE | (1 << 8),
        phys_addr_bits: 48,
    };
    (m, paging)
}

fn go(m: &Mem, paging: &Paging, linear: u64, access: Access) -> Result<u64, WalkError> {
    translate(paging, linear, access, &|a| m.read(a))
}

/// With CR0.PG clear, linear is physical, within 4 GiB.
#[test]
fn paging_off_is_identity() {
    let m = Mem::default();
    let p = Paging::default();
    assert_eq!(go(&m, &p, 0x1234, read(AccessKind::Write)), Ok(0x1234));
    assert_eq!(
        go(&m, &p, 0x1_0000_1234, read(AccessKind::Read)),
        Ok(0x1234)
    );
}

/// 4-level paging: 4 KiB, 2 MiB and 1 GiB pages, and the upper canonical half.
#[test]
fn four_level_pages() {
    let (m, p) = long_mode();
    assert_eq!(go(&m, &p, 0x5ABC, read(AccessKind::Read)), Ok(0x12_3ABC));
    assert_eq!(
        go(&m, &p, 0x20_1234, read(AccessKind::Write)),
        Ok(0x40_1234)
    );
    assert_eq!(
        go(&m, &p, 0x4000_5678, user(AccessKind::Fetch)),
        Ok(0x8000_5678)
    );
    assert_eq!(
        go(&m, &p, 0xFFFF_8000_0000_5ABC, read(AccessKind::Read)),
        Ok(0x12_3ABC)
    );
}

/// Non-canonical addresses are #GP material, not page faults; LA57 is refused.
#[test]
fn four_level_canonical_and_la57() {
    let (m, mut p) = long_mode();
    assert_eq!(
        go(&m, &p, 0x0000_8000_0000_0000, read(AccessKind::Read)),
        Err(WalkError::NonCanonical(0x0000_8000_0000_0000))
    );
    p.cr4 |= bits::CR4_LA57;
    assert_eq!(
        go(&m, &p, 0x5000, read(AccessKind::Read)),
        Err(WalkError::Unsupported(UnsupportedPaging::FiveLevel))
    );
}

/// Not-present faults: P clear, W/U from the access, I/D for fetches when PAE+NXE.
#[test]
fn not_present_error_codes() {
    let (m, mut p) = long_mode();
    assert_eq!(go(&m, &p, 0x6000, read(AccessKind::Read)), pf(0, 0x6000));
    assert_eq!(
        go(&m, &p, 0x6008, user(AccessKind::Write)),
        pf(W | U, 0x6008)
    );
    assert_eq!(go(&m, &p, 0x6000, read(AccessKind::Fetch)), pf(ID, 0x6000));
    // A missing PML4 entry faults the same way.
    assert_eq!(
        go(&m, &p, 0x7F_0000_0000, read(AccessKind::Read)),
        pf(0, 0x7F_0000_0000)
    );
    // Without NXE (and SMEP) a fetch fault carries no I/D bit.
    p.efer &= !bits::EFER_NXE;
    assert_eq!(go(&m, &p, 0x6000, read(AccessKind::Fetch)), pf(0, 0x6000));
}

/// R/W: user writes need R/W everywhere; supervisor writes too when CR0.WP, not without.
#[test]
fn write_protection() {
    let (mut m, mut p) = long_mode();
    m.set64(0x4000 + 7 * 8, 0x12_4000 | 0b101);
    assert_eq!(go(&m, &p, 0x7010, read(AccessKind::Read)), Ok(0x12_4010));
    assert_eq!(
        go(&m, &p, 0x7010, read(AccessKind::Write)),
        pf(P | W, 0x7010)
    );
    assert_eq!(
        go(&m, &p, 0x7010, user(AccessKind::Write)),
        pf(P | W | U, 0x7010)
    );
    p.cr0 &= !bits::CR0_WP;
    assert_eq!(go(&m, &p, 0x7010, read(AccessKind::Write)), Ok(0x12_4010));
    assert_eq!(
        go(&m, &p, 0x7010, user(AccessKind::Write)),
        pf(P | W | U, 0x7010)
    );
    // R/W clear at a higher level protects the whole range below it.
    m.set64(0x3000 + 4 * 8, 0x4000 | 0b101);
    assert_eq!(
        go(&m, &p, 0x80_5000, user(AccessKind::Write)),
        pf(P | W | U, 0x80_5000)
    );
}

/// U/S: CPL 3 cannot touch a supervisor page.
#[test]
fn user_supervisor() {
    let (mut m, p) = long_mode();
    m.set64(0x4000 + 8 * 8, 0x12_5000 | 0b011);
    assert_eq!(go(&m, &p, 0x8000, read(AccessKind::Read)), Ok(0x12_5000));
    assert_eq!(
        go(&m, &p, 0x8000, user(AccessKind::Read)),
        pf(P | U, 0x8000)
    );
    assert_eq!(
        go(&m, &p, 0x8000, user(AccessKind::Fetch)),
        pf(P | U | ID, 0x8000)
    );
}

/// XD forbids fetches with EFER.NXE and is a reserved bit without it.
#[test]
fn execute_disable() {
    let (mut m, mut p) = long_mode();
    m.set64(0x4000 + 9 * 8, 0x12_6000 | PWU | XD);
    assert_eq!(go(&m, &p, 0x9000, read(AccessKind::Read)), Ok(0x12_6000));
    assert_eq!(
        go(&m, &p, 0x9000, read(AccessKind::Fetch)),
        pf(P | ID, 0x9000)
    );
    p.efer &= !bits::EFER_NXE;
    assert_eq!(
        go(&m, &p, 0x9000, read(AccessKind::Read)),
        pf(P | RSVD, 0x9000)
    );
}

/// Reserved bits: above MAXPHYADDR, PS in a PML4E, bits 20:13 of a 2 MiB PDE.
#[test]
fn reserved_bits() {
    let (mut m, mut p) = long_mode();
    m.set64(0x4000 + 10 * 8, (1 << 50) | 0x12_7000 | PWU);
    assert_eq!(
        go(&m, &p, 0xA000, read(AccessKind::Write)),
        pf(P | W | RSVD, 0xA000)
    );
    p.phys_addr_bits = 52;
    assert_eq!(
        go(&m, &p, 0xA000, read(AccessKind::Read)),
        Ok((1 << 50) | 0x12_7000)
    );
    p.phys_addr_bits = 48;
    m.set64(0x3000 + 2 * 8, 0x60_0000 | 0x2000 | PS | PWU);
    assert_eq!(
        go(&m, &p, 0x40_0000, read(AccessKind::Read)),
        pf(P | RSVD, 0x40_0000)
    );
    m.set64(0x1000 + 8, 0x2000 | PS | PWU);
    assert_eq!(
        go(&m, &p, 0x80_0000_0000, user(AccessKind::Read)),
        pf(P | RSVD | U, 0x80_0000_0000)
    );
}

/// SMEP stops supervisor fetches from user pages; SMAP stops supervisor data accesses
/// to user pages unless RFLAGS.AC is set.
#[test]
fn smep_and_smap() {
    let (m, mut p) = long_mode();
    p.cr4 |= bits::CR4_SMEP;
    assert_eq!(
        go(&m, &p, 0x5000, read(AccessKind::Fetch)),
        pf(P | ID, 0x5000)
    );
    assert_eq!(go(&m, &p, 0x5000, user(AccessKind::Fetch)), Ok(0x12_3000));
    p.cr4 |= bits::CR4_SMAP;
    assert_eq!(go(&m, &p, 0x5000, read(AccessKind::Read)), pf(P, 0x5000));
    assert_eq!(
        go(&m, &p, 0x5000, read(AccessKind::Write)),
        pf(P | W, 0x5000)
    );
    let ac = Access {
        kind: AccessKind::Write,
        user: false,
        smap_override: true,
    };
    assert_eq!(go(&m, &p, 0x5000, ac), Ok(0x12_3000));
    assert_eq!(go(&m, &p, 0x5000, user(AccessKind::Read)), Ok(0x12_3000));
}

/// A paging structure outside RAM is reported with its guest-physical address.
#[test]
fn tables_outside_ram() {
    let (mut m, mut p) = long_mode();
    m.set64(0x3000 + 3 * 8, 0xF000_0000 | PWU);
    assert_eq!(
        go(&m, &p, 0x60_2000, read(AccessKind::Read)),
        Err(WalkError::NotRam(0xF000_0010))
    );
    p.cr3 = 0x4000_0000;
    assert_eq!(
        go(&m, &p, 0x5000, read(AccessKind::Read)),
        Err(WalkError::NotRam(0x4000_0000))
    );
}

/// PAE paging: four PDPTEs at a 32-byte aligned CR3, 4 KiB and 2 MiB pages, PDPTE
/// reserved bits (R/W and U/S there are reserved).
#[test]
fn pae_paging() {
    let mut m = Mem::default();
    m.set64(0x7020, 0x8000 | 1);
    m.set64(0x7028, 0);
    m.set64(0x7030, 0x8000 | 0b11);
    m.set64(0x8000, 0x9000 | PWU);
    m.set64(0x8008, 0x80_0000 | PS | PWU);
    m.set64(0x9000 + 3 * 8, 0xAB_C000 | PWU);
    let mut p = Paging {
        cr0: bits::CR0_PG | 1,
        cr3: 0x7020,
        cr4: bits::CR4_PAE,
        efer: bits::EFER_NXE,
        phys_addr_bits: 36,
    };
    assert_eq!(go(&m, &p, 0x3123, read(AccessKind::Read)), Ok(0xAB_C123));
    assert_eq!(
        go(&m, &p, 0x20_0042, read(AccessKind::Write)),
        Ok(0x80_0042)
    );
    assert_eq!(
        go(&m, &p, 0x4000_0000, read(AccessKind::Fetch)),
        pf(ID, 0x4000_0000)
    );
    assert_eq!(
        go(&m, &p, 0x8000_0000, read(AccessKind::Read)),
        pf(P | RSVD, 0x8000_0000)
    );
    m.set64(0x9000 + 4 * 8, 0xAB_D000 | PWU | XD);
    assert_eq!(
        go(&m, &p, 0x4000, read(AccessKind::Fetch)),
        pf(P | ID, 0x4000)
    );
    p.efer = 0;
    assert_eq!(
        go(&m, &p, 0x4000, read(AccessKind::Read)),
        pf(P | RSVD, 0x4000)
    );
    assert_eq!(
        go(&m, &p, 0x4000_0000, read(AccessKind::Fetch)),
        pf(0, 0x4000_0000)
    );
}

/// 32-bit paging: 4-byte entries, 4 MiB pages with CR4.PSE (PSE-36 high address bits,
/// bit 21 reserved), PS ignored without CR4.PSE; I/D only with SMEP.
#[test]
fn legacy_paging() {
    let mut m = Mem::default();
    m.set32(0xB000, 0xC000 | 0b111);
    m.set32(0xB004, 0x0140_0000 | 0x87);
    m.set32(0xB008, 0x0080_0000 | (0x3 << 13) | 0x87);
    m.set32(0xB00C, 0x0080_0000 | (1 << 21) | 0x87);
    m.set32(0xC004, 0xD_E000 | 0b111);
    let mut p = Paging {
        cr0: bits::CR0_PG | 1,
        cr3: 0xB000,
        cr4: bits::CR4_PSE,
        efer: 0,
        phys_addr_bits: 36,
    };
    assert_eq!(go(&m, &p, 0x1456, read(AccessKind::Read)), Ok(0xD_E456));
    assert_eq!(
        go(&m, &p, 0x40_5678, read(AccessKind::Read)),
        Ok(0x0140_5678)
    );
    assert_eq!(
        go(&m, &p, 0x80_0010, read(AccessKind::Read)),
        Ok(0x3_0080_0010)
    );
    assert_eq!(
        go(&m, &p, 0xC0_0000, read(AccessKind::Read)),
        pf(P | RSVD, 0xC0_0000)
    );
    assert_eq!(go(&m, &p, 0x2000, read(AccessKind::Fetch)), pf(0, 0x2000));
    p.cr4 |= bits::CR4_SMEP;
    assert_eq!(go(&m, &p, 0x2000, read(AccessKind::Fetch)), pf(ID, 0x2000));
    // Without PSE the PS bit is ignored: the PDE points to a page table.
    p.cr4 = 0;
    m.set32(0xB004, 0xC000 | 0x87);
    assert_eq!(go(&m, &p, 0x40_1123, read(AccessKind::Read)), Ok(0xD_E123));
}

/// Instruction fetch reads across the page boundary until a page does not translate,
/// and reports why it stopped.
#[test]
fn fetch_stops_at_unmapped_page() {
    let (mut m, p) = long_mode();
    m.set_bytes(0x12_3FFE, &[0x8B, 0x07]);
    m.set_bytes(0x12_3100, &[0x89, 0x18, 0x90, 0x90]);
    let mut buf = [0u8; 15];
    let whole = fetch(&p, 0x5100, false, &|a| m.read(a), &mut buf);
    assert_eq!(whole.len, 15);
    assert_eq!(whole.error, None);
    assert_eq!(&buf[..4], &[0x89, 0x18, 0x90, 0x90]);
    let part = fetch(&p, 0x5FFE, false, &|a| m.read(a), &mut buf);
    assert_eq!(part.len, 2);
    assert_eq!(&buf[..2], &[0x8B, 0x07]);
    assert_eq!(
        part.error,
        Some(WalkError::PageFault {
            error_code: ID,
            address: 0x6000
        })
    );
}

/// Segment arithmetic: real-mode and 16-bit wrap, 32-bit wrap at 4 GiB, 64-bit mode
/// ignoring all bases but FS and GS.
#[test]
fn segment_linear_addresses() {
    use AddressSize::{Bits16, Bits32, Bits64};
    use SegmentMode::{Legacy, Long64};
    use SegmentRegister::{Ds, Es, Fs, Gs};
    assert_eq!(
        segment_linear(Ds, 0xF_0000, 0xFFF0, Bits16, Legacy),
        0xF_FFF0
    );
    assert_eq!(
        segment_linear(Ds, 0xF_FFF0, 0xFFFF, Bits16, Legacy),
        0x10_FFEF
    );
    assert_eq!(segment_linear(Es, 0x1000, 0x1_0005, Bits16, Legacy), 0x1005);
    assert_eq!(
        segment_linear(Ds, 0xFFFF_F000, 0x2000, Bits32, Legacy),
        0x1000
    );
    assert_eq!(
        segment_linear(Ds, 0x1000, 0xFFFF_FFFF_0000_0010, Bits32, Legacy),
        0x1010
    );
    assert_eq!(segment_linear(Ds, 0x1234_0000, 0x10, Bits64, Long64), 0x10);
    assert_eq!(
        segment_linear(Es, 0x1234_0000, 0x1_0000_0010, Bits32, Long64),
        0x10
    );
    assert_eq!(
        segment_linear(Fs, 0x7F00_0000_0000, 0x10, Bits64, Long64),
        0x7F00_0000_0010
    );
    assert_eq!(segment_linear(Gs, u64::MAX, 2, Bits64, Long64), 1);
    assert_eq!(AddressSize::from_bits(32), Some(Bits32));
    assert_eq!(AddressSize::from_bits(8), None);
}

/// Random tables, control registers and addresses never panic the walker.
#[test]
fn random_tables_never_panic() {
    let mut seed = 0xDEAD_BEEF_1234_5678u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..2000 {
        let salt = next();
        let reader = move |a: u64| {
            let x = (a ^ salt).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            (!x.is_multiple_of(7)).then_some(x.rotate_left(17) | 1)
        };
        let p = Paging {
            cr0: next(),
            cr3: next(),
            cr4: next(),
            efer: next(),
            phys_addr_bits: next() as u8,
        };
        let kind = [AccessKind::Read, AccessKind::Write, AccessKind::Fetch][(next() % 3) as usize];
        let access = Access {
            kind,
            user: next() % 2 == 0,
            smap_override: next() % 2 == 0,
        };
        let _ = translate(&p, next(), access, &reader);
        let mut buf = [0u8; 15];
        let f = fetch(&p, next(), next() % 2 == 0, &reader, &mut buf);
        assert!(f.len <= 15);
    }
}
