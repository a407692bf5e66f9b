//! Management verbs, their replies, and crash reports: the types the service's caller
//! and the client see, and their encodings inside `Request`, `Reply` and `Event`
//! bodies.
//!
//! ```text
//!  verb   : 0 List   | from varint
//!           1 Restart| partition name (rest of the body, UTF-8, 0..=255 bytes)
//!           2 Halt   | partition name (likewise)
//!           3 Detach
//!  reply  : 0 List   | total varint | count varint | count × status
//!           1 Done   | text (rest of the body, UTF-8)
//!           2 Error  | text (likewise)
//!  status : name str | state u8 (0 Starting, 1 Running, 2 Halted, 3 Crashed)
//!           | restarts varint | exits varint
//!  report : partition str | reason str | registers str | exit str | action str
//!           | console_tail bytes
//! ```
//!
//! `str` and `bytes` are a varint length and that many bytes. A List reply carries the
//! partitions from `from` on that fit in one datagram and says how many there are in
//! all, so the client asks for the rest page by page. A reply or report that would not
//! fit is cut here, before it is queued: see [`CrashReport`].

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::codec::{Reader, bytes_len, put_bytes, put_varint, truncate_str, varint_len};
use crate::handshake::MAX_NAME;
use crate::wire::MAX_BODY;

/// Room for a reply or a report: a body less its acknowledgement and id.
pub(crate) const PAYLOAD_BUDGET: usize = MAX_BODY - 8 - 4;
/// Console bytes a crash report carries at most.
pub const CONSOLE_TAIL: usize = 512;
/// The longest reason, exit or action text a crash report keeps, in bytes.
const MAX_REPORT_FIELD: usize = 255;

/// A management request for the service's caller to carry out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// Build every partition's status and answer with [`Reply::List`].
    List,
    /// Restart this partition.
    Restart {
        /// The partition's index.
        partition: usize,
    },
    /// Halt this partition.
    Halt {
        /// The partition's index.
        partition: usize,
    },
}

/// The answer to a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Every partition's status, in partition order.
    List(Vec<PartitionStatus>),
    /// The request was carried out; a message for the user.
    Done(String),
    /// The request failed; why, for the user.
    Error(String),
}

/// One partition, as List shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionStatus {
    /// The partition's name.
    pub name: String,
    /// What it is doing.
    pub state: PartitionState,
    /// How often it was restarted since boot.
    pub restarts: u64,
    /// How many VM exits it took.
    pub exits: u64,
}

/// A partition's run state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionState {
    /// Being loaded or restarted.
    Starting,
    /// Running its guest.
    Running,
    /// Stopped on request.
    Halted,
    /// Stopped by a fault.
    Crashed,
}

impl PartitionState {
    fn from_byte(byte: u8) -> Option<Self> {
        Some(match byte {
            0 => Self::Starting,
            1 => Self::Running,
            2 => Self::Halted,
            3 => Self::Crashed,
            _ => return None,
        })
    }
}

/// What the hypervisor knows about a partition's crash.
///
/// A report must fit one datagram. When it does not, the service cuts it in this
/// order: the partition name to 255 bytes and the reason, exit and action to
/// 255 bytes each; then the console tail loses its oldest bytes; then
/// the register dump is cut at its end. At most [`CONSOLE_TAIL`] console bytes are
/// sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CrashReport {
    /// The partition's name.
    pub partition: String,
    /// What went wrong, in a line.
    pub reason: String,
    /// The register dump.
    pub registers: String,
    /// The exit that ended the guest.
    pub exit: String,
    /// What the hypervisor did about it (halted, restarting...).
    pub action: String,
    /// The partition's last console output; the service fills it in.
    pub console_tail: Vec<u8>,
}

impl CrashReport {
    /// This report cut to fit `budget` encoded bytes (see the type's documentation).
    pub(crate) fn fitted(&self, budget: usize) -> Self {
        let partition = truncate_str(&self.partition, MAX_NAME);
        let reason = truncate_str(&self.reason, MAX_REPORT_FIELD);
        let exit = truncate_str(&self.exit, MAX_REPORT_FIELD);
        let action = truncate_str(&self.action, MAX_REPORT_FIELD);
        // Lengths below 16 KiB take at most two varint bytes.
        let fixed = [partition, reason, exit, action]
            .iter()
            .map(|s| bytes_len(s.len()))
            .sum::<usize>()
            + 2
            + 2;
        let room = budget.saturating_sub(fixed);
        let registers = truncate_str(&self.registers, room);
        let tail_room = (room - registers.len()).min(CONSOLE_TAIL);
        let tail = &self.console_tail[self.console_tail.len().saturating_sub(tail_room)..];
        Self {
            partition: partition.to_string(),
            reason: reason.to_string(),
            registers: registers.to_string(),
            exit: exit.to_string(),
            action: action.to_string(),
            console_tail: tail.to_vec(),
        }
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        for text in [
            &self.partition,
            &self.reason,
            &self.registers,
            &self.exit,
            &self.action,
        ] {
            put_bytes(out, text.as_bytes());
        }
        put_bytes(out, &self.console_tail);
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Option<Self> {
        let report = Self {
            partition: r.str()?.to_string(),
            reason: r.str()?.to_string(),
            registers: r.str()?.to_string(),
            exit: r.str()?.to_string(),
            action: r.str()?.to_string(),
            console_tail: r.bytes()?.to_vec(),
        };
        r.is_empty().then_some(report)
    }
}

/// A management request as a client asks for it, by partition name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientRequest {
    /// Every partition's status.
    List,
    /// Restart the named partition.
    Restart(String),
    /// Halt the named partition.
    Halt(String),
}

