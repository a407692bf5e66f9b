//! The client's side of the protocol: handshake, keepalive, reconnect, output, keystrokes,
//! management requests and crash reports.
//!
//! [`Client`] is a pure state machine. Its caller (the `bulkhead console` command) feeds
//! it received datagrams ([`Client::receive`]), keystrokes ([`Client::write`]) and
//! requests ([`Client::request`]), and after each of those calls
//! [`Client::poll_transmit`] until it returns `None`; [`Client::poll_at`] says when to
//! call it again if nothing happens. What happened comes out of
//! [`Client::poll_event`], in order.
//!
//! Across a reconnect the client keeps its place in both streams. Output: the Hello
//! names the absolute position received so far, and the new session's stream starts
//! there, from the service's history. Keystrokes: the client's keystroke stream is one
//! stream for the client's whole life; the new session continues it (the service hands
//! the old session's receiver over), and everything unacknowledged is sent again, which
//! the service's receiver takes once.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

use crate::channel::Channel;
use crate::codec::truncate_str;
use crate::handshake::{Hello, MAX_NAME, Refused, Role, Welcome};
use crate::manage::{ClientRequest, CrashReport, PartitionStatus, Reply, ReplyBody, Verb};
use crate::message::Message;
use crate::random::Random;
use crate::stream::{Delivery, Receiver, SegmentRef, Sender, SenderStats, StreamConfig};
use crate::wire::{self, Direction, Header, Key, Kind, NONCE_LEN, Reject, RejectCounts};

/// Hellos of one handshake whose answer is still accepted: the newest ones.
const OUTSTANDING_HELLOS: usize = 16;
/// Requests waiting their turn at most; past that `request` answers with an error.
const MAX_REQUESTS: usize = 32;
/// Crash reports acknowledged but whose `EventAck` is not sent yet, at most.
const MAX_EVENT_ACKS: usize = 16;
/// Partitions a List gathers at most over its pages.
const MAX_LIST: usize = 4096;
/// Copies of the `Detach` sent (best effort: it is not retransmitted, and a service
/// that misses every copy times the session out).
const DETACH_COPIES: usize = 3;

/// Tunables of a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// What the session may do.
    pub role: Role,
    /// The partition to attach to; ignored for [`Role::Control`].
    pub partition: String,
    /// A writer replaces a writer already attached instead of being refused.
    pub takeover: bool,
    /// With nothing heard for this long the client sends a `Ping`, and repeats it
    /// every `hello_retry_ms` until something is heard.
    pub keepalive_ms: u64,
    /// With nothing heard for this long the session is dead: the client reconnects.
    pub dead_after_ms: u64,
    /// How often a Hello is sent until it is answered (and a `Ping` until the first
    /// answer on a new session).
    pub hello_retry_ms: u64,
    /// The keystroke stream; its `buffer_bytes` also bounds received output that
    /// [`Client::poll_event`] has not taken.
    pub stream: StreamConfig,
}

impl ClientConfig {
    /// The defaults for `role` on `partition`.
    pub fn new(role: Role, partition: impl Into<String>) -> Self {
        Self {
            role,
            partition: partition.into(),
            takeover: false,
            keepalive_ms: 2000,
            dead_after_ms: 10_000,
            hello_retry_ms: 500,
            stream: StreamConfig::default(),
        }
    }
}

/// Where the client is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientState {
    /// Sending Hellos.
    Connecting,
    /// In a session.
    Attached,
    /// Finished: detached, refused or closed. Nothing more is sent.
    Detached,
}

