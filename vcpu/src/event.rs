//! Events the core injects into the guest.
//!
//! Both vendors deliver an event at the next entry through one field (SVM `EVENTINJ`,
//! VMX VM-entry interruption information); [`Event`] is the neutral form. Validation
//! of what the core asks for happens here, once, so both backends refuse the same
//! malformed requests.

use crate::vcpu::VcpuError;

/// Exception vectors (SDM Vol. 3A, Table 6-1 "Protected-Mode Exceptions and
/// Interrupts"; APM Vol. 2, Table 8-1).
pub mod vectors {
    /// #DE, divide error.
    pub const DE: u8 = 0;
    /// #DB, debug.
    pub const DB: u8 = 1;
    /// NMI; injected with [`Event::Nmi`](super::Event::Nmi), never as an exception.
    pub const NMI: u8 = 2;
    /// #BP, breakpoint.
    pub const BP: u8 = 3;
    /// #OF, overflow.
    pub const OF: u8 = 4;
    /// #BR, bound range exceeded.
    pub const BR: u8 = 5;
    /// #UD, invalid opcode.
    pub const UD: u8 = 6;
    /// #NM, device not available.
    pub const NM: u8 = 7;
    /// #DF, double fault (error code, always 0).
    pub const DF: u8 = 8;
    /// #TS, invalid TSS (error code).
    pub const TS: u8 = 10;
    /// #NP, segment not present (error code).
    pub const NP: u8 = 11;
    /// #SS, stack-segment fault (error code).
    pub const SS: u8 = 12;
    /// #GP, general protection (error code).
    pub const GP: u8 = 13;
    /// #PF, page fault (error code; the address goes to CR2).
    pub const PF: u8 = 14;
    /// #MF, x87 floating-point error.
    pub const MF: u8 = 16;
    /// #AC, alignment check (error code).
    pub const AC: u8 = 17;
    /// #MC, machine check.
    pub const MC: u8 = 18;
    /// #XM, SIMD floating-point.
    pub const XM: u8 = 19;
    /// #VE, virtualization exception.
    pub const VE: u8 = 20;
    /// #CP, control protection (error code).
    pub const CP: u8 = 21;

    /// Whether delivering exception `vector` in protected or long mode pushes an error
    /// code. Real mode never pushes one; backends drop the code there.
    pub const fn has_error_code(vector: u8) -> bool {
        // 29 is #VC and 30 #SX, both with error codes.
        matches!(vector, 8 | 10..=14 | 17 | 21 | 29 | 30)
    }
}

/// An event to deliver to the guest at the next entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// A hardware exception (vector 0..=31, not 2), with its error code when the
    /// architecture pushes one.
    Exception {
        /// The vector.
        vector: u8,
        /// The error code: present exactly for the vectors
        /// [`vectors::has_error_code`] names.
        error_code: Option<u32>,
    },
    /// An external interrupt (from the virtual PIC or IOAPIC): any vector. Real-mode
    /// guests take PIC interrupts on vectors 8..=15, so low vectors are legitimate.
    Interrupt {
        /// The vector.
        vector: u8,
    },
    /// A non-maskable interrupt (vector 2).
    Nmi,
}

impl Event {
    /// An exception event, checked: the vector must be an exception other than NMI, and an
    /// error code must be given exactly when the architecture pushes one.
    pub const fn exception(vector: u8, error_code: Option<u32>) -> Result<Event, VcpuError> {
        if vector >= 32 {
            return Err(VcpuError::InvalidEvent {
                vector,
                reason: "exception vectors are 0..=31; inject an interrupt for higher vectors",
            });
        }
        if vector == vectors::NMI {
            return Err(VcpuError::InvalidEvent {
                vector,
                reason: "vector 2 is the NMI; inject Event::Nmi",
            });
        }
        match (vectors::has_error_code(vector), error_code.is_some()) {
            (true, false) => Err(VcpuError::InvalidEvent {
                vector,
                reason: "this exception pushes an error code but none was given",
            }),
            (false, true) => Err(VcpuError::InvalidEvent {
                vector,
                reason: "this exception pushes no error code but one was given",
            }),
            _ => Ok(Event::Exception { vector, error_code }),
        }
    }

    /// The vector the guest's IDT is indexed with.
    pub const fn vector(&self) -> u8 {
        match self {
            Event::Exception { vector, .. } | Event::Interrupt { vector } => *vector,
            Event::Nmi => vectors::NMI,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exceptions are checked against the SDM's error-code table; NMI and vectors past 31
    /// are refused as exceptions.
    #[test]
    fn exception_validation() {
        assert_eq!(
            Event::exception(vectors::GP, Some(0)),
            Ok(Event::Exception {
                vector: 13,
                error_code: Some(0)
            })
        );
        assert!(Event::exception(vectors::GP, None).is_err());
        assert!(Event::exception(vectors::UD, Some(0)).is_err());
        assert!(Event::exception(vectors::UD, None).is_ok());
        assert!(Event::exception(vectors::NMI, None).is_err());
        assert!(Event::exception(32, None).is_err());
        let with_code: Vec<u8> = (0..32).filter(|&v| vectors::has_error_code(v)).collect();
        assert_eq!(with_code, [8, 10, 11, 12, 13, 14, 17, 21, 29, 30]);
        assert_eq!(Event::Nmi.vector(), 2);
        assert_eq!(Event::Interrupt { vector: 8 }.vector(), 8);
    }
}