/// Names one request handed out by `Server::poll_request`, for `Server::respond`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RequestToken {
    pub(crate) session: u32,
    pub(crate) id: u32,
}

/// A request verb as it travels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verb {
    /// The partitions from index `from` on.
    List {
        from: u32,
    },
    Restart(String),
    Halt(String),
    /// End the session.
    Detach,
}

impl Verb {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::List { from } => {
                out.push(0);
                put_varint(out, u64::from(*from));
            }
            Self::Restart(name) | Self::Halt(name) => {
                out.push(if matches!(self, Self::Restart(_)) {
                    1
                } else {
                    2
                });
                out.extend_from_slice(truncate_str(name, MAX_NAME).as_bytes());
            }
            Self::Detach => out.push(3),
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Option<Self> {
        let verb = match r.u8()? {
            0 => Self::List {
                from: u32::try_from(r.varint()?).ok()?,
            },
            tag @ (1 | 2) => {
                let name = r.rest();
                if name.len() > MAX_NAME {
                    return None;
                }
                let name = core::str::from_utf8(name).ok()?.to_string();
                if tag == 1 {
                    Self::Restart(name)
                } else {
                    Self::Halt(name)
                }
            }
            3 => Self::Detach,
            _ => return None,
        };
        r.is_empty().then_some(verb)
    }
}

/// A reply as it travels: a List reply is one page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ReplyBody {
    List {
        total: u32,
        entries: Vec<PartitionStatus>,
    },
    Done(String),
    Error(String),
}

