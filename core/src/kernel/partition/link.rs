//! What a partition's core and the service core share, one set per partition:
//! console output (a ring the partition core never waits on), console input
//! (a bounded ring the service core fills from COM1 or the network), the
//! operator's commands (restart, halt) and the crash reports going the other
//! way. Commands wake the partition's core with an IPI, so a guest that never
//! exits on its own still sees them at once.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::String;
use core::sync::atomic::{AtomicU8, AtomicU32, Ordering};

use bulkhead_core::byte_ring::ByteRing;
use bulkhead_core::output_ring::OutputRing;
use spinning_top::Spinlock;

use super::super::lapic;
use super::super::once::SetOnce;

/// The vector that only wakes a partition's core: its handler acknowledges
/// it and returns, and the guest's run ends because of it.
pub const KICK_VECTOR: u8 = 0xF1;

/// Crash reports kept for the service core at most; older ones are dropped.
const MAX_PENDING_CRASHES: usize = 4;

/// An operator's command for a partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Command {
    /// Nothing asked.
    None = 0,
    /// Stop the guest (if it runs) and boot it again from its images.
    Restart = 1,
    /// Stop the guest and leave it stopped.
    Halt = 2,
}

/// A crash, as the partition's core saw it, for the network console.
#[derive(Clone, Debug)]
pub struct CrashNote {
    /// What the guest did.
    pub reason: String,
    /// The guest's registers when it stopped.
    pub registers: String,
    /// The exit that ended it.
    pub exit: String,
    /// What the crash policy did about it.
    pub action: String,
}

/// One partition's shared state.
pub struct Link {
    /// Console output, written by the partition's core.
    pub output: OutputRing,
    /// Console input, written by the service core.
    pub input: ByteRing,
    command: AtomicU8,
    /// The partition core's local APIC ID, once it runs; `u32::MAX` before.
    apic_id: AtomicU32,
    crashes: Spinlock<VecDeque<CrashNote>>,
}

impl Link {
    fn new() -> Self {
        Self {
            output: OutputRing::new(),
            input: ByteRing::new(),
            command: AtomicU8::new(Command::None as u8),
            apic_id: AtomicU32::new(u32::MAX),
            crashes: Spinlock::new(VecDeque::new()),
        }
    }

    /// The partition's core says where it runs (to be woken by [`Self::kick`]).
    pub fn set_apic_id(&self, apic_id: u32) {
        self.apic_id.store(apic_id, Ordering::Release);
    }

    /// Service core: asks for `command` and wakes the partition's core.
    pub fn command(&self, command: Command) {
        self.command.store(command as u8, Ordering::Release);
        self.kick();
    }

    /// Partition core: the pending command, if any, taken. Called on every
    /// exit, so the common case is one plain load, not a locked swap.
    pub fn take_command(&self) -> Command {
        if self.command.load(Ordering::Relaxed) == Command::None as u8 {
            return Command::None;
        }
        match self.command.swap(Command::None as u8, Ordering::AcqRel) {
            1 => Command::Restart,
            2 => Command::Halt,
            _ => Command::None,
        }
    }

    /// Ends the guest's current run (or the core's sleep) so it looks at
    /// its input ring and commands now.
    pub fn kick(&self) {
        let apic_id = self.apic_id.load(Ordering::Acquire);
        if apic_id != u32::MAX {
            lapic::send_fixed(apic_id, KICK_VECTOR);
        }
    }

    /// Partition core: records a crash for the service core.
    pub fn post_crash(&self, note: CrashNote) {
        let mut crashes = self.crashes.lock();
        if crashes.len() == MAX_PENDING_CRASHES {
            crashes.pop_front();
        }
        crashes.push_back(note);
    }

    /// Service core: the oldest crash report not yet taken.
    pub fn take_crash(&self) -> Option<CrashNote> {
        self.crashes.lock().pop_front()
    }
}

static LINKS: SetOnce<Box<[Link]>> = SetOnce::new();

/// One link per partition. Before other cores start.
pub fn init(partitions: usize) {
    LINKS.set((0..partitions).map(|_| Link::new()).collect());
}

/// Partition `index`'s link.
pub fn get(index: usize) -> Option<&'static Link> {
    LINKS.get()?.get(index)
}
