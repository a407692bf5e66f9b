//! The service core's network: one NIC found on the PCI bus, smoltcp on top
//! of it, an IPv4 address by DHCP or from the configuration, and one UDP
//! socket for the network console.
//!
//! Everything is polled from the service core's loop; nothing here takes an
//! interrupt or reads a clock of its own: the caller passes the time in.

mod device;
mod dma;
mod e1000;
mod virtio;

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use bulkhead_config::{Addressing, Network, Nic};
use log::info;
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::socket::{dhcpv4, udp};
use smoltcp::time::Instant;
use smoltcp::wire::{
    EthernetAddress, HardwareAddress, IpAddress, IpCidr, IpEndpoint, Ipv4Address, Ipv4Cidr,
};

use self::device::Driver;
use self::e1000::E1000;
use self::virtio::VirtioNet;
use super::pci::{self, Function};
use super::time;

/// Datagrams each console socket buffer holds, each way.
const SOCKET_DATAGRAMS: usize = 32;
/// Payload bytes per buffered datagram: what fits one Ethernet frame after
/// IPv4 and UDP headers, rounded down.
const SOCKET_DATAGRAM_BYTES: usize = 1400;
/// PCI base class of network controllers.
const CLASS_NETWORK: u8 = 0x02;
/// Device windows above this are outside the uncacheable identity map.
const DEVICE_WINDOW_END: u64 = 1 << 32;

/// A console client: its IPv4 address and UDP port.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer(IpEndpoint);

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// As [`fmt::Display`]: log lines (the protocol's notices) show `10.0.2.2:40001`.
impl fmt::Debug for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Why a NIC driver could not bring its device up.
#[derive(Debug)]
pub enum DriverError {
    /// The BAR that holds the registers is missing, an I/O window, or too small.
    NoRegisterBar {
        /// BAR index.
        index: u8,
    },
    /// A BAR lies where the hypervisor maps no uncached device memory.
    Unreachable {
        /// BAR index.
        index: u8,
        /// Its base address.
        base: u64,
        /// Its size.
        size: u64,
    },
    /// No memory left for rings and buffers.
    OutOfMemory,
    /// The controller never came out of reset.
    ResetTimeout,
    /// Neither the receive address registers nor the EEPROM gave a MAC address.
    NoMacAddress,
    /// The device reports a multicast or broadcast MAC address.
    NotUnicast([u8; 6]),
    /// The virtio device offers only the legacy interface.
    VirtioLegacyOnly,
    /// The virtio PCI capabilities are missing or inconsistent.
    VirtioTransport(virtio_drivers::transport::pci::VirtioPciError),
    /// The virtio device refused feature negotiation or queue set-up.
    Virtio(virtio_drivers::Error),
}

impl fmt::Display for DriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DriverError::NoRegisterBar { index } => {
                write!(
                    f,
                    "BAR{index} is not a memory window large enough for the registers"
                )
            }
            DriverError::Unreachable { index, base, size } => write!(
                f,
                "BAR{index} at {base:#x} ({size:#x} bytes) lies above 4 GiB, outside the \
                 hypervisor's uncached device window; have the firmware place it lower"
            ),
            DriverError::OutOfMemory => write!(f, "no memory left for rings and buffers"),
            DriverError::ResetTimeout => write!(f, "the controller stayed in reset"),
            DriverError::NoMacAddress => write!(
                f,
                "no MAC address: receive address 0 is empty and the EEPROM did not answer"
            ),
            DriverError::NotUnicast(mac) => write!(
                f,
                "the device's MAC address {} is not a unicast address",
                Mac(*mac)
            ),
            DriverError::VirtioLegacyOnly => write!(
                f,
                "the device offers only legacy virtio, not the modern PCI interface \
                 (QEMU: leave disable-modern off)"
            ),
            DriverError::VirtioTransport(error) => write!(f, "virtio PCI transport: {error}"),
            DriverError::Virtio(error) => write!(f, "virtio: {error}"),
        }
    }
}

/// Why the network did not come up.
#[derive(Debug)]
pub enum NetError {
    /// The configuration turns the network off (`nic = "none"`).
    Disabled,
    /// No NIC of the configured kind is on the PCI bus.
    NoNic {
        /// What the configuration asked for.
        wanted: Nic,
        /// Every network controller the scan saw, supported or not.
        found: Vec<Function>,
        /// How many PCI functions the scan saw in all.
        scanned: usize,
    },
    /// A NIC was found but its driver could not start it.
    Driver {
        /// The driver's name.
        driver: &'static str,
        /// The NIC's PCI address.
        at: pci::Address,
        /// What went wrong.
        reason: DriverError,
    },
    /// A static address with a prefix longer than 32 bits.
    BadPrefix(u8),
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::Disabled => write!(f, "the network is off (nic = \"none\")"),
            NetError::NoNic {
                wanted,
                found,
                scanned,
            } => {
                write!(f, "no {} on the PCI bus", wanted_description(*wanted))?;
                if found.is_empty() {
                    write!(
                        f,
                        "; none of its {scanned} functions is a network controller"
                    )
                } else {
                    write!(f, "; network controllers found:")?;
                    for function in found {
                        write!(f, " {function}")?;
                    }
                    Ok(())
                }
            }
            NetError::Driver { driver, at, reason } => {
                write!(f, "{driver} at {at} did not start: {reason}")
            }
            NetError::BadPrefix(prefix) => {
                write!(f, "static address prefix /{prefix} is longer than 32 bits")
            }
        }
    }
}

