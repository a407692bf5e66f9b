//! Per-partition exit counters and state that other cores can read: the
//! partition's core counts and logs them whenever the partition stops; the
//! service core prints them on demand (the console's `Ctrl-] s`).

use alloc::boxed::Box;
use core::fmt::Write;
use core::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use bulkhead_vcpu::ExitKind;

use super::super::once::SetOnce;

/// What a partition is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum State {
    /// Not started yet.
    Starting = 0,
    /// Running its guest.
    Running = 1,
    /// Stopped on purpose: the guest halted, exited or powered off, or an
    /// operator halted it. An operator can restart it.
    Halted = 2,
    /// Stopped by a crash the policy did not restart (or a boot that
    /// failed). An operator can restart it.
    Crashed = 3,
}

impl State {
    /// The word the console and the status list use.
    pub fn name(self) -> &'static str {
        match self {
            State::Starting => "starting",
            State::Running => "running",
            State::Halted => "halted",
            State::Crashed => "crashed",
        }
    }
}

/// One partition's shared counters.
pub struct Stats {
    exits: [AtomicU64; ExitKind::COUNT],
    restarts: AtomicU64,
    state: AtomicU8,
}

impl Stats {
    fn new() -> Self {
        Self {
            exits: [const { AtomicU64::new(0) }; ExitKind::COUNT],
            restarts: AtomicU64::new(0),
            state: AtomicU8::new(State::Starting as u8),
        }
    }

    /// Counts one exit (only the partition's own core writes).
    pub fn record(&self, kind: ExitKind) {
        self.exits[kind as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one restart.
    pub fn restarted(&self) {
        self.restarts.fetch_add(1, Ordering::Relaxed);
    }

    /// Sets the state.
    pub fn set_state(&self, state: State) {
        self.state.store(state as u8, Ordering::Relaxed);
    }

    /// The current state.
    pub fn state(&self) -> State {
        match self.state.load(Ordering::Relaxed) {
            0 => State::Starting,
            1 => State::Running,
            2 => State::Halted,
            _ => State::Crashed,
        }
    }

    /// Restarts so far (by the crash policy or an operator).
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }

    /// Exits so far, all kinds together.
    pub fn total_exits(&self) -> u64 {
        self.exits.iter().map(|e| e.load(Ordering::Relaxed)).sum()
    }

    /// Logs the counters, as when the partition stops.
    pub fn report(&self, partition: &str) {
        let mut line = alloc::string::String::new();
        let _ = self.describe_counts(&mut line);
        log::info!("partition {partition}: {line}");
    }

    /// One line: state, restarts, total exits and the nonzero counters.
    pub fn describe(&self, out: &mut impl Write) -> core::fmt::Result {
        write!(out, "{}, ", self.state().name())?;
        self.describe_counts(out)
    }

    /// Restarts, total exits and the nonzero counters.
    pub fn describe_counts(&self, out: &mut impl Write) -> core::fmt::Result {
        write!(
            out,
            "{} restart(s), {} exits:",
            self.restarts(),
            self.total_exits()
        )?;
        for kind in ExitKind::ALL {
            let count = self.exits[kind as usize].load(Ordering::Relaxed);
            if count > 0 {
                write!(out, " {}={count}", kind.name())?;
            }
        }
        Ok(())
    }
}

static STATS: SetOnce<Box<[Stats]>> = SetOnce::new();

/// One set of counters per partition. Before other cores start.
pub fn init(partitions: usize) {
    STATS.set((0..partitions).map(|_| Stats::new()).collect());
}

/// Partition `index`'s counters.
pub fn get(index: usize) -> Option<&'static Stats> {
    STATS.get()?.get(index)
}
