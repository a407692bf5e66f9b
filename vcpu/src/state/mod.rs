//! Guest register state, in a vendor-neutral form.
//!
//! [`GuestState`] holds everything a VMCB save area or a VMCS guest-state area holds that
//! the guest can see: general-purpose registers, RIP, RFLAGS, control registers, EFER,
//! XCR0, the eight segment registers with their hidden parts, GDTR/IDTR, DR6/DR7, PAT and
//! the system-call MSRs. Values are what the guest sees; a backend that must run the
//! processor with other bits (VMX's fixed CR0/CR4 bits, for one) hides the difference
//! behind read shadows and never lets it show here.

mod bits;
mod gpr;
mod segment;

pub use bits::{cr0, cr4, efer, rflags};
pub use gpr::{Gpr, Gprs};
pub use segment::{DescriptorTable, Segment, SegmentAttributes, SegmentReg};

/// The PAT MSR's value after reset: WB, WT, UC-, UC in entries 0..=3 and again in 4..=7
/// (SDM Vol. 3A, 13.12.4 "Programming the PAT").
pub const PAT_RESET: u64 = 0x0007_0406_0007_0406;

/// The selectors of the GDT every protected-mode boot protocol loads (see
/// [`crate::boot`]). Linux's 64-bit boot protocol fixes the first two (`__BOOT_CS`,
/// `__BOOT_DS`); Multiboot and PVH leave selectors unspecified, and use the same ones.
pub mod boot_selectors {
    /// Code: `__BOOT_CS`.
    pub const CODE: u16 = 0x10;
    /// Data, stack and the other data segments: `__BOOT_DS`.
    pub const DATA: u16 = 0x18;
    /// The task register.
    pub const TSS: u16 = 0x20;
}

/// The processor's operating mode, as the instruction decoder needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CpuMode {
    /// CR0.PE clear.
    Real,
    /// Protected mode with RFLAGS.VM set.
    Virtual8086,
    /// Protected mode; CS.D says whether code is 16- or 32-bit.
    Protected,
    /// Long mode (EFER.LMA) running a 16- or 32-bit code segment.
    Compatibility,
    /// Long mode running a 64-bit code segment (CS.L).
    Long64,
}

/// The guest's register state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GuestState {
    /// General-purpose registers.
    pub gprs: Gprs,
    /// Instruction pointer.
    pub rip: u64,
    /// Flags; bit 1 always reads 1.
    pub rflags: u64,
    /// CR0.
    pub cr0: u64,
    /// CR2: the last page-fault address.
    pub cr2: u64,
    /// CR3: page-table root.
    pub cr3: u64,
    /// CR4.
    pub cr4: u64,
    /// EFER (MSR 0xC000_0080).
    pub efer: u64,
    /// XCR0: the XSAVE feature mask (bit 0, x87, is always set).
    pub xcr0: u64,
    /// CS.
    pub cs: Segment,
    /// DS.
    pub ds: Segment,
    /// ES.
    pub es: Segment,
    /// FS.
    pub fs: Segment,
    /// GS.
    pub gs: Segment,
    /// SS.
    pub ss: Segment,
    /// Task register.
    pub tr: Segment,
    /// LDT register.
    pub ldtr: Segment,
    /// GDTR.
    pub gdtr: DescriptorTable,
    /// IDTR.
    pub idtr: DescriptorTable,
    /// DR6: debug status.
    pub dr6: u64,
    /// DR7: debug control.
    pub dr7: u64,
    /// IA32_PAT (MSR 0x277).
    pub pat: u64,
    /// IA32_SYSENTER_CS (MSR 0x174).
    pub sysenter_cs: u64,
    /// IA32_SYSENTER_ESP (MSR 0x175).
    pub sysenter_esp: u64,
    /// IA32_SYSENTER_EIP (MSR 0x176).
    pub sysenter_eip: u64,
    /// STAR (MSR 0xC000_0081): SYSCALL/SYSRET selectors.
    pub star: u64,
    /// LSTAR (MSR 0xC000_0082): 64-bit SYSCALL target.
    pub lstar: u64,
    /// CSTAR (MSR 0xC000_0083): compatibility-mode SYSCALL target.
    pub cstar: u64,
    /// SFMASK (MSR 0xC000_0084): RFLAGS bits SYSCALL clears.
    pub sfmask: u64,
    /// KERNEL_GS_BASE (MSR 0xC000_0102): what SWAPGS exchanges with GS.base.
    pub kernel_gs_base: u64,
    /// Interrupts are blocked for one instruction (after STI or MOV SS/POP SS). Retiring
    /// or skipping an instruction ends it.
    pub interrupt_shadow: bool,
}

