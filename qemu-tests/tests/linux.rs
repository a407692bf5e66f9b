//! A stock Debian kernel, unmodified, in a partition beside a heartbeat
//! partition: by the Linux 64-bit boot protocol and by PVH. The kernel and the
//! busybox initramfs come from `make linux` (scripts/linux-guest.sh).
//!
//! Commands typed on the console print computed markers (`$((40+2))`), so the
//! terminal's echo of the command itself never satisfies an assertion.

use std::path::PathBuf;
use std::time::Duration;

use bulkhead_qemu_tests::{Machine, Qemu, build_deployment};

/// Booting Linux under TCG inside SVM takes a while; the margin is for a loaded machine.
const LINUX_BOOT: Duration = Duration::from_secs(400);
const COMMAND: Duration = Duration::from_secs(60);

/// `build/linux` at the workspace root, or `$BULKHEAD_LINUX`.
fn linux_dir() -> PathBuf {
    let dir = std::env::var_os("BULKHEAD_LINUX")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../build/linux"));
    assert!(
        dir.join("bzImage").is_file() && dir.join("initrd.cpio.gz").is_file(),
        "no Linux guest in {}: run `make linux` (or `make test`) first",
        dir.display()
    );
    dir
}

fn deployment(protocol: &str, on_crash: &str) -> String {
    let linux = linux_dir();
    format!(
        r#"
[hypervisor.network]
nic = "none"
[hypervisor.local_console]
input = "linux"

[[partition]]
name = "linux"
cores = [1]
memory = "256 MiB"
on_crash = {on_crash}
[partition.boot]
protocol = "{protocol}"
kernel = "{kernel}"
initrd = "{initrd}"
cmdline = "console=ttyS0 panic=-1"

[[partition]]
name = "beat"
cores = [2]
memory = "16 MiB"
[partition.boot]
protocol = "multiboot"
kernel = "{{guests}}/heartbeat.elf"
"#,
        kernel = linux.join("bzImage").display(),
        initrd = linux.join("initrd.cpio.gz").display(),
    )
}

fn boot(protocol: &str, on_crash: &str) -> (Machine, bulkhead_qemu_tests::Deployment) {
    let deployment = build_deployment(&deployment(protocol, on_crash));
    let mut machine = Qemu::kernel(&deployment.image)
        .smp(3)
        .memory_mib(1024)
        .start()
        .unwrap();
    machine
        .expect_any_order("[linux] bulkhead-linux-marker: init started", LINUX_BOOT)
        .unwrap();
    (machine, deployment)
}

/// Runs `command` in the guest's shell and waits for `marker` in its output.
fn run(machine: &mut Machine, command: &str, marker: &str) -> String {
    machine.send(format!("{command}\r").as_bytes());
    machine.expect_any_order(marker, COMMAND).unwrap()
}

/// Lines of `dmesg` that mention the APIC, timers or clocksources and look
/// like trouble, minus the ones accepted (each with its reason below).
fn troubling_dmesg(log: &str) -> Vec<String> {
    // Accepted:
    // - Linux's fast PIT calibration of the TSC needs port reads far faster
    //   than exits allow under emulation; the rate comes from the boot command
    //   line (tsc_early_khz) instead, so nothing is lost.
    // - Linux measures the local APIC timer against jiffies, whose PIT ticks
    //   can reach the guest up to one exit late, and checks the result against
    //   the ACPI PM timer; a few percent apart, it takes the PM timer's value
    //   ("APIC delta adjusted to PM-Timer", which the test requires to follow).
    const ACCEPTED: [&str; 2] = [
        "tsc: Fast TSC calibration failed",
        "APIC calibration not consistent with PM-Timer",
    ];
    log.lines()
        .filter(|l| l.starts_with("[linux] ["))
        .filter(|l| {
            let lower = l.to_lowercase();
            ["apic", "timer", "clocksource", "tsc"]
                .iter()
                .any(|w| lower.contains(w))
                && ["error", "warn", "fail", "unstable", "bug", "not consistent"]
                    .iter()
                    .any(|w| lower.contains(w))
        })
        .filter(|l| !ACCEPTED.iter().any(|a| l.contains(a)))
        .map(str::to_owned)
        .collect()
}

