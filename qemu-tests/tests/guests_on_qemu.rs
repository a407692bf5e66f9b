//! The test guests of `guests/` on bare QEMU, with no hypervisor: each boots through the
//! protocol it is written for and prints what `guests/README.md` says it prints. This
//! pins the guests themselves, so that when one misbehaves inside a partition the fault
//! is known to be the hypervisor's.
//!
//! The guests are built once per run by `guests/build.sh` into this test binary's
//! scratch directory; the test needs `as`, `ld` and `objcopy`, nothing else.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use bulkhead_qemu_tests::{DEFAULT_MEMORY_MIB, Machine, Qemu, debug_exit_code, timeout};

/// The byte a guest writes to the debug-exit port when it passes.
const PASS: u8 = 0x10;
/// The byte a guest writes to the debug-exit port when it fails.
const FAIL: u8 = 0x11;

/// The directory holding the built guests; builds them on first use.
fn guest_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("guests");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("guests/build.sh");
        let output = Command::new("bash")
            .arg(&script)
            .arg(&out)
            .output()
            .unwrap_or_else(|err| panic!("cannot run {}: {err}", script.display()));
        assert!(
            output.status.success(),
            "{} {} failed ({}):\n{}{}",
            script.display(),
            out.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
        out
    })
}

fn guest(file: &str) -> PathBuf {
    guest_dir().join(file)
}

/// Boots a Multiboot or PVH guest with QEMU's `-kernel`, with `cmdline` if not empty.
fn boot(file: &str, cmdline: &str) -> Machine {
    let mut qemu = Qemu::kernel(guest(file)).debug_exit();
    if !cmdline.is_empty() {
        qemu = qemu.append(cmdline);
    }
    qemu.start().unwrap()
}

/// Waits for QEMU to exit and checks that the guest wrote `code` to the debug-exit port.
fn expect_exit_code(machine: &mut Machine, code: u8) {
    let status = machine.wait_exit(timeout::EXIT).unwrap();
    assert_eq!(
        debug_exit_code(status),
        Some(code),
        "QEMU {status}; command line:\n  {}\nserial log:\n{}",
        machine.command_line(),
        machine.log()
    );
}

/// Waits for `guest: NAME: PASS` and the matching exit code.
fn expect_pass(machine: &mut Machine, name: &str) {
    machine
        .expect(&format!("guest: {name}: PASS"), timeout::STEP)
        .unwrap();
    expect_exit_code(machine, PASS);
    machine.expect_absent("FAIL").unwrap();
}

/// Parses a decimal or `0x` hexadecimal number a guest printed.
fn number(text: &str) -> u64 {
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    }
    .unwrap_or_else(|err| panic!("{text:?} is not a number: {err}"))
}

/// The real-mode guest runs from the reset vector with no firmware at all (`-bios`
/// replaces SeaBIOS) and passes every check, in order.
///
/// The harness always passes `-kernel`; with our own `-bios` nothing ever runs the
/// option ROM that would boot it, so any valid kernel does as a placeholder.
#[test]
fn realmode_guest_passes_every_check_without_firmware() {
    let bios = guest("realmode.bin");
    let bios = bios.to_str().expect("guest path is UTF-8");
    let mut machine = Qemu::kernel(guest("multiboot.elf"))
        .arg("-bios")
        .arg(bios)
        .debug_exit()
        .start()
        .unwrap();
    machine
        .expect(
            "guest: realmode: start at cs=0xf000, no BIOS",
            timeout::BOOT,
        )
        .unwrap();
    for check in [
        "stack",
        "protected mode round trip",
        "unreal fs beyond 64 KiB",
        "far jmp/call/ret",
        "lds/les/lfs/lgs/lss",
        "string ops",
        "push/pop segment registers",
        "66/67 prefixes",
        "int/iret via ivt",
        "pushf/popf",
    ] {
        machine
            .expect(&format!("guest: realmode: {check}: ok"), timeout::STEP)
            .unwrap();
    }
    machine
        .expect(
            "guest: realmode: cpuid: vendor AuthenticAMD ok",
            timeout::STEP,
        )
        .unwrap();
    expect_pass(&mut machine, "realmode");
}

