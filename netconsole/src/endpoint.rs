//! One end of a console connection: the channel plus both stream halves.

use alloc::vec::Vec;

use crate::stream::{Delivery, Receiver, SegmentRef, Sender, SenderStats, StreamConfig};
use crate::wire::{Channel, Direction, Message, Reject, RejectCounts};

/// Tunables of an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// The outgoing stream.
    pub stream: StreamConfig,
    /// Received console bytes held until [`Endpoint::read`] takes them.
    pub receive_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            stream: StreamConfig::default(),
            receive_bytes: 64 * 1024,
        }
    }
}

/// One end of a console connection, driven entirely by its caller: datagrams in
/// through [`Self::receive`], datagrams out through [`Self::poll_transmit`], time as
/// milliseconds from any fixed origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    channel: Channel,
    sender: Sender,
    receiver: Receiver,
    /// A datagram arrived that this side has not acknowledged yet.
    ack_pending: bool,
    /// Authentic datagrams whose acknowledgement covered data never sent (a peer bug).
    bogus_acks: u64,
}

/// Counters an endpoint keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EndpointStats {
    /// The outgoing stream's counters.
    pub sender: SenderStats,
    /// Datagrams dropped, per reason.
    pub rejected: RejectCounts,
    /// Authentic datagrams that acknowledged data never sent; their ack was ignored.
    pub bogus_acks: u64,
}

impl Endpoint {
    /// An endpoint sending in `direction`, keyed from the deployment's console key.
    pub fn new(console_key: &[u8], direction: Direction, config: Config) -> Self {
        Self {
            channel: Channel::new(console_key, direction),
            sender: Sender::new(config.stream),
            receiver: Receiver::new(config.receive_bytes),
            ack_pending: false,
            bogus_acks: 0,
        }
    }

    /// Queues console output; returns how many bytes were buffered. Bytes that did not
    /// fit are dropped and reach the peer as [`Delivery::Gap`].
    pub fn write(&mut self, bytes: &[u8]) -> usize {
        self.sender.write(bytes)
    }

    /// Takes the next piece of the incoming stream, in order.
    pub fn read(&mut self) -> Option<Delivery> {
        self.receiver.read()
    }

    /// Handles one received datagram. A rejected datagram changes nothing but the
    /// reject count for its reason.
    pub fn receive(&mut self, datagram: &[u8], now: u64) -> Result<(), Reject> {
        let message = self.channel.open(datagram)?;
        if !self.sender.on_ack(message.ack(), now) {
            self.bogus_acks += 1;
        }
        match &message {
            Message::Ack { .. } => {}
            Message::Data { seq, data, .. } => {
                self.receiver.on_segment(*seq, SegmentRef::Data(data));
                self.ack_pending = true;
            }
            Message::Gap { seq, skipped, .. } => {
                self.receiver.on_segment(*seq, SegmentRef::Gap(*skipped));
                self.ack_pending = true;
            }
        }
        Ok(())
    }

    /// The next datagram to send, if any: new or retransmitted stream data (carrying
    /// the acknowledgement), else a bare acknowledgement if one is owed. Call until it
    /// returns `None`. Returns `None` for good once the datagram counter is exhausted.
    pub fn poll_transmit(&mut self, now: u64) -> Option<Vec<u8>> {
        if !self.channel.can_seal() {
            return None;
        }
        self.sender.on_tick(now);
        let ack = self.receiver.ack();
        let message = match self.sender.next_message(ack, now) {
            Some(message) => message,
            None if self.ack_pending => Message::Ack { ack },
            None => return None,
        };
        self.ack_pending = false;
        self.channel.seal(&message).ok()
    }

    /// The time by which [`Self::poll_transmit`] must be called again even if no
    /// datagram arrives (the retransmission deadline).
    pub fn poll_at(&self) -> Option<u64> {
        self.sender.deadline()
    }

    /// Counters so far.
    pub fn stats(&self) -> EndpointStats {
        EndpointStats {
            sender: self.sender.stats(),
            rejected: self.channel.rejected(),
            bogus_acks: self.bogus_acks,
        }
    }

    /// A copy with the reject counters cleared, for comparing protocol state.
    #[cfg(test)]
    pub(crate) fn without_reject_counts(&self) -> Self {
        let mut copy = self.clone();
        copy.channel.clear_rejected();
        copy
    }

    /// Bytes written and not yet acknowledged by the peer.
    pub fn unacknowledged(&self) -> usize {
        self.sender.buffered()
    }
}
