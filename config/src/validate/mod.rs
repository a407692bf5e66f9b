//! Semantic validation: everything that can be checked without the guest images or the
//! machine. The TOML front end runs it after building the model, and
//! [`Deployment::from_bytes`] runs it on every table it decodes.

use alloc::string::String;
use alloc::vec::Vec;

use crate::model::Deployment;
use crate::problem::Problem;

/// The bounds validation enforces.
pub mod limits {
    use crate::units::{KIB, MIB};

    /// Guest memory is mapped in pages of this size: every size and base is a multiple.
    pub const PAGE_SIZE: u64 = 4 * KIB;
    /// Core indexes run from 0 to `MAX_CORES - 1`.
    pub const MAX_CORES: u32 = 256;
    /// The least RAM a partition may have: every boot protocol puts something below 1 MiB.
    pub const MIN_PARTITION_MEMORY: u64 = MIB;
    /// The first byte past guest-physical memory (64 TiB, within 4-level NPT and EPT).
    pub const MAX_GUEST_PHYS: u64 = 1 << 46;
    /// Start of the 32-bit MMIO hole (IOAPIC, local APIC, PCI windows); RAM stays out of
    /// `LOW_MMIO_START..FOUR_GIB`.
    pub const LOW_MMIO_START: u64 = 0xC000_0000;
    /// 4 GiB.
    pub const FOUR_GIB: u64 = 1 << 32;
    /// Where a real-mode guest's address space ends.
    pub const REAL_MODE_LIMIT: u64 = MIB;
    /// The shortest console key, in bytes.
    pub const MIN_CONSOLE_KEY_LEN: usize = 32;
    /// The longest console key, in bytes.
    pub const MAX_CONSOLE_KEY_LEN: usize = 1024;
    /// The longest partition name, in characters. Image entries are named after
    /// their partition (`NAME` for the kernel and initrd, `NAME.mN` for module N),
    /// and an entry name holds at most 32 bytes.
    pub const MAX_NAME_LEN: usize = 24;
    /// Cores (vCPUs) one partition may own in this version.
    pub const MAX_CORES_PER_PARTITION: usize = 1;
    /// The most modules one partition may load (keeps `NAME.mN` within 32 bytes).
    pub const MAX_MODULES: usize = 64;
    /// The most UARTs one partition may have.
    pub const MAX_UARTS: usize = 4;
    /// Highest IRQ with only the 8259 pair.
    pub const MAX_PIC_IRQ: u8 = 15;
    /// Highest IRQ with the IOAPIC (24 pins).
    pub const MAX_IOAPIC_IRQ: u8 = 23;
    /// The most restarts a crash policy may allow per window.
    pub const MAX_RESTARTS: u32 = 1000;
    /// The longest restart window, in seconds (one day).
    pub const MAX_WINDOW_SECS: u32 = 86_400;
    /// CPUID leaves the hypervisor answers itself (its signature and interface).
    pub const HYPERVISOR_LEAVES: core::ops::RangeInclusive<u32> = 0x4000_0000..=0x4000_00FF;
    /// Physical I/O ports the hypervisor keeps for itself whatever the config says: PCI
    /// configuration (the service core's NIC), the 8259 pair and ELCR, and the PIT, which
    /// are shared by every core and so cannot belong to one partition.
    pub const HYPERVISOR_PORTS: &[(u16, u16, &str)] = &[
        (0x20, 0x21, "the physical 8259 PIC"),
        (0x40, 0x43, "the physical 8254 PIT"),
        (0xA0, 0xA1, "the physical 8259 PIC"),
        (0x4D0, 0x4D1, "the physical ELCR"),
        (
            0xCF8,
            0xCFF,
            "PCI configuration space, used by the service core",
        ),
    ];
    /// COM1, kept by the hypervisor while the local console is on.
    pub const COM1_PORTS: (u16, u16) = (0x3F8, 0x3FF);
}

use limits::*;

mod devices;
mod hypervisor;
mod partition;
mod whole;

struct Checker<'d> {
    deployment: &'d Deployment,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn report(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::new(path, message));
    }

    fn report_help(
        &mut self,
        path: impl Into<String>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.problems
            .push(Problem::new(path, message).with_help(help));
    }
}

impl Deployment {
    /// Checks everything that needs neither files nor the machine: names, core assignment,
    /// memory sizes and layout, boot settings against the protocol, devices, port and IRQ
    /// conflicts, CPUID and MSR rules, crash policy, network and console settings.
    ///
    /// Returns every problem found, in the order of the model, never only the first.
    pub fn validate(&self) -> Result<(), Vec<Problem>> {
        let mut c = Checker {
            deployment: self,
            problems: Vec::new(),
        };
        c.machine();
        c.hypervisor(&self.hypervisor);
        if self.partitions.is_empty() {
            c.report_help(
                "partition",
                "the deployment has no partition",
                "add at least one [[partition]] table",
            );
        }
        for (i, p) in self.partitions.iter().enumerate() {
            c.partition(i, p);
        }
        c.names();
        c.core_assignment();
        c.passthrough_between_partitions();
        c.total_memory();
        if c.problems.is_empty() {
            Ok(())
        } else {
            Err(c.problems)
        }
    }
}

fn aligned(v: u64) -> bool {
    v.is_multiple_of(PAGE_SIZE)
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