/// The Multiboot guest sees the magic, QEMU's memory information and memory map, the
/// command line after the kernel's name, and the loader's name.
#[test]
fn multiboot_guest_prints_its_boot_information() {
    let mut machine = boot("multiboot.elf", "first second=2");
    machine
        .expect("guest: multiboot: magic 0x2badb002", timeout::BOOT)
        .unwrap();
    let flags = machine
        .expect_regex(
            r"^guest: multiboot: info at 0x[0-9a-f]{8} flags (0x[0-9a-f]{8})$",
            timeout::STEP,
        )
        .unwrap();
    let flags = number(&flags[1]);
    for (bit, what) in [
        (0, "mem_*"),
        (2, "cmdline"),
        (6, "mmap"),
        (9, "loader name"),
    ] {
        assert_ne!(
            flags & (1 << bit),
            0,
            "flag {bit} ({what}) is clear:\n{}",
            machine.log()
        );
    }
    let memory = machine
        .expect_regex(
            r"^guest: multiboot: mem_lower (\d+) KiB mem_upper (\d+) KiB$",
            timeout::STEP,
        )
        .unwrap();
    assert_eq!(number(&memory[1]), 639, "{}", machine.log());
    let ram_kib = u64::from(DEFAULT_MEMORY_MIB) * 1024;
    let upper = number(&memory[2]);
    assert!(
        (ram_kib - 2048..ram_kib - 1024).contains(&upper),
        "mem_upper {upper} KiB does not fit {DEFAULT_MEMORY_MIB} MiB of RAM:\n{}",
        machine.log()
    );
    let mmap = r"^guest: multiboot: mmap base (0x[0-9a-f]{16}) length (0x[0-9a-f]{16}) type (\d+)$";
    let first = machine.expect_regex(mmap, timeout::STEP).unwrap();
    assert_eq!(
        (number(&first[1]), number(&first[3])),
        (0, 1),
        "the first entry is not the RAM at 0:\n{}",
        machine.log()
    );
    machine
        .expect_regex(
            r"^guest: multiboot: mmap base 0x0000000000100000 length 0x[0-9a-f]{16} type 1$",
            timeout::STEP,
        )
        .unwrap();
    machine
        .expect_regex(
            r"^guest: multiboot: cmdline: \S*multiboot\.elf first second=2$",
            timeout::STEP,
        )
        .unwrap();
    machine
        .expect("guest: multiboot: loader: qemu", timeout::STEP)
        .unwrap();
    expect_pass(&mut machine, "multiboot");
}

/// QEMU boots the PVH guest from its Xen note alone; the guest finds the start info's
/// magic, version 1, the command line exactly as given, an RSDP, and a memory map whose
/// entry count matches the entries it lists.
#[test]
fn pvh_guest_reads_its_start_info() {
    let mut machine = boot("pvh.elf", "console=ttyS0 pvh-test");
    machine
        .expect_regex(
            r"^guest: pvh: start_info at 0x[0-9a-f]{8} magic 0x336ec578$",
            timeout::BOOT,
        )
        .unwrap();
    machine
        .expect_regex(
            r"^guest: pvh: version 1 flags 0x[0-9a-f]{8} modules 0$",
            timeout::STEP,
        )
        .unwrap();
    machine
        .expect("guest: pvh: cmdline: console=ttyS0 pvh-test", timeout::STEP)
        .unwrap();
    let rsdp = machine
        .expect_regex(r"^guest: pvh: rsdp (0x[0-9a-f]{16})$", timeout::STEP)
        .unwrap();
    assert_ne!(number(&rsdp[1]), 0, "no RSDP:\n{}", machine.log());
    let entries = machine
        .expect_regex(r"^guest: pvh: memmap entries (\d+)$", timeout::STEP)
        .unwrap();
    let entries = number(&entries[1]);
    assert!(
        entries >= 2,
        "{entries} memory map entries:\n{}",
        machine.log()
    );
    let mut ram_at_1mib = false;
    for _ in 0..entries {
        let entry = machine
            .expect_regex(
                r"^guest: pvh: memmap addr (0x[0-9a-f]{16}) size 0x[0-9a-f]{16} type (\d+)$",
                timeout::STEP,
            )
            .unwrap();
        ram_at_1mib |= number(&entry[1]) == 0x10_0000 && number(&entry[2]) == 1;
    }
    assert!(ram_at_1mib, "no RAM entry at 1 MiB:\n{}", machine.log());
    expect_pass(&mut machine, "pvh");
}

