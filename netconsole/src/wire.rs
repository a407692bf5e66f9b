//! The datagram format, key derivation and the replay window.
//!
//! Every datagram is a 15-byte clear header followed by the sealed body and a 16-byte
//! Poly1305 tag; all integers are little-endian:
//!
//! ```text
//!  offset 0        4     5     6     7                  15             n-16       n
//!         +--------+-----+-----+-----+------------------+--------------+----------+
//!         | magic  | ver | kind| dir | counter          | body         | tag      |
//!         | "BHNC" |  1  |     |     | u64, the nonce   | ChaCha20     | Poly1305 |
//!         +--------+-----+-----+-----+------------------+--------------+----------+
//!         \______ clear header, the associated data ______/
//! ```
//!
//! A datagram is at least 39 bytes (an `Ack`) and at most 1400.
//!
//! `dir` is the sender's direction ([`Direction`]); each direction has its own key
//! (HKDF-SHA256 of the console key), so a datagram reflected back at its sender fails
//! authentication even if the direction byte were rewritten. `counter` counts the
//! sender's datagrams in that direction from 0 and is the AEAD nonce (four zero bytes,
//! then the counter), so no nonce repeats under one key. The receiver keeps a 64-entry
//! sliding window over counters it has accepted.
//!
//! Sealed bodies, by kind:
//!
//! ```text
//!  Ack  (1): ack u64
//!  Data (2): ack u64 | seq u64 | 1..=MAX_DATA bytes of console output
//!  Gap  (3): ack u64 | seq u64 | skipped u64 (nonzero)
//! ```
//!
//! `ack` is the sender's cumulative acknowledgement of the opposite stream (the next
//! stream position it expects); `seq` is the stream position of the first byte (or of
//! the skipped run) the datagram carries.

use alloc::vec::Vec;
use hkdf::Hkdf;
use sha2::Sha256;

use crate::aead;

/// The first four bytes of every datagram.
pub const MAGIC: [u8; 4] = *b"BHNC";
/// The protocol version this crate speaks.
pub const VERSION: u8 = 1;
/// Length of the clear header.
pub const HEADER_LEN: usize = 15;
/// The largest datagram sent or accepted: fits an Ethernet MTU with IPv4/IPv6 and UDP.
pub const MAX_DATAGRAM: usize = 1400;
/// The smallest well-formed datagram: a header, an `Ack` body and a tag.
pub const MIN_DATAGRAM: usize = HEADER_LEN + ACK_BODY_LEN + aead::TAG_LEN;
/// Console bytes one `Data` datagram carries at most.
pub const MAX_DATA: usize = MAX_DATAGRAM - HEADER_LEN - aead::TAG_LEN - SEGMENT_PREFIX_LEN;
/// Width of the replay window in datagrams.
pub const REPLAY_WINDOW: u64 = 64;

// The sizes the module documentation and docs/netconsole.md state.
const _: () = assert!(MIN_DATAGRAM == 39 && MAX_DATA == 1353);

const ACK_BODY_LEN: usize = 8;
const SEGMENT_PREFIX_LEN: usize = 16;
const GAP_BODY_LEN: usize = 24;

const HKDF_SALT: &[u8] = b"bulkhead-netconsole v1";

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
enum Kind {
    Ack = 1,
    Data = 2,
    Gap = 3,
}

/// One authenticated datagram's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Only an acknowledgement.
    Ack {
        /// The next position of the opposite stream the sender expects.
        ack: u64,
    },
    /// Console bytes.
    Data {
        /// The next position of the opposite stream the sender expects.
        ack: u64,
        /// Stream position of `data[0]`.
        seq: u64,
        /// The bytes, 1 to [`MAX_DATA`] of them.
        data: Vec<u8>,
    },
    /// The producer overran the sender's buffer: `skipped` bytes were dropped here.
    Gap {
        /// The next position of the opposite stream the sender expects.
        ack: u64,
        /// Stream position where the dropped bytes would have started.
        seq: u64,
        /// How many bytes were dropped (never zero).
        skipped: u64,
    },
}

impl Message {
    /// The acknowledgement every message carries.
    pub fn ack(&self) -> u64 {
        match *self {
            Self::Ack { ack } | Self::Data { ack, .. } | Self::Gap { ack, .. } => ack,
        }
    }

