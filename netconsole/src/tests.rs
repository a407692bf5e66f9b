//! Host tests of the whole protocol: a lossy simulated network, rejection of every
//! kind of bad datagram, buffer overruns and arbitrary input.

use std::vec::Vec;

use crate::stream::StreamConfig;
use crate::wire::{Channel, MAX_DATA, MAX_DATAGRAM, MIN_DATAGRAM, Message, REPLAY_WINDOW};
use crate::{Config, Delivery, Direction, Endpoint, Reject};

const KEY: &[u8] = b"deployment console key for tests";

/// Seeded xorshift64: reproducible randomness without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
}

fn pair() -> (Endpoint, Endpoint) {
    (
        Endpoint::new(KEY, Direction::HostToClient, Config::default()),
        Endpoint::new(KEY, Direction::ClientToHost, Config::default()),
    )
}

/// Takes everything the receiver has, failing on a gap.
fn drain_bytes(endpoint: &mut Endpoint, into: &mut Vec<u8>) {
    while let Some(delivery) = endpoint.read() {
        match delivery {
            Delivery::Data(data) => into.extend_from_slice(&data),
            Delivery::Gap(n) => panic!("unexpected gap of {n} bytes"),
        }
    }
}

/// Network conditions for [`simulate`].
struct Conditions {
    loss_percent: u64,
    duplicate_percent: u64,
    /// Base one-way delay; each datagram gets up to `jitter_ms` more, which reorders.
    delay_ms: u64,
    jitter_ms: u64,
}

/// What one simulated transfer measured.
#[derive(Debug, Default)]
struct Measured {
    datagrams_sent: u64,
    datagrams_delivered: u64,
    datagrams_lost: u64,
    datagrams_duplicated: u64,
    segments_sent: u64,
    retransmissions: u64,
    timeouts: u64,
    replays_rejected: u64,
    elapsed_ms: u64,
}

/// One direction of the simulated wire: datagrams with their arrival time.
#[derive(Default)]
struct Link {
    in_flight: Vec<(u64, Vec<u8>)>,
}

impl Link {
    fn send(
        &mut self,
        datagram: Vec<u8>,
        now: u64,
        net: &Conditions,
        rng: &mut Rng,
        m: &mut Measured,
    ) {
        m.datagrams_sent += 1;
        if rng.percent(net.loss_percent) {
            m.datagrams_lost += 1;
            return;
        }
        let copies = if rng.percent(net.duplicate_percent) {
            m.datagrams_duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            let at = now + net.delay_ms + rng.below(net.jitter_ms + 1);
            self.in_flight.push((at, datagram.clone()));
        }
    }

    fn due(&mut self, now: u64) -> Vec<Vec<u8>> {
        let (due, later): (Vec<_>, Vec<_>) =
            self.in_flight.drain(..).partition(|(at, _)| *at <= now);
        self.in_flight = later;
        due.into_iter().map(|(_, d)| d).collect()
    }
}

