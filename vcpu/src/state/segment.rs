//! Segment registers, their attributes, and descriptor-table registers.

/// A segment register's attributes in the 12-bit packed form of the VMCB save area (APM
/// Vol. 2, 15.5.1 "Basic Operation", segment state in the VMCB): the descriptor's bits
/// 40..=47 and 52..=55, squeezed together.
///
/// | bits  | field | meaning                                                        |
/// |-------|-------|----------------------------------------------------------------|
/// | 0..=3 | type  | segment type (for code/data: bit 0 accessed, bit 1 R/W, bit 3 code) |
/// | 4     | S     | 1 = code or data, 0 = system (TSS, LDT, gates)                 |
/// | 5..=6 | DPL   | descriptor privilege level                                     |
/// | 7     | P     | present                                                        |
/// | 8     | AVL   | available to software                                          |
/// | 9     | L     | 64-bit code segment                                            |
/// | 10    | D/B   | default operation size 32 (code) / big (data, stack)           |
/// | 11    | G     | granularity: limit counts 4 KiB units                          |
///
/// VMX's access-rights field (SDM Vol. 3C, "Guest Register State", format of access
/// rights) keeps bits 0..=7 where they are, moves bits 8..=11 up to 12..=15 and adds
/// bit 16, "unusable". This crate's convention: a segment whose P bit is clear is what
/// VMX calls unusable (a null selector loaded in protected mode); see
/// [`to_vmx_access_rights`](Self::to_vmx_access_rights).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SegmentAttributes(u16);

impl SegmentAttributes {
    /// Type bit 0: accessed.
    pub const TYPE_ACCESSED: u16 = 1 << 0;
    /// Type bit 1: readable (code) or writable (data).
    pub const TYPE_READ_WRITE: u16 = 1 << 1;
    /// Type bit 3: code segment.
    pub const TYPE_CODE: u16 = 1 << 3;
    /// System type 2: LDT.
    pub const TYPE_LDT: u16 = 0x2;
    /// System type 11: busy 32-bit TSS (busy 64-bit TSS in long mode).
    pub const TYPE_TSS_BUSY: u16 = 0xB;
    /// S: code or data (not system).
    pub const S: u16 = 1 << 4;
    /// P: present.
    pub const P: u16 = 1 << 7;
    /// AVL: available to software.
    pub const AVL: u16 = 1 << 8;
    /// L: 64-bit code.
    pub const L: u16 = 1 << 9;
    /// D/B: 32-bit default size.
    pub const DB: u16 = 1 << 10;
    /// G: 4 KiB granularity.
    pub const G: u16 = 1 << 11;

    /// Clear: what VMX calls an unusable segment.
    pub const UNUSABLE: Self = Self(0);
    /// Real-mode code after reset: present, execute/read, accessed (0x9B).
    pub const REAL_CODE: Self =
        Self(Self::P | Self::S | Self::TYPE_CODE | Self::TYPE_READ_WRITE | Self::TYPE_ACCESSED);
    /// Real-mode data after reset: present, read/write, accessed (0x93).
    pub const REAL_DATA: Self =
        Self(Self::P | Self::S | Self::TYPE_READ_WRITE | Self::TYPE_ACCESSED);
    /// Flat 32-bit code: [`REAL_CODE`](Self::REAL_CODE) plus D and G (0xC9B).
    pub const CODE32: Self = Self(Self::REAL_CODE.0 | Self::DB | Self::G);
    /// 64-bit code: [`REAL_CODE`](Self::REAL_CODE) plus L and G (0xA9B); D must be clear.
    pub const CODE64: Self = Self(Self::REAL_CODE.0 | Self::L | Self::G);
    /// Flat 32-bit data: [`REAL_DATA`](Self::REAL_DATA) plus B and G (0xC93).
    pub const DATA32: Self = Self(Self::REAL_DATA.0 | Self::DB | Self::G);
    /// LDT, present (0x82): LDTR after reset.
    pub const LDT: Self = Self(Self::P | Self::TYPE_LDT);
    /// Busy TSS, present (0x8B): TR after reset and at every boot protocol's entry. VMX
    /// refuses a TR whose type is not busy.
    pub const TSS_BUSY: Self = Self(Self::P | Self::TYPE_TSS_BUSY);

