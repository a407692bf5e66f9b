#![allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::panic
)]

use std::collections::VecDeque;
use std::vec::Vec;

use iced_x86::Mnemonic;

use super::flags::{AF, CF, DF, OF, PF, SF, ZF};
use super::{
    AccessTarget, Emulated, EmulationError, MmioAccess, MmioError, REP_BATCH, Registers,
    code_bitness, emulate,
};
use crate::policy::walk::SegmentRegister;

const RAX: usize = 0;
const RCX: usize = 1;
const RBX: usize = 3;
const RSI: usize = 6;
const RDI: usize = 7;
const R9: usize = 9;
/// The faulting guest-physical address every test uses.
const GPA: u64 = 0xFEC0_0010;
/// Reserved bit 1 and IF: flags the ALU must keep.
const BASE_FLAGS: u64 = 0x202;

#[derive(Clone, Debug, PartialEq, Eq)]
struct Regs {
    gpr: [u64; 16],
    rflags: u64,
    /// ES, CS, SS, DS, FS, GS.
    bases: [u64; 6],
}

impl Default for Regs {
    fn default() -> Self {
        Self {
            gpr: [0; 16],
            rflags: BASE_FLAGS,
            bases: [0; 6],
        }
    }
}

impl Registers for Regs {
    fn gpr(&self, index: u8) -> u64 {
        self.gpr[usize::from(index)]
    }
    fn set_gpr(&mut self, index: u8, value: u64) {
        self.gpr[usize::from(index)] = value;
    }
    fn rflags(&self) -> u64 {
        self.rflags
    }
    fn set_rflags(&mut self, value: u64) {
        self.rflags = value;
    }
    fn segment_base(&self, segment: SegmentRegister) -> u64 {
        let i = match segment {
            SegmentRegister::Es => 0,
            SegmentRegister::Cs => 1,
            SegmentRegister::Ss => 2,
            SegmentRegister::Ds => 3,
            SegmentRegister::Fs => 4,
            SegmentRegister::Gs => 5,
        };
        self.bases[i]
    }
}

/// A device that answers reads from a queue (0 when empty) and records every access.
#[derive(Default)]
struct Device {
    answers: VecDeque<u64>,
    seen: Vec<MmioAccess>,
    /// Fail the access with this index.
    fail_at: Option<(usize, MmioError)>,
}

impl Device {
    fn answering(values: &[u64]) -> Self {
        Self {
            answers: values.iter().copied().collect(),
            ..Self::default()
        }
    }

    fn access(&mut self, access: MmioAccess) -> Result<u64, MmioError> {
        if let Some((at, error)) = self.fail_at
            && at == self.seen.len()
        {
            return Err(error);
        }
        self.seen.push(access);
        Ok(match access.write {
            Some(_) => 0,
            None => self.answers.pop_front().unwrap_or(0),
        })
    }
}

fn run(
    bytes: &[u8],
    bitness: u32,
    regs: &mut Regs,
    dev: &mut Device,
) -> Result<Emulated, EmulationError> {
    emulate(bytes, bitness, regs, &mut |a| dev.access(a), GPA)
}

fn read(size: u8) -> MmioAccess {
    MmioAccess {
        target: AccessTarget::Physical(GPA),
        size,
        write: None,
    }
}

fn write(size: u8, value: u64) -> MmioAccess {
    MmioAccess {
        target: AccessTarget::Physical(GPA),
        size,
        write: Some(value),
    }
}

fn linear(address: u64, size: u8, write: Option<u64>) -> MmioAccess {
    MmioAccess {
        target: AccessTarget::Linear(address),
        size,
        write,
    }
}

fn done(len: usize) -> Result<Emulated, EmulationError> {
    Ok(Emulated { len, done: true })
}

