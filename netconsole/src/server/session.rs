//! One client session on the service's side: its channel, its output stream, its
//! request slot and its queue of crash reports.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

use crate::channel::Channel;
use crate::handshake::{Role, Welcome};
use crate::history::{Chunk, History};
use crate::manage::{CrashReport, ReplyBody, RequestToken, Verb};
use crate::message::Message;
use crate::stream::{Sender, StreamConfig};
use crate::wire::MAX_DATA;

/// Crash reports a session holds unacknowledged at most; past that the oldest goes.
pub(super) const MAX_EVENTS: usize = 8;
/// Copies of a `Close` sent to a writer that was taken over (best effort: it is not
/// retransmitted, and a client that misses every copy times out and is refused).
const CLOSE_COPIES: usize = 3;

/// A session between the Welcome and the client's first session datagram. Until then
/// it sends nothing but Welcomes (so a replayed Hello cannot make the service stream
/// output to a forged address) and has no effect on other sessions.
pub(super) struct Pending {
    pub(super) welcome: Welcome,
    /// The session this one continues (0: none; only within this boot).
    pub(super) previous: u32,
    pub(super) takeover: bool,
    /// Where the client's keystroke stream continues.
    pub(super) input: u64,
    pub(super) resumed: bool,
    pub(super) expires: u64,
}

/// The last request a session made, kept so a retransmission is answered, not redone.
#[derive(Clone, Debug)]
pub(super) struct RequestSlot {
    pub(super) token: RequestToken,
    pub(super) verb: Verb,
    /// `None` while the service's caller works on it.
    pub(super) reply: Option<ReplyBody>,
}

#[derive(Clone, Debug)]
pub(super) struct QueuedEvent {
    pub(super) id: u32,
    pub(super) report: CrashReport,
}

/// What a session leaves behind for its client's reconnect (see `Server::confirm`).
pub(super) struct Retired {
    pub(super) session: u32,
    /// The session that continued this one: a client that names this one as its
    /// previous (it never heard from the successor) continues the successor.
    pub(super) successor: Option<u32>,
    pub(super) partition: Option<usize>,
    pub(super) role: Role,
    pub(super) request: Option<RequestSlot>,
    pub(super) events: VecDeque<QueuedEvent>,
}

pub(super) struct Session<P> {
    pub(super) id: u32,
    pub(super) peer: P,
    pub(super) role: Role,
    pub(super) partition: Option<usize>,
    /// The Hello's attempt id: its retries get this session's Welcome again.
    pub(super) attempt: u64,
    pub(super) channel: Channel,
    pub(super) pending: Option<Pending>,
    /// The output stream. It holds only what is in flight: the session reads the
    /// partition's history at `cursor` as its window opens, so a session costs no
    /// more than its window however far behind its client is, and a client that
    /// falls behind the history gets a gap of exactly what it missed.
    pub(super) output: Sender,
    /// The next output position to read from the history.
    pub(super) cursor: u64,
    pub(super) last_heard: u64,
    /// An acknowledgement is owed (keystrokes, a ping or a request arrived).
    pub(super) ack_due: bool,
    pub(super) request: Option<RequestSlot>,
    pub(super) reply_due: bool,
    pub(super) events: VecDeque<QueuedEvent>,
    /// When the head event is sent again; `None` while it was not sent yet.
    event_deadline: Option<u64>,
    event_rto: u64,
    stream: StreamConfig,
    pub(super) bogus_acks: u64,
    pub(super) events_sent: u64,
    pub(super) events_resent: u64,
    pub(super) events_dropped: u64,
}