fn wanted_description(wanted: Nic) -> &'static str {
    match wanted {
        Nic::Virtio => "virtio-net NIC (1af4:1000 or 1af4:1041)",
        Nic::E1000 => "e1000 NIC (8086:100e or 8086:100f)",
        Nic::Auto | Nic::None => {
            "supported NIC (virtio-net 1af4:1000 or 1af4:1041, e1000 8086:100e or 8086:100f)"
        }
    }
}

/// Checks that BAR `index` lies in the identity map's uncached window below
/// 4 GiB, where the drivers can reach it.
fn reachable(index: u8, base: u64, size: u64) -> Result<(), DriverError> {
    match base.checked_add(size) {
        Some(end) if end <= DEVICE_WINDOW_END => Ok(()),
        _ => Err(DriverError::Unreachable { index, base, size }),
    }
}

/// The NIC, smoltcp's interface and sockets on it.
pub struct Net {
    driver: Driver,
    iface: Interface,
    sockets: SocketSet<'static>,
    console: SocketHandle,
    dhcp: Option<SocketHandle>,
}

impl Net {
    /// Finds the NIC (PCI scan per `network.nic`; Auto = first supported,
    /// virtio first), resets it, brings smoltcp up, binds UDP `port`. Logs
    /// `net: <driver> at <bus:dev.fn>, mac xx:..`.
    pub fn init(network: &Network, port: u16) -> Result<Net, NetError> {
        let mut driver = start_driver(network.nic)?;
        let mac = EthernetAddress(driver.mac());
        let now = instant(time::now_nanos());
        let mut config = Config::new(HardwareAddress::Ethernet(mac));
        // The TSC, read through the clock, differs from boot to boot; the MAC
        // tells two machines booted in the same instant apart.
        config.random_seed = time::now_nanos() ^ mac_bits(&mac) << 16;
        let mut iface = Interface::new(config, &mut driver, now);
        let mut sockets = SocketSet::new(Vec::new());
        let console = sockets.add(console_socket(port));
        let dhcp = match &network.addressing {
            Addressing::Dhcp => {
                info!("net: asking for an address via dhcp");
                Some(sockets.add(dhcpv4::Socket::new()))
            }
            Addressing::Static(fixed) => {
                if fixed.prefix_len > 32 {
                    return Err(NetError::BadPrefix(fixed.prefix_len));
                }
                let cidr = Ipv4Cidr::new(Ipv4Address::from(fixed.address), fixed.prefix_len);
                let gateway = fixed.gateway.map(Ipv4Address::from);
                configure(&mut iface, Some(cidr), gateway);
                info!("net: address {cidr} (static), gateway {}", Gateway(gateway));
                None
            }
        };
        Ok(Net {
            driver,
            iface,
            sockets,
            console,
            dhcp,
        })
    }

    /// Runs smoltcp (and DHCP) with the monotonic clock.
    pub fn poll(&mut self, now_nanos: u64) {
        let now = instant(now_nanos);
        self.iface.poll(now, &mut self.driver, &mut self.sockets);
        if self.take_dhcp_event() {
            // Send what waited for an address, and answer ARP with it, now.
            self.iface.poll(now, &mut self.driver, &mut self.sockets);
        }
    }

    /// Applies a DHCP configuration change, if there is one; true if so.
    fn take_dhcp_event(&mut self) -> bool {
        let Some(handle) = self.dhcp else {
            return false;
        };
        let had = self.address_cidr();
        match self.sockets.get_mut::<dhcpv4::Socket>(handle).poll() {
            None => false,
            Some(dhcpv4::Event::Configured(lease)) => {
                configure(&mut self.iface, Some(lease.address), lease.router);
                info!(
                    "net: address {} via dhcp, gateway {}",
                    lease.address,
                    Gateway(lease.router)
                );
                true
            }
            Some(dhcpv4::Event::Deconfigured) => {
                configure(&mut self.iface, None, None);
                if let Some(cidr) = had {
                    info!("net: dhcp lease on {cidr} ended: no address until a server answers");
                }
                true
            }
        }
    }

