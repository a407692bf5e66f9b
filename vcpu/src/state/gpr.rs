//! The sixteen general-purpose registers.

use core::ops::{Index, IndexMut};

/// A general-purpose register, with the number x86 uses for it in ModR/M, SIB and REX
/// encodings (SDM Vol. 2A, 2.1.5 and 2.2.1: RAX = 0 ... RDI = 7, R8 = 8 ... R15 = 15).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Gpr {
    /// Accumulator; I/O results and MSR/CPUID values travel through it.
    Rax = 0,
    /// Counter; the `rep` count and the MSR index.
    Rcx = 1,
    /// Data; I/O port in `in`/`out dx` forms, high half of MSR values.
    Rdx = 2,
    /// Base; the Multiboot and PVH info pointers arrive here.
    Rbx = 3,
    /// Stack pointer.
    Rsp = 4,
    /// Frame pointer.
    Rbp = 5,
    /// Source index; the Linux `boot_params` pointer arrives here.
    Rsi = 6,
    /// Destination index.
    Rdi = 7,
    /// R8.
    R8 = 8,
    /// R9.
    R9 = 9,
    /// R10.
    R10 = 10,
    /// R11.
    R11 = 11,
    /// R12.
    R12 = 12,
    /// R13.
    R13 = 13,
    /// R14.
    R14 = 14,
    /// R15.
    R15 = 15,
}

impl Gpr {
    /// Every register, in register-number order.
    pub const ALL: [Gpr; 16] = [
        Gpr::Rax,
        Gpr::Rcx,
        Gpr::Rdx,
        Gpr::Rbx,
        Gpr::Rsp,
        Gpr::Rbp,
        Gpr::Rsi,
        Gpr::Rdi,
        Gpr::R8,
        Gpr::R9,
        Gpr::R10,
        Gpr::R11,
        Gpr::R12,
        Gpr::R13,
        Gpr::R14,
        Gpr::R15,
    ];

    /// The register with x86 number `number` (0..=15), or `None`.
    pub const fn from_number(number: u8) -> Option<Gpr> {
        match number {
            0 => Some(Gpr::Rax),
            1 => Some(Gpr::Rcx),
            2 => Some(Gpr::Rdx),
            3 => Some(Gpr::Rbx),
            4 => Some(Gpr::Rsp),
            5 => Some(Gpr::Rbp),
            6 => Some(Gpr::Rsi),
            7 => Some(Gpr::Rdi),
            8 => Some(Gpr::R8),
            9 => Some(Gpr::R9),
            10 => Some(Gpr::R10),
            11 => Some(Gpr::R11),
            12 => Some(Gpr::R12),
            13 => Some(Gpr::R13),
            14 => Some(Gpr::R14),
            15 => Some(Gpr::R15),
            _ => None,
        }
    }

    /// The x86 register number.
    pub const fn number(self) -> u8 {
        self as u8
    }

    /// The 64-bit name, for logs.
    pub const fn name(self) -> &'static str {
        match self {
            Gpr::Rax => "rax",
            Gpr::Rcx => "rcx",
            Gpr::Rdx => "rdx",
            Gpr::Rbx => "rbx",
            Gpr::Rsp => "rsp",
            Gpr::Rbp => "rbp",
            Gpr::Rsi => "rsi",
            Gpr::Rdi => "rdi",
            Gpr::R8 => "r8",
            Gpr::R9 => "r9",
            Gpr::R10 => "r10",
            Gpr::R11 => "r11",
            Gpr::R12 => "r12",
            Gpr::R13 => "r13",
            Gpr::R14 => "r14",
            Gpr::R15 => "r15",
        }
    }
}

/// The general-purpose registers.
///
/// `#[repr(C)]` with the fields in register-number order, so the byte offset of a
/// register is `8 * number`: a backend's entry/exit assembly can save and restore the
/// block with plain offsets (checked below at compile time).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(C)]
#[allow(missing_docs)] // The field names are the register names.
pub struct Gprs {
    pub rax: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rbx: u64,
    pub rsp: u64,
    pub rbp: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
}

const _: () = {
    use core::mem::{offset_of, size_of};
    assert!(size_of::<Gprs>() == 16 * 8);
    assert!(offset_of!(Gprs, rax) == 0);
    assert!(offset_of!(Gprs, rsp) == 4 * 8);
    assert!(offset_of!(Gprs, rdi) == 7 * 8);
    assert!(offset_of!(Gprs, r8) == 8 * 8);
    assert!(offset_of!(Gprs, r15) == 15 * 8);
};

