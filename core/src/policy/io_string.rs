//! `ins` and `outs`, with and without `rep` (SDM Vol. 2, INS/INSB/INSW/INSD and
//! OUTS/OUTSB/OUTSW/OUTSD; APM Vol. 2, 15.10.2).
//!
//! An I/O-intercept exit on a string instruction tells the port, the element size, the
//! `rep` prefix, the address size and (for `outs`) the segment. [`plan`] turns that and
//! the guest's registers into a bounded batch: the guest-linear address of each element
//! in order (`outs` reads them from seg:RSI, `ins` writes them to ES:RDI, stepping
//! backwards when RFLAGS.DF is set) and the RCX/RSI/RDI values after the batch. The
//! caller translates each address ([`walk::translate`](super::walk::translate); an
//! element may straddle a page boundary, so the last byte translates separately), moves
//! the data between guest memory and the port, and writes the registers back.
//!
//! If an element faults, [`Batch::registers_after`] gives the registers with the elements
//! before it completed, as the processor leaves them before delivering the fault. When
//! [`Batch::done`] is false RCX is not exhausted: the caller leaves RIP at the
//! instruction, which executes again for the next batch (interrupts may be taken between
//! batches, as between iterations). RFLAGS is never changed.

use alloc::vec::Vec;

use super::walk::{AddressSize, SegmentMode, SegmentRegister, segment_linear};

/// The most elements one batch holds, whatever the caller asks for.
pub const MAX_BATCH: u32 = 4096;

/// RFLAGS.DF.
const RFLAGS_DF: u64 = 1 << 10;

/// The direction of the transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// `ins`: port to memory at ES:RDI.
    In,
    /// `outs`: memory at seg:RSI to port.
    Out,
}

/// What the exit reported about the instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StringIo {
    /// The port (DX).
    pub port: u16,
    /// Element size in bytes: 1, 2 or 4.
    pub size: u8,
    /// `ins` or `outs`.
    pub direction: Direction,
    /// A `rep` prefix: RCX elements (masked to the address size).
    pub rep: bool,
    /// The address size, which also sizes RCX, RSI and RDI.
    pub address_size: AddressSize,
    /// The source segment of `outs` (DS unless overridden). `ins` always uses ES.
    pub segment: SegmentRegister,
    /// How segments form linear addresses in the guest's current mode.
    pub mode: SegmentMode,
}

/// The guest registers a string I/O instruction uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StringRegs {
    /// RCX: the `rep` count.
    pub rcx: u64,
    /// RSI: the `outs` source offset.
    pub rsi: u64,
    /// RDI: the `ins` destination offset.
    pub rdi: u64,
    /// RFLAGS: DF picks the direction.
    pub rflags: u64,
}

/// Why an exit's description cannot be planned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StringIoError {
    /// The element size was not 1, 2 or 4.
    BadSize(u8),
}

/// One batch of elements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// The guest-linear address of each element, in the order to transfer them.
    pub elements: Vec<u64>,
    /// Whether the instruction completes with this batch (advance RIP).
    pub done: bool,
    start: StringRegs,
    io: StringIo,
}

impl Batch {
    /// The registers after the whole batch.
    pub fn registers(&self) -> StringRegs {
        self.registers_after(self.elements.len())
    }

    /// The registers after the first `completed` elements (at most the batch's).
    pub fn registers_after(&self, completed: usize) -> StringRegs {
        let completed = completed.min(self.elements.len()) as u64;
        let size = self.io.address_size;
        let distance = completed.wrapping_mul(u64::from(self.io.size));
        let backwards = self.start.rflags & RFLAGS_DF != 0;
        let moved = |value: u64| {
            let next = if backwards {
                value.wrapping_sub(distance)
            } else {
                value.wrapping_add(distance)
            };
            assign(value, next, size)
        };
        let mut out = self.start;
        match self.io.direction {
            Direction::In => out.rdi = moved(self.start.rdi),
            Direction::Out => out.rsi = moved(self.start.rsi),
        }
        if self.io.rep {
            out.rcx = assign(self.start.rcx, self.start.rcx.wrapping_sub(completed), size);
        }
        out
    }
}

/// Writes an index register as an instruction of `size` address size does: 16 bits keep
/// the upper bits, 32 bits zero-extend, 64 bits replace.
fn assign(old: u64, new: u64, size: AddressSize) -> u64 {
    match size {
        AddressSize::Bits16 => (old & !0xFFFF) | (new & 0xFFFF),
        AddressSize::Bits32 => new & 0xFFFF_FFFF,
        AddressSize::Bits64 => new,
    }
}

