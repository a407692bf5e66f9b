//! A partition on its core: created once, booted (and rebooted) from its
//! images, and driven exit by exit.
//!
//! The loop is the whole life of a partition core: run the guest, handle the
//! exit, run the guest. Anything the guest does that the partition table does
//! not grant ends as the architectural answer (all-ones from an absent port,
//! #GP from a denied MSR) or, where there is none, as a contained partition
//! fault: one log line naming what it touched, then the crash policy.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use bulkhead_config::{CrashPolicy, Partition as PartitionConfig, Protocol as ConfigProtocol};
use bulkhead_core::policy::Vendor;
use bulkhead_core::policy::cpuid::{Clocks, CpuidResult, CpuidTable, GuestView, Topology};
use bulkhead_core::policy::msr::{HostFacts, MsrFile, MsrOutcome, VcpuIdentity};
use bulkhead_netboot::{EntryKind, Image};
use bulkhead_svm::npt::NestedPageTable;
use bulkhead_svm::permissions::{IoPermissionMap, MsrAccess, MsrPermissionMap};
use bulkhead_svm::{SvmConfig, SvmVcpu};
use bulkhead_vcpu::boot::{
    self, BootImages, MemoryLayout, MemoryType, Module, PhysRange, realmode,
};
use bulkhead_vcpu::exit::merge_io_read;
use bulkhead_vcpu::state::Gpr;
use bulkhead_vcpu::{Exit, MmioAccess, Vcpu, vectors};
use bulkhead_vdevices::Nanos;
use bulkhead_vdevices::irq::RouterEvent;
use log::{error, info, warn};

use super::super::deployment::Placement;
use super::super::{bootinfo, percpu, svm_host, time, wallclock};
use super::console::ConsoleOut;
use super::link::{self, Command, CrashNote, Link};
use super::memory::{FrameTables, GuestRam};
use super::platform::{ACPI_TABLES_GPA, Platform, Shape};
use super::{mmio, stats, string_io};

/// MSRs the VMCB itself holds (swapped by VMRUN, VMLOAD and VMSAVE): the guest
/// reaches them without exits, as it would its own processor's.
const SAVE_AREA_MSRS: [u32; 10] = [
    0x174,
    0x175,
    0x176, // SYSENTER_CS, _ESP, _EIP
    0xC000_0081,
    0xC000_0082,
    0xC000_0083,
    0xC000_0084, // STAR, LSTAR, CSTAR, SFMASK
    0xC000_0100,
    0xC000_0101,
    0xC000_0102, // FS_BASE, GS_BASE, KERNEL_GS_BASE
];
/// How long a halted guest sleeps before its core looks for console input
/// (the service core's kick usually comes first).
const IDLE_POLL_NANOS: u64 = 10_000_000;
/// How long a stopped partition's core sleeps between looks for an
/// operator's restart (the kick usually comes first).
const STOPPED_POLL_NANOS: u64 = 1_000_000_000;

/// Why a partition stopped running.
enum Stop {
    /// The guest asked to end through the debug-exit port.
    Exited { value: u32, status: u32 },
    /// The guest halted with interrupts off: nothing can ever wake it.
    HaltedForever,
    /// The guest powered itself off through ACPI (S5).
    PoweredOff,
    /// The guest asked for a reset (the 8042's reset line): the crash policy
    /// decides between restarting it and halting it, as for a triple fault.
    Reset,
    /// Something the guest did ended it: the crash policy decides.
    Fault(String),
    /// An operator asked for a restart or a halt over the network console.
    Operator(Command),
}

/// One partition on its core.
struct Partition<'a> {
    /// Position in the partition table.
    index: usize,
    config: &'a PartitionConfig,
    images: Image<'static>,
    ram: GuestRam,
    vcpu: SvmVcpu,
    /// What every fresh vCPU of this partition is built from.
    svm: SvmConfig,
    platform: Platform,
    console: ConsoleOut,
    /// What this partition shares with the service core.
    link: Option<&'static Link>,
    /// The exit handled last, for crash reports.
    last_exit: Option<Exit>,
    cpuid: CpuidTable,
    msrs: MsrFile,
    /// The guest's physical-address width (its CPUID 0x8000_0008 EAX[7:0]).
    phys_addr_bits: u8,
    /// The length of the exiting instruction, decoded by the core when the
    /// CPU does not save the next RIP (QEMU's TCG does not).
    decoded_length: Option<u8>,
    /// When the current boot started, in [`time::now_nanos`] time.
    started: u64,
    /// The deadline the core's timer is armed for, in [`time::now_nanos`] time.
    armed: Option<u64>,
    /// Whether `platform` has run a guest (and must be rebuilt before the next boot).
    devices_used: bool,
    /// When each restart within the current window happened.
    restarts: VecDeque<u64>,
    // Owned here so they outlive the vCPU that points at them.
    _npt: NestedPageTable<FrameTables>,
    _iopm: Box<IoPermissionMap>,
    _msrpm: Box<MsrPermissionMap>,
}

