//! Streams under a simulated network: exact output and keystrokes under loss, many
//! clients and partitions, outages, reconnects, overruns and lost output.

use std::vec::Vec;

use super::{Conditions, Log, Rng, Sim, viewer, writer};
use crate::{ClientEvent, Notice, ServerConfig};

/// Asserts that `log` holds `produced` exactly, except for runs its gaps stand for,
/// each of exactly the right length.
fn assert_exact_with_gaps(log: &Log, produced: &[u8]) {
    let (mut position, mut received) = (0usize, 0usize);
    for &(at, count) in &log.gaps {
        let run = at - received;
        assert!(
            log.output[received..at] == produced[position..position + run],
            "output before the gap at {at} differs"
        );
        position += run + count as usize;
        received = at;
    }
    assert!(
        log.output[received..] == produced[position..],
        "output after the last gap differs"
    );
}

/// What one transfer measured.
#[derive(Debug)]
struct Measured {
    datagrams: u64,
    lost: u64,
    output_segments: u64,
    output_retransmissions: u64,
    input_segments: u64,
    input_retransmissions: u64,
    elapsed_ms: u64,
}

/// Carries `len` pseudo-random bytes of output to a writer and `len` keystrokes back
/// over `net`, and checks both arrive byte-exact, in order, once.
fn transfer(net: Conditions, seed: u64, len: usize) -> Measured {
    let mut sim = Sim::new(&["web"], ServerConfig::default(), net, seed);
    let w = sim.add(writer("web"));
    sim.attach(&[w]);
    let start = sim.now;
    let mut rng = Rng(seed ^ 0x5eed);
    let output = rng.bytes(len);
    let keys = rng.bytes(len);
    let (mut produced, mut typed) = (0, 0);
    let room = ServerConfig::default().stream.buffer_bytes;
    loop {
        let piece = (rng.below(3000) as usize)
            .min(len - produced)
            .min(room - sim.server.output_backlog(0));
        sim.server.output(0, &output[produced..produced + piece]);
        produced += piece;
        let piece = (rng.below(3000) as usize).min(len - typed);
        typed += sim.client(w).write(&keys[typed..typed + piece]);
        sim.step();
        let finished = sim.peers[w].log.output.len() == len
            && sim.input[0].len() == len
            && sim.server.output_backlog(0) == 0
            && sim.quiet();
        if finished {
            break;
        }
        assert!(sim.now < start + 3_600_000, "no progress after an hour");
    }
    let log = &sim.peers[w].log;
    assert!(log.output == output, "output corrupted");
    assert!(log.gaps.is_empty());
    assert!(sim.input[0] == keys, "keystrokes corrupted");
    assert_eq!(log.attached(), 1, "{:?}", log.events);
    sim.assert_honest();
    let server = sim.server.stats();
    let client = sim.peers[w].client.stats();
    assert_eq!(server.output.bytes_skipped, 0);
    let m = Measured {
        datagrams: sim.wire.sent,
        lost: sim.wire.lost,
        output_segments: server.output.segments_sent,
        output_retransmissions: server.output.retransmissions,
        input_segments: client.input.segments_sent,
        input_retransmissions: client.input.retransmissions,
        elapsed_ms: sim.now - start,
    };
    std::println!(
        "{:>2}% loss, {} KiB each way: {m:?}",
        net.loss_percent,
        len / 1024
    );
    m
}

/// A perfect network: output and keystrokes arrive once, nothing is retransmitted.
#[test]
fn transfer_without_loss() {
    let m = transfer(
        Conditions {
            delay_ms: 20,
            ..Conditions::PERFECT
        },
        1,
        300 * 1024,
    );
    assert_eq!(m.output_retransmissions + m.input_retransmissions, 0);
    assert_eq!(m.lost, 0);
    // Acknowledgements ride on data both ways; few datagrams are bare.
    assert!(
        m.datagrams < m.output_segments + m.input_segments + 64,
        "{m:?}"
    );
    assert!(m.elapsed_ms < 5000);
}

/// 30 % loss, duplication, reordering and delay: 300 KiB each way still arrive exact.
#[test]
fn transfer_with_30_percent_loss() {
    let m = transfer(Conditions::lossy(30), 2, 300 * 1024);
    assert!(m.output_retransmissions > 0 && m.input_retransmissions > 0);
    assert!(m.elapsed_ms < 120_000, "{m:?}");
}

/// More seeds and milder conditions, smaller transfers.
#[test]
fn transfer_many_seeds() {
    for seed in 3..11 {
        let net = Conditions {
            loss_percent: seed % 4 * 10,
            duplicate_percent: seed % 3 * 5,
            delay_ms: 1 + seed,
            jitter_ms: seed * 3,
        };
        transfer(net, seed, 24 * 1024);
    }
}