impl Default for GuestState {
    fn default() -> Self {
        Self::reset()
    }
}

impl GuestState {
    /// The architectural state after RESET (SDM Vol. 3A, Table 10-1 "IA-32 and Intel 64
    /// Processor States Following Power-up, Reset, or INIT"; APM Vol. 2, Table 14-1
    /// "Initial Processor State"): real mode at F000:FFF0 with CS.base = 0xFFFF_0000,
    /// CR0 = 0x6000_0010, RFLAGS = 2, data segments at base 0 with a 64 KiB limit,
    /// GDTR/IDTR base 0 limit 0xFFFF, DR6 = 0xFFFF_0FF0, DR7 = 0x400, PAT at its reset
    /// value, XCR0 = 1, everything else zero.
    ///
    /// After reset EDX holds the processor signature (CPUID.1:EAX). Only the partition's
    /// CPUID table knows the signature the guest is shown, so this leaves RDX zero and
    /// the core stores the signature.
    pub const fn reset() -> Self {
        let data = Segment::real_mode(0, 0xFFFF, SegmentAttributes::REAL_DATA);
        Self {
            gprs: Gprs {
                rax: 0,
                rcx: 0,
                rdx: 0,
                rbx: 0,
                rsp: 0,
                rbp: 0,
                rsi: 0,
                rdi: 0,
                r8: 0,
                r9: 0,
                r10: 0,
                r11: 0,
                r12: 0,
                r13: 0,
                r14: 0,
                r15: 0,
            },
            rip: 0xFFF0,
            rflags: rflags::RESET,
            cr0: cr0::RESET,
            cr2: 0,
            cr3: 0,
            cr4: 0,
            efer: 0,
            xcr0: 1,
            cs: Segment {
                selector: 0xF000,
                base: 0xFFFF_0000,
                limit: 0xFFFF,
                attributes: SegmentAttributes::REAL_CODE,
            },
            ds: data,
            es: data,
            fs: data,
            gs: data,
            ss: data,
            tr: Segment {
                selector: 0,
                base: 0,
                limit: 0xFFFF,
                attributes: SegmentAttributes::TSS_BUSY,
            },
            ldtr: Segment {
                selector: 0,
                base: 0,
                limit: 0xFFFF,
                attributes: SegmentAttributes::LDT,
            },
            gdtr: DescriptorTable {
                base: 0,
                limit: 0xFFFF,
            },
            idtr: DescriptorTable {
                base: 0,
                limit: 0xFFFF,
            },
            dr6: 0xFFFF_0FF0,
            dr7: 0x400,
            pat: PAT_RESET,
            sysenter_cs: 0,
            sysenter_esp: 0,
            sysenter_eip: 0,
            star: 0,
            lstar: 0,
            cstar: 0,
            sfmask: 0,
            kernel_gs_base: 0,
            interrupt_shadow: false,
        }
    }

    /// Real mode at `cs:ip`, otherwise the reset state. CS.base is `cs * 16`, as after a
    /// far jump, not the reset value 0xFFFF_0000: see [`crate::boot::realmode`].
    pub const fn real_mode(cs: u16, ip: u16) -> Self {
        let mut state = Self::reset();
        state.cs = Segment::real_mode(cs, 0xFFFF, SegmentAttributes::REAL_CODE);
        state.rip = ip as u64;
        state
    }

    /// Flat 32-bit protected mode with paging off, entering at `eip`: CR0 = PE | ET, CS a
    /// 32-bit execute/read segment and DS/ES/FS/GS/SS read/write segments, all with base 0
    /// and limit 4 GiB - 1, TR a busy 32-bit TSS with base 0 and limit 0x67, RFLAGS = 2
    /// (interrupts off), and `gdtr` the table holding those descriptors
    /// ([`boot_selectors`]). This is the entry state both Multiboot (spec 3.2) and PVH
    /// (`pvh.pandoc`) describe; the caller adds the protocol's registers (EAX, EBX).
    pub const fn flat_protected_mode(eip: u32, gdtr: DescriptorTable) -> Self {
        let mut state = Self::reset();
        let data = Segment::flat(boot_selectors::DATA, SegmentAttributes::DATA32);
        state.rip = eip as u64;
        state.cr0 = cr0::PE | cr0::ET;
        state.cs = Segment::flat(boot_selectors::CODE, SegmentAttributes::CODE32);
        state.ds = data;
        state.es = data;
        state.fs = data;
        state.gs = data;
        state.ss = data;
        state.tr = Segment {
            selector: boot_selectors::TSS,
            base: 0,
            limit: 0x67,
            attributes: SegmentAttributes::TSS_BUSY,
        };
        state.ldtr = Segment {
            selector: 0,
            base: 0,
            limit: 0,
            attributes: SegmentAttributes::UNUSABLE,
        };
        state.gdtr = gdtr;
        state.idtr = DescriptorTable { base: 0, limit: 0 };
        state
    }

