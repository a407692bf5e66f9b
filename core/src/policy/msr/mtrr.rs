//! The emulated MTRRs and PAT (SDM Vol. 3A, 12.11 "Memory Type Range Registers" and
//! 12.12 "Page Attribute Table").
//!
//! They start as a PC firmware leaves them, so a guest booted without firmware finds a
//! sane memory map: MTRRs enabled, default type write-back, fixed ranges enabled with the
//! legacy VGA window (0xA0000..=0xBFFFF) uncacheable and the rest of the first megabyte
//! write-back (in a partition that area is plain RAM: there is no option ROM to protect
//! with write-protect), and every variable range disabled.
//!
//! Under nested paging the hardware ignores a guest's MTRRs (the effective memory type
//! comes from the host's MTRRs, the nested page tables and the guest PAT), so these are
//! what the guest reads back and what its own cache-attribute logic works from. The PAT,
//! in contrast, is used by the hardware: writes are handed to the backend.

/// IA32_MTRRCAP (read only).
pub const MTRRCAP: u32 = 0xFE;
/// IA32_MTRR_PHYSBASE0; PHYSBASEn is `0x200 + 2n`, PHYSMASKn `0x201 + 2n`.
pub const PHYSBASE0: u32 = 0x200;
/// The last variable-range MSR (IA32_MTRR_PHYSMASK7).
pub const PHYSMASK_LAST: u32 = PHYSBASE0 + 2 * VARIABLE_COUNT as u32 - 1;
/// IA32_MTRR_FIX64K_00000: eight 64 KiB ranges from 0.
pub const FIX64K_00000: u32 = 0x250;
/// IA32_MTRR_FIX16K_80000: eight 16 KiB ranges from 0x80000.
pub const FIX16K_80000: u32 = 0x258;
/// IA32_MTRR_FIX16K_A0000: eight 16 KiB ranges from 0xA0000.
pub const FIX16K_A0000: u32 = 0x259;
/// IA32_MTRR_FIX4K_C0000: the first of eight MSRs of eight 4 KiB ranges from 0xC0000.
pub const FIX4K_C0000: u32 = 0x268;
/// IA32_MTRR_FIX4K_F8000: the last fixed-range MSR.
pub const FIX4K_F8000: u32 = 0x26F;
/// IA32_PAT.
pub const PAT: u32 = 0x277;
/// IA32_MTRR_DEF_TYPE.
pub const DEF_TYPE: u32 = 0x2FF;

/// Number of variable ranges offered (IA32_MTRRCAP.VCNT).
pub const VARIABLE_COUNT: usize = 8;
/// IA32_MTRRCAP: VCNT = 8, FIX (bit 8) and WC (bit 10) supported, no SMRR.
pub const MTRRCAP_VALUE: u64 = VARIABLE_COUNT as u64 | 1 << 8 | 1 << 10;

/// Memory type encodings (SDM Vol. 3A, Table 12-8).
pub mod memory_type {
    /// Uncacheable.
    pub const UC: u8 = 0;
    /// Write combining.
    pub const WC: u8 = 1;
    /// Write through.
    pub const WT: u8 = 4;
    /// Write protected.
    pub const WP: u8 = 5;
    /// Write back.
    pub const WB: u8 = 6;
    /// UC- (PAT only).
    pub const UC_MINUS: u8 = 7;
}

/// IA32_MTRR_DEF_TYPE.FE (bit 10): fixed ranges enabled.
const DEF_TYPE_FE: u64 = 1 << 10;
/// IA32_MTRR_DEF_TYPE.E (bit 11): MTRRs enabled.
const DEF_TYPE_E: u64 = 1 << 11;
/// IA32_MTRR_PHYSMASKn.V (bit 11): the range is enabled.
const PHYSMASK_VALID: u64 = 1 << 11;

/// IA32_PAT at power-on: WB, WT, UC-, UC, repeated (SDM Vol. 3A, Table 12-12).
pub const PAT_POWER_ON: u64 = 0x0007_0406_0007_0406;

