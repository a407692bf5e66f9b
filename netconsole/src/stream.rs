//! One direction of the reliable console byte stream.
//!
//! Stream positions count every byte the producer offered, including bytes it offered
//! while the sender's buffer was full: those are dropped, and the run of them becomes a
//! gap record that occupies its length of stream positions but travels as one small
//! `Gap` datagram. The receiver therefore sees, in order and exactly once, either the
//! bytes or the exact count of bytes that were skipped, and cumulative
//! acknowledgements work the same way for both.
//!
//! Retransmission is go-back-N: when the oldest unacknowledged segment has waited a
//! retransmission timeout, everything unacknowledged is sent again and the timeout
//! doubles (up to a limit) until an acknowledgement makes progress. The receiver holds
//! segments that arrive ahead of a hole (up to its limit) so that reordering alone
//! costs no retransmission.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;

use crate::wire::{MAX_DATA, Message};

/// Tunables of one stream direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamConfig {
    /// Console bytes the sender buffers until they are acknowledged.
    pub buffer_bytes: usize,
    /// Console bytes the sender has in flight (sent, unacknowledged) at most.
    pub window_bytes: usize,
    /// First retransmission timeout, in milliseconds.
    pub initial_rto_ms: u64,
    /// Largest retransmission timeout after backing off, in milliseconds.
    pub max_rto_ms: u64,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            buffer_bytes: 64 * 1024,
            window_bytes: 16 * 1024,
            initial_rto_ms: 200,
            max_rto_ms: 3200,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Payload {
    Data(Vec<u8>),
    Gap(u64),
}

impl Payload {
    fn span(&self) -> u64 {
        match self {
            Self::Data(bytes) => bytes.len() as u64,
            Self::Gap(skipped) => *skipped,
        }
    }
}

/// A run of stream positions, sent as one datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Segment {
    seq: u64,
    payload: Payload,
    /// Once sent, a segment is never changed except by trimming acknowledged bytes.
    sent: bool,
}

/// The sending half: a bounded buffer of unacknowledged segments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sender {
    config: StreamConfig,
    /// Oldest unacknowledged segment first; `segments[0].seq` is the lowest
    /// unacknowledged position.
    segments: VecDeque<Segment>,
    /// Index of the next segment to (re)transmit.
    next_index: usize,
    /// Position after the last buffered or skipped byte.
    end: u64,
    /// Position after the last byte ever transmitted; acknowledgements beyond it are bogus.
    sent_end: u64,
    /// Console bytes held in `segments`.
    buffered: usize,
    /// Console bytes in `segments[..next_index]`.
    in_flight: usize,
    rto_ms: u64,
    /// When the oldest in-flight segment is due for retransmission.
    deadline: Option<u64>,
    stats: SenderStats,
}

/// Counters a sender keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SenderStats {
    /// Segments sent for the first time.
    pub segments_sent: u64,
    /// Segments sent again after a timeout.
    pub retransmissions: u64,
    /// Retransmission timeouts that fired.
    pub timeouts: u64,
    /// Bytes the producer offered while the buffer was full.
    pub bytes_skipped: u64,
}

