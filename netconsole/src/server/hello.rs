//! The service's half of the handshake: refusing replayed Hellos, answering retries,
//! admitting or refusing a client, and sealing the answer.

use alloc::string::ToString;
use core::fmt::Debug;

use super::session::{Pending, Session};
use super::{Notice, REMEMBERED_NONCES, Refusal, Server};
use crate::channel::Channel;
use crate::handshake::{Hello, Refused, Role, Welcome};
use crate::wire::{self, Direction, Header, Kind, NONCE_LEN, Reject};

impl<P: Copy + Eq + Debug> Server<P> {
    /// A Hello, whose header [`Header::parse`] accepted. Anything that does not
    /// authenticate under the base key gets no answer at all.
    pub(super) fn hello(&mut self, from: P, datagram: &[u8], now: u64) -> Result<(), Reject> {
        let body = wire::open(&self.hello_key, datagram)?;
        let hello = Hello::decode(&body).ok_or(Reject::Malformed)?;
        if self.nonces.contains(&hello.client_nonce) {
            return Err(Reject::Replayed);
        }
        if let Some(index) = self
            .sessions
            .iter()
            .position(|s| s.attempt == hello.attempt)
        {
            return self.hello_again(index, from, &hello, now);
        }
        self.remember(hello.client_nonce);
        self.counters.datagrams_received += 1;
        match self.admit(&hello) {
            Ok((partition, evict_previous)) => {
                self.open_session(from, &hello, partition, evict_previous, now);
            }
            Err(reason) => self.refuse(from, &hello, reason),
        }
        Ok(())
    }

    /// A retry of the handshake that created session `index`: while that session waits
    /// for the client, the retry gets the same Welcome again (its first copy may have
    /// been lost); once the session began, the retry is a late copy.
    fn hello_again(
        &mut self,
        index: usize,
        from: P,
        hello: &Hello,
        now: u64,
    ) -> Result<(), Reject> {
        let session = &mut self.sessions[index];
        let Some(pending) = &mut session.pending else {
            return Err(Reject::Replayed);
        };
        pending.expires = now.saturating_add(self.config.handshake_timeout_ms);
        session.peer = from;
        let welcome = Welcome {
            client_nonce: hello.client_nonce,
            ..pending.welcome.clone()
        }
        .encode();
        self.remember(hello.client_nonce);
        self.counters.datagrams_received += 1;
        self.counters.hellos_repeated += 1;
        self.answer(from, Kind::Welcome, &welcome, &hello.client_nonce);
        Ok(())
    }

    /// The session this Hello continues, if it is from this boot.
    fn previous_of(&self, hello: &Hello) -> u32 {
        if hello.boot == self.boot {
            self.resolve(hello.previous)
        } else {
            0
        }
    }

    /// Whether the Hello may have a session: its partition, and whether its previous
    /// session must end now to make room (the service is full, and the client says that
    /// session is its own).
    fn admit(&self, hello: &Hello) -> Result<(Option<usize>, bool), Refusal> {
        let partition = match hello.role {
            Role::Control => None,
            Role::Viewer | Role::Writer => Some(
                self.partitions
                    .iter()
                    .position(|p| p.name == hello.partition)
                    .ok_or(Refusal::UnknownPartition)?,
            ),
        };
        let previous = self.previous_of(hello);
        if let (Role::Writer, Some(p)) = (hello.role, partition) {
            let busy = self.partitions[p]
                .writer
                .is_some_and(|holder| holder != previous);
            if busy && !hello.takeover {
                return Err(Refusal::WriterBusy);
            }
        }
        if self.sessions.len() < self.config.max_sessions {
            return Ok((partition, false));
        }
        let previous_live = previous != 0 && self.index_of(previous).is_some();
        if previous_live && self.config.max_sessions > 0 {
            Ok((partition, true))
        } else {
            Err(Refusal::TooManySessions)
        }
    }

    fn open_session(
        &mut self,
        from: P,
        hello: &Hello,
        partition: Option<usize>,
        evict_previous: bool,
        now: u64,
    ) {
        let id = self.fresh_session_id();
        let previous = self.previous_of(hello);
        if evict_previous && let Some(index) = self.index_of(previous) {
            self.counters.sessions_replaced += 1;
            let old = self.remove(index);
            self.notify(Notice::Replaced {
                session: old.id,
                partition: old.partition,
                by: id,
            });
            self.retire(old);
        }
        // The client's nonce is the context: see "Randomness" in docs/netconsole.md.
        let server_nonce: [u8; NONCE_LEN] = self.random.array(b"server nonce", &hello.client_nonce);
        let channel = Channel::new(
            &self.console_key,
            &hello.client_nonce,
            &server_nonce,
            id,
            Direction::HostToClient,
        );
        let resume = (hello.boot == self.boot).then_some(hello.resume);
        let start = partition.map_or(0, |p| self.partitions[p].stream_start(resume));
        let welcome = Welcome {
            client_nonce: hello.client_nonce,
            key_nonce: hello.client_nonce,
            server_nonce,
            session: id,
            boot: self.boot,
            partition: partition.map(|p| u32::try_from(p).unwrap_or(u32::MAX - 1)),
            start,
        };
        let body = welcome.encode();
        let pending = Pending {
            welcome,
            previous,
            takeover: hello.takeover,
            input: hello.input,
            resumed: resume.is_some(),
            expires: now.saturating_add(self.config.handshake_timeout_ms),
        };
        self.sessions.push(Session::new(
            id,
            from,
            hello.role,
            partition,
            hello.attempt,
            channel,
            pending,
            self.config.stream,
            now,
        ));
        self.counters.hellos_accepted += 1;
        self.answer(from, Kind::Welcome, &body, &hello.client_nonce);
    }

    fn refuse(&mut self, from: P, hello: &Hello, reason: Refusal) {
        self.counters.hellos_refused += 1;
        self.notify(Notice::Refused {
            peer: from,
            partition: hello.partition.clone(),
            role: hello.role,
            reason,
        });
        let body = Refused {
            client_nonce: hello.client_nonce,
            reason: reason.to_string(),
        }
        .encode();
        self.answer(from, Kind::Refused, &body, &hello.client_nonce);
    }

    /// Seals a Welcome or Refused under the base key. Its counter is random and bound
    /// to the client's nonce, so it does not repeat even if the seed does.
    fn answer(&mut self, to: P, kind: Kind, body: &[u8], client_nonce: &[u8; NONCE_LEN]) {
        let header = Header {
            kind,
            direction: Direction::HostToClient,
            session: 0,
            counter: self.random.u64(b"answer counter", client_nonce),
        };
        if let Some(datagram) = wire::seal(&self.answer_key, &header, body) {
            self.send(to, datagram);
        }
    }

    fn remember(&mut self, nonce: [u8; NONCE_LEN]) {
        if self.nonces.len() >= REMEMBERED_NONCES {
            self.nonces.pop_front();
        }
        self.nonces.push_back(nonce);
    }

    /// A random session id, never 0 and not in use by a live or retired session.
    fn fresh_session_id(&mut self) -> u32 {
        loop {
            let id = self.random.u64(b"session id", &[]) as u32;
            let taken = self.index_of(id).is_some() || self.retired.iter().any(|r| r.session == id);
            if id != 0 && !taken {
                return id;
            }
        }
    }
}