/// The fixed-range MSRs, in address order.
const FIXED_MSRS: [u32; 11] = [
    FIX64K_00000,
    FIX16K_80000,
    FIX16K_A0000,
    FIX4K_C0000,
    FIX4K_C0000 + 1,
    FIX4K_C0000 + 2,
    FIX4K_C0000 + 3,
    FIX4K_C0000 + 4,
    FIX4K_C0000 + 5,
    FIX4K_C0000 + 6,
    FIX4K_F8000,
];

/// Every byte of a fixed-range MSR set to `memory_type`.
const fn all_bytes(memory_type: u8) -> u64 {
    u64::from_le_bytes([memory_type; 8])
}

/// Whether `t` is a memory type an MTRR may hold (UC, WC, WT, WP, WB).
pub const fn valid_mtrr_type(t: u64) -> bool {
    matches!(t, 0 | 1 | 4 | 5 | 6)
}

/// Whether every byte of `value` is a memory type the PAT may hold (the MTRR types and
/// UC-); a PAT write failing this is #GP (SDM Vol. 3A, 12.12.2).
pub fn valid_pat(value: u64) -> bool {
    value
        .to_le_bytes()
        .iter()
        .all(|&b| matches!(b, 0 | 1 | 4 | 5 | 6 | 7))
}

/// A guest write the MTRRs refuse (#GP).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused;

/// One vCPU's MTRRs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mtrrs {
    def_type: u64,
    fixed: [u64; 11],
    /// (PHYSBASE, PHYSMASK) pairs.
    variable: [(u64, u64); VARIABLE_COUNT],
}

impl Mtrrs {
    /// The state firmware leaves: see the module documentation.
    pub fn firmware_defaults() -> Self {
        use memory_type::{UC, WB};
        let mut fixed = [all_bytes(WB); 11];
        // 0xA0000..=0xBFFFF, the legacy VGA window.
        if let Some(vga) = fixed.get_mut(2) {
            *vga = all_bytes(UC);
        }
        Self {
            def_type: DEF_TYPE_E | DEF_TYPE_FE | u64::from(WB),
            fixed,
            variable: [(0, 0); VARIABLE_COUNT],
        }
    }

    /// The value of MTRR `msr`, or `None` if `msr` is not an MTRR.
    pub fn read(&self, msr: u32) -> Option<u64> {
        match msr {
            MTRRCAP => Some(MTRRCAP_VALUE),
            DEF_TYPE => Some(self.def_type),
            PHYSBASE0..=PHYSMASK_LAST => {
                let (base, mask) = *self.variable.get(variable_index(msr)?)?;
                Some(if msr & 1 == 0 { base } else { mask })
            }
            _ => self.fixed.get(fixed_index(msr)?).copied(),
        }
    }

    /// Writes MTRR `msr`. `Ok(false)` if `msr` is not an MTRR; `Err` for a write the
    /// processor refuses with #GP: MTRRCAP (read only), a reserved bit, or an invalid
    /// memory type (SDM Vol. 3A, 12.11.2, 12.11.2.3). `phys_bits` is MAXPHYADDR.
    pub fn write(&mut self, msr: u32, value: u64, phys_bits: u8) -> Result<bool, Refused> {
        let above_phys = u64::MAX.checked_shl(u32::from(phys_bits)).unwrap_or(0);
        match msr {
            MTRRCAP => Err(Refused),
            DEF_TYPE => {
                let reserved = !(0xFF | DEF_TYPE_FE | DEF_TYPE_E);
                if value & reserved != 0 || !valid_mtrr_type(value & 0xFF) {
                    return Err(Refused);
                }
                self.def_type = value;
                Ok(true)
            }
            PHYSBASE0..=PHYSMASK_LAST => {
                let pair = variable_index(msr)
                    .and_then(|i| self.variable.get_mut(i))
                    .ok_or(Refused)?;
                if msr & 1 == 0 {
                    // Bits 11:8 reserved, the type must be valid.
                    if value & (0xF00 | above_phys) != 0 || !valid_mtrr_type(value & 0xFF) {
                        return Err(Refused);
                    }
                    pair.0 = value;
                } else {
                    if value & (0x7FF | above_phys) != 0 {
                        return Err(Refused);
                    }
                    pair.1 = value;
                }
                Ok(true)
            }
            _ => {
                let Some(slot) = fixed_index(msr).and_then(|i| self.fixed.get_mut(i)) else {
                    return Ok(false);
                };
                if !value
                    .to_le_bytes()
                    .iter()
                    .all(|&b| valid_mtrr_type(u64::from(b)))
                {
                    return Err(Refused);
                }
                *slot = value;
                Ok(true)
            }
        }
    }