    /// 64-bit long mode entering at `rip` with page tables at `cr3`: CR0 = PG | PE | ET,
    /// CR4 = PAE, EFER = LME | LMA, CS a 64-bit code segment and the data segments flat,
    /// TR a busy 64-bit TSS (base 0, limit 0x67), RFLAGS = 2 (interrupts off), and `gdtr`
    /// the table holding those descriptors ([`boot_selectors`]). This is the entry state
    /// of Linux's 64-bit boot protocol; the caller adds RSI.
    pub const fn long_mode(rip: u64, cr3: u64, gdtr: DescriptorTable) -> Self {
        let mut state = Self::flat_protected_mode(0, gdtr);
        state.rip = rip;
        state.cr0 = cr0::PG | cr0::PE | cr0::ET;
        state.cr3 = cr3;
        state.cr4 = cr4::PAE;
        state.efer = efer::LME | efer::LMA;
        state.cs = Segment::flat(boot_selectors::CODE, SegmentAttributes::CODE64);
        state
    }

    /// The segment register `reg`.
    pub const fn segment(&self, reg: SegmentReg) -> &Segment {
        match reg {
            SegmentReg::Es => &self.es,
            SegmentReg::Cs => &self.cs,
            SegmentReg::Ss => &self.ss,
            SegmentReg::Ds => &self.ds,
            SegmentReg::Fs => &self.fs,
            SegmentReg::Gs => &self.gs,
            SegmentReg::Ldtr => &self.ldtr,
            SegmentReg::Tr => &self.tr,
        }
    }

    /// The segment register `reg`, for writing.
    pub fn segment_mut(&mut self, reg: SegmentReg) -> &mut Segment {
        match reg {
            SegmentReg::Es => &mut self.es,
            SegmentReg::Cs => &mut self.cs,
            SegmentReg::Ss => &mut self.ss,
            SegmentReg::Ds => &mut self.ds,
            SegmentReg::Fs => &mut self.fs,
            SegmentReg::Gs => &mut self.gs,
            SegmentReg::Ldtr => &mut self.ldtr,
            SegmentReg::Tr => &mut self.tr,
        }
    }

    /// The operating mode (SDM Vol. 3A, 2.2 "Modes of Operation").
    pub const fn mode(&self) -> CpuMode {
        if self.cr0 & cr0::PE == 0 {
            CpuMode::Real
        } else if self.efer & efer::LMA != 0 {
            if self.cs.attributes.long() {
                CpuMode::Long64
            } else {
                CpuMode::Compatibility
            }
        } else if self.rflags & rflags::VM != 0 {
            CpuMode::Virtual8086
        } else {
            CpuMode::Protected
        }
    }

    /// The default operand and address size of the running code, in bits: 16, 32 or 64.
    pub const fn code_bits(&self) -> u8 {
        match self.mode() {
            CpuMode::Real | CpuMode::Virtual8086 => 16,
            CpuMode::Long64 => 64,
            CpuMode::Protected | CpuMode::Compatibility => {
                if self.cs.attributes.default_big() {
                    32
                } else {
                    16
                }
            }
        }
    }

    /// The current privilege level: SS.DPL, which both vendors keep equal to the CPL
    /// (0 in real mode, 3 in virtual-8086 mode).
    pub const fn cpl(&self) -> u8 {
        match self.mode() {
            CpuMode::Real => 0,
            CpuMode::Virtual8086 => 3,
            _ => self.ss.attributes.dpl(),
        }
    }

    /// Moves RIP past an instruction of `len` bytes, the way retiring it would: the
    /// instruction pointer wraps at the width of the running code (IP at 64 KiB, EIP at
    /// 4 GiB), and any interrupt shadow ends. Every backend's `advance_rip` follows this.
    pub fn advance_rip(&mut self, len: u8) {
        let len = u64::from(len);
        self.rip = match self.code_bits() {
            64 => self.rip.wrapping_add(len),
            32 => self.rip.wrapping_add(len) & 0xFFFF_FFFF,
            _ => self.rip.wrapping_add(len) & 0xFFFF,
        };
        self.interrupt_shadow = false;
    }

