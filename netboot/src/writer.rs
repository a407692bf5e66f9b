//! The container writer, for host tools (feature `std`).

use std::string::String;
use std::vec::Vec;

use crate::format::{
    ENTRY_ALIGN, ENTRY_LEN, EntryKind, HEADER_LEN, MAGIC, MAX_ENTRIES, NameError, VERSION,
    check_name, entry, header,
};
use crate::reader::sha256;

/// Why an entry was not added to an [`ImageBuilder`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The name cannot be stored.
    #[error("entry '{name}' ({kind}): bad name: {reason}")]
    BadName {
        /// Kind of the entry.
        kind: EntryKind,
        /// The offered name.
        name: String,
        /// What is wrong with it.
        reason: NameError,
    },
    /// An entry of the same kind and name was already added.
    #[error("duplicate entry '{name}' ({kind}): names must be unique within a kind")]
    Duplicate {
        /// Kind of both entries.
        kind: EntryKind,
        /// Name of both entries.
        name: String,
    },
    /// The container already holds [`MAX_ENTRIES`] entries.
    #[error("too many entries: a container holds at most {max}")]
    TooManyEntries {
        /// The limit.
        max: u32,
    },
}

struct PendingEntry {
    kind: EntryKind,
    name: String,
    data: Vec<u8>,
}

/// Builds a container: entries are stored in the order they are added, each starting on
/// an [`ENTRY_ALIGN`] boundary.
///
/// ```
/// use bulkhead_netboot::{EntryKind, Image, ImageBuilder};
///
/// let bytes = ImageBuilder::new()
///     .entry(EntryKind::Core, "core", vec![0x7f, b'E', b'L', b'F'])?
///     .entry(EntryKind::Kernel, "linux", vec![1, 2, 3])?
///     .build();
/// let image = Image::parse(&bytes).unwrap();
/// image.verify_all().unwrap();
/// assert_eq!(image.first(EntryKind::Kernel).unwrap().data, &[1, 2, 3]);
/// # Ok::<(), bulkhead_netboot::BuildError>(())
/// ```
#[derive(Default)]
pub struct ImageBuilder {
    entries: Vec<PendingEntry>,
}

impl ImageBuilder {
    /// An empty container.
    pub fn new() -> ImageBuilder {
        ImageBuilder::default()
    }

    /// Adds an entry. Refuses a name that is empty, longer than
    /// [`crate::NAME_LEN`] bytes or holds control characters, a second entry with the
    /// same kind and name, and more than [`MAX_ENTRIES`] entries.
    pub fn entry(
        mut self,
        kind: EntryKind,
        name: &str,
        data: Vec<u8>,
    ) -> Result<ImageBuilder, BuildError> {
        check_name(name).map_err(|reason| BuildError::BadName {
            kind,
            name: name.into(),
            reason,
        })?;
        if self
            .entries
            .iter()
            .any(|e| e.kind == kind && e.name == name)
        {
            return Err(BuildError::Duplicate {
                kind,
                name: name.into(),
            });
        }
        if self.entries.len() >= MAX_ENTRIES as usize {
            return Err(BuildError::TooManyEntries { max: MAX_ENTRIES });
        }
        self.entries.push(PendingEntry {
            kind,
            name: name.into(),
            data,
        });
        Ok(self)
    }

    /// Lays out and serialises the container: header, entry table right after it, then
    /// each entry's data at the next [`ENTRY_ALIGN`] boundary. The container ends where
    /// the last data ends (no trailing padding).
    pub fn build(self) -> Vec<u8> {
        let table_offset = HEADER_LEN;
        let table_len = self.entries.len() * ENTRY_LEN;
        let table_end = table_offset + table_len;

        let mut offsets = Vec::with_capacity(self.entries.len());
        let mut cursor = align_up(table_end);
        let mut total_len = table_end;
        for e in &self.entries {
            offsets.push(cursor);
            let end = cursor + e.data.len();
            total_len = total_len.max(end);
            cursor = align_up(end);
        }

        let mut out = vec![0u8; total_len];
        for (i, (e, &offset)) in self.entries.iter().zip(&offsets).enumerate() {
            let record = &mut out[table_offset + i * ENTRY_LEN..][..ENTRY_LEN];
            put(record, entry::KIND, &e.kind.code().to_le_bytes());
            put(record, entry::NAME, e.name.as_bytes());
            put(record, entry::OFFSET, &(offset as u64).to_le_bytes());
            put(record, entry::LENGTH, &(e.data.len() as u64).to_le_bytes());
            put(record, entry::SHA256, &sha256(&e.data));
            put(&mut out, offset, &e.data);
        }
        let table_sha256 = sha256(&out[table_offset..table_end]);

        let count = u32::try_from(self.entries.len()).expect("bounded by MAX_ENTRIES");
        put(&mut out, header::MAGIC, &MAGIC);
        put(&mut out, header::VERSION, &VERSION.to_le_bytes());
        put(
            &mut out,
            header::HEADER_LEN,
            &(HEADER_LEN as u16).to_le_bytes(),
        );
        put(&mut out, header::ENTRY_COUNT, &count.to_le_bytes());
        put(
            &mut out,
            header::TOTAL_LEN,
            &(total_len as u64).to_le_bytes(),
        );
        put(
            &mut out,
            header::TABLE_OFFSET,
            &(table_offset as u64).to_le_bytes(),
        );
        put(
            &mut out,
            header::TABLE_LEN,
            &(table_len as u64).to_le_bytes(),
        );
        put(&mut out, header::TABLE_SHA256, &table_sha256);
        let header_sha256 = sha256(&out[..header::HEADER_SHA256]);
        put(&mut out, header::HEADER_SHA256, &header_sha256);
        out
    }
}

fn align_up(n: usize) -> usize {
    n.next_multiple_of(ENTRY_ALIGN as usize)
}

fn put(buf: &mut [u8], offset: usize, bytes: &[u8]) {
    buf[offset..offset + bytes.len()].copy_from_slice(bytes);
}