/// Runs partition `index` on this core, for good. Never returns: when the
/// partition stops for the last time, the core idles.
pub fn run(index: usize, config: &'static PartitionConfig, placement: Placement) -> ! {
    match Partition::create(index, config, placement) {
        Ok(mut partition) => partition.live(),
        Err(why) => {
            error!("partition {}: not started: {why}", config.name);
            if let Some(stats) = stats::get(index) {
                stats.set_state(stats::State::Crashed);
            }
            super::super::idle()
        }
    }
}

fn host_cpuid(leaf: u32, subleaf: u32) -> CpuidResult {
    let r = core::arch::x86_64::__cpuid_count(leaf, subleaf);
    CpuidResult::new(r.eax, r.ebx, r.ecx, r.edx)
}

impl<'a> Partition<'a> {
    fn create(
        index: usize,
        config: &'a PartitionConfig,
        placement: Placement,
    ) -> Result<Self, String> {
        let features = svm_host::enable().map_err(|e| format!("{e}"))?;
        let layout = config.memory.layout();
        let ram = GuestRam::new(placement.host_base, placement.size, &layout);
        let mut npt = NestedPageTable::new(FrameTables, features.gib_pages)
            .map_err(|e| format!("nested page table: {e:?}"))?;
        for (gpa, hpa, len) in ram.regions() {
            npt.map(gpa, hpa, len)
                .map_err(|e| format!("nested page table: {e:?}"))?;
        }
        let mut iopm = Box::new(IoPermissionMap::intercept_all());
        for range in &config.passthrough_ports {
            iopm.pass_through(range.start, range.end);
        }
        let mut msrpm = Box::new(MsrPermissionMap::intercept_all());
        for msr in SAVE_AREA_MSRS {
            msrpm.pass_through(msr, MsrAccess::ReadWrite);
        }
        let config_svm = SvmConfig {
            asid: index as u32 + 1,
            nested_cr3: npt.root(),
            iopm: &*iopm as *const IoPermissionMap as u64,
            msrpm: &*msrpm as *const MsrPermissionMap as u64,
            next_rip_save: features.next_rip,
        };
        let vcpu = new_vcpu(config_svm);
        let vendor = {
            let leaf0 = host_cpuid(0, 0);
            Vendor::from_signature(leaf0.ebx, leaf0.ecx, leaf0.edx).unwrap_or(Vendor::Amd)
        };
        let topology = Topology::sequential(1);
        let tsc_khz = u32::try_from(time::tsc_hz() / 1000).ok();
        let cpuid = CpuidTable::build(
            &host_cpuid,
            &config.cpuid,
            &topology,
            Clocks {
                tsc_khz,
                apic_timer_khz: None,
            },
        );
        let phys_addr_bits = (host_cpuid(0x8000_0008, 0).eax & 0xFF) as u8;
        let msrs = MsrFile::new(
            VcpuIdentity {
                index: 0,
                apic_id: 0,
                is_bsp: true,
            },
            &config.msr_allow,
            HostFacts {
                vendor,
                phys_addr_bits,
            },
        );
        let platform = new_platform(config, &ram)?;
        let images = container();
        let link = link::get(index);
        Ok(Self {
            index,
            config,
            images,
            ram,
            vcpu,
            svm: config_svm,
            platform,
            console: ConsoleOut::new(&config.name, link.map(|l| &l.output)),
            link,
            last_exit: None,
            cpuid,
            msrs,
            phys_addr_bits,
            decoded_length: None,
            started: 0,
            armed: None,
            devices_used: false,
            restarts: VecDeque::new(),
            _npt: npt,
            _iopm: iopm,
            _msrpm: msrpm,
        })
    }