/// The heartbeat counts up by one per line, for as long as anyone watches (here: five
/// lines); it is paced by the PIT alone and never exits.
#[test]
fn heartbeat_guest_counts_up() {
    let mut machine = boot("heartbeat.elf", "");
    machine
        .expect("guest: heartbeat: PIT channel 0 mode 2", timeout::BOOT)
        .unwrap();
    for expected in 1..=5 {
        let line = machine
            .expect_regex(r"^guest: heartbeat: (\d+)$", timeout::STEP)
            .unwrap();
        assert_eq!(number(&line[1]), expected, "{}", machine.log());
    }
    machine.expect_absent("PASS").unwrap();
    machine.expect_absent("FAIL").unwrap();
}

/// On bare QEMU (TCG, `qemu64,+svm`), CPUID shows an AMD CPU with SVM and TCG's own
/// hypervisor bit and signature, and the MTRR and PAT MSRs read as a BIOS left them;
/// expectations that match all that pass.
#[test]
fn cpuid_msr_guest_meets_bare_qemu_expectations() {
    let mut machine = boot(
        "cpuid_msr.elf",
        "expect-hypervisor=1 expect-svm=1 expect-ok-msr=0xfe expect-ok-msr=0x2ff \
         expect-ok-msr=0x277",
    );
    machine
        .expect(
            "guest: cpuid_msr: cpuid 0x00000000: max 0x0000000d vendor AuthenticAMD",
            timeout::BOOT,
        )
        .unwrap();
    machine
        .expect_regex(
            r"^guest: cpuid_msr: cpuid 0x00000001: eax 0x[0-9a-f]{8} ecx 0x[89a-f][0-9a-f]{7} edx 0x[0-9a-f]{8} hypervisor 1$",
            timeout::STEP,
        )
        .unwrap();
    machine
        .expect(
            "guest: cpuid_msr: cpuid 0x40000000: eax 0x40000001 signature TCGTCGTCGTCG",
            timeout::STEP,
        )
        .unwrap();
    machine
        .expect_regex(
            r"^guest: cpuid_msr: cpuid 0x80000001: ecx 0x[0-9a-f]{8} edx 0x[0-9a-f]{8} svm 1$",
            timeout::STEP,
        )
        .unwrap();
    for line in [
        "guest: cpuid_msr: msr 0x000000fe MTRRcap: 0x0000000000000508",
        "guest: cpuid_msr: msr 0x000002ff MTRRdefType: 0x0000000000000c06",
        "guest: cpuid_msr: msr 0x00000277 PAT: 0x0007040600070406",
        "guest: cpuid_msr: expect hypervisor 1: ok",
        "guest: cpuid_msr: expect svm 1: ok",
        "guest: cpuid_msr: expect no fault from rdmsr 0x000000fe: read 0x0000000000000508 ok",
        "guest: cpuid_msr: expect no fault from rdmsr 0x000002ff: read 0x0000000000000c06 ok",
        "guest: cpuid_msr: expect no fault from rdmsr 0x00000277: read 0x0007040600070406 ok",
    ] {
        machine.expect(line, timeout::STEP).unwrap();
    }
    expect_pass(&mut machine, "cpuid_msr");
    machine.expect_absent("MISMATCH").unwrap();
}