/// What happened, in order, from [`Client::poll_event`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientEvent {
    /// A session began.
    Attached {
        /// The session id.
        session: u32,
        /// The partition (empty for Control).
        partition: String,
        /// The absolute output position the session's stream starts at.
        start: u64,
        /// Whether output continues where the previous session left off (same service
        /// boot); if not, positions start over from the service's history.
        resumed: bool,
    },
    /// The service refused the Hello; the client is detached.
    Refused(String),
    /// Partition output, in order.
    Output(Vec<u8>),
    /// This many bytes of output were lost (the service's history no longer had them,
    /// or the partition's output overran).
    Gap(u64),
    /// The partition crashed.
    Crash(CrashReport),
    /// The answer to the request [`Client::request`] returned `id` for.
    Reply {
        /// The request.
        id: u32,
        /// The answer.
        reply: Reply,
    },
    /// The session went silent; the client is handshaking again.
    Reconnecting,
    /// The service ended the session (another writer took over); the client is
    /// detached.
    Closed(String),
    /// The client is detached; always the last event.
    Detached,
}

/// Counters a client keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Datagrams dropped, per reason.
    pub rejected: RejectCounts,
    /// Datagrams handed out by [`Client::poll_transmit`].
    pub datagrams_sent: u64,
    /// Authentic datagrams received.
    pub datagrams_received: u64,
    /// Hellos sent.
    pub hellos_sent: u64,
    /// Times the session went silent and the client handshook again.
    pub reconnects: u64,
    /// Request datagrams sent, retransmissions included.
    pub requests_sent: u64,
    /// The keystroke stream.
    pub input: SenderStats,
    /// Authentic datagrams whose acknowledgement covered keystrokes never sent.
    pub bogus_acks: u64,
}

/// The current session.
#[derive(Debug)]
struct Link {
    id: u32,
    channel: Channel,
    /// Something authentic arrived on this session.
    confirmed: bool,
    last_heard: u64,
    next_ping: u64,
    /// The head request went out on this session.
    request_sent: bool,
}

#[derive(Debug)]
struct PendingRequest {
    /// What [`Client::request`] returned.
    user_id: u32,
    /// The id on the wire; 0 until first sent. A new List page gets a new one.
    wire_id: u32,
    verb: Verb,
    /// Partitions gathered from earlier List pages.
    list: Vec<PartitionStatus>,
}

/// A console client's protocol state.
pub struct Client {
    console_key: Vec<u8>,
    hello_key: Key,
    answer_key: Key,
    config: ClientConfig,
    random: Random,
    state: ClientState,
    /// The handshake in progress: its attempt id, the nonces of its newest Hellos.
    attempt: u64,
    outstanding: VecDeque<[u8; NONCE_LEN]>,
    next_hello: u64,
    /// The last session and the service boot it was in, for a reconnect.
    previous: u32,
    boot: Option<[u8; 8]>,
    link: Option<Link>,
    output: Receiver,
    /// The keystroke stream, continued across sessions.
    input: Sender,
    ack_due: bool,
    requests: VecDeque<PendingRequest>,
    request_deadline: Option<u64>,
    request_rto: u64,
    next_wire_id: u32,
    next_user_id: u32,
    event_acks: VecDeque<u32>,
    /// Id of the newest crash report delivered; the service's ids only grow.
    last_event: u32,
    events: VecDeque<ClientEvent>,
    outbox: VecDeque<Vec<u8>>,
    stats: ClientStats,
}

impl core::fmt::Debug for Client {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Client")
            .field("state", &self.state)
            .field("session", &self.link.as_ref().map(|l| l.id))
            .field("position", &self.output.ack())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client under the deployment's console key. `seed` must be secret and random
    /// (from the operating system): it makes the client's nonces and Hello counters.
    pub fn new(console_key: &[u8], config: ClientConfig, seed: [u8; 32]) -> Self {
        let mut random = Random::new(&seed);
        let mut client = Self {
            console_key: console_key.to_vec(),
            hello_key: Key::base(console_key, Direction::ClientToHost),
            answer_key: Key::base(console_key, Direction::HostToClient),
            attempt: random.u64(b"attempt", &[]),
            random,
            state: ClientState::Connecting,
            outstanding: VecDeque::new(),
            next_hello: 0,
            previous: 0,
            boot: None,
            link: None,
            output: Receiver::new(config.stream.buffer_bytes),
            input: Sender::new(config.stream),
            ack_due: false,
            requests: VecDeque::new(),
            request_deadline: None,
            request_rto: config.stream.initial_rto_ms,
            next_wire_id: 0,
            next_user_id: 0,
            event_acks: VecDeque::new(),
            last_event: 0,
            events: VecDeque::new(),
            outbox: VecDeque::new(),
            stats: ClientStats::default(),
            config,
        };
        if client.config.role != Role::Control && client.config.partition.is_empty() {
            // The service could only drop such a Hello as malformed.
            client
                .events
                .push_back(ClientEvent::Refused(String::from("no partition named")));
            client.finish();
        }
        client
    }