/// Carries `len` pseudo-random bytes each way between two endpoints over `net` and
/// checks both arrive byte-exact and in order.
fn simulate(net: &Conditions, seed: u64, len: usize) -> Measured {
    let mut rng = Rng(seed);
    let payload = |salt: u64| -> Vec<u8> {
        let mut r = Rng(seed ^ salt);
        (0..len).map(|_| r.next() as u8).collect()
    };
    let to_client = payload(0x1111);
    let to_host = payload(0x2222);
    let (mut host, mut client) = pair();
    let (mut written_h, mut written_c) = (0, 0);
    let (mut got_c, mut got_h) = (Vec::new(), Vec::new());
    let (mut h2c, mut c2h) = (Link::default(), Link::default());
    let mut m = Measured::default();
    let mut now = 0;
    // Run until both streams are delivered and acknowledged and the wire is empty.
    while got_c.len() < len
        || got_h.len() < len
        || host.unacknowledged() + client.unacknowledged() > 0
        || !h2c.in_flight.is_empty()
        || !c2h.in_flight.is_empty()
    {
        assert!(
            now < 3_600_000,
            "no progress after an hour of simulated time: {m:?}"
        );
        // Producers write in uneven pieces, never more than the buffer takes.
        for (endpoint, data, written) in [
            (&mut host, &to_client, &mut written_h),
            (&mut client, &to_host, &mut written_c),
        ] {
            let piece = (rng.below(3000) as usize).min(len - *written);
            let room = Config::default().stream.buffer_bytes - endpoint.unacknowledged();
            let piece = piece.min(room);
            assert_eq!(endpoint.write(&data[*written..*written + piece]), piece);
            *written += piece;
        }
        while let Some(d) = host.poll_transmit(now) {
            h2c.send(d, now, net, &mut rng, &mut m);
        }
        while let Some(d) = client.poll_transmit(now) {
            c2h.send(d, now, net, &mut rng, &mut m);
        }
        for (link, endpoint) in [(&mut h2c, &mut client), (&mut c2h, &mut host)] {
            for d in link.due(now) {
                m.datagrams_delivered += 1;
                match endpoint.receive(&d, now) {
                    Ok(()) => {}
                    // Only the network's duplicates may be turned away.
                    Err(Reject::Replayed) => m.replays_rejected += 1,
                    Err(other) => panic!("honest datagram rejected: {other}"),
                }
            }
        }
        drain_bytes(&mut client, &mut got_c);
        drain_bytes(&mut host, &mut got_h);
        now += 1;
    }
    assert!(got_c == to_client, "host-to-client stream corrupted");
    assert!(got_h == to_host, "client-to-host stream corrupted");
    for endpoint in [&host, &client] {
        let stats = endpoint.stats();
        m.segments_sent += stats.sender.segments_sent;
        m.retransmissions += stats.sender.retransmissions;
        m.timeouts += stats.sender.timeouts;
        assert_eq!(stats.sender.bytes_skipped, 0);
        assert_eq!(stats.bogus_acks, 0);
    }
    m.elapsed_ms = now;
    std::println!("{:>2}% loss: {m:?}", net.loss_percent);
    m
}

/// A perfect network: everything arrives once, nothing is retransmitted.
#[test]
fn simulated_network_without_loss() {
    let net = Conditions {
        loss_percent: 0,
        duplicate_percent: 0,
        delay_ms: 20,
        jitter_ms: 0,
    };
    let m = simulate(&net, 1, 300 * 1024);
    assert_eq!(m.retransmissions, 0);
    assert_eq!(m.datagrams_delivered, m.datagrams_sent);
}

/// Loss, duplication, reordering and delay: 300 KiB each way still arrive exact.
#[test]
fn simulated_network_with_30_percent_loss() {
    let net = Conditions {
        loss_percent: 30,
        duplicate_percent: 5,
        delay_ms: 10,
        jitter_ms: 40,
    };
    let m = simulate(&net, 2, 300 * 1024);
    assert!(m.retransmissions > 0 && m.datagrams_lost > 0 && m.replays_rejected > 0);
}

/// More seeds and milder conditions, smaller transfers.
#[test]
fn simulated_network_many_seeds() {
    for seed in 3..15 {
        let net = Conditions {
            loss_percent: seed % 4 * 10,
            duplicate_percent: seed % 3 * 5,
            delay_ms: 1 + seed,
            jitter_ms: seed * 3,
        };
        simulate(&net, seed, 40 * 1024);
    }
}

/// Seals `count` data datagrams from host to client.
fn host_datagrams(host: &mut Endpoint, count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| {
            host.write(&[i as u8; 40]);
            host.poll_transmit(0).expect("a data datagram")
        })
        .collect()
}

/// Asserts `datagram` is rejected for `reason`, counted once, and nothing else changes.
fn assert_rejected(client: &mut Endpoint, datagram: &[u8], reason: Reject) {
    let before = client.without_reject_counts();
    let counts = client.stats().rejected;
    assert_eq!(
        client.receive(datagram, 0),
        Err(reason),
        "datagram {datagram:02x?}"
    );
    assert_eq!(
        client.without_reject_counts(),
        before,
        "state changed by a rejected datagram"
    );
    let after = client.stats().rejected;
    assert_eq!(after.get(reason), counts.get(reason) + 1);
    assert_eq!(after.total(), counts.total() + 1);
}

