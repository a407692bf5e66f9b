//! The network console on the service core: the NIC and smoltcp
//! ([`super::net`]) carry datagrams, `bulkhead-netconsole`'s [`Server`]
//! decides everything about them, and this module moves bytes between the
//! server and the partitions' links and carries out the operators' requests.

use alloc::string::String;
use alloc::vec::Vec;

use bulkhead_config::{Deployment, Nic};
use core::fmt::Write;

use bulkhead_netconsole::{
    CrashReport, PartitionState, PartitionStatus, Reject, Reply, Request, Server, ServerConfig,
};
use log::{error, info};
use sha2::{Digest, Sha256};

use super::net::{Net, Peer};
use super::partition::link::{self, Command, CrashNote};
use super::partition::stats::{self, State};
use super::{pit, time, wallclock};

/// Output copied from a partition's ring per step; bounds one poll's work.
const CHUNK: usize = 4096;
/// Refused datagrams are logged at most this often (a flood must not fill COM1).
const REFUSAL_LOG_NANOS: u64 = 10_000_000_000;

/// The network console service.
pub struct RemoteConsole {
    net: Net,
    server: Server<Peer>,
    names: Vec<String>,
    readers: Vec<bulkhead_core::output_ring::Reader>,
    /// Refusals counted when they were last logged, and when that may next happen.
    refusals_logged: u64,
    next_refusal_log: u64,
}

impl RemoteConsole {
    /// Brings the NIC up and starts serving, if the table wants a network
    /// console. A NIC that cannot be brought up is logged and leaves the
    /// partitions running without it.
    pub fn start(table: &Deployment) -> Option<Self> {
        let hypervisor = &table.hypervisor;
        let console = hypervisor.console.as_ref()?;
        if hypervisor.network.nic == Nic::None {
            return None;
        }
        let net = match Net::init(&hypervisor.network, console.port) {
            Ok(net) => net,
            Err(e) => {
                error!("net: no network console: {e}");
                return None;
            }
        };
        let names: Vec<String> = table.partitions.iter().map(|p| p.name.clone()).collect();
        let server = Server::new(
            console.key.as_bytes(),
            names.clone(),
            seed(console.key.as_bytes()),
            ServerConfig::default(),
        );
        info!(
            "console: serving {} partition(s) on udp port {}",
            names.len(),
            console.port
        );
        Some(Self {
            net,
            server,
            readers: names
                .iter()
                .map(|_| bulkhead_core::output_ring::Reader::new())
                .collect(),
            names,
            refusals_logged: 0,
            next_refusal_log: 0,
        })
    }

    /// Whether any client is attached (the loop then polls more often).
    pub fn has_sessions(&self) -> bool {
        self.server.stats().sessions > 0
    }

