//! `bulkhead pack`: loader + core + guest files → bootable image.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use bulkhead_netboot::multiboot::{container_range, wrap};
use bulkhead_netboot::{EntryKind, HexDigest, Image, ImageBuilder, check_name};

use crate::error::CliError;

/// One `--entry KIND:NAME=PATH` argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntrySpec {
    /// What the file holds.
    pub kind: EntryKind,
    /// Its name in the image.
    pub name: String,
    /// Where to read it from.
    pub path: PathBuf,
}

impl FromStr for EntrySpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let usage = "expected KIND:NAME=PATH, e.g. kernel:linux=bzImage";
        let (kind, rest) = s.split_once(':').ok_or(usage)?;
        let kind = kind.parse::<EntryKind>().map_err(|e| e.to_string())?;
        let (name, path) = rest.split_once('=').ok_or(usage)?;
        check_name(name).map_err(|e| format!("bad entry name '{name}': {e}"))?;
        if path.is_empty() {
            return Err(format!("no file given for entry '{name}'; {usage}"));
        }
        Ok(EntrySpec {
            kind,
            name: name.into(),
            path: path.into(),
        })
    }
}

pub(crate) fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    fs::read(path).map_err(|source| CliError::Read {
        path: path.into(),
        source,
    })
}

/// Writes `bytes` to a temporary file beside `path` and renames it into place, so an
/// interrupted or failed pack never leaves a half-written image under the real name.
fn write_replacing(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let error = |source| CliError::Write {
        path: path.into(),
        source,
    };
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = fs::write(&tmp, bytes).and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(error)
}

/// One entry on its way into the container.
pub struct Source {
    /// What it holds.
    pub kind: EntryKind,
    /// Its name in the image.
    pub name: String,
    /// Its bytes.
    pub data: Vec<u8>,
    /// Where they came from, for messages.
    pub origin: PathBuf,
}

/// `bulkhead pack`: the core first, as `core:core`, then the `--entry` files in order.
pub fn run(
    loader: &Path,
    core: &Path,
    entries: &[EntrySpec],
    output: &Path,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let core_spec = EntrySpec {
        kind: EntryKind::Core,
        name: "core".into(),
        path: core.into(),
    };
    let sources = std::iter::once(&core_spec)
        .chain(entries)
        .map(|spec| {
            Ok(Source {
                kind: spec.kind,
                name: spec.name.clone(),
                data: read(&spec.path)?,
                origin: spec.path.clone(),
            })
        })
        .collect::<Result<Vec<_>, CliError>>()?;
    write_image(loader, sources, output, out)
}

/// Builds the container from `sources` in order, wraps it with the loader, reads it
/// back the way the loader will, writes it to `output`, and prints a summary.
pub fn write_image(
    loader: &Path,
    sources: Vec<Source>,
    output: &Path,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let loader_elf = read(loader)?;
    let mut builder = ImageBuilder::new();
    for source in sources {
        builder = builder
            .entry(source.kind, &source.name, source.data)
            .map_err(|error| CliError::Build {
                path: source.origin,
                source: error,
            })?;
    }
    let container = builder.build();
    let image = wrap(&loader_elf, &container).map_err(|source| CliError::Wrap {
        path: loader.into(),
        source,
    })?;

    // Read back what was written, the way the loader will, before it is saved.
    let self_check = |source| CliError::Image {
        path: output.into(),
        source: Box::new(source),
    };
    let range = container_range(&image).unwrap_or(0..0);
    let parsed = Image::parse(image.get(range.clone()).unwrap_or_default()).map_err(self_check)?;
    parsed.verify_all().map_err(self_check)?;

    write_replacing(output, &image)?;

    let rows: Vec<[String; 4]> = parsed
        .entries()
        .map(|e| {
            [
                e.kind.to_string(),
                e.name.to_string(),
                e.data.len().to_string(),
                format!("{:.16}", HexDigest(e.sha256)),
            ]
        })
        .collect();
    print_table(out, ["KIND", "NAME", "SIZE", "SHA256"], &rows, &[2])?;
    writeln!(
        out,
        "wrote {}: {} bytes (loader memory image {} bytes, container {} bytes at file offset {:#x}, \
         {} entries)",
        output.display(),
        image.len(),
        range.start.saturating_sub(0x1000),
        parsed.total_len(),
        range.start,
        parsed.entry_count(),
    )?;
    Ok(())
}

/// Prints `rows` under `header` in aligned columns; `right` lists the columns to
/// right-align (numbers).
pub(crate) fn print_table<const N: usize>(
    out: &mut dyn Write,
    header: [&str; N],
    rows: &[[String; N]],
    right: &[usize],
) -> std::io::Result<()> {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header = header.map(String::from);
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            if right.contains(&i) {
                line.push_str(&format!("{cell:>width$}"));
            } else {
                line.push_str(&format!("{cell:<width$}"));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}
