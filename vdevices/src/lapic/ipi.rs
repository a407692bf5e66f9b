//! Inter-processor interrupt requests decoded from the interrupt command
//! register (SDM Vol. 3A §11.6.1, "Interrupt Command Register (ICR)", and its
//! table of valid combinations for the Pentium 4 and later xAPIC ICR).

use super::LocalApic;
use super::apic_bus::DeliveryMode;
use super::regs::{
    ESR_SEND_ILLEGAL_VECTOR, FIRST_LEGAL_VECTOR, ICR_DELIVERY_MODE_MASK, ICR_DELIVERY_MODE_SHIFT,
    ICR_DELIVERY_STATUS, ICR_DESTINATION_LOGICAL, ICR_HIGH_DESTINATION_SHIFT, ICR_LEVEL_ASSERT,
    ICR_SHORTHAND_MASK, ICR_SHORTHAND_SHIFT, ICR_TRIGGER_LEVEL, SHORTHAND_ALL_EXCLUDING_SELF,
    SHORTHAND_ALL_INCLUDING_SELF, SHORTHAND_SELF, VECTOR_MASK,
};

/// IPIs that may wait for the router before further ones are dropped. Each
/// ICR write queues one; the router drains the queue after every access it
/// forwards, so only a caller that never drains it can fill it.
pub const IPI_QUEUE_CAPACITY: usize = 16;

/// Who an IPI is for, after the destination shorthand is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpiDestination {
    /// No shorthand, physical mode: the APIC with this ID (0xFF: all).
    Physical(u8),
    /// No shorthand, logical mode: every APIC whose LDR matches this mask
    /// under its DFR model.
    Logical(u8),
    /// Shorthand `10`: every APIC, the sender included.
    AllIncludingSelf,
    /// Shorthand `11`: every APIC but the sender.
    AllExcludingSelf,
}

/// An IPI the guest asked its local APIC to send. The APIC does not deliver
/// it: the partition's router delivers it to the partition's own vCPUs, and
/// anything aimed elsewhere is the caller's to log and drop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipi {
    /// The vector (fixed, lowest priority) or start page (start-up); ignored
    /// by NMI, SMI and INIT.
    pub vector: u8,
    /// How the destination treats it.
    pub delivery_mode: DeliveryMode,
    /// Trigger mode bit: level-triggered fixed IPIs set the target's TMR.
    pub trigger_level: bool,
    /// The destination set.
    pub destination: IpiDestination,
}

impl LocalApic {
    /// ICR low as the guest reads it: delivery status shows "send pending"
    /// until the router has taken every IPI sent.
    pub(super) fn icr_low_value(&self) -> u32 {
        let pending = if self.ipis.is_empty() {
            0
        } else {
            ICR_DELIVERY_STATUS
        };
        self.icr_low | pending
    }

    /// A write to ICR low sends the IPI it describes.
    pub(super) fn send_ipi(&mut self) {
        let low = self.icr_low;
        let vector = (low & VECTOR_MASK) as u8;
        let mode_bits = ((low & ICR_DELIVERY_MODE_MASK) >> ICR_DELIVERY_MODE_SHIFT) as u8;
        let trigger_level = low & ICR_TRIGGER_LEVEL != 0;
        let Some(delivery_mode) = DeliveryMode::from_bits(mode_bits) else {
            return; // 011 is reserved: nothing is sent.
        };
        match delivery_mode {
            // ExtINT is reserved in the xAPIC ICR.
            DeliveryMode::ExtInt => return,
            // INIT level de-assert (level 0, trigger level) synchronised
            // arbitration IDs on the P6; the Pentium 4 and later ignore it.
            DeliveryMode::Init if low & ICR_LEVEL_ASSERT == 0 && trigger_level => return,
            DeliveryMode::Fixed | DeliveryMode::LowestPriority if vector < FIRST_LEGAL_VECTOR => {
                self.record_error(ESR_SEND_ILLEGAL_VECTOR);
                return;
            }
            _ => {}
        }
        let destination_field = (self.icr_high >> ICR_HIGH_DESTINATION_SHIFT) as u8;
        let destination = match (low & ICR_SHORTHAND_MASK) >> ICR_SHORTHAND_SHIFT {
            SHORTHAND_SELF => {
                // A self IPI never leaves the APIC; only fixed is valid.
                if delivery_mode == DeliveryMode::Fixed {
                    self.accept_interrupt(vector, trigger_level);
                }
                return;
            }
            SHORTHAND_ALL_INCLUDING_SELF => IpiDestination::AllIncludingSelf,
            SHORTHAND_ALL_EXCLUDING_SELF => IpiDestination::AllExcludingSelf,
            _ if low & ICR_DESTINATION_LOGICAL != 0 => IpiDestination::Logical(destination_field),
            _ => IpiDestination::Physical(destination_field),
        };
        if self.ipis.len() >= IPI_QUEUE_CAPACITY {
            self.ipis_dropped = self.ipis_dropped.saturating_add(1);
            return;
        }
        self.ipis.push_back(Ipi {
            vector,
            delivery_mode,
            trigger_level,
            destination,
        });
    }
}
