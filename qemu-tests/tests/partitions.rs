//! Partitions running under SVM: every boot protocol's test guest in its own
//! partition on its own core, side by side, each reporting through its own
//! virtual UART and ending through its own debug-exit port.

use std::time::Duration;

use bulkhead_qemu_tests::{Qemu, build_deployment};

const BOOT: Duration = Duration::from_secs(90);

/// Real mode, Multiboot and PVH guests plus a heartbeat, one per core.
const FOUR_PROTOCOLS: &str = r#"
[hypervisor.network]
nic = "none"

[[partition]]
name = "real"
cores = [1]
memory = "4 MiB"
[partition.boot]
protocol = "realmode"
kernel = "{guests}/realmode.bin"
[partition.devices]
debug_exit = true

[[partition]]
name = "mb"
cores = [2]
memory = "32 MiB"
[partition.boot]
protocol = "multiboot"
kernel = "{guests}/multiboot.elf"
cmdline = "first second=2"
[partition.devices]
debug_exit = true

[[partition]]
name = "pvh"
cores = [3]
memory = "32 MiB"
[partition.boot]
protocol = "pvh"
kernel = "{guests}/pvh.elf"
cmdline = "pvh says hi"
[partition.devices]
debug_exit = true

[[partition]]
name = "beat"
cores = [4]
memory = "16 MiB"
[partition.boot]
protocol = "multiboot"
kernel = "{guests}/heartbeat.elf"
"#;

/// Every protocol's guest passes its own checks in its own partition while the
/// heartbeat partition keeps beating, and each guest's output carries its name.
#[test]
fn every_protocol_runs_side_by_side() {
    let deployment = build_deployment(FOUR_PROTOCOLS);
    let mut machine = Qemu::kernel(&deployment.image)
        .smp(5)
        .memory_mib(256)
        .start()
        .unwrap();
    machine.expect("all 5 cores online", BOOT).unwrap();
    for name in ["real", "mb", "pvh"] {
        let guest = if name == "real" {
            "realmode"
        } else if name == "mb" {
            "multiboot"
        } else {
            "pvh"
        };
        machine
            .expect_any_order(&format!("[{name}] guest: {guest}: PASS"), BOOT)
            .unwrap();
        machine
            .expect_any_order(
                &format!("partition {name} exited through debug-exit: value 0x10 (status 33)"),
                BOOT,
            )
            .unwrap();
    }
    for check in [
        "[real] guest: realmode: protected mode round trip: ok",
        "[real] guest: realmode: int/iret via ivt: ok",
        "[real] guest: realmode: cpuid: vendor",
        "[mb] guest: multiboot: cmdline: first second=2",
        "[mb] guest: multiboot: loader: Bulkhead",
        "[pvh] guest: pvh: cmdline: pvh says hi",
    ] {
        assert!(
            machine.log().contains(check),
            "missing `{check}`:\n{}",
            machine.log()
        );
    }
    machine
        .expect_any_order("[beat] guest: heartbeat: 30", BOOT)
        .unwrap();
    machine.expect_absent("crashed").unwrap();
    machine.expect_absent("EXCEPTION").unwrap();
}
