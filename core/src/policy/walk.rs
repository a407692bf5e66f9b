//! The guest page-table walker and segment arithmetic (SDM Vol. 3A, chapter 4 "Paging"
//! and 3.4 "Logical and Linear Addresses"; APM Vol. 2, chapter 5).
//!
//! The emulators use it to fetch the instruction that caused an exit and to find the
//! operands of string instructions: guest-linear addresses are translated through the
//! guest's own page tables to guest-physical ones, which the caller then reads from
//! partition RAM (or hands to a device).
//!
//! Supported: paging off (identity, 32-bit linear addresses), 32-bit paging (with 4 MiB
//! pages when CR4.PSE, including PSE-36 address bits), PAE paging (2 MiB pages) and
//! 4-level paging (2 MiB and 1 GiB pages). 5-level paging is refused with
//! [`WalkError::Unsupported`]; the partition's CPUID hides LA57, so a guest that enables
//! it anyway has ignored CPUID.
//!
//! Checked, with the architectural #PF error code on failure: presence, reserved bits at
//! every level (MAXPHYADDR and above, XD without EFER.NXE, the large-page and PDPTE
//! reserved fields), R/W with CR0.WP, U/S for CPL 3, XD for fetches, SMEP, and SMAP with
//! RFLAGS.AC. Not checked: protection keys (the walker does not see PKRU; a key only
//! ever restricts a process's access to its own pages) and segment limits.
//!
//! The walker only reads the tables: it sets no accessed or dirty bits. The instruction
//! being emulated was fetched by the processor, which set the accessed bits on its way;
//! for string operands the emulated access is completed through the caller's memory
//! access, and a guest that depends on the dirty bit of an MMIO-adjacent RAM page written
//! by an emulated `ins` is not one Bulkhead knows of.
//!
//! In PAE paging the processor uses the four PDPTEs it loaded with CR3; the walker reads
//! them from memory, which differs only for a guest that rewrote its PDPT without
//! reloading CR3.

/// A page-table read: the 8-byte little-endian word at an 8-aligned guest-physical
/// address, or `None` if the address is not partition RAM.
pub type PhysRead<'a> = &'a dyn Fn(u64) -> Option<u64>;

/// Control state that decides how linear addresses translate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Paging {
    /// CR0: PG (bit 31), WP (bit 16).
    pub cr0: u64,
    /// CR3: the root table.
    pub cr3: u64,
    /// CR4: PSE (bit 4), PAE (bit 5), LA57 (bit 12), SMEP (bit 20), SMAP (bit 21).
    pub cr4: u64,
    /// EFER: LMA (bit 10), NXE (bit 11).
    pub efer: u64,
    /// MAXPHYADDR of the guest (CPUID 0x8000_0008 EAX\[7:0\]); 32..=52.
    pub phys_addr_bits: u8,
}

/// Control register bits the walker reads.
pub mod bits {
    /// CR0.WP: supervisor writes honour R/W.
    pub const CR0_WP: u64 = 1 << 16;
    /// CR0.PG: paging on.
    pub const CR0_PG: u64 = 1 << 31;
    /// CR4.PSE: 4 MiB pages in 32-bit paging.
    pub const CR4_PSE: u64 = 1 << 4;
    /// CR4.PAE.
    pub const CR4_PAE: u64 = 1 << 5;
    /// CR4.LA57: 5-level paging.
    pub const CR4_LA57: u64 = 1 << 12;
    /// CR4.SMEP.
    pub const CR4_SMEP: u64 = 1 << 20;
    /// CR4.SMAP.
    pub const CR4_SMAP: u64 = 1 << 21;
    /// EFER.LMA.
    pub const EFER_LMA: u64 = 1 << 10;
    /// EFER.NXE.
    pub const EFER_NXE: u64 = 1 << 11;
}

/// Page-fault error code bits (SDM Vol. 3A, 4.7).
pub mod error_code {
    /// The fault was a protection violation (0: a not-present entry).
    pub const P: u32 = 1 << 0;
    /// The access was a write.
    pub const W: u32 = 1 << 1;
    /// The access was a user-mode (CPL 3) access.
    pub const U: u32 = 1 << 2;
    /// A reserved bit was set in a paging-structure entry.
    pub const RSVD: u32 = 1 << 3;
    /// The access was an instruction fetch (reported only with SMEP or PAE+NXE).
    pub const ID: u32 = 1 << 4;
}