    /// Where the client is.
    pub fn state(&self) -> ClientState {
        self.state
    }

    /// The current session's id, if attached.
    pub fn session(&self) -> Option<u32> {
        self.link.as_ref().map(|l| l.id)
    }

    /// The absolute output position received so far (including output that
    /// [`Self::poll_event`] has not handed out yet).
    pub fn position(&self) -> u64 {
        self.output.ack()
    }

    /// Counters so far.
    pub fn stats(&self) -> ClientStats {
        ClientStats {
            input: self.input.stats(),
            ..self.stats
        }
    }

    /// Keystroke bytes written and not yet acknowledged by the service.
    pub fn unacknowledged(&self) -> usize {
        self.input.buffered()
    }

    /// One received datagram. A rejected one is counted and changes nothing else.
    pub fn receive(&mut self, datagram: &[u8], now: u64) -> Result<(), Reject> {
        let result = self.try_receive(datagram, now);
        if let Err(reason) = result {
            self.stats.rejected.bump(reason);
        }
        result
    }

    fn try_receive(&mut self, datagram: &[u8], now: u64) -> Result<(), Reject> {
        let header = Header::parse(datagram, Direction::HostToClient)?;
        if header.kind.is_handshake() {
            return self.answer(&header, datagram, now);
        }
        let keepalive = self.config.keepalive_ms;
        let link = self
            .link
            .as_mut()
            .filter(|link| link.id == header.session)
            .ok_or(Reject::UnknownSession)?;
        let message = link.channel.open(&header, datagram, |_| true)?;
        link.confirmed = true;
        link.last_heard = now;
        link.next_ping = now.saturating_add(keepalive);
        self.stats.datagrams_received += 1;
        self.handle(message, now);
        Ok(())
    }

    /// A Welcome or Refused: accepted only while connecting, and only if it answers one
    /// of the newest Hellos of this handshake (anything else is a late copy or a
    /// replay).
    fn answer(&mut self, header: &Header, datagram: &[u8], now: u64) -> Result<(), Reject> {
        let body = wire::open(&self.answer_key, datagram)?;
        let fresh = |nonce: &[u8; NONCE_LEN]| {
            if self.state == ClientState::Connecting && self.outstanding.contains(nonce) {
                Ok(())
            } else {
                Err(Reject::Replayed)
            }
        };
        if header.kind == Kind::Welcome {
            let welcome = Welcome::decode(&body).ok_or(Reject::Malformed)?;
            fresh(&welcome.client_nonce)?;
            self.stats.datagrams_received += 1;
            self.attach(&welcome, now);
        } else {
            let refused = Refused::decode(&body).ok_or(Reject::Malformed)?;
            fresh(&refused.client_nonce)?;
            self.stats.datagrams_received += 1;
            self.events.push_back(ClientEvent::Refused(refused.reason));
            self.finish();
        }
        Ok(())
    }

