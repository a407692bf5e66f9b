//! Interrupt messages as the APIC architecture names them: the delivery mode
//! and destination mode fields shared by the local APIC's interrupt command
//! register (SDM Vol. 3A §11.6.1, "Interrupt Command Register (ICR)") and the
//! IOAPIC's redirection entries (82093AA datasheet §3.2.4, "IOREDTBL").

/// Bits 10:8 of an ICR or a redirection entry: how the receiving local APIC
/// treats the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeliveryMode {
    /// `000`: set the vector in the destination's IRR.
    Fixed,
    /// `001`: like fixed, but to the one destination with the lowest priority.
    LowestPriority,
    /// `010`: system management interrupt; the vector is ignored.
    Smi,
    /// `100`: non-maskable interrupt; the vector is ignored.
    Nmi,
    /// `101`: INIT; the vector is ignored.
    Init,
    /// `110`: start-up IPI (ICR only; reserved in the IOAPIC). The vector
    /// names the 4 KiB page where the target starts in real mode.
    StartUp,
    /// `111`: external interrupt: the CPU fetches the vector from the 8259
    /// with an INTA cycle (IOAPIC and LVT only; reserved in the xAPIC ICR).
    ExtInt,
}

impl DeliveryMode {
    /// Decodes the three-bit field; `None` for the reserved encoding `011`.
    pub const fn from_bits(bits: u8) -> Option<DeliveryMode> {
        match bits & 0b111 {
            0b000 => Some(DeliveryMode::Fixed),
            0b001 => Some(DeliveryMode::LowestPriority),
            0b010 => Some(DeliveryMode::Smi),
            0b100 => Some(DeliveryMode::Nmi),
            0b101 => Some(DeliveryMode::Init),
            0b110 => Some(DeliveryMode::StartUp),
            0b111 => Some(DeliveryMode::ExtInt),
            _ => None,
        }
    }

    /// The three-bit encoding.
    pub const fn bits(self) -> u8 {
        match self {
            DeliveryMode::Fixed => 0b000,
            DeliveryMode::LowestPriority => 0b001,
            DeliveryMode::Smi => 0b010,
            DeliveryMode::Nmi => 0b100,
            DeliveryMode::Init => 0b101,
            DeliveryMode::StartUp => 0b110,
            DeliveryMode::ExtInt => 0b111,
        }
    }
}

/// Bit 11 of an ICR or a redirection entry: how the 8-bit destination field
/// is matched against local APICs (SDM Vol. 3A §11.6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DestinationMode {
    /// The destination is an APIC ID; 0xFF is a broadcast.
    Physical,
    /// The destination is a logical mask matched against each APIC's LDR
    /// under the flat or cluster model of its DFR.
    Logical,
}

impl DestinationMode {
    /// Decodes the one-bit field.
    pub const fn from_bit(logical: bool) -> DestinationMode {
        if logical {
            DestinationMode::Logical
        } else {
            DestinationMode::Physical
        }
    }
}