/// Every single-bit flip of a valid datagram is rejected, for the reason belonging to
/// the field it hit, and the original is still accepted afterwards, once.
#[test]
fn every_bit_flip_is_rejected() {
    let (mut host, mut client) = pair();
    let datagrams = host_datagrams(&mut host, 6);
    for d in &datagrams[..5] {
        client.receive(d, 0).unwrap();
    }
    let valid = &datagrams[5];
    assert_eq!(u64::from_le_bytes(valid[7..15].try_into().unwrap()), 5);
    for bit in 0..valid.len() * 8 {
        let mut flipped = valid.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        let reason = match bit / 8 {
            0..4 => Reject::BadMagic,
            4 => Reject::BadVersion,
            5 if flipped[5] == 3 => Reject::Forged, // Data became Gap: the header is AAD.
            5 => Reject::BadKind,
            6 => Reject::WrongDirection,
            7 if bit % 8 == 0 || bit % 8 == 2 => Reject::Replayed, // counter 4 or 1
            _ => Reject::Forged,
        };
        assert_rejected(&mut client, &flipped, reason);
    }
    client.receive(valid, 0).unwrap();
    assert_rejected(&mut client, valid, Reject::Replayed);
}

/// Every truncation is rejected: below the minimum size as truncated, otherwise the
/// tag no longer matches.
#[test]
fn every_truncation_is_rejected() {
    let (mut host, mut client) = pair();
    let valid = host_datagrams(&mut host, 1).remove(0);
    for len in 0..valid.len() {
        let reason = if len < MIN_DATAGRAM {
            Reject::Truncated
        } else {
            Reject::Forged
        };
        assert_rejected(&mut client, &valid[..len], reason);
    }
    client.receive(&valid, 0).unwrap();
}

/// Anything over 1400 bytes is refused before it is looked at.
#[test]
fn oversized_is_rejected() {
    let (mut host, mut client) = pair();
    let valid = host_datagrams(&mut host, 1).remove(0);
    for extra in [MAX_DATAGRAM + 1 - valid.len(), 5000] {
        let mut big = valid.clone();
        big.resize(valid.len() + extra, 0);
        assert_rejected(&mut client, &big, Reject::Oversized);
    }
    // A full-size datagram is fine.
    host.write(&[7; 3 * MAX_DATA]);
    let full = host.poll_transmit(0).unwrap();
    assert_eq!(full.len(), MAX_DATAGRAM);
    client.receive(&valid, 0).unwrap();
    client.receive(&full, 0).unwrap();
}

/// Datagrams under another key, or reflected back at their sender, are refused.
#[test]
fn forged_and_reflected_are_rejected() {
    let (mut host, mut client) = pair();
    let mut stranger = Endpoint::new(
        b"some other key",
        Direction::HostToClient,
        Config::default(),
    );
    let forged = host_datagrams(&mut stranger, 1).remove(0);
    assert_rejected(&mut client, &forged, Reject::Forged);
    let own = host_datagrams(&mut host, 1).remove(0);
    assert_rejected(&mut host, &own, Reject::WrongDirection);
    // Rewriting the direction byte does not help: the reverse direction has its own key.
    let mut rewritten = own.clone();
    rewritten[6] = Direction::ClientToHost as u8;
    assert_rejected(&mut host, &rewritten, Reject::Forged);
    client.receive(&own, 0).unwrap();
}

/// The replay window accepts reordered counters once each and refuses those older than
/// 64 datagrams behind the newest.
#[test]
fn replay_window() {
    let (mut host, mut client) = pair();
    let d = host_datagrams(&mut host, 101);
    client.receive(&d[100], 0).unwrap();
    let oldest_in_window = (100 - REPLAY_WINDOW + 1) as usize;
    assert_rejected(&mut client, &d[oldest_in_window - 1], Reject::TooOld);
    assert_rejected(&mut client, &d[0], Reject::TooOld);
    for i in [oldest_in_window, 99, 50, 70] {
        client.receive(&d[i], 0).unwrap();
        assert_rejected(&mut client, &d[i], Reject::Replayed);
    }
    assert_rejected(&mut client, &d[100], Reject::Replayed);
}

