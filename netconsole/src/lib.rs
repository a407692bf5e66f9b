//! The authenticated UDP console protocol as a no_std state machine, and its
//! std client. Empty until the network console is built.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
