//! The attack suite: partitions that try to reach beyond what the table gives
//! them, each beside a heartbeat partition that must keep beating throughout.
//! Every attack ends as specified: an architectural fault inside the guest
//! (#GP, #UD, all-ones from an absent port) or the partition stopped with one
//! log line naming what it touched, per its crash policy.

use std::time::Duration;

use bulkhead_qemu_tests::{Machine, Qemu, build_deployment};

const BOOT: Duration = Duration::from_secs(120);

const HEARTBEAT: &str = r#"
[hypervisor.network]
nic = "none"

[[partition]]
name = "beat"
cores = [1]
memory = "16 MiB"
[partition.boot]
protocol = "multiboot"
kernel = "{guests}/heartbeat.elf"
"#;

/// One attack partition on `core`, running `attack` (plus `extra` command-line words).
fn attacker(name: &str, core: u32, attack: &str, extra: &str, on_crash: &str) -> String {
    format!(
        r#"
[[partition]]
name = "{name}"
cores = [{core}]
memory = "32 MiB"
on_crash = {on_crash}
[partition.boot]
protocol = "multiboot"
kernel = "{{guests}}/attack.elf"
cmdline = "attack={attack} {extra}"
[partition.devices]
debug_exit = true
"#
    )
}

/// Boots the heartbeat and `attackers` (cores 2..) and waits for the heartbeat to run.
fn boot(attackers: &[String]) -> Machine {
    let config = format!("{HEARTBEAT}{}", attackers.concat());
    let deployment = build_deployment(&config);
    let cores = attackers.len() as u32 + 2;
    let machine = Qemu::kernel(&deployment.image)
        .smp(cores)
        .memory_mib(512)
        .start()
        .unwrap();
    // The image lives in the deployment's directory; QEMU has read it by now, but
    // keep the directory until the machine is done.
    std::mem::forget(deployment);
    machine
}

/// Waits for the heartbeat to pass `count`, proving it kept running.
fn heartbeat_passes(machine: &mut Machine, count: u32) {
    machine
        .expect_any_order(&format!("[beat] guest: heartbeat: {count}"), BOOT)
        .unwrap();
}

/// Reads and writes outside the partition's RAM stop it with a line naming the
/// address; a read at another partition's host address reads its own RAM.
#[test]
fn memory_outside_ram_is_refused() {
    let mut machine = boot(&[
        attacker("reader", 2, "read-past-ram", "addr=0x20000000", "\"halt\""),
        attacker("writer", 3, "write-past-ram", "addr=0x40000000", "\"halt\""),
        attacker("neighbour", 4, "read-past-ram", "addr=0x800000", "\"halt\""),
    ]);
    machine
        .expect_any_order(
            "partition reader crashed: Read of guest-physical 0x20000000, which is neither its RAM nor a device",
            BOOT,
        )
        .unwrap();
    machine
        .expect_any_order(
            "partition writer crashed: Write of guest-physical 0x40000000, which is neither its RAM nor a device",
            BOOT,
        )
        .unwrap();
    machine
        .expect_any_order("partition reader: halted (on_crash = halt)", BOOT)
        .unwrap();
    // 8 MiB is inside the neighbour's own 32 MiB: it reads its own (zeroed) RAM,
    // whatever host memory another partition has there.
    machine
        .expect_any_order(
            "[neighbour] guest: attack: read-past-ram: read 0x00000000",
            BOOT,
        )
        .unwrap();
    machine
        .expect_any_order("[neighbour] guest: attack: PASS", BOOT)
        .unwrap();
    heartbeat_passes(&mut machine, 25);
}

/// Every ungranted port, the physical PIC, PIT and IOAPIC's among them, reads
/// as absent hardware or as the partition's own virtual device.
#[test]
fn ports_reach_only_virtual_devices() {
    let mut machine = boot(&[attacker("ports", 2, "ports", "", "\"halt\"")]);
    machine
        .expect_any_order("[ports] guest: attack: PASS", BOOT)
        .unwrap();
    machine
        .expect_any_order("partition ports exited through debug-exit", BOOT)
        .unwrap();
    heartbeat_passes(&mut machine, 25);
}

