//! The datagram format: the clear header, the keys, sealing and opening.
//!
//! Every datagram is a 19-byte clear header followed by the sealed body and a 16-byte
//! Poly1305 tag; all integers are little-endian:
//!
//! ```text
//!  offset 0        4     5     6     7           11                 19         n-16       n
//!         +--------+-----+-----+-----+-----------+------------------+----------+----------+
//!         | magic  | ver | kind| dir | session   | counter          | body     | tag      |
//!         | "BHNC" |  2  |     |     | u32       | u64, the nonce   | ChaCha20 | Poly1305 |
//!         +--------+-----+-----+-----+-----------+------------------+----------+----------+
//!         \_______________ clear header, the associated data ________/
//! ```
//!
//! A datagram is at least 43 bytes (an `Ack`) and at most 1400.
//!
//! `dir` is the sender's [`Direction`]; each direction has its own key, so a datagram
//! reflected back at its sender fails authentication even if the direction byte were
//! rewritten. `session` is 0 for the handshake ([`Kind::Hello`], [`Kind::Welcome`],
//! [`Kind::Refused`]), which is sealed under the deployment's base keys, and names the
//! session otherwise, whose own keys seal everything else. `counter` is the AEAD nonce
//! (four zero bytes, then the counter): under a session key it counts that sender's
//! datagrams from 0; under a base key, which every client and every run of the
//! service share, it is a 64-bit random value, so that restarts do not repeat nonces.
//!
//! The handshake bodies are in [`crate::handshake`]; every body is laid out in
//! `docs/netconsole.md`.

use alloc::vec::Vec;
use core::fmt;

use hkdf::Hkdf;
use sha2::Sha256;

use crate::aead;

/// The first four bytes of every datagram.
pub const MAGIC: [u8; 4] = *b"BHNC";
/// The protocol version this crate speaks.
pub const VERSION: u8 = 2;
/// Length of the clear header.
pub const HEADER_LEN: usize = 19;
/// Length of the authentication tag at the end of every datagram.
pub const TAG_LEN: usize = aead::TAG_LEN;
/// The largest datagram sent or accepted: fits an Ethernet MTU with IPv4/IPv6 and UDP.
pub const MAX_DATAGRAM: usize = 1400;
/// The largest sealed body.
pub const MAX_BODY: usize = MAX_DATAGRAM - HEADER_LEN - TAG_LEN;
/// The smallest body of any kind: an `Ack`'s acknowledgement.
pub const MIN_BODY: usize = 8;
/// The smallest well-formed datagram: a header, an `Ack` body and a tag.
pub const MIN_DATAGRAM: usize = HEADER_LEN + MIN_BODY + TAG_LEN;
/// Console bytes one `Data` datagram carries at most (the body also holds `ack` and
/// `seq`).
pub const MAX_DATA: usize = MAX_BODY - 16;
/// Width of a session's replay window in datagrams.
pub const REPLAY_WINDOW: u64 = 64;
/// Length of the client's and the server's handshake nonces.
pub const NONCE_LEN: usize = 16;

// The sizes the module documentation and docs/netconsole.md state.
const _: () = assert!(MIN_DATAGRAM == 43 && MAX_BODY == 1365 && MAX_DATA == 1349);

const BASE_SALT: &[u8] = b"bulkhead-netconsole v2";
const SESSION_SALT: &[u8] = b"bulkhead-netconsole v2 session";

/// Which way a datagram travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From the hypervisor's console service to a client.
    HostToClient = 0,
    /// From a client to the hypervisor's console service.
    ClientToHost = 1,
}

impl Direction {
    /// The direction replies travel in.
    pub fn reverse(self) -> Self {
        match self {
            Self::HostToClient => Self::ClientToHost,
            Self::ClientToHost => Self::HostToClient,
        }
    }

    fn hkdf_info(self) -> &'static [u8] {
        match self {
            Self::HostToClient => b"host-to-client",
            Self::ClientToHost => b"client-to-host",
        }
    }
}

/// The header's `kind` byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Only an acknowledgement of the opposite stream (either way).
    Ack = 1,
    /// Console bytes (host to client) or keystrokes (client to host).
    Data = 2,
    /// A run of stream positions whose bytes were lost (either way).
    Gap = 3,
    /// A client asks for a session (base key, session 0).
    Hello = 4,
    /// The service grants one (base key, session 0).
    Welcome = 5,
    /// The service refuses one (base key, session 0).
    Refused = 6,
    /// An acknowledgement that asks for one back: the client's keepalive.
    Ping = 7,
    /// A management verb from the client.
    Request = 8,
    /// The service's answer to a request.
    Reply = 9,
    /// A crash report, resent until acknowledged.
    Event = 10,
    /// The client acknowledges an event.
    EventAck = 11,
    /// The service ended the session (another writer took over).
    Close = 12,
}

