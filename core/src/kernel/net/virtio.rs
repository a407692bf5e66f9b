//! virtio-net over the modern virtio PCI transport (virtio 1.2, 4.1 and 5.1),
//! with the `virtio-drivers` crate doing the virtqueue work.
//!
//! The crate's own PCI root expects ECAM; [`PortConfiguration`] gives it
//! configuration mechanism #1 instead, through [`pci`](super::super::pci), so
//! nothing here depends on an MCFG table. QEMU's default `virtio-net-pci` is
//! a transitional device: the legacy I/O BAR is there too, but only the
//! modern capabilities are used.
//!
//! Buffers come from the heap and are posted to the device by address; the
//! heap is identity-mapped RAM below 4 GiB, so an address is a bus address.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ptr::NonNull;

use virtio_drivers::device::net::VirtIONetRaw;
use virtio_drivers::transport::pci::PciTransport;
use virtio_drivers::transport::pci::bus::{ConfigurationAccess, DeviceFunction, PciRoot};
use virtio_drivers::{BufferDirection, Hal, PAGE_SIZE, PhysAddr};

use super::super::frames;
use super::super::pci::{self, Bar, Function};
use super::DriverError;

/// The virtio PCI vendor ID.
pub const VENDOR: u16 = 0x1AF4;
/// virtio-net as a transitional device, and as a modern-only one
/// (0x1040 + device type 1; virtio 1.2, 4.1.2.1).
pub const DEVICE_IDS: [u16; 2] = [0x1000, 0x1041];

/// PCI capability ID of the structures that locate virtio's modern
/// configuration windows.
const CAPABILITY_VENDOR_SPECIFIC: u8 = 0x09;
/// Offset of the BAR index in a virtio PCI capability (`struct virtio_pci_cap`).
const CAPABILITY_BAR: u8 = 4;
/// Descriptors per virtqueue. QEMU offers 256; a console needs far fewer.
const QUEUE_SIZE: usize = 32;
/// One buffer per descriptor: the virtio-net header plus a full frame fits.
const BUFFER: usize = 2048;

/// `virtio-drivers`' DMA and MMIO hooks for an identity-mapped machine.
struct IdentityHal;

// SAFETY: `dma_alloc` returns fresh, zeroed, page-aligned frames that nothing
// else uses; MMIO and shared buffers are identity mapped, so their addresses
// are valid pointers and bus addresses at once.
unsafe impl Hal for IdentityHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let bytes = pages * PAGE_SIZE;
        let Some(base) = frames::allocate(bytes as u64, PAGE_SIZE as u64) else {
            // A zero address is the crate's signal for failure.
            return (0, NonNull::dangling());
        };
        // SAFETY: the frames were just taken from the free set, so nothing
        // else refers to them, and RAM below 4 GiB is identity mapped.
        unsafe { core::ptr::write_bytes(base as *mut u8, 0, bytes) };
        let pointer = NonNull::new(base as *mut u8).expect("frame allocator returned page zero");
        (base, pointer)
    }

    /// The frame allocator cannot take memory back; queues live as long as
    /// the hypervisor anyway, so this only runs if bring-up fails halfway.
    unsafe fn dma_dealloc(_paddr: PhysAddr, _vaddr: NonNull<u8>, _pages: usize) -> i32 {
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, _size: usize) -> NonNull<u8> {
        // Every BAR a virtio capability names was checked to lie below 4 GiB
        // before the transport was built; that range is identity mapped
        // uncacheable.
        NonNull::new(paddr as *mut u8).expect("virtio structure at address zero")
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        buffer.cast::<u8>().as_ptr() as PhysAddr
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {}
}

/// PCI configuration space for `virtio-drivers`, over ports 0xCF8/0xCFC.
struct PortConfiguration;

fn address(function: DeviceFunction) -> pci::Address {
    pci::Address {
        bus: function.bus,
        device: function.device,
        function: function.function,
    }
}

impl ConfigurationAccess for PortConfiguration {
    fn read_word(&self, function: DeviceFunction, offset: u8) -> u32 {
        pci::read32(address(function), offset)
    }

    fn write_word(&mut self, function: DeviceFunction, offset: u8, data: u32) {
        pci::write32(address(function), offset, data)
    }

    /// Every copy goes through the same locked port pair, so a clone cannot
    /// interleave with the original.
    unsafe fn unsafe_clone(&self) -> Self {
        PortConfiguration
    }
}

/// A running virtio-net device. The device comes first so that it is
/// dropped, and so reset, before the buffers it may still write.
pub struct VirtioNet {
    device: VirtIONetRaw<IdentityHal, PciTransport, QUEUE_SIZE>,
    /// Receive buffers the device holds, by token.
    rx: [Option<Box<[u8]>>; QUEUE_SIZE],
    /// Frames the device is sending, by token, with their posted length.
    tx_in_flight: [Option<(Box<[u8]>, usize)>; QUEUE_SIZE],
    tx_free: Vec<Box<[u8]>>,
}

impl VirtioNet {
    /// Whether this driver runs `function`.
    pub fn supports(function: &Function) -> bool {
        function.vendor == VENDOR && DEVICE_IDS.contains(&function.device)
    }