    /// One received datagram on the console port, if any: (source ip,
    /// source port, payload).
    pub fn recv(&mut self) -> Option<(Peer, Vec<u8>)> {
        let socket = self.sockets.get_mut::<udp::Socket>(self.console);
        let (payload, meta) = socket.recv().ok()?;
        Some((Peer(meta.endpoint), payload.to_vec()))
    }

    /// Queues a datagram (false when the socket buffer is full or there is
    /// no address yet; the protocol retransmits).
    pub fn send(&mut self, to: Peer, payload: &[u8]) -> bool {
        if self.iface.ipv4_addr().is_none() {
            return false;
        }
        let socket = self.sockets.get_mut::<udp::Socket>(self.console);
        socket.send_slice(payload, to.0).is_ok()
    }

    /// When poll() must run again at the latest (from smoltcp's
    /// poll_delay), in absolute nanoseconds; None = only on traffic.
    pub fn poll_at(&mut self, now_nanos: u64) -> Option<u64> {
        let delay = self.iface.poll_delay(instant(now_nanos), &self.sockets)?;
        Some(now_nanos.saturating_add(delay.total_micros().saturating_mul(1000)))
    }

    fn address_cidr(&self) -> Option<Ipv4Cidr> {
        let address = self.iface.ipv4_addr()?;
        let prefix = self
            .iface
            .ip_addrs()
            .iter()
            .find(|cidr| cidr.address() == IpAddress::Ipv4(address))?
            .prefix_len();
        Some(Ipv4Cidr::new(address, prefix))
    }
}

/// Finds the NIC the configuration asks for and starts its driver.
fn start_driver(wanted: Nic) -> Result<Driver, NetError> {
    if wanted == Nic::None {
        return Err(NetError::Disabled);
    }
    let functions = pci::scan();
    let virtio = || functions.iter().find(|f| VirtioNet::supports(f));
    let e1000 = || functions.iter().find(|f| E1000::supports(f));
    let (name, function) = match wanted {
        Nic::Virtio => ("virtio-net", virtio()),
        Nic::E1000 => ("e1000", e1000()),
        _ => match virtio() {
            Some(found) => ("virtio-net", Some(found)),
            None => ("e1000", e1000()),
        },
    };
    let Some(function) = function else {
        return Err(NetError::NoNic {
            wanted,
            found: functions
                .iter()
                .filter(|f| f.class == CLASS_NETWORK)
                .copied()
                .collect(),
            scanned: functions.len(),
        });
    };
    let started = if VirtioNet::supports(function) {
        VirtioNet::new(function).map(|nic| Driver::Virtio(Box::new(nic)))
    } else {
        E1000::new(function).map(Driver::E1000)
    };
    let failed = |reason| NetError::Driver {
        driver: name,
        at: function.address,
        reason,
    };
    let driver = started.map_err(failed)?;
    let mac = driver.mac();
    if !EthernetAddress(mac).is_unicast() {
        return Err(failed(DriverError::NotUnicast(mac)));
    }
    info!("net: {name} at {}, mac {}", function.address, Mac(mac));
    Ok(driver)
}

/// The console's UDP socket, bound to `port` on every local address.
fn console_socket(port: u16) -> udp::Socket<'static> {
    let buffer = || {
        udp::PacketBuffer::new(
            vec![udp::PacketMetadata::EMPTY; SOCKET_DATAGRAMS],
            vec![0; SOCKET_DATAGRAMS * SOCKET_DATAGRAM_BYTES],
        )
    };
    let mut socket = udp::Socket::new(buffer(), buffer());
    // Binding only fails for port 0, which the configuration refuses; the
    // socket then simply never receives.
    let _ = socket.bind(port);
    socket
}

/// Sets the interface's one address and its default route; `None` clears.
fn configure(iface: &mut Interface, cidr: Option<Ipv4Cidr>, gateway: Option<Ipv4Address>) {
    iface.update_ip_addrs(|addresses| {
        addresses.clear();
        if let Some(cidr) = cidr {
            // One address always fits the interface's address table.
            let _ = addresses.push(IpCidr::Ipv4(cidr));
        }
    });
    match gateway {
        // The route table always has room for the default route.
        Some(gateway) => _ = iface.routes_mut().add_default_ipv4_route(gateway),
        None => _ = iface.routes_mut().remove_default_ipv4_route(),
    }
}

fn instant(now_nanos: u64) -> Instant {
    Instant::from_micros((now_nanos / 1000) as i64)
}

fn mac_bits(mac: &EthernetAddress) -> u64 {
    mac.0
        .iter()
        .fold(0, |bits, &byte| bits << 8 | u64::from(byte))
}

/// A default gateway for log lines: the address, or "none".
struct Gateway(Option<Ipv4Address>);

impl fmt::Display for Gateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(address) => address.fmt(f),
            None => f.write_str("none"),
        }
    }
}

/// A MAC address for log lines, colon separated as `ip link` prints it.
struct Mac([u8; 6]);

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}
