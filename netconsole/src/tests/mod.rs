//! Host tests of the whole protocol: a [`Server`] and any number of [`Client`]s over a
//! simulated network with loss, duplication, reordering, delay and outages.
//!
//! - `network`: byte-exact streams both ways under loss, several viewers and
//!   partitions, outages and reconnects, overruns and lost output.
//! - `sessions`: roles, takeover, timeouts, detach, roaming, management requests and
//!   crash reports.
//! - `rejects`: every kind of bad datagram, refused for the right reason at both ends.
//! - `hostile`: arbitrary bytes, mutations and authentic hostile bodies never panic.

mod hostile;
mod network;
mod rejects;
mod sessions;

use std::boxed::Box;
use std::string::String;
use std::vec::Vec;

use crate::handshake::Welcome;
use crate::wire::{self, Direction, Header, Key, Kind, Reject, RejectCounts};
use crate::{
    Client, ClientConfig, ClientEvent, ClientState, Notice, Reply, Request, Role, Server,
    ServerConfig,
};

pub(crate) const KEY: &[u8] = b"deployment console key for tests";

/// Seeded xorshift64: reproducible randomness without a dependency.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub(crate) fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    /// `min` to `min + spread - 1` random bytes.
    pub(crate) fn some_bytes(&mut self, min: usize, spread: u64) -> Vec<u8> {
        let len = min + self.below(spread) as usize;
        self.bytes(len)
    }

    fn seed(&mut self) -> [u8; 32] {
        let mut seed = [0u8; 32];
        for chunk in seed.chunks_mut(8) {
            chunk.copy_from_slice(&self.next().to_le_bytes());
        }
        seed
    }
}

/// Network conditions, the same both ways.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Conditions {
    pub(crate) loss_percent: u64,
    pub(crate) duplicate_percent: u64,
    /// Base one-way delay; each datagram gets up to `jitter_ms` more, which reorders.
    pub(crate) delay_ms: u64,
    pub(crate) jitter_ms: u64,
}

impl Conditions {
    pub(crate) const PERFECT: Self = Self {
        loss_percent: 0,
        duplicate_percent: 0,
        delay_ms: 1,
        jitter_ms: 0,
    };

    /// `loss_percent` loss with duplication, delay and reordering.
    pub(crate) fn lossy(loss_percent: u64) -> Self {
        Self {
            loss_percent,
            duplicate_percent: 5,
            delay_ms: 10,
            jitter_ms: 40,
        }
    }
}

/// What the wire did.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Wire {
    pub(crate) sent: u64,
    pub(crate) lost: u64,
    pub(crate) duplicated: u64,
    pub(crate) delivered: u64,
}

/// Everything one client reported: output joined, gaps by where they fell, and every
/// other event in order.
#[derive(Debug, Default)]
pub(crate) struct Log {
    pub(crate) output: Vec<u8>,
    /// `(output.len() when the gap came, count)`.
    pub(crate) gaps: Vec<(usize, u64)>,
    pub(crate) events: Vec<ClientEvent>,
}

impl Log {
    pub(crate) fn count(&self, what: impl Fn(&ClientEvent) -> bool) -> usize {
        self.events.iter().filter(|e| what(e)).count()
    }

    pub(crate) fn attached(&self) -> usize {
        self.count(|e| matches!(e, ClientEvent::Attached { .. }))
    }

    pub(crate) fn gap_total(&self) -> u64 {
        self.gaps.iter().map(|(_, n)| n).sum()
    }
}

pub(crate) struct Peer {
    pub(crate) client: Client,
    /// The address the service sees; tests change it to roam.
    pub(crate) address: usize,
    pub(crate) log: Log,
    /// Unplugged clients neither send nor receive nor are polled.
    pub(crate) plugged: bool,
}

enum Route {
    ToServer { from: usize },
    ToClient { to: usize },
}

/// A service, its clients and the network between them.
pub(crate) struct Sim {
    pub(crate) server: Server<usize>,
    pub(crate) peers: Vec<Peer>,
    pub(crate) now: u64,
    pub(crate) net: Conditions,
    pub(crate) rng: Rng,
    /// Everything sent is lost while the network is down.
    pub(crate) down: bool,
    /// Everything the service sends is lost while this is set.
    pub(crate) down_to_clients: bool,
    in_flight: Vec<(u64, Route, Vec<u8>)>,
    pub(crate) wire: Wire,
    /// Keystrokes `take_input` handed out, per partition.
    pub(crate) input: Vec<Vec<u8>>,
    /// Bytes the input sink takes per partition and step.
    pub(crate) input_room: usize,
    /// Requests the service's caller carried out, in order.
    pub(crate) executed: Vec<Request>,
    pub(crate) responder: Box<dyn FnMut(&Request) -> Reply>,
    /// Leave requests in the service for the test to take.
    pub(crate) hold_requests: bool,
    pub(crate) notices: Vec<Notice<usize>>,
    /// The longest time step; shorter ones follow arrivals and deadlines.
    pub(crate) max_step: u64,
    /// Every datagram sent, if recording: whether it went to the service, the
    /// client's address, and the datagram.
    pub(crate) recorded: Option<Vec<(bool, usize, Vec<u8>)>>,
    next_address: usize,
}