/// Paging-structure entry bits.
mod entry {
    pub const PRESENT: u64 = 1 << 0;
    pub const WRITABLE: u64 = 1 << 1;
    pub const USER: u64 = 1 << 2;
    pub const PAGE_SIZE: u64 = 1 << 7;
    pub const XD: u64 = 1 << 63;
}

/// What kind of access the translation is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessKind {
    /// Data read.
    Read,
    /// Data write.
    Write,
    /// Instruction fetch.
    Fetch,
}

/// One access, as the permission checks need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    /// Read, write or fetch.
    pub kind: AccessKind,
    /// CPL 3 (a user-mode access).
    pub user: bool,
    /// RFLAGS.AC at a supervisor data access: with SMAP, it permits access to user pages.
    pub smap_override: bool,
}

impl Access {
    /// A supervisor-or-user access of `kind` without the SMAP override.
    pub const fn new(kind: AccessKind, user: bool) -> Self {
        Self {
            kind,
            user,
            smap_override: false,
        }
    }
}

/// Why a translation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalkError {
    /// Inject #PF with this error code, CR2 = `address`.
    PageFault {
        /// The #PF error code.
        error_code: u32,
        /// The linear address that faulted.
        address: u64,
    },
    /// A paging structure lies outside partition RAM: this guest-physical address.
    NotRam(u64),
    /// A non-canonical address in 64-bit mode: #GP(0) (#SS(0) for stack accesses).
    NonCanonical(u64),
    /// A paging mode the walker does not implement.
    Unsupported(UnsupportedPaging),
}

/// A paging mode the walker does not implement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnsupportedPaging {
    /// 5-level paging (CR4.LA57).
    FiveLevel,
}

/// Accumulated rights along a walk.
#[derive(Clone, Copy)]
struct Rights {
    writable: bool,
    user: bool,
    execute_disabled: bool,
}

/// How one walk goes: fault and entry helpers shared by the paging modes.
struct Walker<'a> {
    paging: &'a Paging,
    linear: u64,
    access: Access,
    read: PhysRead<'a>,
}

