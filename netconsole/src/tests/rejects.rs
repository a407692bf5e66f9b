//! Every kind of bad datagram, at both ends: refused for the right reason, counted
//! once, never answered, and without effect on what honest datagrams do afterwards.

use std::vec::Vec;

use super::{Conditions, Forger, KEY, Sim, recorded_welcome, viewer, writer};
use crate::wire::{self, Direction, Header, Key, Kind, MAX_DATAGRAM, MIN_DATAGRAM, Reject};
use crate::{Client, ClientConfig, ClientEvent, ClientState, Notice, ServerConfig};

fn counter_of(datagram: &[u8]) -> u64 {
    u64::from_le_bytes(datagram[11..19].try_into().unwrap())
}

/// The reason a receiver that accepted the counters `accepted` refuses `valid` with
/// bit `bit` flipped. `from` is the sender's direction.
fn flip_reason(valid: &[u8], bit: usize, from: Direction, accepted: &[u64]) -> Reject {
    let mut flipped = valid.to_vec();
    flipped[bit / 8] ^= 1 << (bit % 8);
    match bit / 8 {
        0..4 => Reject::BadMagic,
        4 => Reject::BadVersion,
        5 => match Kind::from_byte(flipped[5]) {
            Some(kind) if kind.sent_by(from) && !kind.is_handshake() => Reject::Forged,
            _ => Reject::BadKind,
        },
        6 => Reject::WrongDirection,
        7..11 => Reject::UnknownSession,
        11..19 => {
            let counter = counter_of(&flipped);
            let top = accepted.iter().copied().max().unwrap();
            if accepted.contains(&counter) {
                Reject::Replayed
            } else if top >= counter + wire::REPLAY_WINDOW {
                Reject::TooOld
            } else {
                Reject::Forged
            }
        }
        _ => Reject::Forged,
    }
}

/// A receiver under test: the service, or one client.
enum End<'a> {
    Server(&'a mut crate::Server<usize>, usize),
    Client(&'a mut Client),
}

impl End<'_> {
    fn receive(&mut self, datagram: &[u8], now: u64) -> Result<(), Reject> {
        match self {
            Self::Server(server, from) => server.receive(*from, datagram, now),
            Self::Client(client) => client.receive(datagram, now),
        }
    }

    fn rejected(&self) -> crate::RejectCounts {
        match self {
            Self::Server(server, _) => server.stats().rejected,
            Self::Client(client) => client.stats().rejected,
        }
    }

    /// Asserts `datagram` is refused for `reason` and counted once, under that reason.
    fn assert_rejected(&mut self, datagram: &[u8], reason: Reject, now: u64) {
        let before = self.rejected();
        assert_eq!(self.receive(datagram, now), Err(reason), "{datagram:02x?}");
        let after = self.rejected();
        assert_eq!(after.get(reason), before.get(reason) + 1);
        assert_eq!(after.total(), before.total() + 1);
    }
}

/// A writer attached over a perfect network, and the sim.
fn attached_writer() -> (Sim, usize) {
    let mut sim = Sim::new(&["web"], ServerConfig::default(), Conditions::PERFECT, 41);
    sim.recorded = Some(Vec::new());
    let w = sim.add(writer("web"));
    sim.attach(&[w]);
    sim.run_for(100);
    (sim, w)
}

/// Six client-to-service data datagrams, straight from the client.
fn client_datagrams(sim: &mut Sim, w: usize) -> Vec<Vec<u8>> {
    let now = sim.now;
    (0..6)
        .map(|i| {
            sim.client(w).write(&[i as u8; 40]);
            sim.client(w).poll_transmit(now).expect("a data datagram")
        })
        .collect()
}

/// Six service-to-client session datagrams, straight from the service.
fn server_datagrams(sim: &mut Sim) -> Vec<Vec<u8>> {
    let now = sim.now;
    (0..6)
        .map(|i| {
            sim.server.output(0, &[i as u8; 40]);
            sim.server.poll_transmit(now).expect("a datagram").1
        })
        .collect()
}

