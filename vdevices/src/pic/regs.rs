//! Command word layouts of the 8259A, from the Intel 8259A/8259A-2/8259A-8
//! datasheet (231468), "Programming the 8259A": Figure 6 "Initialization
//! Command Word Format" and Figure 8 "Operation Command Word Format".
//!
//! Writes to the command port (A0 = 0) are told apart by D4:D3: `1x` is ICW1,
//! `00` is OCW2, `01` is OCW3. Writes to the data port (A0 = 1) are ICW2–ICW4
//! while an initialisation sequence runs and OCW1 (the mask) otherwise.

/// ICW1: starts initialisation.
pub mod icw1 {
    /// D0, IC4: an ICW4 follows.
    pub const IC4: u8 = 1 << 0;
    /// D1, SNGL: the only 8259A in the system, so no ICW3 follows.
    pub const SNGL: u8 = 1 << 1;
    /// D2, ADI: CALL address interval 4 (MCS-80/85 only; recorded nowhere).
    pub const ADI: u8 = 1 << 2;
    /// D3, LTIM: every line level-triggered.
    pub const LTIM: u8 = 1 << 3;
    /// D4 = 1 marks an ICW1.
    pub const SELECT: u8 = 1 << 4;
}

/// ICW2: interrupt vector base (T7–T3 in 8086 mode).
pub mod icw2 {
    /// The bits that form the vector base; the low three come from the line.
    pub const VECTOR_BASE_MASK: u8 = 0xF8;
}

/// ICW3: on the master, a bit per line with a slave attached; on a slave,
/// its ID (the master line it hangs off) in bits 2:0.
pub mod icw3 {
    /// Slave ID field.
    pub const SLAVE_ID_MASK: u8 = 0x07;
}

/// ICW4: mode selection.
pub mod icw4 {
    /// D0, µPM: 8086/8088 mode (else MCS-80/85).
    pub const UPM_8086: u8 = 1 << 0;
    /// D1, AEOI: automatic end of interrupt.
    pub const AEOI: u8 = 1 << 1;
    /// D2, M/S: in buffered mode, 1 = master.
    pub const MASTER_BUFFER: u8 = 1 << 2;
    /// D3, BUF: buffered mode.
    pub const BUF: u8 = 1 << 3;
    /// D4, SFNM: special fully nested mode.
    pub const SFNM: u8 = 1 << 4;
}

/// OCW2: end of interrupt and priority rotation. Bits D7:D5 (R, SL, EOI)
/// select the command; D2:D0 name a line for the specific forms.
pub mod ocw2 {
    /// The command field, D7:D5.
    pub const COMMAND_MASK: u8 = 0xE0;
    /// The line field, D2:D0.
    pub const LEVEL_MASK: u8 = 0x07;
    /// `000`: clear rotate in automatic EOI mode.
    pub const ROTATE_IN_AEOI_CLEAR: u8 = 0b000 << 5;
    /// `001`: non-specific EOI.
    pub const NON_SPECIFIC_EOI: u8 = 0b001 << 5;
    /// `010`: no operation.
    pub const NOP: u8 = 0b010 << 5;
    /// `011`: specific EOI for the line in D2:D0.
    pub const SPECIFIC_EOI: u8 = 0b011 << 5;
    /// `100`: set rotate in automatic EOI mode.
    pub const ROTATE_IN_AEOI_SET: u8 = 0b100 << 5;
    /// `101`: rotate on non-specific EOI.
    pub const ROTATE_ON_NON_SPECIFIC_EOI: u8 = 0b101 << 5;
    /// `110`: set priority: the line in D2:D0 becomes the lowest.
    pub const SET_PRIORITY: u8 = 0b110 << 5;
    /// `111`: rotate on specific EOI.
    pub const ROTATE_ON_SPECIFIC_EOI: u8 = 0b111 << 5;
}

/// OCW3: status reads, poll and special mask mode.
pub mod ocw3 {
    /// D4:D3 = `01` marks an OCW3.
    pub const SELECT: u8 = 1 << 3;
    /// D0, RIS: with RR, read the ISR (1) or the IRR (0).
    pub const RIS: u8 = 1 << 0;
    /// D1, RR: act on RIS.
    pub const RR: u8 = 1 << 1;
    /// D2, P: poll command.
    pub const POLL: u8 = 1 << 2;
    /// D5, SMM: special mask mode value.
    pub const SMM: u8 = 1 << 5;
    /// D6, ESMM: act on SMM.
    pub const ESMM: u8 = 1 << 6;
    /// "Read IRR on next read" as one byte.
    pub const READ_IRR: u8 = SELECT | RR;
    /// "Read ISR on next read" as one byte.
    pub const READ_ISR: u8 = SELECT | RR | RIS;
    /// The poll command as one byte.
    pub const POLL_COMMAND: u8 = SELECT | POLL;
    /// "Set special mask" as one byte.
    pub const SET_SPECIAL_MASK: u8 = SELECT | ESMM | SMM;
    /// "Reset special mask" as one byte.
    pub const RESET_SPECIAL_MASK: u8 = SELECT | ESMM;
}

/// The poll word a read returns after a poll command: D7 set if a line was
/// requesting, D2:D0 the line.
pub mod poll_word {
    /// D7, I: an interrupt was pending (and is now in service).
    pub const INTERRUPT: u8 = 1 << 7;
}
