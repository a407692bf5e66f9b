//! QEMU's firmware configuration device (fw_cfg), I/O port interface at
//! 0x510, read-only subset.
//!
//! Follows QEMU's `docs/specs/fw_cfg.rst`: "Selector (Control) Register"
//! (16-bit, little-endian, at 0x510; selecting an item resets its read
//! offset), "Data Register" (8-bit at 0x511; reads past the end of an item
//! return 0), the "Signature" (key 0000h, "QEMU"), the "Revision / feature
//! bitmap" (key 0001h) and the "File Directory" (key 0019h: a big-endian
//! count, then per file a big-endian size and select key, a reserved
//! 16-bit field and a 56-byte NUL-terminated name). Keys from 0020h up are
//! the files added with [`FwCfg::add_file`], in the order they were added.
//!
//! The port layout is QEMU's x86 one, whose two ports share one handler:
//! a 16-bit write to 0x510 selects an item, a byte read at 0x510 or 0x511
//! reads the data register, a byte write there is a data write. This
//! subset is read-only: data writes are ignored, as QEMU has done since
//! 2.4. There is no DMA interface: [`FEATURE_TRADITIONAL`] is the only bit
//! of key 0001h, and 0x514–0x51B (QEMU's DMA address registers) read
//! all-ones and ignore writes, like other accesses the interface does not
//! define (16- and 32-bit reads, 32-bit writes).
//!
//! Items: signature (0000h), ID (0001h), RAM size (0003h, 64-bit LE),
//! CPUs (0005h, 16-bit LE), maximum CPUs (000Fh, 16-bit LE) and the file
//! directory. Every other key, the architecture-local ones (bit 15)
//! included, reads 0.

#[cfg(test)]
mod tests;

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::{Nanos, PortDevice};

/// Offset of the selector register (0x510).
pub const PORT_SELECTOR: u16 = 0;
/// Offset of the data register (0x511).
pub const PORT_DATA: u16 = 1;
/// Ports the device spans, DMA registers included (0x510–0x51B).
pub const PORT_COUNT: u16 = 12;

/// Key: "QEMU".
pub const KEY_SIGNATURE: u16 = 0x0000;
/// Key: revision / feature bitmap, 32-bit LE.
pub const KEY_ID: u16 = 0x0001;
/// Key: RAM size in bytes, 64-bit LE.
pub const KEY_RAM_SIZE: u16 = 0x0003;
/// Key: number of CPUs, 16-bit LE.
pub const KEY_NB_CPUS: u16 = 0x0005;
/// Key: maximum number of CPUs, 16-bit LE.
pub const KEY_MAX_CPUS: u16 = 0x000F;
/// Key: the file directory.
pub const KEY_FILE_DIR: u16 = 0x0019;
/// Key of the first file.
pub const KEY_FILE_FIRST: u16 = 0x0020;
/// Selector bit 14: write channel (ignored for reads).
pub const KEY_WRITE_CHANNEL: u16 = 0x4000;
/// Selector bit 15: architecture-local item.
pub const KEY_ARCH_LOCAL: u16 = 0x8000;
/// Key bits that index an item.
pub const KEY_ENTRY_MASK: u16 = !(KEY_WRITE_CHANNEL | KEY_ARCH_LOCAL);

/// The signature item's contents.
pub const SIGNATURE: [u8; 4] = *b"QEMU";
/// ID bit 0: the traditional (port) interface is present.
pub const FEATURE_TRADITIONAL: u32 = 1 << 0;
/// ID bit 1: the DMA interface; never set here.
pub const FEATURE_DMA: u32 = 1 << 1;
/// Bytes of a file name in a directory entry, NUL terminator included.
pub const FILE_NAME_LEN: usize = 56;

/// Machine facts the fixed items report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FwCfgConfig {
    /// vCPUs of the partition.
    pub cpus: u16,
    /// Most vCPUs the partition could have; for a static partition the same
    /// as `cpus`.
    pub max_cpus: u16,
    /// RAM of the partition, in bytes.
    pub ram_bytes: u64,
}

/// Why [`FwCfg::add_file`] refused a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FwCfgError {
    /// The name is empty or does not fit the directory's 55 bytes plus NUL.
    BadName {
        /// The name given.
        name: String,
    },
    /// A file of that name was added before.
    DuplicateName {
        /// The name given.
        name: String,
    },
    /// The file is larger than the directory's 32-bit size field.
    TooLarge {
        /// The name given.
        name: String,
        /// Its size in bytes.
        size: usize,
    },
    /// No select key is left for another file.
    TooManyFiles,
}

impl fmt::Display for FwCfgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FwCfgError::BadName { name } => write!(
                f,
                "fw_cfg file name {name:?} must be 1 to {} bytes without NUL",
                FILE_NAME_LEN - 1
            ),
            FwCfgError::DuplicateName { name } => write!(f, "fw_cfg file {name:?} exists already"),
            FwCfgError::TooLarge { name, size } => {
                write!(
                    f,
                    "fw_cfg file {name:?} has {size} bytes, more than 4 GiB - 1"
                )
            }
            FwCfgError::TooManyFiles => write!(f, "no fw_cfg select key left for another file"),
        }
    }
}