    /// The memory type the MTRRs give guest-physical `address` (SDM Vol. 3A, 12.11.4.1),
    /// for diagnostics and tests.
    pub fn memory_type(&self, address: u64) -> u8 {
        if self.def_type & DEF_TYPE_E == 0 {
            return memory_type::UC;
        }
        if address < 0x10_0000
            && self.def_type & DEF_TYPE_FE != 0
            && let Some(t) = self.fixed_type(address)
        {
            return t;
        }
        let mut found: Option<u8> = None;
        for &(base, mask) in &self.variable {
            if mask & PHYSMASK_VALID == 0 {
                continue;
            }
            let range_mask = mask & !0xFFF;
            if address & range_mask != base & range_mask {
                continue;
            }
            let t = (base & 0xFF) as u8;
            found = Some(match (found, t) {
                (None, t) => t,
                // Overlaps: UC wins, WT over WB (12.11.4.1); other overlaps are
                // undefined, the first one is kept.
                (Some(memory_type::UC), _) | (_, memory_type::UC) => memory_type::UC,
                (Some(memory_type::WT), memory_type::WB)
                | (Some(memory_type::WB), memory_type::WT) => memory_type::WT,
                (Some(old), _) => old,
            });
        }
        found.unwrap_or((self.def_type & 0xFF) as u8)
    }

    fn fixed_type(&self, address: u64) -> Option<u8> {
        let (msr_index, byte) = match address {
            0..=0x7_FFFF => (0, address >> 16),
            0x8_0000..=0xB_FFFF => {
                let offset = address.checked_sub(0x8_0000)?;
                (
                    1usize.checked_add((offset >> 17) as usize)?,
                    (offset >> 14) & 7,
                )
            }
            _ => {
                let offset = address.checked_sub(0xC_0000)?;
                (
                    3usize.checked_add((offset >> 15) as usize)?,
                    (offset >> 12) & 7,
                )
            }
        };
        let value = self.fixed.get(msr_index)?;
        value.to_le_bytes().get(byte as usize).copied()
    }
}

/// Index into the fixed-range array of MSR `msr`.
fn fixed_index(msr: u32) -> Option<usize> {
    FIXED_MSRS.iter().position(|&m| m == msr)
}