    fn attach(&mut self, welcome: &Welcome, now: u64) {
        let resumed = self.boot == Some(welcome.boot) && welcome.start == self.output.ack();
        if self.boot != Some(welcome.boot) {
            // Event ids count per boot of the service.
            self.last_event = 0;
        }
        self.boot = Some(welcome.boot);
        self.flush_output();
        self.output = Receiver::starting_at(welcome.start, self.config.stream.buffer_bytes);
        self.input.rewind();
        self.outstanding.clear();
        self.link = Some(Link {
            id: welcome.session,
            channel: Channel::new(
                &self.console_key,
                &welcome.key_nonce,
                &welcome.server_nonce,
                welcome.session,
                Direction::ClientToHost,
            ),
            confirmed: false,
            last_heard: now,
            next_ping: now,
            request_sent: false,
        });
        self.request_deadline = None;
        self.request_rto = self.config.stream.initial_rto_ms;
        self.ack_due = false;
        self.state = ClientState::Attached;
        self.events.push_back(ClientEvent::Attached {
            session: welcome.session,
            partition: self.partition_name(),
            start: welcome.start,
            resumed,
        });
    }

    fn handle(&mut self, message: Message, now: u64) {
        if !self.input.on_ack(message.ack(), now) {
            self.stats.bogus_acks += 1;
        }
        match message {
            Message::Data { seq, data, .. } => {
                self.output.on_segment(seq, SegmentRef::Data(&data));
                self.ack_due = true;
            }
            Message::Gap { seq, skipped, .. } => {
                self.output.on_segment(seq, SegmentRef::Gap(skipped));
                self.ack_due = true;
            }
            Message::Reply { id, reply, .. } => self.on_reply(id, reply),
            Message::Event { id, report, .. } => {
                if !self.event_acks.contains(&id) {
                    if self.event_acks.len() >= MAX_EVENT_ACKS {
                        self.event_acks.pop_front();
                    }
                    self.event_acks.push_back(id);
                }
                if id > self.last_event {
                    self.last_event = id;
                    self.flush_output();
                    self.events.push_back(ClientEvent::Crash(report));
                }
            }
            Message::Close { reason, .. } => {
                self.flush_output();
                self.events.push_back(ClientEvent::Closed(reason));
                self.finish();
            }
            // The header check lets the service send nothing else.
            Message::Ack { .. }
            | Message::Ping { .. }
            | Message::Request { .. }
            | Message::EventAck { .. } => {}
        }
    }

    fn on_reply(&mut self, id: u32, body: ReplyBody) {
        let Some(head) = self.requests.front_mut().filter(|r| r.wire_id == id) else {
            return;
        };
        let reply = match body {
            ReplyBody::List { total, entries } => {
                let from = match head.verb {
                    Verb::List { from } => from,
                    _ => 0,
                };
                let more = !entries.is_empty()
                    && u64::from(from) + (entries.len() as u64) < u64::from(total)
                    && head.list.len() + entries.len() < MAX_LIST;
                let next = from.saturating_add(entries.len() as u32);
                head.list.extend(entries);
                if more {
                    // Ask for the next page as a new request.
                    head.verb = Verb::List { from: next };
                    head.wire_id = 0;
                    self.request_done();
                    return;
                }
                Reply::List(core::mem::take(&mut head.list))
            }
            ReplyBody::Done(text) => Reply::Done(text),
            ReplyBody::Error(text) => Reply::Error(text),
        };
        let user_id = head.user_id;
        self.requests.pop_front();
        self.request_done();
        self.flush_output();
        self.events
            .push_back(ClientEvent::Reply { id: user_id, reply });
    }

    fn request_done(&mut self) {
        self.request_deadline = None;
        self.request_rto = self.config.stream.initial_rto_ms;
        if let Some(link) = &mut self.link {
            link.request_sent = false;
        }
    }

    /// Queues keystrokes; returns how many bytes were taken (0 unless a writer that is
    /// not detached). What did not fit is not sent: offer it again later. Keystrokes
    /// written while connecting go out once attached.
    pub fn write(&mut self, bytes: &[u8]) -> usize {
        if self.config.role != Role::Writer || self.state == ClientState::Detached {
            return 0;
        }
        self.input.offer(bytes)
    }

