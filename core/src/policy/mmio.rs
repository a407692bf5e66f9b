//! Emulation of the instruction behind an MMIO exit: a nested page fault on a
//! guest-physical address that is no RAM, where a virtual device (or nothing) lives.
//!
//! The caller fetches the instruction bytes at the guest's RIP (with
//! [`walk::fetch`](super::walk::fetch)), decodes nothing itself, and calls [`emulate`]
//! with the faulting guest-physical address. The instruction is decoded with iced-x86 in
//! the guest's code bitness ([`code_bitness`]); its memory operand is served by the
//! caller's callback, which sees one [`MmioAccess`] per device access; its register and
//! flag effects are applied through [`Registers`].
//!
//! Supported, because that is what OS drivers and compilers emit for device registers:
//!
//! | instruction | memory operand | effect |
//! | --- | --- | --- |
//! | `mov r/m, r`, `mov r/m, imm`, `mov r, r/m`, `mov` with `moffs`, `movnti` | read or write | register or memory |
//! | `movzx`, `movsx`, `movsxd` | read | register, zero/sign-extended |
//! | `add`, `sub`, `and`, `or`, `xor` | read-modify-write, or read into a register | CF PF AF ZF SF OF |
//! | `cmp`, `test` | read | CF PF AF ZF SF OF only |
//! | `xchg m, r` | read, then write | register gets the old value |
//! | `bt m, imm8` | read | CF |
//! | `movs`, `stos`, `lods` with or without `rep` | guest-linear, see below | RSI/RDI/RCX advance |
//!
//! Anything else is [`EmulationError::Unsupported`] with its mnemonic, for the core to log
//! and to stop the partition: `bt m, r` (its bit offset reaches other bytes), `inc`,
//! `neg`, SSE/AVX moves and the rest are not what drivers use on MMIO.
//!
//! Register writes follow x86: a 32-bit destination clears bits 63:32, 8- and 16-bit
//! destinations (AH..BH included) keep the other bits. Arithmetic flags are computed
//! exactly for ADD, SUB, CMP, AND, OR, XOR, TEST (AF, undefined after the logic
//! operations, is cleared); other RFLAGS bits are kept. A `lock` prefix changes nothing:
//! the vCPU is stopped while its access is emulated, and a device access is atomic by
//! construction.
//!
//! # String instructions
//!
//! `movs`, `stos` and `lods` name their operands by guest-linear address (segment base
//! plus RSI/RDI), not by the faulting address: one side may be RAM, the other the device,
//! and which side faulted is not known. Each element is therefore one callback with an
//! [`AccessTarget::Linear`] address that the caller translates ([`walk::translate`]
//! with the guest's CPL and RFLAGS.AC) and routes to RAM or MMIO. With a `rep` prefix at
//! most [`REP_BATCH`] elements are processed per exit; if RCX is not exhausted by then,
//! [`Emulated::done`] is false: the caller leaves RIP at the instruction, which runs
//! again and exits again for the next batch (interrupts are taken in between, as the
//! architecture allows between iterations). Registers are updated element by element,
//! so when a callback fails (a page fault on the RAM side, say) they show exactly the
//! elements completed, as the processor would leave them.
//!
//! [`walk::translate`]: super::walk::translate

use iced_x86::{
    Code, Decoder, DecoderError, DecoderOptions, Instruction, MemorySize, Mnemonic, OpKind,
    Register,
};

use super::walk::{AddressSize, SegmentMode, SegmentRegister, segment_linear};

mod alu;
#[cfg(test)]
mod tests;

#[cfg(test)]
mod length_tests {
    use super::instruction_length;

    /// Prefixes count: `66 0F A2` is a 3-byte CPUID; truncated bytes give no length.
    #[test]
    fn decodes_lengths_with_prefixes() {
        assert_eq!(instruction_length(&[0x0F, 0xA2], 32), Some(2));
        assert_eq!(instruction_length(&[0x66, 0x0F, 0xA2], 32), Some(3));
        assert_eq!(instruction_length(&[0xF4], 16), Some(1));
        assert_eq!(instruction_length(&[0x0F, 0x01, 0xD9], 64), Some(3));
        assert_eq!(instruction_length(&[0x0F], 64), None);
    }
}

use alu::Op;
pub use alu::flags;

/// Most `rep` iterations emulated per exit.
pub const REP_BATCH: u64 = 256;
/// Longest x86 instruction.
pub const MAX_INSTRUCTION_LEN: usize = 15;