    fn kind(&self) -> Kind {
        match self {
            Self::Ack { .. } => Kind::Ack,
            Self::Data { .. } => Kind::Data,
            Self::Gap { .. } => Kind::Gap,
        }
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.ack().to_le_bytes());
        match self {
            Self::Ack { .. } => {}
            Self::Data { seq, data, .. } => {
                out.extend_from_slice(&seq.to_le_bytes());
                out.extend_from_slice(data);
            }
            Self::Gap { seq, skipped, .. } => {
                out.extend_from_slice(&seq.to_le_bytes());
                out.extend_from_slice(&skipped.to_le_bytes());
            }
        }
    }

    fn decode_body(kind: Kind, body: &[u8]) -> Option<Self> {
        let word = |i: usize| -> Option<u64> {
            let bytes = body.get(i * 8..i * 8 + 8)?;
            Some(u64::from_le_bytes(bytes.try_into().ok()?))
        };
        let ack = word(0)?;
        match kind {
            Kind::Ack if body.len() == ACK_BODY_LEN => Some(Self::Ack { ack }),
            Kind::Data if body.len() > SEGMENT_PREFIX_LEN => Some(Self::Data {
                ack,
                seq: word(1)?,
                data: body[SEGMENT_PREFIX_LEN..].to_vec(),
            }),
            Kind::Gap if body.len() == GAP_BODY_LEN => {
                let skipped = word(2)?;
                (skipped != 0).then_some(Self::Gap {
                    ack,
                    seq: word(1)?,
                    skipped,
                })
            }
            _ => None,
        }
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
    /// An unknown kind byte.
    #[error("unknown datagram kind")]
    BadKind,
    /// Sent in this receiver's own direction (a reflection).
    #[error("datagram travels the wrong way")]
    WrongDirection,
    /// Authentication failed: forged, corrupted or sealed under another key.
    #[error("authentication failed (wrong console key or corrupted datagram)")]
    Forged,
    /// Its counter was accepted before.
    #[error("replayed datagram")]
    Replayed,
    /// Its counter is older than the replay window.
    #[error("datagram older than the replay window")]
    TooOld,
    /// Authentic, but its body does not fit its kind (a peer bug).
    #[error("authentic datagram with a malformed body")]
    Malformed,
}

impl Reject {
    /// Every reason, in [`RejectCounts`] order.
    pub const ALL: [Reject; 10] = [
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

    fn bump(&mut self, reason: Reject) {
        self.0[reason.index()] = self.0[reason.index()].saturating_add(1);
    }
}

/// Sliding window over accepted counters: bit `i` of `seen` is counter `top - i`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct ReplayWindow {
    /// Highest accepted counter plus one; 0 while nothing was accepted.
    top_plus_one: u64,
    seen: u64,
}

impl ReplayWindow {
    fn check(&self, counter: u64) -> Result<(), Reject> {
        let Some(top) = self.top_plus_one.checked_sub(1) else {
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
        match self.top_plus_one.checked_sub(1) {
            Some(top) if counter <= top => self.seen |= 1 << (top - counter),
            Some(top) => {
                let shift = counter - top;
                self.seen = if shift >= REPLAY_WINDOW {
                    0
                } else {
                    self.seen << shift
                };
                self.seen |= 1;
                self.top_plus_one = counter + 1;
            }
            None => {
                self.seen = 1;
                self.top_plus_one = counter + 1;
            }
        }
    }
}

/// Sealing and opening datagrams for one endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Channel {
    direction: Direction,
    send_key: [u8; aead::KEY_LEN],
    recv_key: [u8; aead::KEY_LEN],
    /// Counter of the next datagram to seal; `None` once all 2^64 are used.
    next_counter: Option<u64>,
    replay: ReplayWindow,
    rejected: RejectCounts,
}

/// The sender has used every counter value; the channel needs a new key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("datagram counter exhausted")]
pub struct CounterExhausted;

pub(crate) fn derive_key(console_key: &[u8], direction: Direction) -> [u8; aead::KEY_LEN] {
    let mut key = [0u8; aead::KEY_LEN];
    Hkdf::<Sha256>::new(Some(HKDF_SALT), console_key)
        .expand(direction.hkdf_info(), &mut key)
        .expect("32 bytes is within HKDF-SHA256's output limit");
    key
}