impl Kind {
    /// The kind a header byte names, if any.
    pub fn from_byte(byte: u8) -> Option<Self> {
        Some(match byte {
            1 => Self::Ack,
            2 => Self::Data,
            3 => Self::Gap,
            4 => Self::Hello,
            5 => Self::Welcome,
            6 => Self::Refused,
            7 => Self::Ping,
            8 => Self::Request,
            9 => Self::Reply,
            10 => Self::Event,
            11 => Self::EventAck,
            12 => Self::Close,
            _ => return None,
        })
    }

    /// Whether this kind belongs to the handshake (session 0, base keys).
    pub fn is_handshake(self) -> bool {
        matches!(self, Self::Hello | Self::Welcome | Self::Refused)
    }

    /// Whether a sender in `direction` may send this kind.
    pub fn sent_by(self, direction: Direction) -> bool {
        match self {
            Self::Ack | Self::Data | Self::Gap => true,
            Self::Hello | Self::Ping | Self::Request | Self::EventAck => {
                direction == Direction::ClientToHost
            }
            Self::Welcome | Self::Refused | Self::Reply | Self::Event | Self::Close => {
                direction == Direction::HostToClient
            }
        }
    }
}

/// The clear header of a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// What the body holds.
    pub kind: Kind,
    /// The sender's direction.
    pub direction: Direction,
    /// The session, or 0 for the handshake.
    pub session: u32,
    /// The nonce: a per-session count, or a random value under a base key.
    pub counter: u64,
}

impl Header {
    /// The header as it goes on the wire.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..4].copy_from_slice(&MAGIC);
        out[4] = VERSION;
        out[5] = self.kind as u8;
        out[6] = self.direction as u8;
        out[7..11].copy_from_slice(&self.session.to_le_bytes());
        out[11..19].copy_from_slice(&self.counter.to_le_bytes());
        out
    }

    /// Reads and checks the clear header of a datagram sent in direction `from`.
    ///
    /// The checks run in the order of the reasons in `docs/netconsole.md`; none of
    /// them needs a key, so a receiver refuses junk before it spends any work on it.
    /// A handshake kind must carry session 0; a session kind with session 0 is left to
    /// the receiver, which knows no session 0 ([`Reject::UnknownSession`]).
    pub fn parse(datagram: &[u8], from: Direction) -> Result<Self, Reject> {
        if datagram.len() > MAX_DATAGRAM {
            return Err(Reject::Oversized);
        }
        if datagram.len() < MIN_DATAGRAM {
            return Err(Reject::Truncated);
        }
        if datagram[..4] != MAGIC {
            return Err(Reject::BadMagic);
        }
        if datagram[4] != VERSION {
            return Err(Reject::BadVersion);
        }
        let kind = Kind::from_byte(datagram[5]).ok_or(Reject::BadKind)?;
        if datagram[6] != from as u8 {
            return Err(Reject::WrongDirection);
        }
        let session = u32::from_le_bytes([datagram[7], datagram[8], datagram[9], datagram[10]]);
        let mut counter = [0u8; 8];
        counter.copy_from_slice(&datagram[11..19]);
        if !kind.sent_by(from) || (kind.is_handshake() && session != 0) {
            return Err(Reject::BadKind);
        }
        Ok(Self {
            kind,
            direction: from,
            session,
            counter: u64::from_le_bytes(counter),
        })
    }
}

/// A 256-bit ChaCha20-Poly1305 key for one direction.
#[derive(Clone, PartialEq, Eq)]
pub struct Key([u8; aead::KEY_LEN]);

impl fmt::Debug for Key {
    // Keys never reach a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(..)")
    }
}

impl Key {
    /// The deployment's base key for `direction`, which seals only the handshake:
    /// HKDF-SHA256 with salt `bulkhead-netconsole v2` and the direction as info.
    pub fn base(console_key: &[u8], direction: Direction) -> Self {
        Self::derive(BASE_SALT, console_key, direction)
    }