/// Several viewers and a writer on one partition and a viewer and a writer on
/// another, under loss: every viewer gets its own partition's output exactly, and each
/// partition gets its own writer's keystrokes.
#[test]
fn partitions_and_viewers_stay_apart() {
    let mut sim = Sim::new(
        &["web", "db"],
        ServerConfig::default(),
        Conditions::lossy(20),
        7,
    );
    let web: Vec<usize> = (0..3).map(|_| sim.add(viewer("web"))).collect();
    let web_writer = sim.add(writer("web"));
    let db = sim.add(viewer("db"));
    let db_writer = sim.add(writer("db"));
    let mut all = web.clone();
    all.extend([web_writer, db, db_writer]);
    sim.attach(&all);
    let mut rng = Rng(77);
    let len = 40 * 1024;
    let outputs = [rng.bytes(len), rng.bytes(len)];
    let keys = [rng.bytes(5000), rng.bytes(7000)];
    let mut produced = [0usize; 2];
    let mut typed = [0usize; 2];
    let room = ServerConfig::default().stream.buffer_bytes;
    let finished = |sim: &Sim| {
        web.iter()
            .chain([&web_writer])
            .all(|&p| sim.peers[p].log.output.len() == len)
            && [db, db_writer]
                .iter()
                .all(|&p| sim.peers[p].log.output.len() == len)
            && sim.input[0].len() == keys[0].len()
            && sim.input[1].len() == keys[1].len()
    };
    while !finished(&sim) {
        for partition in 0..2 {
            let piece = (rng.below(2000) as usize)
                .min(len - produced[partition])
                .min(room - sim.server.output_backlog(partition));
            let from = produced[partition];
            sim.server
                .output(partition, &outputs[partition][from..from + piece]);
            produced[partition] += piece;
        }
        for (partition, peer) in [(0, web_writer), (1, db_writer)] {
            let k = &keys[partition];
            let piece = (rng.below(300) as usize).min(k.len() - typed[partition]);
            let from = typed[partition];
            typed[partition] += sim.client(peer).write(&k[from..from + piece]);
        }
        sim.step();
        assert!(sim.now < 600_000, "no progress");
    }
    for &p in web.iter().chain([&web_writer]) {
        assert!(sim.peers[p].log.output == outputs[0], "web viewer {p}");
    }
    for p in [db, db_writer] {
        assert!(sim.peers[p].log.output == outputs[1], "db viewer {p}");
    }
    assert!(sim.input[0] == keys[0] && sim.input[1] == keys[1]);
    // Viewers cannot type.
    assert_eq!(sim.client(web[0]).write(b"x"), 0);
    sim.assert_honest();
}

/// Produces `bytes` into `partition` in pieces over simulated time, while the writer
/// `typist` (if any) types `keys`.
fn produce(sim: &mut Sim, partition: usize, bytes: &[u8], typist: Option<(usize, &[u8])>) {
    let mut rng = Rng(bytes.len() as u64 + 5);
    let (mut produced, mut typed) = (0, 0);
    let keys = typist.map_or(&[][..], |(_, k)| k);
    let start = sim.now;
    while produced < bytes.len() || typed < keys.len() {
        assert!(
            sim.now < start + 600_000,
            "the typist cannot type: {:?}",
            sim.notices
        );
        let piece = (rng.below(1500) as usize).min(bytes.len() - produced);
        sim.server
            .output(partition, &bytes[produced..produced + piece]);
        produced += piece;
        if let Some((peer, _)) = typist {
            let piece = (rng.below(100) as usize).min(keys.len() - typed);
            typed += sim.client(peer).write(&keys[typed..typed + piece]);
        }
        sim.step();
    }
}

