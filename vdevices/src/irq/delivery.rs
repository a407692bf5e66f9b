//! Message delivery on the partition's APIC bus: IOAPIC messages and IPIs
//! matched against the partition's own local APICs (SDM Vol. 3A §11.6.2
//! "Determining IPI Destination", §11.6.3 "IPI Delivery and Acceptance").

use alloc::vec::Vec;

use super::{EVENT_QUEUE_CAPACITY, PIC_INTR_IOAPIC_PIN, Router, RouterEvent};
use crate::ioapic::{Delivery, IoApic};
use crate::lapic::{DeliveryMode, DestinationMode, Ipi, IpiDestination, LocalApic};

/// Routing passes per settle. Each pass drains every queue and only an EOI
/// can make the IOAPIC send again, so two passes settle anything; the bound
/// only keeps a modelling bug from becoming a hang.
const ROUTE_PASSES: usize = 8;

/// An interrupt message on its way to local APICs.
#[derive(Clone, Copy, Debug)]
struct Message {
    vector: u8,
    delivery_mode: DeliveryMode,
    trigger_level: bool,
}

impl Router {
    /// Settles all routing state; see [`Router::sync`].
    pub(super) fn route(&mut self) {
        for _ in 0..ROUTE_PASSES {
            let mut progress = false;
            if let (Some(pic), Some(ioapic)) = (&self.pic, &mut self.ioapic) {
                ioapic.set_irq(PIC_INTR_IOAPIC_PIN, pic.intr());
            }
            while let Some(delivery) = self.ioapic.as_mut().and_then(IoApic::next_delivery) {
                self.deliver_from_ioapic(delivery);
                progress = true;
            }
            for vcpu in 0..self.lapics.len() {
                while let Some(vector) = self.lapics[vcpu].take_eoi_broadcast() {
                    if let Some(ioapic) = &mut self.ioapic {
                        ioapic.eoi(vector);
                    }
                    progress = true;
                }
                while let Some(ipi) = self.lapics[vcpu].take_ipi() {
                    self.deliver_ipi(vcpu, ipi);
                    progress = true;
                }
            }
            if !progress {
                return;
            }
        }
    }

    fn deliver_from_ioapic(&mut self, delivery: Delivery) {
        let message = Message {
            vector: delivery.vector,
            delivery_mode: delivery.delivery_mode,
            trigger_level: delivery.trigger_level,
        };
        let (mode, destination) = (delivery.destination_mode, delivery.destination);
        if !self.deliver(message, |_, lapic| {
            lapic.accepts_destination(mode, destination)
        }) {
            self.push_event(RouterEvent::UnroutedDelivery { delivery });
        }
    }

    fn deliver_ipi(&mut self, from: usize, ipi: Ipi) {
        let message = Message {
            vector: ipi.vector,
            delivery_mode: ipi.delivery_mode,
            trigger_level: ipi.trigger_level,
        };
        let delivered = match ipi.destination {
            IpiDestination::Physical(destination) => self.deliver(message, |_, lapic| {
                lapic.accepts_destination(DestinationMode::Physical, destination)
            }),
            IpiDestination::Logical(destination) => self.deliver(message, |_, lapic| {
                lapic.accepts_destination(DestinationMode::Logical, destination)
            }),
            IpiDestination::AllIncludingSelf => {
                self.deliver(message, |_, lapic| lapic.hardware_enabled())
            }
            IpiDestination::AllExcludingSelf => {
                // Nobody else in a one-vCPU partition is no error.
                self.deliver(message, |vcpu, lapic| {
                    vcpu != from && lapic.hardware_enabled()
                });
                true
            }
        };
        if !delivered {
            self.push_event(RouterEvent::UnroutedIpi { from, ipi });
        }
    }

    /// Delivers `message` to every local APIC `matches` selects (one of
    /// them for lowest priority); returns whether any matched.
    fn deliver(&mut self, message: Message, matches: impl Fn(usize, &LocalApic) -> bool) -> bool {
        let targets = self
            .lapics
            .iter()
            .enumerate()
            .filter(|(vcpu, lapic)| matches(*vcpu, lapic));
        if message.delivery_mode == DeliveryMode::LowestPriority {
            // Lowest priority: the APIC with the lowest TPR, ties to the
            // lowest index (the SDM leaves the arbitration model-specific).
            let Some((vcpu, _)) =
                targets.min_by_key(|(vcpu, lapic)| (lapic.task_priority(), *vcpu))
            else {
                return false;
            };
            self.lapics[vcpu].accept_interrupt(message.vector, message.trigger_level);
            return true;
        }
        let chosen: Vec<usize> = targets.map(|(vcpu, _)| vcpu).collect();
        for &vcpu in &chosen {
            self.deliver_to(vcpu, message);
        }
        !chosen.is_empty()
    }

    fn deliver_to(&mut self, vcpu: usize, message: Message) {
        match message.delivery_mode {
            DeliveryMode::Fixed | DeliveryMode::LowestPriority => {
                if let Some(lapic) = self.lapics.get_mut(vcpu) {
                    lapic.accept_interrupt(message.vector, message.trigger_level);
                }
            }
            DeliveryMode::ExtInt => {
                if let Some(owed) = self.extint_pending.get_mut(vcpu) {
                    *owed = true;
                }
            }
            DeliveryMode::Nmi => self.push_event(RouterEvent::Nmi { vcpu }),
            DeliveryMode::Smi => self.push_event(RouterEvent::Smi { vcpu }),
            DeliveryMode::Init => {
                if let Some(lapic) = self.lapics.get_mut(vcpu) {
                    lapic.init_reset();
                }
                if let Some(owed) = self.extint_pending.get_mut(vcpu) {
                    *owed = false;
                }
                self.push_event(RouterEvent::Init { vcpu });
            }
            DeliveryMode::StartUp => {
                self.push_event(RouterEvent::StartUp {
                    vcpu,
                    vector: message.vector,
                });
            }
        }
    }

    fn push_event(&mut self, event: RouterEvent) {
        if self.events.len() >= EVENT_QUEUE_CAPACITY {
            self.events_dropped = self.events_dropped.saturating_add(1);
        } else {
            self.events.push_back(event);
        }
    }
}
