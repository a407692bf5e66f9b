//! Timeouts for QEMU tests.
//!
//! The constants are generous on purpose: under TCG on a loaded two-core machine a boot can
//! take many times longer than on an idle one, and a test that waits for a line returns as
//! soon as the line arrives, so a long limit costs nothing when things work. Every
//! [`Machine`](crate::Machine) method multiplies the timeout it is given by
//! [`scale()`], so a slow host sets `BULKHEAD_TIMEOUT_SCALE=3` instead of editing tests.

use std::env;
use std::time::Duration;

/// Environment variable that multiplies every timeout.
pub const SCALE_ENV: &str = "BULKHEAD_TIMEOUT_SCALE";

/// From QEMU's start to the first lines of a kernel loaded with `-kernel`: firmware,
/// loader, integrity check and hypervisor start.
pub const BOOT: Duration = Duration::from_secs(60);

/// From QEMU's start to the first lines of an image fetched by iPXE: as [`BOOT`], plus
/// option ROM start, DHCP and the TFTP transfer of the whole image.
pub const PXE_BOOT: Duration = Duration::from_secs(120);

/// Between two events of a system that is already running.
pub const STEP: Duration = Duration::from_secs(30);

/// From the last line a machine prints to every vCPU being halted.
pub const HALT: Duration = Duration::from_secs(30);

/// From a machine's last line to QEMU's exit.
pub const EXIT: Duration = Duration::from_secs(30);

/// The factor from `BULKHEAD_TIMEOUT_SCALE`, 1.0 when it is not set.
///
/// # Panics
///
/// If the variable is set to anything but a positive finite number: a typo there would
/// otherwise turn into confusing timeouts.
pub fn scale() -> f64 {
    match env::var(SCALE_ENV) {
        Err(_) => 1.0,
        Ok(text) => match text.trim().parse::<f64>() {
            Ok(factor) if factor.is_finite() && factor > 0.0 => factor,
            _ => panic!("{SCALE_ENV} must be a positive number, not {text:?}"),
        },
    }
}

/// `base` multiplied by [`scale()`].
pub fn scaled(base: Duration) -> Duration {
    base.mul_f64(scale())
}