impl core::error::Error for FwCfgError {}

/// The fw_cfg device.
#[derive(Clone, Debug)]
pub struct FwCfg {
    items: BTreeMap<u16, Vec<u8>>,
    /// Names of the files in the order they were added, with their keys.
    files: Vec<(String, u16)>,
    selector: u16,
    offset: usize,
}

impl FwCfg {
    /// The device with its fixed items and an empty file directory.
    pub fn new(config: FwCfgConfig) -> FwCfg {
        let mut items = BTreeMap::new();
        items.insert(KEY_SIGNATURE, SIGNATURE.to_vec());
        items.insert(KEY_ID, FEATURE_TRADITIONAL.to_le_bytes().to_vec());
        items.insert(KEY_RAM_SIZE, config.ram_bytes.to_le_bytes().to_vec());
        items.insert(KEY_NB_CPUS, config.cpus.to_le_bytes().to_vec());
        items.insert(KEY_MAX_CPUS, config.max_cpus.to_le_bytes().to_vec());
        let mut fw_cfg = FwCfg {
            items,
            files: Vec::new(),
            selector: 0,
            offset: 0,
        };
        fw_cfg.rebuild_directory();
        fw_cfg
    }

    /// Adds a file under the next free key from [`KEY_FILE_FIRST`] and lists
    /// it in the directory. Returns its select key.
    pub fn add_file(
        &mut self,
        name: &str,
        contents: impl Into<Vec<u8>>,
    ) -> Result<u16, FwCfgError> {
        if name.is_empty() || name.len() >= FILE_NAME_LEN || name.contains('\0') {
            return Err(FwCfgError::BadName { name: name.into() });
        }
        if self.files.iter().any(|(existing, _)| existing == name) {
            return Err(FwCfgError::DuplicateName { name: name.into() });
        }
        let contents = contents.into();
        if u32::try_from(contents.len()).is_err() {
            return Err(FwCfgError::TooLarge {
                name: name.into(),
                size: contents.len(),
            });
        }
        let key = u16::try_from(self.files.len())
            .ok()
            .and_then(|index| KEY_FILE_FIRST.checked_add(index))
            .filter(|&key| key <= KEY_ENTRY_MASK)
            .ok_or(FwCfgError::TooManyFiles)?;
        self.items.insert(key, contents);
        self.files.push((name.into(), key));
        self.rebuild_directory();
        Ok(key)
    }

    /// The state for crash reports and tests.
    pub fn snapshot(&self) -> FwCfgSnapshot {
        FwCfgSnapshot {
            selector: self.selector,
            offset: self.offset,
            files: self.files.len(),
        }
    }

    fn rebuild_directory(&mut self) {
        let mut directory = Vec::with_capacity(4 + self.files.len() * 64);
        directory.extend_from_slice(&(self.files.len() as u32).to_be_bytes());
        for (name, key) in &self.files {
            let size = self.items.get(key).map_or(0, Vec::len) as u32;
            directory.extend_from_slice(&size.to_be_bytes());
            directory.extend_from_slice(&key.to_be_bytes());
            directory.extend_from_slice(&0u16.to_be_bytes());
            let mut field = [0u8; FILE_NAME_LEN];
            field[..name.len()].copy_from_slice(name.as_bytes());
            directory.extend_from_slice(&field);
        }
        self.items.insert(KEY_FILE_DIR, directory);
    }

    fn select(&mut self, selector: u16) {
        self.selector = selector;
        self.offset = 0;
    }

    fn read_data(&mut self) -> u8 {
        let item = if self.selector & KEY_ARCH_LOCAL == 0 {
            self.items.get(&(self.selector & KEY_ENTRY_MASK))
        } else {
            None
        };
        let byte = item
            .and_then(|bytes| bytes.get(self.offset))
            .copied()
            .unwrap_or(0);
        if item.is_some_and(|bytes| self.offset < bytes.len()) {
            self.offset += 1;
        }
        byte
    }
}

impl PortDevice for FwCfg {
    fn port_read(&mut self, offset: u16, size: u8, _now: Nanos) -> u32 {
        match (offset, size) {
            (PORT_SELECTOR | PORT_DATA, 1) => u32::from(self.read_data()),
            _ => u32::MAX,
        }
    }

    fn port_write(&mut self, offset: u16, size: u8, value: u32, _now: Nanos) {
        // Byte writes are data writes, ignored by this read-only subset.
        if (offset, size) == (PORT_SELECTOR, 2) {
            self.select(value as u16);
        }
    }
}

/// What [`FwCfg::snapshot`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FwCfgSnapshot {
    /// The selected key.
    pub selector: u16,
    /// Read offset within the selected item.
    pub offset: usize,
    /// Files in the directory.
    pub files: usize,
}
