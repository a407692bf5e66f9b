//! Everything that touches the machine. Boot reads as a list: see
//! [`boot_processor_init`] and [`smp::application_processor_init`].

#[macro_use]
mod serial;
mod acpi;
mod bootinfo;
mod deployment;
mod entry;
mod exceptions;
mod frames;
mod gdt;
mod heap;
mod interrupts;
mod lapic;
mod legacy_pic;
mod local_console;
mod logger;
mod net;
mod once;
mod paging;
mod partition;
mod pci;
mod percpu;
mod pit;
mod remote_console;
mod service;
mod smp;
mod svm_host;
mod test_fault;
mod time;
mod wallclock;

use bulkhead_core::options::Options;
use hermit_entry::boot_info::RawBootInfo;
use log::{error, info, warn};

/// The bootstrap processor's path from the loader's hand-over to a machine
/// with every core online. Each step depends only on those above it.
fn boot_processor_init(raw_boot_info: &'static RawBootInfo) -> ! {
    percpu::init_bootstrap();
    serial::init();
    logger::init();
    exceptions::init();
    info!("bulkhead core {} starting", env!("CARGO_PKG_VERSION"));
    let boot = bootinfo::init(raw_boot_info);
    let (options, bad_option) = Options::parse(boot.cmdline());
    if let Some(bad) = bad_option {
        warn!(
            "ignoring boot option `{}`: expected {}",
            bad.word, bad.expected
        );
    }
    test_fault::arm(options);
    frames::init(boot);
    paging::init(boot);
    heap::init();
    gdt::init();
    exceptions::use_double_fault_stack();
    let platform = acpi::discover();
    legacy_pic::mask_all();
    interrupts::init();
    lapic::init();
    time::calibrate();
    wallclock::init();
    percpu::set_apic_id(lapic::id());
    match deployment::load(boot, &platform, lapic::id()) {
        Ok(Some(checked)) => {
            deployment::report(&checked);
            partition::link::init(checked.deployment.partitions.len());
            partition::stats::init(checked.deployment.partitions.len());
            deployment::publish(checked);
        }
        Ok(None) => info!("the image carries no partition table: the cores stay idle"),
        Err(refusal) => {
            deployment::report_refusal(&refusal);
            idle()
        }
    }
    smp::start_application_processors(&platform);
    smp::report_online(&platform);
    test_fault::maybe_raise(0);
    run_assigned_partition(0)
}

/// What core `index` does once it is up: the service core serves the
/// consoles and supervises, a partition's core runs its partition, any
/// other core idles.
fn run_assigned_partition(index: u32) -> ! {
    if let Some(table) = deployment::service_core_table(index) {
        service::serve(table)
    }
    match deployment::partition_for_core(index) {
        Some((position, config, placement)) => partition::run::run(position, config, placement),
        None => idle(),
    }
}

/// What a core does when it has nothing to run: sleep with interrupts off.
fn idle() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let cpu = percpu::index();
    error!("PANIC on core {cpu}: {info}");
    error!("core {cpu} halted");
    idle()
}