/// `mov [rdi], eax` stores the low 32 bits of RAX; `mov [rdi], rax` all 64.
#[test]
fn mov_store_register() {
    let mut regs = Regs::default();
    regs.gpr[RAX] = 0x1122_3344_5566_7788;
    let mut dev = Device::default();
    assert_eq!(run(&[0x89, 0x07], 64, &mut regs, &mut dev), done(2));
    assert_eq!(run(&[0x48, 0x89, 0x07], 64, &mut regs, &mut dev), done(3));
    assert_eq!(
        run(&[0x88, 0x27], 64, &mut regs, &mut dev),
        done(2),
        "mov [rdi], ah"
    );
    assert_eq!(
        run(&[0x44, 0x89, 0x0F], 64, &mut regs, &mut dev),
        done(3),
        "mov [rdi], r9d"
    );
    assert_eq!(
        dev.seen,
        [
            write(4, 0x5566_7788),
            write(8, 0x1122_3344_5566_7788),
            write(1, 0x77),
            write(4, 0)
        ]
    );
    assert_eq!(regs.rflags, BASE_FLAGS, "mov leaves flags alone");
}

/// Register loads: 32-bit destinations zero-extend, 8- and 16-bit ones (AH included)
/// keep the rest of the register.
#[test]
fn mov_load_register_widths() {
    let mut regs = Regs::default();
    let mut dev = Device::answering(&[0xAABB_CCDD, 0xEEFF, 0x11, 0x22, 0x0123_4567_89AB_CDEF]);
    regs.gpr[RBX] = 0xFFFF_FFFF_FFFF_FFFF;
    assert_eq!(
        run(&[0x8B, 0x1E], 64, &mut regs, &mut dev),
        done(2),
        "mov ebx, [rsi]"
    );
    assert_eq!(regs.gpr[RBX], 0xAABB_CCDD);
    regs.gpr[RBX] = 0xFFFF_FFFF_FFFF_FFFF;
    assert_eq!(
        run(&[0x66, 0x8B, 0x1E], 64, &mut regs, &mut dev),
        done(3),
        "mov bx, [rsi]"
    );
    assert_eq!(regs.gpr[RBX], 0xFFFF_FFFF_FFFF_EEFF);
    assert_eq!(
        run(&[0x8A, 0x1E], 64, &mut regs, &mut dev),
        done(2),
        "mov bl, [rsi]"
    );
    assert_eq!(regs.gpr[RBX], 0xFFFF_FFFF_FFFF_EE11);
    assert_eq!(
        run(&[0x8A, 0x3E], 64, &mut regs, &mut dev),
        done(2),
        "mov bh, [rsi]"
    );
    assert_eq!(regs.gpr[RBX], 0xFFFF_FFFF_FFFF_2211);
    assert_eq!(
        run(&[0x48, 0x8B, 0x07], 64, &mut regs, &mut dev),
        done(3),
        "mov rax, [rdi]"
    );
    assert_eq!(regs.gpr[RAX], 0x0123_4567_89AB_CDEF);
    assert_eq!(dev.seen, [read(4), read(2), read(1), read(1), read(8)]);
}

/// Immediate stores, sign-extended to the operand size where the encoding says so.
#[test]
fn mov_store_immediate() {
    let mut regs = Regs::default();
    let mut dev = Device::default();
    assert_eq!(run(&[0xC6, 0x07, 0x5A], 64, &mut regs, &mut dev), done(3));
    assert_eq!(
        run(
            &[0xC7, 0x47, 0x08, 0x78, 0x56, 0x34, 0x12],
            64,
            &mut regs,
            &mut dev
        ),
        done(7)
    );
    assert_eq!(
        run(
            &[0x48, 0xC7, 0x07, 0xFF, 0xFF, 0xFF, 0xFF],
            64,
            &mut regs,
            &mut dev
        ),
        done(7)
    );
    assert_eq!(
        run(&[0x66, 0xC7, 0x07, 0x34, 0x12], 32, &mut regs, &mut dev),
        done(5)
    );
    assert_eq!(
        dev.seen,
        [
            write(1, 0x5A),
            write(4, 0x1234_5678),
            write(8, u64::MAX),
            write(2, 0x1234)
        ]
    );
}

