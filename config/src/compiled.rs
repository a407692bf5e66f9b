//! The compiled form of the table, as it travels inside the image.
//!
//! ```text
//! offset  size  field
//!      0     8  MAGIC, "BHDTABLE"
//!      8     4  format version, little endian (FORMAT_VERSION)
//!     12     4  payload length in bytes, little endian
//!     16     4  CRC-32 (IEEE 802.3, as zlib and gzip) of the payload, little endian
//!     20     4  reserved, zero
//!     24     n  payload: the Deployment, postcard-encoded
//! ```
//!
//! The CRC catches corruption and truncation (the image format's own checksums cover the
//! payload in transit as well); a table that decodes is then validated
//! like one read from TOML, so a hand-crafted table that breaks a rule is refused with the
//! same message the front end would give.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::model::Deployment;
use crate::problem::Problem;

/// The first eight bytes of every compiled table.
pub const MAGIC: [u8; 8] = *b"BHDTABLE";
/// The version of the encoding this crate writes and reads. It changes whenever the model
/// changes shape, because postcard carries no field names.
pub const FORMAT_VERSION: u32 = 1;
/// Bytes before the payload.
pub const HEADER_LEN: usize = 24;

/// Why a compiled table was refused.
#[derive(Debug, thiserror::Error)]
pub enum CompiledError {
    /// Fewer bytes than a header.
    #[error("the partition table is truncated: {len} bytes, a header alone is {HEADER_LEN}")]
    TooShort {
        /// Bytes given.
        len: usize,
    },
    /// The magic is wrong: this is not a partition table.
    #[error("not a partition table: the magic is not \"BHDTABLE\"")]
    BadMagic,
    /// Written by a different version of the format.
    #[error(
        "the partition table has format version {found}; this hypervisor reads version {supported}: rebuild the image with the matching tool"
    )]
    UnsupportedVersion {
        /// Version in the header.
        found: u32,
        /// Version this crate reads.
        supported: u32,
    },
    /// The header's length disagrees with the bytes given.
    #[error(
        "the partition table's header declares {declared} payload bytes but {actual} follow it"
    )]
    LengthMismatch {
        /// Length in the header.
        declared: u64,
        /// Bytes after the header.
        actual: u64,
    },
    /// The payload's CRC does not match the header: the table is corrupted.
    #[error("the partition table is corrupted: its CRC-32 does not match the header")]
    ChecksumMismatch,
    /// The reserved header word is not zero: written by something else.
    #[error("the partition table's header has a non-zero reserved field")]
    ReservedNotZero,
    /// The payload does not decode as a deployment.
    #[error("the partition table does not decode: {0}")]
    Malformed(postcard::Error),
    /// The payload decodes but leaves bytes unread.
    #[error("the partition table has {0} unread bytes after the deployment")]
    TrailingBytes(usize),
    /// The payload decodes into a deployment that breaks the rules.
    #[error("{}", describe_invalid(.0))]
    Invalid(Vec<Problem>),
    /// Encoding failed (only with a payload over 4 GiB).
    #[error("the partition table cannot be encoded: {0}")]
    Encode(postcard::Error),
}

fn describe_invalid(problems: &[Problem]) -> String {
    let mut s = format!(
        "the partition table is invalid ({} problems):",
        problems.len()
    );
    for p in problems {
        s.push_str("\n  ");
        s.push_str(&format!("{p}"));
    }
    s
}

impl Deployment {
    /// Encodes the deployment in the compiled form, header included.
    pub fn to_bytes(&self) -> Result<Vec<u8>, CompiledError> {
        let payload = postcard::to_allocvec(self).map_err(CompiledError::Encode)?;
        let len = u32::try_from(payload.len())
            .map_err(|_| CompiledError::Encode(postcard::Error::SerializeBufferFull))?;
        let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&crc32(&payload).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&payload);
        Ok(out)
    }

    /// Decodes and validates a compiled table. Never panics, whatever the bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Deployment, CompiledError> {
        let (header, payload) = bytes
            .split_at_checked(HEADER_LEN)
            .ok_or(CompiledError::TooShort { len: bytes.len() })?;
        let field = |at: usize| -> u32 {
            let mut word = [0u8; 4];
            word.copy_from_slice(&header[at..at + 4]);
            u32::from_le_bytes(word)
        };
        if header[..8] != MAGIC {
            return Err(CompiledError::BadMagic);
        }
        let version = field(8);
        if version != FORMAT_VERSION {
            return Err(CompiledError::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let declared = field(12);
        if u64::from(declared) != payload.len() as u64 {
            return Err(CompiledError::LengthMismatch {
                declared: u64::from(declared),
                actual: payload.len() as u64,
            });
        }
        if field(20) != 0 {
            return Err(CompiledError::ReservedNotZero);
        }
        if crc32(payload) != field(16) {
            return Err(CompiledError::ChecksumMismatch);
        }
        let (deployment, rest): (Deployment, &[u8]) =
            postcard::take_from_bytes(payload).map_err(CompiledError::Malformed)?;
        if !rest.is_empty() {
            return Err(CompiledError::TrailingBytes(rest.len()));
        }
        deployment.validate().map_err(CompiledError::Invalid)?;
        Ok(deployment)
    }
}

/// CRC-32 as in IEEE 802.3, zlib and gzip: reflected polynomial 0xEDB88320, initial value
/// and final XOR all ones. Bitwise, because tables are a few KiB and read once per boot.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::crc32;

    /// The standard check value: CRC-32 of "123456789" is 0xCBF43926.
    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }
}