/// An expectation that does not hold is reported on its own line and fails the guest.
/// TCG lets any RDMSR through (unknown MSRs read as 0), so on bare QEMU "VM_CR faults"
/// is one that does not hold.
#[test]
fn cpuid_msr_guest_fails_on_an_unmet_expectation() {
    let mut machine = boot("cpuid_msr.elf", "expect-svm=0 expect-gp-msr=0xc0010114");
    machine
        .expect("guest: cpuid_msr: expect svm 0: MISMATCH", timeout::BOOT)
        .unwrap();
    machine
        .expect(
            "guest: cpuid_msr: expect #GP from rdmsr 0xc0010114: read 0x0000000000000000 MISMATCH",
            timeout::STEP,
        )
        .unwrap();
    machine
        .expect("guest: cpuid_msr: FAIL expectations not met", timeout::STEP)
        .unwrap();
    expect_exit_code(&mut machine, FAIL);
}

/// Boots the attack guest with `cmdline` and waits for the announcement of `attack`.
fn attack(cmdline: &str, attack: &str) -> Machine {
    let mut machine = boot("attack.elf", cmdline);
    machine
        .expect(&format!("guest: attack: {attack}: "), timeout::BOOT)
        .unwrap();
    machine
}

/// With EFER.SVME clear, every SVM instruction raises #UD, and the guest resumes after
/// each one and reports all eight.
#[test]
fn svm_instructions_raise_ud_on_bare_qemu() {
    let mut machine = attack("attack=svm-insns", "svm-insns");
    for insn in [
        "vmrun", "vmmcall", "vmload", "vmsave", "stgi", "clgi", "skinit", "invlpga",
    ] {
        machine
            .expect(
                &format!("guest: attack: svm-insns: {insn}: #UD"),
                timeout::STEP,
            )
            .unwrap();
    }
    expect_pass(&mut machine, "attack");
    machine.expect_absent("no fault").unwrap();
}

/// Ten thousand #UD and ten thousand #GP in a row are each delivered through the
/// guest's IDT and resumed.
#[test]
fn exception_storms_are_survived() {
    for (name, vector) in [("ud-storm", "#UD"), ("gp-storm", "#GP")] {
        let mut machine = attack(&format!("attack={name}"), name);
        machine
            .expect(
                &format!("guest: attack: {name}: 10000 {vector}"),
                timeout::STEP,
            )
            .unwrap();
        expect_pass(&mut machine, "attack");
    }
}

/// A triple fault ends QEMU (`-no-reboot`) with no verdict from the guest.
#[test]
fn triple_fault_ends_the_machine() {
    let mut machine = attack("attack=triple-fault", "triple-fault");
    let status = machine.wait_exit(timeout::EXIT).unwrap();
    assert_eq!(debug_exit_code(status), None, "{status}\n{}", machine.log());
    machine.expect_absent("PASS").unwrap();
    machine.expect_absent("FAIL").unwrap();
}

/// Past the end of RAM, in the PC's unassigned address space, QEMU reads 0 and drops
/// writes; the guest reports both and lives on.
#[test]
fn memory_past_ram_reads_zero_and_drops_writes() {
    let past_ram = 0x2000_0000;
    assert!(u64::from(DEFAULT_MEMORY_MIB) << 20 <= past_ram);
    let mut machine = attack(
        &format!("attack=read-past-ram addr={past_ram:#x}"),
        "read-past-ram",
    );
    machine
        .expect(
            "guest: attack: read-past-ram: read 0x00000000",
            timeout::STEP,
        )
        .unwrap();
    expect_pass(&mut machine, "attack");

    let mut machine = attack(
        &format!("attack=write-past-ram addr={past_ram:#x}"),
        "write-past-ram",
    );
    machine
        .expect(
            "guest: attack: write-past-ram: read back 0x00000000",
            timeout::STEP,
        )
        .unwrap();
    expect_pass(&mut machine, "attack");
}