    /// Queues a management request and returns its id, which the
    /// [`ClientEvent::Reply`] carries. Requests go out one at a time, each resent until
    /// answered; a List gathers every page before it is answered. A request made while
    /// detached, or with too many waiting, is answered at once with an error.
    pub fn request(&mut self, request: ClientRequest) -> u32 {
        self.next_user_id = self.next_user_id.wrapping_add(1);
        let id = self.next_user_id;
        let refusal = if self.state == ClientState::Detached {
            Some("detached")
        } else if self.requests.len() >= MAX_REQUESTS {
            Some("too many requests waiting")
        } else {
            None
        };
        if let Some(text) = refusal {
            self.events.push_back(ClientEvent::Reply {
                id,
                reply: Reply::Error(String::from(text)),
            });
            return id;
        }
        let name = |name: &str| String::from(truncate_str(name, MAX_NAME));
        let verb = match request {
            ClientRequest::List => Verb::List { from: 0 },
            ClientRequest::Restart(partition) => Verb::Restart(name(&partition)),
            ClientRequest::Halt(partition) => Verb::Halt(name(&partition)),
        };
        self.requests.push_back(PendingRequest {
            user_id: id,
            wire_id: 0,
            verb,
            list: Vec::new(),
        });
        id
    }

    /// Ends the session: sends `Detach` a few times (best effort) and becomes
    /// detached. Unacknowledged keystrokes and unanswered requests are dropped.
    pub fn detach(&mut self) {
        if self.state == ClientState::Detached {
            return;
        }
        let ack = self.output.ack();
        if let Some(link) = &mut self.link {
            let message = Message::Request {
                ack,
                id: 0,
                verb: Verb::Detach,
            };
            for _ in 0..DETACH_COPIES {
                if let Some(datagram) = link.channel.seal(&message) {
                    self.outbox.push_back(datagram);
                }
            }
        }
        self.flush_output();
        self.finish();
    }

    /// Becomes detached, for good.
    fn finish(&mut self) {
        self.state = ClientState::Detached;
        self.link = None;
        self.outstanding.clear();
        self.events.push_back(ClientEvent::Detached);
    }

