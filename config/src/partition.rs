//! One partition: cores, memory, boot, devices, pass-through, CPUID, MSRs, crash policy.

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::cpuid::CpuidPolicy;
use crate::devices::{Devices, PortRange};
use crate::msr::MsrRange;
use crate::validate::limits::{FOUR_GIB, LOW_MMIO_START};

/// One partition (`[[partition]]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    /// Unique name; the console and the management verbs use it (`name`).
    pub name: String,
    /// Core indexes the partition owns, one vCPU each (`cores`).
    pub cores: Vec<u32>,
    /// Guest RAM (`memory`).
    pub memory: Memory,
    /// How the guest is started (`[partition.boot]`).
    pub boot: Boot,
    /// The emulated platform devices (`[partition.devices]`).
    pub devices: Devices,
    /// Physical I/O port ranges the guest reaches directly (`passthrough_ports`).
    pub passthrough_ports: Vec<PortRange>,
    /// CPUID changes on top of the hypervisor's policy (`[partition.cpuid]`).
    pub cpuid: CpuidPolicy,
    /// MSRs the guest may read and write directly (`msr_allow`).
    pub msr_allow: Vec<MsrRange>,
    /// What the service core does when the partition crashes (`on_crash`).
    pub on_crash: CrashPolicy,
}

/// A partition's RAM.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memory {
    /// Total bytes of RAM (`memory` or `memory.size`).
    pub size: u64,
    /// Guest-physical placement (`memory.regions`); empty means [`Memory::default_layout`].
    pub regions: Vec<MemoryRegion>,
}

/// One block of guest RAM at a guest-physical address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryRegion {
    /// Guest-physical start, page aligned.
    pub base: u64,
    /// Length in bytes, page aligned.
    pub size: u64,
}

impl Partition {
    /// Name of the image entry holding this partition's kernel (kind `kernel`) and,
    /// if any, its initrd (kind `initrd`): the partition's own name.
    pub fn kernel_entry_name(&self) -> &str {
        &self.name
    }

    /// Name of the image entry holding module `index` (kind `module`): `NAME.mINDEX`.
    /// Partition names and module counts are bounded so this fits an entry name.
    pub fn module_entry_name(&self, index: usize) -> String {
        alloc::format!("{}.m{index}", self.name)
    }
}

impl MemoryRegion {
    /// One past the last byte, or `None` on overflow.
    pub fn end(&self) -> Option<u64> {
        self.base.checked_add(self.size)
    }
}

impl Memory {
    /// A memory block of `size` bytes with the default layout.
    pub fn with_size(size: u64) -> Self {
        Self {
            size,
            regions: Vec::new(),
        }
    }

    /// The layout used when none is given: RAM from guest-physical 0 up to the 32-bit MMIO
    /// hole at 3 GiB, and whatever remains from 4 GiB up, as a PC firmware would lay it out.
    pub fn default_layout(size: u64) -> Vec<MemoryRegion> {
        let mut out = Vec::new();
        let low = size.min(LOW_MMIO_START);
        if low > 0 {
            out.push(MemoryRegion { base: 0, size: low });
        }
        if size > low {
            out.push(MemoryRegion {
                base: FOUR_GIB,
                size: size - low,
            });
        }
        out
    }

    /// The effective layout: the configured regions, or the default one.
    pub fn layout(&self) -> Vec<MemoryRegion> {
        if self.regions.is_empty() {
            Self::default_layout(self.size)
        } else {
            self.regions.clone()
        }
    }
}

/// A guest boot protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Protocol {
    /// 16-bit real mode at a CS:IP, image below 1 MiB (`"realmode"`).
    RealMode,
    /// Multiboot (v1): 32-bit protected mode, EAX = 0x2BADB002 (`"multiboot"`).
    Multiboot,
    /// Xen PVH: 32-bit entry from the ELF note, `hvm_start_info` in EBX (`"pvh"`).
    Pvh,
    /// Linux x86 boot protocol, bzImage, 64-bit entry (`"linux"`).
    Linux,
}