    /// Boots, runs and applies the crash policy; once the partition stops,
    /// waits for an operator to restart it. Never returns.
    fn live(&mut self) -> ! {
        if let Some(link) = self.link {
            link.set_apic_id(percpu::apic_id());
        }
        loop {
            let state = self.live_until_stopped();
            if let Some(stats) = stats::get(self.index) {
                stats.set_state(state);
            }
            self.wait_for_restart();
            self.restarts.clear();
            if let Some(stats) = stats::get(self.index) {
                stats.restarted();
            }
        }
    }

    /// Sleeps until an operator restarts the partition.
    fn wait_for_restart(&mut self) {
        let Some(link) = self.link else {
            super::super::idle()
        };
        loop {
            match link.take_command() {
                Command::Restart => {
                    info!("partition {}: restarted by an operator", self.config.name);
                    return;
                }
                Command::Halt => info!("partition {}: already stopped", self.config.name),
                Command::None => {}
            }
            time::sleep_until(time::now_nanos() + STOPPED_POLL_NANOS);
        }
    }

    /// Boots and runs the guest, restarting it as the crash policy and the
    /// operator say, until it stops; returns the state it stopped in.
    fn live_until_stopped(&mut self) -> stats::State {
        loop {
            if let Some(stats) = stats::get(self.index) {
                stats.set_state(stats::State::Running);
            }
            self.last_exit = None;
            if let Err(why) = self.boot() {
                error!("partition {}: cannot boot: {why}", self.config.name);
                self.post_crash(format!("cannot boot: {why}"), "halted".into());
                return stats::State::Crashed;
            }
            let stop = self.run();
            self.console.flush();
            if let Some(stats) = stats::get(self.index) {
                stats.report(&self.config.name);
            }
            match stop {
                Stop::Exited { value, status } => {
                    info!(
                        "partition {} exited through debug-exit: value {value:#x} (status {status})",
                        self.config.name
                    );
                    return stats::State::Halted;
                }
                Stop::HaltedForever => {
                    info!(
                        "partition {} halted with interrupts disabled",
                        self.config.name
                    );
                    return stats::State::Halted;
                }
                Stop::PoweredOff => {
                    info!("partition {} powered off (ACPI S5)", self.config.name);
                    return stats::State::Halted;
                }
                Stop::Fault(why) => {
                    error!("partition {} crashed: {why}", self.config.name);
                    let (restart, action) = self.may_restart();
                    self.post_crash(why, action);
                    if !restart {
                        return stats::State::Crashed;
                    }
                }
                Stop::Reset => {
                    info!("partition {} asked for a reset", self.config.name);
                    if !self.may_restart().0 {
                        return stats::State::Halted;
                    }
                }
                Stop::Operator(Command::Halt) => {
                    info!("partition {}: halted by an operator", self.config.name);
                    return stats::State::Halted;
                }
                Stop::Operator(_) => {
                    info!("partition {}: restarted by an operator", self.config.name);
                    if let Some(stats) = stats::get(self.index) {
                        stats.restarted();
                    }
                }
            }
        }
    }

    /// Tells the service core about a crash: what happened, the guest's
    /// registers and last exit, and what the policy did.
    fn post_crash(&self, reason: String, action: String) {
        let Some(link) = self.link else {
            return;
        };
        link.post_crash(CrashNote {
            reason,
            registers: describe_registers(&self.vcpu.state()),
            exit: match &self.last_exit {
                Some(exit) => format!("{exit:?}"),
                None => "none (the guest never ran)".into(),
            },
            action,
        });
    }

    /// Whether the crash policy allows another restart now (recorded if so),
    /// and what was decided, in words.
    fn may_restart(&mut self) -> (bool, String) {
        let CrashPolicy::Restart {
            max_restarts,
            window_secs,
        } = self.config.on_crash
        else {
            info!("partition {}: halted (on_crash = halt)", self.config.name);
            return (false, "halted (on_crash = halt)".into());
        };
        let now = time::now_nanos();
        let window = u64::from(window_secs) * 1_000_000_000;
        while self
            .restarts
            .front()
            .is_some_and(|&t| now.saturating_sub(t) > window)
        {
            self.restarts.pop_front();
        }
        if self.restarts.len() >= max_restarts as usize {
            let action = format!(
                "halted: {} restarts within {window_secs} s reached its limit",
                self.restarts.len()
            );
            error!("partition {}: {action}", self.config.name);
            return (false, action);
        }
        self.restarts.push_back(now);
        if let Some(stats) = stats::get(self.index) {
            stats.restarted();
        }
        let action = format!(
            "restarting ({} of {max_restarts} within {window_secs} s)",
            self.restarts.len()
        );
        info!("partition {}: {action}", self.config.name);
        (true, action)
    }

