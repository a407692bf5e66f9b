//! The Bulkhead partition table.
//!
//! A deployment is written once, by hand, as a TOML file and compiled into the
//! bootable image. This crate holds everything about that table:
//!
//! - the model ([`Deployment`] and the types it is made of), which is `no_std` with `alloc`
//!   so the hypervisor core uses the very same types;
//! - semantic validation that needs no files ([`Deployment::validate`]) and the boot-time
//!   check against the machine that was actually found ([`Deployment::check_machine`]);
//! - the compiled form carried inside the image ([`Deployment::to_bytes`],
//!   [`Deployment::from_bytes`]): a versioned, checksummed postcard encoding;
//! - with the `std` feature, the TOML front end ([`load`]): parsing with a span for every
//!   key and value, file checks on the guest images, and diagnostics rendered with the
//!   source line and a caret.
//!
//! The key reference lives in `docs/config.md` at the root of the repository.
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod compiled;
mod cpuid;
mod devices;
pub mod image;
mod machine;
mod model;
mod msr;
mod partition;
mod problem;
pub mod suggest;
pub mod units;
mod validate;

#[cfg(feature = "std")]
mod front;

pub use compiled::{CompiledError, FORMAT_VERSION, HEADER_LEN, MAGIC, crc32};
pub use cpuid::{CpuidLeaf, CpuidPolicy, FEATURES, FeatureBit, Register};
pub use devices::{DebugExit, Devices, PortRange, Uart};
pub use machine::{MachineFacts, PresentCore};
pub use model::{
    Addressing, ConsoleKey, Deployment, Hypervisor, LocalConsole, Machine, NetConsole, Network,
    Nic, StaticAddress,
};
pub use msr::MsrRange;
pub use partition::{
    Boot, CrashPolicy, Memory, MemoryRegion, Module, Partition, Protocol, RealModeEntry,
};
pub use problem::Problem;
pub use validate::limits;

#[cfg(feature = "std")]
pub use front::{
    Diagnostic, Diagnostics, ImageInfo, LoadOptions, LoadedDeployment, PartitionFiles,
    key_from_file, load, load_str, load_with,
};
