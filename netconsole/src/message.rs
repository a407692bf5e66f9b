//! The bodies of session datagrams, sealed under the session's keys.
//!
//! Every one starts with `ack`, the sender's cumulative acknowledgement of the opposite
//! byte stream (the next stream position it expects), so any datagram acknowledges:
//!
//! ```text
//!  Ack      (1): ack u64
//!  Data     (2): ack u64 | seq u64 | 1..=1349 stream bytes
//!  Gap      (3): ack u64 | seq u64 | skipped u64 (nonzero)
//!  Ping     (7): ack u64                            (client only; answered by an Ack)
//!  Request  (8): ack u64 | id u32 | verb            (client only)
//!  Reply    (9): ack u64 | id u32 | reply           (service only)
//!  Event   (10): ack u64 | id u32 | crash report    (service only)
//!  EventAck(11): ack u64 | id u32                   (client only)
//!  Close   (12): ack u64 | reason (UTF-8, 0..=255)  (service only)
//! ```
//!
//! `seq` is the stream position of the first byte, or of the skipped run. Verbs,
//! replies and reports are laid out in [`crate::manage`].

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::codec::{Reader, truncate_str};
use crate::handshake::MAX_REASON;
use crate::manage::{CrashReport, ReplyBody, Verb};
use crate::wire::{Kind, MAX_DATA};

/// One session datagram's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Message {
    Ack {
        ack: u64,
    },
    Ping {
        ack: u64,
    },
    Data {
        ack: u64,
        seq: u64,
        data: Vec<u8>,
    },
    Gap {
        ack: u64,
        seq: u64,
        skipped: u64,
    },
    Request {
        ack: u64,
        id: u32,
        verb: Verb,
    },
    Reply {
        ack: u64,
        id: u32,
        reply: ReplyBody,
    },
    Event {
        ack: u64,
        id: u32,
        report: CrashReport,
    },
    EventAck {
        ack: u64,
        id: u32,
    },
    Close {
        ack: u64,
        reason: String,
    },
}

impl Message {
    /// The acknowledgement every message carries.
    pub(crate) fn ack(&self) -> u64 {
        match *self {
            Self::Ack { ack }
            | Self::Ping { ack }
            | Self::Data { ack, .. }
            | Self::Gap { ack, .. }
            | Self::Request { ack, .. }
            | Self::Reply { ack, .. }
            | Self::Event { ack, .. }
            | Self::EventAck { ack, .. }
            | Self::Close { ack, .. } => ack,
        }
    }