/// `mov eax, [moffs32]` in 32-bit code (the form compilers use for a fixed MMIO
/// address), and a 16-bit `mov [bx+si], ax`.
#[test]
fn mov_moffs_and_16_bit() {
    let mut regs = Regs::default();
    regs.gpr[RAX] = 0xFFFF_FFFF_0000_0000;
    let mut dev = Device::answering(&[0x0102_0304]);
    assert_eq!(
        run(&[0xA1, 0x30, 0x00, 0xE0, 0xFE], 32, &mut regs, &mut dev),
        done(5)
    );
    assert_eq!(regs.gpr[RAX], 0x0102_0304);
    regs.gpr[RAX] = 0xBEEF;
    assert_eq!(run(&[0x89, 0x00], 16, &mut regs, &mut dev), done(2));
    assert_eq!(dev.seen, [read(4), write(2, 0xBEEF)]);
}

/// `movzx`, `movsx` and `movsxd` read the narrow operand and extend it.
#[test]
fn zero_and_sign_extension() {
    let mut regs = Regs::default();
    let mut dev = Device::answering(&[0x80, 0x8001, 0x80, 0x8001, 0x8000_0000]);
    regs.gpr[RAX] = u64::MAX;
    assert_eq!(run(&[0x0F, 0xB6, 0x06], 64, &mut regs, &mut dev), done(3));
    assert_eq!(regs.gpr[RAX], 0x80);
    assert_eq!(run(&[0x0F, 0xB7, 0x06], 64, &mut regs, &mut dev), done(3));
    assert_eq!(regs.gpr[RAX], 0x8001);
    assert_eq!(run(&[0x0F, 0xBE, 0x06], 64, &mut regs, &mut dev), done(3));
    assert_eq!(regs.gpr[RAX], 0xFFFF_FF80);
    assert_eq!(
        run(&[0x48, 0x0F, 0xBF, 0x06], 64, &mut regs, &mut dev),
        done(4)
    );
    assert_eq!(regs.gpr[RAX], 0xFFFF_FFFF_FFFF_8001);
    assert_eq!(run(&[0x48, 0x63, 0x06], 64, &mut regs, &mut dev), done(3));
    assert_eq!(regs.gpr[RAX], 0xFFFF_FFFF_8000_0000);
    assert_eq!(dev.seen, [read(1), read(2), read(1), read(2), read(4)]);
}

/// Read-modify-write ALU forms: one read, one write of the result, flags exact, other
/// RFLAGS bits kept.
#[test]
fn alu_memory_destination() {
    let mut regs = Regs::default();
    let mut dev = Device::answering(&[0x0000_0001, 0x7FFF_FFFF, 0x1, 0xF0F0, 0x01]);
    // or dword [rdi], 0x10
    assert_eq!(run(&[0x83, 0x0F, 0x10], 64, &mut regs, &mut dev), done(3));
    assert_eq!(&dev.seen[..], [read(4), write(4, 0x11)]);
    assert_eq!(regs.rflags, BASE_FLAGS | PF);
    // add [rdi], eax: signed overflow.
    regs.gpr[RAX] = 1;
    assert_eq!(run(&[0x01, 0x07], 64, &mut regs, &mut dev), done(2));
    assert_eq!(dev.seen[3], write(4, 0x8000_0000));
    assert_eq!(regs.rflags, BASE_FLAGS | OF | SF | AF | PF);
    // sub [rdi], eax with eax = 2: borrow.
    regs.gpr[RAX] = 2;
    assert_eq!(run(&[0x29, 0x07], 64, &mut regs, &mut dev), done(2));
    assert_eq!(dev.seen[5], write(4, 0xFFFF_FFFF));
    assert_eq!(regs.rflags, BASE_FLAGS | CF | PF | AF | SF);
    // and word [rdi], 0x0F0F: zero result.
    assert_eq!(
        run(&[0x66, 0x81, 0x27, 0x0F, 0x0F], 64, &mut regs, &mut dev),
        done(5)
    );
    assert_eq!(dev.seen[7], write(2, 0));
    assert_eq!(regs.rflags, BASE_FLAGS | ZF | PF);
    // add byte [rdi], 0xFF: carry out of the byte.
    assert_eq!(run(&[0x80, 0x07, 0xFF], 64, &mut regs, &mut dev), done(3));
    assert_eq!(dev.seen[9], write(1, 0));
    assert_eq!(regs.rflags, BASE_FLAGS | CF | PF | AF | ZF);
}

