//! Partitions: each runs on its own core, in its own memory, with its own
//! virtual devices.

pub mod console;
pub mod link;
pub mod memory;
pub mod mmio;
pub mod platform;
pub mod run;
pub mod stats;
pub mod string_io;
