//! The `bulkhead` command: packs deployments into a bootable image and inspects them.

mod deploy;
mod error;
mod pack;
mod show;
mod vmlinux;

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::CliError;
use crate::pack::EntrySpec;

/// Bulkhead: a static partitioning hypervisor for x86_64.
#[derive(Parser)]
#[command(name = "bulkhead", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build a bootable image (a Multiboot ELF32 for QEMU -kernel, iPXE or GRUB) from
    /// the loader, the hypervisor core and the guests' files.
    Pack {
        /// The loader stage ELF (x86_64, linked at 0x101000).
        #[arg(long, value_name = "LOADER_ELF")]
        loader: PathBuf,
        /// The hypervisor core ELF; stored as entry core:core.
        #[arg(long, value_name = "CORE_ELF")]
        core: PathBuf,
        /// An additional entry, e.g. `kernel:linux=bzImage` or
        /// `partition-table:deploy=deploy.bin`. KIND is one of core, partition-table,
        /// kernel, initrd, module; NAME is 1 to 32 bytes, unique within its kind.
        /// Repeat for more entries; they are stored in the order given.
        #[arg(long = "entry", value_name = "KIND:NAME=PATH")]
        entries: Vec<EntrySpec>,
        /// Where to write the image.
        #[arg(short = 'o', long = "output", value_name = "OUT")]
        output: PathBuf,
    },
    /// Check a deployment file: syntax, keys, values, cross-partition conflicts and the
    /// guests' files. Prints every problem with its line; exits with status 1 if any.
    Check {
        /// The deployment's TOML file.
        config: PathBuf,
    },
    /// Check a deployment and build its bootable image: the core, the compiled
    /// partition table and every partition's kernel, initrd and modules.
    Build {
        /// The deployment's TOML file.
        config: PathBuf,
        /// The loader stage ELF [default: beside this program's build output,
        /// x86_64-unknown-none/release/bulkhead-loader].
        #[arg(long, value_name = "LOADER_ELF")]
        loader: Option<PathBuf>,
        /// The hypervisor core ELF [default: likewise, bulkhead-core].
        #[arg(long, value_name = "CORE_ELF")]
        core: Option<PathBuf>,
        /// Where to write the image.
        #[arg(short = 'o', long = "output", value_name = "IMAGE")]
        output: PathBuf,
    },
    /// Check an image (or a bare container) and list its entries with their digests.
    /// Exits with status 1 if any check fails.
    Show {
        /// The image or container to check.
        image: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut stdout = io::stdout().lock();
    let result = match cli.command {
        Command::Pack {
            loader,
            core,
            entries,
            output,
        } => pack::run(&loader, &core, &entries, &output, &mut stdout),
        Command::Show { image } => show::run(&image, &mut stdout),
        Command::Check { config } => deploy::check(&config, &mut stdout),
        Command::Build {
            config,
            loader,
            core,
            output,
        } => deploy::build(
            &config,
            loader.as_deref(),
            core.as_deref(),
            &output,
            &mut stdout,
        ),
    };
    let _ = stdout.flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`bulkhead show img | head`) is not worth a message.
        Err(CliError::Stdout(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