    /// Negotiates features, sets up both queues and posts every receive
    /// buffer. Interrupts stay suppressed: the service core polls.
    pub fn new(function: &Function) -> Result<VirtioNet, DriverError> {
        // The modern interface is described by vendor-specific capabilities
        // (virtio 1.2, 4.1.4); a device without any speaks only legacy virtio.
        if !function
            .capabilities()
            .any(|capability| capability.id == CAPABILITY_VENDOR_SPECIFIC)
        {
            return Err(DriverError::VirtioLegacyOnly);
        }
        let bars = function.bars();
        for capability in function.capabilities() {
            if capability.id != CAPABILITY_VENDOR_SPECIFIC {
                continue;
            }
            let index = pci::read32(function.address, capability.offset + CAPABILITY_BAR) as u8;
            if let Some(Some(Bar::Memory { base, size, .. })) = bars.get(usize::from(index)) {
                super::reachable(index, *base, *size)?;
            }
        }
        function.enable_memory_and_bus_mastering();
        let at = function.address;
        let mut root = PciRoot::new(PortConfiguration);
        let transport = PciTransport::new::<IdentityHal, _>(
            &mut root,
            DeviceFunction {
                bus: at.bus,
                device: at.device,
                function: at.function,
            },
        )
        .map_err(DriverError::VirtioTransport)?;
        // Declared before the device so that, on an early return, the device
        // is reset (its transport's drop) before these buffers are freed.
        let mut rx = [const { None }; QUEUE_SIZE];
        let mut device = VirtIONetRaw::new(transport).map_err(DriverError::Virtio)?;
        device.disable_interrupts();
        for _ in 0..QUEUE_SIZE {
            let mut buffer = new_buffer();
            // SAFETY: the buffer is kept in `rx` under its token, untouched,
            // until the device hands that token back.
            let token =
                unsafe { device.receive_begin(&mut buffer) }.map_err(DriverError::Virtio)?;
            match slot(&mut rx, token) {
                Ok(free) => *free = Some(buffer),
                Err(error) => {
                    Box::leak(buffer);
                    return Err(error);
                }
            }
        }
        Ok(VirtioNet {
            device,
            rx,
            tx_in_flight: [const { None }; QUEUE_SIZE],
            tx_free: (0..QUEUE_SIZE).map(|_| new_buffer()).collect(),
        })
    }

    /// The device's MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.device.mac_address()
    }

    /// Copies the next received frame into `into` and returns its length;
    /// a frame longer than `into` is dropped. The buffer goes straight back
    /// to the device.
    pub fn receive(&mut self, into: &mut [u8]) -> Option<usize> {
        loop {
            let token = self.device.poll_receive()?;
            let mut buffer = self.rx.get_mut(usize::from(token))?.take()?;
            // SAFETY: `buffer` is the one posted under `token`.
            let received = unsafe { self.device.receive_complete(token, &mut buffer) };
            let copied = match received {
                Ok((header, length)) if length <= into.len() && header + length <= buffer.len() => {
                    into[..length].copy_from_slice(&buffer[header..header + length]);
                    Some(length)
                }
                _ => None,
            };
            // SAFETY: as in `new`: kept in `rx` until the token comes back.
            if let Ok(token) = unsafe { self.device.receive_begin(&mut buffer) } {
                match slot(&mut self.rx, token) {
                    Ok(free) => *free = Some(buffer),
                    // The device owns the buffer now: never free it under it.
                    Err(_) => _ = Box::leak(buffer),
                }
            }
            if copied.is_some() {
                return copied;
            }
        }
    }

    /// Takes back the buffers of frames the device has sent.
    fn reclaim(&mut self) {
        while let Some(token) = self.device.poll_transmit() {
            let Some((buffer, length)) = self
                .tx_in_flight
                .get_mut(usize::from(token))
                .and_then(Option::take)
            else {
                return;
            };
            // SAFETY: `buffer[..length]` is the slice posted under `token`.
            let _ = unsafe { self.device.transmit_complete(token, &buffer[..length]) };
            self.tx_free.push(buffer);
        }
    }

    /// Whether [`transmit`](Self::transmit) would take a frame now.
    pub fn can_transmit(&mut self) -> bool {
        self.reclaim();
        !self.tx_free.is_empty() && self.device.can_send()
    }

    /// Queues one frame; false when the queue is full or the frame too long.
    pub fn transmit(&mut self, frame: &[u8]) -> bool {
        if !self.can_transmit() {
            return false;
        }
        let Some(mut buffer) = self.tx_free.pop() else {
            return false;
        };
        let Ok(header) = self.device.fill_buffer_header(&mut buffer) else {
            self.tx_free.push(buffer);
            return false;
        };
        let length = header + frame.len();
        if length > buffer.len() {
            self.tx_free.push(buffer);
            return false;
        }
        buffer[header..length].copy_from_slice(frame);
        // SAFETY: the buffer is kept in `tx_in_flight` under its token,
        // untouched, until the device hands that token back.
        match unsafe { self.device.transmit_begin(&buffer[..length]) } {
            Ok(token) => match slot(&mut self.tx_in_flight, token) {
                Ok(free) => {
                    *free = Some((buffer, length));
                    true
                }
                // The device owns the buffer now: never free it under it.
                Err(_) => {
                    Box::leak(buffer);
                    false
                }
            },
            Err(_) => {
                self.tx_free.push(buffer);
                false
            }
        }
    }
}

fn new_buffer() -> Box<[u8]> {
    alloc::vec![0; BUFFER].into_boxed_slice()
}

/// The empty slot for a token the device queue handed out.
fn slot<T>(slots: &mut [Option<T>], token: u16) -> Result<&mut Option<T>, DriverError> {
    match slots.get_mut(usize::from(token)) {
        Some(free @ None) => Ok(free),
        _ => Err(DriverError::Virtio(virtio_drivers::Error::WrongToken)),
    }
}