/// The vCPU state the emulator reads and writes.
pub trait Registers {
    /// General-purpose register `index` (0 = RAX, 1 = RCX, ... 15 = R15), all 64 bits.
    fn gpr(&self, index: u8) -> u64;
    /// Sets general-purpose register `index` to `value` (all 64 bits; the emulator has
    /// already merged partial-register writes).
    fn set_gpr(&mut self, index: u8, value: u64);
    /// RFLAGS.
    fn rflags(&self) -> u64;
    /// Sets RFLAGS.
    fn set_rflags(&mut self, value: u64);
    /// The base address of `segment` (from the segment cache; 64-bit mode ignores the
    /// bases of ES, CS, SS and DS itself).
    fn segment_base(&self, segment: SegmentRegister) -> u64;
}

/// Where an access goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessTarget {
    /// The faulting guest-physical address (plus nothing: the operand starts there).
    Physical(u64),
    /// A string-instruction element at this guest-linear address: translate it and route
    /// it to RAM or a device.
    Linear(u64),
}

/// One access the instruction makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MmioAccess {
    /// The address.
    pub target: AccessTarget,
    /// Bytes: 1, 2, 4 or 8.
    pub size: u8,
    /// `Some(value)` for a write (the low `size` bytes), `None` for a read (the callback
    /// returns the value; bits above `size` bytes are ignored).
    pub write: Option<u64>,
}

/// Why the callback could not complete an access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MmioError {
    /// A linear address did not translate: inject #PF with this error code and CR2.
    PageFault {
        /// The #PF error code.
        error_code: u32,
        /// The faulting linear address.
        address: u64,
    },
    /// Inject #GP(0) (a non-canonical linear address, say).
    GeneralProtection,
    /// Nothing answers at this guest-physical address: the core's policy decides.
    Unhandled(u64),
}

/// A completed emulation step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Emulated {
    /// Length of the instruction in bytes.
    pub len: usize,
    /// Whether the instruction finished: advance RIP by `len`. False only for a `rep`
    /// string instruction with iterations left: leave RIP, it runs again.
    pub done: bool,
}

/// Why an instruction was not emulated. Guest state is unchanged except after
/// [`EmulationError::Access`] from a string instruction (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmulationError {
    /// The bitness was not 16, 32 or 64.
    BadBitness(u32),
    /// The bytes end inside the instruction: the fetch stopped short (its error is the
    /// one to raise).
    Truncated,
    /// The bytes are not a valid instruction in this mode: #UD.
    Invalid,
    /// A valid instruction the emulator does not support on MMIO.
    Unsupported {
        /// What it was.
        mnemonic: Mnemonic,
    },
    /// The access callback failed.
    Access(MmioError),
}

impl From<MmioError> for EmulationError {
    fn from(error: MmioError) -> Self {
        EmulationError::Access(error)
    }
}

/// The callback type.
pub type MmioCallback<'a> = &'a mut dyn FnMut(MmioAccess) -> Result<u64, MmioError>;

/// The code bitness (16, 32 or 64) from CR0.PE, RFLAGS.VM, EFER.LMA and the CS
/// descriptor's L and D/B bits: real and virtual-8086 mode are 16-bit, 64-bit mode needs
/// LMA and CS.L, otherwise CS.D/B picks 32 over 16.
pub const fn code_bitness(
    cr0: u64,
    rflags: u64,
    efer: u64,
    cs_long: bool,
    cs_default_big: bool,
) -> u32 {
    const CR0_PE: u64 = 1;
    const RFLAGS_VM: u64 = 1 << 17;
    const EFER_LMA: u64 = 1 << 10;
    if cr0 & CR0_PE == 0 || rflags & RFLAGS_VM != 0 {
        16
    } else if efer & EFER_LMA != 0 && cs_long {
        64
    } else if cs_default_big {
        32
    } else {
        16
    }
}

/// The length of the instruction at the start of `bytes`, decoded in
/// `bitness`: for exits where the CPU does not report it (SVM without nRIP
/// save), so prefixes the guest put in front of CPUID, RDMSR or HLT count.
pub fn instruction_length(bytes: &[u8], bitness: u32) -> Option<usize> {
    let bytes = bytes.get(..MAX_INSTRUCTION_LEN).unwrap_or(bytes);
    let mut decoder = Decoder::try_new(bitness, bytes, DecoderOptions::NONE).ok()?;
    let insn = decoder.decode();
    (!insn.is_invalid()).then(|| insn.len())
}