    /// Clears memory, places the images, resets devices and the vCPU.
    fn boot(&mut self) -> Result<(), String> {
        self.ram.clear();
        let config = self.config;
        let kernel = self
            .images
            .find(EntryKind::Kernel, config.kernel_entry_name())
            .ok_or("the image has no kernel entry for it")?;
        let initrd = self
            .images
            .find(EntryKind::Initrd, config.kernel_entry_name());
        let module_entries: Vec<_> = (0..config.boot.modules.len())
            .map(|i| {
                self.images
                    .find(EntryKind::Module, &config.module_entry_name(i))
            })
            .collect::<Option<_>>()
            .ok_or("the image lacks one of its modules")?;
        let modules: Vec<Module<'_>> = module_entries
            .iter()
            .zip(&config.boot.modules)
            .map(|(entry, module)| Module {
                image: entry.data,
                cmdline: &module.cmdline,
            })
            .collect();
        let cmdline = linux_cmdline(config);
        let images = BootImages {
            kernel: kernel.data,
            cmdline: &cmdline,
            initrd: initrd.map(|e| e.data),
            modules: &modules,
        };
        // Devices start fresh on every boot; the first boot uses the set
        // `create` just built.
        if self.devices_used {
            self.platform = new_platform(config, &self.ram)?;
        }
        self.devices_used = true;
        let ranges: Vec<PhysRange> = self
            .ram
            .regions()
            .map(|(gpa, _, len)| PhysRange::new(gpa, gpa + len))
            .collect();
        let mut layout = MemoryLayout::new(&ranges).map_err(|e| format!("{e}"))?;
        if let Some(acpi) = &self.platform.acpi {
            bulkhead_vcpu::GuestMemory::write(&mut self.ram, ACPI_TABLES_GPA, &acpi.bytes)
                .map_err(|e| format!("ACPI tables: {e}"))?;
            // Reported as ACPI NVS (it holds the FACS), page-rounded, in every
            // protocol's memory map.
            let end = (ACPI_TABLES_GPA + acpi.bytes.len() as u64).next_multiple_of(4096);
            layout = layout
                .with_rsdp(acpi.rsdp_gpa)
                .reserve(PhysRange::new(ACPI_TABLES_GPA, end), MemoryType::AcpiNvs)
                .map_err(|e| format!("ACPI tables: {e}"))?;
        }
        let protocol = match config.boot.protocol {
            ConfigProtocol::RealMode => boot::Protocol::RealMode(realmode::Options {
                load_address: config.boot.load_address,
                entry: config
                    .boot
                    .entry
                    .map(|e| realmode::Entry { cs: e.cs, ip: e.ip }),
            }),
            ConfigProtocol::Multiboot => boot::Protocol::Multiboot,
            ConfigProtocol::Pvh => boot::Protocol::Pvh,
            ConfigProtocol::Linux => boot::Protocol::Linux,
        };
        let prepared = boot::prepare(&protocol, &mut self.ram, &images, &layout)
            .map_err(|e| format!("{e}"))?;
        // A fresh vCPU: nothing queued or half-delivered survives a restart.
        self.vcpu = new_vcpu(self.svm);
        svm_host::reset_xcr0();
        let mut state = prepared.state;
        // After reset EDX holds the processor signature the guest's CPUID shows.
        state.gprs.rdx = u64::from(self.cpuid.lookup(1, 0, 0, GuestView::RESET).eax);
        self.vcpu.set_state(&state).map_err(|e| format!("{e}"))?;
        self.started = time::now_nanos();
        // Whatever the timer was armed for belongs to the previous boot (or
        // to a sleep while the partition was stopped).
        self.armed = None;
        info!(
            "partition {}: booting by {} at {:#x}",
            config.name,
            protocol.name(),
            state.rip
        );
        Ok(())
    }

    fn now(&self) -> Nanos {
        Nanos(time::now_nanos().saturating_sub(self.started))
    }

