//! `bulkhead check` and `bulkhead build`: a deployment's TOML file, checked, and
//! compiled with its guests' files into a bootable image.

use std::io::Write;
use std::path::{Path, PathBuf};

use bulkhead_config::units::format_size;
use bulkhead_config::{CrashPolicy, Deployment, LoadedDeployment, Protocol, load};
use bulkhead_netboot::EntryKind;

use crate::error::CliError;
use crate::pack::{Source, print_table, read, write_image};
use crate::vmlinux;

/// Entry name of the compiled partition table.
pub const TABLE_ENTRY: &str = "table";

fn load_checked(config: &Path) -> Result<LoadedDeployment, CliError> {
    load(config).map_err(|diagnostics| CliError::Config(diagnostics.render()))
}

/// Checks a deployment, files included, and prints a one-line summary per partition.
pub fn check(config: &Path, out: &mut dyn Write) -> Result<(), CliError> {
    let loaded = load_checked(config)?;
    writeln!(
        out,
        "{}: ok, {} partition(s)",
        config.display(),
        loaded.deployment.partitions.len()
    )?;
    print_partitions(&loaded.deployment, out)
}

/// Prints the partitions of a deployment as a table.
pub fn print_partitions(deployment: &Deployment, out: &mut dyn Write) -> Result<(), CliError> {
    let rows: Vec<[String; 5]> = deployment
        .partitions
        .iter()
        .map(|p| {
            let cores: Vec<String> = p.cores.iter().map(u32::to_string).collect();
            [
                p.name.clone(),
                cores.join(","),
                format_size(p.memory.size),
                p.boot.protocol.as_str().to_string(),
                match p.on_crash {
                    CrashPolicy::Halt => "halt".to_string(),
                    CrashPolicy::Restart {
                        max_restarts,
                        window_secs,
                    } => {
                        format!("restart ({max_restarts} per {window_secs} s)")
                    }
                },
            ]
        })
        .collect();
    print_table(
        out,
        ["PARTITION", "CORES", "MEMORY", "PROTOCOL", "ON CRASH"],
        &rows,
        &[],
    )?;
    Ok(())
}

/// Where `build` looks for the loader and core when not told: beside the
/// `bulkhead` executable's own build output (`target/release/bulkhead` →
/// `target/x86_64-unknown-none/release/`).
fn default_stage(file: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."));
    dir.join("x86_64-unknown-none").join("release").join(file)
}

/// Compiles the deployment and packs the core, the table and every guest file.
pub fn build(
    config: &Path,
    loader: Option<&Path>,
    core: Option<&Path>,
    output: &Path,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let loaded = load_checked(config)?;
    let loader = loader.map_or_else(|| default_stage("bulkhead-loader"), Path::to_path_buf);
    let core = core.map_or_else(|| default_stage("bulkhead-core"), Path::to_path_buf);
    let table = loaded
        .deployment
        .to_bytes()
        .map_err(|source| CliError::Compile {
            path: config.into(),
            source,
        })?;

    let mut sources = vec![
        Source {
            kind: EntryKind::Core,
            name: "core".into(),
            data: read(&core)?,
            origin: core,
        },
        Source {
            kind: EntryKind::PartitionTable,
            name: TABLE_ENTRY.into(),
            data: table,
            origin: config.into(),
        },
    ];
    for (partition, files) in loaded.deployment.partitions.iter().zip(&loaded.files) {
        let name = partition.kernel_entry_name();
        let mut kernel = read(&files.kernel)?;
        // PVH boots the ELF vmlinux; a bzImage as shipped carries one inside.
        if partition.boot.protocol == Protocol::Pvh && vmlinux::is_bzimage(&kernel) {
            kernel = vmlinux::pvh_kernel(&files.kernel, &partition.name, &kernel, out)?;
        }
        sources.push(Source {
            kind: EntryKind::Kernel,
            name: name.into(),
            data: kernel,
            origin: files.kernel.clone(),
        });
        if let Some(initrd) = &files.initrd {
            sources.push(Source {
                kind: EntryKind::Initrd,
                name: name.into(),
                data: read(initrd)?,
                origin: initrd.clone(),
            });
        }
        for (index, module) in files.modules.iter().enumerate() {
            sources.push(Source {
                kind: EntryKind::Module,
                name: partition.module_entry_name(index),
                data: read(module)?,
                origin: module.clone(),
            });
        }
    }
    print_partitions(&loaded.deployment, out)?;
    write_image(&loader, sources, output, out)
}