/// ALU forms with a register destination read the device once and write the register.
#[test]
fn alu_register_destination() {
    let mut regs = Regs::default();
    regs.gpr[RAX] = 0xFFFF_FFFF_0000_00FF;
    regs.rflags = BASE_FLAGS | CF | OF;
    let mut dev = Device::answering(&[0x0F]);
    // xor eax, [rdi]
    assert_eq!(run(&[0x33, 0x07], 64, &mut regs, &mut dev), done(2));
    assert_eq!(regs.gpr[RAX], 0xF0);
    assert_eq!(regs.rflags, BASE_FLAGS | PF, "logic clears CF and OF");
    assert_eq!(dev.seen, [read(4)]);
}

/// `cmp` and `test` only read and set flags.
#[test]
fn cmp_and_test_do_not_write() {
    let mut regs = Regs::default();
    let mut dev = Device::answering(&[5, 0x100, 0x80, 3]);
    assert_eq!(
        run(&[0x83, 0x3F, 0x05], 64, &mut regs, &mut dev),
        done(3),
        "cmp dword [rdi], 5"
    );
    assert_eq!(regs.rflags, BASE_FLAGS | ZF | PF);
    assert_eq!(
        run(
            &[0xF7, 0x07, 0x00, 0x01, 0x00, 0x00],
            64,
            &mut regs,
            &mut dev
        ),
        done(6),
        "test dword [rdi], 0x100"
    );
    assert_eq!(regs.rflags, BASE_FLAGS | PF);
    regs.gpr[RAX] = 0x80;
    assert_eq!(
        run(&[0x84, 0x07], 64, &mut regs, &mut dev),
        done(2),
        "test [rdi], al"
    );
    assert_eq!(regs.rflags, BASE_FLAGS | SF);
    regs.gpr[RAX] = 2;
    assert_eq!(
        run(&[0x3B, 0x07], 64, &mut regs, &mut dev),
        done(2),
        "cmp eax, [rdi]"
    );
    assert_eq!(regs.rflags, BASE_FLAGS | CF | SF | PF | AF);
    assert_eq!(regs.gpr[RAX], 2);
    assert_eq!(dev.seen, [read(4), read(4), read(1), read(4)]);
}

/// `xchg [rdi], eax`: the device gets EAX, EAX gets the old value (zero-extended).
#[test]
fn xchg_memory() {
    let mut regs = Regs::default();
    regs.gpr[RAX] = 0xFFFF_FFFF_1234_5678;
    let mut dev = Device::answering(&[0xCAFE]);
    assert_eq!(run(&[0x87, 0x07], 64, &mut regs, &mut dev), done(2));
    assert_eq!(dev.seen, [read(4), write(4, 0x1234_5678)]);
    assert_eq!(regs.gpr[RAX], 0xCAFE);
}

/// `bt dword [rdi], imm8` sets CF from the bit (modulo the operand width).
#[test]
fn bit_test_immediate() {
    let mut regs = Regs {
        rflags: BASE_FLAGS | ZF,
        ..Regs::default()
    };
    let mut dev = Device::answering(&[0b1000, 0b1000]);
    assert_eq!(
        run(&[0x0F, 0xBA, 0x27, 0x03], 64, &mut regs, &mut dev),
        done(4)
    );
    assert_eq!(regs.rflags, BASE_FLAGS | ZF | CF);
    assert_eq!(
        run(&[0x0F, 0xBA, 0x27, 0x24], 64, &mut regs, &mut dev),
        done(4),
        "bit 36 = bit 4"
    );
    assert_eq!(regs.rflags, BASE_FLAGS | ZF);
}