/// Emulates the instruction at the start of `bytes` (at most 15 are looked at), decoded
/// in `bitness`, whose memory operand faulted at guest-physical `gpa`.
pub fn emulate(
    bytes: &[u8],
    bitness: u32,
    regs: &mut dyn Registers,
    mmio: MmioCallback<'_>,
    gpa: u64,
) -> Result<Emulated, EmulationError> {
    if !matches!(bitness, 16 | 32 | 64) {
        return Err(EmulationError::BadBitness(bitness));
    }
    let bytes = bytes.get(..MAX_INSTRUCTION_LEN).unwrap_or(bytes);
    let mut decoder = Decoder::try_new(bitness, bytes, DecoderOptions::NONE)
        .map_err(|_| EmulationError::BadBitness(bitness))?;
    let insn = decoder.decode();
    if insn.is_invalid() {
        return Err(match decoder.last_error() {
            DecoderError::NoMoreBytes => EmulationError::Truncated,
            _ => EmulationError::Invalid,
        });
    }
    let mut cpu = Cpu { regs, mmio, gpa };
    let len = insn.len();
    if let Some(string) = StringOp::from_code(insn.code()) {
        let done = cpu.string(&insn, string, bitness)?;
        return Ok(Emulated { len, done });
    }
    cpu.single(&insn)?;
    Ok(Emulated { len, done: true })
}

/// A general-purpose register operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Gpr {
    index: u8,
    size: u8,
    /// AH, CH, DH or BH: bits 15:8.
    high: bool,
}

impl Gpr {
    /// The GPR iced names, from its position in iced's register numbering: AL..R15L,
    /// AX..R15W, EAX..R15D, RAX..R15, each run in x86 register-number order, except that
    /// the byte run is AL, CL, DL, BL, AH, CH, DH, BH, SPL, BPL, SIL, DIL, R8L..R15L.
    fn from_iced(register: Register) -> Option<Gpr> {
        let n = register as u32;
        let in_run = |first: Register, last: Register| (first as u32..=last as u32).contains(&n);
        let (first, size) = if in_run(Register::AL, Register::R15L) {
            (Register::AL, 1)
        } else if in_run(Register::AX, Register::R15W) {
            (Register::AX, 2)
        } else if in_run(Register::EAX, Register::R15D) {
            (Register::EAX, 4)
        } else if in_run(Register::RAX, Register::R15) {
            (Register::RAX, 8)
        } else {
            return None;
        };
        let offset = n.checked_sub(first as u32)?;
        let high = matches!(
            register,
            Register::AH | Register::CH | Register::DH | Register::BH
        );
        // AH..BH take byte offsets 4..=7 (register numbers 0..=3, bits 15:8), which puts
        // SPL..R15L four places past their register numbers.
        let index = if size == 1 && offset >= 4 {
            offset.checked_sub(4)?
        } else {
            offset
        };
        Some(Gpr {
            index: u8::try_from(index).ok().filter(|&i| i < 16)?,
            size,
            high,
        })
    }

    /// The accumulator of `size` bytes (AL, AX, EAX, RAX).
    const fn accumulator(size: u8) -> Gpr {
        Gpr {
            index: 0,
            size,
            high: false,
        }
    }
}

/// One operand of a non-string instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operand {
    Memory,
    Gpr(Gpr),
    Immediate(u64),
}

/// The string instructions supported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StringKind {
    Movs,
    Stos,
    Lods,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct StringOp {
    kind: StringKind,
    size: u8,
}

impl StringOp {
    fn from_code(code: Code) -> Option<StringOp> {
        let (kind, size) = match code {
            Code::Movsb_m8_m8 => (StringKind::Movs, 1),
            Code::Movsw_m16_m16 => (StringKind::Movs, 2),
            Code::Movsd_m32_m32 => (StringKind::Movs, 4),
            Code::Movsq_m64_m64 => (StringKind::Movs, 8),
            Code::Stosb_m8_AL => (StringKind::Stos, 1),
            Code::Stosw_m16_AX => (StringKind::Stos, 2),
            Code::Stosd_m32_EAX => (StringKind::Stos, 4),
            Code::Stosq_m64_RAX => (StringKind::Stos, 8),
            Code::Lodsb_AL_m8 => (StringKind::Lods, 1),
            Code::Lodsw_AX_m16 => (StringKind::Lods, 2),
            Code::Lodsd_EAX_m32 => (StringKind::Lods, 4),
            Code::Lodsq_RAX_m64 => (StringKind::Lods, 8),
            _ => return None,
        };
        Some(StringOp { kind, size })
    }
}