/// An authentic body that does not fit its kind is refused as malformed and its
/// counter stays unused.
#[test]
fn malformed_body_is_rejected() {
    let mut channel = Channel::new(KEY, Direction::HostToClient);
    let valid = channel.seal(&Message::Ack { ack: 0 }).unwrap();
    // Re-seal the same counter with one extra body byte under the peer's key.
    let mut client = Endpoint::new(KEY, Direction::ClientToHost, Config::default());
    let header = &valid[..crate::wire::HEADER_LEN];
    let key = crate::wire::derive_key(KEY, Direction::HostToClient);
    let mut body = std::vec![0u8; 9];
    let mut nonce = [0u8; 12];
    nonce[4..].copy_from_slice(&header[7..15]);
    let tag = crate::aead::seal(&key, &nonce, header, &mut body);
    let mut bad = header.to_vec();
    bad.extend_from_slice(&body);
    bad.extend_from_slice(&tag);
    assert_rejected(&mut client, &bad, Reject::Malformed);
    client.receive(&valid, 0).unwrap();
}

/// A producer that overruns the buffer is told how much fitted, and the receiver gets
/// the bytes that fitted, then a gap of exactly the bytes that did not, then what
/// followed; consecutive overruns before the gap is sent add up into one gap.
#[test]
fn overrun_produces_exact_gap() {
    let config = Config {
        stream: StreamConfig {
            buffer_bytes: 4096,
            ..StreamConfig::default()
        },
        ..Config::default()
    };
    let mut host = Endpoint::new(KEY, Direction::HostToClient, config);
    let mut client = Endpoint::new(KEY, Direction::ClientToHost, Config::default());
    let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
    assert_eq!(host.write(&data[..6000]), 4096);
    assert_eq!(host.write(&data[6000..6100]), 0);
    assert_eq!(host.stats().sender.bytes_skipped, 2004);
    let mut now = 0;
    let exchange = |host: &mut Endpoint, client: &mut Endpoint, now: u64| {
        while let Some(d) = host.poll_transmit(now) {
            client.receive(&d, now).unwrap();
        }
        while let Some(d) = client.poll_transmit(now) {
            host.receive(&d, now).unwrap();
        }
    };
    exchange(&mut host, &mut client, now);
    assert_eq!(host.unacknowledged(), 0);
    // A second overrun after the first gap was sent is a separate gap.
    assert_eq!(host.write(&data[6100..6200]), 100);
    assert_eq!(host.write(&data[..5000]), 3996);
    assert_eq!(host.write(&data[..7]), 0);
    now += 1;
    exchange(&mut host, &mut client, now);
    let mut got = Vec::new();
    while let Some(delivery) = client.read() {
        match delivery {
            Delivery::Data(bytes) => match got.last_mut() {
                Some(Delivery::Data(prev)) => prev.extend_from_slice(&bytes),
                _ => got.push(Delivery::Data(bytes)),
            },
            gap => got.push(gap),
        }
    }
    let mut second = data[6100..6200].to_vec();
    second.extend_from_slice(&data[..3996]);
    assert_eq!(
        got,
        std::vec![
            Delivery::Data(data[..4096].to_vec()),
            Delivery::Gap(2004),
            Delivery::Data(second),
            Delivery::Gap(1004 + 7),
        ]
    );
    assert_eq!(host.stats().sender.bytes_skipped, 2004 + 1011);
}

/// Arbitrary bytes, mutated valid datagrams, and authentic datagrams with hostile
/// field values never panic an endpoint.
#[test]
fn arbitrary_input_never_panics() {
    let mut rng = Rng(0xdead_beef);
    let (mut host, mut client) = pair();
    let valid = host_datagrams(&mut host, 64);
    for _ in 0..20_000 {
        let datagram: Vec<u8> = match rng.below(3) {
            0 => (0..rng.below(1600)).map(|_| rng.next() as u8).collect(),
            _ => {
                let original = &valid[rng.below(64) as usize];
                let mut d = original.clone();
                for _ in 0..=rng.below(4) {
                    let i = rng.below(d.len() as u64) as usize;
                    d[i] ^= 1 + rng.below(255) as u8;
                }
                if d == *original {
                    // Two flips of one byte cancelled out.
                    continue;
                }
                d
            }
        };
        assert!(client.receive(&datagram, 0).is_err());
    }
    let mut peer = Channel::new(KEY, Direction::HostToClient);
    let edge = [0, 1, 2, u64::MAX - 1, u64::MAX, 1 << 63];
    let field = |rng: &mut Rng| {
        if rng.percent(50) {
            edge[rng.below(edge.len() as u64) as usize]
        } else {
            rng.next()
        }
    };
    for now in 0..5_000 {
        let ack = field(&mut rng);
        let seq = field(&mut rng);
        let message = match rng.below(3) {
            0 => Message::Ack { ack },
            1 => Message::Data {
                ack,
                seq,
                data: std::vec![1; 1 + rng.below(MAX_DATA as u64) as usize],
            },
            _ => Message::Gap {
                ack,
                seq,
                skipped: field(&mut rng).max(1),
            },
        };
        client.receive(&peer.seal(&message).unwrap(), now).unwrap();
        client.write(&[2; 100]);
        while client.poll_transmit(now).is_some() {}
        while client.read().is_some() {}
    }
}