/// `stosd` without `rep`: one element at ES:RDI (linear), RDI advances, RCX untouched.
#[test]
fn stos_single() {
    let mut regs = Regs::default();
    regs.gpr[RAX] = 0xAABB_CCDD;
    regs.gpr[RDI] = 0x1000;
    regs.gpr[RCX] = 7;
    regs.bases[0] = 0x5000_0000;
    let mut dev = Device::default();
    assert_eq!(run(&[0xAB], 64, &mut regs, &mut dev), done(1));
    assert_eq!(
        dev.seen,
        [linear(0x1000, 4, Some(0xAABB_CCDD))],
        "ES base ignored in 64-bit mode"
    );
    assert_eq!(regs.gpr[RDI], 0x1004);
    assert_eq!(regs.gpr[RCX], 7);
}

/// `rep stosb` forwards and, with DF, backwards; RCX counts down to 0.
#[test]
fn rep_stos_both_directions() {
    let mut regs = Regs::default();
    regs.gpr[RAX] = 0x41;
    regs.gpr[RDI] = 0x2000;
    regs.gpr[RCX] = 3;
    let mut dev = Device::default();
    assert_eq!(run(&[0xF3, 0xAA], 64, &mut regs, &mut dev), done(2));
    let addresses: Vec<_> = dev.seen.iter().map(|a| a.target).collect();
    assert_eq!(
        addresses,
        [0x2000, 0x2001, 0x2002].map(AccessTarget::Linear).to_vec()
    );
    assert_eq!((regs.gpr[RDI], regs.gpr[RCX]), (0x2003, 0));

    let mut dev = Device::default();
    regs.rflags |= DF;
    regs.gpr[RCX] = 2;
    assert_eq!(run(&[0xF3, 0x66, 0xAB], 64, &mut regs, &mut dev), done(3));
    assert_eq!(
        dev.seen,
        [linear(0x2003, 2, Some(0x41)), linear(0x2001, 2, Some(0x41))]
    );
    assert_eq!((regs.gpr[RDI], regs.gpr[RCX]), (0x1FFF, 0));
}

/// A long `rep` runs in batches: after REP_BATCH elements the instruction is not done,
/// RIP stays, and RCX/RDI show the progress; `rep` with RCX = 0 does nothing.
#[test]
fn rep_batches_are_bounded() {
    let mut regs = Regs::default();
    regs.gpr[RCX] = 600;
    let mut dev = Device::default();
    assert_eq!(
        run(&[0xF3, 0xAB], 64, &mut regs, &mut dev),
        Ok(Emulated {
            len: 2,
            done: false
        })
    );
    assert_eq!(dev.seen.len() as u64, REP_BATCH);
    assert_eq!(regs.gpr[RCX], 600 - REP_BATCH);
    assert_eq!(regs.gpr[RDI], 4 * REP_BATCH);
    regs.gpr[RCX] = 0;
    let mut dev = Device::default();
    assert_eq!(run(&[0xF3, 0xAB], 64, &mut regs, &mut dev), done(2));
    assert!(dev.seen.is_empty());
}

/// `rep movsd` reads DS:RSI and writes ES:RDI per element; a segment override picks the
/// source segment (FS keeps its base in 64-bit mode).
#[test]
fn movs_with_and_without_override() {
    let mut regs = Regs::default();
    regs.gpr[RSI] = 0x100;
    regs.gpr[RDI] = 0x900;
    regs.gpr[RCX] = 2;
    let mut dev = Device::answering(&[0x11, 0x22]);
    assert_eq!(run(&[0xF3, 0xA5], 64, &mut regs, &mut dev), done(2));
    assert_eq!(
        dev.seen,
        [
            linear(0x100, 4, None),
            linear(0x900, 4, Some(0x11)),
            linear(0x104, 4, None),
            linear(0x904, 4, Some(0x22)),
        ]
    );
    assert_eq!(
        (regs.gpr[RSI], regs.gpr[RDI], regs.gpr[RCX]),
        (0x108, 0x908, 0)
    );

    regs.bases[4] = 0x7000_0000;
    let mut dev = Device::answering(&[0x33]);
    assert_eq!(
        run(&[0x64, 0xA4], 64, &mut regs, &mut dev),
        done(2),
        "movsb with fs:"
    );
    assert_eq!(
        dev.seen,
        [linear(0x7000_0108, 1, None), linear(0x908, 1, Some(0x33))]
    );
}

