//! The console service's side of the protocol: handshakes, sessions per partition,
//! output history, keystrokes, management requests and crash reports.
//!
//! [`Server`] is a pure state machine like the rest of the crate. Its caller (the
//! service core) feeds it datagrams ([`Server::receive`]), partition output
//! ([`Server::output`], [`Server::output_lost`]) and crashes ([`Server::crashed`]),
//! and after each of those calls [`Server::poll_transmit`] until it returns `None`;
//! [`Server::poll_at`] says when to call it again if nothing happens. Keystrokes come
//! out through [`Server::take_input`], management requests through
//! [`Server::poll_request`] (answered with [`Server::respond`]), and log lines through
//! [`Server::poll_notice`].

mod hello;
mod notice;
mod partition;
mod session;

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Debug;

pub use notice::{Notice, Refusal};

use crate::handshake::Role;
use crate::manage::{
    CONSOLE_TAIL, CrashReport, PAYLOAD_BUDGET, Reply, ReplyBody, Request, RequestToken, Verb,
};
use crate::message::Message;
use crate::random::Random;
use crate::stream::{SegmentRef, SenderStats, StreamConfig};
use crate::wire::{Direction, Header, Key, NONCE_LEN, Reject, RejectCounts};
use partition::Partition;
use session::{QueuedEvent, RequestSlot, Retired, Session};

/// Client nonces remembered to refuse replayed Hellos.
const REMEMBERED_NONCES: usize = 256;
/// Retired sessions kept for their clients' reconnects.
const RETIRED_SESSIONS: usize = 32;
/// Notices kept until [`Server::poll_notice`] takes them; past that the oldest go.
const MAX_NOTICES: usize = 64;
/// Handshake answers and `Close`s waiting for [`Server::poll_transmit`].
const MAX_OUTBOX: usize = 64;

/// Tunables of the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// Sessions at once, pending handshakes included.
    pub max_sessions: usize,
    /// A session with no authentic datagram for this long is dropped.
    pub session_timeout_ms: u64,
    /// A Welcome not followed by the client's first session datagram for this long is
    /// forgotten.
    pub handshake_timeout_ms: u64,
    /// Output kept per partition. Late and returning clients get it, and it is how far
    /// a client may fall behind the newest output before it gets a gap: sessions read
    /// their output from here. At least `stream.window_bytes` is kept.
    pub history_bytes: usize,
    /// Each session's output stream. Sessions hold only the window's worth in flight
    /// (the history is their buffer), so `buffer_bytes` does not apply to them.
    pub stream: StreamConfig,
    /// Keystrokes held per partition until [`Server::take_input`] takes them; past
    /// that the writer's stream stops acknowledging and the client retransmits.
    pub input_bytes: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_sessions: 16,
            session_timeout_ms: 30_000,
            handshake_timeout_ms: 10_000,
            history_bytes: 64 * 1024,
            stream: StreamConfig::default(),
            input_bytes: 16 * 1024,
        }
    }
}

/// Counters the service keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Datagrams dropped, per reason; [`Reject::UnknownSession`] counts datagrams for
    /// sessions that do not exist (ended, timed out, or never).
    pub rejected: RejectCounts,
    /// Sessions now, pending ones included.
    pub sessions: usize,
    /// Of those, welcomed sessions waiting for the client's first datagram.
    pub sessions_pending: usize,
    /// Hellos that created a session.
    pub hellos_accepted: u64,
    /// Hello retries answered with their session's Welcome again.
    pub hellos_repeated: u64,
    /// Hellos refused.
    pub hellos_refused: u64,
    /// Pending sessions forgotten because the client never followed up.
    pub handshakes_abandoned: u64,
    /// Sessions dropped for silence.
    pub sessions_timed_out: u64,
    /// Sessions ended by their client's Detach.
    pub sessions_detached: u64,
    /// Writer sessions ended by another writer's takeover.
    pub sessions_taken_over: u64,
    /// Sessions ended by their own client's reconnect.
    pub sessions_replaced: u64,
    /// Authentic datagrams received.
    pub datagrams_received: u64,
    /// Datagrams handed out by [`Server::poll_transmit`].
    pub datagrams_sent: u64,
    /// Output streams of all sessions, ended ones included; `bytes_skipped` counts
    /// the positions clients got as gaps.
    pub output: SenderStats,
    /// Authentic datagrams whose acknowledgement covered output never sent.
    pub bogus_acks: u64,
    /// Requests handed to the caller.
    pub requests: u64,
    /// Crashes reported.
    pub crashes: u64,
    /// Crash report datagrams sent for the first time, and again.
    pub events_sent: u64,
    /// Crash report retransmissions.
    pub events_resent: u64,
    /// Crash reports dropped from a full queue.
    pub events_dropped: u64,
    /// Notices dropped because nobody took them.
    pub notices_dropped: u64,
}

