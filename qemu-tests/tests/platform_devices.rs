//! The platform devices a partition gets, driven by the guests that pin them on bare
//! QEMU (`tests/guests_on_qemu.rs`): the 8259 pair with the PIT, the RTC and COM1 as
//! interrupt sources (`irq_pic`); the local APIC timer and the IOAPIC (`irq_apic`);
//! COM1 in loopback, the RTC and the partition's ACPI tables (`uart_rtc_acpi`); and the
//! Linux 64-bit boot protocol (`linux64`).
//!
//! Each guest runs in its own partition in its own QEMU, so that one guest's failure
//! does not hide another's. Every guest prints `<check>: ok` or `<check>: FAIL <why>`
//! for each of its checks and carries on; a test names every check that did not hold,
//! with the guest's reason, before it looks at the verdict.

use std::path::Path;
use std::time::Duration;

use bulkhead_qemu_tests::{Machine, Qemu, build_deployment};

/// From QEMU's start to the guest's verdict: boot, then a few seconds of guest time.
const RUN: Duration = Duration::from_secs(90);

/// Boots `config` (one partition) on a two-core machine and waits for the guest's
/// verdict line, `[PARTITION] guest: GUEST: PASS` or `... FAIL <what>`.
fn run(config: &str, partition: &str, guest: &str) -> Machine {
    let deployment = build_deployment(config);
    let mut machine = Qemu::kernel(&deployment.image)
        .smp(2)
        .memory_mib(256)
        .start()
        .unwrap();
    machine
        .expect_regex(
            &format!(r"^\[{partition}\] guest: {guest}: (PASS|FAIL .*)$"),
            RUN,
        )
        .unwrap();
    machine
}

/// Every check in `checks` printed `ok`; otherwise fails naming each check that did
/// not, with the line the guest printed for it.
fn assert_checks(machine: &Machine, partition: &str, guest: &str, checks: &[&str]) {
    let log = machine.log();
    let mut failed = Vec::new();
    for check in checks {
        let prefix = format!("[{partition}] guest: {guest}: {check}: ");
        let ok = format!("{prefix}ok");
        let fail = format!("{prefix}FAIL ");
        match log
            .lines()
            .find(|line| *line == ok || line.starts_with(&fail))
        {
            Some(line) if line == ok => {}
            Some(line) => failed.push(format!("  {line}")),
            None => failed.push(format!("  {prefix}(no result printed)")),
        }
    }
    assert!(
        failed.is_empty(),
        "checks that did not hold in partition `{partition}`:\n{}\nserial log:\n{log}",
        failed.join("\n")
    );
}

/// Every line in `lines` is somewhere in the log.
fn assert_lines(machine: &Machine, lines: &[&str]) {
    let log = machine.log();
    for line in lines {
        assert!(log.contains(line), "missing `{line}`:\n{log}");
    }
}

/// Some line of the log matches the regular expression `re` (use `(?m)` for `^`/`$`).
fn assert_matches(machine: &Machine, re: &str) {
    let log = machine.log();
    let regex = regex::Regex::new(re).unwrap();
    assert!(regex.is_match(&log), "nothing matches /{re}/:\n{log}");
}

/// The guest passed and the partition ended through its debug-exit port with 0x10.
fn assert_passed(machine: &mut Machine, partition: &str, guest: &str) {
    assert_lines(machine, &[&format!("[{partition}] guest: {guest}: PASS")]);
    machine
        .expect_any_order(
            &format!("partition {partition} exited through debug-exit: value 0x10 (status 33)"),
            RUN,
        )
        .unwrap();
    machine.expect_absent("crashed").unwrap();
    machine.expect_absent("EXCEPTION").unwrap();
}

const IRQ_PIC: &str = r#"
[hypervisor.network]
nic = "none"

[[partition]]
name = "pic"
cores = [1]
memory = "16 MiB"
[partition.boot]
protocol = "multiboot"
kernel = "{guests}/irq_pic.elf"
[partition.devices]
debug_exit = true
"#;

/// The virtual 8259 pair behaves as QEMU's does in every check of `irq_pic`, including
/// interrupts that reach a vCPU spinning without a single exit.
#[test]
fn pic_pair_with_pit_rtc_and_com1() {
    let mut machine = run(IRQ_PIC, "pic", "irq_pic");
    assert_checks(
        &machine,
        "pic",
        "irq_pic",
        &[
            "reprogram vector bases",
            "irq0 rate",
            "isr in handler",
            "mask irq0",
            "poll",
            "auto-eoi",
            "special mask mode",
            "rtc on an edge-triggered line",
            "elcr",
            "level-triggered irq4 through elcr",
            "irq0 while spinning with pause",
            "irq0 while spinning without exits",
        ],
    );
    assert_matches(
        &machine,
        r"(?m)^\[pic\] guest: irq_pic: vector bases 0xb8/0x70: irq0 \d+, irq8 \d+, at the old bases 0$",
    );
    assert_lines(
        &machine,
        &[
            ", poll reads 0x80, then isr 0x01, after eoi 0x00",
            "irq8 level written: reads 0x00 at 0x4d1; irq0-2 and 4 level written: reads 0x10",
            "[pic] guest: irq_pic: level irq4: 5 deliveries until the handler turned IER off; edge irq4: deliveries in 100 ms 1",
        ],
    );
    assert_passed(&mut machine, "pic", "irq_pic");
}

const IRQ_APIC: &str = r#"
[hypervisor.network]
nic = "none"

[[partition]]
name = "apic"
cores = [1]
memory = "16 MiB"
[partition.boot]
protocol = "multiboot"
kernel = "{guests}/irq_apic.elf"
[partition.devices]
debug_exit = true
[partition.cpuid]
force = ["tsc_deadline_timer"]
"#;