/// TCG takes every one of the MSR writes (none faults), and each attack reports its
/// writes and read-backs and passes.
#[test]
fn msr_attacks_run_to_the_end() {
    for (name, msr) in [
        ("msr-efer-svme", "0xc0000080"),
        ("msr-hsave", "0xc0010117"),
        ("msr-apicbase", "0x0000001b"),
        ("msr-syscfg", "0xc0010010"),
        ("msr-mtrr", "0x000002ff"),
    ] {
        let mut machine = attack(&format!("attack={name}"), name);
        machine
            .expect(
                &format!("guest: attack: {name}: wrmsr {msr} "),
                timeout::STEP,
            )
            .unwrap();
        machine
            .expect(
                &format!("guest: attack: {name}: wrmsr: no fault"),
                timeout::STEP,
            )
            .unwrap();
        expect_pass(&mut machine, "attack");
    }
}

/// The port sweep survives bare QEMU and lists the PIT's ports among the live ones.
#[test]
fn port_sweep_lists_live_ports() {
    let mut machine = attack("attack=ports", "ports");
    machine
        .expect("guest: attack: ports: live 0x0040-0x0043", timeout::STEP)
        .unwrap();
    let count = machine
        .expect_regex(
            r"^guest: attack: ports: (\d+) ports read other than 0xff$",
            timeout::STEP,
        )
        .unwrap();
    assert!(number(&count[1]) > 4, "{}", machine.log());
    expect_pass(&mut machine, "attack");
}

/// Without a known attack on the command line the guest fails at once.
#[test]
fn attack_guest_refuses_an_unknown_attack() {
    let mut machine = boot("attack.elf", "attack=nonsense");
    machine
        .expect("guest: attack: FAIL unknown attack", timeout::BOOT)
        .unwrap();
    expect_exit_code(&mut machine, FAIL);
}

/// Waits for `guest: NAME: CHECK: ok` for every check, in order.
fn expect_checks(machine: &mut Machine, name: &str, checks: &[&str]) {
    for check in checks {
        machine
            .expect(&format!("guest: {name}: {check}: ok"), timeout::STEP)
            .unwrap();
    }
}

