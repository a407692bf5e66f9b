//! The service's state for one partition: its output history, its writer, and the
//! keystrokes that writer sent.

use alloc::collections::VecDeque;
use alloc::string::String;

use crate::history::History;
use crate::stream::{Delivery, Receiver};

pub(super) struct Partition {
    pub(super) name: String,
    pub(super) history: History,
    /// The established writer session, if any.
    pub(super) writer: Option<u32>,
    pub(super) input: Input,
}

impl Partition {
    pub(super) fn new(name: String, history_bytes: usize, input_bytes: usize) -> Self {
        Self {
            name,
            history: History::new(history_bytes),
            writer: None,
            input: Input::new(input_bytes),
        }
    }

    /// Where a new session's output stream starts: at `resume` if the client has a
    /// position in this boot (cut to the end, since a client cannot have more than was
    /// produced), else at the oldest byte kept. What the history no longer holds
    /// reaches the client as a gap when the session first reads.
    pub(super) fn stream_start(&self, resume: Option<u64>) -> u64 {
        resume.map_or(self.history.start(), |r| r.min(self.history.end()))
    }
}

/// The partition's keystroke stream. It belongs to the partition, not to a session, so
/// that a writer that reconnects continues it exactly: the new session takes the
/// receiver over with every byte the old one had received.
pub(super) struct Input {
    /// The writer session the stream belongs to (it may have ended); 0: none yet.
    pub(super) owner: u32,
    pub(super) receiver: Receiver,
    /// Received bytes the sink has not taken: the rest of a delivery it stopped in, or
    /// what an earlier writer's stream still held when a new writer started its own.
    carry: VecDeque<u8>,
    limit: usize,
}

impl Input {
    fn new(limit: usize) -> Self {
        Self {
            owner: 0,
            receiver: Receiver::new(limit),
            carry: VecDeque::new(),
            limit,
        }
    }

    /// Starts a new writer's own stream at `start`, keeping what the old one received
    /// (up to twice the input limit: a guest that reads nothing while writers come and
    /// go loses the oldest of it).
    pub(super) fn restart(&mut self, owner: u32, start: u64) {
        while let Some(delivery) = self.receiver.read() {
            if let Delivery::Data(bytes) = delivery {
                self.carry.extend(bytes);
            }
        }
        let excess = self.carry.len().saturating_sub(2 * self.limit);
        self.carry.drain(..excess);
        self.receiver = Receiver::starting_at(start, self.limit);
        self.owner = owner;
    }

    /// Hands bytes to `sink` in order until it refuses one, which stays for next time.
    pub(super) fn take(&mut self, mut sink: impl FnMut(u8) -> bool) {
        loop {
            while let Some(&byte) = self.carry.front() {
                if !sink(byte) {
                    return;
                }
                self.carry.pop_front();
            }
            match self.receiver.read() {
                Some(Delivery::Data(bytes)) => self.carry.extend(bytes),
                // Clients never skip keystrokes; a gap from a buggy one has no bytes.
                Some(Delivery::Gap(_)) => {}
                None => return,
            }
        }
    }
}