    /// RFLAGS.IF.
    pub const fn interrupts_enabled(&self) -> bool {
        self.rflags & rflags::IF != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reset state has the values of SDM Table 10-1 / APM Table 14-1.
    #[test]
    fn reset_state_matches_the_manuals() {
        let s = GuestState::reset();
        assert_eq!(s.cr0, 0x6000_0010);
        assert_eq!(s.rflags, 0x2);
        assert_eq!(s.rip, 0xFFF0);
        assert_eq!(s.cs.selector, 0xF000);
        assert_eq!(s.cs.base, 0xFFFF_0000);
        assert_eq!(s.cs.limit, 0xFFFF);
        assert_eq!(
            s.cs.base + s.rip,
            0xFFFF_FFF0,
            "first fetch 16 bytes below 4 GiB"
        );
        for seg in [s.ds, s.es, s.fs, s.gs, s.ss] {
            assert_eq!((seg.selector, seg.base, seg.limit), (0, 0, 0xFFFF));
            assert!(seg.attributes.present());
        }
        assert_eq!(
            s.gdtr,
            DescriptorTable {
                base: 0,
                limit: 0xFFFF
            }
        );
        assert_eq!(
            s.idtr,
            DescriptorTable {
                base: 0,
                limit: 0xFFFF
            }
        );
        assert_eq!((s.dr6, s.dr7), (0xFFFF_0FF0, 0x400));
        assert_eq!(s.pat, 0x0007_0406_0007_0406);
        assert_eq!((s.cr2, s.cr3, s.cr4, s.efer), (0, 0, 0, 0));
        assert_eq!(s.xcr0, 1);
        assert_eq!(s.mode(), CpuMode::Real);
        assert_eq!(s.code_bits(), 16);
        assert_eq!(s.cpl(), 0);
        assert!(!s.interrupts_enabled());
        assert_eq!(GuestState::default(), s);
    }

    /// The flat protected-mode and long-mode helpers produce the entry states the boot
    /// protocols name.
    #[test]
    fn boot_mode_helpers() {
        let gdtr = DescriptorTable {
            base: 0x7000,
            limit: 0x27,
        };
        let pm = GuestState::flat_protected_mode(0x10_0000, gdtr);
        assert_eq!(pm.mode(), CpuMode::Protected);
        assert_eq!(pm.code_bits(), 32);
        assert_eq!(pm.cr0 & (cr0::PE | cr0::PG), cr0::PE);
        assert_eq!(pm.cs.limit, u32::MAX);
        assert_eq!(pm.cs.selector, boot_selectors::CODE);
        assert_eq!(pm.ss.selector, boot_selectors::DATA);
        assert_eq!((pm.tr.base, pm.tr.limit), (0, 0x67));
        assert_eq!(pm.rflags, 2);
        assert_eq!(pm.gdtr, gdtr);

        let lm = GuestState::long_mode(0x100_0200, 0x9000, gdtr);
        assert_eq!(lm.mode(), CpuMode::Long64);
        assert_eq!(lm.code_bits(), 64);
        assert_eq!(lm.efer, efer::LME | efer::LMA);
        assert_eq!(lm.cr4 & cr4::PAE, cr4::PAE);
        assert_eq!(lm.cr3, 0x9000);
        assert!(
            !lm.cs.attributes.default_big(),
            "L and D together are reserved"
        );

        let mut compat = lm.clone();
        compat.cs.attributes = SegmentAttributes::CODE32;
        assert_eq!(compat.mode(), CpuMode::Compatibility);
        let mut v86 = pm.clone();
        v86.rflags |= rflags::VM;
        assert_eq!(v86.mode(), CpuMode::Virtual8086);
        assert_eq!(v86.cpl(), 3);
    }

    /// Skipping an instruction wraps at the code width and ends the interrupt shadow.
    #[test]
    fn advance_rip_wraps_by_mode() {
        let mut real = GuestState::real_mode(0xF000, 0xFFFE);
        real.interrupt_shadow = true;
        real.advance_rip(3);
        assert_eq!(real.rip, 0x1);
        assert!(!real.interrupt_shadow);

        let mut pm = GuestState::flat_protected_mode(0xFFFF_FFFF, DescriptorTable::default());
        pm.advance_rip(2);
        assert_eq!(pm.rip, 0x1);

        let mut lm = GuestState::long_mode(0xFFFF_FFFF, 0, DescriptorTable::default());
        lm.advance_rip(2);
        assert_eq!(lm.rip, 0x1_0000_0001);

        let mut seg = GuestState::reset();
        seg.segment_mut(SegmentReg::Gs).base = 0x1234;
        assert_eq!(seg.segment(SegmentReg::Gs).base, 0x1234);
    }
}
