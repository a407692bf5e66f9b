//! Time for the hypervisor: the TSC as the monotonic clock, calibrated once
//! against the PIT, and each core's local APIC timer to wake a halted core.
//!
//! Devices never read a clock: the run loop reads [`now`] and passes it in.
//! When a guest halts, its core arms the local APIC timer for the earliest
//! device deadline and sleeps with `hlt` until that interrupt, or any other,
//! arrives: no spinning.

use core::sync::atomic::{AtomicU64, Ordering};

use log::info;

use super::{lapic, pit};

/// Vector of the local APIC timer interrupt on every core.
pub const TIMER_VECTOR: u8 = 0xF0;
const CALIBRATION_MICROS: u64 = 20_000;

static TSC_HZ: AtomicU64 = AtomicU64::new(0);
/// Local APIC timer ticks per second at divide-by-16.
static APIC_TIMER_HZ: AtomicU64 = AtomicU64::new(0);

fn rdtsc() -> u64 {
    // SAFETY: RDTSC has no side effects; CR4.TSD is clear in the hypervisor.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Measures the TSC and the local APIC timer against the PIT. Called once,
/// by the bootstrap processor, before other cores start.
pub fn calibrate() {
    lapic::timer_count_down(u32::MAX);
    let apic_start = lapic::timer_current();
    let tsc_start = rdtsc();
    pit::wait_micros(CALIBRATION_MICROS);
    let tsc = rdtsc() - tsc_start;
    let apic = u64::from(apic_start - lapic::timer_current());
    lapic::timer_stop();
    let tsc_hz = tsc * 1_000_000 / CALIBRATION_MICROS;
    let apic_hz = apic * 1_000_000 / CALIBRATION_MICROS;
    TSC_HZ.store(tsc_hz.max(1), Ordering::Relaxed);
    APIC_TIMER_HZ.store(apic_hz.max(1), Ordering::Relaxed);
    info!(
        "clocks: TSC {} MHz, local APIC timer {} kHz (divide by 16)",
        tsc_hz / 1_000_000,
        apic_hz / 1000
    );
}

/// TSC frequency in Hz.
pub fn tsc_hz() -> u64 {
    TSC_HZ.load(Ordering::Relaxed)
}

/// Nanoseconds since an arbitrary point at boot, from the TSC.
pub fn now_nanos() -> u64 {
    (u128::from(rdtsc()) * 1_000_000_000 / u128::from(tsc_hz().max(1))) as u64
}

/// Arms this core's timer to interrupt at `deadline` (in [`now_nanos`] time),
/// or stops it for `None`: a guest running without exits is interrupted in
/// time for its next device event (a PIT tick it busy-waits for, say).
pub fn arm(deadline: Option<u64>) {
    match deadline {
        Some(deadline) => {
            let left = deadline.saturating_sub(now_nanos());
            let ticks = (u128::from(left) * u128::from(APIC_TIMER_HZ.load(Ordering::Relaxed))
                / 1_000_000_000)
                .clamp(1, u128::from(u32::MAX)) as u32;
            lapic::timer_one_shot(TIMER_VECTOR, ticks);
        }
        None => lapic::timer_stop(),
    }
}

/// Sleeps until `deadline` (in [`now_nanos`] time) or until any interrupt
/// arrives on this core, whichever is first. Interrupts are off again on return.
pub fn sleep_until(deadline: u64) {
    let now = now_nanos();
    if deadline <= now {
        return;
    }
    let ticks = (u128::from(deadline - now) * u128::from(APIC_TIMER_HZ.load(Ordering::Relaxed))
        / 1_000_000_000)
        .clamp(1, u128::from(u32::MAX)) as u32;
    lapic::timer_one_shot(TIMER_VECTOR, ticks);
    // `sti; hlt` is atomic with respect to interrupts: one that is already
    // pending is taken at the `hlt`, so the wake-up cannot be lost.
    x86_64::instructions::interrupts::enable_and_hlt();
    x86_64::instructions::interrupts::disable();
    lapic::timer_stop();
}
