//! One NIC, whichever driver runs it, as a smoltcp [`phy::Device`].
//!
//! A received frame is copied into a fresh buffer the receive token owns,
//! because smoltcp holds a receive and a transmit token at once and only one
//! of them can borrow the driver. A frame to send is built on the stack and
//! copied into the driver's ring.

use alloc::boxed::Box;
use alloc::vec::Vec;

use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

use super::e1000::E1000;
use super::virtio::VirtioNet;

/// The largest Ethernet frame without its CRC: 1500 bytes of payload and a
/// 14-byte header (no VLAN tags are used).
pub const MAX_FRAME: usize = 1514;

/// The NIC the service core drives.
pub enum Driver {
    /// virtio-net, modern PCI transport.
    Virtio(Box<VirtioNet>),
    /// Intel 8254x.
    E1000(E1000),
}

impl Driver {
    /// The station address.
    pub fn mac(&self) -> [u8; 6] {
        match self {
            Driver::Virtio(nic) => nic.mac(),
            Driver::E1000(nic) => nic.mac(),
        }
    }

    fn receive_frame(&mut self, into: &mut [u8]) -> Option<usize> {
        match self {
            Driver::Virtio(nic) => nic.receive(into),
            Driver::E1000(nic) => nic.receive(into),
        }
    }

    fn can_transmit(&mut self) -> bool {
        match self {
            Driver::Virtio(nic) => nic.can_transmit(),
            Driver::E1000(nic) => nic.can_transmit(),
        }
    }

    fn transmit_frame(&mut self, frame: &[u8]) -> bool {
        match self {
            Driver::Virtio(nic) => nic.transmit(frame),
            Driver::E1000(nic) => nic.transmit(frame),
        }
    }
}

/// A received frame, handed to smoltcp.
pub struct RxToken(Vec<u8>);

/// Room for one frame to send.
pub struct TxToken<'a>(&'a mut Driver);

impl phy::RxToken for RxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for TxToken<'_> {
    /// Builds the frame and queues it. smoltcp only asks for a token when
    /// [`Driver::can_transmit`] said yes, so a refusal here is rare; the
    /// frame is then lost like any other and the protocols above recover.
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = [0u8; MAX_FRAME];
        let len = len.min(MAX_FRAME);
        let result = f(&mut frame[..len]);
        self.0.transmit_frame(&frame[..len]);
        result
    }
}

impl phy::Device for Driver {
    type RxToken<'a> = RxToken;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _timestamp: Instant) -> Option<(RxToken, TxToken<'_>)> {
        let mut frame = [0u8; MAX_FRAME];
        let len = self.receive_frame(&mut frame)?;
        Some((RxToken(frame[..len].to_vec()), TxToken(self)))
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<TxToken<'_>> {
        self.can_transmit().then_some(TxToken(self))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut capabilities = DeviceCapabilities::default();
        capabilities.medium = Medium::Ethernet;
        capabilities.max_transmission_unit = MAX_FRAME;
        capabilities
    }
}
