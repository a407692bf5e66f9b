//! The partition table, read back from the image and checked again at boot.
//!
//! `bulkhead build` validated the table, but the core does not take the image's
//! word for it: the compiled table is decoded and validated again (a hand-crafted
//! image with a bad table is refused), then checked against this machine (the
//! cores the MADT lists, the memory the firmware reports), and every partition's
//! memory is reserved as one contiguous block. Any failure is reported naming
//! the partition and the key, and nothing is started.

use alloc::vec::Vec;

use bulkhead_config::{CompiledError, Deployment, MachineFacts, PresentCore, Problem};
use bulkhead_netboot::{EntryKind, Image};
use log::{error, info};

use super::acpi::Platform;
use super::bootinfo::Boot;
use super::frames;
use super::once::SetOnce;

/// Partition memory is placed on 2 MiB boundaries so nested paging can use large pages.
const PARTITION_ALIGN: u64 = 2 << 20;

/// A partition's reserved host memory.
#[derive(Clone, Copy, Debug)]
pub struct Placement {
    /// Host-physical address of guest-physical 0.
    pub host_base: u64,
    /// Bytes.
    pub size: u64,
}

/// A checked deployment and where each partition's memory lies.
pub struct Checked {
    /// The table.
    pub deployment: Deployment,
    /// One entry per partition, in table order.
    pub placements: Vec<Placement>,
}

/// Why nothing may be started.
pub enum Refusal {
    /// The table does not decode or does not validate.
    Table(CompiledError),
    /// It does not fit this machine.
    Machine(Vec<Problem>),
}

/// Reads, validates and places the partition table. `Ok(None)` when the image
/// carries no table (a bare hypervisor image: nothing to run).
pub fn load(
    boot: &Boot,
    platform: &Platform,
    bsp_apic_id: u32,
) -> Result<Option<Checked>, Refusal> {
    let handoff = &boot.handoff;
    // SAFETY: the loader verified the container at this range and the frame
    // allocator keeps it reserved; nothing writes it.
    let bytes = unsafe {
        core::slice::from_raw_parts(
            handoff.container_start as *const u8,
            handoff.container_len as usize,
        )
    };
    let image = Image::parse(bytes).expect("the loader verified this container");
    let Some(table) = image.first(EntryKind::PartitionTable) else {
        return Ok(None);
    };
    let deployment = Deployment::from_bytes(table.data).map_err(Refusal::Table)?;

    let facts = MachineFacts {
        cores: platform
            .core_indexes(bsp_apic_id)
            .map(|(index, apic_id)| PresentCore { index, apic_id })
            .collect(),
        usable_memory: frames::free_bytes(),
    };
    deployment.check_machine(&facts).map_err(Refusal::Machine)?;

    let mut placements = Vec::with_capacity(deployment.partitions.len());
    let mut problems = Vec::new();
    for (i, partition) in deployment.partitions.iter().enumerate() {
        match frames::allocate_anywhere(partition.memory.size, PARTITION_ALIGN) {
            Some(host_base) => placements.push(Placement {
                host_base,
                size: partition.memory.size,
            }),
            None => problems.push(Problem::new(
                alloc::format!("partition[{i}].memory.size"),
                alloc::format!(
                    "partition `{}`: no contiguous block of {} MiB is free ({} MiB free in all)",
                    partition.name,
                    partition.memory.size >> 20,
                    frames::free_bytes() >> 20
                ),
            )),
        }
    }
    if !problems.is_empty() {
        return Err(Refusal::Machine(problems));
    }
    Ok(Some(Checked {
        deployment,
        placements,
    }))
}

static CHECKED: SetOnce<Checked> = SetOnce::new();

/// Makes the accepted table visible to every core. Before other cores start.
pub fn publish(checked: Checked) -> &'static Checked {
    CHECKED.set(checked)
}

/// The partition assigned to core `index`, if any: its position in the
/// table, its configuration and its memory.
pub fn partition_for_core(
    index: u32,
) -> Option<(usize, &'static bulkhead_config::Partition, Placement)> {
    let checked = CHECKED.get()?;
    checked
        .deployment
        .partitions
        .iter()
        .enumerate()
        .find(|(_, p)| p.cores.first() == Some(&index))
        .map(|(i, p)| (i, p, checked.placements[i]))
}

/// The accepted table, if core `index` is its service core.
pub fn service_core_table(index: u32) -> Option<&'static bulkhead_config::Deployment> {
    let deployment = &CHECKED.get()?.deployment;
    (deployment.hypervisor.service_core == index).then_some(deployment)
}

/// Logs why the table was refused, one line per problem.
pub fn report_refusal(refusal: &Refusal) {
    let (summary, problems): (&dyn core::fmt::Display, &[Problem]) = match refusal {
        Refusal::Table(CompiledError::Invalid(problems)) => {
            (&"the table breaks the deployment rules", problems)
        }
        Refusal::Table(error) => (error, &[]),
        Refusal::Machine(problems) => (&"it does not fit this machine", problems),
    };
    error!("partition table refused: {summary}");
    for problem in problems {
        error!("  {problem}");
    }
    error!("no partition was started; halted");
}

/// Logs the accepted table.
pub fn report(checked: &Checked) {
    info!(
        "partition table: {} partition(s)",
        checked.deployment.partitions.len()
    );
    for (partition, place) in checked
        .deployment
        .partitions
        .iter()
        .zip(&checked.placements)
    {
        info!(
            "  {}: cores {:?}, {} MiB at host {:#x}, {} boot",
            partition.name,
            partition.cores,
            place.size >> 20,
            place.host_base,
            partition.boot.protocol.as_str()
        );
    }
}
