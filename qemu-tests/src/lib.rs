//! Boots Bulkhead images in QEMU and asserts on what they print.
//!
//! A test builds a [`Qemu`], starts it, and waits on the [`Machine`] for serial lines:
//!
//! ```no_run
//! use bulkhead_qemu_tests::{Qemu, image_path, timeout};
//!
//! let mut machine = Qemu::kernel(image_path()).smp(2).start().unwrap();
//! machine.expect("bulkhead: partitions up", timeout::BOOT).unwrap();
//! machine.wait_halted(timeout::HALT).unwrap();
//! ```
//!
//! Nothing here sleeps: every wait is for a condition (a serial line, QEMU's exit, a vCPU
//! state reported over QMP) and ends at a deadline. Every timeout handed to a [`Machine`]
//! is multiplied by `BULKHEAD_TIMEOUT_SCALE` (see [`timeout`]). When a wait fails, the
//! [`HarnessError`] carries QEMU's command line, the whole serial log and QEMU's stderr,
//! and both its `Display` and its `Debug` print them, so `.unwrap()` in a test shows
//! everything that is needed to see why.
//!
//! The QEMU binary is `qemu-system-x86_64` from `PATH`, or the one named by
//! `BULKHEAD_QEMU`.

pub mod client;
mod error;
mod machine;
mod qemu;
mod qmp;
pub mod relay;
mod streams;
pub mod timeout;

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

pub use error::{HarnessError, Report};
pub use machine::Machine;
pub use qemu::{DEFAULT_CPU, DEFAULT_MEMORY_MIB, Nic, Qemu, debug_exit_code};
pub use tempfile::TempPath;

/// Environment variable that names the deployment image the tests boot.
pub const IMAGE_ENV: &str = "BULKHEAD_IMAGE";

/// The deployment image under test: `$BULKHEAD_IMAGE`, or `build/bulkhead.img` at the
/// workspace root.
///
/// # Panics
///
/// If the image does not exist, with a message that says how to build it: a test that
/// needs the image cannot do anything useful without it.
pub fn image_path() -> PathBuf {
    let path = match env::var_os(IMAGE_ENV) {
        Some(path) => PathBuf::from(path),
        None => workspace_root().join("build").join("bulkhead.img"),
    };
    assert!(
        path.is_file(),
        "no Bulkhead image at {}: run `make image` (or `make test`) first, \
         or point {IMAGE_ENV} at an image",
        path.display()
    );
    path
}

/// Environment variable naming the `bulkhead` command under test.
pub const CLI_ENV: &str = "BULKHEAD_CLI";

/// The `bulkhead` command under test: `$BULKHEAD_CLI`, or `target/release/bulkhead`
/// at the workspace root.
///
/// # Panics
///
/// If it does not exist, saying how to build it.
pub fn cli_path() -> PathBuf {
    let path = match env::var_os(CLI_ENV) {
        Some(path) => PathBuf::from(path),
        None => workspace_root()
            .join("target")
            .join("release")
            .join("bulkhead"),
    };
    assert!(
        path.is_file(),
        "no bulkhead command at {}: run `make image` (or `make test`) first, \
         or point {CLI_ENV} at one",
        path.display()
    );
    path
}

/// The directory holding the bare-metal test guests (`guests/build.sh`),
/// built on first use in this process into `target/test-guests`. The build
/// script moves each finished file into place, so concurrent test processes
/// never see a half-written guest.
///
/// # Panics
///
/// If the build fails, with its output.
pub fn guest_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let out = workspace_root().join("target").join("test-guests");
        let script = workspace_root().join("qemu-tests/guests/build.sh");
        let output = std::process::Command::new("bash")
            .arg(&script)
            .arg(&out)
            .output()
            .unwrap_or_else(|err| panic!("cannot run {}: {err}", script.display()));
        assert!(
            output.status.success(),
            "{} failed ({}):\n{}{}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
        out
    })
}

/// A deployment built for a test: the directory (deleted on drop) and the image in it.
pub struct Deployment {
    /// Holds `deploy.toml` and `deploy.img`.
    pub dir: tempfile::TempDir,
    /// The built image.
    pub image: PathBuf,
}

/// Writes `config` (with `{guests}` replaced by [`guest_dir`]) to a fresh
/// directory and builds it with `bulkhead build`.
///
/// # Panics
///
/// If the build fails, with the command's output.
pub fn build_deployment(config: &str) -> Deployment {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let toml = dir.path().join("deploy.toml");
    let image = dir.path().join("deploy.img");
    let config = config.replace("{guests}", &guest_dir().display().to_string());
    fs::write(&toml, config).expect("writable temporary directory");
    let output = std::process::Command::new(cli_path())
        .arg("build")
        .arg(&toml)
        .arg("-o")
        .arg(&image)
        .output()
        .expect("the bulkhead command runs");
    assert!(
        output.status.success(),
        "bulkhead build failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Deployment { dir, image }
}

/// The workspace root, which holds this crate's directory.
fn workspace_root() -> &'static Path {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir)
}

/// Writes a copy of `image`, changed by `edit`, to a temporary file and returns its path;
/// the file is deleted when the returned [`TempPath`] is dropped.
///
/// Tests use this to boot damaged or altered images without touching the original.
///
/// # Panics
///
/// If the image cannot be read or the copy cannot be written.
pub fn temp_copy_with(image: impl AsRef<Path>, edit: impl FnOnce(&mut Vec<u8>)) -> TempPath {
    let image = image.as_ref();
    let mut bytes = fs::read(image)
        .unwrap_or_else(|err| panic!("cannot read image {}: {err}", image.display()));
    edit(&mut bytes);
    let copy = tempfile::Builder::new()
        .prefix("bulkhead-image-")
        .suffix(".img")
        .tempfile()
        .unwrap_or_else(|err| panic!("cannot create a temporary image file: {err}"))
        .into_temp_path();
    fs::write(&copy, &bytes)
        .unwrap_or_else(|err| panic!("cannot write image copy {}: {err}", copy.display()));
    copy
}

/// A UDP port on 127.0.0.1 that is free now, for a host forward into a guest.
///
/// The port is found by binding port 0 and closing the socket again, so another
/// program could take it in between; on this machine's loopback that does not happen
/// in practice, and a clash shows as QEMU failing to start, not as a wrong result.
pub fn free_udp_port() -> u16 {
    let socket =
        std::net::UdpSocket::bind("127.0.0.1:0").expect("binding a UDP socket on loopback");
    socket
        .local_addr()
        .expect("a bound socket's address")
        .port()
}