/// Variable range pair number of a PHYSBASE/PHYSMASK MSR.
fn variable_index(msr: u32) -> Option<usize> {
    let offset = msr.checked_sub(PHYSBASE0)?;
    usize::try_from(offset >> 1)
        .ok()
        .filter(|&i| i < VARIABLE_COUNT)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing, clippy::unwrap_used)]

    use super::memory_type::{UC, WB, WC, WT};
    use super::*;

    const PHYS_BITS: u8 = 48;

    /// The initial state is what firmware leaves: enabled, default WB, fixed ranges on,
    /// VGA window UC, the rest of the first MiB WB, no variable range.
    #[test]
    fn firmware_defaults() {
        let m = Mtrrs::firmware_defaults();
        assert_eq!(m.read(MTRRCAP), Some(0x508));
        assert_eq!(m.read(DEF_TYPE), Some(0xC06));
        assert_eq!(m.read(FIX64K_00000), Some(0x0606_0606_0606_0606));
        assert_eq!(m.read(FIX16K_80000), Some(0x0606_0606_0606_0606));
        assert_eq!(m.read(FIX16K_A0000), Some(0));
        for msr in FIX4K_C0000..=FIX4K_F8000 {
            assert_eq!(m.read(msr), Some(0x0606_0606_0606_0606));
        }
        for msr in PHYSBASE0..=PHYSMASK_LAST {
            assert_eq!(m.read(msr), Some(0));
        }
        assert_eq!(m.memory_type(0x9_F000), WB);
        assert_eq!(m.memory_type(0xA_0000), UC);
        assert_eq!(m.memory_type(0xB_FFFF), UC);
        assert_eq!(m.memory_type(0xC_0000), WB);
        assert_eq!(m.memory_type(0xF_FFFF), WB);
        assert_eq!(m.memory_type(0x1_0000_0000), WB);
    }

    /// Invalid memory types (2, 3, 7 and above) and reserved bits are refused; MTRRCAP
    /// is read only; valid writes are stored (SDM Vol. 3A, 12.11.2).
    #[test]
    fn writes_are_validated() {
        let mut m = Mtrrs::firmware_defaults();
        assert_eq!(m.write(MTRRCAP, 0x508, PHYS_BITS), Err(Refused));
        assert_eq!(m.write(DEF_TYPE, 0xC02, PHYS_BITS), Err(Refused));
        assert_eq!(m.write(DEF_TYPE, 0xC07, PHYS_BITS), Err(Refused));
        assert_eq!(m.write(DEF_TYPE, 0x1C06, PHYS_BITS), Err(Refused));
        assert_eq!(m.write(DEF_TYPE, 0x800, PHYS_BITS), Ok(true));
        assert_eq!(m.memory_type(0), UC, "fixed ranges off, default UC");
        assert_eq!(
            m.write(FIX64K_00000, 0x0606_0606_0606_0603, PHYS_BITS),
            Err(Refused)
        );
        assert_eq!(
            m.write(FIX64K_00000, 0x0101_0101_0101_0101, PHYS_BITS),
            Ok(true)
        );
        // Variable: base type 3 invalid, base bits 11:8 reserved, mask bits 10:0
        // reserved, bits at and above MAXPHYADDR reserved.
        assert_eq!(m.write(0x200, 0x8000_0003, PHYS_BITS), Err(Refused));
        assert_eq!(m.write(0x200, 0x8000_0106, PHYS_BITS), Err(Refused));
        assert_eq!(m.write(0x201, 0xF_C000_0801, PHYS_BITS), Err(Refused));
        assert_eq!(m.write(0x201, 1 << 48 | 0x800, PHYS_BITS), Err(Refused));
        assert_eq!(
            m.write(0x20E, 0x8000_0000 | u64::from(WC), PHYS_BITS),
            Ok(true)
        );
        assert_eq!(
            m.write(0x20F, 0xFFFF_F000_0000 | PHYSMASK_VALID, PHYS_BITS),
            Ok(true)
        );
        assert_eq!(m.read(0x20E), Some(0x8000_0001));
        assert_eq!(m.write(DEF_TYPE, 0xC06, PHYS_BITS), Ok(true));
        assert_eq!(m.memory_type(0x8000_1000), WC);
        assert_eq!(m.memory_type(0x9000_0000), WB);
        // Not an MTRR at all.
        assert_eq!(m.write(0x210, 0, PHYS_BITS), Ok(false));
        assert_eq!(m.read(0x210), None);
    }

    /// Overlapping variable ranges: UC wins, and WT wins over WB.
    #[test]
    fn overlap_precedence() {
        let mut m = Mtrrs::firmware_defaults();
        let mask_1g = 0xFFFF_C000_0000 | PHYSMASK_VALID;
        m.write(0x200, u64::from(WB), PHYS_BITS).unwrap();
        m.write(0x201, mask_1g, PHYS_BITS).unwrap();
        m.write(0x202, u64::from(WT), PHYS_BITS).unwrap();
        m.write(0x203, mask_1g, PHYS_BITS).unwrap();
        assert_eq!(m.memory_type(0x1000_0000), WT);
        m.write(0x204, u64::from(UC), PHYS_BITS).unwrap();
        m.write(0x205, mask_1g, PHYS_BITS).unwrap();
        assert_eq!(m.memory_type(0x1000_0000), UC);
    }

    /// Every PAT entry must be a valid type: 2 and 3 and anything with bits 7:3 set are
    /// refused; the power-on value is valid.
    #[test]
    fn pat_validity() {
        assert!(valid_pat(PAT_POWER_ON));
        assert!(valid_pat(0x0007_0501_0007_0406));
        assert!(!valid_pat(0x0007_0406_0007_0402));
        assert!(!valid_pat(0x0007_0406_0307_0406));
        assert!(!valid_pat(0x0807_0406_0007_0406));
        assert!(!valid_pat(u64::MAX));
    }
}
