//! The machine's COM1 as every partition's console: output is printed by each
//! partition's core as `[name] line`; input is read here, on the service
//! core, and handed to the focused partition through its input ring.
//! The keys that move the focus are in [`bulkhead_core::focus`].

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use bulkhead_core::focus::{Action, FocusSwitch};
use log::{info, warn};

use super::partition::link;
use super::serial;

/// COM1 input, polled by the service core.
pub struct LocalConsole {
    names: Vec<String>,
    switch: FocusSwitch,
    dropped: u64,
}

impl LocalConsole {
    /// Input goes to partition `focused` first.
    pub fn new(names: Vec<String>, focused: usize) -> Self {
        let switch = FocusSwitch::new(names.len(), focused);
        if let Some(name) = names.get(switch.focused()) {
            info!("console: input goes to partition {name} (Ctrl-] ? for help)");
        }
        Self {
            names,
            switch,
            dropped: 0,
        }
    }

    /// Takes what COM1 received and hands it on.
    pub fn poll(&mut self) {
        let mut woken = None;
        while let Some(byte) = serial::try_read() {
            match self.switch.input(byte) {
                Action::Deliver { partition, byte } => {
                    let ring = link::get(partition).map(|link| &link.input);
                    if ring.is_some_and(|ring| ring.push(byte)) {
                        woken = Some(partition);
                    } else {
                        self.dropped += 1;
                        if self.dropped.is_power_of_two() {
                            warn!(
                                "console: {} input byte(s) dropped: partition input full",
                                self.dropped
                            );
                        }
                    }
                }
                Action::Focus(index) => {
                    info!("console: input goes to partition {}", self.names[index]);
                }
                Action::Help => self.help(),
                Action::Status => self.status(),
                Action::None => {}
            }
        }
        if let Some(link) = woken.and_then(link::get) {
            link.kick();
        }
    }

    fn status(&self) {
        let mut out = serial::Writer::lock();
        for (i, name) in self.names.iter().enumerate() {
            let _ = write!(out, "status: partition {name}: ");
            if let Some(stats) = super::partition::stats::get(i) {
                let _ = stats.describe(&mut out);
            }
            let _ = writeln!(out);
        }
    }

    fn help(&self) {
        let mut out = serial::Writer::lock();
        let _ = writeln!(
            out,
            "console keys: Ctrl-] then 1-9 (partition), n (next), p (previous), s (status and exit counts), ? (this), Ctrl-] (send Ctrl-])"
        );
        for (i, name) in self.names.iter().enumerate() {
            let mark = if i == self.switch.focused() { '*' } else { ' ' };
            let _ = writeln!(out, " {mark} {} {name}", i + 1);
        }
    }
}
