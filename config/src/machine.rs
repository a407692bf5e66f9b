//! The boot-time check of a deployment against the machine the core found.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;

use crate::model::Deployment;
use crate::problem::Problem;
use crate::units::format_size;

/// One processor the firmware reports (MADT), enabled and startable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PresentCore {
    /// Core index as the config uses it: 0 is the bootstrap processor, the others follow in
    /// MADT order.
    pub index: u32,
    /// The processor's local APIC ID.
    pub apic_id: u32,
}

/// What the core found on the machine, to check the table against.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MachineFacts {
    /// Every core present.
    pub cores: Vec<PresentCore>,
    /// Bytes of RAM left for partitions once the hypervisor, the image and the payload
    /// are taken out of the memory map.
    pub usable_memory: u64,
}

impl MachineFacts {
    fn has_core(&self, index: u32) -> bool {
        self.cores.iter().any(|c| c.index == index)
    }

    fn describe_cores(&self) -> String {
        let mut indexes: Vec<u32> = self.cores.iter().map(|c| c.index).collect();
        indexes.sort_unstable();
        indexes.dedup();
        match indexes.as_slice() {
            [] => String::from("no cores"),
            [only] => format!("only core {only}"),
            [first, .., last] if (*last - *first) as usize + 1 == indexes.len() => {
                format!("cores {first}-{last}")
            }
            _ => {
                let mut s = String::from("cores ");
                for (n, i) in indexes.iter().enumerate() {
                    if n > 0 {
                        s.push_str(", ");
                    }
                    let _ = write!(s, "{i}");
                }
                s
            }
        }
    }
}

impl Deployment {
    /// Checks the table against the machine: every core a partition or the service core
    /// names is present, and the partitions' memory fits in what is usable. Every mismatch
    /// names the partition and the key.
    pub fn check_machine(&self, machine: &MachineFacts) -> Result<(), Vec<Problem>> {
        let mut problems = Vec::new();
        let service = self.hypervisor.service_core;
        if !machine.has_core(service) {
            problems.push(Problem::new(
                "hypervisor.service_core",
                format!(
                    "service core {service} is not on this machine, which has {}",
                    machine.describe_cores()
                ),
            ));
        }
        for (i, p) in self.partitions.iter().enumerate() {
            for (j, &core) in p.cores.iter().enumerate() {
                if !machine.has_core(core) {
                    problems.push(Problem::new(
                        format!("partition[{i}].cores[{j}]"),
                        format!(
                            "partition `{}`: core {core} is not on this machine, which has {}",
                            p.name,
                            machine.describe_cores()
                        ),
                    ));
                }
            }
        }
        let mut used: u64 = 0;
        for (i, p) in self.partitions.iter().enumerate() {
            let after = used.saturating_add(p.memory.size);
            if after > machine.usable_memory {
                problems.push(Problem::new(
                    format!("partition[{i}].memory.size"),
                    format!(
                        "partition `{}`: {} does not fit: {} of the machine's {} usable is already taken by the partitions before it",
                        p.name,
                        format_size(p.memory.size),
                        format_size(used),
                        format_size(machine.usable_memory)
                    ),
                ));
            }
            used = after;
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}
