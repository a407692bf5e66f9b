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
    /// Writing to standard output failed.
    #[error("cannot write to standard output: {0}")]
    Stdout(#[from] io::Error),
}