    /// Appends the body to `out` and returns the kind for the header.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Kind {
        out.extend_from_slice(&self.ack().to_le_bytes());
        match self {
            Self::Ack { .. } => Kind::Ack,
            Self::Ping { .. } => Kind::Ping,
            Self::Data { seq, data, .. } => {
                out.extend_from_slice(&seq.to_le_bytes());
                out.extend_from_slice(data);
                Kind::Data
            }
            Self::Gap { seq, skipped, .. } => {
                out.extend_from_slice(&seq.to_le_bytes());
                out.extend_from_slice(&skipped.to_le_bytes());
                Kind::Gap
            }
            Self::Request { id, verb, .. } => {
                out.extend_from_slice(&id.to_le_bytes());
                verb.encode(out);
                Kind::Request
            }
            Self::Reply { id, reply, .. } => {
                out.extend_from_slice(&id.to_le_bytes());
                reply.encode(out);
                Kind::Reply
            }
            Self::Event { id, report, .. } => {
                out.extend_from_slice(&id.to_le_bytes());
                report.encode(out);
                Kind::Event
            }
            Self::EventAck { id, .. } => {
                out.extend_from_slice(&id.to_le_bytes());
                Kind::EventAck
            }
            Self::Close { reason, .. } => {
                out.extend_from_slice(truncate_str(reason, MAX_REASON).as_bytes());
                Kind::Close
            }
        }
    }

    /// Decodes an authentic body; `None` if it does not fit its kind (or the kind is a
    /// handshake kind, which has no session body).
    pub(crate) fn decode(kind: Kind, body: &[u8]) -> Option<Self> {
        let mut r = Reader::new(body);
        let ack = r.u64()?;
        let message = match kind {
            Kind::Ack => Self::Ack { ack },
            Kind::Ping => Self::Ping { ack },
            Kind::Data => {
                let seq = r.u64()?;
                let data = r.rest();
                if data.is_empty() || data.len() > MAX_DATA {
                    return None;
                }
                Self::Data {
                    ack,
                    seq,
                    data: data.to_vec(),
                }
            }
            Kind::Gap => {
                let seq = r.u64()?;
                let skipped = r.u64()?;
                if skipped == 0 {
                    return None;
                }
                Self::Gap { ack, seq, skipped }
            }
            Kind::Request => Self::Request {
                ack,
                id: r.u32()?,
                verb: Verb::decode(&mut r)?,
            },
            Kind::Reply => Self::Reply {
                ack,
                id: r.u32()?,
                reply: ReplyBody::decode(&mut r)?,
            },
            Kind::Event => Self::Event {
                ack,
                id: r.u32()?,
                report: CrashReport::decode(&mut r)?,
            },
            Kind::EventAck => Self::EventAck { ack, id: r.u32()? },
            Kind::Close => {
                let reason = r.rest();
                if reason.len() > MAX_REASON {
                    return None;
                }
                Self::Close {
                    ack,
                    reason: core::str::from_utf8(reason).ok()?.to_string(),
                }
            }
            Kind::Hello | Kind::Welcome | Kind::Refused => return None,
        };
        r.is_empty().then_some(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manage::{PartitionState, PartitionStatus};

    /// Every kind round-trips, and a byte more or less is malformed.
    #[test]
    fn round_trip_and_exact_length() {
        let messages = [
            Message::Ack { ack: 1 },
            Message::Ping { ack: 2 },
            Message::Data {
                ack: 3,
                seq: 4,
                data: std::vec![5; MAX_DATA],
            },
            Message::Gap {
                ack: 6,
                seq: 7,
                skipped: 8,
            },
            Message::Request {
                ack: 9,
                id: 10,
                verb: Verb::List { from: 3 },
            },
            Message::Reply {
                ack: 11,
                id: 12,
                reply: ReplyBody::List {
                    total: 1,
                    entries: std::vec![PartitionStatus {
                        name: "web".to_string(),
                        state: PartitionState::Halted,
                        restarts: 1,
                        exits: 2,
                    }],
                },
            },
            Message::Event {
                ack: 13,
                id: 14,
                report: CrashReport {
                    partition: "web".to_string(),
                    console_tail: b"panic".to_vec(),
                    ..CrashReport::default()
                },
            },
            Message::EventAck { ack: 15, id: 16 },
            Message::Close {
                ack: 17,
                reason: "taken over".to_string(),
            },
        ];
        for message in messages {
            let mut body = Vec::new();
            let kind = message.encode(&mut body);
            assert_eq!(Message::decode(kind, &body).as_ref(), Some(&message));
            // Bodies whose last field runs to the end cannot detect an extra byte.
            let open_ended = matches!(
                message,
                Message::Data { .. }
                    | Message::Close { .. }
                    | Message::Reply {
                        reply: ReplyBody::Done(_) | ReplyBody::Error(_),
                        ..
                    }
            );
            if !open_ended {
                let mut longer = body.clone();
                longer.push(0);
                assert_eq!(Message::decode(kind, &longer), None, "{kind:?}");
                assert_eq!(Message::decode(kind, &body[..body.len() - 1]), None);
            }
        }
    }

    /// Empty data, an empty gap and handshake kinds are malformed here.
    #[test]
    fn malformed() {
        assert_eq!(Message::decode(Kind::Data, &[0; 16]), None);
        assert_eq!(Message::decode(Kind::Gap, &[0; 24]), None);
        assert_eq!(Message::decode(Kind::Hello, &[0; 100]), None);
        assert_eq!(Message::decode(Kind::Ack, &[0; 7]), None);
    }
}