impl Gprs {
    /// The value of `reg`.
    pub const fn get(&self, reg: Gpr) -> u64 {
        match reg {
            Gpr::Rax => self.rax,
            Gpr::Rcx => self.rcx,
            Gpr::Rdx => self.rdx,
            Gpr::Rbx => self.rbx,
            Gpr::Rsp => self.rsp,
            Gpr::Rbp => self.rbp,
            Gpr::Rsi => self.rsi,
            Gpr::Rdi => self.rdi,
            Gpr::R8 => self.r8,
            Gpr::R9 => self.r9,
            Gpr::R10 => self.r10,
            Gpr::R11 => self.r11,
            Gpr::R12 => self.r12,
            Gpr::R13 => self.r13,
            Gpr::R14 => self.r14,
            Gpr::R15 => self.r15,
        }
    }

    /// Sets `reg` to `value`.
    pub fn set(&mut self, reg: Gpr, value: u64) {
        self[reg] = value;
    }

    /// The register with x86 number `number`, or `None` past 15.
    pub const fn by_number(&self, number: u8) -> Option<u64> {
        match Gpr::from_number(number) {
            Some(reg) => Some(self.get(reg)),
            None => None,
        }
    }

    /// Sets the register with x86 number `number`; `false` (and nothing written) past 15.
    pub fn set_by_number(&mut self, number: u8, value: u64) -> bool {
        match Gpr::from_number(number) {
            Some(reg) => {
                self[reg] = value;
                true
            }
            None => false,
        }
    }
}

impl Index<Gpr> for Gprs {
    type Output = u64;

    fn index(&self, reg: Gpr) -> &u64 {
        match reg {
            Gpr::Rax => &self.rax,
            Gpr::Rcx => &self.rcx,
            Gpr::Rdx => &self.rdx,
            Gpr::Rbx => &self.rbx,
            Gpr::Rsp => &self.rsp,
            Gpr::Rbp => &self.rbp,
            Gpr::Rsi => &self.rsi,
            Gpr::Rdi => &self.rdi,
            Gpr::R8 => &self.r8,
            Gpr::R9 => &self.r9,
            Gpr::R10 => &self.r10,
            Gpr::R11 => &self.r11,
            Gpr::R12 => &self.r12,
            Gpr::R13 => &self.r13,
            Gpr::R14 => &self.r14,
            Gpr::R15 => &self.r15,
        }
    }
}

impl IndexMut<Gpr> for Gprs {
    fn index_mut(&mut self, reg: Gpr) -> &mut u64 {
        match reg {
            Gpr::Rax => &mut self.rax,
            Gpr::Rcx => &mut self.rcx,
            Gpr::Rdx => &mut self.rdx,
            Gpr::Rbx => &mut self.rbx,
            Gpr::Rsp => &mut self.rsp,
            Gpr::Rbp => &mut self.rbp,
            Gpr::Rsi => &mut self.rsi,
            Gpr::Rdi => &mut self.rdi,
            Gpr::R8 => &mut self.r8,
            Gpr::R9 => &mut self.r9,
            Gpr::R10 => &mut self.r10,
            Gpr::R11 => &mut self.r11,
            Gpr::R12 => &mut self.r12,
            Gpr::R13 => &mut self.r13,
            Gpr::R14 => &mut self.r14,
            Gpr::R15 => &mut self.r15,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Register numbers follow the ModR/M encoding: index by number and by name agree for
    /// all sixteen, and numbers past 15 are refused rather than wrapped.
    #[test]
    fn numbers_and_names_agree() {
        let mut gprs = Gprs::default();
        for (n, reg) in Gpr::ALL.iter().enumerate() {
            let n = n as u8;
            assert_eq!(reg.number(), n);
            assert_eq!(Gpr::from_number(n), Some(*reg));
            assert!(gprs.set_by_number(n, 0x1000 + u64::from(n)));
        }
        assert_eq!(gprs.rax, 0x1000);
        assert_eq!(gprs.rsp, 0x1004);
        assert_eq!(gprs.rdi, 0x1007);
        assert_eq!(gprs.r15, 0x100F);
        assert_eq!(gprs[Gpr::Rbx], 0x1003);
        assert_eq!(gprs.by_number(9), Some(0x1009));
        assert_eq!(gprs.by_number(16), None);
        assert!(!gprs.set_by_number(16, 1));
        assert_eq!(Gpr::from_number(16), None);
        gprs.set(Gpr::R12, 7);
        assert_eq!(gprs.get(Gpr::R12), 7);
        assert_eq!(Gpr::R12.name(), "r12");
    }
}