/// The emulator's view of the vCPU during one instruction.
struct Cpu<'r, 'm> {
    regs: &'r mut dyn Registers,
    mmio: MmioCallback<'m>,
    gpa: u64,
}

fn unsupported(insn: &Instruction) -> EmulationError {
    EmulationError::Unsupported {
        mnemonic: insn.mnemonic(),
    }
}

impl Cpu<'_, '_> {
    fn read_gpr(&self, gpr: Gpr) -> u64 {
        let full = self.regs.gpr(gpr.index);
        if gpr.high {
            (full >> 8) & 0xFF
        } else {
            full & alu::size_mask(gpr.size)
        }
    }

    /// Writes with x86's partial-register rules.
    fn write_gpr(&mut self, gpr: Gpr, value: u64) {
        let old = self.regs.gpr(gpr.index);
        let new = match (gpr.size, gpr.high) {
            (1, true) => (old & !0xFF00) | ((value & 0xFF) << 8),
            (1, false) => (old & !0xFF) | (value & 0xFF),
            (2, _) => (old & !0xFFFF) | (value & 0xFFFF),
            (4, _) => value & 0xFFFF_FFFF,
            _ => value,
        };
        self.regs.set_gpr(gpr.index, new);
    }

    fn set_status(&mut self, status: u64) {
        let rflags = self.regs.rflags();
        self.regs.set_rflags(alu::merge(rflags, status));
    }

    fn access(
        &mut self,
        target: AccessTarget,
        size: u8,
        write: Option<u64>,
    ) -> Result<u64, MmioError> {
        let mask = alu::size_mask(size);
        let value = (self.mmio)(MmioAccess {
            target,
            size,
            write: write.map(|v| v & mask),
        })?;
        Ok(value & mask)
    }

    fn read_mem(&mut self, size: u8) -> Result<u64, EmulationError> {
        Ok(self.access(AccessTarget::Physical(self.gpa), size, None)?)
    }

    fn write_mem(&mut self, size: u8, value: u64) -> Result<(), EmulationError> {
        self.access(AccessTarget::Physical(self.gpa), size, Some(value))?;
        Ok(())
    }

    /// The operands of a non-string instruction, with the memory operand's size.
    fn operands(insn: &Instruction) -> Result<([Option<Operand>; 2], u8), EmulationError> {
        let mut ops = [None, None];
        let mut memory = 0u8;
        for (i, slot) in (0..insn.op_count()).zip(ops.iter_mut()) {
            *slot = Some(match insn.op_kind(i) {
                OpKind::Memory => {
                    memory = memory.saturating_add(1);
                    Operand::Memory
                }
                OpKind::Register => Operand::Gpr(
                    Gpr::from_iced(insn.op_register(i)).ok_or_else(|| unsupported(insn))?,
                ),
                OpKind::Immediate8
                | OpKind::Immediate16
                | OpKind::Immediate32
                | OpKind::Immediate64
                | OpKind::Immediate8to16
                | OpKind::Immediate8to32
                | OpKind::Immediate8to64
                | OpKind::Immediate32to64 => {
                    Operand::Immediate(insn.try_immediate(i).map_err(|_| unsupported(insn))?)
                }
                _ => return Err(unsupported(insn)),
            });
        }
        let size = memory_operand_size(insn.memory_size());
        if insn.op_count() > 2 || memory != 1 || !matches!(size, 1 | 2 | 4 | 8) {
            return Err(unsupported(insn));
        }
        Ok((ops, size))
    }

    /// Every supported instruction but the string ones.
    fn single(&mut self, insn: &Instruction) -> Result<(), EmulationError> {
        let (ops, size) = Self::operands(insn)?;
        match insn.mnemonic() {
            Mnemonic::Mov | Mnemonic::Movnti => self.mov(insn, ops, size),
            Mnemonic::Movzx => self.extend(insn, ops, size, false),
            Mnemonic::Movsx | Mnemonic::Movsxd => self.extend(insn, ops, size, true),
            Mnemonic::Add => self.alu(insn, ops, size, Op::Add, true),
            Mnemonic::Sub => self.alu(insn, ops, size, Op::Sub, true),
            Mnemonic::And => self.alu(insn, ops, size, Op::And, true),
            Mnemonic::Or => self.alu(insn, ops, size, Op::Or, true),
            Mnemonic::Xor => self.alu(insn, ops, size, Op::Xor, true),
            Mnemonic::Cmp => self.alu(insn, ops, size, Op::Sub, false),
            Mnemonic::Test => self.alu(insn, ops, size, Op::And, false),
            Mnemonic::Xchg => self.xchg(insn, ops, size),
            Mnemonic::Bt => self.bt(insn, ops, size),
            _ => Err(unsupported(insn)),
        }
    }

