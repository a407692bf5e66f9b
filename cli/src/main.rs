//! The `bulkhead` command: packs deployments into a bootable image and inspects them,
//! and talks to a running hypervisor's network console.

mod console;
mod deploy;
mod error;
mod pack;
mod show;
mod vmlinux;

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use bulkhead_netconsole::{ClientRequest, Role};
use clap::{Args, Parser, Subcommand};

use crate::console::address::Target;
use crate::console::control::Timeout;
use crate::console::key::KEY_FILE_ENV;
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
    /// Attach to a partition's console over the network.
    ///
    /// Keys go to the partition (Ctrl-C too); after Enter, `~.` detaches and `~?`
    /// lists the escape keys. Output goes to standard output as it is, the client's
    /// own notices to standard error. Exits with status 0 after `~.`, 1 if the
    /// service refuses or ends the session, 128 + N after signal N.
    Console {
        #[command(flatten)]
        service: Service,
        /// The partition.
        #[arg(short = 'p', long, value_name = "NAME")]
        partition: String,
        /// Watch without typing; any number of viewers may watch a partition.
        #[arg(long)]
        view: bool,
        /// Take the keyboard from the partition's current writer, which is detached.
        #[arg(long, conflicts_with = "view")]
        force: bool,
    },
    /// List a running hypervisor's partitions with their state, restarts and VM
    /// exits.
    Status {
        #[command(flatten)]
        service: Service,
        #[command(flatten)]
        wait: Wait,
    },
    /// Restart a partition of a running hypervisor.
    Restart {
        #[command(flatten)]
        service: Service,
        /// The partition.
        name: String,
        #[command(flatten)]
        wait: Wait,
    },
    /// Halt a partition of a running hypervisor (until a restart).
    Halt {
        #[command(flatten)]
        service: Service,
        /// The partition.
        name: String,
        #[command(flatten)]
        wait: Wait,
    },
}

/// Where a hypervisor's console service is, and its key.
#[derive(Args)]
struct Service {
    /// The hypervisor's address: HOST or HOST:PORT, an IPv6 literal with a port in
    /// brackets ([::1]:7777). The port defaults to 7777.
    #[arg(value_name = "HOST[:PORT]")]
    target: Target,
    /// The deployment's console key file (its [hypervisor.console] key_file): hex
    /// text or raw bytes.
    #[arg(long, value_name = "FILE", env = KEY_FILE_ENV)]
    key_file: Option<PathBuf>,
}

/// How long a request waits for its answer.
#[derive(Args)]
struct Wait {
    /// Give up after this many seconds without an answer; exit status 1.
    #[arg(long, value_name = "SECS", default_value = "5")]
    timeout: Timeout,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut stdout = io::stdout().lock();
    let done = |result: Result<(), CliError>| result.map(|()| ExitCode::SUCCESS);
    let result = match cli.command {
        Command::Pack {
            loader,
            core,
            entries,
            output,
        } => done(pack::run(&loader, &core, &entries, &output, &mut stdout)),
        Command::Show { image } => done(show::run(&image, &mut stdout)),
        Command::Check { config } => done(deploy::check(&config, &mut stdout)),
        Command::Build {
            config,
            loader,
            core,
            output,
        } => done(deploy::build(
            &config,
            loader.as_deref(),
            core.as_deref(),
            &output,
            &mut stdout,
        )),
        Command::Console {
            service,
            partition,
            view,
            force,
        } => {
            // The console writes output as it comes, not through this lock.
            drop(stdout);
            let status = console::attach::run(&console::attach::Options {
                target: &service.target,
                partition: &partition,
                key_file: service.key_file.as_deref(),
                role: if view { Role::Viewer } else { Role::Writer },
                takeover: force,
            });
            return finish(status);
        }
        Command::Status { service, wait } => {
            control(&service, wait, ClientRequest::List, &mut stdout)
        }
        Command::Restart {
            service,
            name,
            wait,
        } => control(&service, wait, ClientRequest::Restart(name), &mut stdout),
        Command::Halt {
            service,
            name,
            wait,
        } => control(&service, wait, ClientRequest::Halt(name), &mut stdout),
    };
    let _ = stdout.flush();
    finish(result)
}

/// `status`, `restart` or `halt`: one request on a Control session.
fn control(
    service: &Service,
    wait: Wait,
    request: ClientRequest,
    stdout: &mut impl Write,
) -> Result<ExitCode, CliError> {
    console::control::run(
        &service.target,
        service.key_file.as_deref(),
        wait.timeout,
        request,
        stdout,
    )
}

/// The exit status, with the error printed if there is one.
fn finish(result: Result<ExitCode, CliError>) -> ExitCode {
    match result {
        Ok(status) => status,
        // A closed pipe (`bulkhead show img | head`) is not worth a message.
        Err(CliError::Stdout(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