/// Flips every bit of `datagrams[5]` after delivering the first five, checks each
/// reason, then delivers the original once.
fn every_bit_flip(mut end: End<'_>, datagrams: &[Vec<u8>], from: Direction, now: u64) {
    let accepted: Vec<u64> = datagrams[..5].iter().map(|d| counter_of(d)).collect();
    for d in &datagrams[..5] {
        end.receive(d, now).unwrap();
    }
    let valid = &datagrams[5];
    for bit in 0..valid.len() * 8 {
        let mut flipped = valid.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        let reason = flip_reason(valid, bit, from, &accepted);
        end.assert_rejected(&flipped, reason, now);
    }
    end.receive(valid, now).unwrap();
    end.assert_rejected(valid, Reject::Replayed, now);
}

/// Every single-bit flip of a client's datagram is refused by the service for the
/// reason belonging to the field it hit, and the original is still accepted once.
#[test]
fn every_bit_flip_is_rejected_by_the_server() {
    let (mut sim, w) = attached_writer();
    let datagrams = client_datagrams(&mut sim, w);
    let (now, from) = (sim.now, sim.peers[w].address);
    every_bit_flip(
        End::Server(&mut sim.server, from),
        &datagrams,
        Direction::ClientToHost,
        now,
    );
}

/// The same at the client, for the service's datagrams.
#[test]
fn every_bit_flip_is_rejected_by_the_client() {
    let (mut sim, w) = attached_writer();
    let datagrams = server_datagrams(&mut sim);
    let now = sim.now;
    every_bit_flip(
        End::Client(&mut sim.peers[w].client),
        &datagrams,
        Direction::HostToClient,
        now,
    );
}

/// Every truncation is refused (short ones as truncated, longer ones fail the tag),
/// anything over 1400 bytes as oversized, and the original is fine afterwards.
#[test]
fn truncated_and_oversized_are_rejected_at_both_ends() {
    let (mut sim, w) = attached_writer();
    let up = client_datagrams(&mut sim, w).remove(0);
    let down = server_datagrams(&mut sim).remove(0);
    let (now, from) = (sim.now, sim.peers[w].address);
    for (mut end, valid) in [
        (End::Server(&mut sim.server, from), &up),
        (End::Client(&mut sim.peers[w].client), &down),
    ] {
        for len in 0..valid.len() {
            let reason = if len < MIN_DATAGRAM {
                Reject::Truncated
            } else {
                Reject::Forged
            };
            end.assert_rejected(&valid[..len], reason, now);
        }
        for extra in [MAX_DATAGRAM + 1 - valid.len(), 5000] {
            let mut big = valid.clone();
            big.resize(valid.len() + extra, 0);
            end.assert_rejected(&big, Reject::Oversized, now);
        }
        end.receive(valid, now).unwrap();
    }
}

/// A datagram reflected back at its sender is refused for its direction, and
/// rewriting the direction byte does not help: the other direction's key does not
/// authenticate it.
#[test]
fn reflected_is_rejected_at_both_ends() {
    let (mut sim, w) = attached_writer();
    let up = client_datagrams(&mut sim, w).remove(0);
    let down = server_datagrams(&mut sim).remove(0);
    let (now, from) = (sim.now, sim.peers[w].address);
    for (mut end, own, as_peer) in [
        (
            End::Server(&mut sim.server, from),
            &down,
            Direction::ClientToHost,
        ),
        (
            End::Client(&mut sim.peers[w].client),
            &up,
            Direction::HostToClient,
        ),
    ] {
        end.assert_rejected(own, Reject::WrongDirection, now);
        let mut rewritten = own.clone();
        rewritten[6] = as_peer as u8;
        end.assert_rejected(&rewritten, Reject::Forged, now);
    }
}