/// An outage longer than the client's patience but shorter than the service's: the
/// client reconnects, continues its session, and gets every byte of output produced
/// meanwhile exactly once, while its keystrokes typed before and during the outage
/// arrive exactly once, in order.
#[test]
fn reconnect_after_outage_resumes_exactly() {
    let mut sim = Sim::new(&["web"], ServerConfig::default(), Conditions::lossy(10), 11);
    let w = sim.add(writer("web"));
    sim.attach(&[w]);
    let mut rng = Rng(3);
    let output = rng.bytes(80 * 1024);
    let keys = rng.bytes(9000);
    produce(&mut sim, 0, &output[..20 * 1024], Some((w, &keys[..3000])));
    let first_session = sim.peers[w].client.session();
    sim.down = true;
    let outage_start = sim.now;
    produce(
        &mut sim,
        0,
        &output[20 * 1024..60 * 1024],
        Some((w, &keys[3000..6000])),
    );
    sim.run_until(30_000, |s| s.now >= outage_start + 20_000);
    assert!(
        sim.peers[w].log.events.contains(&ClientEvent::Reconnecting),
        "the client noticed the outage"
    );
    sim.down = false;
    produce(&mut sim, 0, &output[60 * 1024..], Some((w, &keys[6000..])));
    let ok = sim.run_until(120_000, |s| {
        s.peers[w].log.output.len() == output.len() && s.input[0].len() == keys.len()
    });
    assert!(
        ok,
        "stalled at {} bytes, input {}: {:?} {:?} {:?} {:?} {:?}",
        sim.peers[w].log.output.len(),
        sim.input[0].len(),
        sim.peers[w].client,
        sim.peers[w].log.events,
        sim.peers[w].log.gaps,
        sim.notices,
        sim.server.stats()
    );
    sim.run_for(2000);
    let log = &sim.peers[w].log;
    assert!(log.gaps.is_empty(), "{:?}", log.gaps);
    assert!(log.output == output, "output lost or repeated");
    assert!(sim.input[0] == keys, "keystrokes lost or repeated");
    let resumed: Vec<bool> = log
        .events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Attached { resumed, .. } => Some(*resumed),
            _ => None,
        })
        .collect();
    assert_eq!(resumed.first(), Some(&false));
    assert!(resumed[1..].iter().all(|&r| r), "{resumed:?}");
    assert!(sim.notices.iter().any(|n| matches!(n,
        Notice::Replaced { session, .. } if Some(*session) == first_session)));
    assert_eq!(sim.server.stats().sessions, 1);
    sim.assert_honest();
}

/// A reconnect whose new session began at the service while the client never heard
/// from it: the client gives up on it and names the session before it, and the service
/// follows that to the silent session, so output and keystrokes still continue exactly.
#[test]
fn reconnect_through_a_silent_session() {
    let mut sim = Sim::new(&["web"], ServerConfig::default(), Conditions::lossy(5), 17);
    let w = sim.add(writer("web"));
    sim.attach(&[w]);
    let mut rng = Rng(9);
    let output = rng.bytes(30 * 1024);
    let keys = rng.bytes(3000);
    produce(&mut sim, 0, &output[..10 * 1024], Some((w, &keys[..1000])));
    sim.down = true;
    sim.run_for(11_000);
    sim.down = false;
    assert!(sim.run_until(10_000, |s| s.peers[w].log.attached() == 2));
    // The Welcome arrived; nothing after it will.
    sim.down_to_clients = true;
    produce(
        &mut sim,
        0,
        &output[10 * 1024..20 * 1024],
        Some((w, &keys[1000..2000])),
    );
    let silent = sim.peers[w].client.session();
    let gave_up = |s: &Sim| s.peers[w].log.count(|e| *e == ClientEvent::Reconnecting) == 2;
    assert!(sim.run_until(30_000, gave_up));
    sim.down_to_clients = false;
    produce(&mut sim, 0, &output[20 * 1024..], Some((w, &keys[2000..])));
    let ok = sim.run_until(60_000, |s| {
        s.peers[w].log.output.len() == output.len() && s.input[0].len() == keys.len()
    });
    assert!(ok, "stalled");
    let log = &sim.peers[w].log;
    assert!(log.gaps.is_empty());
    assert!(log.output == output, "output lost or repeated");
    assert!(sim.input[0] == keys, "keystrokes lost or repeated");
    // The silent session had begun and was continued.
    assert!(sim.notices.iter().any(|n| matches!(n,
        Notice::Replaced { session, .. } if Some(*session) == silent)));
    sim.assert_honest();
}

/// An outage past the session timeout and past the history: the client comes back,
/// continues its keystroke stream exactly, and gets the output the history still has
/// after a gap of exactly the bytes it no longer has.
#[test]
fn reconnect_past_history_gives_exact_gap() {
    let history = 16 * 1024;
    let config = ServerConfig {
        history_bytes: history,
        ..ServerConfig::default()
    };
    let mut sim = Sim::new(&["web"], config, Conditions::lossy(10), 12);
    let w = sim.add(writer("web"));
    sim.attach(&[w]);
    let mut rng = Rng(4);
    let output = rng.bytes(100 * 1024);
    let keys = rng.bytes(4000);
    produce(&mut sim, 0, &output[..10 * 1024], Some((w, &keys[..1000])));
    sim.down = true;
    let outage_start = sim.now;
    produce(&mut sim, 0, &output[10 * 1024..], Some((w, &keys[1000..])));
    sim.run_until(60_000, |s| s.now >= outage_start + 45_000);
    assert!(
        sim.notices
            .iter()
            .any(|n| matches!(n, Notice::TimedOut { .. }))
    );
    sim.down = false;
    let ok = sim.run_until(120_000, |s| {
        let log = &s.peers[w].log;
        log.output.len() as u64 + log.gap_total() == output.len() as u64
            && s.input[0].len() == keys.len()
    });
    assert!(ok, "stalled");
    let log = &sim.peers[w].log;
    assert_eq!(log.gaps.len(), 1, "{:?}", log.gaps);
    let (at, count) = log.gaps[0];
    assert_eq!(at as u64 + count, (output.len() - history) as u64);
    assert_exact_with_gaps(log, &output);
    assert!(sim.input[0] == keys, "keystrokes lost or repeated");
    sim.assert_honest();
}

