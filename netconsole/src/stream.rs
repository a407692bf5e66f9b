//! One direction of the reliable console byte stream.
//!
//! Stream positions count bytes, including runs of bytes the producer no longer has
//! (output lost before it reached the service, or trimmed from the history before a
//! slow client read it): such a run is a gap record that occupies its length of stream
//! positions but travels as one small `Gap` datagram ([`Sender::skip`]). The receiver
//! therefore sees, in order and exactly once, either the bytes or the exact count of
//! bytes that were skipped, and cumulative acknowledgements work the same way for both.
//!
//! Positions are absolute: a session's console stream counts from the partition's first
//! output byte since boot, so a client that reconnects names the exact position it has
//! and the new session's stream starts there ([`Sender::starting_at`]).
//!
//! Retransmission is go-back-N: when the oldest unacknowledged segment has waited a
//! retransmission timeout, everything unacknowledged is sent again and the timeout
//! doubles (up to a limit) until an acknowledgement makes progress. The receiver holds
//! segments that arrive ahead of a hole (up to its limit) so that reordering alone
//! costs no retransmission.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;

use crate::message::Message;
use crate::wire::MAX_DATA;

/// Tunables of one stream direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamConfig {
    /// Bytes the sender buffers until they are acknowledged: a client's unacknowledged
    /// keystrokes, and its received output not yet taken.
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
    /// Once sent, a segment only changes by losing acknowledged bytes, or by being
    /// joined with its neighbours before everything is sent again.
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
    /// Positions sent as gaps.
    pub bytes_skipped: u64,
}

impl Sender {
    /// An empty sender at stream position 0.
    pub fn new(config: StreamConfig) -> Self {
        Self::starting_at(config, 0)
    }