/// A client with the wrong console key gets nothing at all back, not even a refusal,
/// and the service counts its Hellos as forged.
#[test]
fn wrong_key_gets_no_answer() {
    let mut sim = Sim::new(&["web"], ServerConfig::default(), Conditions::PERFECT, 42);
    sim.recorded = Some(Vec::new());
    let stranger = sim.add_with_key(b"not the deployment's key", writer("web"));
    sim.run_for(5000);
    let sent_by_service = sim
        .recorded
        .as_ref()
        .unwrap()
        .iter()
        .filter(|(up, ..)| !up)
        .count();
    assert_eq!(sent_by_service, 0);
    let hellos = sim.peers[stranger].client.stats().hellos_sent;
    assert!(hellos >= 10);
    let stats = sim.server.stats();
    assert_eq!(stats.rejected.get(Reject::Forged), hellos);
    assert_eq!(stats.rejected.total(), hellos);
    assert_eq!(stats.sessions, 0);
    assert!(sim.notices.is_empty());
    assert_eq!(sim.peers[stranger].client.state(), ClientState::Connecting);
}

/// A replayed Hello creates no second session and gets no second answer.
#[test]
fn replayed_hello_creates_nothing() {
    let mut sim = Sim::new(&["web"], ServerConfig::default(), Conditions::PERFECT, 43);
    let mut client = Client::new(KEY, viewer("web"), [5; 32]);
    let hello = client.poll_transmit(0).unwrap();
    assert_eq!(sim.server.receive(1, &hello, 0), Ok(()));
    assert!(sim.server.poll_transmit(0).is_some());
    for at in [1, 2, 5000] {
        assert_eq!(sim.server.receive(2, &hello, at), Err(Reject::Replayed));
        assert_eq!(sim.server.poll_transmit(at), None);
    }
    let stats = sim.server.stats();
    assert_eq!((stats.sessions, stats.hellos_accepted), (1, 1));
}

/// A takeover Hello replayed after the service forgot its nonce creates only a session
/// that never begins (its client never answers), so it displaces no writer and sends
/// no output anywhere; it is forgotten after the handshake timeout.
#[test]
fn replayed_takeover_hello_cannot_displace_the_writer() {
    let mut sim = Sim::new(&["web"], ServerConfig::default(), Conditions::PERFECT, 44);
    let w = sim.add(writer("web"));
    sim.attach(&[w]);
    let mut thief = Client::new(
        KEY,
        ClientConfig {
            takeover: true,
            ..writer("web")
        },
        [6; 32],
    );
    let captured = thief.poll_transmit(sim.now).unwrap();
    assert_eq!(sim.server.receive(500, &captured, sim.now), Ok(()));
    // Enough other Hellos that the captured nonce is forgotten.
    for i in 0..300u64 {
        let mut seed = [7u8; 32];
        seed[..8].copy_from_slice(&i.to_le_bytes());
        let mut other = Client::new(KEY, viewer("web"), seed);
        let hello = other.poll_transmit(sim.now).unwrap();
        let _ = sim.server.receive(600, &hello, sim.now);
    }
    sim.run_for(ServerConfig::default().handshake_timeout_ms + 1000);
    assert_eq!(sim.server.receive(500, &captured, sim.now), Ok(()));
    sim.server.output(0, b"still mine");
    sim.run_for(ServerConfig::default().handshake_timeout_ms + 1000);
    assert!(
        !sim.notices
            .iter()
            .any(|n| matches!(n, Notice::TakenOver { .. }))
    );
    assert_eq!(sim.peers[w].client.state(), ClientState::Attached);
    assert_eq!(sim.peers[w].log.output, b"still mine");
    assert_eq!(sim.server.stats().sessions, 1);
    sim.client(w).write(b"typed");
    sim.run_for(100);
    assert_eq!(sim.input[0], b"typed");
}