    fn mov(
        &mut self,
        insn: &Instruction,
        ops: [Option<Operand>; 2],
        size: u8,
    ) -> Result<(), EmulationError> {
        match ops {
            [Some(Operand::Memory), Some(Operand::Gpr(src))] => {
                let value = self.read_gpr(src);
                self.write_mem(size, value)
            }
            [Some(Operand::Memory), Some(Operand::Immediate(value))] => self.write_mem(size, value),
            [Some(Operand::Gpr(dst)), Some(Operand::Memory)] => {
                let value = self.read_mem(size)?;
                self.write_gpr(dst, value);
                Ok(())
            }
            _ => Err(unsupported(insn)),
        }
    }

    fn extend(
        &mut self,
        insn: &Instruction,
        ops: [Option<Operand>; 2],
        size: u8,
        signed: bool,
    ) -> Result<(), EmulationError> {
        let [Some(Operand::Gpr(dst)), Some(Operand::Memory)] = ops else {
            return Err(unsupported(insn));
        };
        let value = self.read_mem(size)?;
        let value = if signed {
            alu::sign_extend(value, size)
        } else {
            value
        };
        self.write_gpr(dst, value);
        Ok(())
    }

    fn alu(
        &mut self,
        insn: &Instruction,
        ops: [Option<Operand>; 2],
        size: u8,
        op: Op,
        write_back: bool,
    ) -> Result<(), EmulationError> {
        match ops {
            [Some(Operand::Memory), Some(source)] => {
                let b = match source {
                    Operand::Gpr(gpr) => self.read_gpr(gpr),
                    Operand::Immediate(value) => value,
                    Operand::Memory => return Err(unsupported(insn)),
                };
                let a = self.read_mem(size)?;
                let (result, status) = alu::compute(op, a, b, size);
                if write_back {
                    self.write_mem(size, result)?;
                }
                self.set_status(status);
                Ok(())
            }
            [Some(Operand::Gpr(dst)), Some(Operand::Memory)] => {
                let a = self.read_gpr(dst);
                let b = self.read_mem(size)?;
                let (result, status) = alu::compute(op, a, b, size);
                if write_back {
                    self.write_gpr(dst, result);
                }
                self.set_status(status);
                Ok(())
            }
            _ => Err(unsupported(insn)),
        }
    }

    fn xchg(
        &mut self,
        insn: &Instruction,
        ops: [Option<Operand>; 2],
        size: u8,
    ) -> Result<(), EmulationError> {
        let gpr = match ops {
            [Some(Operand::Memory), Some(Operand::Gpr(gpr))]
            | [Some(Operand::Gpr(gpr)), Some(Operand::Memory)] => gpr,
            _ => return Err(unsupported(insn)),
        };
        let old = self.read_mem(size)?;
        let value = self.read_gpr(gpr);
        self.write_mem(size, value)?;
        self.write_gpr(gpr, old);
        Ok(())
    }

    /// `bt m, imm8`: CF = the selected bit; the other status flags are kept (OF, SF, AF,
    /// PF are undefined, ZF unaffected).
    fn bt(
        &mut self,
        insn: &Instruction,
        ops: [Option<Operand>; 2],
        size: u8,
    ) -> Result<(), EmulationError> {
        let [Some(Operand::Memory), Some(Operand::Immediate(bit))] = ops else {
            return Err(unsupported(insn));
        };
        let value = self.read_mem(size)?;
        let bit = bit & (u64::from(size) << 3).saturating_sub(1);
        let rflags = self.regs.rflags();
        let cf = (value >> bit) & 1;
        self.regs.set_rflags((rflags & !flags::CF) | cf);
        Ok(())
    }