/// The sender never has more than the window in flight, and sends more only as
/// acknowledgements arrive.
#[test]
fn send_window_bounds_data_in_flight() {
    let (mut host, mut client) = pair();
    let window = Config::default().stream.window_bytes;
    assert_eq!(host.write(&[5; 40 * 1024]), 40 * 1024);
    let mut burst = Vec::new();
    while let Some(d) = host.poll_transmit(0) {
        burst.push(d);
    }
    let in_flight: usize = burst.len() * MAX_DATA;
    assert!(in_flight <= window, "{in_flight} bytes in flight");
    assert!(in_flight + MAX_DATA > window, "window not filled");
    for d in &burst {
        client.receive(d, 1).unwrap();
    }
    let ack = client.poll_transmit(1).unwrap();
    assert!(
        client.poll_transmit(1).is_none(),
        "one acknowledgement covers the burst"
    );
    host.receive(&ack, 2).unwrap();
    assert_eq!(host.unacknowledged(), 40 * 1024 - in_flight);
    assert!(host.poll_transmit(2).is_some());
}

/// Unacknowledged data is sent again when the timeout expires, not before, and the
/// timeout doubles while nothing is acknowledged, then resets.
#[test]
fn retransmission_timeout_and_backoff() {
    let (mut host, mut client) = pair();
    let rto = Config::default().stream.initial_rto_ms;
    host.write(b"hello");
    let first = host.poll_transmit(0).unwrap();
    assert_eq!(host.poll_at(), Some(rto));
    assert!(host.poll_transmit(rto - 1).is_none());
    let again = host.poll_transmit(rto).unwrap();
    assert_ne!(again, first, "a retransmission uses a fresh counter");
    assert_eq!(host.poll_at(), Some(rto + 2 * rto));
    assert!(host.poll_transmit(3 * rto - 1).is_none());
    assert!(host.poll_transmit(3 * rto).is_some());
    assert_eq!(host.stats().sender.retransmissions, 2);
    assert_eq!(host.stats().sender.timeouts, 2);
    // The first copy arrives late; the others are duplicates of delivered data.
    client.receive(&first, 700).unwrap();
    client.receive(&again, 700).unwrap();
    assert_eq!(client.read(), Some(Delivery::Data(b"hello".to_vec())));
    assert_eq!(client.read(), None);
    let ack = client.poll_transmit(700).unwrap();
    host.receive(&ack, 700).unwrap();
    assert_eq!(host.unacknowledged(), 0);
    assert_eq!(host.poll_at(), None);
    host.write(b"again");
    host.poll_transmit(800).unwrap();
    assert_eq!(host.poll_at(), Some(800 + rto), "backoff reset by progress");
}

/// Segments that arrive ahead of a hole are held and delivered once the hole fills,
/// without any retransmission.
#[test]
fn reordered_segments_are_held_not_dropped() {
    let (mut host, mut client) = pair();
    let data: Vec<u8> = (0..4 * MAX_DATA).map(|i| (i * 7) as u8).collect();
    host.write(&data);
    let mut d = Vec::new();
    while let Some(x) = host.poll_transmit(0) {
        d.push(x);
    }
    assert_eq!(d.len(), 4);
    for i in [3, 1, 2, 0] {
        client.receive(&d[i], 1).unwrap();
    }
    let mut got = Vec::new();
    drain_bytes(&mut client, &mut got);
    assert_eq!(got, data);
    host.receive(&client.poll_transmit(1).unwrap(), 2).unwrap();
    assert_eq!(host.unacknowledged(), 0);
    assert_eq!(host.stats().sender.retransmissions, 0);
}