/// Authentic datagrams whose body does not fit their kind, or that the sender's role
/// may not send, are refused as malformed at both ends, and nothing changes.
#[test]
fn malformed_bodies_are_rejected_at_both_ends() {
    let mut sim = Sim::new(&["web"], ServerConfig::default(), Conditions::PERFECT, 45);
    sim.recorded = Some(Vec::new());
    let v = sim.add(viewer("web"));
    sim.attach(&[v]);
    let address = sim.peers[v].address;
    let mut forger = Forger::from_welcome(&recorded_welcome(&sim, address));
    let now = sim.now;
    let up =
        |kind, body: &[u8], forger: &mut Forger| forger.seal(kind, Direction::ClientToHost, body);
    let mut data = std::vec![0u8; 17];
    data[16] = b'x';
    let mut bad_verb = std::vec![0u8; 12];
    bad_verb.push(9);
    for datagram in [
        up(Kind::Data, &data, &mut forger),        // a viewer may not type
        up(Kind::Gap, &[0; 24], &mut forger),      // an empty gap
        up(Kind::Request, &bad_verb, &mut forger), // no such verb
        up(Kind::Ack, &[0; 9], &mut forger),       // a byte too many
        up(Kind::EventAck, &[0; 11], &mut forger), // a byte too few
    ] {
        End::Server(&mut sim.server, address).assert_rejected(&datagram, Reject::Malformed, now);
    }
    let down =
        |kind, body: &[u8], forger: &mut Forger| forger.seal(kind, Direction::HostToClient, body);
    let mut bad_reply = std::vec![0u8; 12];
    bad_reply.push(7);
    let mut bad_close = std::vec![0u8; 8];
    bad_close.push(0xff);
    for datagram in [
        down(Kind::Reply, &bad_reply, &mut forger),
        down(Kind::Event, &[0; 40], &mut forger),
        down(Kind::Close, &bad_close, &mut forger),
        down(Kind::Data, &[0; 16], &mut forger),
    ] {
        End::Client(&mut sim.peers[v].client).assert_rejected(&datagram, Reject::Malformed, now);
    }
    // Authentic handshake datagrams with bad bodies.
    let base = |direction, kind, body: &[u8]| {
        let header = Header {
            kind,
            direction,
            session: 0,
            counter: 12345,
        };
        wire::seal(&Key::base(KEY, direction), &header, body).unwrap()
    };
    let hello = base(Direction::ClientToHost, Kind::Hello, &[0xee; 60]);
    End::Server(&mut sim.server, 7).assert_rejected(&hello, Reject::Malformed, now);
    let welcome = base(Direction::HostToClient, Kind::Welcome, &[0xee; 60]);
    End::Client(&mut sim.peers[v].client).assert_rejected(&welcome, Reject::Malformed, now);
    // A session kind in session 0 names no session.
    let zero = base(Direction::ClientToHost, Kind::Ack, &[0; 8]);
    End::Server(&mut sim.server, 7).assert_rejected(&zero, Reject::UnknownSession, now);
    // The session works as before.
    sim.server.output(0, b"fine");
    sim.run_for(100);
    assert_eq!(sim.peers[v].log.output, b"fine");
    assert_eq!(sim.server.stats().sessions, 1);
}

/// Welcomes and refusals are accepted once, only for a Hello the client still waits
/// on: a replayed Welcome, or one that answers another client, is refused as replayed.
#[test]
fn stale_answers_are_rejected() {
    let mut sim = Sim::new(&["web"], ServerConfig::default(), Conditions::PERFECT, 46);
    sim.recorded = Some(Vec::new());
    let v = sim.add(viewer("web"));
    sim.attach(&[v]);
    let welcome = recorded_welcome(&sim, sim.peers[v].address);
    let now = sim.now;
    End::Client(&mut sim.peers[v].client).assert_rejected(&welcome, Reject::Replayed, now);
    let mut other = Client::new(KEY, viewer("web"), [8; 32]);
    other.poll_transmit(now).unwrap();
    End::Client(&mut other).assert_rejected(&welcome, Reject::Replayed, now);
    assert_eq!(other.state(), ClientState::Connecting);
    // A session datagram for a session the client does not have.
    let down = server_datagrams_for(&mut sim);
    End::Client(&mut other).assert_rejected(&down, Reject::UnknownSession, now);
    assert_eq!(other.poll_event(), None);
    assert!(
        !sim.peers[v]
            .log
            .events
            .iter()
            .any(|e| matches!(e, ClientEvent::Refused(_)))
    );
}

fn server_datagrams_for(sim: &mut Sim) -> Vec<u8> {
    sim.server.output(0, b"x");
    sim.server.poll_transmit(sim.now).unwrap().1
}