/// A partition that outruns a client by more than the history: the client gets gaps
/// of exactly what the history dropped before it could be sent, and everything else
/// in order.
#[test]
fn falling_behind_the_history_gives_exact_gaps() {
    let config = ServerConfig {
        history_bytes: 16 * 1024,
        ..ServerConfig::default()
    };
    let mut sim = Sim::new(&["web"], config, Conditions::lossy(10), 13);
    let v = sim.add(viewer("web"));
    sim.attach(&[v]);
    let output = Rng(5).bytes(160 * 1024);
    for chunk in output.chunks(40 * 1024) {
        sim.server.output(0, chunk);
        sim.run_for(30);
    }
    let ok = sim.run_until(60_000, |s| {
        let log = &s.peers[v].log;
        log.output.len() as u64 + log.gap_total() == output.len() as u64
    });
    assert!(ok);
    let log = &sim.peers[v].log;
    assert!(log.gaps.len() >= 3, "{:?}", log.gaps);
    assert_exact_with_gaps(log, &output);
    assert!(log.output.ends_with(&output[output.len() - 16 * 1024..]));
    assert_eq!(sim.server.stats().output.bytes_skipped, log.gap_total());
}

/// Output lost before it reached the service is an exact gap, in its place.
#[test]
fn lost_output_is_an_exact_gap() {
    let mut sim = Sim::new(&["web"], ServerConfig::default(), Conditions::PERFECT, 14);
    let v = sim.add(viewer("web"));
    sim.attach(&[v]);
    sim.server.output(0, b"abc");
    sim.server.output_lost(0, 1000);
    sim.server.output(0, b"def");
    sim.run_for(100);
    let log = &sim.peers[v].log;
    assert_eq!(log.output, b"abcdef");
    assert_eq!(log.gaps, [(3, 1000)]);
    assert_eq!(sim.peers[v].client.position(), 1006);
    // A late viewer gets the same from the history.
    let late = sim.add(viewer("web"));
    sim.attach(&[late]);
    sim.run_for(100);
    assert_eq!(sim.peers[late].log.output, b"abcdef");
    assert_eq!(sim.peers[late].log.gaps, [(3, 1000)]);
}

/// A client that attaches late gets the history the service keeps, from the oldest
/// byte kept, with no gap and the absolute position of its start.
#[test]
fn late_viewer_gets_history() {
    let mut sim = Sim::new(&["web"], ServerConfig::default(), Conditions::lossy(10), 15);
    let output = Rng(6).bytes(100 * 1024);
    sim.server.output(0, &output);
    let v = sim.add(viewer("web"));
    sim.attach(&[v]);
    let kept = ServerConfig::default().history_bytes;
    assert!(sim.run_until(30_000, |s| s.peers[v].log.output.len() == kept));
    let log = &sim.peers[v].log;
    assert!(log.output[..] == output[output.len() - kept..]);
    assert!(log.gaps.is_empty());
    let start = (output.len() - kept) as u64;
    assert!(matches!(log.events[0],
        ClientEvent::Attached { start: s, resumed: false, .. } if s == start));
    assert_eq!(sim.peers[v].client.position(), output.len() as u64);
}

/// When the service restarts (a new boot id), a returning client does not resume:
/// positions start over with the new boot's history.
#[test]
fn service_reboot_starts_over() {
    let mut sim = Sim::new(&["web"], ServerConfig::default(), Conditions::PERFECT, 16);
    let v = sim.add(viewer("web"));
    sim.attach(&[v]);
    sim.server.output(0, b"first boot\n");
    sim.run_for(100);
    sim.server = crate::Server::new(
        super::KEY,
        std::vec![std::string::String::from("web")],
        [9; 32],
        ServerConfig::default(),
    );
    sim.server.output(0, b"second boot\n");
    let ok = sim.run_until(30_000, |s| s.peers[v].log.attached() == 2);
    assert!(ok);
    sim.run_for(100);
    let log = &sim.peers[v].log;
    assert_eq!(log.output, b"first boot\nsecond boot\n");
    assert!(log.events.contains(&ClientEvent::Reconnecting));
    assert!(matches!(
        log.events.last(),
        Some(ClientEvent::Attached {
            start: 0,
            resumed: false,
            ..
        })
    ));
    assert_eq!(sim.peers[v].client.position(), 12);
}
