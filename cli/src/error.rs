//! Everything that can go wrong in a command, each naming the file involved.

use std::io;
use std::path::PathBuf;

use bulkhead_netboot::multiboot::WrapError;
use bulkhead_netboot::{BuildError, ImageError};

/// A failed command. The message is printed after `error: ` and the command exits
/// with status 1.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// An input file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The output file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The loader ELF is unusable, or the image would not fit.
    #[error("{}: {source}", path.display())]
    Wrap {
        /// The loader file.
        path: PathBuf,
        /// Why.
        source: WrapError,
    },
    /// An entry could not be added to the container.
    #[error("{}: {source}", path.display())]
    Build {
        /// The entry's file.
        path: PathBuf,
        /// Why.
        source: BuildError,
    },
    /// The image or container failed a check.
    #[error("{}: {source}", path.display())]
    Image {
        /// The image file.
        path: PathBuf,
        /// What failed (boxed: the error carries names and digests inline).
        source: Box<ImageError>,
    },
    /// The file is neither a wrapped image nor a container.
    #[error(
        "{}: not a Bulkhead image: no Multiboot wrapper with a payload locator, and no \
         \"BULKHEAD\" container magic at offset 0",
        path.display()
    )]
    NotAnImage {
        /// The file.
        path: PathBuf,
    },
    /// The deployment file has problems; the rendered diagnostics follow.
    #[error("the deployment has problems:\n{0}")]
    Config(String),
    /// A partition table could not be compiled, or one in an image could not be read back.
    #[error("{}: partition table: {source}", path.display())]
    Compile {
        /// The deployment file.
        path: PathBuf,
        /// Why.
        source: bulkhead_config::CompiledError,
    },
    /// No key file was named for a network console command.
    #[error(
        "no console key: pass --key-file FILE (the deployment's [hypervisor.console] \
         key_file) or set BULKHEAD_CONSOLE_KEY_FILE"
    )]
    NoKeyFile,
    /// The key file holds fewer bytes than any deployment's key.
    #[error(
        "{}: the console key is {len} byte(s), fewer than any deployment's key has \
         ({} or more; hex text counts two digits a byte): is this the deployment's \
         key_file?",
        path.display(),
        bulkhead_config::limits::MIN_CONSOLE_KEY_LEN
    )]
    KeyTooShort {
        /// The key file.
        path: PathBuf,
        /// The key's length, decoded from hex if it was hex.
        len: usize,
    },
    /// The console service's host name could not be resolved.
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        /// The name.
        host: String,
        /// Why.
        source: io::Error,
    },
    /// The host name resolved to no address.
    #[error("{host} has no address")]
    NoAddress {
        /// The name.
        host: String,
    },
    /// The console's UDP socket failed.
    #[error("network: {0}")]
    Network(io::Error),
    /// The operating system would not give random bytes for the session seed.
    #[error("cannot get random bytes from the operating system: {0}")]
    Random(getrandom::Error),
    /// The terminal could not be put into raw mode, or the signals could not be
    /// caught.
    #[error("terminal: {0}")]
    Terminal(io::Error),
    /// Writing to standard output failed.
    #[error("cannot write to standard output: {0}")]
    Stdout(#[from] io::Error),
}
