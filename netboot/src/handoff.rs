//! Bulkhead's own hand-off from the loader to the core.
//!
//! hermit-entry's `BootInfo` carries the memory range, the serial port and a
//! pointer to the Multiboot information, but nothing about where the verified
//! deployment container sits. The loader therefore copies the Multiboot
//! information into a fresh boot page and writes a [`Handoff`] directly in
//! front of it: the core finds it at `multiboot_info_addr - HANDOFF_SIZE` and
//! trusts it only after checking magic, version and size.

/// `"BHANDOFF"` read as a little-endian `u64`.
pub const HANDOFF_MAGIC: u64 = u64::from_le_bytes(*b"BHANDOFF");
/// Layout version; bumped whenever a field changes meaning.
pub const HANDOFF_VERSION: u32 = 1;
/// Bytes reserved for the hand-off in front of the Multiboot information.
pub const HANDOFF_SIZE: usize = 64;

/// What the loader tells the core beyond hermit-entry's `BootInfo`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handoff {
    /// [`HANDOFF_MAGIC`].
    pub magic: u64,
    /// [`HANDOFF_VERSION`].
    pub version: u32,
    /// `size_of::<Handoff>()`, so a core can refuse a loader built against a different layout.
    pub size: u32,
    /// First byte of the loaded image (the Multiboot load address).
    pub image_start: u64,
    /// Everything the boot path placed in memory (image, Multiboot data, boot
    /// page) lies below this address; the core must not hand any of it out.
    pub reserved_end: u64,
    /// Physical address of the verified deployment container.
    pub container_start: u64,
    /// Length of the container in bytes.
    pub container_len: u64,
    /// Zero; room for a later field without changing the size.
    pub reserved: u64,
}

const _: () = assert!(core::mem::size_of::<Handoff>() <= HANDOFF_SIZE);

impl Handoff {
    /// A hand-off describing the given ranges.
    pub const fn new(
        image_start: u64,
        reserved_end: u64,
        container_start: u64,
        container_len: u64,
    ) -> Self {
        Self {
            magic: HANDOFF_MAGIC,
            version: HANDOFF_VERSION,
            size: core::mem::size_of::<Handoff>() as u32,
            image_start,
            reserved_end,
            container_start,
            container_len,
            reserved: 0,
        }
    }

    /// The little-endian bytes the loader stores in front of the Multiboot copy.
    pub fn to_bytes(&self) -> [u8; HANDOFF_SIZE] {
        let words = [
            self.magic,
            u64::from(self.version) | (u64::from(self.size) << 32),
            self.image_start,
            self.reserved_end,
            self.container_start,
            self.container_len,
            self.reserved,
        ];
        let mut out = [0u8; HANDOFF_SIZE];
        for (slot, word) in out.chunks_exact_mut(8).zip(words) {
            slot.copy_from_slice(&word.to_le_bytes());
        }
        out
    }

    /// Reads a hand-off back; `None` unless it is [`valid`](Self::is_valid).
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let word = |i: usize| -> Option<u64> {
            Some(u64::from_le_bytes(
                bytes.get(i * 8..i * 8 + 8)?.try_into().ok()?,
            ))
        };
        let version_and_size = word(1)?;
        let handoff = Self {
            magic: word(0)?,
            version: version_and_size as u32,
            size: (version_and_size >> 32) as u32,
            image_start: word(2)?,
            reserved_end: word(3)?,
            container_start: word(4)?,
            container_len: word(5)?,
            reserved: word(6)?,
        };
        handoff.is_valid().then_some(handoff)
    }

    /// Whether this is a hand-off of the layout this build understands.
    pub fn is_valid(&self) -> bool {
        self.magic == HANDOFF_MAGIC
            && self.version == HANDOFF_VERSION
            && self.size as usize == core::mem::size_of::<Handoff>()
            && self.container_start >= self.image_start
            && self
                .container_start
                .checked_add(self.container_len)
                .is_some_and(|end| end <= self.reserved_end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-off built by `new` is accepted; any field out of its contract is not.
    #[test]
    fn validity() {
        let good = Handoff::new(0x10_0000, 0x40_0000, 0x20_0000, 0x1000);
        assert!(good.is_valid());
        assert!(!Handoff { magic: 0, ..good }.is_valid());
        assert!(!Handoff { version: 2, ..good }.is_valid());
        assert!(!Handoff { size: 8, ..good }.is_valid());
        assert!(
            !Handoff {
                container_len: 0x30_0000,
                ..good
            }
            .is_valid()
        );
        assert!(
            !Handoff {
                container_start: 0x1000,
                ..good
            }
            .is_valid()
        );
        assert!(
            !Handoff {
                container_len: u64::MAX,
                ..good
            }
            .is_valid()
        );
    }

    /// The byte form round-trips, and a damaged or short one is refused.
    #[test]
    fn bytes_round_trip() {
        let good = Handoff::new(0x10_0000, 0x40_0000, 0x20_0000, 0x1000);
        let bytes = good.to_bytes();
        assert_eq!(Handoff::from_bytes(&bytes), Some(good));
        assert_eq!(Handoff::from_bytes(&bytes[..40]), None);
        for i in 0..16 {
            let mut bad = bytes;
            bad[i] ^= 0x40;
            assert_eq!(Handoff::from_bytes(&bad), None, "flip at {i}");
        }
    }
}
