//! The I/O and MSR permission maps (AMD64 APM Vol. 2, 15.10.1 and 15.11).
//!
//! Both start as "intercept everything": a partition reaches a port or an MSR
//! directly only when the policy says so, and everything else exits to the
//! hypervisor, which emulates it or refuses it.

/// Bytes in the I/O permission map: one bit per port for 64 Ki ports, plus the
/// bits a multi-byte access at port 0xFFFF reaches into (APM Vol. 2, 15.10.1).
pub const IOPM_SIZE: usize = 3 * 4096;
/// Bytes in the MSR permission map.
pub const MSRPM_SIZE: usize = 2 * 4096;

/// One bit per I/O port; a set bit intercepts the port.
#[repr(C, align(4096))]
pub struct IoPermissionMap {
    bits: [u8; IOPM_SIZE],
}

impl IoPermissionMap {
    /// A map that intercepts every port.
    pub const fn intercept_all() -> Self {
        Self {
            bits: [0xFF; IOPM_SIZE],
        }
    }

    /// Lets the guest reach `first..=last` directly.
    pub fn pass_through(&mut self, first: u16, last: u16) {
        for port in first..=last {
            self.bits[usize::from(port / 8)] &= !(1 << (port % 8));
        }
    }

    /// Whether an access to `port` exits.
    pub fn intercepts(&self, port: u16) -> bool {
        self.bits[usize::from(port / 8)] & (1 << (port % 8)) != 0
    }
}

/// The three MSR ranges the map covers and the byte offset of each range's
/// bits; MSRs outside them always exit (APM Vol. 2, Table 15-5).
const MSR_RANGES: [(u32, usize); 3] = [
    (0x0000_0000, 0x000),
    (0xC000_0000, 0x800),
    (0xC001_0000, 0x1000),
];
/// MSRs per range.
const MSRS_PER_RANGE: u32 = 0x2000;

/// Two bits per MSR (read, write); a set bit intercepts that access.
#[repr(C, align(4096))]
pub struct MsrPermissionMap {
    bits: [u8; MSRPM_SIZE],
}

/// Which accesses to an MSR go straight to the hardware.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsrAccess {
    /// RDMSR passes through; WRMSR exits.
    Read,
    /// Both pass through.
    ReadWrite,
}

impl MsrPermissionMap {
    /// A map that intercepts every MSR access.
    pub const fn intercept_all() -> Self {
        Self {
            bits: [0xFF; MSRPM_SIZE],
        }
    }

    /// The bit index of `msr`'s read bit, if the map covers it.
    fn read_bit(msr: u32) -> Option<usize> {
        MSR_RANGES.iter().find_map(|&(base, offset)| {
            let index = msr.checked_sub(base).filter(|&i| i < MSRS_PER_RANGE)?;
            Some(offset * 8 + index as usize * 2)
        })
    }

    /// Lets `msr` through; returns false for an MSR the map cannot express
    /// (it keeps exiting).
    pub fn pass_through(&mut self, msr: u32, access: MsrAccess) -> bool {
        let Some(bit) = Self::read_bit(msr) else {
            return false;
        };
        self.bits[bit / 8] &= !(1 << (bit % 8));
        if access == MsrAccess::ReadWrite {
            self.bits[(bit + 1) / 8] &= !(1 << ((bit + 1) % 8));
        }
        true
    }

    /// Whether a read (`write == false`) or write of `msr` exits.
    pub fn intercepts(&self, msr: u32, write: bool) -> bool {
        match Self::read_bit(msr) {
            Some(bit) => {
                let bit = bit + usize::from(write);
                self.bits[bit / 8] & (1 << (bit % 8)) != 0
            }
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh I/O map intercepts every port; passing a range opens exactly it.
    #[test]
    fn io_map_opens_exactly_the_range() {
        let mut map = IoPermissionMap::intercept_all();
        assert!((0..=u16::MAX).all(|p| map.intercepts(p)));
        map.pass_through(0x3F8, 0x3FF);
        assert!(map.intercepts(0x3F7));
        assert!((0x3F8..=0x3FF).all(|p| !map.intercepts(p)));
        assert!(map.intercepts(0x400));
        map.pass_through(0xFFFF, 0xFFFF);
        assert!(!map.intercepts(0xFFFF));
        // The extra bits past port 0xFFFF stay set: a wide access there exits.
        assert_eq!(map.bits[8192], 0xFF);
    }

    /// MSR bits sit where APM Table 15-5 puts them: two per MSR, read first.
    #[test]
    fn msr_bits_follow_the_manual() {
        assert_eq!(MsrPermissionMap::read_bit(0), Some(0));
        assert_eq!(MsrPermissionMap::read_bit(0x1FFF), Some(0x3FFE));
        assert_eq!(
            MsrPermissionMap::read_bit(0xC000_0080),
            Some(0x800 * 8 + 0x100)
        );
        assert_eq!(
            MsrPermissionMap::read_bit(0xC001_0117),
            Some(0x1000 * 8 + 0x22E)
        );
        assert_eq!(MsrPermissionMap::read_bit(0x2000), None);
        assert_eq!(MsrPermissionMap::read_bit(0xC000_2000), None);
        assert_eq!(MsrPermissionMap::read_bit(0x4000_0000), None);
    }

    /// Passing an MSR through for reads keeps writes intercepted; MSRs outside
    /// the ranges can never be passed through.
    #[test]
    fn msr_pass_through_is_per_direction() {
        let mut map = MsrPermissionMap::intercept_all();
        assert!(map.pass_through(0x10, MsrAccess::Read));
        assert!(!map.intercepts(0x10, false));
        assert!(map.intercepts(0x10, true));
        assert!(map.intercepts(0x11, false));
        assert!(map.pass_through(0xC000_0100, MsrAccess::ReadWrite));
        assert!(!map.intercepts(0xC000_0100, true));
        assert!(!map.pass_through(0x4000_0000, MsrAccess::ReadWrite));
        assert!(map.intercepts(0x4000_0000, false));
    }
}