    /// Runs the guest until it stops.
    fn run(&mut self) -> Stop {
        loop {
            if let Some(link) = self.link {
                match link.take_command() {
                    Command::None => {}
                    command => return Stop::Operator(command),
                }
            }
            if let Some(stop) = self.deliver_interrupts() {
                return stop;
            }
            self.arm_device_timer();
            let exit = match self.vcpu.run() {
                Ok(exit) => exit,
                Err(e) => return Stop::Fault(format!("guest entry failed: {e}")),
            };
            if let Some(stats) = stats::get(self.index) {
                stats.record(exit.kind());
            }
            self.last_exit = Some(exit);
            if let Some(stop) = self.handle(exit) {
                return stop;
            }
        }
    }

    /// Brings the devices up to date and injects the highest-priority pending
    /// interrupt if the guest can take it now, or asks for an interrupt window.
    fn deliver_interrupts(&mut self) -> Option<Stop> {
        let now = self.now();
        self.take_console_input(now);
        self.platform.update_lines(now);
        while let Some(event) = self.platform.router.take_event() {
            match event {
                RouterEvent::Nmi { .. } => {
                    if let Err(e) = self.vcpu.inject_nmi() {
                        warn!("partition {}: NMI dropped: {e}", self.config.name);
                    }
                }
                other => warn!(
                    "partition {}: interrupt message dropped: {other:?}",
                    self.config.name
                ),
            }
        }
        if self.vcpu.event_pending() || self.platform.router.next_injection(0, now).is_none() {
            return None;
        }
        if !self.vcpu.can_inject_interrupt() {
            self.vcpu.request_interrupt_window();
            return None;
        }
        let vector = self.platform.router.acknowledge(0)?;
        match self.vcpu.inject_interrupt(vector) {
            Ok(()) => None,
            Err(e) => self.fault(format!("cannot inject interrupt vector {vector}: {e}")),
        }
    }

    /// Makes sure the guest exits by its next device event even if it runs
    /// without exits until then (a busy wait on the TSC, say): the core's
    /// timer is armed for it, and the interrupt ends the guest's run.
    fn arm_device_timer(&mut self) {
        let deadline = self
            .platform
            .next_deadline()
            .map(|deadline| self.started.saturating_add(deadline.0));
        if deadline != self.armed {
            time::arm(deadline);
            self.armed = deadline;
        }
    }

    fn fault(&self, what: String) -> Option<Stop> {
        Some(Stop::Fault(format!("{what} at rip {:#x}", self.vcpu.rip())))
    }

    fn skip(&mut self) -> Option<Stop> {
        if let Some(len) = self.decoded_length.take() {
            self.vcpu.advance_rip(len);
            return None;
        }
        match self.vcpu.skip_instruction() {
            Ok(()) => None,
            Err(e) => self.fault(format!("cannot complete the instruction: {e}")),
        }
    }

    fn inject_gp(&mut self) -> Option<Stop> {
        match self.vcpu.inject_exception(vectors::GP, Some(0)) {
            Ok(()) => None,
            Err(e) => self.fault(format!("cannot inject #GP: {e}")),
        }
    }