/// `lodsw` loads AX (upper bits kept) from DS:RSI, with the DS base in 32-bit code.
#[test]
fn lods_word() {
    let mut regs = Regs::default();
    regs.gpr[RAX] = 0xFFFF_0000;
    regs.gpr[RSI] = 0x10;
    regs.bases[3] = 0x8000;
    let mut dev = Device::answering(&[0x1234]);
    assert_eq!(run(&[0x66, 0xAD], 32, &mut regs, &mut dev), done(2));
    assert_eq!(dev.seen, [linear(0x8010, 2, None)]);
    assert_eq!(regs.gpr[RAX], 0xFFFF_1234);
    assert_eq!(regs.gpr[RSI], 0x12);
}

/// 16-bit address size: DI wraps at 64 KiB and the upper register bits stay; a 32-bit
/// address size in 64-bit mode counts ECX and zero-extends RCX and RDI.
#[test]
fn string_address_sizes() {
    let mut regs = Regs::default();
    regs.gpr[RDI] = 0xAAAA_0000_0000_FFFF;
    regs.gpr[RCX] = 0x5555_0000_0000_0002;
    regs.bases[0] = 0x1_0000;
    let mut dev = Device::default();
    assert_eq!(run(&[0xF3, 0xAA], 16, &mut regs, &mut dev), done(2));
    assert_eq!(
        dev.seen,
        [linear(0x1_FFFF, 1, Some(0)), linear(0x1_0000, 1, Some(0))]
    );
    assert_eq!(regs.gpr[RDI], 0xAAAA_0000_0000_0001);
    assert_eq!(regs.gpr[RCX], 0x5555_0000_0000_0000);

    regs.gpr[RDI] = 0xFFFF_FFFF_FFFF_FFFF;
    regs.gpr[RCX] = 0x1_0000_0002;
    let mut dev = Device::default();
    assert_eq!(run(&[0x67, 0xF3, 0xAA], 64, &mut regs, &mut dev), done(3));
    assert_eq!(
        dev.seen,
        [linear(0xFFFF_FFFF, 1, Some(0)), linear(0, 1, Some(0))]
    );
    assert_eq!(regs.gpr[RDI], 1);
    assert_eq!(regs.gpr[RCX], 0);
}

/// A failed element leaves the registers at the elements completed and reports the
/// callback's error.
#[test]
fn string_fault_is_precise() {
    let mut regs = Regs::default();
    regs.gpr[RCX] = 5;
    regs.gpr[RDI] = 0x3000;
    let fault = MmioError::PageFault {
        error_code: 2,
        address: 0x3002,
    };
    let mut dev = Device {
        fail_at: Some((2, fault)),
        ..Device::default()
    };
    assert_eq!(
        run(&[0xF3, 0xAA], 64, &mut regs, &mut dev),
        Err(EmulationError::Access(fault))
    );
    assert_eq!((regs.gpr[RCX], regs.gpr[RDI]), (3, 0x3002));
}

/// A callback failure on a plain instruction changes no register.
#[test]
fn plain_fault_changes_nothing() {
    let mut regs = Regs::default();
    regs.gpr[R9] = 7;
    let before = regs.clone();
    let mut dev = Device {
        fail_at: Some((0, MmioError::Unhandled(GPA))),
        ..Device::default()
    };
    assert_eq!(
        run(&[0x4C, 0x8B, 0x0F], 64, &mut regs, &mut dev),
        Err(EmulationError::Access(MmioError::Unhandled(GPA)))
    );
    assert_eq!(regs, before);
}

