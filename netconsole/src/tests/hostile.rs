//! Input no honest peer sends: arbitrary bytes, mutated datagrams, and authentic
//! datagrams (sealed with the console key) with hostile bodies and field values. None
//! of it may panic either side, and unauthenticated input is always refused.

use std::string::String;
use std::vec::Vec;

use super::{Conditions, Forger, KEY, Rng, Sim, control, recorded_welcome, viewer, writer};
use crate::handshake::{Hello, Refused, Welcome};
use crate::manage::{ReplyBody, Verb};
use crate::message::Message;
use crate::wire::{self, Direction, Header, Key, Kind, MAX_DATA, NONCE_LEN};
use crate::{CrashReport, PartitionState, PartitionStatus, Reply, Role};

/// A sim with a writer, a viewer and a control client attached, recording.
fn busy_sim() -> (Sim, [usize; 3]) {
    let mut sim = Sim::new(
        &["web", "db"],
        crate::ServerConfig::default(),
        Conditions::PERFECT,
        51,
    );
    sim.recorded = Some(Vec::new());
    let peers = [
        sim.add(writer("web")),
        sim.add(viewer("db")),
        sim.add(control()),
    ];
    sim.attach(&peers);
    for round in 0..20u8 {
        sim.server.output(0, &[round; 700]);
        sim.client(peers[0]).write(&[round; 300]);
        sim.client(peers[2]).request(crate::ClientRequest::List);
        sim.run_for(50);
    }
    sim.server.crashed(1, CrashReport::default());
    sim.run_for(500);
    (sim, peers)
}

/// Random bytes, and authentic datagrams with one to five bytes changed, are refused
/// by both ends, and never panic them.
#[test]
fn arbitrary_and_mutated_datagrams_are_refused() {
    let (mut sim, peers) = busy_sim();
    let recorded = sim.recorded.take().unwrap();
    assert!(recorded.len() > 50);
    let mut rng = Rng(0xdead_beef);
    let now = sim.now;
    for round in 0..20_000 {
        let datagram = if round % 3 == 0 {
            let len = rng.below(1600) as usize;
            rng.bytes(len)
        } else {
            let (_, _, original) = &recorded[rng.below(recorded.len() as u64) as usize];
            let mut d = original.clone();
            for _ in 0..=rng.below(4) {
                let i = rng.below(d.len() as u64) as usize;
                d[i] ^= 1 + rng.below(255) as u8;
            }
            if d == *original {
                // Two changes of one byte cancelled out.
                continue;
            }
            d
        };
        assert!(sim.server.receive(7, &datagram, now).is_err());
        let peer = peers[round % 3];
        assert!(sim.peers[peer].client.receive(&datagram, now).is_err());
    }
    // Both ends still work.
    sim.server.output(0, b"alive");
    sim.run_for(500);
    assert!(sim.peers[peers[0]].log.output.ends_with(b"alive"));
}

const EDGES: [u64; 7] = [0, 1, 2, u64::MAX - 1, u64::MAX, 1 << 63, u32::MAX as u64];

fn field(rng: &mut Rng) -> u64 {
    if rng.percent(50) {
        EDGES[rng.below(EDGES.len() as u64) as usize]
    } else {
        rng.next()
    }
}

fn text(rng: &mut Rng, max: usize) -> String {
    let len = rng.below(max as u64 + 1) as usize;
    (0..len)
        .map(|_| match rng.below(4) {
            0 => 'é',
            1 => char::from(b'a' + rng.below(26) as u8),
            2 => '\n',
            _ => 'w',
        })
        .collect()
}

fn name(rng: &mut Rng) -> String {
    match rng.below(4) {
        0 => String::from("web"),
        1 => String::from("db"),
        _ => text(rng, 120),
    }
}

/// A hostile message a client could send.
fn from_client(rng: &mut Rng) -> Message {
    let ack = field(rng);
    match rng.below(7) {
        0 => Message::Ack { ack },
        1 => Message::Ping { ack },
        2 => Message::Data {
            ack,
            seq: field(rng),
            data: rng.some_bytes(1, MAX_DATA as u64),
        },
        3 => Message::Gap {
            ack,
            seq: field(rng),
            skipped: field(rng).max(1),
        },
        4 => Message::EventAck {
            ack,
            id: field(rng) as u32,
        },
        _ => Message::Request {
            ack,
            id: field(rng) as u32,
            verb: match rng.below(100) {
                0 => Verb::Detach,
                1..40 => Verb::List {
                    from: field(rng) as u32,
                },
                40..70 => Verb::Restart(name(rng)),
                _ => Verb::Halt(name(rng)),
            },
        },
    }
}

/// A hostile message a service could send.
fn from_server(rng: &mut Rng) -> Message {
    let ack = field(rng);
    match rng.below(6) {
        0 => Message::Ack { ack },
        1 => Message::Data {
            ack,
            seq: field(rng),
            data: rng.some_bytes(1, MAX_DATA as u64),
        },
        2 => Message::Gap {
            ack,
            seq: field(rng),
            skipped: field(rng).max(1),
        },
        3 => Message::Event {
            ack,
            id: field(rng) as u32,
            report: CrashReport {
                partition: text(rng, 100),
                reason: text(rng, 100),
                registers: text(rng, 300),
                console_tail: rng.some_bytes(0, 300),
                ..CrashReport::default()
            }
            .fitted(crate::manage::PAYLOAD_BUDGET),
        },
        4 => Message::Reply {
            ack,
            id: field(rng) as u32,
            reply: if rng.percent(50) {
                let count = rng.below(20) as usize;
                ReplyBody::List {
                    total: (field(rng) as u32).max(count as u32),
                    entries: (0..count)
                        .map(|_| PartitionStatus {
                            name: text(rng, 20),
                            state: PartitionState::Crashed,
                            restarts: field(rng),
                            exits: field(rng),
                        })
                        .collect(),
                }
            } else {
                ReplyBody::fit(&Reply::Error(text(rng, 2000)), 0)
            },
        },
        _ => Message::Close {
            ack,
            reason: text(rng, 100),
        },
    }
}