    /// A session's key for `direction`: HKDF-SHA256 with salt `bulkhead-netconsole v2
    /// session` ‖ client nonce ‖ server nonce ‖ session id (u32 LE) and the direction as
    /// info. Either side's fresh nonce makes the key new, so the counters of a session
    /// can start at zero again.
    pub fn session(
        console_key: &[u8],
        client_nonce: &[u8; NONCE_LEN],
        server_nonce: &[u8; NONCE_LEN],
        session: u32,
        direction: Direction,
    ) -> Self {
        let mut salt = [0u8; SESSION_SALT.len() + 2 * NONCE_LEN + 4];
        let (label, rest) = salt.split_at_mut(SESSION_SALT.len());
        label.copy_from_slice(SESSION_SALT);
        rest[..NONCE_LEN].copy_from_slice(client_nonce);
        rest[NONCE_LEN..2 * NONCE_LEN].copy_from_slice(server_nonce);
        rest[2 * NONCE_LEN..].copy_from_slice(&session.to_le_bytes());
        Self::derive(&salt, console_key, direction)
    }

    fn derive(salt: &[u8], console_key: &[u8], direction: Direction) -> Self {
        let mut key = [0u8; aead::KEY_LEN];
        Hkdf::<Sha256>::new(Some(salt), console_key)
            .expand(direction.hkdf_info(), &mut key)
            .expect("32 bytes is within HKDF-SHA256's output limit");
        Self(key)
    }
}

fn nonce(counter: u64) -> [u8; aead::NONCE_LEN] {
    let mut nonce = [0u8; aead::NONCE_LEN];
    nonce[4..].copy_from_slice(&counter.to_le_bytes());
    nonce
}

/// Seals `body` under `key` behind `header`. Returns `None` if the body is longer than
/// [`MAX_BODY`] or shorter than [`MIN_BODY`].
///
/// The caller owns nonce uniqueness: a key must never seal two datagrams with one
/// counter.
pub fn seal(key: &Key, header: &Header, body: &[u8]) -> Option<Vec<u8>> {
    if !(MIN_BODY..=MAX_BODY).contains(&body.len()) {
        return None;
    }
    let mut out = Vec::with_capacity(HEADER_LEN + body.len() + TAG_LEN);
    out.extend_from_slice(&header.encode());
    out.extend_from_slice(body);
    let (clear, sealed) = out.split_at_mut(HEADER_LEN);
    let tag = aead::seal(&key.0, &nonce(header.counter), clear, sealed);
    out.extend_from_slice(&tag);
    Some(out)
}

/// Authenticates a datagram whose header [`Header::parse`] accepted, and returns its
/// body in the clear. Anything changed anywhere, or a wrong key, is
/// [`Reject::Forged`].
pub fn open(key: &Key, datagram: &[u8]) -> Result<Vec<u8>, Reject> {
    if datagram.len() < MIN_DATAGRAM {
        return Err(Reject::Truncated);
    }
    let (header, rest) = datagram.split_at(HEADER_LEN);
    let (body, tag) = rest.split_at(rest.len() - TAG_LEN);
    let mut counter = [0u8; 8];
    counter.copy_from_slice(&header[11..19]);
    let mut tag_bytes = [0u8; TAG_LEN];
    tag_bytes.copy_from_slice(tag);
    let mut body = body.to_vec();
    if aead::open(
        &key.0,
        &nonce(u64::from_le_bytes(counter)),
        header,
        &mut body,
        &tag_bytes,
    ) {
        Ok(body)
    } else {
        Err(Reject::Forged)
    }
}

/// Why a datagram was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Reject {
    /// Shorter than the smallest datagram.
    #[error("datagram shorter than {MIN_DATAGRAM} bytes")]
    Truncated,
    /// Longer than [`MAX_DATAGRAM`].
    #[error("datagram longer than {MAX_DATAGRAM} bytes")]
    Oversized,
    /// Not a console datagram.
    #[error("bad magic: not a Bulkhead console datagram")]
    BadMagic,
    /// A protocol version this side does not speak.
    #[error("unsupported protocol version")]
    BadVersion,
    /// An unknown kind byte, or a kind this receiver never gets (a handshake kind
    /// outside session 0 included).
    #[error("unknown or unexpected datagram kind")]
    BadKind,
    /// Sent in this receiver's own direction (a reflection).
    #[error("datagram travels the wrong way")]
    WrongDirection,
    /// Authentication failed: forged, corrupted or sealed under another key.
    #[error("authentication failed (wrong console key or corrupted datagram)")]
    Forged,
    /// Its counter was accepted before, or a handshake it answers or repeats is over.
    #[error("replayed datagram")]
    Replayed,
    /// Its counter is older than the replay window.
    #[error("datagram older than the replay window")]
    TooOld,
    /// Authentic, but its body does not fit its kind, or the sender's role may not
    /// send it (a peer bug).
    #[error("authentic datagram with a malformed body")]
    Malformed,
    /// It names no session this receiver has (ended, timed out, or never existed).
    #[error("datagram for an unknown session")]
    UnknownSession,
}

