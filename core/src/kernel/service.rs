//! The service core's loop: COM1 input, the network console and the
//! partitions' crash reports, each polled in turn, with the core asleep on
//! its timer in between (woken early by nothing else: the NIC runs without
//! interrupts, so the poll interval bounds the console's latency).

use alloc::string::String;
use alloc::vec::Vec;

use bulkhead_config::Deployment;

use super::local_console::LocalConsole;
use super::partition::link;
use super::remote_console::RemoteConsole;
use super::time;

/// How often the service core looks at COM1, the NIC and the rings while a
/// network console session is open: the keystroke-to-echo latency.
const ACTIVE_POLL_NANOS: u64 = 2_000_000;
/// The same with no session open (COM1 typing still feels immediate).
const IDLE_POLL_NANOS: u64 = 10_000_000;

/// Serves the consoles and supervises the partitions; never returns.
pub fn serve(table: &'static Deployment) -> ! {
    let names: Vec<String> = table.partitions.iter().map(|p| p.name.clone()).collect();
    let local_settings = &table.hypervisor.local_console;
    let mut local = local_settings.enabled.then(|| {
        let focused = local_settings
            .input
            .as_ref()
            .and_then(|name| names.iter().position(|n| n == name))
            .unwrap_or(0);
        LocalConsole::new(names.clone(), focused)
    });
    let mut remote = RemoteConsole::start(table);
    loop {
        if let Some(local) = &mut local {
            local.poll();
        }
        for index in 0..names.len() {
            let Some(link) = link::get(index) else {
                continue;
            };
            while let Some(note) = link.take_crash() {
                if let Some(remote) = &mut remote {
                    remote.crashed(index, note);
                }
            }
        }
        let now = time::now_nanos();
        let mut wake = now + IDLE_POLL_NANOS;
        if let Some(remote) = &mut remote {
            remote.poll(now);
            if remote.has_sessions() {
                wake = wake.min(now + ACTIVE_POLL_NANOS);
            }
            if let Some(at) = remote.poll_at(now) {
                wake = wake.min(at);
            }
        }
        time::sleep_until(wake);
    }
}
