//! The trait both virtualization backends implement.

use crate::event::Event;
use crate::exit::Exit;
use crate::state::{CpuMode, Gpr, GuestState, rflags};

/// What can go wrong driving a vCPU. Guest behaviour never produces these: they are
/// refusals of what the core asked, or hardware refusing the hypervisor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VcpuError {
    /// An event is already queued for the next entry (injected by the core, or an event
    /// whose delivery an exit interrupted, which the backend re-injects).
    #[error("an event is already queued for the next guest entry")]
    EventPending,
    /// The event is malformed.
    #[error("cannot inject vector {vector}: {reason}")]
    InvalidEvent {
        /// The vector asked for.
        vector: u8,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The backend does not know the length of the instruction that caused the last exit
    /// (an MMIO exit on SVM without decode assists, for one): decode it and use
    /// [`Vcpu::advance_rip`].
    #[error("the length of the exiting instruction is unknown; decode it and advance RIP")]
    InstructionLengthUnknown,
    /// The backend cannot run the state it was given (real mode without unrestricted
    /// guest support, for one).
    #[error("the guest state cannot be run: {detail}")]
    UnsupportedState {
        /// Which part.
        detail: &'static str,
    },
    /// Entering the guest failed for a reason that is not the guest state (VMX VMfail,
    /// for one): a hypervisor bug.
    #[error("guest entry failed: {detail} (code {code:#x})")]
    EntryFailed {
        /// What the backend knows.
        detail: &'static str,
        /// The vendor's error number (VMX VM-instruction error), or 0.
        code: u64,
    },
}

/// A virtual CPU: one partition core's hardware-virtualized processor.
///
/// Object safe: the core holds a `&mut dyn Vcpu` and never names the vendor.
///
/// # Registers
///
/// [`state`](Self::state) / [`set_state`](Self::set_state) copy the whole
/// [`GuestState`]: that is for boot, reset and diagnostics, and on VMX costs dozens of
/// VMREADs. The exit path uses the cheap accessors: [`gpr`](Self::gpr),
/// [`rip`](Self::rip), [`rflags`](Self::rflags) and friends.
///
/// # Completing instructions
///
/// An instruction exit leaves RIP at the instruction. Once the core has done its work,
/// [`skip_instruction`](Self::skip_instruction) moves past it using the length the
/// hardware reported ([`exit_instruction_length`](Self::exit_instruction_length)): SVM's
/// next-RIP field where available (not on QEMU TCG), EXITINFO2 for I/O intercepts, the
/// fixed length of `cpuid`/`rdmsr`/`wrmsr`/`hlt`/`vmmcall`/`xsetbv`/`pause`; VMX's VM-exit
/// instruction length. When the length is unknown (MMIO on SVM) the core has decoded the
/// instruction anyway and calls [`advance_rip`](Self::advance_rip) with its length.
/// Either way RIP wraps as [`GuestState::advance_rip`] does and the interrupt shadow ends.
///
/// # Events
///
/// [`inject`](Self::inject) queues one event for the next entry. Backends re-inject, by
/// themselves, an event whose delivery an exit interrupted (SVM EXITINTINFO, VMX
/// IDT-vectoring information); while that is queued, [`event_pending`](Self::event_pending)
/// is true and injection is refused. An external interrupt is only injected when
/// [`can_inject_interrupt`](Self::can_inject_interrupt) says so; otherwise the core asks
/// for [`Exit::InterruptWindow`] with
/// [`request_interrupt_window`](Self::request_interrupt_window). An NMI is held by the
/// backend until the guest's NMI blocking ends.
pub trait Vcpu {
    /// The backend's short name for logs: `"svm"` or `"vmx"`.
    fn backend(&self) -> &'static str;

    /// Runs the guest until the next exit.
    fn run(&mut self) -> Result<Exit, VcpuError>;

    /// A copy of the whole register state.
    fn state(&self) -> GuestState;

    /// Replaces the whole register state.
    fn set_state(&mut self, state: &GuestState) -> Result<(), VcpuError>;

    /// One general-purpose register.
    fn gpr(&self, reg: Gpr) -> u64;

    /// Sets one general-purpose register.
    fn set_gpr(&mut self, reg: Gpr, value: u64);

    /// RIP.
    fn rip(&self) -> u64;

    /// Sets RIP.
    fn set_rip(&mut self, rip: u64);

    /// RFLAGS.
    fn rflags(&self) -> u64;

    /// Sets RFLAGS (bit 1 is forced on).
    fn set_rflags(&mut self, value: u64);

    /// The length of the instruction that caused the last exit, when the hardware
    /// reported it; `None` otherwise.
    fn exit_instruction_length(&self) -> Option<u8>;

    /// Moves RIP past `len` bytes, wrapping at the code width, and ends the interrupt
    /// shadow, as [`GuestState::advance_rip`] does.
    fn advance_rip(&mut self, len: u8);

    /// Queues `event` for delivery at the next entry.
    fn inject(&mut self, event: Event) -> Result<(), VcpuError>;

    /// An event is queued for the next entry.
    fn event_pending(&self) -> bool;

    /// Interrupts are blocked for one instruction (after STI, MOV SS or POP SS).
    fn interrupt_shadow(&self) -> bool;

    /// Asks for [`Exit::InterruptWindow`] as soon as the guest can take an external
    /// interrupt. The request clears itself when that exit is delivered.
    fn request_interrupt_window(&mut self);

    /// RAX.
    fn rax(&self) -> u64 {
        self.gpr(Gpr::Rax)
    }

    /// Sets RAX.
    fn set_rax(&mut self, value: u64) {
        self.set_gpr(Gpr::Rax, value);
    }

    /// The operating mode; backends override this with a cheaper read.
    fn mode(&self) -> CpuMode {
        self.state().mode()
    }

    /// Moves RIP past the instruction that caused the last exit, by the length the
    /// hardware reported.
    fn skip_instruction(&mut self) -> Result<(), VcpuError> {
        let len = self
            .exit_instruction_length()
            .ok_or(VcpuError::InstructionLengthUnknown)?;
        self.advance_rip(len);
        Ok(())
    }

    /// Queues exception `vector`, checked by [`Event::exception`].
    fn inject_exception(&mut self, vector: u8, error_code: Option<u32>) -> Result<(), VcpuError> {
        self.inject(Event::exception(vector, error_code)?)
    }

    /// Queues an external interrupt with `vector`.
    fn inject_interrupt(&mut self, vector: u8) -> Result<(), VcpuError> {
        self.inject(Event::Interrupt { vector })
    }

    /// Queues an NMI.
    fn inject_nmi(&mut self) -> Result<(), VcpuError> {
        self.inject(Event::Nmi)
    }

    /// RFLAGS.IF.
    fn interrupts_enabled(&self) -> bool {
        self.rflags() & rflags::IF != 0
    }

    /// An external interrupt injected now would be taken at the next entry: IF set, no
    /// interrupt shadow, nothing else queued.
    fn can_inject_interrupt(&self) -> bool {
        self.interrupts_enabled() && !self.interrupt_shadow() && !self.event_pending()
    }
}
