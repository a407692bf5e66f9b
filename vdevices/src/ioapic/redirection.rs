//! One redirection table entry (82093AA datasheet §3.2.4, "IOREDTBL[23:0] —
//! I/O Redirection Table Registers"): 64 bits, reached as two 32-bit
//! registers at indices `0x10 + 2n` (low) and `0x11 + 2n` (high).

use crate::lapic::{DeliveryMode, DestinationMode};

/// Bits 7:0: the interrupt vector.
pub const REDIR_VECTOR_MASK: u64 = 0xFF;
/// Bits 10:8: the delivery mode.
pub const REDIR_DELIVERY_MODE_MASK: u64 = 0x7 << 8;
/// Delivery mode field position.
pub const REDIR_DELIVERY_MODE_SHIFT: u32 = 8;
/// Bit 11: destination mode, 1 = logical.
pub const REDIR_DESTINATION_LOGICAL: u64 = 1 << 11;
/// Bit 12: delivery status, 1 = send pending (read-only).
pub const REDIR_DELIVERY_STATUS: u64 = 1 << 12;
/// Bit 13: input pin polarity, 1 = active low.
pub const REDIR_POLARITY_LOW: u64 = 1 << 13;
/// Bit 14: remote IRR (read-only), set when a level-triggered interrupt was
/// accepted and cleared by the EOI for its vector.
pub const REDIR_REMOTE_IRR: u64 = 1 << 14;
/// Bit 15: trigger mode, 1 = level.
pub const REDIR_TRIGGER_LEVEL: u64 = 1 << 15;
/// Bit 16: interrupt mask, 1 = masked.
pub const REDIR_MASKED: u64 = 1 << 16;
/// Bits 63:56: the destination field.
pub const REDIR_DESTINATION_SHIFT: u32 = 56;
/// Bits software can write. The 82093AA defines only bits 59:56 of the
/// destination for physical mode; the full byte is kept, as xAPIC systems do.
pub const REDIR_WRITABLE: u64 = REDIR_VECTOR_MASK
    | REDIR_DELIVERY_MODE_MASK
    | REDIR_DESTINATION_LOGICAL
    | REDIR_POLARITY_LOW
    | REDIR_TRIGGER_LEVEL
    | REDIR_MASKED
    | (0xFF << REDIR_DESTINATION_SHIFT);
/// After reset every entry is masked and otherwise zero.
pub const REDIR_RESET: u64 = REDIR_MASKED;

/// A redirection entry as stored: the writable bits plus remote IRR. The
/// delivery status bit is not stored; it reflects the pin's pending send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct RedirectionEntry(u64);

impl RedirectionEntry {
    pub(super) const RESET: RedirectionEntry = RedirectionEntry(REDIR_RESET);

    pub(super) fn raw(self) -> u64 {
        self.0
    }

    pub(super) fn vector(self) -> u8 {
        (self.0 & REDIR_VECTOR_MASK) as u8
    }

    /// `None` for the encodings the 82093AA reserves (011, 110).
    pub(super) fn delivery_mode(self) -> Option<DeliveryMode> {
        let bits = ((self.0 & REDIR_DELIVERY_MODE_MASK) >> REDIR_DELIVERY_MODE_SHIFT) as u8;
        DeliveryMode::from_bits(bits).filter(|mode| *mode != DeliveryMode::StartUp)
    }

    pub(super) fn destination_mode(self) -> DestinationMode {
        DestinationMode::from_bit(self.0 & REDIR_DESTINATION_LOGICAL != 0)
    }

    pub(super) fn destination(self) -> u8 {
        (self.0 >> REDIR_DESTINATION_SHIFT) as u8
    }

    pub(super) fn polarity_low(self) -> bool {
        self.0 & REDIR_POLARITY_LOW != 0
    }

    pub(super) fn masked(self) -> bool {
        self.0 & REDIR_MASKED != 0
    }

    pub(super) fn remote_irr(self) -> bool {
        self.0 & REDIR_REMOTE_IRR != 0
    }

    pub(super) fn set_remote_irr(&mut self, set: bool) {
        if set {
            self.0 |= REDIR_REMOTE_IRR;
        } else {
            self.0 &= !REDIR_REMOTE_IRR;
        }
    }

    /// The trigger mode bit as programmed.
    pub(super) fn trigger_level(self) -> bool {
        self.0 & REDIR_TRIGGER_LEVEL != 0
    }

    /// Whether the entry behaves level-triggered, with remote IRR. The
    /// datasheet requires SMI, NMI, INIT and ExtINT to be programmed edge;
    /// they are treated as edge whatever the bit says, so a misprogrammed
    /// entry cannot wedge on a remote IRR no EOI will ever clear.
    pub(super) fn is_level(self) -> bool {
        self.trigger_level()
            && matches!(
                self.delivery_mode(),
                Some(DeliveryMode::Fixed | DeliveryMode::LowestPriority)
            )
    }

    /// A guest write of one 32-bit half (`high` selects bits 63:32). Remote
    /// IRR is read-only, but is cleared when the entry stops being
    /// level-triggered (it is undefined for edge entries).
    pub(super) fn write_half(&mut self, high: bool, value: u32) {
        let (shift, half_mask) = if high {
            (32, 0xFFFF_FFFF << 32)
        } else {
            (0, 0xFFFF_FFFF)
        };
        let writable = REDIR_WRITABLE & half_mask;
        let remote_irr = self.0 & REDIR_REMOTE_IRR;
        self.0 = (self.0 & !writable & !REDIR_REMOTE_IRR)
            | ((u64::from(value) << shift) & writable)
            | remote_irr;
        if !self.is_level() {
            self.set_remote_irr(false);
        }
    }
}