/// The bzImage as shipped, by the 64-bit boot protocol: the console works both
/// ways, /proc shows the partition's one core with the hypervisor flag and no
/// SVM, its memory, interrupts counting, no APIC or timer trouble, the TSC as
/// clocksource; `poweroff -f` stops the partition while the heartbeat beats on.
#[test]
fn debian_kernel_by_the_linux_boot_protocol() {
    let (mut machine, _deployment) = boot("linux", "\"halt\"");
    run(&mut machine, "echo typed-$((40+2))", "[linux] typed-42");
    run(
        &mut machine,
        "grep -c ^processor /proc/cpuinfo; echo cpus-$((1+1))",
        "cpus-2",
    );
    let cpuinfo = run(
        &mut machine,
        "grep -q ' hypervisor' /proc/cpuinfo && echo hv-$((2*3)); grep -qw svm /proc/cpuinfo || echo nosvm-$((3*3))",
        "nosvm-9",
    );
    assert!(
        machine.log().contains("[linux] hv-6"),
        "no hypervisor flag:\n{cpuinfo}\n{}",
        machine.log()
    );
    assert!(
        machine.log().lines().any(|l| l == "[linux] 1"),
        "not exactly one processor:\n{}",
        machine.log()
    );
    let mem = run(
        &mut machine,
        "grep MemTotal /proc/meminfo; echo mem-$((5*5))",
        "mem-25",
    );
    let mem_kib: u64 = machine
        .log()
        .lines()
        .find_map(|l| l.strip_prefix("[linux] MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no MemTotal:\n{mem}\n{}", machine.log()));
    assert!(
        mem_kib > 128 * 1024 && mem_kib <= 256 * 1024,
        "MemTotal {mem_kib} kB for a 256 MiB partition"
    );
    run(
        &mut machine,
        "cat /sys/devices/system/clocksource/clocksource0/current_clocksource; echo cs-$((6*7))",
        "cs-42",
    );
    let clocksource = machine
        .log()
        .lines()
        .rev()
        .find(|l| l.starts_with("[linux] tsc"))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("the clocksource is not the TSC:\n{}", machine.log()));
    assert!(
        clocksource == "[linux] tsc" || clocksource == "[linux] tsc-early",
        "{clocksource}"
    );
    run(
        &mut machine,
        "cat /proc/interrupts; echo irq-$((7*7))",
        "irq-49",
    );
    let log = machine.log();
    let counting = |name: &str| {
        // "[linux]   0:   202   IO-APIC   2-edge   timer": the count follows the "N:" column.
        log.lines().any(|l| {
            l.contains(name)
                && l.split_whitespace()
                    .nth(2)
                    .and_then(|n| n.parse::<u64>().ok())
                    .is_some_and(|n| n > 0)
        })
    };
    assert!(
        counting("LOC:") || counting("timer"),
        "no timer interrupts counted:\n{log}"
    );
    assert!(counting("ttyS0"), "no serial interrupts counted:\n{log}");
    run(&mut machine, "dmesg; echo dmesg-$((8*8))", "dmesg-64");
    let log = machine.log();
    assert!(
        log.contains("BIOS-e820: [mem 0x00000000000e0000-0x00000000000e0fff] ACPI NVS"),
        "the ACPI tables are not in the e820 map:\n{log}"
    );
    if log.contains("APIC calibration not consistent with PM-Timer") {
        assert!(
            log.contains("APIC delta adjusted to PM-Timer"),
            "the APIC calibration was not corrected:\n{log}"
        );
    }
    let trouble = troubling_dmesg(&log);
    assert!(
        trouble.is_empty(),
        "APIC/timer/clocksource trouble in dmesg:\n{}",
        trouble.join("\n")
    );
    machine.send(b"poweroff -f\r");
    machine
        .expect_any_order("partition linux powered off (ACPI S5)", COMMAND)
        .unwrap();
    let beats = machine.log().matches("[beat] guest: heartbeat:").count();
    machine
        .expect_any_order(&format!("[beat] guest: heartbeat: {}", beats + 5), COMMAND)
        .unwrap();
    machine.expect_absent("crashed").unwrap();
}

/// The vmlinux inside the same bzImage, by PVH (`bulkhead build` extracts it):
/// the marker and a command work; `reboot -f` with `on_crash = restart`
/// starts the partition again while the heartbeat beats on.
#[test]
fn debian_kernel_by_pvh() {
    let (mut machine, _deployment) = boot(
        "pvh",
        "{ action = \"restart\", max_restarts = 1, window = \"600s\" }",
    );
    run(&mut machine, "echo pvh-$((40+2))", "[linux] pvh-42");
    machine.send(b"reboot -f\r");
    machine
        .expect_any_order("partition linux asked for a reset", COMMAND)
        .unwrap();
    machine
        .expect_any_order("partition linux: restarting (1 of 1 within 600 s)", COMMAND)
        .unwrap();
    machine
        .expect("[linux] bulkhead-linux-marker: init started", LINUX_BOOT)
        .unwrap();
    let beats = machine.log().matches("[beat] guest: heartbeat:").count();
    machine
        .expect_any_order(&format!("[beat] guest: heartbeat: {}", beats + 5), COMMAND)
        .unwrap();
}
