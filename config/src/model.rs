//! The top of the model: the deployment, the machine it expects, and the hypervisor's own
//! settings (service core, network, consoles).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

use crate::partition::Partition;

/// One deployment: what the machine looks like, how the hypervisor itself is set up, and
/// every partition it runs.
///
/// Build one with the TOML front end (`load`, feature `std`) or decode the compiled form
/// with [`Deployment::from_bytes`]; both run [`Deployment::validate`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    /// What the author expects of the machine (`[machine]`); checked statically.
    pub machine: Machine,
    /// The hypervisor's own settings (`[hypervisor]`).
    pub hypervisor: Hypervisor,
    /// The partitions, in the order the file lists them (`[[partition]]`).
    pub partitions: Vec<Partition>,
}

/// The machine the deployment is written for (`[machine]`). Every field is optional; what
/// is given is checked before anything boots, and the core checks the real machine again
/// at boot ([`Deployment::check_machine`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// Number of cores the machine has (`machine.cores`): every core index must be below it.
    pub cores: Option<u32>,
    /// Memory the machine has, in bytes (`machine.memory`): the partitions' memory must fit.
    pub memory: Option<u64>,
}

/// The hypervisor's own settings (`[hypervisor]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Hypervisor {
    /// The core that runs the NIC, the network console and partition supervision
    /// (`hypervisor.service_core`). Core 0 is the bootstrap processor.
    pub service_core: u32,
    /// The service core's network (`[hypervisor.network]`).
    pub network: Network,
    /// The UDP console service (`[hypervisor.console]`); `None` when it is off.
    pub console: Option<NetConsole>,
    /// The console on the machine's own COM1 (`[hypervisor.local_console]`).
    pub local_console: LocalConsole,
}

/// The service core's network (`[hypervisor.network]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    /// Which NIC driver to use (`nic`).
    pub nic: Nic,
    /// How the address is obtained (`address`, `gateway`).
    pub addressing: Addressing,
}

/// The NIC driver the service core uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Nic {
    /// The first supported NIC found on the PCI bus (`"auto"`).
    #[default]
    Auto,
    /// A virtio-net device, modern PCI transport (`"virtio"`).
    Virtio,
    /// An Intel 8254x (e1000) device (`"e1000"`).
    E1000,
    /// No network at all; the network console is then off (`"none"`).
    None,
}

impl Nic {
    /// The spelling used in the TOML file.
    pub const fn as_str(self) -> &'static str {
        match self {
            Nic::Auto => "auto",
            Nic::Virtio => "virtio",
            Nic::E1000 => "e1000",
            Nic::None => "none",
        }
    }

    /// Every spelling accepted in the TOML file, in the order the docs list them.
    pub const NAMES: [&'static str; 4] = ["auto", "virtio", "e1000", "none"];

    /// Parses the TOML spelling.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "auto" => Some(Nic::Auto),
            "virtio" => Some(Nic::Virtio),
            "e1000" => Some(Nic::E1000),
            "none" => Some(Nic::None),
            _ => None,
        }
    }
}

/// How the service core gets its IPv4 address.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Addressing {
    /// DHCP (`address = "dhcp"`).
    #[default]
    Dhcp,
    /// A fixed address (`address = "192.0.2.10/24"`, optional `gateway`).
    Static(StaticAddress),
}

/// A fixed IPv4 address with its prefix and optional default gateway.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaticAddress {
    /// The address, most significant octet first.
    pub address: [u8; 4],
    /// Prefix length, 0 to 32.
    pub prefix_len: u8,
    /// Default gateway; it must lie inside the prefix.
    pub gateway: Option<[u8; 4]>,
}

/// The authenticated UDP console service (`[hypervisor.console]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetConsole {
    /// UDP port the service listens on.
    pub port: u16,
    /// The deployment key every datagram is authenticated with.
    pub key: ConsoleKey,
}

/// The console key's bytes. `Debug` never prints them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleKey(Vec<u8>);

impl ConsoleKey {
    /// Wraps key bytes. Validation requires at least
    /// [`limits::MIN_CONSOLE_KEY_LEN`](crate::limits::MIN_CONSOLE_KEY_LEN) of them.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for ConsoleKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConsoleKey(<{} bytes>)", self.0.len())
    }
}

/// The console on the machine's own COM1 (`[hypervisor.local_console]`): the hypervisor's
/// log, and every partition's console multiplexed, one partition holding the input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalConsole {
    /// Whether the hypervisor uses COM1 at all (`enabled`). When it does, COM1's ports
    /// cannot be passed through to a partition.
    pub enabled: bool,
    /// The partition whose console gets COM1's input first (`input`); `None` means the
    /// first partition.
    pub input: Option<String>,
}

impl Default for LocalConsole {
    fn default() -> Self {
        Self {
            enabled: true,
            input: None,
        }
    }
}

/// Formats an IPv4 address as dotted decimal.
pub(crate) struct Ipv4<'a>(pub &'a [u8; 4]);

impl fmt::Display for Ipv4<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = *self.0;
        write!(f, "{a}.{b}.{c}.{d}")
    }
}