    /// The next thing that happened.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events
            .pop_front()
            .or_else(|| self.output.read().map(output_event))
    }

    /// Moves received output ahead of an event about to be queued, to keep the order.
    fn flush_output(&mut self) {
        while let Some(delivery) = self.output.read() {
            self.events.push_back(output_event(delivery));
        }
    }

    /// The next datagram to send; call until `None`.
    pub fn poll_transmit(&mut self, now: u64) -> Option<Vec<u8>> {
        if let Some(datagram) = self.outbox.pop_front() {
            self.stats.datagrams_sent += 1;
            return Some(datagram);
        }
        match self.state {
            ClientState::Detached => None,
            ClientState::Connecting => {
                if now < self.next_hello {
                    return None;
                }
                self.next_hello = now.saturating_add(self.config.hello_retry_ms);
                let datagram = self.hello()?;
                self.stats.hellos_sent += 1;
                self.stats.datagrams_sent += 1;
                Some(datagram)
            }
            ClientState::Attached => {
                let last_heard = self.link.as_ref()?.last_heard;
                if now >= last_heard.saturating_add(self.config.dead_after_ms) {
                    self.reconnect(now);
                    return self.poll_transmit(now);
                }
                let message = self.next_message(now)?;
                self.ack_due = false;
                let retry = self.config.hello_retry_ms;
                let link = self.link.as_mut()?;
                if !link.confirmed {
                    // Anything sent asks the service to begin the session; a ping
                    // follows if nothing is heard.
                    link.next_ping = now.saturating_add(retry);
                }
                let datagram = link.channel.seal(&message)?;
                self.stats.datagrams_sent += 1;
                Some(datagram)
            }
        }
    }

    fn next_message(&mut self, now: u64) -> Option<Message> {
        let ack = self.output.ack();
        if let Some(id) = self.event_acks.pop_front() {
            return Some(Message::EventAck { ack, id });
        }
        let link = self.link.as_mut()?;
        if let Some(head) = self.requests.front_mut() {
            let resend = self.request_deadline.is_some_and(|d| now >= d);
            if !link.request_sent || resend {
                if head.wire_id == 0 {
                    self.next_wire_id = self.next_wire_id.wrapping_add(1).max(1);
                    head.wire_id = self.next_wire_id;
                }
                if link.request_sent {
                    self.request_rto = (self.request_rto * 2).min(self.config.stream.max_rto_ms);
                }
                link.request_sent = true;
                self.request_deadline = Some(now.saturating_add(self.request_rto));
                self.stats.requests_sent += 1;
                return Some(Message::Request {
                    ack,
                    id: head.wire_id,
                    verb: head.verb.clone(),
                });
            }
        }
        self.input.on_tick(now);
        if let Some(message) = self.input.next_message(ack, now) {
            return Some(message);
        }
        if now >= link.next_ping {
            // Unanswered pings repeat quickly, so that a few lost datagrams do not add
            // up to a dead session; an answer puts the next one `keepalive_ms` off.
            link.next_ping = now.saturating_add(self.config.hello_retry_ms);
            return Some(Message::Ping { ack });
        }
        self.ack_due.then_some(Message::Ack { ack })
    }

    fn hello(&mut self) -> Option<Vec<u8>> {
        let client_nonce: [u8; NONCE_LEN] = self.random.array(b"client nonce", &[]);
        if self.outstanding.len() >= OUTSTANDING_HELLOS {
            self.outstanding.pop_front();
        }
        self.outstanding.push_back(client_nonce);
        let partition = self.partition_name();
        let hello = Hello {
            client_nonce,
            role: self.config.role,
            takeover: self.config.takeover,
            previous: self.previous,
            boot: self.boot.unwrap_or_default(),
            resume: self.output.ack(),
            attempt: self.attempt,
            input: self.input.unacknowledged_start(),
            partition,
        };
        // Base-key counters are random: clients restart, and all of them share the key.
        let header = Header {
            kind: Kind::Hello,
            direction: Direction::ClientToHost,
            session: 0,
            counter: self.random.u64(b"hello counter", &[]),
        };
        wire::seal(&self.hello_key, &header, &hello.encode())
    }

    /// The partition the client attaches to (none for Control).
    fn partition_name(&self) -> String {
        match self.config.role {
            Role::Control => String::new(),
            Role::Viewer | Role::Writer => self.config.partition.clone(),
        }
    }

    /// The session went silent: handshake again, continuing it.
    fn reconnect(&mut self, now: u64) {
        self.flush_output();
        self.events.push_back(ClientEvent::Reconnecting);
        self.stats.reconnects += 1;
        // A session the client never heard from may never have begun at the service,
        // which would not know it; the one before it is the one to continue (and the
        // service forwards it if the silent one did begin).
        if let Some(link) = self.link.take().filter(|link| link.confirmed) {
            self.previous = link.id;
        }
        self.state = ClientState::Connecting;
        self.attempt = self.random.u64(b"attempt", &[]);
        self.outstanding.clear();
        self.next_hello = now;
        self.event_acks.clear();
        self.ack_due = false;
    }

    /// When [`Self::poll_transmit`] must be called again with no input: a Hello retry,
    /// a ping, a retransmission, or the dead-session check. Work due at once (after
    /// `receive`, `write`, `request`, `detach`) is not included: call `poll_transmit`
    /// until `None` after each of those.
    pub fn poll_at(&self) -> Option<u64> {
        match self.state {
            ClientState::Detached => None,
            ClientState::Connecting => Some(self.next_hello),
            ClientState::Attached => {
                let link = self.link.as_ref()?;
                [
                    Some(link.last_heard.saturating_add(self.config.dead_after_ms)),
                    Some(link.next_ping),
                    self.input.deadline(),
                    self.request_deadline,
                ]
                .into_iter()
                .flatten()
                .min()
            }
        }
    }
}