impl Walker<'_> {
    fn nxe(&self) -> bool {
        self.paging.efer & bits::EFER_NXE != 0
    }

    /// The #PF error code for this access with the given cause bits.
    fn fault(&self, cause: u32) -> WalkError {
        let mut code = cause;
        if self.access.kind == AccessKind::Write {
            code |= error_code::W;
        }
        if self.access.user {
            code |= error_code::U;
        }
        let pae = self.paging.cr4 & bits::CR4_PAE != 0;
        let smep = self.paging.cr4 & bits::CR4_SMEP != 0;
        if self.access.kind == AccessKind::Fetch && (smep || (pae && self.nxe())) {
            code |= error_code::ID;
        }
        WalkError::PageFault {
            error_code: code,
            address: self.linear,
        }
    }

    /// Bits MAXPHYADDR..=`top` of an entry, which must be zero.
    fn above_phys(&self, top: u32) -> u64 {
        let phys = u32::from(self.paging.phys_addr_bits.clamp(32, 52));
        let from = u64::MAX.checked_shl(phys).unwrap_or(0);
        let to = u64::MAX.checked_shr(63u32.saturating_sub(top)).unwrap_or(0);
        from & to
    }

    /// Mask of physical address bits 12..MAXPHYADDR.
    fn frame_mask(&self) -> u64 {
        !self.above_phys(63) & !0xFFF
    }

    /// Reads the 64-bit entry at `address`.
    fn read64(&self, address: u64) -> Result<u64, WalkError> {
        (self.read)(address & !7).ok_or(WalkError::NotRam(address))
    }

    /// Reads the 32-bit entry at `address` (32-bit paging).
    fn read32(&self, address: u64) -> Result<u64, WalkError> {
        let word = (self.read)(address & !7).ok_or(WalkError::NotRam(address))?;
        let shift = if address & 4 != 0 { 32 } else { 0 };
        Ok((word >> shift) & 0xFFFF_FFFF)
    }

    /// Checks presence and reserved bits, and folds the entry's rights into `rights`.
    fn visit(&self, value: u64, reserved: u64, rights: &mut Rights) -> Result<(), WalkError> {
        if value & entry::PRESENT == 0 {
            return Err(self.fault(0));
        }
        if value & reserved != 0 {
            return Err(self.fault(error_code::P | error_code::RSVD));
        }
        rights.writable &= value & entry::WRITABLE != 0;
        rights.user &= value & entry::USER != 0;
        if self.nxe() && value & entry::XD != 0 {
            rights.execute_disabled = true;
        }
        Ok(())
    }

    /// The access-rights checks of SDM Vol. 3A, 4.6, once the walk reached a page.
    fn check(&self, rights: Rights) -> Result<(), WalkError> {
        let cr0_wp = self.paging.cr0 & bits::CR0_WP != 0;
        let smep = self.paging.cr4 & bits::CR4_SMEP != 0;
        let smap = self.paging.cr4 & bits::CR4_SMAP != 0;
        let user_page = rights.user;
        // SMEP: supervisor fetches from user pages; SMAP: supervisor data accesses to
        // user pages unless RFLAGS.AC (SDM Vol. 3A, 4.6.1).
        let smep_blocks = smep && user_page;
        let smap_blocks = smap && user_page && !self.access.smap_override;
        let allowed = match (self.access.kind, self.access.user) {
            (AccessKind::Fetch, true) => user_page && !rights.execute_disabled,
            (AccessKind::Fetch, false) => !rights.execute_disabled && !smep_blocks,
            (AccessKind::Read, true) => user_page,
            (AccessKind::Read, false) => !smap_blocks,
            (AccessKind::Write, true) => user_page && rights.writable,
            (AccessKind::Write, false) => !smap_blocks && (rights.writable || !cr0_wp),
        };
        if allowed {
            Ok(())
        } else {
            Err(self.fault(error_code::P))
        }
    }

    fn start_rights() -> Rights {
        Rights {
            writable: true,
            user: true,
            execute_disabled: false,
        }
    }

    /// The XD bit where it is reserved (without EFER.NXE).
    fn xd_reserved(&self) -> u64 {
        if self.nxe() { 0 } else { entry::XD }
    }

    /// 4-level paging (SDM Vol. 3A, 4.5).
    fn four_level(&self) -> Result<u64, WalkError> {
        let linear = self.linear;
        let sign = ((linear as i64) << 16) >> 16;
        if sign as u64 != linear {
            return Err(WalkError::NonCanonical(linear));
        }
        let high = self.above_phys(51) | self.xd_reserved();
        let mut rights = Self::start_rights();
        let mut table = self.paging.cr3 & self.frame_mask();
        // (shift of the index, reserved bits when PS = 1 or None if PS is reserved).
        let levels: [(u32, Option<u64>); 4] = [
            (39, None),
            (30, Some(0x3FFF_E000)),
            (21, Some(0x1F_E000)),
            (12, None),
        ];
        for (shift, large_reserved) in levels {
            let address = table | (((linear >> shift) & 0x1FF) << 3);
            let value = self.read64(address)?;
            let is_large = shift != 12 && value & entry::PAGE_SIZE != 0;
            let reserved = match (shift, is_large, large_reserved) {
                // PML4E: PS is reserved.
                (39, _, _) => high | entry::PAGE_SIZE,
                (_, true, Some(large)) => high | large,
                _ => high,
            };
            self.visit(value, reserved, &mut rights)?;
            if shift == 12 || (is_large && large_reserved.is_some()) {
                self.check(rights)?;
                let page_mask = !(u64::MAX << shift);
                let frame = value & self.frame_mask() & !page_mask;
                return Ok(frame | (linear & page_mask));
            }
            table = value & self.frame_mask();
        }
        // The loop returns at the last level.
        Err(self.fault(0))
    }

    /// PAE paging (SDM Vol. 3A, 4.4).
    fn pae(&self) -> Result<u64, WalkError> {
        let linear = self.linear & 0xFFFF_FFFF;
        let mut rights = Self::start_rights();
        let pdpt = self.paging.cr3 & 0xFFFF_FFE0;
        let pdpte = self.read64(pdpt | ((linear >> 30) << 3))?;
        // PDPTE: bits 2:1, 8:5 and 63:MAXPHYADDR reserved; it grants no rights.
        if pdpte & entry::PRESENT == 0 {
            return Err(self.fault(0));
        }
        if pdpte & (0x1E6 | self.above_phys(63)) != 0 {
            return Err(self.fault(error_code::P | error_code::RSVD));
        }
        let high = self.above_phys(62) | self.xd_reserved();
        let pd = pdpte & self.frame_mask();
        let pde = self.read64(pd | (((linear >> 21) & 0x1FF) << 3))?;
        if pde & entry::PAGE_SIZE != 0 {
            self.visit(pde, high | 0x1F_E000, &mut rights)?;
            self.check(rights)?;
            return Ok((pde & self.frame_mask() & !0x1F_FFFF) | (linear & 0x1F_FFFF));
        }
        self.visit(pde, high, &mut rights)?;
        let pt = pde & self.frame_mask();
        let pte = self.read64(pt | (((linear >> 12) & 0x1FF) << 3))?;
        self.visit(pte, high, &mut rights)?;
        self.check(rights)?;
        Ok((pte & self.frame_mask()) | (linear & 0xFFF))
    }

    /// 32-bit paging (SDM Vol. 3A, 4.3).
    fn legacy(&self) -> Result<u64, WalkError> {
        let linear = self.linear & 0xFFFF_FFFF;
        let mut rights = Self::start_rights();
        let pd = self.paging.cr3 & 0xFFFF_F000;
        let pde = self.read32(pd | ((linear >> 22) << 2))?;
        if pde & entry::PAGE_SIZE != 0 && self.paging.cr4 & bits::CR4_PSE != 0 {
            // 4 MiB page: bits 20:13 hold physical address bits 39:32 (PSE-36) up to
            // MAXPHYADDR, the rest up to bit 21 is reserved.
            let high_bits = u32::from(self.paging.phys_addr_bits.clamp(32, 40)).saturating_sub(32);
            let address_field = !(u64::MAX << high_bits) << 13;
            let reserved = 0x3F_E000 & !address_field;
            self.visit(pde, reserved, &mut rights)?;
            self.check(rights)?;
            let high = ((pde >> 13) & !(u64::MAX << high_bits)) << 32;
            return Ok(high | (pde & 0xFFC0_0000) | (linear & 0x3F_FFFF));
        }
        self.visit(pde, 0, &mut rights)?;
        let pt = pde & 0xFFFF_F000;
        let pte = self.read32(pt | (((linear >> 12) & 0x3FF) << 2))?;
        self.visit(pte, 0, &mut rights)?;
        self.check(rights)?;
        Ok((pte & 0xFFFF_F000) | (linear & 0xFFF))
    }
}