    fn handle(&mut self, exit: Exit) -> Option<Stop> {
        let now = self.now();
        self.decoded_length = None;
        if !self.svm.next_rip_save
            && matches!(
                exit,
                Exit::Cpuid { .. }
                    | Exit::MsrRead { .. }
                    | Exit::MsrWrite { .. }
                    | Exit::Hlt
                    | Exit::Hypercall
                    | Exit::Pause
            )
        {
            self.decoded_length = mmio::decoded_length(&self.vcpu, &self.ram, self.phys_addr_bits);
        }
        match exit {
            Exit::IoIn { port, size } => {
                let value = self.platform.port_read(port, size, now);
                let rax = merge_io_read(self.vcpu.rax(), size, value);
                self.vcpu.set_rax(rax);
                self.skip()
            }
            Exit::IoOut { port, size, value } => {
                self.platform.port_write(port, size, value, now);
                self.drain_consoles();
                if let Some(exit) = self.platform.take_exit_request() {
                    return Some(Stop::Exited {
                        value: exit.value,
                        status: exit.status,
                    });
                }
                if self.platform.take_power_off_request() {
                    return Some(Stop::PoweredOff);
                }
                if self.platform.take_reset_request() {
                    return Some(Stop::Reset);
                }
                self.skip()
            }
            Exit::IoString {
                port,
                size,
                direction,
                rep,
                address_bits,
                segment,
            } => {
                let exit = string_io::Exit {
                    port,
                    size,
                    direction,
                    rep,
                    address_bits,
                    segment,
                };
                let outcome = string_io::handle(
                    &mut self.vcpu,
                    &mut self.ram,
                    &mut self.platform,
                    &exit,
                    self.phys_addr_bits,
                    now,
                );
                self.drain_consoles();
                match outcome {
                    mmio::Outcome::Done | mmio::Outcome::Reflected => None,
                    mmio::Outcome::Refused(what) => self.fault(what),
                }
            }
            Exit::Cpuid { leaf, subleaf } => {
                let state = self.vcpu.state();
                let view = GuestView {
                    cr4: state.cr4,
                    xcr0: state.xcr0,
                };
                let r = self.cpuid.lookup(leaf, subleaf, 0, view);
                self.vcpu.set_gpr(Gpr::Rax, r.eax.into());
                self.vcpu.set_gpr(Gpr::Rbx, r.ebx.into());
                self.vcpu.set_gpr(Gpr::Rcx, r.ecx.into());
                self.vcpu.set_gpr(Gpr::Rdx, r.edx.into());
                self.skip()
            }
            Exit::MsrRead { msr } => self.msr_read(msr),
            Exit::MsrWrite { msr, value } => self.msr_write(msr, value),
            Exit::Hlt => {
                if let Some(stop) = self.skip() {
                    return Some(stop);
                }
                if !self.vcpu.interrupts_enabled() {
                    return Some(Stop::HaltedForever);
                }
                self.platform.update_lines(now);
                if self.platform.router.next_injection(0, now).is_some() {
                    return None;
                }
                let wake = self
                    .platform
                    .next_deadline()
                    .map_or(u64::MAX, |deadline| self.started.saturating_add(deadline.0));
                time::sleep_until(wake.min(time::now_nanos() + IDLE_POLL_NANOS));
                self.armed = None;
                None
            }
            Exit::Shutdown => Some(Stop::Fault(format!(
                "triple fault (shutdown) at rip {:#x}",
                self.vcpu.rip()
            ))),
            Exit::Mmio {
                gpa,
                access,
                page_walk,
                ..
            } => {
                if page_walk || access == MmioAccess::Execute {
                    return self.fault(format!(
                        "{access:?} of guest-physical {gpa:#x}{}, which is not its RAM",
                        if page_walk {
                            " (a page-table walk)"
                        } else {
                            ""
                        }
                    ));
                }
                match mmio::handle(
                    &mut self.vcpu,
                    &self.ram,
                    &mut self.platform,
                    gpa,
                    self.phys_addr_bits,
                    now,
                ) {
                    mmio::Outcome::Done | mmio::Outcome::Reflected => None,
                    mmio::Outcome::Refused(what) => self.fault(format!("{access:?} of {what}")),
                }
            }
            Exit::Exception { vector, error_code } => {
                match self.vcpu.inject_exception(vector, error_code) {
                    Ok(()) => None,
                    Err(e) => self.fault(format!("cannot reflect exception {vector}: {e}")),
                }
            }
            Exit::ExternalInterrupt | Exit::Nmi => {
                // A physical interrupt for the host arrived while the guest ran
                // (usually the timer armed for the next device event): take it
                // now; the world switch has set GIF again. The one-shot timer
                // has fired, so it must be armed again.
                x86_64::instructions::interrupts::enable();
                core::hint::spin_loop();
                x86_64::instructions::interrupts::disable();
                self.armed = None;
                None
            }
            Exit::Hypercall => self.hypercall(),
            Exit::InterruptWindow | Exit::Pause => None,
            Exit::InvalidGuestState { detail } => {
                self.fault(format!("invalid guest state: {detail}"))
            }
            other => self.fault(format!("unhandled exit {other:?}")),
        }
    }

    /// Moves typed bytes from the partition's input ring into its console
    /// UART, as many as the UART has room for; the rest wait in the ring.
    fn take_console_input(&mut self, now: Nanos) {
        let Some(ring) = self.link.map(|link| &link.input) else {
            return;
        };
        let Some(uart) = self.platform.uarts.iter_mut().find(|u| u.console) else {
            return;
        };
        while let Some(byte) = ring.peek() {
            if uart.device.push_input(&[byte], now) == 0 {
                break;
            }
            ring.consume();
        }
    }

