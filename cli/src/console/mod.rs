//! The network console's client commands: `bulkhead console` ([`attach`]) and
//! `bulkhead status`, `restart` and `halt` ([`control`]).
//!
//! All of them drive `bulkhead-netconsole`'s `Client` over one UDP socket
//! ([`session`]) under the deployment's console key ([`key`]), sent to `HOST[:PORT]`
//! ([`address`]). docs/netconsole.md describes the protocol.

pub mod address;
pub mod attach;
pub mod control;
pub mod escape;
pub mod key;
pub mod render;
pub mod session;
pub mod signals;
pub mod status;
pub mod terminal;