/// Translates guest-linear `linear` to guest-physical for `access`, reading the guest's
/// page tables through `read`.
pub fn translate(
    paging: &Paging,
    linear: u64,
    access: Access,
    read: PhysRead<'_>,
) -> Result<u64, WalkError> {
    if paging.cr0 & bits::CR0_PG == 0 {
        return Ok(linear & 0xFFFF_FFFF);
    }
    let walker = Walker {
        paging,
        linear,
        access,
        read,
    };
    if paging.efer & bits::EFER_LMA != 0 {
        if paging.cr4 & bits::CR4_LA57 != 0 {
            return Err(WalkError::Unsupported(UnsupportedPaging::FiveLevel));
        }
        walker.four_level()
    } else if paging.cr4 & bits::CR4_PAE != 0 {
        walker.pae()
    } else {
        walker.legacy()
    }
}

/// Instruction bytes read by [`fetch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fetched {
    /// Bytes read into the buffer, from its start.
    pub len: usize,
    /// Why reading stopped before the buffer was full, if it did. The caller decodes
    /// what it has; only if the instruction needs more bytes is this error its fault.
    pub error: Option<WalkError>,
}

/// Reads instruction bytes from guest-linear `linear` into `buf` (up to its length, 15
/// for an x86 instruction), translating each page as an instruction fetch at CPL 3 when
/// `user`. Reading stops at the first page that does not translate or is no RAM.
pub fn fetch(
    paging: &Paging,
    linear: u64,
    user: bool,
    read: PhysRead<'_>,
    buf: &mut [u8],
) -> Fetched {
    let long = paging.efer & bits::EFER_LMA != 0;
    let access = Access::new(AccessKind::Fetch, user);
    let mut page: Option<(u64, u64)> = None;
    for (i, slot) in buf.iter_mut().enumerate() {
        let mut la = linear.wrapping_add(i as u64);
        if !long {
            la &= 0xFFFF_FFFF;
        }
        let page_base = match page {
            Some((lp, pp)) if lp == la & !0xFFF => pp,
            _ => match translate(paging, la, access, read) {
                Ok(gpa) => {
                    let pp = gpa & !0xFFF;
                    page = Some((la & !0xFFF, pp));
                    pp
                }
                Err(error) => {
                    return Fetched {
                        len: i,
                        error: Some(error),
                    };
                }
            },
        };
        let gpa = page_base | (la & 0xFFF);
        let Some(word) = read(gpa & !7) else {
            return Fetched {
                len: i,
                error: Some(WalkError::NotRam(gpa)),
            };
        };
        *slot = word
            .to_le_bytes()
            .get((gpa & 7) as usize)
            .copied()
            .unwrap_or(0);
    }
    Fetched {
        len: buf.len(),
        error: None,
    }
}