/// Authentic datagrams with hostile field values, and authentic random bodies of every
/// kind, never panic either end; both keep working.
#[test]
fn authentic_hostile_datagrams_never_panic() {
    let (mut sim, peers) = busy_sim();
    let mut forgers: Vec<(usize, Forger)> = peers
        .iter()
        .map(|&p| {
            (
                p,
                Forger::from_welcome(&recorded_welcome(&sim, sim.peers[p].address)),
            )
        })
        .collect();
    let mut rng = Rng(0xfeed);
    let kinds: Vec<Kind> = (1..=12).filter_map(Kind::from_byte).collect();
    for round in 0..6000u64 {
        let now = sim.now;
        let (peer, forger) = &mut forgers[rng.below(3) as usize];
        let address = sim.peers[*peer].address;
        let structured = rng.percent(60);
        let mut body = Vec::new();
        // Towards the service.
        let kind = if structured {
            from_client(&mut rng).encode(&mut body)
        } else {
            body = rng.some_bytes(8, 1300);
            kinds[rng.below(kinds.len() as u64) as usize]
        };
        if kind.sent_by(Direction::ClientToHost) && !kind.is_handshake() {
            let d = forger.seal(kind, Direction::ClientToHost, &body);
            let _ = sim.server.receive(address, &d, now);
        }
        // Towards the client.
        let mut body = Vec::new();
        let kind = if structured {
            from_server(&mut rng).encode(&mut body)
        } else {
            body = rng.some_bytes(8, 1300);
            kinds[rng.below(kinds.len() as u64) as usize]
        };
        if kind.sent_by(Direction::HostToClient) && !kind.is_handshake() {
            let d = forger.seal(kind, Direction::HostToClient, &body);
            let _ = sim.peers[*peer].client.receive(&d, now);
        }
        if round % 7 == 0 {
            hostile_handshake(&mut sim, &mut rng, round);
        }
        if round % 10 == 0 {
            let bytes = rng.some_bytes(0, 2000);
            sim.server.output(rng.below(3) as usize, &bytes);
            sim.server
                .output_lost(rng.below(2) as usize, field(&mut rng));
            sim.server.crashed(
                rng.below(3) as usize,
                CrashReport {
                    registers: text(&mut rng, 3000),
                    ..CrashReport::default()
                },
            );
            let _ = sim.client(peers[0]).write(&rng.bytes(100));
        }
        sim.step();
    }
    // Whatever state the hostile input left, a new client can still attach and read.
    sim.server.output(0, b"after");
    let late = sim.add(viewer("web"));
    sim.attach(&[late]);
}

/// Authentic Hellos with hostile fields to the service, and authentic Welcomes and
/// refusals with random bodies or nonces to a client.
fn hostile_handshake(sim: &mut Sim, rng: &mut Rng, round: u64) {
    let now = sim.now;
    let role = [Role::Viewer, Role::Writer, Role::Control][rng.below(3) as usize];
    let hello = Hello {
        client_nonce: rng.bytes(NONCE_LEN).try_into().unwrap(),
        role,
        takeover: rng.percent(50),
        previous: field(rng) as u32,
        boot: if rng.percent(50) {
            sim.server.boot_id()
        } else {
            rng.bytes(8).try_into().unwrap()
        },
        resume: field(rng),
        attempt: if rng.percent(10) { 0 } else { rng.next() },
        input: field(rng),
        partition: if role == Role::Control {
            String::new()
        } else {
            name(rng)
        },
    };
    let seal = |direction, kind, body: &[u8], counter| {
        let header = Header {
            kind,
            direction,
            session: 0,
            counter,
        };
        wire::seal(&Key::base(KEY, direction), &header, body)
    };
    let body = if rng.percent(70) {
        hello.encode()
    } else {
        rng.some_bytes(8, 300)
    };
    if let Some(d) = seal(Direction::ClientToHost, Kind::Hello, &body, rng.next()) {
        let _ = sim.server.receive(1000 + round as usize % 50, &d, now);
    }
    let body = match rng.below(3) {
        0 => Welcome {
            client_nonce: rng.bytes(NONCE_LEN).try_into().unwrap(),
            key_nonce: [0; NONCE_LEN],
            server_nonce: [1; NONCE_LEN],
            session: field(rng) as u32,
            boot: [2; 8],
            partition: Some(field(rng) as u32),
            start: field(rng),
        }
        .encode(),
        1 => Refused {
            client_nonce: rng.bytes(NONCE_LEN).try_into().unwrap(),
            reason: text(rng, 200),
        }
        .encode(),
        _ => rng.some_bytes(8, 200),
    };
    let kind = if rng.percent(50) {
        Kind::Welcome
    } else {
        Kind::Refused
    };
    if let Some(d) = seal(Direction::HostToClient, kind, &body, rng.next()) {
        for peer in &mut sim.peers {
            let _ = peer.client.receive(&d, now);
        }
    }
}
