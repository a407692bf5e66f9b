//! The bodies of the handshake datagrams, sealed under the deployment's base keys in
//! session 0.
//!
//! ```text
//!  Hello   (4): client_nonce [16] | role u8 | flags u8 | previous u32 | boot [8]
//!               | resume u64 | attempt u64 | input u64 | partition name (0..=255 bytes)
//!  Welcome (5): client_nonce [16] | key_nonce [16] | server_nonce [16] | session u32
//!               | boot [8] | partition u32 (0xffff_ffff: none) | start u64
//!  Refused (6): client_nonce [16] | reason (UTF-8, 0..=255 bytes)
//! ```
//!
//! `flags` bit 0 is takeover; the other bits must be zero. The name and the reason run
//! to the end of the body. Why each field is there is in `docs/netconsole.md`.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::codec::{Reader, truncate_str};
use crate::wire::NONCE_LEN;

/// The longest partition name a Hello or a request carries, in bytes.
pub const MAX_NAME: usize = 255;
/// The longest refusal reason, in bytes.
pub const MAX_REASON: usize = 255;

const FLAG_TAKEOVER: u8 = 1;
const NO_PARTITION: u32 = u32::MAX;

/// What a session may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Reads one partition's output; any number per partition. Management: List only.
    Viewer = 0,
    /// Reads one partition's output and types into it; one per partition. Management:
    /// List, and Restart and Halt of its own partition.
    Writer = 1,
    /// No partition: management of every partition, and every crash report.
    Control = 2,
}

impl Role {
    fn from_byte(byte: u8) -> Option<Self> {
        Some(match byte {
            0 => Self::Viewer,
            1 => Self::Writer,
            2 => Self::Control,
            _ => return None,
        })
    }
}

/// A client's request for a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    /// Fresh random bytes: half of the session key's salt, and what the answer echoes.
    pub client_nonce: [u8; NONCE_LEN],
    /// The role asked for.
    pub role: Role,
    /// A writer that finds another writer attached replaces it instead of being
    /// refused.
    pub takeover: bool,
    /// The session this client had before (0: none): the service ends it, hands its
    /// state (input, requests, events) on, and lets a writer reclaim its role.
    pub previous: u32,
    /// The service's boot id the client last saw (zeros: none); `previous` and
    /// `resume` only count if it is the current one.
    pub boot: [u8; 8],
    /// The partition output position the client has received up to.
    pub resume: u64,
    /// Random, the same in every retry of one handshake: a retry whose Welcome was
    /// lost gets that Welcome again instead of a second session.
    pub attempt: u64,
    /// Where the client's keystroke stream continues (its oldest unacknowledged byte).
    pub input: u64,
    /// The partition to attach to; empty for [`Role::Control`].
    pub partition: String,
}

impl Hello {
    /// The body, with the partition name cut to [`MAX_NAME`] bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(54 + self.partition.len());
        out.extend_from_slice(&self.client_nonce);
        out.push(self.role as u8);
        out.push(if self.takeover { FLAG_TAKEOVER } else { 0 });
        out.extend_from_slice(&self.previous.to_le_bytes());
        out.extend_from_slice(&self.boot);
        out.extend_from_slice(&self.resume.to_le_bytes());
        out.extend_from_slice(&self.attempt.to_le_bytes());
        out.extend_from_slice(&self.input.to_le_bytes());
        out.extend_from_slice(truncate_str(&self.partition, MAX_NAME).as_bytes());
        out
    }

    /// Decodes a body; `None` if it is malformed (unknown role or flags, a name that is
    /// too long or not UTF-8, or a Control hello that names a partition).
    pub fn decode(body: &[u8]) -> Option<Self> {
        let mut r = Reader::new(body);
        let client_nonce = r.array()?;
        let role = Role::from_byte(r.u8()?)?;
        let flags = r.u8()?;
        if flags & !FLAG_TAKEOVER != 0 {
            return None;
        }
        let hello = Self {
            client_nonce,
            role,
            takeover: flags & FLAG_TAKEOVER != 0,
            previous: r.u32()?,
            boot: r.array()?,
            resume: r.u64()?,
            attempt: r.u64()?,
            input: r.u64()?,
            partition: name(r.rest())?,
        };
        let named = !hello.partition.is_empty();
        (named != (role == Role::Control)).then_some(hello)
    }
}

fn name(bytes: &[u8]) -> Option<String> {
    if bytes.len() > MAX_NAME {
        return None;
    }
    core::str::from_utf8(bytes).ok().map(ToString::to_string)
}

/// The service's grant of a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Welcome {
    /// The nonce of the Hello this answers, which is how the client knows it is fresh
    /// and its own.
    pub client_nonce: [u8; NONCE_LEN],
    /// The client nonce the session keys use: that of the Hello that created the
    /// session. A retry's answer differs here from `client_nonce`, so the client need
    /// not remember every nonce it ever sent.
    pub key_nonce: [u8; NONCE_LEN],
    /// The service's half of the session key's salt.
    pub server_nonce: [u8; NONCE_LEN],
    /// The session id (never 0).
    pub session: u32,
    /// Identifies this run of the service; a client resumes only within one.
    pub boot: [u8; 8],
    /// The partition's index, or `None` for a Control session.
    pub partition: Option<u32>,
    /// The absolute partition output position where the session's stream begins.
    pub start: u64,
}

