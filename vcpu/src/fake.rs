//! A scripted [`Vcpu`] for host tests of code that drives a vCPU (the core's exit
//! dispatch, device emulation through register accessors).

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::event::Event;
use crate::exit::Exit;
use crate::state::{CpuMode, Gpr, GuestState, rflags};
use crate::vcpu::{Vcpu, VcpuError};

/// A vCPU that returns exits from a script and records what was done to it.
///
/// Each [`run`](Vcpu::run) first "delivers" the queued event (moves it to
/// [`delivered`](Self::delivered)); then, if an interrupt window was requested and the
/// state allows interrupts, it returns [`Exit::InterruptWindow`] as hardware would;
/// otherwise it returns the next scripted exit, or fails once the script is empty.
#[derive(Clone, Debug, Default)]
pub struct FakeVcpu {
    /// The register state the accessors read and write.
    pub state: GuestState,
    /// Exits still to return, in order.
    pub script: VecDeque<Exit>,
    /// The instruction length reported for every exit.
    pub instruction_length: Option<u8>,
    /// The event queued for the next entry.
    pub pending: Option<Event>,
    /// Events delivered so far, in order.
    pub delivered: Vec<Event>,
    /// An interrupt window has been requested and not yet delivered.
    pub window_requested: bool,
}

impl FakeVcpu {
    /// A fake in `state` that will return `exits` in order.
    pub fn new(state: GuestState, exits: impl IntoIterator<Item = Exit>) -> Self {
        Self {
            state,
            script: exits.into_iter().collect(),
            ..Self::default()
        }
    }
}

impl Vcpu for FakeVcpu {
    fn backend(&self) -> &'static str {
        "fake"
    }

    fn run(&mut self) -> Result<Exit, VcpuError> {
        if let Some(event) = self.pending.take() {
            self.delivered.push(event);
        }
        if self.window_requested && self.state.interrupts_enabled() && !self.state.interrupt_shadow
        {
            self.window_requested = false;
            return Ok(Exit::InterruptWindow);
        }
        self.script.pop_front().ok_or(VcpuError::EntryFailed {
            detail: "the fake vCPU's script is exhausted",
            code: 0,
        })
    }

    fn state(&self) -> GuestState {
        self.state.clone()
    }

    fn set_state(&mut self, state: &GuestState) -> Result<(), VcpuError> {
        self.state = state.clone();
        Ok(())
    }

    fn gpr(&self, reg: Gpr) -> u64 {
        self.state.gprs[reg]
    }

    fn set_gpr(&mut self, reg: Gpr, value: u64) {
        self.state.gprs[reg] = value;
    }

    fn rip(&self) -> u64 {
        self.state.rip
    }

    fn set_rip(&mut self, rip: u64) {
        self.state.rip = rip;
    }

    fn rflags(&self) -> u64 {
        self.state.rflags
    }

    fn set_rflags(&mut self, value: u64) {
        self.state.rflags = value | rflags::FIXED;
    }

    fn exit_instruction_length(&self) -> Option<u8> {
        self.instruction_length
    }

    fn advance_rip(&mut self, len: u8) {
        self.state.advance_rip(len);
    }

    fn inject(&mut self, event: Event) -> Result<(), VcpuError> {
        if self.pending.is_some() {
            return Err(VcpuError::EventPending);
        }
        self.pending = Some(event);
        Ok(())
    }

    fn event_pending(&self) -> bool {
        self.pending.is_some()
    }

    fn interrupt_shadow(&self) -> bool {
        self.state.interrupt_shadow
    }

    fn request_interrupt_window(&mut self) {
        self.window_requested = true;
    }

    fn mode(&self) -> CpuMode {
        self.state.mode()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::vectors;
    use crate::exit::ExitKind;

    /// The trait is object safe: the core drives `&mut dyn Vcpu`.
    #[test]
    fn object_safe() {
        let mut fake = FakeVcpu::new(GuestState::reset(), [Exit::Hlt]);
        let vcpu: &mut dyn Vcpu = &mut fake;
        assert_eq!(vcpu.run().map(|e| e.kind()), Ok(ExitKind::Hlt));
        assert!(vcpu.run().is_err(), "script exhausted");
        assert_eq!(vcpu.backend(), "fake");
    }

    /// skip_instruction uses the reported length and ends the shadow; without a length it
    /// refuses and advance_rip is the way.
    #[test]
    fn skipping_instructions() {
        let mut fake = FakeVcpu::new(GuestState::real_mode(0, 0x7C00), []);
        fake.state.interrupt_shadow = true;
        assert_eq!(
            fake.skip_instruction(),
            Err(VcpuError::InstructionLengthUnknown)
        );
        assert_eq!(fake.rip(), 0x7C00);
        fake.instruction_length = Some(2);
        fake.skip_instruction().unwrap();
        assert_eq!(fake.rip(), 0x7C02);
        assert!(!fake.interrupt_shadow());
        fake.advance_rip(3);
        assert_eq!(fake.rip(), 0x7C05);
    }

    /// Interrupts can be injected only with IF set, no shadow and nothing queued; one
    /// event at a time; the window exit comes when the guest can take an interrupt.
    #[test]
    fn injection_rules() {
        let mut fake = FakeVcpu::new(GuestState::real_mode(0, 0), [Exit::Hlt, Exit::Hlt]);
        assert!(!fake.can_inject_interrupt(), "IF clear");
        fake.request_interrupt_window();
        assert_eq!(fake.run(), Ok(Exit::Hlt), "no window while IF is clear");
        fake.set_rflags(rflags::IF);
        assert_eq!(fake.rflags(), rflags::IF | rflags::FIXED);
        fake.state.interrupt_shadow = true;
        assert!(!fake.can_inject_interrupt(), "shadow");
        fake.state.interrupt_shadow = false;
        assert!(fake.can_inject_interrupt());
        assert_eq!(fake.run(), Ok(Exit::InterruptWindow));

        fake.inject_interrupt(0x20).unwrap();
        assert!(!fake.can_inject_interrupt(), "queued");
        assert_eq!(fake.inject_nmi(), Err(VcpuError::EventPending));
        fake.run().unwrap();
        assert_eq!(fake.delivered, [Event::Interrupt { vector: 0x20 }]);
        assert!(fake.inject_exception(vectors::GP, None).is_err());
        fake.inject_exception(vectors::GP, Some(0)).unwrap();
        fake.set_rax(5);
        assert_eq!(fake.rax(), 5);
        assert_eq!(fake.gpr(Gpr::Rax), 5);
        assert_eq!(fake.mode(), CpuMode::Real);
    }
}
