//! The arithmetic the emulated instructions perform, with their status flags exactly as
//! the SDM defines them for ADD, SUB/CMP, AND, OR, XOR and TEST (SDM Vol. 1, 3.4.3.1 and
//! Vol. 2, the instruction pages).

/// RFLAGS status bits.
pub mod flags {
    /// Carry.
    pub const CF: u64 = 1 << 0;
    /// Parity of the low result byte (set when even).
    pub const PF: u64 = 1 << 2;
    /// Auxiliary carry out of bit 3.
    pub const AF: u64 = 1 << 4;
    /// Zero.
    pub const ZF: u64 = 1 << 6;
    /// Sign.
    pub const SF: u64 = 1 << 7;
    /// Direction (string instructions decrement when set).
    pub const DF: u64 = 1 << 10;
    /// Overflow.
    pub const OF: u64 = 1 << 11;
    /// Every status flag the ALU instructions write.
    pub const ARITHMETIC: u64 = CF | PF | AF | ZF | SF | OF;
}

/// An ALU operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// ADD.
    Add,
    /// SUB and CMP.
    Sub,
    /// AND and TEST.
    And,
    /// OR.
    Or,
    /// XOR.
    Xor,
}

/// Mask of an operand of `size` bytes (1, 2, 4 or 8).
pub const fn size_mask(size: u8) -> u64 {
    match size {
        1 => 0xFF,
        2 => 0xFFFF,
        4 => 0xFFFF_FFFF,
        _ => u64::MAX,
    }
}

/// Sign bit of an operand of `size` bytes.
const fn sign_bit(size: u8) -> u64 {
    match size {
        1 => 1 << 7,
        2 => 1 << 15,
        4 => 1 << 31,
        _ => 1 << 63,
    }
}

/// Sign-extends the low `size` bytes of `value` to 64 bits.
pub const fn sign_extend(value: u64, size: u8) -> u64 {
    let value = value & size_mask(size);
    if value & sign_bit(size) != 0 {
        value | !size_mask(size)
    } else {
        value
    }
}

/// `a op b` on `size`-byte operands: the result (masked to the size) and the six status
/// flags it sets. For the logic operations CF and OF are cleared; AF, architecturally
/// undefined there, is cleared as well.
pub fn compute(op: Op, a: u64, b: u64, size: u8) -> (u64, u64) {
    let mask = size_mask(size);
    let sign = sign_bit(size);
    let (a, b) = (a & mask, b & mask);
    let (result, mut out) = match op {
        Op::Add => {
            let r = a.wrapping_add(b) & mask;
            let mut f = 0;
            if r < a {
                f |= flags::CF;
            }
            if (a ^ r) & (b ^ r) & sign != 0 {
                f |= flags::OF;
            }
            if (a ^ b ^ r) & 0x10 != 0 {
                f |= flags::AF;
            }
            (r, f)
        }
        Op::Sub => {
            let r = a.wrapping_sub(b) & mask;
            let mut f = 0;
            if a < b {
                f |= flags::CF;
            }
            if (a ^ b) & (a ^ r) & sign != 0 {
                f |= flags::OF;
            }
            if (a ^ b ^ r) & 0x10 != 0 {
                f |= flags::AF;
            }
            (r, f)
        }
        Op::And => (a & b, 0),
        Op::Or => (a | b, 0),
        Op::Xor => (a ^ b, 0),
    };
    if result == 0 {
        out |= flags::ZF;
    }
    if result & sign != 0 {
        out |= flags::SF;
    }
    if (result & 0xFF).count_ones() % 2 == 0 {
        out |= flags::PF;
    }
    (result, out)
}

/// `rflags` with the status flags replaced by `status`.
pub const fn merge(rflags: u64, status: u64) -> u64 {
    (rflags & !flags::ARITHMETIC) | (status & flags::ARITHMETIC)
}

#[cfg(test)]
mod tests {
    use super::flags::{AF, CF, OF, PF, SF, ZF};
    use super::{Op, compute, sign_extend};

    /// ADD: carry out, signed overflow, auxiliary carry, and the result-derived flags.
    #[test]
    fn add_flags() {
        assert_eq!(compute(Op::Add, 0x01, 0xFF, 1), (0, CF | PF | AF | ZF));
        assert_eq!(
            compute(Op::Add, 0x7FFF_FFFF, 1, 4),
            (0x8000_0000, OF | SF | AF | PF)
        );
        assert_eq!(compute(Op::Add, 0x7F, 0x01, 1), (0x80, OF | SF | AF));
        assert_eq!(compute(Op::Add, 2, 3, 8), (5, PF));
        assert_eq!(compute(Op::Add, u64::MAX, 1, 8), (0, CF | ZF | PF | AF));
    }

    /// SUB/CMP: borrow, signed overflow, auxiliary borrow.
    #[test]
    fn sub_flags() {
        assert_eq!(compute(Op::Sub, 1, 2, 4), (0xFFFF_FFFF, CF | PF | AF | SF));
        assert_eq!(compute(Op::Sub, 5, 5, 4), (0, ZF | PF));
        assert_eq!(compute(Op::Sub, 0x8000, 1, 2), (0x7FFF, OF | AF | PF));
        assert_eq!(compute(Op::Sub, 0x10, 0x01, 1), (0x0F, AF | PF));
    }

    /// Logic operations clear CF, OF and AF and set ZF, SF, PF from the result.
    #[test]
    fn logic_flags() {
        assert_eq!(compute(Op::And, 0xF0, 0x0F, 1), (0, ZF | PF));
        assert_eq!(compute(Op::Or, 0x8000_0000, 1, 4), (0x8000_0001, SF));
        assert_eq!(compute(Op::Xor, 0xFF, 0xFE, 8), (1, 0));
    }

    /// Sign extension from each operand size.
    #[test]
    fn sign_extension() {
        assert_eq!(sign_extend(0x80, 1), 0xFFFF_FFFF_FFFF_FF80);
        assert_eq!(sign_extend(0x7F, 1), 0x7F);
        assert_eq!(sign_extend(0x1_8000, 2), 0xFFFF_FFFF_FFFF_8000);
        assert_eq!(sign_extend(0x8000_0000, 4), 0xFFFF_FFFF_8000_0000);
        assert_eq!(sign_extend(u64::MAX, 8), u64::MAX);
    }
}