impl Sender {
    /// An empty sender at stream position 0.
    pub fn new(config: StreamConfig) -> Self {
        Self {
            config,
            segments: VecDeque::new(),
            next_index: 0,
            end: 0,
            sent_end: 0,
            buffered: 0,
            in_flight: 0,
            rto_ms: config.initial_rto_ms,
            deadline: None,
            stats: SenderStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> SenderStats {
        self.stats
    }

    /// Bytes buffered and not yet acknowledged.
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// Queues console output. Returns how many bytes were buffered; the rest (the tail
    /// of `bytes`) did not fit and becomes a gap the receiver is told about.
    pub fn write(&mut self, bytes: &[u8]) -> usize {
        let room = self.config.buffer_bytes - self.buffered;
        let (kept, dropped) = bytes.split_at(bytes.len().min(room));
        let mut rest = kept;
        while !rest.is_empty() {
            let appendable = match self.segments.back_mut() {
                Some(Segment {
                    payload: Payload::Data(data),
                    sent: false,
                    ..
                }) if data.len() < MAX_DATA => Some(data),
                _ => None,
            };
            let take;
            if let Some(data) = appendable {
                take = rest.len().min(MAX_DATA - data.len());
                data.extend_from_slice(&rest[..take]);
            } else {
                take = rest.len().min(MAX_DATA);
                self.segments.push_back(Segment {
                    seq: self.end,
                    payload: Payload::Data(rest[..take].to_vec()),
                    sent: false,
                });
            }
            self.end += take as u64;
            self.buffered += take;
            rest = &rest[take..];
        }
        if !dropped.is_empty() {
            let skipped = dropped.len() as u64;
            self.stats.bytes_skipped += skipped;
            match self.segments.back_mut() {
                Some(Segment {
                    payload: Payload::Gap(run),
                    sent: false,
                    ..
                }) => *run += skipped,
                _ => self.segments.push_back(Segment {
                    seq: self.end,
                    payload: Payload::Gap(skipped),
                    sent: false,
                }),
            }
            self.end += skipped;
        }
        kept.len()
    }

    /// Handles the peer's cumulative acknowledgement. Returns false (and changes
    /// nothing) if it acknowledges positions never sent.
    pub fn on_ack(&mut self, ack: u64, now: u64) -> bool {
        if ack > self.sent_end {
            return false;
        }
        let mut progressed = false;
        while let Some(front) = self.segments.front_mut() {
            if front.seq >= ack {
                break;
            }
            progressed = true;
            let acked = ack - front.seq;
            if acked >= front.payload.span() {
                let span_bytes = match &front.payload {
                    Payload::Data(data) => data.len(),
                    Payload::Gap(_) => 0,
                };
                self.segments.pop_front();
                self.buffered -= span_bytes;
                if self.next_index > 0 {
                    self.next_index -= 1;
                    self.in_flight -= span_bytes;
                }
            } else {
                // Only a peer that accepted part of a segment acknowledges inside it;
                // trim so the buffer accounting stays exact.
                match &mut front.payload {
                    Payload::Data(data) => {
                        data.drain(..acked as usize);
                        self.buffered -= acked as usize;
                        if self.next_index > 0 {
                            self.in_flight -= acked as usize;
                        }
                    }
                    Payload::Gap(run) => *run -= acked,
                }
                front.seq = ack;
            }
        }
        if progressed {
            self.rto_ms = self.config.initial_rto_ms;
            self.deadline = (self.next_index > 0).then_some(now + self.rto_ms);
        }
        true
    }

    /// Fires the retransmission timer if it is due.
    pub fn on_tick(&mut self, now: u64) {
        if self.deadline.is_some_and(|deadline| now >= deadline) {
            self.stats.timeouts += 1;
            self.next_index = 0;
            self.in_flight = 0;
            self.rto_ms = (self.rto_ms * 2).min(self.config.max_rto_ms);
            self.deadline = None;
        }
    }

    /// When [`Self::on_tick`] next has something to do.
    pub fn deadline(&self) -> Option<u64> {
        self.deadline
    }

    /// The next segment to transmit, if the window allows one, carrying `ack`.
    pub fn next_message(&mut self, ack: u64, now: u64) -> Option<Message> {
        let segment = self.segments.get_mut(self.next_index)?;
        let bytes = match &segment.payload {
            Payload::Data(data) => data.len(),
            Payload::Gap(_) => 0,
        };
        if self.in_flight > 0 && self.in_flight + bytes > self.config.window_bytes {
            return None;
        }
        if segment.sent {
            self.stats.retransmissions += 1;
        } else {
            self.stats.segments_sent += 1;
            segment.sent = true;
        }
        self.next_index += 1;
        self.in_flight += bytes;
        self.sent_end = self.sent_end.max(segment.seq + segment.payload.span());
        if self.deadline.is_none() {
            self.deadline = Some(now + self.rto_ms);
        }
        Some(match &segment.payload {
            Payload::Data(data) => Message::Data {
                ack,
                seq: segment.seq,
                data: data.clone(),
            },
            Payload::Gap(skipped) => Message::Gap {
                ack,
                seq: segment.seq,
                skipped: *skipped,
            },
        })
    }
}

/// What the receiver hands to its consumer, in stream order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Console bytes.
    Data(Vec<u8>),
    /// The producer overran the sender's buffer and this many bytes were lost.
    Gap(u64),
}

/// The receiving half: delivers in order, exactly once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receiver {
    /// The next stream position expected; what this side acknowledges.
    expected: u64,
    delivered: VecDeque<Delivery>,
    /// Console bytes in `delivered`, bounded so a slow consumer pushes back.
    pending_bytes: usize,
    limit_bytes: usize,
    /// Segments that arrived ahead of `expected`, by position.
    ahead: BTreeMap<u64, Payload>,
    /// Console bytes in `ahead`, bounded by `limit_bytes` as well.
    ahead_bytes: usize,
}

