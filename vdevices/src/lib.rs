//! Virtual platform devices (8259 pair, IOAPIC, local APIC, PIT, RTC, UART,
//! PCI host bridge, fw_cfg, debug-exit) as pure state machines with time
//! passed in. Empty until the virtual platform is built.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