fn nonce(counter: u64) -> [u8; aead::NONCE_LEN] {
    let mut nonce = [0u8; aead::NONCE_LEN];
    nonce[4..].copy_from_slice(&counter.to_le_bytes());
    nonce
}

impl Channel {
    /// A channel that sends in `direction`, keyed from the deployment's console key.
    pub fn new(console_key: &[u8], direction: Direction) -> Self {
        Self {
            direction,
            send_key: derive_key(console_key, direction),
            recv_key: derive_key(console_key, direction.reverse()),
            next_counter: Some(0),
            replay: ReplayWindow::default(),
            rejected: RejectCounts::default(),
        }
    }

    /// Datagrams dropped so far, per reason.
    pub fn rejected(&self) -> RejectCounts {
        self.rejected
    }

    #[cfg(test)]
    pub(crate) fn clear_rejected(&mut self) {
        self.rejected = RejectCounts::default();
    }

    /// Whether [`Self::seal`] can still seal (the counter is not exhausted).
    pub fn can_seal(&self) -> bool {
        self.next_counter.is_some()
    }

    /// Seals `message` into a datagram of at most [`MAX_DATAGRAM`] bytes.
    ///
    /// # Panics
    ///
    /// If a `Data` message carries no bytes or more than [`MAX_DATA`], or a `Gap` skips
    /// zero bytes: the stream code never builds those.
    pub fn seal(&mut self, message: &Message) -> Result<Vec<u8>, CounterExhausted> {
        match message {
            Message::Data { data, .. } => {
                assert!((1..=MAX_DATA).contains(&data.len()), "data segment length");
            }
            Message::Gap { skipped, .. } => assert!(*skipped != 0, "empty gap"),
            Message::Ack { .. } => {}
        }
        let counter = self.next_counter.ok_or(CounterExhausted)?;
        self.next_counter = counter.checked_add(1);
        let mut out = Vec::with_capacity(MAX_DATAGRAM);
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.push(message.kind() as u8);
        out.push(self.direction as u8);
        out.extend_from_slice(&counter.to_le_bytes());
        message.encode_body(&mut out);
        let (header, body) = out.split_at_mut(HEADER_LEN);
        let tag = aead::seal(&self.send_key, &nonce(counter), header, body);
        out.extend_from_slice(&tag);
        debug_assert!(out.len() <= MAX_DATAGRAM);
        Ok(out)
    }

    /// Authenticates and decodes a received datagram.
    ///
    /// A rejected datagram changes nothing but the count for its reason.
    pub fn open(&mut self, datagram: &[u8]) -> Result<Message, Reject> {
        self.try_open(datagram)
            .inspect_err(|&reason| self.rejected.bump(reason))
    }

    fn try_open(&mut self, datagram: &[u8]) -> Result<Message, Reject> {
        if datagram.len() > MAX_DATAGRAM {
            return Err(Reject::Oversized);
        }
        if datagram.len() < MIN_DATAGRAM {
            return Err(Reject::Truncated);
        }
        let (header, rest) = datagram.split_at(HEADER_LEN);
        if header[..4] != MAGIC {
            return Err(Reject::BadMagic);
        }
        if header[4] != VERSION {
            return Err(Reject::BadVersion);
        }
        let kind = match header[5] {
            1 => Kind::Ack,
            2 => Kind::Data,
            3 => Kind::Gap,
            _ => return Err(Reject::BadKind),
        };
        if header[6] != self.direction.reverse() as u8 {
            return Err(Reject::WrongDirection);
        }
        let mut counter_bytes = [0u8; 8];
        counter_bytes.copy_from_slice(&header[7..15]);
        let counter = u64::from_le_bytes(counter_bytes);
        // Cheap check first; the window only moves once the datagram is authentic.
        self.replay.check(counter)?;
        let (body, tag) = rest.split_at(rest.len() - aead::TAG_LEN);
        let mut tag_bytes = [0u8; aead::TAG_LEN];
        tag_bytes.copy_from_slice(tag);
        let mut body = body.to_vec();
        if !aead::open(
            &self.recv_key,
            &nonce(counter),
            header,
            &mut body,
            &tag_bytes,
        ) {
            return Err(Reject::Forged);
        }
        let message = Message::decode_body(kind, &body).ok_or(Reject::Malformed)?;
        self.replay.accept(counter);
        Ok(message)
    }
}