    /// The attributes from their packed form; bits above 11 are dropped.
    pub const fn from_bits(bits: u16) -> Self {
        Self(bits & 0x0FFF)
    }

    /// The packed form, as the VMCB stores it.
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// The 4-bit segment type.
    pub const fn segment_type(self) -> u8 {
        (self.0 & 0xF) as u8
    }

    /// S: a code or data segment rather than a system one.
    pub const fn code_or_data(self) -> bool {
        self.0 & Self::S != 0
    }

    /// A code segment (S set and type bit 3 set).
    pub const fn is_code(self) -> bool {
        self.code_or_data() && self.0 & Self::TYPE_CODE != 0
    }

    /// The descriptor privilege level.
    pub const fn dpl(self) -> u8 {
        ((self.0 >> 5) & 0x3) as u8
    }

    /// P: present (usable, in VMX terms).
    pub const fn present(self) -> bool {
        self.0 & Self::P != 0
    }

    /// L: 64-bit code segment.
    pub const fn long(self) -> bool {
        self.0 & Self::L != 0
    }

    /// D/B: 32-bit default operand size (code) or big stack (data).
    pub const fn default_big(self) -> bool {
        self.0 & Self::DB != 0
    }

    /// G: the limit counts 4 KiB units.
    pub const fn granular(self) -> bool {
        self.0 & Self::G != 0
    }

    /// The same attributes with the privilege level replaced.
    pub const fn with_dpl(self, dpl: u8) -> Self {
        Self((self.0 & !(0x3 << 5)) | (((dpl & 0x3) as u16) << 5))
    }

    /// VMX access rights: bits 0..=7 unchanged, 8..=11 moved to 12..=15, and bit 16
    /// (unusable) set when P is clear. The other bits of an unusable segment are kept:
    /// VMX ignores them, but SS.DPL of an unusable SS still holds the CPL.
    pub const fn to_vmx_access_rights(self) -> u32 {
        let low = (self.0 & 0xFF) as u32;
        let high = ((self.0 >> 8) & 0xF) as u32;
        let unusable = if self.present() { 0 } else { 1 << 16 };
        low | (high << 12) | unusable
    }

    /// The inverse of [`to_vmx_access_rights`](Self::to_vmx_access_rights): an unusable
    /// segment comes back with P clear, whatever its P bit said.
    pub const fn from_vmx_access_rights(access_rights: u32) -> Self {
        let low = (access_rights & 0xFF) as u16;
        let high = ((access_rights >> 12) & 0xF) as u16;
        let bits = low | (high << 8);
        if access_rights & (1 << 16) != 0 {
            Self(bits & !Self::P)
        } else {
            Self(bits)
        }
    }
}

/// A segment register: the visible selector and the hidden descriptor cache, as both
/// the VMCB and the VMCS hold it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Segment {
    /// The visible selector.
    pub selector: u16,
    /// Base address (64 bits for FS, GS, TR and LDTR in long mode; 32 bits otherwise).
    pub base: u64,
    /// Limit in bytes, already scaled by G (a flat 4 GiB segment has 0xFFFF_FFFF).
    pub limit: u32,
    /// Attributes in the VMCB's packed form.
    pub attributes: SegmentAttributes,
}

impl Segment {
    /// A segment as real mode loads it: base `selector * 16`, the given limit and
    /// attributes.
    pub const fn real_mode(selector: u16, limit: u32, attributes: SegmentAttributes) -> Self {
        Self {
            selector,
            base: (selector as u64) << 4,
            limit,
            attributes,
        }
    }

    /// A flat segment: base 0, limit 4 GiB - 1.
    pub const fn flat(selector: u16, attributes: SegmentAttributes) -> Self {
        Self {
            selector,
            base: 0,
            limit: u32::MAX,
            attributes,
        }
    }

