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
        // The guest's ACPI tables are in its memory map, as ACPI NVS.
        "[pvh] guest: pvh: memmap addr 0x00000000000e0000 size 0x0000000000001000 type 4",
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

/// Input typed on COM1 reaches the focused partition's UART, Ctrl-] 2 moves
/// the focus to the second partition, and output of both stays apart.
#[test]
fn console_input_follows_the_focus() {
    let deployment = build_deployment(
        r#"
[hypervisor.network]
nic = "none"
[hypervisor.local_console]
input = "left"

[[partition]]
name = "left"
cores = [1]
memory = "16 MiB"
[partition.boot]
protocol = "multiboot"
kernel = "{guests}/echo.elf"
[partition.devices]
debug_exit = true

[[partition]]
name = "right"
cores = [2]
memory = "16 MiB"
[partition.boot]
protocol = "multiboot"
kernel = "{guests}/echo.elf"
[partition.devices]
debug_exit = true
"#,
    );
    let mut machine = Qemu::kernel(&deployment.image).smp(3).start().unwrap();
    machine
        .expect("console: input goes to partition left", BOOT)
        .unwrap();
    machine
        .expect_any_order("[left] guest: echo: ready", BOOT)
        .unwrap();
    machine
        .expect_any_order("[right] guest: echo: ready", BOOT)
        .unwrap();
    machine.send(b"hello left\r");
    machine
        .expect_any_order("[left] guest: echo: got hello left", BOOT)
        .unwrap();
    machine.send(&[0x1D, b'2']);
    machine
        .expect("console: input goes to partition right", BOOT)
        .unwrap();
    machine.send(b"hello right\rquit\r");
    machine
        .expect_any_order("[right] guest: echo: got hello right", BOOT)
        .unwrap();
    machine
        .expect_any_order(
            "partition right exited through debug-exit: value 0x10",
            BOOT,
        )
        .unwrap();
    assert!(
        !machine
            .log()
            .contains("[left] guest: echo: got hello right"),
        "{}",
        machine.log()
    );
    assert!(
        !machine
            .log()
            .contains("[right] guest: echo: got hello left"),
        "{}",
        machine.log()
    );
}

/// The partition's CPUID and MSRs are its own: the hypervisor bit and
/// Bulkhead's signature, no SVM, MTRRs as firmware leaves them (enabled,
/// default write-back), PAT at its reset value, and #GP for the SVM host save
/// area and VM_CR-protected MSRs.
#[test]
fn cpuid_and_msrs_follow_the_partition_policy() {
    let deployment = build_deployment(
        r#"
[hypervisor.network]
nic = "none"

[[partition]]
name = "policy"
cores = [1]
memory = "16 MiB"
[partition.boot]
protocol = "multiboot"
kernel = "{guests}/cpuid_msr.elf"
cmdline = "expect-hypervisor=1 expect-svm=0 expect-ok-msr=0xfe expect-ok-msr=0x2ff expect-ok-msr=0x277 expect-gp-msr=0xc0010117 expect-gp-msr=0x480"
[partition.devices]
debug_exit = true
"#,
    );
    let mut machine = Qemu::kernel(&deployment.image).smp(2).start().unwrap();
    machine
        .expect(
            "[policy] guest: cpuid_msr: cpuid 0x40000000: eax 0x40000010 signature BulkheadHV",
            BOOT,
        )
        .unwrap();
    machine
        .expect_regex(
            r"cpuid 0x80000001: ecx 0x[0-9a-f]{8} edx 0x[0-9a-f]{8} svm 0$",
            BOOT,
        )
        .unwrap();
    machine
        .expect(
            "[policy] guest: cpuid_msr: msr 0x000002ff MTRRdefType: 0x0000000000000c06",
            BOOT,
        )
        .unwrap();
    machine
        .expect(
            "[policy] guest: cpuid_msr: msr 0x00000277 PAT: 0x0007040600070406",
            BOOT,
        )
        .unwrap();
    machine
        .expect("[policy] guest: cpuid_msr: PASS", BOOT)
        .unwrap();
    machine.expect_absent("MISMATCH").unwrap();
}

/// `rep outsb` reaches the partition's console, `rep insw` from an absent
/// port reads all-ones into guest memory, and DF-backwards string output
/// walks memory downwards.
#[test]
fn string_port_io_is_emulated() {
    let deployment = build_deployment(
        r#"
[hypervisor.network]
nic = "none"

[[partition]]
name = "strio"
cores = [1]
memory = "16 MiB"
[partition.boot]
protocol = "multiboot"
kernel = "{guests}/strio.elf"
[partition.devices]
debug_exit = true
"#,
    );
    let mut machine = Qemu::kernel(&deployment.image).smp(2).start().unwrap();
    machine
        .expect("[strio] guest: strio: rep outsb reached the console", BOOT)
        .unwrap();
    machine
        .expect(
            "[strio] guest: strio: rep insw from an absent port read all ones",
            BOOT,
        )
        .unwrap();
    machine
        .expect("[strio] guest: strio: backwards", BOOT)
        .unwrap();
    machine.expect("[strio] guest: strio: PASS", BOOT).unwrap();
}
