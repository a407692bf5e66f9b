//! `bulkhead show`: check an image and list what it holds.

use std::io::Write;
use std::path::Path;

use bulkhead_config::Deployment;
use bulkhead_netboot::multiboot::container_range;
use bulkhead_netboot::{EntryKind, HexDigest, Image, MAGIC, VERSION};

use crate::deploy::print_partitions;
use crate::error::CliError;
use crate::pack::{print_table, read};

/// Locates the container (in a wrapped image, or the whole file if it is a bare
/// container), checks its structure and every entry's digest, and lists the entries.
/// The first failed check is returned after the listing.
pub fn run(path: &Path, out: &mut dyn Write) -> Result<(), CliError> {
    let bytes = read(path)?;
    let image_error = |source| CliError::Image {
        path: path.into(),
        source: Box::new(source),
    };
    let range = if bytes.starts_with(&MAGIC) {
        writeln!(out, "{}: container, {} bytes", path.display(), bytes.len())?;
        0..bytes.len()
    } else if let Some(range) = container_range(&bytes) {
        writeln!(
            out,
            "{}: bootable image, {} bytes; container at file offset {:#x}",
            path.display(),
            bytes.len(),
            range.start
        )?;
        range
    } else {
        return Err(CliError::NotAnImage { path: path.into() });
    };
    let container = bytes.get(range).unwrap_or_default();
    let image = Image::parse(container).map_err(image_error)?;
    writeln!(
        out,
        "format version {VERSION}, {} bytes, {} entries; header and entry table checksums ok",
        image.total_len(),
        image.entry_count()
    )?;

    let mut first_failure = None;
    let rows: Vec<[String; 6]> = image
        .entries()
        .map(|e| {
            let status = match e.verify() {
                Ok(()) => "ok",
                Err(err) => {
                    first_failure.get_or_insert(err);
                    "MISMATCH"
                }
            };
            [
                e.kind.to_string(),
                e.name.to_string(),
                format!("{:#x}", e.offset),
                e.data.len().to_string(),
                HexDigest(e.sha256).to_string(),
                status.to_string(),
            ]
        })
        .collect();
    print_table(
        out,
        ["KIND", "NAME", "OFFSET", "SIZE", "SHA256", "STATUS"],
        &rows,
        &[2, 3],
    )?;
    if let Some(err) = first_failure {
        return Err(image_error(err));
    }
    writeln!(out, "all {} entries verified", image.entry_count())?;
    if let Some(table) = image.first(EntryKind::PartitionTable) {
        let deployment =
            Deployment::from_bytes(table.data).map_err(|source| CliError::Compile {
                path: path.into(),
                source,
            })?;
        writeln!(
            out,
            "partition table '{}': {} partition(s)",
            table.name,
            deployment.partitions.len()
        )?;
        print_partitions(&deployment, out)?;
    }
    Ok(())
}