/// The console service's protocol state, generic over the peer address type.
pub struct Server<P> {
    console_key: Vec<u8>,
    /// The base keys: clients' Hellos, and the service's answers.
    hello_key: Key,
    answer_key: Key,
    config: ServerConfig,
    random: Random,
    boot: [u8; 8],
    partitions: Vec<Partition>,
    sessions: Vec<Session<P>>,
    /// Client nonces of recent Hellos, oldest first.
    nonces: VecDeque<[u8; NONCE_LEN]>,
    outbox: VecDeque<(P, Vec<u8>)>,
    requests: VecDeque<(RequestToken, Request)>,
    notices: VecDeque<Notice<P>>,
    retired: VecDeque<Retired>,
    /// Id of the last crash reported; one crash has this id in every session.
    last_event: u32,
    /// Where [`Self::poll_transmit`] starts looking, so sessions take turns.
    rotate: usize,
    counters: ServerStats,
}

impl<P> Debug for Server<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Server")
            .field("partitions", &self.partitions.len())
            .field("sessions", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

impl<P: Copy + Eq + Debug> Server<P> {
    /// A service for `partitions` (their names, in index order) under the deployment's
    /// console key. `seed` should hold whatever entropy the caller has; see
    /// `docs/netconsole.md`, "Randomness", for what depends on it.
    pub fn new(
        console_key: &[u8],
        partitions: Vec<String>,
        seed: [u8; 32],
        config: ServerConfig,
    ) -> Self {
        let mut random = Random::new(&seed);
        let mut boot: [u8; 8] = random.array(b"boot id", &[]);
        // All zeros means "no boot" in a Hello.
        if boot == [0; 8] {
            boot[0] = 1;
        }
        Self {
            console_key: console_key.to_vec(),
            hello_key: Key::base(console_key, Direction::ClientToHost),
            answer_key: Key::base(console_key, Direction::HostToClient),
            random,
            boot,
            partitions: partitions
                .into_iter()
                .map(|name| {
                    let history = config.history_bytes.max(config.stream.window_bytes);
                    Partition::new(name, history, config.input_bytes)
                })
                .collect(),
            sessions: Vec::new(),
            nonces: VecDeque::new(),
            outbox: VecDeque::new(),
            requests: VecDeque::new(),
            notices: VecDeque::new(),
            retired: VecDeque::new(),
            last_event: 0,
            rotate: 0,
            counters: ServerStats::default(),
            config,
        }
    }

    /// This run's boot id, which Welcomes carry.
    pub fn boot_id(&self) -> [u8; 8] {
        self.boot
    }

    /// One received datagram. A rejected one is counted (per reason, unknown sessions
    /// included) and changes nothing else; nothing that fails authentication is ever
    /// answered. An authentic datagram from a new address moves its session there
    /// (client roaming, NAT rebinding).
    pub fn receive(&mut self, from: P, datagram: &[u8], now: u64) -> Result<(), Reject> {
        let result = self.try_receive(from, datagram, now);
        if let Err(reason) = result {
            self.counters.rejected.bump(reason);
        }
        result
    }

    fn try_receive(&mut self, from: P, datagram: &[u8], now: u64) -> Result<(), Reject> {
        let header = Header::parse(datagram, Direction::ClientToHost)?;
        if header.kind.is_handshake() {
            return self.hello(from, datagram, now);
        }
        let index = self
            .index_of(header.session)
            .ok_or(Reject::UnknownSession)?;
        let session = &mut self.sessions[index];
        let role = session.role;
        let message = session.channel.open(&header, datagram, |message| {
            // Only a writer's keystrokes are a stream.
            role == Role::Writer || !matches!(message, Message::Data { .. } | Message::Gap { .. })
        })?;
        self.counters.datagrams_received += 1;
        session.peer = from;
        session.last_heard = now;
        let id = session.id;
        if session.pending.is_some() {
            if let Message::Request {
                verb: Verb::Detach, ..
            } = message
            {
                // Leaving before it began: the session has no effect on anyone.
                self.counters.handshakes_abandoned += 1;
                self.remove(index);
                return Ok(());
            }
            if !self.confirm(id) {
                return Ok(());
            }
        }
        self.handle(id, message, now);
        Ok(())
    }

    fn handle(&mut self, id: u32, message: Message, now: u64) {
        let Some(index) = self.index_of(id) else {
            return;
        };
        let session = &mut self.sessions[index];
        if !session.output.on_ack(message.ack(), now) {
            session.bogus_acks += 1;
        }
        match message {
            Message::Ping { .. } => session.ack_due = true,
            Message::Data { seq, data, .. } => {
                session.ack_due = true;
                if let Some(input) = self.writer_input(index) {
                    input.receiver.on_segment(seq, SegmentRef::Data(&data));
                }
            }
            Message::Gap { seq, skipped, .. } => {
                session.ack_due = true;
                if let Some(input) = self.writer_input(index) {
                    input.receiver.on_segment(seq, SegmentRef::Gap(skipped));
                }
            }
            Message::Request { id, verb, .. } => self.request(index, id, verb),
            Message::EventAck { id, .. } => session.event_acked(id),
            // The header check lets clients send nothing else.
            Message::Ack { .. }
            | Message::Reply { .. }
            | Message::Event { .. }
            | Message::Close { .. } => {}
        }
    }

    /// The keystroke stream session `index` feeds, if it is its partition's writer.
    fn writer_input(&mut self, index: usize) -> Option<&mut partition::Input> {
        let session = &self.sessions[index];
        let partition = self.partitions.get_mut(session.partition?)?;
        (partition.input.owner == session.id).then_some(&mut partition.input)
    }

    fn input_ack(&self, index: usize) -> u64 {
        let session = &self.sessions[index];
        session
            .partition
            .and_then(|p| self.partitions.get(p))
            .filter(|p| p.input.owner == session.id)
            .map_or(0, |p| p.input.receiver.ack())
    }

    /// A request: answered from the slot if it is a retransmission, refused here if
    /// the role may not make it or it names no partition, else queued for the caller.
    fn request(&mut self, index: usize, id: u32, verb: Verb) {
        if verb == Verb::Detach {
            self.counters.sessions_detached += 1;
            let session = self.remove(index);
            self.notify(Notice::Detached {
                session: session.id,
                partition: session.partition,
                peer: session.peer,
            });
            return;
        }
        let session = &mut self.sessions[index];
        // The client hears from the service even while the caller works on it.
        session.ack_due = true;
        if let Some(slot) = &session.request {
            if slot.token.id == id {
                session.reply_due = slot.reply.is_some();
                return;
            }
            if id < slot.token.id {
                return;
            }
            // A newer request supersedes one the caller has not answered.
            let stale = slot.token;
            self.requests.retain(|(token, _)| *token != stale);
        }
        let token = RequestToken {
            session: session.id,
            id,
        };
        let outcome = match &verb {
            Verb::List { .. } => Ok(Request::List),
            Verb::Restart(name) => self
                .authorize(index, name)
                .map(|partition| Request::Restart { partition }),
            Verb::Halt(name) => self
                .authorize(index, name)
                .map(|partition| Request::Halt { partition }),
            Verb::Detach => return,
        };
        let session = &mut self.sessions[index];
        let reply = match outcome {
            Ok(request) => {
                self.counters.requests += 1;
                self.requests.push_back((token, request));
                None
            }
            Err(text) => {
                session.reply_due = true;
                Some(ReplyBody::Error(text))
            }
        };
        session.request = Some(RequestSlot { token, verb, reply });
    }

    /// Whether session `index` may restart or halt partition `name`: Control may any,
    /// a writer only its own, a viewer none.
    fn authorize(&self, index: usize, name: &str) -> Result<usize, String> {
        let session = &self.sessions[index];
        if session.role == Role::Viewer {
            return Err(String::from(
                "restart and halt need a writer or control session",
            ));
        }
        let Some(partition) = self.partitions.iter().position(|p| p.name == name) else {
            return Err(alloc::format!("unknown partition `{name}`"));
        };
        if session.role == Role::Writer && session.partition != Some(partition) {
            return Err(String::from(
                "a writer session may only restart or halt its own partition",
            ));
        }
        Ok(partition)
    }

    /// The next datagram to send and to whom; call until `None`.
    pub fn poll_transmit(&mut self, now: u64) -> Option<(P, Vec<u8>)> {
        self.expire(now);
        if let Some(out) = self.outbox.pop_front() {
            self.counters.datagrams_sent += 1;
            return Some(out);
        }
        let count = self.sessions.len();
        for k in 0..count {
            let index = (self.rotate + k) % count;
            let input_ack = self.input_ack(index);
            let session = &mut self.sessions[index];
            let history = session
                .partition
                .and_then(|p| self.partitions.get(p))
                .map(|p| &p.history);
            if let Some(datagram) = session.next_datagram(input_ack, now, history) {
                self.rotate = index + 1;
                self.counters.datagrams_sent += 1;
                return Some((session.peer, datagram));
            }
        }
        None
    }

    /// When [`Self::poll_transmit`] must be called again with no input: a
    /// retransmission, a crash report resend or a timeout. Work that is due at once
    /// (after `receive`, `output`, `crashed`, `respond`) is not included: call
    /// `poll_transmit` until `None` after each of those.
    pub fn poll_at(&self) -> Option<u64> {
        self.sessions
            .iter()
            .filter_map(|s| s.deadline(self.config.session_timeout_ms))
            .min()
    }

    /// Drops sessions whose client fell silent and handshakes never followed up.
    fn expire(&mut self, now: u64) {
        let mut index = 0;
        while index < self.sessions.len() {
            let session = &self.sessions[index];
            match &session.pending {
                Some(pending) if now >= pending.expires => {
                    self.counters.handshakes_abandoned += 1;
                    self.remove(index);
                }
                None if now
                    >= session
                        .last_heard
                        .saturating_add(self.config.session_timeout_ms) =>
                {
                    self.counters.sessions_timed_out += 1;
                    let session = self.remove(index);
                    self.notify(Notice::TimedOut {
                        session: session.id,
                        partition: session.partition,
                        peer: session.peer,
                    });
                    self.retire(session);
                }
                _ => index += 1,
            }
        }
    }

    /// Partition `partition` produced console output. It goes into the partition's
    /// history (absolute positions from 0 since boot), from which every attached
    /// session reads as its client acknowledges.
    pub fn output(&mut self, partition: usize, bytes: &[u8]) {
        if let Some(p) = self.partitions.get_mut(partition) {
            p.history.push(bytes);
        }
    }

    /// `count` bytes of the partition's output were lost before reaching the service:
    /// positions move on, and attached sessions get a gap of exactly `count` there.
    pub fn output_lost(&mut self, partition: usize, count: u64) {
        if let Some(p) = self.partitions.get_mut(partition) {
            p.history.lose(count);
        }
    }

    /// Hands the partition's keystrokes to `sink` in order. `sink` returns false when
    /// it has no room; that byte and the rest stay for the next call. Keystrokes are
    /// never dropped: when the partition holds `input_bytes` of them the writer's
    /// stream stops acknowledging and the client retransmits.
    pub fn take_input(&mut self, partition: usize, sink: impl FnMut(u8) -> bool) {
        if let Some(p) = self.partitions.get_mut(partition) {
            p.input.take(sink);
        }
    }

    /// The next request for the caller to carry out (List too: the caller builds the
    /// status). Requests the service can answer itself (an unknown partition, a role
    /// that may not) never come out here.
    pub fn poll_request(&mut self) -> Option<(RequestToken, Request)> {
        self.requests.pop_front()
    }

    /// The answer to a request from [`Self::poll_request`]. It is kept, so a
    /// retransmitted request is answered again rather than carried out twice; an
    /// answer for a session that is gone is kept for its client's reconnect, or
    /// dropped.
    pub fn respond(&mut self, token: RequestToken, reply: Reply) {
        let fill = |slot: &mut Option<RequestSlot>| match slot {
            Some(slot) if slot.token == token && slot.reply.is_none() => {
                let from = match slot.verb {
                    Verb::List { from } => from,
                    _ => 0,
                };
                slot.reply = Some(ReplyBody::fit(&reply, from));
                true
            }
            _ => false,
        };
        for session in &mut self.sessions {
            if fill(&mut session.request) {
                session.reply_due = true;
                return;
            }
        }
        for retired in &mut self.retired {
            if fill(&mut retired.request) {
                return;
            }
        }
    }

    /// The partition crashed: every session attached to it, and every Control session,
    /// gets the report with the partition's last console bytes as its tail (the
    /// caller's tail is replaced), resent until acknowledged.
    pub fn crashed(&mut self, partition: usize, report: CrashReport) {
        let Some(p) = self.partitions.get(partition) else {
            return;
        };
        let report = CrashReport {
            console_tail: p.history.tail(CONSOLE_TAIL),
            ..report
        }
        .fitted(PAYLOAD_BUDGET);
        self.counters.crashes += 1;
        self.last_event = self.last_event.wrapping_add(1).max(1);
        let event = QueuedEvent {
            id: self.last_event,
            report,
        };
        for session in &mut self.sessions {
            if session.follows(partition) {
                session.queue_event(event.clone());
            }
        }
        for retired in &mut self.retired {
            session::retired_event(retired, partition, event.clone());
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> ServerStats {
        let mut stats = self.counters;
        stats.sessions = self.sessions.len();
        for session in &self.sessions {
            add_session_stats(&mut stats, session);
            if session.pending.is_some() {
                stats.sessions_pending += 1;
            }
        }
        stats
    }

    /// The most output any session of `partition` has not had acknowledged, so tests
    /// can pace a producer to stay within the history.
    #[cfg(test)]
    pub(crate) fn output_backlog(&self, partition: usize) -> usize {
        let end = self.partitions[partition].history.end();
        self.sessions
            .iter()
            .filter(|s| s.partition == Some(partition))
            .map(|s| (end - s.output.unacknowledged_start()) as usize)
            .max()
            .unwrap_or(0)
    }

    /// The next notice for the log.
    pub fn poll_notice(&mut self) -> Option<Notice<P>> {
        self.notices.pop_front()
    }

    fn notify(&mut self, notice: Notice<P>) {
        if self.notices.len() >= MAX_NOTICES {
            self.notices.pop_front();
            self.counters.notices_dropped += 1;
        }
        self.notices.push_back(notice);
    }

    fn index_of(&self, id: u32) -> Option<usize> {
        self.sessions.iter().position(|s| s.id == id)
    }

    /// Takes a session out, freeing its writer role and keeping its counters.
    fn remove(&mut self, index: usize) -> Session<P> {
        let session = self.sessions.remove(index);
        if let Some(p) = session.partition.and_then(|p| self.partitions.get_mut(p))
            && p.writer == Some(session.id)
        {
            p.writer = None;
        }
        add_session_stats(&mut self.counters, &session);
        session
    }

    /// Keeps what a dropped session's client needs if it comes back.
    fn retire(&mut self, session: Session<P>) {
        self.push_retired(session.retire());
    }

    fn push_retired(&mut self, retired: Retired) {
        if self.retired.len() >= RETIRED_SESSIONS {
            self.retired.pop_front();
        }
        self.retired.push_back(retired);
    }

    /// The session a client that names `previous` continues: `previous` itself, or
    /// the session that already continued it (the client never heard from that one).
    fn resolve(&self, mut previous: u32) -> u32 {
        for _ in 0..RETIRED_SESSIONS {
            let successor = self
                .retired
                .iter()
                .find(|r| r.session == previous)
                .and_then(|r| r.successor);
            match successor {
                Some(next) => previous = next,
                None => break,
            }
        }
        previous
    }

    /// The client's first session datagram arrived: the session begins. It takes over
    /// the session it continues (ending it, and inheriting its request, crash reports
    /// and keystroke stream) and, for a writer, the partition's writer role, ending
    /// the current writer if it took over. Returns false if the session had to end at
    /// once (another writer won the race for the partition).
    fn confirm(&mut self, id: u32) -> bool {
        let Some(index) = self.index_of(id) else {
            return false;
        };
        let Some(pending) = self.sessions[index].pending.take() else {
            return true;
        };
        let previous = self.resolve(pending.previous);
        if previous != 0 && previous != id {
            let inherited = if let Some(old) = self.index_of(previous) {
                self.counters.sessions_replaced += 1;
                let old = self.remove(old);
                self.notify(Notice::Replaced {
                    session: old.id,
                    partition: old.partition,
                    by: id,
                });
                Some(old.retire())
            } else {
                let at = self.retired.iter().position(|r| r.session == previous);
                at.and_then(|at| self.retired.remove(at))
            };
            if let (Some(mut retired), Some(index)) = (inherited, self.index_of(id)) {
                self.sessions[index].inherit(&mut retired);
                self.push_retired(retired);
            }
        }
        let Some(index) = self.index_of(id) else {
            return false;
        };
        let session = &self.sessions[index];
        let (role, peer, partition) = (session.role, session.peer, session.partition);
        if let (Role::Writer, Some(p)) = (role, partition) {
            match self.partitions[p].writer {
                Some(holder) if holder != id && pending.takeover => self.take_over(holder, id),
                Some(holder) if holder != id => {
                    self.refuse_late_writer(index, p);
                    return false;
                }
                _ => {}
            }
            let partition = &mut self.partitions[p];
            partition.writer = Some(id);
            if previous != 0 && partition.input.owner == previous {
                partition.input.owner = id;
            } else {
                partition.input.restart(id, pending.input);
            }
        }
        self.notify(Notice::Attached {
            session: id,
            partition,
            role,
            peer,
            start: pending.welcome.start,
            resumed: pending.resumed,
        });
        true
    }

    /// Ends writer session `holder`, telling its client, because `by` took over.
    fn take_over(&mut self, holder: u32, by: u32) {
        let Some(index) = self.index_of(holder) else {
            return;
        };
        let input_ack = self.input_ack(index);
        let mut old = self.remove(index);
        self.counters.sessions_taken_over += 1;
        for datagram in old.close_datagrams("another writer took over", input_ack) {
            self.send(old.peer, datagram);
        }
        if let Some(partition) = old.partition {
            self.notify(Notice::TakenOver {
                session: holder,
                partition,
                peer: old.peer,
                by,
            });
        }
    }

    /// Ends a writer session that lost the race for its partition to another writer.
    fn refuse_late_writer(&mut self, index: usize, partition: usize) {
        let mut session = self.remove(index);
        self.counters.hellos_refused += 1;
        let reason = Refusal::WriterBusy;
        for datagram in session.close_datagrams(&alloc::format!("{reason}"), 0) {
            self.send(session.peer, datagram);
        }
        let name = self.partitions[partition].name.clone();
        self.notify(Notice::Refused {
            peer: session.peer,
            partition: name,
            role: Role::Writer,
            reason,
        });
    }

    fn send(&mut self, to: P, datagram: Vec<u8>) {
        if self.outbox.len() >= MAX_OUTBOX {
            self.outbox.pop_front();
        }
        self.outbox.push_back((to, datagram));
    }
}

fn add_session_stats<P>(stats: &mut ServerStats, session: &Session<P>) {
    let output = session.output.stats();
    let add = |total: &mut u64, more: u64| *total = total.saturating_add(more);
    add(&mut stats.output.segments_sent, output.segments_sent);
    add(&mut stats.output.retransmissions, output.retransmissions);
    add(&mut stats.output.timeouts, output.timeouts);
    add(&mut stats.output.bytes_skipped, output.bytes_skipped);
    add(&mut stats.bogus_acks, session.bogus_acks);
    add(&mut stats.events_sent, session.events_sent);
    add(&mut stats.events_resent, session.events_resent);
    add(&mut stats.events_dropped, session.events_dropped);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> Server<u8> {
        Server::new(
            b"key",
            alloc::vec![String::from("web")],
            [3; 32],
            ServerConfig::default(),
        )
    }

    /// Calls naming partitions or requests that do not exist change nothing and do not
    /// panic: the caller's bugs must not take the service down.
    #[test]
    fn bad_indices_and_tokens_are_ignored() {
        let mut s = server();
        s.output(7, b"x");
        s.output_lost(7, 5);
        s.crashed(7, CrashReport::default());
        s.take_input(7, |_| true);
        s.respond(
            RequestToken { session: 1, id: 1 },
            Reply::Done(String::new()),
        );
        assert_eq!(s.poll_transmit(0), None);
        assert_eq!(s.poll_at(), None);
        assert_eq!(s.poll_request(), None);
        assert_eq!(s.poll_notice(), None);
        assert_eq!(s.stats().crashes, 0);
    }

    /// The boot id is never all zeros (a Hello's "no boot") and differs per seed.
    #[test]
    fn boot_id() {
        let other = Server::<u8>::new(b"key", Vec::new(), [4; 32], ServerConfig::default());
        assert_ne!(server().boot_id(), [0; 8]);
        assert_ne!(server().boot_id(), other.boot_id());
        assert_eq!(server().boot_id(), server().boot_id());
    }

    /// Notices read as log lines.
    #[test]
    fn notices_display() {
        let notice: Notice<u8> = Notice::Refused {
            peer: 9,
            partition: String::from("web"),
            role: Role::Writer,
            reason: Refusal::WriterBusy,
        };
        assert_eq!(
            alloc::format!("{notice}"),
            "refused Writer for partition `web` from 9: partition already has a writer"
        );
        let notice: Notice<u8> = Notice::Attached {
            session: 0xab,
            partition: None,
            role: Role::Control,
            peer: 1,
            start: 0,
            resumed: false,
        };
        assert_eq!(
            alloc::format!("{notice}"),
            "session 000000ab attached to control as Control from 1, from output position 0"
        );
    }
}
