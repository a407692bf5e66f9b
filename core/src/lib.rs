//! The hardware-independent parts of the Bulkhead core, kept apart from the
//! bare-metal binary so they can be tested on the host.

#![cfg_attr(not(test), no_std)]

pub mod options;
pub mod ranges;