/// A segment register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SegmentRegister {
    /// ES.
    Es,
    /// CS.
    Cs,
    /// SS.
    Ss,
    /// DS.
    Ds,
    /// FS.
    Fs,
    /// GS.
    Gs,
}

/// The address size of an access (the effective address width, after any 0x67 prefix).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddressSize {
    /// 16-bit offsets, wrapping at 64 KiB.
    Bits16,
    /// 32-bit offsets.
    Bits32,
    /// 64-bit offsets (64-bit mode only).
    Bits64,
}

impl AddressSize {
    /// The address size for a width in bits: 16, 32 or 64.
    pub const fn from_bits(bits: u32) -> Option<Self> {
        match bits {
            16 => Some(AddressSize::Bits16),
            32 => Some(AddressSize::Bits32),
            64 => Some(AddressSize::Bits64),
            _ => None,
        }
    }

    /// Mask of the offset bits.
    pub const fn mask(self) -> u64 {
        match self {
            AddressSize::Bits16 => 0xFFFF,
            AddressSize::Bits32 => 0xFFFF_FFFF,
            AddressSize::Bits64 => u64::MAX,
        }
    }

    /// Width in bytes.
    pub const fn bytes(self) -> u8 {
        match self {
            AddressSize::Bits16 => 2,
            AddressSize::Bits32 => 4,
            AddressSize::Bits64 => 8,
        }
    }
}

/// How segments form linear addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SegmentMode {
    /// Real, virtual-8086, protected and compatibility mode: base + offset, wrapping at
    /// 4 GiB. (In real mode the base is the selector times 16, as the segment cache holds
    /// it; with A20 on, FFFF:FFFF reaches 0x10FFEF.)
    Legacy,
    /// 64-bit mode: the bases of ES, CS, SS and DS are treated as 0; FS and GS add theirs.
    Long64,
}

/// The linear address of `offset` in segment `segment` whose base is `base`.
/// Segment limits are not checked: the processor checked them for the access that
/// exited, and string-instruction operands are formed the same way.
pub fn segment_linear(
    segment: SegmentRegister,
    base: u64,
    offset: u64,
    address_size: AddressSize,
    mode: SegmentMode,
) -> u64 {
    let offset = offset & address_size.mask();
    match mode {
        SegmentMode::Legacy => base.wrapping_add(offset) & 0xFFFF_FFFF,
        SegmentMode::Long64 => match segment {
            SegmentRegister::Fs | SegmentRegister::Gs => base.wrapping_add(offset),
            _ => offset,
        },
    }
}

#[cfg(test)]
mod tests;