impl<P> Session<P> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        id: u32,
        peer: P,
        role: Role,
        partition: Option<usize>,
        attempt: u64,
        channel: Channel,
        pending: Pending,
        stream: StreamConfig,
        now: u64,
    ) -> Self {
        let start = pending.welcome.start;
        Self {
            id,
            peer,
            role,
            partition,
            attempt,
            channel,
            pending: Some(pending),
            output: Sender::starting_at(stream, start),
            cursor: start,
            last_heard: now,
            ack_due: false,
            request: None,
            reply_due: false,
            events: VecDeque::new(),
            event_deadline: None,
            event_rto: stream.initial_rto_ms,
            stream,
            bogus_acks: 0,
            events_sent: 0,
            events_resent: 0,
            events_dropped: 0,
        }
    }

    /// Whether a crash of `partition` concerns this session.
    pub(super) fn follows(&self, partition: usize) -> bool {
        self.role == Role::Control || self.partition == Some(partition)
    }

    pub(super) fn queue_event(&mut self, event: QueuedEvent) {
        let head = self.events.front().map(|e| e.id);
        queue_event(&mut self.events, event, &mut self.events_dropped);
        if self.events.front().map(|e| e.id) != head {
            // A new head (the queue was empty, or full and the head went) goes out now.
            self.event_deadline = None;
            self.event_rto = self.stream.initial_rto_ms;
        }
    }

    /// Takes over a retired session's request and crash reports, and leaves it a
    /// pointer here.
    pub(super) fn inherit(&mut self, retired: &mut Retired) {
        retired.successor = Some(self.id);
        if self.request.is_none() {
            self.request = retired.request.take();
        }
        let mut merged: Vec<QueuedEvent> = retired.events.drain(..).collect();
        merged.extend(self.events.drain(..));
        // One crash has one id in every session, so a report both sessions hold is
        // sent once.
        merged.sort_by_key(|e| e.id);
        merged.dedup_by_key(|e| e.id);
        for event in merged {
            queue_event(&mut self.events, event, &mut self.events_dropped);
        }
        self.event_deadline = None;
        self.event_rto = self.stream.initial_rto_ms;
    }

    pub(super) fn retire(self) -> Retired {
        Retired {
            session: self.id,
            successor: None,
            partition: self.partition,
            role: self.role,
            request: self.request,
            events: self.events,
        }
    }

    pub(super) fn event_acked(&mut self, id: u32) {
        if self.events.front().is_some_and(|e| e.id == id) {
            self.events.pop_front();
            self.event_deadline = None;
            self.event_rto = self.stream.initial_rto_ms;
        }
    }

    /// The next datagram for this session's client, carrying `input_ack`, with
    /// output read from `history` (the partition's; none for Control).
    pub(super) fn next_datagram(
        &mut self,
        input_ack: u64,
        now: u64,
        history: Option<&History>,
    ) -> Option<Vec<u8>> {
        if self.pending.is_some() {
            return None;
        }
        let message = self.next_message(input_ack, now, history)?;
        self.ack_due = false;
        self.channel.seal(&message)
    }

    /// Reads the next segment from the history once everything read so far is sent:
    /// as many bytes as there are, up to a full datagram, or one gap.
    fn read_output(&mut self, history: &History) {
        if !self.output.all_sent() {
            return;
        }
        let mut room = MAX_DATA;
        while room > 0 {
            match history.read(self.cursor, room) {
                Some(Chunk::Bytes(bytes)) => {
                    let taken = self.output.offer(bytes);
                    self.cursor += taken as u64;
                    room -= taken;
                    if taken < bytes.len() {
                        break;
                    }
                }
                Some(Chunk::Gap(count)) if room == MAX_DATA => {
                    self.output.skip(count);
                    self.cursor += count;
                    break;
                }
                Some(Chunk::Gap(_)) | None => break,
            }
        }
    }

    fn next_message(&mut self, ack: u64, now: u64, history: Option<&History>) -> Option<Message> {
        if self.reply_due {
            self.reply_due = false;
            if let Some(RequestSlot {
                token,
                reply: Some(reply),
                ..
            }) = &self.request
            {
                return Some(Message::Reply {
                    ack,
                    id: token.id,
                    reply: reply.clone(),
                });
            }
        }
        if let Some(event) = self.events.front() {
            let due = self.event_deadline.is_none_or(|deadline| now >= deadline);
            if due {
                if self.event_deadline.is_some() {
                    self.events_resent += 1;
                    self.event_rto = (self.event_rto * 2).min(self.stream.max_rto_ms);
                } else {
                    self.events_sent += 1;
                }
                self.event_deadline = Some(now.saturating_add(self.event_rto));
                return Some(Message::Event {
                    ack,
                    id: event.id,
                    report: event.report.clone(),
                });
            }
        }
        self.output.on_tick(now);
        if let Some(history) = history {
            self.read_output(history);
        }
        if let Some(message) = self.output.next_message(ack, now) {
            return Some(message);
        }
        self.ack_due.then_some(Message::Ack { ack })
    }

    /// The `Close` datagrams that tell the client its session ended.
    pub(super) fn close_datagrams(&mut self, reason: &str, input_ack: u64) -> Vec<Vec<u8>> {
        let message = Message::Close {
            ack: input_ack,
            reason: String::from(reason),
        };
        (0..CLOSE_COPIES)
            .filter_map(|_| self.channel.seal(&message))
            .collect()
    }

    /// When this session next needs [`Self::next_datagram`] with no input, or expires.
    pub(super) fn deadline(&self, timeout_ms: u64) -> Option<u64> {
        if let Some(pending) = &self.pending {
            return Some(pending.expires);
        }
        [
            Some(self.last_heard.saturating_add(timeout_ms)),
            self.output.deadline(),
            self.event_deadline,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

fn queue_event(events: &mut VecDeque<QueuedEvent>, event: QueuedEvent, dropped: &mut u64) {
    if events.len() >= MAX_EVENTS {
        events.pop_front();
        *dropped += 1;
    }
    events.push_back(event);
}

/// Records a crash in a retired session too, so its client gets it on reconnecting.
pub(super) fn retired_event(retired: &mut Retired, partition: usize, event: QueuedEvent) {
    if retired.role == Role::Control || retired.partition == Some(partition) {
        let mut dropped = 0;
        queue_event(&mut retired.events, event, &mut dropped);
    }
}