fn output_event(delivery: Delivery) -> ClientEvent {
    match delivery {
        Delivery::Data(bytes) => ClientEvent::Output(bytes),
        Delivery::Gap(count) => ClientEvent::Gap(count),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"key";

    fn client(role: Role, partition: &str) -> Client {
        Client::new(KEY, ClientConfig::new(role, partition), [1; 32])
    }

    /// A new client sends a Hello at once and then every `hello_retry_ms`, each with a
    /// fresh nonce and a random counter, under the base key.
    #[test]
    fn hellos_repeat_with_fresh_nonces() {
        let mut c = client(Role::Viewer, "web");
        assert_eq!(c.state(), ClientState::Connecting);
        let first = c.poll_transmit(0).unwrap();
        assert_eq!(c.poll_transmit(499), None);
        assert_eq!(c.poll_at(), Some(500));
        let second = c.poll_transmit(500).unwrap();
        let key = Key::base(KEY, Direction::ClientToHost);
        let [a, b] = [&first, &second].map(|d| {
            let header = Header::parse(d, Direction::ClientToHost).unwrap();
            assert_eq!((header.kind, header.session), (Kind::Hello, 0));
            (
                header.counter,
                Hello::decode(&wire::open(&key, d).unwrap()).unwrap(),
            )
        });
        assert_ne!(a.0, b.0);
        assert_ne!(a.1.client_nonce, b.1.client_nonce);
        assert_eq!(a.1.attempt, b.1.attempt);
        assert_eq!(a.1.partition, "web");
        assert_eq!((a.1.previous, a.1.boot, a.1.resume), (0, [0; 8], 0));
        assert_eq!(c.stats().hellos_sent, 2);
    }

    /// Only a writer types; a client without a partition is refused at once; requests
    /// made while detached are answered at once.
    #[test]
    fn local_refusals() {
        let mut viewer = client(Role::Viewer, "web");
        assert_eq!(viewer.write(b"x"), 0);
        let mut writer = client(Role::Writer, "web");
        assert_eq!(writer.write(b"typed while connecting"), 22);
        let mut nameless = client(Role::Writer, "");
        assert_eq!(nameless.state(), ClientState::Detached);
        assert_eq!(
            nameless.poll_event(),
            Some(ClientEvent::Refused(String::from("no partition named")))
        );
        assert_eq!(nameless.poll_event(), Some(ClientEvent::Detached));
        assert_eq!(nameless.poll_transmit(0), None);
        let id = nameless.request(ClientRequest::List);
        assert_eq!(
            nameless.poll_event(),
            Some(ClientEvent::Reply {
                id,
                reply: Reply::Error(String::from("detached"))
            })
        );
        assert_eq!(nameless.write(b"x"), 0);
    }

    /// Detaching while connecting sends nothing and ends at once.
    #[test]
    fn detach_while_connecting() {
        let mut c = client(Role::Control, "");
        c.poll_transmit(0).unwrap();
        c.detach();
        assert_eq!(c.state(), ClientState::Detached);
        assert_eq!(c.poll_transmit(1), None);
        assert_eq!(c.poll_event(), Some(ClientEvent::Detached));
        c.detach();
        assert_eq!(c.poll_event(), None);
    }

    /// Too many requests waiting: the next is answered with an error at once.
    #[test]
    fn request_queue_is_bounded() {
        let mut c = client(Role::Control, "");
        for _ in 0..MAX_REQUESTS {
            c.request(ClientRequest::List);
        }
        assert_eq!(c.poll_event(), None);
        let id = c.request(ClientRequest::Halt(String::from("web")));
        assert_eq!(
            c.poll_event(),
            Some(ClientEvent::Reply {
                id,
                reply: Reply::Error(String::from("too many requests waiting"))
            })
        );
    }
}
