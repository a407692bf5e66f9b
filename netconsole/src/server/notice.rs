//! What the service tells its log.

use alloc::string::String;
use core::fmt;

use crate::handshake::Role;

/// Something the operator may want in the log, from [`super::Server::poll_notice`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice<P> {
    /// A client's session began (its first datagram after the Welcome arrived).
    Attached {
        /// The session id.
        session: u32,
        /// The partition, or `None` for a Control session.
        partition: Option<usize>,
        /// What the session may do.
        role: Role,
        /// The client's address.
        peer: P,
        /// The absolute output position the session's stream starts at.
        start: u64,
        /// Whether the client resumed from a position it had (same boot).
        resumed: bool,
    },
    /// The client detached.
    Detached {
        /// The session id.
        session: u32,
        /// The partition, or `None` for a Control session.
        partition: Option<usize>,
        /// The client's address.
        peer: P,
    },
    /// Nothing authentic arrived from the client for the session timeout.
    TimedOut {
        /// The session id.
        session: u32,
        /// The partition, or `None` for a Control session.
        partition: Option<usize>,
        /// The client's last address.
        peer: P,
    },
    /// A Hello was refused, or a writer lost the race for its partition.
    Refused {
        /// The client's address.
        peer: P,
        /// The partition it asked for.
        partition: String,
        /// The role it asked for.
        role: Role,
        /// Why.
        reason: Refusal,
    },
    /// A writer session was ended because another writer took over.
    TakenOver {
        /// The writer session that ended.
        session: u32,
        /// Its partition.
        partition: usize,
        /// Its client's address (told with a `Close`).
        peer: P,
        /// The session that took over.
        by: u32,
    },
    /// A session was ended by its own client's reconnect, which continues it.
    Replaced {
        /// The session that ended.
        session: u32,
        /// The partition, or `None` for a Control session.
        partition: Option<usize>,
        /// The session that continues it.
        by: u32,
    },
}

/// Why a Hello was refused; the text is what the client is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No partition has the name the Hello gave.
    #[error("unknown partition")]
    UnknownPartition,
    /// The partition has a writer, and the Hello neither took over nor continued it.
    #[error("partition already has a writer")]
    WriterBusy,
    /// The service has `max_sessions` sessions.
    #[error("too many sessions")]
    TooManySessions,
}

fn partition_text(partition: Option<usize>) -> alloc::string::String {
    partition.map_or_else(
        || String::from("control"),
        |p| alloc::format!("partition {p}"),
    )
}

impl<P: fmt::Debug> fmt::Display for Notice<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Attached {
                session,
                partition,
                role,
                peer,
                start,
                resumed,
            } => {
                let how = if *resumed { "resuming" } else { "from" };
                write!(
                    f,
                    "session {session:08x} attached to {} as {role:?} from {peer:?}, ",
                    partition_text(*partition)
                )?;
                write!(f, "{how} output position {start}")
            }
            Self::Detached {
                session,
                partition,
                peer,
            } => write!(
                f,
                "session {session:08x} ({}) detached by {peer:?}",
                partition_text(*partition)
            ),
            Self::TimedOut {
                session,
                partition,
                peer,
            } => write!(
                f,
                "session {session:08x} ({}) timed out, last from {peer:?}",
                partition_text(*partition)
            ),
            Self::Refused {
                peer,
                partition,
                role,
                reason,
            } => write!(
                f,
                "refused {role:?} for partition `{}` from {peer:?}: {reason}",
                partition.escape_debug()
            ),
            Self::TakenOver {
                session,
                partition,
                peer,
                by,
            } => write!(
                f,
                "writer session {session:08x} on partition {partition} ({peer:?}) \
                 taken over by session {by:08x}"
            ),
            Self::Replaced {
                session,
                partition,
                by,
            } => write!(
                f,
                "session {session:08x} ({}) continued by session {by:08x} after a reconnect",
                partition_text(*partition)
            ),
        }
    }
}