    fn drain_consoles(&mut self) {
        for slot in self.platform.uarts.iter_mut().filter(|u| u.console) {
            for byte in slot.device.drain_output() {
                self.console.push(byte);
            }
        }
    }

    fn msr_read(&mut self, msr: u32) -> Option<Stop> {
        let value = match self.msrs.read(msr) {
            MsrOutcome::Value(value) => value,
            MsrOutcome::GeneralProtection => return self.inject_gp(),
            MsrOutcome::EferRead => self.vcpu.state().efer,
            MsrOutcome::TscRead => {
                // SAFETY: RDTSC has no side effects.
                unsafe { core::arch::x86_64::_rdtsc() }
            }
            MsrOutcome::PassToHardware => {
                // SAFETY: the partition table allows this MSR for this
                // partition, on its own core.
                unsafe { x86_64::registers::model_specific::Msr::new(msr).read() }
            }
            MsrOutcome::TscDeadlineRead => {
                let now = self.now();
                self.platform
                    .router
                    .lapic_mut(0)
                    .map_or(0, |lapic| lapic.read_tsc_deadline(now))
            }
            other => {
                warn!(
                    "partition {}: rdmsr {msr:#x} answered {other:?}; reading 0",
                    self.config.name
                );
                0
            }
        };
        self.vcpu.set_gpr(Gpr::Rax, value & 0xFFFF_FFFF);
        self.vcpu.set_gpr(Gpr::Rdx, value >> 32);
        self.skip()
    }

    fn msr_write(&mut self, msr: u32, value: u64) -> Option<Stop> {
        match self.msrs.write(msr, value) {
            MsrOutcome::GeneralProtection => return self.inject_gp(),
            MsrOutcome::EferWrite(efer) => {
                let mut state = self.vcpu.state();
                state.efer = efer;
                if let Err(e) = self.vcpu.set_state(&state) {
                    return self.fault(format!("cannot apply EFER {efer:#x}: {e}"));
                }
            }
            MsrOutcome::PatWrite(pat) => {
                let mut state = self.vcpu.state();
                state.pat = pat;
                if let Err(e) = self.vcpu.set_state(&state) {
                    return self.fault(format!("cannot apply PAT {pat:#x}: {e}"));
                }
            }
            MsrOutcome::PassToHardware => {
                // SAFETY: the partition table allows this MSR for this
                // partition, on its own core.
                unsafe { x86_64::registers::model_specific::Msr::new(msr).write(value) };
            }
            MsrOutcome::TscDeadlineWrite(deadline) => {
                let now = self.now();
                // SAFETY: RDTSC has no side effects; the guest's TSC is the host's.
                let tsc = unsafe { core::arch::x86_64::_rdtsc() };
                if let Some(lapic) = self.platform.router.lapic_mut(0) {
                    lapic.write_tsc_deadline(deadline, now, tsc);
                }
            }
            MsrOutcome::ApicEnabled(enabled) => {
                if let Some(lapic) = self.platform.router.lapic_mut(0) {
                    lapic.set_hardware_enabled(enabled);
                }
            }
            _ => {}
        }
        self.skip()
    }

    /// The hypercall ABI (VMMCALL): RAX selects the call, the result comes back in RAX.
    /// See `docs/hypercalls.md`.
    fn hypercall(&mut self) -> Option<Stop> {
        const CONSOLE_WRITE: u64 = 1;
        const EXIT: u64 = 2;
        const PARTITION_INFO: u64 = 3;
        const UNKNOWN: u64 = u64::MAX;
        const BAD_ARGUMENT: u64 = u64::MAX - 1;
        const MAX_WRITE: u64 = 4096;
        let result = match self.vcpu.rax() {
            CONSOLE_WRITE => {
                let (gpa, len) = (self.vcpu.gpr(Gpr::Rbx), self.vcpu.gpr(Gpr::Rcx));
                let mut buffer = [0u8; MAX_WRITE as usize];
                let len = len.min(MAX_WRITE) as usize;
                match bulkhead_vcpu::GuestMemory::read(&self.ram, gpa, &mut buffer[..len]) {
                    Ok(()) => {
                        for &byte in &buffer[..len] {
                            self.console.push(byte);
                        }
                        len as u64
                    }
                    Err(_) => BAD_ARGUMENT,
                }
            }
            EXIT => {
                let code = self.vcpu.gpr(Gpr::Rbx) as u32;
                return Some(Stop::Exited {
                    value: code,
                    status: code,
                });
            }
            PARTITION_INFO => {
                self.vcpu.set_gpr(Gpr::Rbx, self.config.memory.size);
                self.vcpu.set_gpr(Gpr::Rcx, self.config.cores.len() as u64);
                0
            }
            _ => UNKNOWN,
        };
        self.vcpu.set_rax(result);
        self.skip()
    }
}