/// The 8259 pair on bare QEMU: reprogrammed with four pairs of vector bases while the
/// PIT and the RTC run, IRQ0 at 100 Hz against the TSC, ISR in the handler, masking with
/// IRR latched, poll, auto-EOI, special mask mode, the RTC on an edge-triggered line,
/// the ELCR (IRQ8 edge-only, IRQ4 settable), a level-triggered IRQ4, and IRQ0 while the
/// CPU spins.
#[test]
fn irq_pic_guest_passes_every_check() {
    let mut machine = boot("irq_pic.elf", "");
    machine
        .expect_regex(
            r"^guest: irq_pic: tsc \d+ kHz, calibrated against PIT channel 2$",
            timeout::BOOT,
        )
        .unwrap();
    for bases in ["0x20/0x28", "0x40/0x48", "0xb8/0x70", "0x30/0x38"] {
        machine
            .expect_regex(
                &format!(
                    r"^guest: irq_pic: vector bases {bases}: irq0 \d+, irq8 \d+, at the old bases 0$"
                ),
                timeout::STEP,
            )
            .unwrap();
    }
    expect_checks(
        &mut machine,
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
    for line in [
        "guest: irq_pic: isr in the irq0 handler 0x01, after eoi 0x00",
        ", poll reads 0x80, then isr 0x01, after eoi 0x00",
        "guest: irq_pic: irq8 edge-triggered, register C unread: 1 interrupt(s) in 100 ms; register C 0xc0; next interrupt after reading it: yes",
        "irq8 level written: reads 0x00 at 0x4d1; irq0-2 and 4 level written: reads 0x10",
        "guest: irq_pic: level irq4: 5 deliveries until the handler turned IER off; edge irq4: deliveries in 100 ms 1",
    ] {
        assert!(
            machine.log().contains(line),
            "missing `{line}`:\n{}",
            machine.log()
        );
    }
    expect_pass(&mut machine, "irq_pic");
}

/// COM1 in loopback with receive interrupts, the RTC (BCD, binary, seconds advancing,
/// alarm, update-ended interrupt) and SeaBIOS's ACPI tables (an ACPI 1.0 RSDP with an
/// RSDT, good checksums, the MADT, a 24-bit PM timer at 0x608) on bare QEMU.
#[test]
fn uart_rtc_acpi_guest_passes_every_check() {
    let mut machine = boot("uart_rtc_acpi.elf", "");
    machine
        .expect(
            "guest: uart_rtc_acpi: uart loopback: sent 12 bytes, the irq4 handler took 12 in 12 interrupts (iir 0xc4), left for polling 0",
            timeout::BOOT,
        )
        .unwrap();
    expect_checks(
        &mut machine,
        "uart_rtc_acpi",
        &[
            "uart loopback data",
            "uart loopback receive interrupts",
            "rtc time in bcd",
            "rtc time in binary",
            "rtc seconds advance",
            "rtc alarm interrupt",
            "rtc update-ended interrupt",
        ],
    );
    machine
        .expect_regex(
            r"^guest: uart_rtc_acpi: acpi: rsdp at 0x000f[0-9a-f]{4} revision 0 oem BOCHS  rsdt 0x[0-9a-f]{8}$",
            timeout::STEP,
        )
        .unwrap();
    expect_checks(
        &mut machine,
        "uart_rtc_acpi",
        &[
            "acpi rsdp",
            "acpi table checksums",
            "acpi madt",
            "acpi pm timer",
        ],
    );
    for line in [
        "guest: uart_rtc_acpi: uart loopback modem lines: ok",
        "guest: uart_rtc_acpi: madt: override: isa irq 0 -> gsi 2 flags 0x0000",
        "guest: uart_rtc_acpi: pm timer at port 0x0608, bits 24, sci irq 9: ",
    ] {
        assert!(
            machine.log().contains(line),
            "missing `{line}`:\n{}",
            machine.log()
        );
    }
    expect_pass(&mut machine, "uart_rtc_acpi");
}

/// QEMU's own Linux loader takes linux64.bin as a bzImage and enters its 16-bit setup
/// code (it never uses the 64-bit entry, which the partition tests cover): the setup
/// code sees QEMU's loader ID, the command line and the initrd in the header.
#[test]
fn linux64_guest_is_entered_at_its_setup_code_by_qemu() {
    let initrd = Path::new(env!("CARGO_TARGET_TMPDIR")).join("linux64-initrd.txt");
    let contents = b"bulkhead-initrd-marker\nsecond line\n";
    std::fs::write(&initrd, contents).unwrap();
    let mut machine = Qemu::kernel(guest("linux64.bin"))
        .debug_exit()
        .append("console=ttyS0 marker=42")
        .arg("-initrd")
        .arg(initrd.to_str().expect("UTF-8 path"))
        .start()
        .unwrap();
    machine
        .expect("guest: linux64: entered via 16-bit setup", timeout::BOOT)
        .unwrap();
    machine
        .expect(
            "guest: linux64: type_of_loader 0xb0 loadflags 0x81",
            timeout::STEP,
        )
        .unwrap();
    machine
        .expect_regex(
            r"^guest: linux64: cmd_line_ptr 0x[0-9a-f]{8}: console=ttyS0 marker=42$",
            timeout::STEP,
        )
        .unwrap();
    let ramdisk = machine
        .expect_regex(
            r"^guest: linux64: ramdisk_image (0x[0-9a-f]{8}) ramdisk_size (\d+)$",
            timeout::STEP,
        )
        .unwrap();
    assert_ne!(number(&ramdisk[1]), 0, "{}", machine.log());
    assert_eq!(
        number(&ramdisk[2]),
        contents.len() as u64,
        "{}",
        machine.log()
    );
    expect_pass(&mut machine, "linux64");
}
