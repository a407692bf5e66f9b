//! The hardware-independent parts of the Bulkhead core, kept apart from the
//! bare-metal binary so they can be tested on the host.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod byte_ring;
pub mod focus;
pub mod options;
pub mod output_ring;
pub mod policy;
pub mod range_map;
pub mod ranges;