/// Writes to EFER.SVME, VM_HSAVE_PA, the APIC base (relocating it), SYSCFG and
/// an MTRR with a reserved type raise #GP inside the guest; valid MTRR writes
/// land in the partition's own emulated MTRRs.
#[test]
fn protected_msrs_raise_gp() {
    let mut machine = boot(&[
        attacker("efer", 2, "msr-efer-svme", "", "\"halt\""),
        attacker("hsave", 3, "msr-hsave", "", "\"halt\""),
        attacker("apicbase", 4, "msr-apicbase", "", "\"halt\""),
        attacker("syscfg", 5, "msr-syscfg", "", "\"halt\""),
        attacker("mtrr", 6, "msr-mtrr", "", "\"halt\""),
    ]);
    for name in ["efer", "hsave", "apicbase", "syscfg", "mtrr"] {
        machine
            .expect_any_order(
                &format!(
                    "[{name}] guest: attack: msr-{}: wrmsr: #GP",
                    if name == "efer" { "efer-svme" } else { name }
                ),
                BOOT,
            )
            .unwrap();
        machine
            .expect_any_order(&format!("[{name}] guest: attack: PASS"), BOOT)
            .unwrap();
    }
    // Each forbidden write is followed, in that partition's own output, by its #GP.
    let log = machine.log();
    for (name, write) in [
        ("efer", "msr-efer-svme: wrmsr 0xc0000080 0x0000000000001000"),
        ("hsave", "msr-hsave: wrmsr 0xc0010117"),
        (
            "apicbase",
            "msr-apicbase: wrmsr 0x0000001b 0x00000000feb00900",
        ),
        ("syscfg", "msr-syscfg: wrmsr 0xc0010010"),
        ("mtrr", "msr-mtrr: wrmsr 0x000002ff 0xffffffffffffffff"),
    ] {
        let prefix = format!("[{name}] guest: attack: ");
        let lines: Vec<&str> = log.lines().filter(|l| l.starts_with(&prefix)).collect();
        let at = lines
            .iter()
            .position(|l| l.contains(write))
            .unwrap_or_else(|| panic!("`{write}` missing:\n{log}"));
        assert!(
            lines[at + 1].contains("#GP at"),
            "no #GP after `{write}`:\n{log}"
        );
    }
    // Valid MTRR writes land in the partition's own emulated MTRRs.
    machine
        .expect_any_order(
            "[mtrr] guest: attack: msr-mtrr: rdmsr 0x00000201: 0x0000000ff0000800",
            BOOT,
        )
        .unwrap();
    heartbeat_passes(&mut machine, 25);
}

/// SVM instructions raise #UD (the guest sees no SVM); VMMCALL is the
/// hypercall, and an unknown call number returns an error in EAX.
#[test]
fn svm_instructions_are_undefined() {
    let mut machine = boot(&[attacker("svm", 2, "svm-insns", "", "\"halt\"")]);
    for insn in [
        "vmrun", "vmload", "vmsave", "stgi", "clgi", "skinit", "invlpga",
    ] {
        machine
            .expect_any_order(
                &format!("[svm] guest: attack: svm-insns: {insn}: #UD"),
                BOOT,
            )
            .unwrap();
    }
    machine
        .expect_any_order(
            "[svm] guest: attack: svm-insns: vmmcall: no fault, eax 0xffffffff",
            BOOT,
        )
        .unwrap();
    machine
        .expect_any_order("[svm] guest: attack: PASS", BOOT)
        .unwrap();
    heartbeat_passes(&mut machine, 25);
}

/// A triple fault is a crash: with `restart` and a limit of 2, the partition
/// restarts twice and is then halted; exception storms and a tight loop with
/// interrupts off stay inside their partitions.
#[test]
fn crashes_storms_and_loops_are_contained() {
    let mut machine = boot(&[
        attacker(
            "triple",
            2,
            "triple-fault",
            "",
            "{ action = \"restart\", max_restarts = 2, window = \"60s\" }",
        ),
        attacker("ud", 3, "ud-storm", "", "\"halt\""),
        attacker("gp", 4, "gp-storm", "", "\"halt\""),
        attacker("spin", 5, "cli-loop", "", "\"halt\""),
    ]);
    machine
        .expect_any_order(
            "partition triple crashed: triple fault (shutdown) at rip",
            BOOT,
        )
        .unwrap();
    machine
        .expect_any_order("partition triple: restarting (2 of 2 within 60 s)", BOOT)
        .unwrap();
    machine
        .expect_any_order(
            "partition triple: halted: 2 restarts within 60 s reached its limit",
            BOOT,
        )
        .unwrap();
    machine
        .expect_any_order("[ud] guest: attack: PASS", BOOT)
        .unwrap();
    machine
        .expect_any_order("[gp] guest: attack: PASS", BOOT)
        .unwrap();
    machine
        .expect_any_order("[spin] guest: attack: cli-loop: cli; jmp .", BOOT)
        .unwrap();
    heartbeat_passes(&mut machine, 40);
    assert_eq!(
        machine.log().matches("partition triple: booting").count(),
        3,
        "{}",
        machine.log()
    );
}
