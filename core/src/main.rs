//! The Bulkhead hypervisor core.
//!
//! Loaded and relocated by the loader stage through hermit-entry, the core
//! brings up the bootstrap processor (logging, descriptor tables, exception
//! handlers, page tables, frame allocator, heap), discovers the platform from
//! ACPI, and starts every other enabled core.

#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
extern crate alloc;

#[cfg(target_os = "none")]
mod kernel;

/// On a hosted target there is nothing to run: the core only exists for bare metal.
#[cfg(not(target_os = "none"))]
fn main() {}