impl Reject {
    /// Every reason, in [`RejectCounts`] order.
    pub const ALL: [Reject; 11] = [
        Self::Truncated,
        Self::Oversized,
        Self::BadMagic,
        Self::BadVersion,
        Self::BadKind,
        Self::WrongDirection,
        Self::Forged,
        Self::Replayed,
        Self::TooOld,
        Self::Malformed,
        Self::UnknownSession,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// How many datagrams were dropped, per [`Reject`] reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RejectCounts([u64; Reject::ALL.len()]);

impl RejectCounts {
    /// The count for one reason.
    pub fn get(&self, reason: Reject) -> u64 {
        self.0[reason.index()]
    }

    /// The count over all reasons.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    pub(crate) fn bump(&mut self, reason: Reject) {
        self.0[reason.index()] = self.0[reason.index()].saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(kind: Kind, direction: Direction, session: u32) -> Header {
        Header {
            kind,
            direction,
            session,
            counter: 7,
        }
    }

    /// The header round-trips, and the reasons that need no key come in the documented
    /// order: size, magic, version, kind, direction, kind for that direction/session.
    #[test]
    fn header_checks_in_order() {
        let key = Key::base(b"k", Direction::ClientToHost);
        let hello = header(Kind::Hello, Direction::ClientToHost, 0);
        let d = seal(&key, &hello, &[0; 60]).unwrap();
        assert_eq!(Header::parse(&d, Direction::ClientToHost), Ok(hello));
        assert_eq!(
            Header::parse(&d, Direction::HostToClient),
            Err(Reject::WrongDirection)
        );
        let mut bad = d.clone();
        bad[5] = 13;
        assert_eq!(
            Header::parse(&bad, Direction::ClientToHost),
            Err(Reject::BadKind)
        );
        // A handshake kind outside session 0, a host kind sent by a client.
        let d = seal(
            &key,
            &header(Kind::Hello, Direction::ClientToHost, 3),
            &[0; 60],
        )
        .unwrap();
        assert_eq!(
            Header::parse(&d, Direction::ClientToHost),
            Err(Reject::BadKind)
        );
        let d = seal(
            &key,
            &header(Kind::Reply, Direction::ClientToHost, 3),
            &[0; 60],
        )
        .unwrap();
        assert_eq!(
            Header::parse(&d, Direction::ClientToHost),
            Err(Reject::BadKind)
        );
        assert_eq!(
            Header::parse(&d[..MIN_DATAGRAM - 1], Direction::ClientToHost),
            Err(Reject::Truncated)
        );
    }

    /// Session keys differ per nonce, per session and per direction, and never equal
    /// the base key.
    #[test]
    fn session_keys_are_distinct() {
        let (a, b) = ([1; NONCE_LEN], [2; NONCE_LEN]);
        let k = Key::session(b"key", &a, &b, 5, Direction::HostToClient);
        assert_ne!(k, Key::session(b"key", &b, &a, 5, Direction::HostToClient));
        assert_ne!(k, Key::session(b"key", &a, &b, 6, Direction::HostToClient));
        assert_ne!(k, Key::session(b"key", &a, &b, 5, Direction::ClientToHost));
        assert_ne!(k, Key::base(b"key", Direction::HostToClient));
        assert_eq!(k, Key::session(b"key", &a, &b, 5, Direction::HostToClient));
        assert_eq!(std::format!("{k:?}"), "Key(..)");
    }

    /// Bodies outside the documented sizes are not sealed.
    #[test]
    fn seal_refuses_bad_body_sizes() {
        let key = Key::base(b"k", Direction::HostToClient);
        let h = header(Kind::Ack, Direction::HostToClient, 1);
        assert!(seal(&key, &h, &[0; MIN_BODY - 1]).is_none());
        assert!(seal(&key, &h, &[0; MAX_BODY + 1]).is_none());
        assert_eq!(seal(&key, &h, &[0; MAX_BODY]).unwrap().len(), MAX_DATAGRAM);
    }
}