impl Sim {
    pub(crate) fn new(
        partitions: &[&str],
        config: ServerConfig,
        net: Conditions,
        seed: u64,
    ) -> Self {
        let mut rng = Rng(seed | 1);
        let server = Server::new(
            KEY,
            partitions.iter().map(|p| String::from(*p)).collect(),
            rng.seed(),
            config,
        );
        Self {
            server,
            peers: Vec::new(),
            now: 0,
            net,
            rng,
            down: false,
            down_to_clients: false,
            in_flight: Vec::new(),
            wire: Wire::default(),
            input: std::vec![Vec::new(); partitions.len()],
            input_room: usize::MAX,
            executed: Vec::new(),
            responder: Box::new(|request| match request {
                Request::List => Reply::List(Vec::new()),
                Request::Restart { partition } => {
                    Reply::Done(std::format!("restarting {partition}"))
                }
                Request::Halt { partition } => Reply::Done(std::format!("halting {partition}")),
            }),
            hold_requests: false,
            notices: Vec::new(),
            max_step: 10,
            recorded: None,
            next_address: 100,
        }
    }

    /// A client with `config`; returns its index.
    pub(crate) fn add(&mut self, config: ClientConfig) -> usize {
        self.add_with_key(KEY, config)
    }

    pub(crate) fn add_with_key(&mut self, key: &[u8], config: ClientConfig) -> usize {
        let seed = self.rng.seed();
        self.next_address += 1;
        self.peers.push(Peer {
            client: Client::new(key, config, seed),
            address: self.next_address,
            log: Log::default(),
            plugged: true,
        });
        self.peers.len() - 1
    }

    pub(crate) fn client(&mut self, peer: usize) -> &mut Client {
        &mut self.peers[peer].client
    }

    fn send(&mut self, route: Route, datagram: Vec<u8>) {
        if let Some(recorded) = &mut self.recorded {
            let (up, address) = match route {
                Route::ToServer { from } => (true, from),
                Route::ToClient { to } => (false, to),
            };
            recorded.push((up, address, datagram.clone()));
        }
        self.wire.sent += 1;
        let one_way = self.down_to_clients && matches!(route, Route::ToClient { .. });
        if self.down || one_way || self.rng.percent(self.net.loss_percent) {
            self.wire.lost += 1;
            return;
        }
        if self.rng.percent(self.net.duplicate_percent) {
            self.wire.duplicated += 1;
            let at = self.arrival();
            let copy = match route {
                Route::ToServer { from } => Route::ToServer { from },
                Route::ToClient { to } => Route::ToClient { to },
            };
            self.in_flight.push((at, copy, datagram.clone()));
        }
        let at = self.arrival();
        self.in_flight.push((at, route, datagram));
    }

    fn arrival(&mut self) -> u64 {
        self.now + self.net.delay_ms + self.rng.below(self.net.jitter_ms + 1)
    }

