//! One session's sealing and opening: its keys, its counter, its replay window.

use alloc::vec::Vec;

use crate::message::Message;
use crate::wire::{self, Direction, Header, Key, REPLAY_WINDOW, Reject};

/// Sliding window over accepted counters: bit `i` of `seen` is counter `top - i`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct ReplayWindow {
    /// Highest accepted counter; `None` while nothing was accepted.
    top: Option<u64>,
    seen: u64,
}

impl ReplayWindow {
    fn check(&self, counter: u64) -> Result<(), Reject> {
        let Some(top) = self.top else {
            return Ok(());
        };
        if counter > top {
            return Ok(());
        }
        let age = top - counter;
        if age >= REPLAY_WINDOW {
            Err(Reject::TooOld)
        } else if self.seen & (1 << age) != 0 {
            Err(Reject::Replayed)
        } else {
            Ok(())
        }
    }

    /// Records `counter`, which [`Self::check`] accepted.
    fn accept(&mut self, counter: u64) {
        match self.top {
            Some(top) if counter <= top => self.seen |= 1 << (top - counter),
            Some(top) => {
                let shift = counter - top;
                self.seen = if shift >= REPLAY_WINDOW {
                    0
                } else {
                    self.seen << shift
                };
                self.seen |= 1;
                self.top = Some(counter);
            }
            None => {
                self.seen = 1;
                self.top = Some(counter);
            }
        }
    }
}

/// Sealing and opening one session's datagrams, from one side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Channel {
    session: u32,
    direction: Direction,
    send: Key,
    recv: Key,
    /// Counter of the next datagram to seal; `None` once all 2^64 are used.
    next_counter: Option<u64>,
    replay: ReplayWindow,
}

impl Channel {
    /// The channel of `session` for the side that sends in `direction`.
    pub(crate) fn new(
        console_key: &[u8],
        client_nonce: &[u8; wire::NONCE_LEN],
        server_nonce: &[u8; wire::NONCE_LEN],
        session: u32,
        direction: Direction,
    ) -> Self {
        let key =
            |direction| Key::session(console_key, client_nonce, server_nonce, session, direction);
        Self {
            session,
            direction,
            send: key(direction),
            recv: key(direction.reverse()),
            next_counter: Some(0),
            replay: ReplayWindow::default(),
        }
    }

    /// Seals `message`; `None` once the counter is exhausted (2^64 datagrams: never in
    /// practice, but a session then simply falls silent and times out) or if the body
    /// would not fit, which the callers' size limits rule out.
    pub(crate) fn seal(&mut self, message: &Message) -> Option<Vec<u8>> {
        let counter = self.next_counter?;
        let mut body = Vec::with_capacity(wire::MAX_BODY);
        let kind = message.encode(&mut body);
        debug_assert!(body.len() <= wire::MAX_BODY, "{kind:?} body too long");
        let header = Header {
            kind,
            direction: self.direction,
            session: self.session,
            counter,
        };
        let datagram = wire::seal(&self.send, &header, &body)?;
        self.next_counter = counter.checked_add(1);
        Some(datagram)
    }

    /// Authenticates and decodes a datagram whose header names this session. `allowed`
    /// says whether the sender may send this message; if not it is
    /// [`Reject::Malformed`]. Only an accepted datagram moves the replay window.
    pub(crate) fn open(
        &mut self,
        header: &Header,
        datagram: &[u8],
        allowed: impl FnOnce(&Message) -> bool,
    ) -> Result<Message, Reject> {
        debug_assert_eq!(header.session, self.session);
        // Cheap check first; the window only moves once the datagram is authentic.
        self.replay.check(header.counter)?;
        let body = wire::open(&self.recv, datagram)?;
        let message = Message::decode(header.kind, &body)
            .filter(allowed)
            .ok_or(Reject::Malformed)?;
        self.replay.accept(header.counter);
        Ok(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reordered counters are accepted once each; those 64 or more behind the newest
    /// are too old.
    #[test]
    fn replay_window() {
        let mut w = ReplayWindow::default();
        assert_eq!(w.check(0), Ok(()));
        w.accept(100);
        assert_eq!(w.check(100), Err(Reject::Replayed));
        assert_eq!(w.check(100 - REPLAY_WINDOW), Err(Reject::TooOld));
        for c in [100 - REPLAY_WINDOW + 1, 99, 50 + 20, 40 + 50] {
            assert_eq!(w.check(c), Ok(()));
            w.accept(c);
            assert_eq!(w.check(c), Err(Reject::Replayed));
        }
        w.accept(1000);
        assert_eq!(w.check(999), Ok(()));
        assert_eq!(w.check(100), Err(Reject::TooOld));
        w.accept(u64::MAX);
        assert_eq!(w.check(u64::MAX), Err(Reject::Replayed));
    }
}
