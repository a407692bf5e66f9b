//! The boot-time check against the machine: cores present in the MADT, memory available.
//! A mismatch names the partition and the key.

mod common;

use bulkhead_config::{MachineFacts, PresentCore, units::MIB};
use common::*;

fn two_partitions() -> bulkhead_config::Deployment {
    let src = console()
        + "[[partition]]\nname = \"a\"\ncores = [1]\nmemory = \"64 MiB\"\n[partition.boot]\nprotocol = \"linux\"\nkernel = \"k\"\n"
        + "[[partition]]\nname = \"b\"\ncores = [3]\nmemory = \"128 MiB\"\n[partition.boot]\nprotocol = \"linux\"\nkernel = \"k\"\n";
    check(&src).unwrap_or_else(|e| panic!("{e}")).deployment
}

fn machine(cores: u32, memory: u64) -> MachineFacts {
    MachineFacts {
        cores: (0..cores)
            .map(|i| PresentCore {
                index: i,
                apic_id: i * 2,
            })
            .collect(),
        usable_memory: memory,
    }
}

/// A machine with enough cores and memory passes.
#[test]
fn fitting_machine_passes() {
    assert_eq!(
        two_partitions().check_machine(&machine(4, 512 * MIB)),
        Ok(())
    );
}

/// A missing core is refused, naming the partition and the key.
#[test]
fn missing_core_names_partition() {
    let problems = two_partitions()
        .check_machine(&machine(3, 512 * MIB))
        .expect_err("core 3 absent");
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].path, "partition[1].cores[0]");
    assert_eq!(
        problems[0].message,
        "partition `b`: core 3 is not on this machine, which has cores 0-2"
    );
}

/// Not enough memory is refused at the partition that no longer fits.
#[test]
fn memory_shortfall_names_partition() {
    let problems = two_partitions()
        .check_machine(&machine(4, 100 * MIB))
        .expect_err("short");
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].path, "partition[1].memory.size");
    assert!(
        problems[0]
            .message
            .starts_with("partition `b`: 128 MiB does not fit"),
        "{}",
        problems[0]
    );
}

/// The service core must be present too; gaps in the core list are described.
#[test]
fn missing_service_core() {
    let facts = MachineFacts {
        cores: [1, 2, 3, 5]
            .iter()
            .map(|&i| PresentCore {
                index: i,
                apic_id: i,
            })
            .collect(),
        usable_memory: 1 << 30,
    };
    let problems = two_partitions()
        .check_machine(&facts)
        .expect_err("no core 0");
    assert_eq!(problems[0].path, "hypervisor.service_core");
    assert!(
        problems[0].message.contains("which has cores 1, 2, 3, 5"),
        "{}",
        problems[0]
    );
}