    /// One round: arrivals, the service's caller, everyone's transmissions and events;
    /// then time moves to the next arrival or deadline (at most `max_step` on).
    pub(crate) fn step(&mut self) {
        let now = self.now;
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.in_flight)
            .into_iter()
            .partition(|(at, _, _)| *at <= now);
        self.in_flight = later;
        for (_, route, datagram) in due {
            self.wire.delivered += 1;
            match route {
                Route::ToServer { from } => {
                    let _ = self.server.receive(from, &datagram, now);
                }
                Route::ToClient { to } => {
                    if let Some(peer) = self.peers.iter_mut().find(|p| p.address == to && p.plugged)
                    {
                        let _ = peer.client.receive(&datagram, now);
                    }
                }
            }
        }
        for (partition, sink) in self.input.iter_mut().enumerate() {
            let mut room = self.input_room;
            self.server.take_input(partition, |byte| {
                if room == 0 {
                    return false;
                }
                room -= 1;
                sink.push(byte);
                true
            });
        }
        while !self.hold_requests {
            let Some((token, request)) = self.server.poll_request() else {
                break;
            };
            let reply = (self.responder)(&request);
            self.executed.push(request);
            self.server.respond(token, reply);
        }
        while let Some((to, datagram)) = self.server.poll_transmit(now) {
            self.send(Route::ToClient { to }, datagram);
        }
        while let Some(notice) = self.server.poll_notice() {
            self.notices.push(notice);
        }
        for index in 0..self.peers.len() {
            if !self.peers[index].plugged {
                continue;
            }
            while let Some(datagram) = self.peers[index].client.poll_transmit(now) {
                let from = self.peers[index].address;
                self.send(Route::ToServer { from }, datagram);
            }
            let peer = &mut self.peers[index];
            while let Some(event) = peer.client.poll_event() {
                match event {
                    ClientEvent::Output(bytes) => peer.log.output.extend_from_slice(&bytes),
                    ClientEvent::Gap(count) => peer.log.gaps.push((peer.log.output.len(), count)),
                    other => peer.log.events.push(other),
                }
            }
        }
        let mut next = now + self.max_step;
        for (at, _, _) in &self.in_flight {
            next = next.min(*at);
        }
        next = next.min(self.server.poll_at().unwrap_or(u64::MAX));
        for peer in self.peers.iter().filter(|p| p.plugged) {
            next = next.min(peer.client.poll_at().unwrap_or(u64::MAX));
        }
        self.now = next.max(now + 1);
    }

    /// Steps until `done` holds; false if `limit_ms` of simulated time passed first.
    pub(crate) fn run_until(&mut self, limit_ms: u64, mut done: impl FnMut(&Sim) -> bool) -> bool {
        let end = self.now + limit_ms;
        while self.now < end {
            if done(self) {
                return true;
            }
            self.step();
        }
        done(self)
    }

    /// Steps for `ms` of simulated time.
    pub(crate) fn run_for(&mut self, ms: u64) {
        let end = self.now + ms;
        while self.now < end {
            self.step();
        }
    }

    /// Steps until every listed client is attached and the service has begun its
    /// session.
    pub(crate) fn attach(&mut self, peers: &[usize]) {
        let ok = self.run_until(60_000, |sim| {
            peers.iter().all(|&p| {
                let client = &sim.peers[p].client;
                let begun = |n: &Notice<usize>| {
                    matches!(n, Notice::Attached { session, .. }
                        if Some(*session) == client.session())
                };
                client.state() == ClientState::Attached && sim.notices.iter().any(begun)
            })
        });
        assert!(ok, "clients {peers:?} did not attach");
    }

    /// Whether the network holds nothing and no stream has anything unacknowledged.
    pub(crate) fn quiet(&self) -> bool {
        self.in_flight.is_empty() && self.peers.iter().all(|p| p.client.unacknowledged() == 0)
    }

    /// Asserts that nothing honest was refused for a reason other than the network's
    /// doing (duplicates, late copies, datagrams for sessions that ended).
    pub(crate) fn assert_honest(&self) {
        let honest = [Reject::Replayed, Reject::TooOld, Reject::UnknownSession];
        let check = |who: &str, counts: RejectCounts| {
            for reason in Reject::ALL {
                if !honest.contains(&reason) {
                    assert_eq!(
                        counts.get(reason),
                        0,
                        "{who} refused honest datagrams: {reason}"
                    );
                }
            }
        };
        check("server", self.server.stats().rejected);
        for (i, peer) in self.peers.iter().enumerate() {
            check(&std::format!("client {i}"), peer.client.stats().rejected);
        }
        assert_eq!(self.server.stats().bogus_acks, 0);
    }
}

pub(crate) fn viewer(partition: &str) -> ClientConfig {
    ClientConfig::new(Role::Viewer, partition)
}

pub(crate) fn writer(partition: &str) -> ClientConfig {
    ClientConfig::new(Role::Writer, partition)
}

pub(crate) fn control() -> ClientConfig {
    ClientConfig::new(Role::Control, "")
}

/// Seals arbitrary bodies in a session, as only a holder of the console key could:
/// tests use it to craft authentic datagrams the honest code never sends.
pub(crate) struct Forger {
    pub(crate) session: u32,
    to_server: Key,
    to_client: Key,
    pub(crate) counter: u64,
}

impl Forger {
    /// The session a recorded Welcome created.
    pub(crate) fn from_welcome(datagram: &[u8]) -> Self {
        let body =
            wire::open(&Key::base(KEY, Direction::HostToClient), datagram).expect("a Welcome");
        let welcome = Welcome::decode(&body).expect("a Welcome");
        let key = |direction| {
            Key::session(
                KEY,
                &welcome.key_nonce,
                &welcome.server_nonce,
                welcome.session,
                direction,
            )
        };
        Self {
            session: welcome.session,
            to_server: key(Direction::ClientToHost),
            to_client: key(Direction::HostToClient),
            // Far above anything the honest ends use.
            counter: 1 << 40,
        }
    }

    /// An authentic datagram of `kind` with `body`, sent in `direction`.
    pub(crate) fn seal(&mut self, kind: Kind, direction: Direction, body: &[u8]) -> Vec<u8> {
        self.counter += 1;
        let header = Header {
            kind,
            direction,
            session: self.session,
            counter: self.counter,
        };
        let key = match direction {
            Direction::ClientToHost => &self.to_server,
            Direction::HostToClient => &self.to_client,
        };
        wire::seal(key, &header, body).expect("a body that fits")
    }
}

/// The first Welcome the service sent to `address` in a recording sim.
pub(crate) fn recorded_welcome(sim: &Sim, address: usize) -> Vec<u8> {
    sim.recorded
        .as_ref()
        .expect("recording")
        .iter()
        .find(|(up, to, d)| !up && *to == address && d[5] == Kind::Welcome as u8)
        .map(|(_, _, d)| d.clone())
        .expect("a Welcome was sent")
}
