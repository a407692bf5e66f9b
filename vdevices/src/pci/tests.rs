//! Scenario tests for configuration mechanism #1, driven through
//! 0xCF8–0xCFF.

use super::*;

const NOW: Nanos = Nanos(0);

/// CONFIG_ADDRESS for bus/device/function and a register, enable bit set.
fn address(bus: u8, device: u8, function: u8, register: u8) -> u32 {
    ADDRESS_ENABLE
        | (u32::from(bus) << 16)
        | (u32::from(device) << 11)
        | (u32::from(function) << 8)
        | u32::from(register)
}

fn config_read(pci: &mut PciHost, config_address: u32, lane: u16, size: u8) -> u32 {
    pci.port_write(CONFIG_ADDRESS, 4, config_address, NOW);
    pci.port_read(CONFIG_DATA + lane, size, NOW)
}

fn config_write(pci: &mut PciHost, config_address: u32, lane: u16, size: u8, value: u32) {
    pci.port_write(CONFIG_ADDRESS, 4, config_address, NOW);
    pci.port_write(CONFIG_DATA + lane, size, value, NOW);
}

/// 00:00.0 is a type 0 host bridge: vendor 8086h, device 1237h (82441FX),
/// class 06/00/00, revision 02h, command 0006h, status 0280h.
#[test]
fn host_bridge_identity() {
    let mut pci = PciHost::new();
    let bridge = |register| address(0, 0, 0, register);
    assert_eq!(config_read(&mut pci, bridge(0x00), 0, 4), 0x1237_8086);
    assert_eq!(config_read(&mut pci, bridge(0x04), 0, 4), 0x0280_0006);
    assert_eq!(config_read(&mut pci, bridge(0x08), 0, 4), 0x0600_0002);
    assert_eq!(config_read(&mut pci, bridge(0x0C), 0, 4), 0x0000_0000);
    assert_eq!(config_read(&mut pci, bridge(0x10), 0, 4), 0, "no BARs");
}

/// Byte and word accesses use the byte lanes of 0xCFC–0xCFF: the lane adds
/// to the doubleword register number.
#[test]
fn byte_and_word_lanes() {
    let mut pci = PciHost::new();
    let id = address(0, 0, 0, 0x00);
    assert_eq!(config_read(&mut pci, id, /*lane=*/ 0, 2), 0x8086);
    assert_eq!(config_read(&mut pci, id, /*lane=*/ 2, 2), 0x1237);
    assert_eq!(config_read(&mut pci, id, /*lane=*/ 1, 1), 0x80);
    assert_eq!(config_read(&mut pci, id, /*lane=*/ 3, 1), 0x12);
    let class = address(0, 0, 0, 0x08);
    assert_eq!(config_read(&mut pci, class, /*lane=*/ 3, 1), 0x06);
    // A word at 0xCFF runs past the window: its upper byte is port 0xD00.
    assert_eq!(config_read(&mut pci, class, /*lane=*/ 3, 2), 0xFF06);
}

/// Any other bus, device or function reads all-ones (no device there) and
/// ignores writes; so does everything while the enable bit is clear.
#[test]
fn absent_functions_and_disabled_mapping_read_all_ones() {
    let mut pci = PciHost::new();
    for config_address in [
        address(0, 1, 0, 0),
        address(0, 0, 1, 0),
        address(1, 0, 0, 0),
        address(0, 31, 7, 0),
        address(0, 0, 0, 0) & !ADDRESS_ENABLE,
    ] {
        assert_eq!(config_read(&mut pci, config_address, 0, 4), 0xFFFF_FFFF);
        config_write(&mut pci, config_address, 0, 4, 0);
    }
    assert_eq!(
        config_read(&mut pci, address(0, 0, 0, 0), 0, 4),
        0x1237_8086
    );
}

/// CONFIG_ADDRESS reads back as written, with reserved bits 30:24 and 1:0
/// as 0; only doubleword accesses to 0xCF8 reach it, other accesses are
/// ordinary I/O to nothing.
#[test]
fn config_address_register() {
    let mut pci = PciHost::new();
    pci.port_write(CONFIG_ADDRESS, 4, 0xFFFF_FFFF, NOW);
    assert_eq!(pci.port_read(CONFIG_ADDRESS, 4, NOW), 0x80FF_FFFC);
    pci.port_write(CONFIG_ADDRESS, 4, address(0, 0, 0, 0x08), NOW);
    pci.port_write(CONFIG_ADDRESS, 2, 0, NOW);
    pci.port_write(CONFIG_ADDRESS + 1, 1, 0x06, NOW);
    assert_eq!(pci.config_address(), address(0, 0, 0, 0x08));
    assert_eq!(pci.port_read(CONFIG_ADDRESS, 2, NOW), 0xFFFF);
    assert_eq!(pci.port_read(CONFIG_ADDRESS + 1, 1, NOW), 0xFF);
}

/// The host bridge's configuration space is read-only except the 82441FX's
/// writable bits: SERR# enable and parity error response in PCICMD, and the
/// master latency timer's bits 7:3.
#[test]
fn only_the_writable_bits_change() {
    let mut pci = PciHost::new();
    config_write(&mut pci, address(0, 0, 0, 0x00), 0, 4, 0);
    assert_eq!(
        config_read(&mut pci, address(0, 0, 0, 0x00), 0, 4),
        0x1237_8086
    );
    config_write(&mut pci, address(0, 0, 0, 0x04), 0, 2, 0xFFFF);
    assert_eq!(config_read(&mut pci, address(0, 0, 0, 0x04), 0, 2), 0x0146);
    config_write(&mut pci, address(0, 0, 0, 0x04), 0, 4, 0xFFFF_0000);
    assert_eq!(
        config_read(&mut pci, address(0, 0, 0, 0x04), 0, 4),
        0x0280_0006
    );
    config_write(&mut pci, address(0, 0, 0, 0x0C), /*lane=*/ 1, 1, 0xFF);
    assert_eq!(config_read(&mut pci, address(0, 0, 0, 0x0C), 1, 1), 0xF8);
    assert_eq!(pci.snapshot().latency_timer, 0xF8);
    config_write(&mut pci, address(0, 0, 0, 0x0C), /*lane=*/ 2, 1, 0xFF);
    assert_eq!(
        config_read(&mut pci, address(0, 0, 0, 0x0C), 2, 1),
        0x00,
        "header type"
    );
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Arbitrary accesses never panic and never change the bridge's identity.
#[test]
fn arbitrary_accesses_never_panic() {
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    let mut pci = PciHost::new();
    for _ in 0..200_000 {
        let offset = (rng.next() % 10) as u16;
        let size = [1, 2, 4, 0, 3][(rng.next() % 5) as usize];
        let value = match rng.next() % 2 {
            0 => (rng.next() as u32) & (ADDRESS_ENABLE | 0xFF),
            _ => rng.next() as u32,
        };
        if rng.next() & 1 == 0 {
            pci.port_write(offset, size, value, NOW);
        } else {
            pci.port_read(offset, size, NOW);
        }
    }
    assert_eq!(
        config_read(&mut pci, address(0, 0, 0, 0), 0, 4),
        0x1237_8086
    );
}
