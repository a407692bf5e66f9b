//! Scenario tests for fw_cfg, driven through 0x510/0x511.

use super::*;

const NOW: Nanos = Nanos(0);
const GIB: u64 = 1 << 30;

fn fw_cfg() -> FwCfg {
    FwCfg::new(FwCfgConfig {
        cpus: 2,
        max_cpus: 2,
        ram_bytes: 3 * GIB,
    })
}

fn select(fw_cfg: &mut FwCfg, key: u16) {
    fw_cfg.port_write(PORT_SELECTOR, 2, u32::from(key), NOW);
}

fn read_bytes(fw_cfg: &mut FwCfg, count: usize) -> Vec<u8> {
    (0..count)
        .map(|_| fw_cfg.port_read(PORT_DATA, 1, NOW) as u8)
        .collect()
}

fn read_item(fw_cfg: &mut FwCfg, key: u16, count: usize) -> Vec<u8> {
    select(fw_cfg, key);
    read_bytes(fw_cfg, count)
}

/// Key 0000h reads "QEMU"; key 0001h says the traditional interface only
/// (bit 0), no DMA (bit 1 clear).
#[test]
fn signature_and_feature_bits() {
    let mut fw_cfg = fw_cfg();
    assert_eq!(read_item(&mut fw_cfg, KEY_SIGNATURE, 4), b"QEMU");
    let id = read_item(&mut fw_cfg, KEY_ID, 4);
    assert_eq!(
        u32::from_le_bytes(id.try_into().unwrap()),
        FEATURE_TRADITIONAL
    );
}

/// RAM size is 64-bit little-endian, CPU counts 16-bit little-endian.
#[test]
fn machine_items() {
    let mut fw_cfg = fw_cfg();
    let ram = read_item(&mut fw_cfg, KEY_RAM_SIZE, 8);
    assert_eq!(u64::from_le_bytes(ram.try_into().unwrap()), 3 * GIB);
    assert_eq!(read_item(&mut fw_cfg, KEY_NB_CPUS, 2), [2, 0]);
    assert_eq!(read_item(&mut fw_cfg, KEY_MAX_CPUS, 2), [2, 0]);
}

/// The file directory: a big-endian count, then per file a big-endian size
/// and select key, a reserved field and a NUL-padded 56-byte name; keys
/// start at 0020h in the order files were added.
#[test]
fn file_directory_layout() {
    let mut fw_cfg = fw_cfg();
    assert_eq!(read_item(&mut fw_cfg, KEY_FILE_DIR, 4), [0, 0, 0, 0]);
    assert_eq!(
        fw_cfg.add_file("opt/test/config", b"hello".to_vec()),
        Ok(0x20)
    );
    assert_eq!(
        fw_cfg.add_file("etc/boot-fail-wait", vec![0u8; 0x1234]),
        Ok(0x21)
    );
    let directory = read_item(&mut fw_cfg, KEY_FILE_DIR, 4 + 2 * 64);
    assert_eq!(directory[..4], [0, 0, 0, 2]);
    let first = &directory[4..68];
    assert_eq!(first[..4], [0, 0, 0, 5]);
    assert_eq!(first[4..6], [0x00, 0x20]);
    assert_eq!(first[6..8], [0, 0]);
    assert_eq!(&first[8..8 + 15], b"opt/test/config");
    assert!(first[8 + 15..].iter().all(|&b| b == 0));
    let second = &directory[68..132];
    assert_eq!(second[..6], [0, 0, 0x12, 0x34, 0x00, 0x21]);
    assert_eq!(read_item(&mut fw_cfg, 0x20, 5), b"hello");
}

/// Reads past the end of an item, and reads of unknown or
/// architecture-local keys, return 0; selecting again restarts at offset 0.
#[test]
fn reads_past_the_end_and_unknown_keys_return_zero() {
    let mut fw_cfg = fw_cfg();
    assert_eq!(read_item(&mut fw_cfg, KEY_SIGNATURE, 6), b"QEMU\0\0");
    assert_eq!(read_item(&mut fw_cfg, 0x0002, 4), [0; 4]);
    assert_eq!(read_item(&mut fw_cfg, 0x1234, 4), [0; 4]);
    assert_eq!(
        read_item(&mut fw_cfg, KEY_ARCH_LOCAL | KEY_SIGNATURE, 4),
        [0; 4]
    );
    assert_eq!(
        read_item(&mut fw_cfg, KEY_WRITE_CHANNEL | KEY_SIGNATURE, 2),
        b"QE"
    );
    select(&mut fw_cfg, KEY_SIGNATURE);
    assert_eq!(
        fw_cfg.port_read(PORT_SELECTOR, 1, NOW),
        u32::from(b'Q'),
        "0x510 reads data too"
    );
}

/// Data-port writes are ignored (read-only subset), as are accesses the
/// port interface does not define; the DMA registers are absent.
#[test]
fn writes_and_undefined_accesses_are_ignored() {
    let mut fw_cfg = fw_cfg();
    select(&mut fw_cfg, KEY_SIGNATURE);
    fw_cfg.port_write(PORT_DATA, 1, 0x55, NOW);
    fw_cfg.port_write(PORT_SELECTOR, 1, 0x55, NOW);
    fw_cfg.port_write(PORT_SELECTOR, 4, u32::from(KEY_ID), NOW);
    assert_eq!(fw_cfg.port_read(PORT_DATA, 2, NOW), u32::MAX);
    assert_eq!(read_bytes(&mut fw_cfg, 4), b"QEMU");
    for offset in 4..PORT_COUNT {
        assert_eq!(fw_cfg.port_read(offset, 4, NOW), u32::MAX);
        fw_cfg.port_write(offset, 4, 0, NOW);
    }
    assert_eq!(fw_cfg.snapshot().selector, KEY_SIGNATURE);
}

/// File names must fit the directory (1–55 bytes) and be unique.
#[test]
fn add_file_rejects_bad_names() {
    let mut fw_cfg = fw_cfg();
    assert!(matches!(
        fw_cfg.add_file("", []),
        Err(FwCfgError::BadName { .. })
    ));
    let long = "x".repeat(FILE_NAME_LEN);
    assert!(matches!(
        fw_cfg.add_file(&long, []),
        Err(FwCfgError::BadName { .. })
    ));
    assert_eq!(fw_cfg.add_file(&long[1..], []), Ok(KEY_FILE_FIRST));
    assert!(matches!(
        fw_cfg.add_file(&long[1..], []),
        Err(FwCfgError::DuplicateName { .. })
    ));
    let error = fw_cfg.add_file("a\0b", []).unwrap_err();
    assert!(error.to_string().contains("1 to 55 bytes"), "{error}");
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

/// Arbitrary accesses never panic.
#[test]
fn arbitrary_accesses_never_panic() {
    let mut rng = XorShift(0x5851_F42D_4C95_7F2D);
    let mut fw_cfg = fw_cfg();
    fw_cfg.add_file("opt/blob", vec![7u8; 100]).unwrap();
    for _ in 0..200_000 {
        let offset = (rng.next() % 14) as u16;
        let size = [1, 2, 4, 0, 3][(rng.next() % 5) as usize];
        let value = match rng.next() % 2 {
            0 => (rng.next() % 0x24) as u32,
            _ => rng.next() as u32,
        };
        if rng.next() & 1 == 0 {
            fw_cfg.port_write(offset, size, value, NOW);
        } else {
            fw_cfg.port_read(offset, size, NOW);
        }
    }
}