    /// The 8-byte GDT/LDT descriptor for this segment (SDM Vol. 3A, 3.4.5 "Segment
    /// Descriptors"), or `None` when it has no such encoding: a base above 4 GiB, or a
    /// limit that G cannot express (with G set the low 12 bits must be all ones; without
    /// it the limit must fit 20 bits). System descriptors in long mode are 16 bytes: see
    /// [`to_system_descriptor_64`](Self::to_system_descriptor_64).
    pub const fn to_descriptor(&self) -> Option<u64> {
        if self.base > u32::MAX as u64 {
            return None;
        }
        let raw_limit = if self.attributes.granular() {
            if self.limit & 0xFFF != 0xFFF {
                return None;
            }
            self.limit >> 12
        } else {
            if self.limit > 0xF_FFFF {
                return None;
            }
            self.limit
        };
        let limit = raw_limit as u64;
        let attrs = self.attributes.bits() as u64;
        let base = self.base;
        Some(
            (limit & 0xFFFF)
                | ((base & 0xFF_FFFF) << 16)
                | ((attrs & 0xFF) << 40)
                | (((limit >> 16) & 0xF) << 48)
                | (((attrs >> 8) & 0xF) << 52)
                | (((base >> 24) & 0xFF) << 56),
        )
    }

    /// The 16-byte long-mode system descriptor (TSS, LDT) for this segment (SDM Vol. 3A,
    /// 8.2.3 "TSS Descriptor in 64-bit mode"): the legacy 8 bytes with base bits 32..=63
    /// in the following quadword.
    pub const fn to_system_descriptor_64(&self) -> Option<[u64; 2]> {
        let low = Segment {
            base: self.base & 0xFFFF_FFFF,
            ..*self
        };
        match low.to_descriptor() {
            Some(first) => Some([first, self.base >> 32]),
            None => None,
        }
    }

    /// The segment a descriptor loads: what the processor caches when `selector` is
    /// loaded and `descriptor` is the 8-byte entry it names.
    pub const fn from_descriptor(selector: u16, descriptor: u64) -> Self {
        let raw_limit = ((descriptor & 0xFFFF) | (((descriptor >> 48) & 0xF) << 16)) as u32;
        let base = ((descriptor >> 16) & 0xFF_FFFF) | (((descriptor >> 56) & 0xFF) << 24);
        let attrs = (((descriptor >> 40) & 0xFF) | (((descriptor >> 52) & 0xF) << 8)) as u16;
        let attributes = SegmentAttributes::from_bits(attrs);
        let limit = if attributes.granular() {
            (raw_limit << 12) | 0xFFF
        } else {
            raw_limit
        };
        Self {
            selector,
            base,
            limit,
            attributes,
        }
    }
}

/// A segment register, named. [`SegmentReg::from_sreg`] takes the 3-bit encoding
/// instructions use (SDM Vol. 2A, 3.1.1.2, "Sreg": ES = 0 ... GS = 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SegmentReg {
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
    /// LDTR.
    Ldtr,
    /// TR.
    Tr,
}

impl SegmentReg {
    /// All eight, the six data/code ones in Sreg order first.
    pub const ALL: [SegmentReg; 8] = [
        SegmentReg::Es,
        SegmentReg::Cs,
        SegmentReg::Ss,
        SegmentReg::Ds,
        SegmentReg::Fs,
        SegmentReg::Gs,
        SegmentReg::Ldtr,
        SegmentReg::Tr,
    ];

    /// The register an instruction's Sreg field (0..=5) names, or `None`.
    pub const fn from_sreg(sreg: u8) -> Option<SegmentReg> {
        match sreg {
            0 => Some(SegmentReg::Es),
            1 => Some(SegmentReg::Cs),
            2 => Some(SegmentReg::Ss),
            3 => Some(SegmentReg::Ds),
            4 => Some(SegmentReg::Fs),
            5 => Some(SegmentReg::Gs),
            _ => None,
        }
    }

    /// The name, for logs.
    pub const fn name(self) -> &'static str {
        match self {
            SegmentReg::Es => "es",
            SegmentReg::Cs => "cs",
            SegmentReg::Ss => "ss",
            SegmentReg::Ds => "ds",
            SegmentReg::Fs => "fs",
            SegmentReg::Gs => "gs",
            SegmentReg::Ldtr => "ldtr",
            SegmentReg::Tr => "tr",
        }
    }
}