impl Receiver {
    /// An empty receiver at stream position 0 that holds up to `limit_bytes` unread.
    pub fn new(limit_bytes: usize) -> Self {
        // Below one segment's worth the receiver could never accept a full segment.
        let limit_bytes = limit_bytes.max(MAX_DATA);
        Self {
            expected: 0,
            delivered: VecDeque::new(),
            pending_bytes: 0,
            limit_bytes,
            ahead: BTreeMap::new(),
            ahead_bytes: 0,
        }
    }

    /// The cumulative acknowledgement to send.
    pub fn ack(&self) -> u64 {
        self.expected
    }

    /// Accepts a segment: delivers it if it continues the stream (then whatever held
    /// segments it unblocks), holds it if it is ahead of a hole and there is room, and
    /// drops duplicates and anything there is no room for (the sender retransmits).
    pub fn on_segment(&mut self, seq: u64, payload: SegmentRef<'_>) {
        let span = match payload {
            SegmentRef::Data(data) => data.len() as u64,
            SegmentRef::Gap(skipped) => skipped,
        };
        let Some(end) = seq.checked_add(span) else {
            return;
        };
        if end <= self.expected {
            return;
        }
        if seq > self.expected {
            self.hold(seq, payload);
            return;
        }
        if !self.deliver(seq, payload) {
            return;
        }
        // Held segments that now continue the stream, in position order.
        while let Some((&held_seq, _)) = self.ahead.first_key_value() {
            if held_seq > self.expected {
                break;
            }
            let Some((held_seq, held)) = self.ahead.pop_first() else {
                break;
            };
            let bytes = match &held {
                Payload::Data(data) => data.len(),
                Payload::Gap(_) => 0,
            };
            self.ahead_bytes -= bytes;
            if held_seq + held.span() <= self.expected {
                continue;
            }
            let delivered = match &held {
                Payload::Data(data) => self.deliver(held_seq, SegmentRef::Data(data)),
                Payload::Gap(skipped) => self.deliver(held_seq, SegmentRef::Gap(*skipped)),
            };
            if !delivered {
                // No room yet; it comes again.
                break;
            }
        }
    }

    /// Delivers the part of a segment at or after `expected`, which `seq` must not pass.
    /// Returns false if the consumer has no room.
    fn deliver(&mut self, seq: u64, payload: SegmentRef<'_>) -> bool {
        let skip = self.expected - seq;
        match payload {
            SegmentRef::Data(data) => {
                let fresh = &data[skip as usize..];
                if self.pending_bytes + fresh.len() > self.limit_bytes {
                    return false;
                }
                self.pending_bytes += fresh.len();
                self.expected += fresh.len() as u64;
                self.delivered.push_back(Delivery::Data(fresh.to_vec()));
            }
            SegmentRef::Gap(skipped) => {
                self.expected += skipped - skip;
                self.delivered.push_back(Delivery::Gap(skipped - skip));
            }
        }
        true
    }

    fn hold(&mut self, seq: u64, payload: SegmentRef<'_>) {
        let (owned, bytes) = match payload {
            SegmentRef::Data(data) => (Payload::Data(data.to_vec()), data.len()),
            SegmentRef::Gap(skipped) => (Payload::Gap(skipped), 0),
        };
        // Gaps cost no bytes, so count entries too: a hostile peer must not grow this.
        let full = self.ahead_bytes + bytes > self.limit_bytes
            || self.ahead.len() >= self.limit_bytes / 64;
        if full || self.ahead.contains_key(&seq) {
            return;
        }
        self.ahead_bytes += bytes;
        self.ahead.insert(seq, owned);
    }

    /// Takes the next delivery.
    pub fn read(&mut self) -> Option<Delivery> {
        let delivery = self.delivered.pop_front()?;
        if let Delivery::Data(data) = &delivery {
            self.pending_bytes -= data.len();
        }
        Some(delivery)
    }
}

/// A received segment's payload, borrowed from the decoded message.
#[derive(Clone, Copy, Debug)]
pub enum SegmentRef<'a> {
    /// Console bytes.
    Data(&'a [u8]),
    /// A run of skipped bytes.
    Gap(u64),
}