/// Plans the next batch of at most `max_elements` (and at most [`MAX_BATCH`]) elements.
/// `segment_base` is the base of ES for `ins` and of `io.segment` for `outs`.
pub fn plan(
    io: &StringIo,
    regs: StringRegs,
    segment_base: u64,
    max_elements: u32,
) -> Result<Batch, StringIoError> {
    if !matches!(io.size, 1 | 2 | 4) {
        return Err(StringIoError::BadSize(io.size));
    }
    let mask = io.address_size.mask();
    let count = if io.rep { regs.rcx & mask } else { 1 };
    let limit = u64::from(max_elements.clamp(1, MAX_BATCH));
    let batch = count.min(limit);
    let (segment, offset) = match io.direction {
        Direction::In => (SegmentRegister::Es, regs.rdi),
        Direction::Out => (io.segment, regs.rsi),
    };
    let step = u64::from(io.size);
    let backwards = regs.rflags & RFLAGS_DF != 0;
    let mut elements = Vec::with_capacity(usize::try_from(batch).unwrap_or(0));
    let mut cursor = offset;
    for _ in 0..batch {
        elements.push(segment_linear(
            segment,
            segment_base,
            cursor,
            io.address_size,
            io.mode,
        ));
        cursor = if backwards {
            cursor.wrapping_sub(step)
        } else {
            cursor.wrapping_add(step)
        };
    }
    Ok(Batch {
        elements,
        done: !io.rep || count == batch,
        start: regs,
        io: *io,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing, clippy::unwrap_used)]

    use alloc::vec;

    use super::*;

    fn outs(size: u8, rep: bool, address_size: AddressSize) -> StringIo {
        StringIo {
            port: 0x3F8,
            size,
            direction: Direction::Out,
            rep,
            address_size,
            segment: SegmentRegister::Ds,
            mode: SegmentMode::Legacy,
        }
    }

    /// `rep outsb` in 32-bit code: DS:ESI upward, RCX counts down, RDI untouched.
    #[test]
    fn rep_outs_forward() {
        let regs = StringRegs {
            rcx: 3,
            rsi: 0x100,
            rdi: 0x55,
            rflags: 0x2,
        };
        let b = plan(&outs(1, true, AddressSize::Bits32), regs, 0x1_0000, 64).unwrap();
        assert_eq!(b.elements, vec![0x1_0100, 0x1_0101, 0x1_0102]);
        assert!(b.done);
        assert_eq!(
            b.registers(),
            StringRegs {
                rcx: 0,
                rsi: 0x103,
                rdi: 0x55,
                rflags: 0x2
            }
        );
    }

    /// `rep insw` with DF set walks ES:RDI downward; a segment override given for `ins`
    /// is ignored (ES is fixed).
    #[test]
    fn rep_ins_backward_uses_es() {
        let mut io = outs(2, true, AddressSize::Bits64);
        io.direction = Direction::In;
        io.segment = SegmentRegister::Fs;
        io.mode = SegmentMode::Long64;
        let regs = StringRegs {
            rcx: 2,
            rsi: 7,
            rdi: 0x2000,
            rflags: RFLAGS_DF,
        };
        let b = plan(&io, regs, 0xDEAD_0000, 64).unwrap();
        assert_eq!(
            b.elements,
            vec![0x2000, 0x1FFE],
            "ES base is 0 in 64-bit mode"
        );
        let after = b.registers();
        assert_eq!((after.rcx, after.rdi, after.rsi), (0, 0x1FFC, 7));
    }

    /// Without `rep`, one element and RCX is left alone; with `rep` and RCX = 0, none.
    #[test]
    fn single_and_empty() {
        let regs = StringRegs {
            rcx: 9,
            rsi: 0x10,
            ..StringRegs::default()
        };
        let one = plan(&outs(4, false, AddressSize::Bits32), regs, 0, 64).unwrap();
        assert_eq!(one.elements, vec![0x10]);
        assert!(one.done);
        assert_eq!(one.registers().rcx, 9);
        assert_eq!(one.registers().rsi, 0x14);
        let none = plan(
            &outs(4, true, AddressSize::Bits32),
            StringRegs::default(),
            0,
            64,
        )
        .unwrap();
        assert!(none.elements.is_empty());
        assert!(none.done);
    }

    /// A long `rep` is cut into batches: not done, RCX shows what remains; and a fault
    /// at element k leaves the registers after k elements.
    #[test]
    fn batches_and_partial_progress() {
        let regs = StringRegs {
            rcx: 10,
            rsi: 0x400,
            ..StringRegs::default()
        };
        let b = plan(&outs(4, true, AddressSize::Bits64), regs, 0, 4).unwrap();
        assert_eq!(b.elements.len(), 4);
        assert!(!b.done);
        assert_eq!(b.registers().rcx, 6);
        assert_eq!(b.registers().rsi, 0x410);
        let partial = b.registers_after(2);
        assert_eq!((partial.rcx, partial.rsi), (8, 0x408));
        assert_eq!(b.registers_after(99), b.registers());
        // The batch never exceeds MAX_BATCH, whatever the caller asks.
        let huge = StringRegs {
            rcx: u64::MAX,
            ..StringRegs::default()
        };
        let capped = plan(&outs(1, true, AddressSize::Bits64), huge, 0, u32::MAX).unwrap();
        assert_eq!(capped.elements.len(), MAX_BATCH as usize);
    }

    /// 16-bit address size: SI and CX wrap within 16 bits, the upper bits are kept, and
    /// the linear address is base + 16-bit offset.
    #[test]
    fn sixteen_bit_wrap() {
        let regs = StringRegs {
            rcx: 0xAAAA_0000_0000_0002,
            rsi: 0xBBBB_0000_0000_FFFF,
            ..StringRegs::default()
        };
        let b = plan(&outs(1, true, AddressSize::Bits16), regs, 0x2_0000, 64).unwrap();
        assert_eq!(b.elements, vec![0x2_FFFF, 0x2_0000]);
        let after = b.registers();
        assert_eq!(after.rsi, 0xBBBB_0000_0000_0001);
        assert_eq!(after.rcx, 0xAAAA_0000_0000_0000);
    }

    /// Element sizes other than 1, 2, 4 are refused.
    #[test]
    fn bad_size() {
        let io = outs(8, false, AddressSize::Bits64);
        assert_eq!(
            plan(&io, StringRegs::default(), 0, 1),
            Err(StringIoError::BadSize(8))
        );
    }
}