/// The virtual local APIC (timer one-shot, periodic and, with the CPUID bit forced,
/// TSC-deadline) and IOAPIC (the PIT on the MADT's pin 2, the RTC on pin 8, edge and
/// level with remote IRR), with the 8259s masked.
#[test]
fn local_apic_timer_and_ioapic_routing() {
    let mut machine = run(IRQ_APIC, "apic", "irq_apic");
    assert_checks(
        &machine,
        "apic",
        "irq_apic",
        &[
            "local apic",
            "madt",
            "lapic timer one-shot",
            "lapic timer periodic",
            "lapic timer tsc-deadline",
            "ioapic",
            "pit through the ioapic",
            "rtc through the ioapic, edge",
            "rtc through the ioapic, level-triggered, remote irr",
            "nothing through the 8259s",
        ],
    );
    assert_lines(
        &machine,
        &[
            "[apic] guest: irq_apic: cpuid 1: apic 1, tsc-deadline 1",
            "[apic] guest: irq_apic: madt: isa irq 0 -> gsi 2 (override",
            "[apic] guest: irq_apic: pit irq0 -> ioapic pin 2 -> vector 0x50",
            "[apic] guest: irq_apic: remote irr: in the first handler 1, in the third after reading register C 1, after its eoi 0, at the end 0; lapic isr bit in the handler 1, tmr bit 1",
        ],
    );
    assert_passed(&mut machine, "apic", "irq_apic");
}

const UART_RTC_ACPI: &str = r#"
[hypervisor.network]
nic = "none"

[[partition]]
name = "uart"
cores = [1]
memory = "16 MiB"
[partition.boot]
protocol = "multiboot"
kernel = "{guests}/uart_rtc_acpi.elf"
[partition.devices]
debug_exit = true
"#;

/// COM1 in loopback with receive interrupts through IRQ4 (as on QEMU, whose 16550
/// raises its IRQ in loopback), the RTC, and the partition's own ACPI tables at 0xE0000:
/// an ACPI 2.0 RSDP with an XSDT, good checksums, the MADT, and a 32-bit PM timer.
#[test]
fn uart_loopback_rtc_and_acpi_tables() {
    let mut machine = run(UART_RTC_ACPI, "uart", "uart_rtc_acpi");
    assert_checks(
        &machine,
        "uart",
        "uart_rtc_acpi",
        &[
            "uart loopback modem lines",
            "uart loopback data",
            "uart loopback receive interrupts",
            "rtc time in bcd",
            "rtc time in binary",
            "rtc seconds advance",
            "rtc alarm interrupt",
            "rtc update-ended interrupt",
            "acpi rsdp",
            "acpi table checksums",
            "acpi madt",
            "acpi pm timer",
        ],
    );
    assert_lines(
        &machine,
        &[
            "[uart] guest: uart_rtc_acpi: acpi: rsdp at 0x000e0000 revision 2 oem BLKHD  rsdt 0x",
            "[uart] guest: uart_rtc_acpi: acpi: table XSDT at 0x000e",
            "[uart] guest: uart_rtc_acpi: acpi: table FACP at 0x000e",
            "[uart] guest: uart_rtc_acpi: acpi: table APIC at 0x000e",
            "[uart] guest: uart_rtc_acpi: madt: ioapic 0 at 0xfec00000 gsi base 0",
            "[uart] guest: uart_rtc_acpi: pm timer at port 0x0608, bits 32, sci irq 9: ",
        ],
    );
    assert_passed(&mut machine, "uart", "uart_rtc_acpi");
}

/// The `linux` protocol enters linux64.bin at its 64-bit entry with the protocol's
/// state, boot_params with the E820 map, the command line, the initrd and the RSDP.
#[test]
fn linux_boot_protocol_64bit_entry() {
    let initrd = Path::new(env!("CARGO_TARGET_TMPDIR")).join("platform-devices-initrd.txt");
    let contents = "bulkhead-initrd-marker\nsecond line\n";
    std::fs::write(&initrd, contents).unwrap();
    let config = format!(
        r#"
[hypervisor.network]
nic = "none"

[[partition]]
name = "linux"
cores = [1]
memory = "32 MiB"
[partition.boot]
protocol = "linux"
kernel = "{{guests}}/linux64.bin"
cmdline = "console=ttyS0 marker=42"
initrd = "{initrd}"
[partition.devices]
debug_exit = true
"#,
        initrd = initrd.display()
    );
    let mut machine = run(&config, "linux", "linux64");
    assert_checks(
        &machine,
        "linux",
        "linux64",
        &[
            "load address",
            "64-bit entry state",
            "identity map over init_size",
            "boot_params header",
            "e820",
            "command line",
            "initrd",
            "acpi_rsdp_addr",
        ],
    );
    assert_lines(
        &machine,
        &[
            "[linux] guest: linux64: entered at the 64-bit entry 0x0000000001000200, loaded at 0x0000000001000000",
            "[linux] guest: linux64: cs 0x0010 ds 0x0018 es 0x0018 ss 0x0018 rflags 0x0000000000000002",
            "[linux] guest: linux64: boot_params at 0x",
            " type_of_loader 0xff",
            "[linux] guest: linux64: cmdline: console=ttyS0 marker=42",
            "[linux] guest: linux64: initrd begins: bulkhead-initrd-marker",
            "[linux] guest: linux64: acpi_rsdp_addr 0x00000000000e0000",
        ],
    );
    assert_matches(
        &machine,
        &format!(
            r"(?m)^\[linux\] guest: linux64: initrd at 0x[0-9a-f]{{13}}000 size {}$",
            contents.len()
        ),
    );
    assert_passed(&mut machine, "linux", "linux64");
}
