//! The Bulkhead network console protocol, as a pure state machine.
//!
//! The console service moves each partition's UART output to a remote client over UDP
//! and the client's keystrokes back. This crate is the protocol core, with no sockets
//! and no clock: datagrams go in and out as byte slices and time is passed in as
//! milliseconds, so the same code runs in the service core and in host tests under a
//! simulated network.
//!
//! What it does now:
//!
//! - [`wire`]: the datagram format (layout diagram there), per-direction keys derived
//!   with HKDF-SHA256 from the deployment's console key, ChaCha20-Poly1305 sealing with
//!   the clear header as associated data, and a 64-datagram replay window. Anything
//!   that is not an authentic, fresh datagram is rejected with a [`Reject`] reason and
//!   counted; no input panics.
//! - [`stream`]: one reliable byte stream per direction: byte sequence numbers,
//!   cumulative acknowledgements, a send window, go-back-N retransmission after a
//!   timeout, exactly-once in-order delivery, and a bounded sender buffer whose
//!   overruns reach the receiver as an exact count of skipped bytes.
//! - [`Endpoint`]: both halves and the channel, driven by `receive`, `poll_transmit`
//!   and `write`/`read`.
//!
//! Not yet: sessions per partition, attaching and detaching clients, handshakes or
//! rekeying (one key per deployment and direction; a restarted endpoint starts its
//! counter at zero again, so a deployment must not reuse a console key across
//! restarts until sessions bring per-session keys), management verbs (status, restart,
//! halt), and the `bulkhead console` client. See `docs/netconsole.md`.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

mod aead;
mod endpoint;
pub mod stream;
pub mod wire;

pub use endpoint::{Config, Endpoint, EndpointStats};
pub use stream::{Delivery, StreamConfig};
pub use wire::{Direction, Message, Reject, RejectCounts};

#[cfg(test)]
mod tests;
