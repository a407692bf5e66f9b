//! Counting a partition's exits by reason, for the log and for status queries.

use bulkhead_vcpu::ExitKind;
use log::info;

/// One counter per [`ExitKind`].
#[derive(Clone, Debug)]
pub struct ExitCounters {
    counts: [u64; ExitKind::COUNT],
}

impl Default for ExitCounters {
    fn default() -> Self {
        Self {
            counts: [0; ExitKind::COUNT],
        }
    }
}

impl ExitCounters {
    /// Counts one exit.
    pub fn record(&mut self, kind: ExitKind) {
        let slot = &mut self.counts[kind as usize];
        *slot = slot.saturating_add(1);
    }

    /// All exits counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Logs the nonzero counters on one line.
    pub fn report(&self, partition: &str) {
        let mut line = alloc::string::String::new();
        for kind in ExitKind::ALL {
            let count = self.counts[kind as usize];
            if count > 0 {
                let _ = core::fmt::Write::write_fmt(
                    &mut line,
                    format_args!(" {}={count}", kind.name()),
                );
            }
        }
        info!("partition {partition}: {} exits:{line}", self.total());
    }
}
