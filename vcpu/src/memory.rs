//! Guest-physical memory as the boot builders see it.

use alloc::vec;
use alloc::vec::Vec;

/// An access outside the memory a [`GuestMemory`] backs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "guest-physical {gpa:#x}, {len:#x} bytes, is not backed by the partition's memory (it ends at {size:#x})"
)]
pub struct MemoryError {
    /// First byte of the access.
    pub gpa: u64,
    /// Length of the access.
    pub len: u64,
    /// [`GuestMemory::size`] of the memory refused.
    pub size: u64,
}

/// A partition's guest-physical memory.
///
/// The core implements this over the host region that backs the partition; tests use
/// [`VecMemory`]. An access must lie entirely in backed memory or it fails as a whole,
/// writing nothing; implementations with holes (RAM below 3 GiB and above 4 GiB, say)
/// refuse accesses that touch a hole.
pub trait GuestMemory {
    /// One past the highest backed guest-physical address.
    fn size(&self) -> u64;

    /// Copies `buf.len()` bytes starting at `gpa` into `buf`.
    fn read(&self, gpa: u64, buf: &mut [u8]) -> Result<(), MemoryError>;

    /// Copies `data` to guest-physical `gpa`.
    fn write(&mut self, gpa: u64, data: &[u8]) -> Result<(), MemoryError>;

    /// Zeroes `len` bytes from `gpa`: the part of a segment the file does not cover.
    /// The default writes a page of zeros at a time; implementations with direct access
    /// do better.
    fn zero(&mut self, gpa: u64, len: u64) -> Result<(), MemoryError> {
        const CHUNK: u64 = 4096;
        static ZEROS: [u8; CHUNK as usize] = [0; CHUNK as usize];
        let end = gpa.checked_add(len).ok_or(MemoryError {
            gpa,
            len,
            size: self.size(),
        })?;
        if end > self.size() {
            return Err(MemoryError {
                gpa,
                len,
                size: self.size(),
            });
        }
        let mut at = gpa;
        while at < end {
            let n = CHUNK.min(end.saturating_sub(at));
            let chunk = ZEROS.get(..usize::try_from(n).unwrap_or(0)).unwrap_or(&[]);
            self.write(at, chunk)?;
            at = at.saturating_add(n);
        }
        Ok(())
    }
}

/// Guest memory in a `Vec`, backing guest-physical `0..len`: for tests and tools.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VecMemory {
    bytes: Vec<u8>,
}

impl VecMemory {
    /// `size` bytes of zeroed memory at guest-physical 0.
    pub fn new(size: usize) -> Self {
        Self {
            bytes: vec![0; size],
        }
    }

    /// The whole memory.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn range(&self, gpa: u64, len: usize) -> Result<core::ops::Range<usize>, MemoryError> {
        let err = MemoryError {
            gpa,
            len: len as u64,
            size: self.size(),
        };
        let start = usize::try_from(gpa).map_err(|_| err)?;
        let end = start.checked_add(len).ok_or(err)?;
        if end > self.bytes.len() {
            return Err(err);
        }
        Ok(start..end)
    }
}

impl GuestMemory for VecMemory {
    fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn read(&self, gpa: u64, buf: &mut [u8]) -> Result<(), MemoryError> {
        let range = self.range(gpa, buf.len())?;
        let src = self.bytes.get(range).ok_or(MemoryError {
            gpa,
            len: buf.len() as u64,
            size: self.size(),
        })?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn write(&mut self, gpa: u64, data: &[u8]) -> Result<(), MemoryError> {
        let range = self.range(gpa, data.len())?;
        let size = self.size();
        let dst = self.bytes.get_mut(range).ok_or(MemoryError {
            gpa,
            len: data.len() as u64,
            size,
        })?;
        dst.copy_from_slice(data);
        Ok(())
    }

    fn zero(&mut self, gpa: u64, len: u64) -> Result<(), MemoryError> {
        let size = self.size();
        let err = MemoryError { gpa, len, size };
        let len = usize::try_from(len).map_err(|_| err)?;
        let range = self.range(gpa, len)?;
        self.bytes.get_mut(range).ok_or(err)?.fill(0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accesses are all-or-nothing: one byte past the end fails and writes nothing.
    #[test]
    fn bounds_are_exact() {
        let mut m = VecMemory::new(16);
        m.write(12, &[1, 2, 3, 4]).unwrap();
        assert!(m.write(13, &[9, 9, 9, 9]).is_err());
        assert_eq!(&m.as_bytes()[12..], &[1, 2, 3, 4]);
        let mut buf = [0; 4];
        m.read(12, &mut buf).unwrap();
        assert_eq!(buf, [1, 2, 3, 4]);
        assert!(m.read(u64::MAX, &mut buf).is_err());
        assert!(m.write(u64::MAX, &[1]).is_err());
        m.zero(13, 2).unwrap();
        assert_eq!(&m.as_bytes()[12..], &[1, 0, 0, 4]);
        assert!(m.zero(15, 2).is_err());
        assert!(m.zero(1, u64::MAX).is_err());
    }

    /// The provided `zero` works through `write` in page-sized pieces.
    #[test]
    fn default_zero_goes_through_write() {
        struct Counting(VecMemory, usize);
        impl GuestMemory for Counting {
            fn size(&self) -> u64 {
                self.0.size()
            }
            fn read(&self, gpa: u64, buf: &mut [u8]) -> Result<(), MemoryError> {
                self.0.read(gpa, buf)
            }
            fn write(&mut self, gpa: u64, data: &[u8]) -> Result<(), MemoryError> {
                self.1 += 1;
                self.0.write(gpa, data)
            }
        }
        let mut m = Counting(VecMemory::new(3 * 4096), 0);
        m.0.bytes.fill(0xAA);
        m.zero(100, 2 * 4096 + 1).unwrap();
        assert_eq!(m.1, 3);
        assert!(
            m.0.as_bytes()[100..100 + 2 * 4096 + 1]
                .iter()
                .all(|&b| b == 0)
        );
        assert_eq!(m.0.as_bytes()[99], 0xAA);
        assert_eq!(m.0.as_bytes()[100 + 2 * 4096 + 1], 0xAA);
        assert!(m.zero(4096, 3 * 4096).is_err());
    }
}
