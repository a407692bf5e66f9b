//! Feeds arbitrary datagrams to a service and a client that share a live session; both
//! must refuse or handle them, never panic.
//!
//! Random bytes almost never authenticate, so most inputs are sealed first, the way
//! only a holder of the console key could: the first byte picks how.
//!
//! - 0: the bytes as they are, to both ends.
//! - 1: a Hello body under the base key, to the service.
//! - 2: a Welcome or Refused body under the base key, to the client.
//! - anything else: the second byte is the kind, the rest the body, sealed under the
//!   session's keys both ways, so the session body decoders and everything behind
//!   them see every input.
#![no_main]

use bulkhead_netconsole::handshake::Welcome;
use bulkhead_netconsole::wire::{self, Direction, Header, Key, Kind, MIN_BODY};
use bulkhead_netconsole::{
    Client, ClientConfig, ClientRequest, Reply, Request, Role, Server, ServerConfig,
};
use libfuzzer_sys::fuzz_target;

const KEY: &[u8] = b"console key for fuzzing the wire";
const CLIENT: u8 = 1;

/// A service and a writer client with an established session, and that session's id
/// and keys.
struct Pair {
    server: Server<u8>,
    client: Client,
    session: u32,
    to_server: Key,
    to_client: Key,
}

fn established() -> Pair {
    let mut server = Server::new(
        KEY,
        vec!["web".into(), "db".into()],
        [1; 32],
        ServerConfig::default(),
    );
    let mut client = Client::new(KEY, ClientConfig::new(Role::Writer, "web"), [2; 32]);
    let hello = client.poll_transmit(0).expect("a Hello");
    server.receive(CLIENT, &hello, 0).expect("an honest Hello");
    server.output(0, b"some output before the fuzzed datagram\n");
    let (_, welcome) = server.poll_transmit(0).expect("a Welcome");
    client.receive(&welcome, 1).expect("an honest Welcome");
    let body = wire::open(&Key::base(KEY, Direction::HostToClient), &welcome).expect("sealed");
    let welcome = Welcome::decode(&body).expect("a Welcome body");
    client.write(b"keys");
    client.request(ClientRequest::List);
    while let Some(datagram) = client.poll_transmit(1) {
        let _ = server.receive(CLIENT, &datagram, 2);
    }
    let key = |direction| {
        Key::session(
            KEY,
            &welcome.key_nonce,
            &welcome.server_nonce,
            welcome.session,
            direction,
        )
    };
    Pair {
        server,
        client,
        session: welcome.session,
        to_server: key(Direction::ClientToHost),
        to_client: key(Direction::HostToClient),
    }
}

fn seal(key: &Key, kind: Kind, direction: Direction, session: u32, body: &[u8]) -> Option<Vec<u8>> {
    let mut body = body.to_vec();
    if body.len() < MIN_BODY {
        body.resize(MIN_BODY, 0);
    }
    let header = Header {
        kind,
        direction,
        session,
        // Above anything the honest exchange used, so the replay window lets it in.
        counter: 1 << 32,
    };
    wire::seal(key, &header, &body)
}

/// Runs both ends until they have nothing more to say to each other.
fn exchange(pair: &mut Pair) {
    for now in [3, 1_000, 60_000] {
        for _ in 0..64 {
            let mut quiet = true;
            while let Some((token, request)) = pair.server.poll_request() {
                let reply = match request {
                    Request::List => Reply::List(Vec::new()),
                    Request::Restart { .. } | Request::Halt { .. } => Reply::Done("ok".into()),
                };
                pair.server.respond(token, reply);
            }
            pair.server.take_input(0, |_| true);
            while pair.server.poll_notice().is_some() {}
            while let Some((_, datagram)) = pair.server.poll_transmit(now) {
                quiet = false;
                let _ = pair.client.receive(&datagram, now);
            }
            while let Some(datagram) = pair.client.poll_transmit(now) {
                quiet = false;
                let _ = pair.server.receive(CLIENT, &datagram, now);
            }
            while pair.client.poll_event().is_some() {}
            if quiet {
                break;
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut pair = established();
    match mode {
        0 => {
            let _ = pair.server.receive(CLIENT, rest, 3);
            let _ = pair.client.receive(rest, 3);
        }
        1 => {
            let key = Key::base(KEY, Direction::ClientToHost);
            if let Some(d) = seal(&key, Kind::Hello, Direction::ClientToHost, 0, rest) {
                let _ = pair.server.receive(CLIENT + 1, &d, 3);
            }
        }
        2 => {
            let key = Key::base(KEY, Direction::HostToClient);
            for kind in [Kind::Welcome, Kind::Refused] {
                if let Some(d) = seal(&key, kind, Direction::HostToClient, 0, rest) {
                    let _ = pair.client.receive(&d, 3);
                }
            }
        }
        _ => {
            let Some((&kind, body)) = rest.split_first() else {
                return;
            };
            let Some(kind) = Kind::from_byte(kind) else {
                return;
            };
            let session = pair.session;
            if let Some(d) = seal(
                &pair.to_server,
                kind,
                Direction::ClientToHost,
                session,
                body,
            ) {
                let _ = pair.server.receive(CLIENT, &d, 3);
            }
            if let Some(d) = seal(
                &pair.to_client,
                kind,
                Direction::HostToClient,
                session,
                body,
            ) {
                let _ = pair.client.receive(&d, 3);
            }
        }
    }
    exchange(&mut pair);
});