    /// `movs`, `stos`, `lods`, element by element; returns whether the instruction is
    /// complete.
    fn string(
        &mut self,
        insn: &Instruction,
        op: StringOp,
        bitness: u32,
    ) -> Result<bool, EmulationError> {
        let address_size = string_address_size(insn).ok_or_else(|| unsupported(insn))?;
        let source_segment =
            segment_register(insn.memory_segment()).ok_or_else(|| unsupported(insn))?;
        let mode = if bitness == 64 {
            SegmentMode::Long64
        } else {
            SegmentMode::Legacy
        };
        let rep = insn.has_rep_prefix() || insn.has_repe_prefix() || insn.has_repne_prefix();
        let mask = address_size.mask();
        let mut remaining = if rep { self.regs.gpr(RCX) & mask } else { 1 };
        let step = u64::from(op.size);
        let backwards = self.regs.rflags() & flags::DF != 0;
        let advance = |value: u64| {
            if backwards {
                value.wrapping_sub(step)
            } else {
                value.wrapping_add(step)
            }
        };
        let batch = remaining.min(REP_BATCH);
        for _ in 0..batch {
            let rsi = self.regs.gpr(RSI);
            let rdi = self.regs.gpr(RDI);
            let source_base = self.regs.segment_base(source_segment);
            let source = segment_linear(source_segment, source_base, rsi, address_size, mode);
            let es_base = self.regs.segment_base(SegmentRegister::Es);
            let destination = segment_linear(SegmentRegister::Es, es_base, rdi, address_size, mode);
            match op.kind {
                StringKind::Movs => {
                    let value = self.access(AccessTarget::Linear(source), op.size, None)?;
                    self.access(AccessTarget::Linear(destination), op.size, Some(value))?;
                    self.set_index(RSI, advance(rsi), address_size);
                    self.set_index(RDI, advance(rdi), address_size);
                }
                StringKind::Stos => {
                    let value = self.read_gpr(Gpr::accumulator(op.size));
                    self.access(AccessTarget::Linear(destination), op.size, Some(value))?;
                    self.set_index(RDI, advance(rdi), address_size);
                }
                StringKind::Lods => {
                    let value = self.access(AccessTarget::Linear(source), op.size, None)?;
                    self.write_gpr(Gpr::accumulator(op.size), value);
                    self.set_index(RSI, advance(rsi), address_size);
                }
            }
            remaining = remaining.saturating_sub(1);
            if rep {
                self.set_index(RCX, remaining, address_size);
            }
        }
        Ok(!rep || remaining == 0)
    }

    /// Writes RSI, RDI or RCX as a string instruction of `address_size` does: 16 bits
    /// keep the upper bits, 32 bits zero-extend.
    fn set_index(&mut self, index: u8, value: u64, address_size: AddressSize) {
        let old = self.regs.gpr(index);
        let new = match address_size {
            AddressSize::Bits16 => (old & !0xFFFF) | (value & 0xFFFF),
            AddressSize::Bits32 => value & 0xFFFF_FFFF,
            AddressSize::Bits64 => value,
        };
        self.regs.set_gpr(index, new);
    }
}

/// RCX.
const RCX: u8 = 1;
/// RSI.
const RSI: u8 = 6;
/// RDI.
const RDI: u8 = 7;

/// The address size of a string instruction, from the kind of its first operand.
fn string_address_size(insn: &Instruction) -> Option<AddressSize> {
    (0..insn.op_count()).find_map(|i| match insn.op_kind(i) {
        OpKind::MemorySegSI | OpKind::MemoryESDI => Some(AddressSize::Bits16),
        OpKind::MemorySegESI | OpKind::MemoryESEDI => Some(AddressSize::Bits32),
        OpKind::MemorySegRSI | OpKind::MemoryESRDI => Some(AddressSize::Bits64),
        _ => None,
    })
}

/// Bytes of an integer memory operand (the only kind the supported instructions have);
/// 0 for anything else.
fn memory_operand_size(size: MemorySize) -> u8 {
    match size {
        MemorySize::UInt8 | MemorySize::Int8 => 1,
        MemorySize::UInt16 | MemorySize::Int16 => 2,
        MemorySize::UInt32 | MemorySize::Int32 => 4,
        MemorySize::UInt64 | MemorySize::Int64 => 8,
        _ => 0,
    }
}

/// The segment register iced names.
fn segment_register(register: Register) -> Option<SegmentRegister> {
    Some(match register {
        Register::ES => SegmentRegister::Es,
        Register::CS => SegmentRegister::Cs,
        Register::SS => SegmentRegister::Ss,
        Register::DS => SegmentRegister::Ds,
        Register::FS => SegmentRegister::Fs,
        Register::GS => SegmentRegister::Gs,
        _ => return None,
    })
}
