//! The machine's COM1 as every partition's console: output is printed by each
//! partition's core as `[name] line`; input is read here, on the service
//! core, and handed to the focused partition through its input ring.
//! The keys that move the focus are in [`bulkhead_core::focus`].

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use bulkhead_core::byte_ring::ByteRing;
use bulkhead_core::focus::{Action, FocusSwitch};
use log::{info, warn};

use super::once::SetOnce;
use super::{serial, time};

/// How often the service core looks at COM1 while nothing else wakes it.
const POLL_NANOS: u64 = 5_000_000;

static RINGS: SetOnce<Box<[ByteRing]>> = SetOnce::new();

/// Creates one input ring per partition. Before other cores start.
pub fn init(partitions: usize) {
    RINGS.set((0..partitions).map(|_| ByteRing::new()).collect());
}

/// Partition `index`'s input ring.
pub fn input(index: usize) -> Option<&'static ByteRing> {
    RINGS.get()?.get(index)
}

/// The service core's console loop: never returns.
pub fn serve(names: Vec<String>, focused: usize) -> ! {
    let mut switch = FocusSwitch::new(names.len(), focused);
    let mut dropped: u64 = 0;
    if let Some(name) = names.get(switch.focused()) {
        info!("console: input goes to partition {name} (Ctrl-] ? for help)");
    }
    loop {
        while let Some(byte) = serial::try_read() {
            match switch.input(byte) {
                Action::Deliver { partition, byte } => {
                    if !input(partition).is_some_and(|ring| ring.push(byte)) {
                        dropped += 1;
                        if dropped.is_power_of_two() {
                            warn!("console: {dropped} input byte(s) dropped: partition input full");
                        }
                    }
                }
                Action::Focus(index) => {
                    info!("console: input goes to partition {}", names[index]);
                }
                Action::Help => help(&names, switch.focused()),
                Action::Status => status(&names),
                Action::None => {}
            }
        }
        time::sleep_until(time::now_nanos() + POLL_NANOS);
    }
}

fn status(names: &[String]) {
    let mut out = serial::Writer::lock();
    for (i, name) in names.iter().enumerate() {
        let _ = write!(out, "status: partition {name}: ");
        if let Some(stats) = super::partition::stats::get(i) {
            let _ = stats.describe(&mut out);
        }
        let _ = writeln!(out);
    }
}

fn help(names: &[String], focused: usize) {
    let mut out = serial::Writer::lock();
    let _ = writeln!(
        out,
        "console keys: Ctrl-] then 1-9 (partition), n (next), p (previous), s (status and exit counts), ? (this), Ctrl-] (send Ctrl-])"
    );
    for (i, name) in names.iter().enumerate() {
        let mark = if i == focused { '*' } else { ' ' };
        let _ = writeln!(out, " {mark} {} {name}", i + 1);
    }
}
