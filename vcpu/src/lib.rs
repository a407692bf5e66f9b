//! The arch-neutral vCPU model shared by the SVM and VMX backends.
//!
//! - [`state`]: the guest's architectural register state, [`GuestState`], in a form both
//!   vendors' save areas are filled from and read back into, with the reset state and
//!   the flat protected-mode and long-mode states the boot protocols start in.
//! - [`exit`]: the neutral [`Exit`] every backend decodes its raw exit into, and
//!   [`ExitKind`], a fieldless index for per-reason counters.
//! - [`event`]: events injected into the guest ([`Event`]): exceptions, interrupts, NMIs.
//! - [`vcpu`]: the [`Vcpu`] trait both backends implement; [`fake`]: [`FakeVcpu`], a
//!   scripted implementation for host tests of exit handling.
//! - [`memory`]: [`GuestMemory`], guest-physical memory as the boot builders see it, and
//!   [`VecMemory`] for tests.
//! - [`boot`]: the four guest boot protocols (real mode, Multiboot, PVH, Linux) as pure
//!   builders: images in, guest memory contents and an initial [`GuestState`] out.
//!
//! Nothing here touches hardware; the whole crate is tested on the host.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
// Guest images and guest-controlled values flow through this crate: no panicking paths
// outside tests (STYLE rule 7).
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::panic,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::unreachable
    )
)]

extern crate alloc;

pub mod boot;
pub mod event;
pub mod exit;
pub mod fake;
pub mod memory;
pub mod state;
pub mod vcpu;

pub use event::{Event, vectors};
pub use exit::{Exit, ExitKind, IoDirection, MmioAccess};
pub use fake::FakeVcpu;
pub use memory::{GuestMemory, MemoryError, VecMemory};
pub use state::{
    CpuMode, DescriptorTable, Gpr, Gprs, GuestState, Segment, SegmentAttributes, SegmentReg,
};
pub use vcpu::{Vcpu, VcpuError};