impl Welcome {
    /// The body.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(72);
        out.extend_from_slice(&self.client_nonce);
        out.extend_from_slice(&self.key_nonce);
        out.extend_from_slice(&self.server_nonce);
        out.extend_from_slice(&self.session.to_le_bytes());
        out.extend_from_slice(&self.boot);
        out.extend_from_slice(&self.partition.unwrap_or(NO_PARTITION).to_le_bytes());
        out.extend_from_slice(&self.start.to_le_bytes());
        out
    }

    /// Decodes a body; `None` if it is malformed (wrong length, session 0).
    pub fn decode(body: &[u8]) -> Option<Self> {
        let mut r = Reader::new(body);
        let welcome = Self {
            client_nonce: r.array()?,
            key_nonce: r.array()?,
            server_nonce: r.array()?,
            session: r.u32()?,
            boot: r.array()?,
            partition: Some(r.u32()?).filter(|&p| p != NO_PARTITION),
            start: r.u64()?,
        };
        (r.is_empty() && welcome.session != 0).then_some(welcome)
    }
}

/// The service's refusal of a Hello.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The Hello's nonce.
    pub client_nonce: [u8; NONCE_LEN],
    /// Why, for the user.
    pub reason: String,
}

impl Refused {
    /// The body, with the reason cut to [`MAX_REASON`] bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(NONCE_LEN + self.reason.len());
        out.extend_from_slice(&self.client_nonce);
        out.extend_from_slice(truncate_str(&self.reason, MAX_REASON).as_bytes());
        out
    }

    /// Decodes a body; `None` if the reason is too long or not UTF-8.
    pub fn decode(body: &[u8]) -> Option<Self> {
        let mut r = Reader::new(body);
        let client_nonce = r.array()?;
        let reason = r.rest();
        if reason.len() > MAX_REASON {
            return None;
        }
        Some(Self {
            client_nonce,
            reason: core::str::from_utf8(reason).ok()?.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello(role: Role, partition: &str) -> Hello {
        Hello {
            client_nonce: [3; NONCE_LEN],
            role,
            takeover: true,
            previous: 9,
            boot: [4; 8],
            resume: 1 << 40,
            attempt: 77,
            input: 12,
            partition: partition.to_string(),
        }
    }

    /// Every body round-trips, with the layout's sizes.
    #[test]
    fn bodies_round_trip() {
        let h = hello(Role::Writer, "web");
        assert_eq!(h.encode().len(), 54 + 3);
        assert_eq!(Hello::decode(&h.encode()), Some(h));
        let c = hello(Role::Control, "");
        assert_eq!(Hello::decode(&c.encode()), Some(c));
        for partition in [Some(2), None] {
            let w = Welcome {
                client_nonce: [1; NONCE_LEN],
                key_nonce: [7; NONCE_LEN],
                server_nonce: [2; NONCE_LEN],
                session: 5,
                boot: [6; 8],
                partition,
                start: 1234,
            };
            assert_eq!(w.encode().len(), 72);
            assert_eq!(Welcome::decode(&w.encode()), Some(w));
        }
        let r = Refused {
            client_nonce: [1; NONCE_LEN],
            reason: "no".to_string(),
        };
        assert_eq!(Refused::decode(&r.encode()), Some(r));
    }

    /// Malformed bodies are refused: bad role or flags, a name for Control or none for
    /// a viewer, a name past the limit or not UTF-8, a Welcome for session 0 or with
    /// trailing bytes.
    #[test]
    fn malformed_bodies() {
        let good = hello(Role::Viewer, "web").encode();
        let mut bad = good.clone();
        bad[16] = 3;
        assert_eq!(Hello::decode(&bad), None);
        let mut bad = good.clone();
        bad[17] = 2;
        assert_eq!(Hello::decode(&bad), None);
        assert_eq!(Hello::decode(&hello(Role::Control, "web").encode()), None);
        assert_eq!(Hello::decode(&hello(Role::Viewer, "").encode()), None);
        let mut long = good[..54].to_vec();
        long.extend_from_slice(&[b'a'; MAX_NAME + 1]);
        assert_eq!(Hello::decode(&long), None);
        let mut not_utf8 = good[..54].to_vec();
        not_utf8.push(0xff);
        assert_eq!(Hello::decode(&not_utf8), None);
        assert_eq!(Hello::decode(&good[..53]), None);
        let w = Welcome {
            client_nonce: [1; NONCE_LEN],
            key_nonce: [1; NONCE_LEN],
            server_nonce: [2; NONCE_LEN],
            session: 0,
            boot: [6; 8],
            partition: None,
            start: 0,
        };
        assert_eq!(Welcome::decode(&w.encode()), None);
        let mut trailing = Welcome { session: 1, ..w }.encode();
        trailing.push(0);
        assert_eq!(Welcome::decode(&trailing), None);
    }

    /// Names and reasons past the limit are cut on a character boundary when encoded.
    #[test]
    fn long_names_are_cut() {
        let h = hello(Role::Viewer, &"é".repeat(200));
        let decoded = Hello::decode(&h.encode()).unwrap();
        assert_eq!(decoded.partition, "é".repeat(127));
    }
}