impl ReplyBody {
    /// The page of `reply` that starts at partition `from`, cut to fit a datagram.
    pub(crate) fn fit(reply: &Reply, from: u32) -> Self {
        match reply {
            Reply::List(all) => {
                let total = u32::try_from(all.len()).unwrap_or(u32::MAX);
                // The tag, the total, and a count no larger than the total.
                let mut used = 1 + 2 * varint_len(u64::from(total));
                let mut entries = Vec::new();
                for status in all.iter().skip(from as usize) {
                    let name = truncate_str(&status.name, MAX_NAME);
                    let size = bytes_len(name.len())
                        + 1
                        + varint_len(status.restarts)
                        + varint_len(status.exits);
                    if used + size > PAYLOAD_BUDGET {
                        break;
                    }
                    used += size;
                    entries.push(PartitionStatus {
                        name: name.to_string(),
                        ..status.clone()
                    });
                }
                Self::List { total, entries }
            }
            Reply::Done(text) => Self::Done(truncate_str(text, PAYLOAD_BUDGET - 1).to_string()),
            Reply::Error(text) => Self::Error(truncate_str(text, PAYLOAD_BUDGET - 1).to_string()),
        }
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::List { total, entries } => {
                out.push(0);
                put_varint(out, u64::from(*total));
                put_varint(out, entries.len() as u64);
                for status in entries {
                    put_bytes(out, status.name.as_bytes());
                    out.push(status.state as u8);
                    put_varint(out, status.restarts);
                    put_varint(out, status.exits);
                }
            }
            Self::Done(text) => {
                out.push(1);
                out.extend_from_slice(text.as_bytes());
            }
            Self::Error(text) => {
                out.push(2);
                out.extend_from_slice(text.as_bytes());
            }
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Option<Self> {
        match r.u8()? {
            0 => {
                let total = u32::try_from(r.varint()?).ok()?;
                let count = r.varint()?;
                if count > u64::from(total) {
                    return None;
                }
                let mut entries = Vec::new();
                for _ in 0..count {
                    entries.push(PartitionStatus {
                        name: r.str()?.to_string(),
                        state: PartitionState::from_byte(r.u8()?)?,
                        restarts: r.varint()?,
                        exits: r.varint()?,
                    });
                }
                r.is_empty().then_some(Self::List { total, entries })
            }
            tag @ (1 | 2) => {
                let text = core::str::from_utf8(r.rest()).ok()?.to_string();
                Some(if tag == 1 {
                    Self::Done(text)
                } else {
                    Self::Error(text)
                })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(name: &str, i: u64) -> PartitionStatus {
        PartitionStatus {
            name: name.to_string(),
            state: PartitionState::Running,
            restarts: i,
            exits: i * 1_000_000,
        }
    }

    fn round_trip_reply(body: &ReplyBody) -> ReplyBody {
        let mut out = Vec::new();
        body.encode(&mut out);
        assert!(out.len() <= PAYLOAD_BUDGET, "{} bytes", out.len());
        ReplyBody::decode(&mut Reader::new(&out)).expect("decodes")
    }

    /// A long List is split into pages that each fit, and the pages together hold
    /// every partition once, in order.
    #[test]
    fn list_pages_cover_everything() {
        let all: Vec<_> = (0..300)
            .map(|i| {
                status(
                    &std::format!("partition-{i:03}-{}", "x".repeat(i % 40)),
                    i as u64,
                )
            })
            .collect();
        let reply = Reply::List(all.clone());
        let mut got = Vec::new();
        let mut pages = 0;
        while got.len() < all.len() {
            let page = round_trip_reply(&ReplyBody::fit(&reply, got.len() as u32));
            let ReplyBody::List { total, entries } = page else {
                panic!("not a list")
            };
            assert_eq!(total, 300);
            assert!(!entries.is_empty());
            got.extend(entries);
            pages += 1;
        }
        assert_eq!(got, all);
        assert!(pages > 1);
        // A name past the limit is cut, never dropped.
        let long = Reply::List(std::vec![status(&"n".repeat(1000), 1)]);
        let ReplyBody::List { entries, .. } = round_trip_reply(&ReplyBody::fit(&long, 0)) else {
            panic!("not a list")
        };
        assert_eq!(entries[0].name.len(), MAX_NAME);
    }

    /// Long texts are cut to fit; short ones round-trip unchanged.
    #[test]
    fn texts_fit() {
        for reply in [
            Reply::Done("x".repeat(5000)),
            Reply::Error("é".repeat(5000)),
        ] {
            round_trip_reply(&ReplyBody::fit(&reply, 0));
        }
        let done = ReplyBody::fit(&Reply::Done("restarted".to_string()), 0);
        assert_eq!(round_trip_reply(&done), done);
    }

    /// An oversized crash report keeps its short fields, loses console tail first,
    /// then the end of the register dump, and always fits.
    #[test]
    fn crash_report_is_cut_in_order() {
        let report = CrashReport {
            partition: "web".to_string(),
            reason: "triple fault".to_string(),
            registers: "r".repeat(900),
            exit: "shutdown".to_string(),
            action: "halted".to_string(),
            console_tail: (0..2000u32).map(|i| i as u8).collect(),
        };
        let fitted = report.fitted(PAYLOAD_BUDGET);
        assert_eq!(fitted.registers, report.registers);
        assert!(fitted.console_tail.len() < CONSOLE_TAIL);
        assert!(report.console_tail.ends_with(&fitted.console_tail));
        let mut out = Vec::new();
        fitted.encode(&mut out);
        assert!(out.len() <= PAYLOAD_BUDGET);
        assert_eq!(CrashReport::decode(&mut Reader::new(&out)), Some(fitted));

        let huge = CrashReport {
            registers: "r".repeat(5000),
            reason: "why".repeat(500),
            ..report.clone()
        };
        let fitted = huge.fitted(PAYLOAD_BUDGET);
        assert!(fitted.console_tail.is_empty());
        assert_eq!(fitted.reason.len(), MAX_REPORT_FIELD);
        let mut out = Vec::new();
        fitted.encode(&mut out);
        assert!(out.len() <= PAYLOAD_BUDGET);

        let small = CrashReport {
            registers: "rax=0".to_string(),
            ..report
        };
        assert_eq!(
            small.fitted(PAYLOAD_BUDGET).console_tail.len(),
            CONSOLE_TAIL
        );
    }

    /// Verbs round-trip; unknown tags, trailing bytes and long names are refused.
    #[test]
    fn verbs() {
        for verb in [
            Verb::List { from: 7 },
            Verb::Restart("web".to_string()),
            Verb::Halt(String::new()),
            Verb::Detach,
        ] {
            let mut out = Vec::new();
            verb.encode(&mut out);
            assert_eq!(Verb::decode(&mut Reader::new(&out)), Some(verb));
        }
        assert_eq!(Verb::decode(&mut Reader::new(&[4])), None);
        assert_eq!(Verb::decode(&mut Reader::new(&[3, 0])), None);
        let mut long = std::vec![1];
        long.extend_from_slice(&[b'a'; MAX_NAME + 1]);
        assert_eq!(Verb::decode(&mut Reader::new(&long)), None);
    }
}