/// Instructions outside the supported set are reported by mnemonic; invalid and
/// truncated bytes and bad bitness are told apart.
#[test]
fn unsupported_and_invalid() {
    let mut regs = Regs::default();
    let mut dev = Device::default();
    let cases: &[(&[u8], Mnemonic)] = &[
        (&[0xFF, 0x37], Mnemonic::Push),
        (&[0xFF, 0x07], Mnemonic::Inc),
        (&[0xF2, 0x0F, 0x10, 0x07], Mnemonic::Movsd),
        (&[0xA6], Mnemonic::Cmpsb),
        (&[0x89, 0xD8], Mnemonic::Mov),
        (&[0x8E, 0x1F], Mnemonic::Mov),
        (&[0x0F, 0xA3, 0x07], Mnemonic::Bt),
        (&[0x0F, 0x0B], Mnemonic::Ud2),
        (&[0x0F, 0x10, 0x07], Mnemonic::Movups),
    ];
    for (bytes, mnemonic) in cases {
        assert_eq!(
            run(bytes, 64, &mut regs, &mut dev),
            Err(EmulationError::Unsupported {
                mnemonic: *mnemonic
            }),
            "{bytes:02x?}"
        );
    }
    assert!(dev.seen.is_empty());
    assert_eq!(
        run(&[0x8B], 64, &mut regs, &mut dev),
        Err(EmulationError::Truncated)
    );
    assert_eq!(
        run(&[], 64, &mut regs, &mut dev),
        Err(EmulationError::Truncated)
    );
    assert_eq!(
        run(&[0x06, 0x90, 0x90, 0x90], 64, &mut regs, &mut dev),
        Err(EmulationError::Invalid),
        "push es"
    );
    assert_eq!(
        run(&[0x89, 0x07], 8, &mut regs, &mut dev),
        Err(EmulationError::BadBitness(8))
    );
    assert_eq!(regs, Regs::default());
}

/// The bitness follows CR0.PE, RFLAGS.VM, EFER.LMA with CS.L, and CS.D.
#[test]
fn bitness_from_state() {
    assert_eq!(code_bitness(0, 0, 0, false, false), 16);
    assert_eq!(code_bitness(1, 1 << 17, 0, false, true), 16);
    assert_eq!(code_bitness(1, 0, 1 << 10, true, false), 64);
    assert_eq!(code_bitness(1, 0, 1 << 10, false, true), 32);
    assert_eq!(code_bitness(1, 0, 0, false, true), 32);
    assert_eq!(code_bitness(1, 0, 0, false, false), 16);
}

/// Random bytes in every bitness never panic, whatever the callback answers.
#[test]
fn random_bytes_never_panic() {
    let mut seed = 0x0BAD_CAFE_F00D_1234u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    // Prefixes and opcodes the emulator handles, to reach deep paths often.
    let interesting = [
        0x66, 0x67, 0xF3, 0xF2, 0x48, 0x4C, 0x64, 0x89, 0x8B, 0xA4, 0xAB, 0x83, 0x0F, 0xBA,
    ];
    for _ in 0..30_000 {
        let mut bytes = [0u8; 16];
        for b in bytes.iter_mut() {
            let r = next();
            *b = if r % 3 == 0 {
                interesting[(r >> 8) as usize % interesting.len()]
            } else {
                (r >> 16) as u8
            };
        }
        let len = (next() % 17) as usize;
        let bitness = [16, 32, 64, 0][(next() % 4) as usize];
        let mut regs = Regs::default();
        for g in regs.gpr.iter_mut() {
            *g = next();
        }
        regs.gpr[RCX] %= 1000;
        regs.rflags = next();
        let fail = next() % 5 == 0;
        let mut answer = next();
        let mut callback = |_a: MmioAccess| {
            answer = answer.rotate_left(7);
            if fail && answer % 3 == 0 {
                Err(MmioError::GeneralProtection)
            } else {
                Ok(answer)
            }
        };
        let _ = emulate(&bytes[..len], bitness, &mut regs, &mut callback, next());
    }
}