    /// When [`Self::poll`] must run again at the latest.
    pub fn poll_at(&mut self, now_nanos: u64) -> Option<u64> {
        let server = self.server.poll_at().map(|ms| ms.saturating_mul(1_000_000));
        match (server, self.net.poll_at(now_nanos)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// One round: datagrams in, partition output and input, requests,
    /// datagrams out.
    pub fn poll(&mut self, now_nanos: u64) {
        let now = now_nanos / 1_000_000;
        self.net.poll(now_nanos);
        while let Some((peer, datagram)) = self.net.recv() {
            // Refusals are counted by the server; nothing is answered.
            let _ = self.server.receive(peer, &datagram, now);
        }
        self.log_refusals(now_nanos);
        self.move_output();
        self.move_input();
        self.carry_out_requests();
        while let Some(notice) = self.server.poll_notice() {
            info!("console: {notice}");
        }
        while let Some((peer, datagram)) = self.server.poll_transmit(now) {
            // A full socket buffer drops the datagram; the protocol resends.
            let _ = self.net.send(peer, &datagram);
        }
        self.net.poll(time::now_nanos());
    }

    /// Logs datagrams refused since the last such line, by reason, at most
    /// once per [`REFUSAL_LOG_NANOS`]: nothing that fails authentication is
    /// ever answered, so this line is where an operator sees it. Datagrams
    /// for sessions that no longer exist are left out: a client's spare
    /// copies of its Detach land there on every clean exit.
    fn log_refusals(&mut self, now_nanos: u64) {
        let rejected = self.server.stats().rejected;
        let total = rejected.total() - rejected.get(Reject::UnknownSession);
        if total == self.refusals_logged || now_nanos < self.next_refusal_log {
            return;
        }
        let mut reasons = String::new();
        for reason in Reject::ALL {
            if reason == Reject::UnknownSession {
                continue;
            }
            let count = rejected.get(reason);
            if count > 0 {
                let _ = write!(reasons, ", {reason}: {count}");
            }
        }
        info!(
            "console: refused {} datagram(s), {total} since boot{reasons}",
            total - self.refusals_logged
        );
        self.refusals_logged = total;
        self.next_refusal_log = now_nanos + REFUSAL_LOG_NANOS;
    }

    /// Hands a partition's crash to the attached clients.
    pub fn crashed(&mut self, partition: usize, note: CrashNote) {
        // The report's last console bytes must include what the guest wrote
        // just before it crashed.
        self.move_output();
        let Some(name) = self.names.get(partition) else {
            return;
        };
        self.server.crashed(
            partition,
            CrashReport {
                partition: name.clone(),
                reason: note.reason,
                registers: note.registers,
                exit: note.exit,
                action: note.action,
                console_tail: Vec::new(),
            },
        );
    }

    fn move_output(&mut self) {
        let mut buffer = [0u8; CHUNK];
        for (index, reader) in self.readers.iter_mut().enumerate() {
            let Some(link) = link::get(index) else {
                continue;
            };
            // At most a ring's worth per poll: a partition writing without
            // pause cannot keep the service core here.
            for _ in 0..bulkhead_core::output_ring::CAPACITY / CHUNK {
                let got = reader.read(&link.output, &mut buffer);
                if got.lost > 0 {
                    self.server.output_lost(index, got.lost);
                }
                if got.bytes > 0 {
                    self.server.output(index, &buffer[..got.bytes]);
                }
                if got.bytes < CHUNK {
                    break;
                }
            }
        }
    }

    fn move_input(&mut self) {
        for index in 0..self.names.len() {
            let Some(link) = link::get(index) else {
                continue;
            };
            let mut moved = false;
            self.server.take_input(index, |byte| {
                let pushed = link.input.push(byte);
                moved |= pushed;
                pushed
            });
            if moved {
                link.kick();
            }
        }
    }

    fn carry_out_requests(&mut self) {
        while let Some((token, request)) = self.server.poll_request() {
            let reply = match request {
                Request::List => Reply::List(self.statuses()),
                Request::Restart { partition } => self.command(partition, Command::Restart),
                Request::Halt { partition } => self.command(partition, Command::Halt),
            };
            self.server.respond(token, reply);
        }
    }

    fn command(&self, partition: usize, command: Command) -> Reply {
        let (Some(name), Some(link)) = (self.names.get(partition), link::get(partition)) else {
            return Reply::Error("no such partition".into());
        };
        let state = stats::get(partition).map(|s| s.state());
        match command {
            Command::Halt if matches!(state, Some(State::Halted | State::Crashed)) => {
                return Reply::Error(alloc::format!("partition {name} is already stopped"));
            }
            Command::Halt => info!("console: operator halts partition {name}"),
            _ => info!("console: operator restarts partition {name}"),
        }
        link.command(command);
        Reply::Done(match command {
            Command::Halt => alloc::format!("halting partition {name}"),
            _ => alloc::format!("restarting partition {name}"),
        })
    }

    fn statuses(&self) -> Vec<PartitionStatus> {
        self.names
            .iter()
            .enumerate()
            .map(|(index, name)| {
                let stats = stats::get(index);
                PartitionStatus {
                    name: name.clone(),
                    state: match stats.map(|s| s.state()) {
                        Some(State::Running) => PartitionState::Running,
                        Some(State::Halted) => PartitionState::Halted,
                        Some(State::Crashed) => PartitionState::Crashed,
                        Some(State::Starting) | None => PartitionState::Starting,
                    },
                    restarts: stats.map_or(0, |s| s.restarts()),
                    exits: stats.map_or(0, |s| s.total_exits()),
                }
            })
            .collect()
    }
}

/// The server's random seed. Its session nonces must never repeat, across
/// reboots too, and should be unpredictable to anyone without the key: the
/// seed hashes the key with everything this machine offers that differs
/// from boot to boot: RDRAND where the CPU has it, the wall clock, and the
/// time-stamp counter sampled around short PIT waits, whose exact lengths
/// vary with the bus.
fn seed(key: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"bulkhead console seed");
    hash.update(key);
    hash.update(wallclock::epoch_seconds().to_le_bytes());
    for _ in 0..16 {
        if let Some(value) = rdrand() {
            hash.update(value.to_le_bytes());
        }
    }
    for _ in 0..32 {
        hash.update(time::now_nanos().to_le_bytes());
        pit::wait_micros(1);
    }
    hash.finalize().into()
}

/// One value from the CPU's random-number generator, if it has one.
fn rdrand() -> Option<u64> {
    // CPUID.01H:ECX[30] says RDRAND exists.
    if core::arch::x86_64::__cpuid(1).ecx & (1 << 30) == 0 {
        return None;
    }
    let value: u64;
    let ok: u8;
    // SAFETY: RDRAND exists (checked above); it only writes the two output
    // registers and the flags.
    unsafe {
        core::arch::asm!("rdrand {v}", "setc {ok}", v = out(reg) value, ok = out(reg_byte) ok, options(nomem, nostack));
    }
    (ok == 1).then_some(value)
}