/// GDTR or IDTR.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DescriptorTable {
    /// Linear base address.
    pub base: u64,
    /// Limit: size in bytes minus one.
    pub limit: u16,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The packed constants decode to the fields the SDM's descriptor tables name.
    #[test]
    fn attribute_constants() {
        assert_eq!(SegmentAttributes::REAL_CODE.bits(), 0x09B);
        assert_eq!(SegmentAttributes::REAL_DATA.bits(), 0x093);
        assert_eq!(SegmentAttributes::CODE32.bits(), 0xC9B);
        assert_eq!(SegmentAttributes::CODE64.bits(), 0xA9B);
        assert_eq!(SegmentAttributes::DATA32.bits(), 0xC93);
        assert_eq!(SegmentAttributes::LDT.bits(), 0x082);
        assert_eq!(SegmentAttributes::TSS_BUSY.bits(), 0x08B);
        let a = SegmentAttributes::CODE64.with_dpl(3);
        assert_eq!(a.dpl(), 3);
        assert!(a.long() && a.is_code() && a.present() && a.granular() && !a.default_big());
        assert_eq!(a.segment_type(), 0xB);
        assert_eq!(SegmentAttributes::from_bits(0xFFFF).bits(), 0xFFF);
    }

    /// VMX access rights are the VMCB form with the high nibble shifted to bits 12..=15,
    /// and a not-present segment maps to "unusable" (bit 16), both ways.
    #[test]
    fn vmx_access_rights_round_trip() {
        assert_eq!(SegmentAttributes::CODE32.to_vmx_access_rights(), 0xC09B);
        assert_eq!(SegmentAttributes::CODE64.to_vmx_access_rights(), 0xA09B);
        assert_eq!(SegmentAttributes::TSS_BUSY.to_vmx_access_rights(), 0x008B);
        assert_eq!(SegmentAttributes::UNUSABLE.to_vmx_access_rights(), 0x1_0000);
        for bits in 0..0x1000u16 {
            let a = SegmentAttributes::from_bits(bits);
            let back = SegmentAttributes::from_vmx_access_rights(a.to_vmx_access_rights());
            assert_eq!(back, a, "{bits:#x}");
        }
        // Unusable wins over a set P bit; the DPL survives (SS.DPL is the CPL).
        let ss = SegmentAttributes::from_vmx_access_rights(0x1_0000 | 0xF3);
        assert!(!ss.present());
        assert_eq!(ss.dpl(), 3);
    }

    /// Descriptor encodings match the well-known flat GDT entries, and decode back.
    #[test]
    fn descriptors() {
        let code32 = Segment::flat(0x10, SegmentAttributes::CODE32);
        assert_eq!(code32.to_descriptor(), Some(0x00CF_9B00_0000_FFFF));
        let code64 = Segment::flat(0x10, SegmentAttributes::CODE64);
        assert_eq!(code64.to_descriptor(), Some(0x00AF_9B00_0000_FFFF));
        let data = Segment::flat(0x18, SegmentAttributes::DATA32);
        assert_eq!(data.to_descriptor(), Some(0x00CF_9300_0000_FFFF));
        assert_eq!(Segment::from_descriptor(0x18, 0x00CF_9300_0000_FFFF), data);

        let tss = Segment {
            selector: 0x20,
            base: 0x1234_5678_9ABC_DEF0,
            limit: 0x67,
            attributes: SegmentAttributes::TSS_BUSY,
        };
        let [lo, hi] = tss.to_system_descriptor_64().unwrap();
        assert_eq!(hi, 0x1234_5678);
        assert_eq!(
            Segment::from_descriptor(0x20, lo),
            Segment {
                base: 0x9ABC_DEF0,
                ..tss
            }
        );
        assert_eq!(
            tss.to_descriptor(),
            None,
            "a 64-bit base needs the 16-byte form"
        );

        let odd = Segment {
            limit: 0x1234,
            ..code32
        };
        assert_eq!(
            odd.to_descriptor(),
            None,
            "G set but limit not a page multiple - 1"
        );
        let big = Segment {
            limit: 0x10_0000,
            attributes: SegmentAttributes::REAL_DATA,
            ..data
        };
        assert_eq!(
            big.to_descriptor(),
            None,
            "byte granular limit past 20 bits"
        );
    }

    /// Sreg numbers follow the instruction encoding.
    #[test]
    fn sreg_numbers() {
        assert_eq!(SegmentReg::from_sreg(0), Some(SegmentReg::Es));
        assert_eq!(SegmentReg::from_sreg(2), Some(SegmentReg::Ss));
        assert_eq!(SegmentReg::from_sreg(5), Some(SegmentReg::Gs));
        assert_eq!(SegmentReg::from_sreg(6), None);
        assert_eq!(SegmentReg::Tr.name(), "tr");
    }
}
