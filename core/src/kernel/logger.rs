//! `log` on COM1: one line per record, tagged with the core it came from.

use core::fmt::Write;

use log::{Level, LevelFilter, Log, Metadata, Record};

struct SerialLogger;

static LOGGER: SerialLogger = SerialLogger;

impl Log for SerialLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        // Libraries speak only of trouble: their informational chatter (the
        // virtio driver's feature negotiation, say) is not the operator's.
        let limit = if metadata.target().starts_with("bulkhead") {
            Level::Info
        } else {
            Level::Warn
        };
        metadata.level() <= limit
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let cpu = super::percpu::index();
        let mut out = super::serial::Writer::lock();
        let _ = match record.level() {
            Level::Info => writeln!(out, "[cpu{cpu}] {}", record.args()),
            level => writeln!(out, "[cpu{cpu}] {level}: {}", record.args()),
        };
    }

    fn flush(&self) {}
}

/// Installs the logger. Later calls are ignored by `log`.
pub fn init() {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(LevelFilter::Info);
}
