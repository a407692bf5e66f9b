//! The Bulkhead network console protocol, as a pure state machine.
//!
//! The console service moves each partition's UART output to remote clients over UDP
//! and a writer's keystrokes back, answers management requests (list, restart, halt)
//! and reports crashes. This crate is the protocol, with no sockets and no clock:
//! datagrams go in and out as byte slices and time is passed in as milliseconds, so the
//! same code runs in the service core, in the `bulkhead console` client, and in host
//! tests under a simulated network.
//!
//! - [`Server`]: the service's side, for every partition at once: handshakes, sessions
//!   (viewers, one writer per partition, control sessions), each partition's output
//!   history, keystrokes with backpressure, management requests for the caller to carry
//!   out, crash reports resent until acknowledged, timeouts, and notices for the log.
//! - [`Client`]: one client's side: the handshake with retries, keepalives, reconnecting
//!   after an outage without losing or repeating output or keystrokes, requests, and
//!   crash reports, all as a stream of [`ClientEvent`]s.
//! - [`wire`]: the datagram format (layout there), the deployment's base keys and the
//!   per-session keys, sealing and opening with ChaCha20-Poly1305. [`handshake`] holds
//!   the bodies of the handshake datagrams.
//!
//! Inside: a reliable byte stream per direction with exact gap records (`stream`), a
//! replay window per session (`channel`), the session datagram bodies (`message`),
//! management and crash report encodings (`manage`), and the output history
//! (`history`). Anything that is not an authentic, fresh datagram is rejected with a
//! [`Reject`] reason and counted; nothing is ever answered unless it authenticated; no
//! input panics. `docs/netconsole.md` describes the protocol as a whole.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

mod aead;
mod channel;
mod client;
mod codec;
pub mod handshake;
mod history;
mod manage;
mod message;
mod random;
mod server;
mod stream;
pub mod wire;

pub use client::{Client, ClientConfig, ClientEvent, ClientState, ClientStats};
pub use handshake::Role;
pub use manage::{
    CONSOLE_TAIL, ClientRequest, CrashReport, PartitionState, PartitionStatus, Reply, Request,
    RequestToken,
};
pub use server::{Notice, Refusal, Server, ServerConfig, ServerStats};
pub use stream::{SenderStats, StreamConfig};
pub use wire::{Reject, RejectCounts};

#[cfg(test)]
mod tests;