/// The guest's registers for a crash report, four to a line.
fn describe_registers(state: &bulkhead_vcpu::GuestState) -> String {
    use core::fmt::Write;
    let mut out = String::new();
    for (i, reg) in Gpr::ALL.iter().enumerate() {
        let _ = write!(out, "{:>3}={:016x}", reg.name(), state.gprs.get(*reg));
        out.push(if i % 4 == 3 { '\n' } else { ' ' });
    }
    let _ = write!(
        out,
        "rip={:016x} rflags={:08x} cs={:04x} ss={:04x}\ncr0={:08x} cr2={:016x} cr3={:016x} cr4={:08x} efer={:x}",
        state.rip,
        state.rflags,
        state.cs.selector,
        state.ss.selector,
        state.cr0,
        state.cr2,
        state.cr3,
        state.cr4,
        state.efer
    );
    out
}

/// The command line a partition's kernel gets. Linux (by the Linux or PVH
/// protocol) is told about its TSC the way a boot loader tells a kernel what
/// the platform cannot: `tsc_early_khz=` gives the rate (calibrating against
/// the PIT needs thousands of port reads in a few milliseconds, each one an
/// exit), and `tsc=reliable` says it needs no watchdog: it is the core's own
/// invariant TSC, never intercepted or rescaled, while the watchdog's
/// reference (the ACPI PM timer) costs an exit per read and would look
/// unstable itself. Anything the table's command line already says wins.
fn linux_cmdline(config: &PartitionConfig) -> String {
    let mut cmdline = config.boot.cmdline.clone();
    if !matches!(
        config.boot.protocol,
        ConfigProtocol::Linux | ConfigProtocol::Pvh
    ) {
        return cmdline;
    }
    let has = |key: &str| cmdline.split_ascii_whitespace().any(|w| w.starts_with(key));
    let mut extra = Vec::new();
    let khz = time::tsc_hz() / 1000;
    if khz != 0 && !has("tsc_early_khz=") {
        extra.push(format!("tsc_early_khz={khz}"));
    }
    if !has("tsc=") {
        extra.push("tsc=reliable".into());
    }
    for word in extra {
        if !cmdline.is_empty() {
            cmdline.push(' ');
        }
        cmdline.push_str(&word);
    }
    cmdline
}

/// A vCPU in the reset state over the partition's nested page table and maps.
fn new_vcpu(config: SvmConfig) -> SvmVcpu {
    // SAFETY: the heap is identity mapped, SVM is enabled on this core, and the
    // nested page table and permission maps `config` names are owned by the
    // partition, which outlives every vCPU it creates.
    unsafe { SvmVcpu::new(config) }
}

/// The partition's devices, as its table entry asks.
fn new_platform(config: &PartitionConfig, ram: &GuestRam) -> Result<Platform, String> {
    const FOUR_GIB: u64 = 1 << 32;
    let (mut below, mut above) = (0, 0);
    for (gpa, _, len) in ram.regions() {
        let low = FOUR_GIB.saturating_sub(gpa).min(len);
        below += low;
        above += len - low;
    }
    let shape = Shape {
        devices: &config.devices,
        protocol: config.boot.protocol,
        ram_below_4g: below,
        ram_above_4g: above,
        tsc_hz: time::tsc_hz(),
        epoch_seconds: wallclock::epoch_seconds(),
    };
    Platform::new(&shape)
        .map_err(|c| format!("device {} at port {:#x} overlaps another", c.what, c.port))
}

/// The verified deployment container the loader handed over.
fn container() -> Image<'static> {
    let handoff = &bootinfo::get().handoff;
    // SAFETY: the loader verified this range and it stays reserved and
    // unwritten for the machine's lifetime.
    let bytes = unsafe {
        core::slice::from_raw_parts(
            handoff.container_start as *const u8,
            handoff.container_len as usize,
        )
    };
    Image::parse(bytes).expect("the loader verified this container")
}