impl Protocol {
    /// Every spelling accepted in the TOML file.
    pub const NAMES: [&'static str; 4] = ["realmode", "multiboot", "pvh", "linux"];

    /// The spelling used in the TOML file.
    pub const fn as_str(self) -> &'static str {
        match self {
            Protocol::RealMode => "realmode",
            Protocol::Multiboot => "multiboot",
            Protocol::Pvh => "pvh",
            Protocol::Linux => "linux",
        }
    }

    /// Parses the TOML spelling.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "realmode" => Some(Protocol::RealMode),
            "multiboot" => Some(Protocol::Multiboot),
            "pvh" => Some(Protocol::Pvh),
            "linux" => Some(Protocol::Linux),
            _ => None,
        }
    }

    /// The longest command line, in bytes without the terminating NUL, that the protocol
    /// carries when the image says nothing more precise. Linux bzImages state their own
    /// limit in the setup header (`cmdline_size`), which the file check applies instead.
    pub const fn cmdline_limit(self) -> usize {
        match self {
            // Real mode has no command line at all.
            Protocol::RealMode => 0,
            // The loader places the string in one 4 KiB page.
            Protocol::Multiboot => 4095,
            // Linux's COMMAND_LINE_SIZE on x86, the common consumer of PVH.
            Protocol::Pvh => 2047,
            // COMMAND_LINE_SIZE again; refined by the setup header.
            Protocol::Linux => 2047,
        }
    }
}

/// How a partition is booted (`[partition.boot]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Boot {
    /// The boot protocol (`protocol`).
    pub protocol: Protocol,
    /// The kernel image, relative to the config file (`kernel`).
    pub kernel: String,
    /// The initial ramdisk, for `linux` and `pvh` (`initrd`).
    pub initrd: Option<String>,
    /// Boot modules, for `multiboot` and `pvh` (`modules`).
    pub modules: Vec<Module>,
    /// The kernel command line (`cmdline`); empty when not given.
    pub cmdline: String,
    /// Real-mode entry point (`entry`); `None` means F000:FFF0, the reset vector.
    pub entry: Option<RealModeEntry>,
    /// Real-mode load address (`load_address`); `None` means the image ends at 1 MiB, where a
    /// BIOS ROM sits.
    pub load_address: Option<u32>,
}

/// A boot module handed to a multiboot or PVH kernel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Module {
    /// The module file, relative to the config file.
    pub path: String,
    /// The module's own command line (the multiboot module string).
    pub cmdline: String,
}

/// A real-mode CS:IP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealModeEntry {
    /// Code segment.
    pub cs: u16,
    /// Instruction pointer.
    pub ip: u16,
}

impl RealModeEntry {
    /// The reset vector, F000:FFF0.
    pub const RESET: RealModeEntry = RealModeEntry {
        cs: 0xF000,
        ip: 0xFFF0,
    };

    /// The linear address, `cs * 16 + ip`.
    pub const fn linear(self) -> u32 {
        (self.cs as u32) * 16 + self.ip as u32
    }
}

/// What the service core does when a partition crashes (triple fault, shutdown, a refused
/// access that stops it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CrashPolicy {
    /// Stop the partition and leave it stopped (`"halt"`).
    #[default]
    Halt,
    /// Restart it from its boot state, at most `max_restarts` times within any window of
    /// `window_secs` seconds; past that it is halted.
    Restart {
        /// Restarts allowed within the window.
        max_restarts: u32,
        /// The window, in seconds.
        window_secs: u32,
    },
}

impl CrashPolicy {
    /// Restarts allowed per window when `max_restarts` is not given.
    pub const DEFAULT_MAX_RESTARTS: u32 = 3;
    /// The window, in seconds, when `window` is not given.
    pub const DEFAULT_WINDOW_SECS: u32 = 60;

    /// The restart policy with default limits.
    pub const fn restart() -> Self {
        CrashPolicy::Restart {
            max_restarts: Self::DEFAULT_MAX_RESTARTS,
            window_secs: Self::DEFAULT_WINDOW_SECS,
        }
    }
}