    /// An empty sender whose first byte will be at stream position `position`.
    pub fn starting_at(config: StreamConfig, position: u64) -> Self {
        Self {
            config,
            segments: VecDeque::new(),
            next_index: 0,
            end: position,
            sent_end: position,
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

    /// The lowest position not yet acknowledged (the end when everything is).
    pub fn unacknowledged_start(&self) -> u64 {
        self.segments.front().map_or(self.end, |s| s.seq)
    }

    /// Queues as much of `bytes` as fits and returns how much that was; the rest is
    /// not part of the stream at all (the producer keeps it and offers it again). This
    /// is how keystrokes travel: they are never skipped.
    pub fn offer(&mut self, bytes: &[u8]) -> usize {
        // Positions end at 2^64: only output lost in absurd amounts gets there.
        let positions_left = usize::try_from(u64::MAX - self.end).unwrap_or(usize::MAX);
        let room = self
            .config
            .buffer_bytes
            .saturating_sub(self.buffered)
            .min(positions_left);
        let kept = &bytes[..bytes.len().min(room)];
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
        kept.len()
    }

    /// Marks `count` positions as lost before they reached this sender: the receiver
    /// gets a gap of exactly `count`, merged with an unsent gap just before it. The
    /// count is cut where positions would pass 2^64.
    pub fn skip(&mut self, count: u64) {
        let count = count.min(u64::MAX - self.end);
        if count == 0 {
            return;
        }
        self.stats.bytes_skipped = self.stats.bytes_skipped.saturating_add(count);
        match self.segments.back_mut() {
            Some(Segment {
                payload: Payload::Gap(run),
                sent: false,
                ..
            }) => *run += count,
            _ => self.segments.push_back(Segment {
                seq: self.end,
                payload: Payload::Gap(count),
                sent: false,
            }),
        }
        self.end += count;
    }

    /// Sends everything unacknowledged again from the start, with a fresh timeout: the
    /// stream continues on a new session whose peer may have missed any of it.
    pub fn rewind(&mut self) {
        self.next_index = 0;
        self.in_flight = 0;
        self.rto_ms = self.config.initial_rto_ms;
        self.deadline = None;
        self.coalesce();
    }

    /// Whether every buffered segment has been sent: the producer may add more.
    pub fn all_sent(&self) -> bool {
        self.next_index == self.segments.len()
    }

    /// Joins neighbouring data segments up to a full datagram each, before everything
    /// is sent again. Keystrokes go out as they are typed, one small segment each; a
    /// retransmission of hundreds of them would be as many datagrams, reordered so
    /// widely that the receiver's replay window refuses the oldest, which is the one
    /// it waits for.
    fn coalesce(&mut self) {
        debug_assert_eq!(self.next_index, 0);
        let mut joined: VecDeque<Segment> = VecDeque::with_capacity(self.segments.len());
        for segment in self.segments.drain(..) {
            if let (
                Some(Segment {
                    seq,
                    payload: Payload::Data(last),
                    sent,
                }),
                Payload::Data(more),
            ) = (joined.back_mut(), &segment.payload)
                && *seq + last.len() as u64 == segment.seq
                && last.len() + more.len() <= MAX_DATA
            {
                last.extend_from_slice(more);
                *sent |= segment.sent;
                continue;
            }
            joined.push_back(segment);
        }
        self.segments = joined;
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
            self.coalesce();
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
        Self::starting_at(0, limit_bytes)
    }

    /// An empty receiver that expects position `position` next.
    pub fn starting_at(position: u64, limit_bytes: usize) -> Self {
        // Below one segment's worth the receiver could never accept a full segment.
        let limit_bytes = limit_bytes.max(MAX_DATA);
        Self {
            expected: position,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(buffer_bytes: usize) -> StreamConfig {
        StreamConfig {
            buffer_bytes,
            ..StreamConfig::default()
        }
    }

    /// `offer` takes what fits and never turns the rest into a gap: keystrokes are
    /// offered again, never skipped.
    #[test]
    fn offer_takes_what_fits() {
        let mut sender = Sender::starting_at(config(100), 1000);
        assert_eq!(sender.offer(&[1; 70]), 70);
        assert_eq!(sender.offer(&[2; 70]), 30);
        assert_eq!(sender.offer(&[3; 5]), 0);
        assert_eq!(sender.stats().bytes_skipped, 0);
        assert_eq!(sender.unacknowledged_start(), 1000);
        let Some(Message::Data { seq, data, .. }) = sender.next_message(0, 0) else {
            panic!("no data");
        };
        assert_eq!((seq, data.len()), (1000, 100));
        assert!(sender.on_ack(1100, 1));
        assert_eq!(sender.offer(&[3; 5]), 5);
        assert_eq!(sender.unacknowledged_start(), 1100);
    }

    /// Consecutive skips before the gap is sent are one gap; a skip after it is sent
    /// is another.
    #[test]
    fn skips_merge_until_sent() {
        let mut sender = Sender::new(config(100));
        sender.skip(5);
        sender.skip(7);
        assert_eq!(
            sender.next_message(0, 0),
            Some(Message::Gap {
                ack: 0,
                seq: 0,
                skipped: 12
            })
        );
        sender.skip(3);
        assert_eq!(
            sender.next_message(0, 0),
            Some(Message::Gap {
                ack: 0,
                seq: 12,
                skipped: 3
            })
        );
        assert_eq!(sender.stats().bytes_skipped, 15);
        sender.skip(u64::MAX);
        assert_eq!(sender.unacknowledged_start(), 0);
        assert_eq!(sender.offer(b"x"), 0, "no positions left");
    }

    /// Small segments sent one by one go out again as full ones after a timeout, or
    /// on a new session.
    #[test]
    fn retransmission_coalesces() {
        let mut sender = Sender::new(StreamConfig::default());
        for i in 0..40u8 {
            sender.offer(&[i; 30]);
            assert!(sender.next_message(0, 0).is_some());
        }
        let rto = StreamConfig::default().initial_rto_ms;
        sender.on_tick(rto);
        let mut again = Vec::new();
        while let Some(message) = sender.next_message(0, rto) {
            again.push(message);
        }
        assert_eq!(again.len(), 1);
        let Message::Data { seq: 0, data, .. } = &again[0] else {
            panic!("{again:?}");
        };
        assert_eq!(data.len(), 1200);
        assert_eq!(data[1199], 39);
        sender.rewind();
        assert!(sender.next_message(0, rto).is_some());
        assert_eq!(sender.stats().retransmissions, 2);
    }

    /// A receiver that starts at a position takes that position next, drops what lies
    /// before it, and holds what lies ahead.
    #[test]
    fn receiver_at_a_position() {
        let mut receiver = Receiver::starting_at(500, 4096);
        receiver.on_segment(400, SegmentRef::Data(&[1; 100]));
        receiver.on_segment(510, SegmentRef::Data(&[3; 10]));
        assert_eq!(receiver.read(), None);
        receiver.on_segment(450, SegmentRef::Data(&[2; 60]));
        assert_eq!(receiver.read(), Some(Delivery::Data(std::vec![2; 10])));
        assert_eq!(receiver.read(), Some(Delivery::Data(std::vec![3; 10])));
        assert_eq!(receiver.ack(), 520);
        receiver.on_segment(u64::MAX - 1, SegmentRef::Gap(5));
        assert_eq!(receiver.ack(), 520);
    }
}
