//! Tests of the QEMU harness itself, with tiny kernels assembled here instead of a
//! Bulkhead image: they pin what the harness promises (waiting, logs in errors, halt and
//! exit detection) and the platform facts the real tests rely on (Multiboot forms that
//! QEMU and iPXE load, SVM with nested paging under TCG, TFTP with `restrict=on`).

#[path = "harness/tiny_kernel.rs"]
mod tiny_kernel;

use std::fs;
use std::path::Path;
use std::time::Duration;

use bulkhead_qemu_tests::{HarnessError, Nic, Qemu, TempPath, debug_exit_code, timeout};
use tiny_kernel::{Code, CpuidRegister, Form, multiboot};

/// A wait that is meant to run out: short, since nothing will ever arrive.
const HOPELESS: Duration = Duration::from_secs(2);

/// Writes a kernel to a temporary file.
fn kernel_file(code: &Code, form: Form) -> TempPath {
    let file = tempfile::Builder::new()
        .prefix("tiny-kernel-")
        .tempfile()
        .expect("temporary kernel file")
        .into_temp_path();
    fs::write(&file, multiboot(code, form)).expect("write kernel");
    file
}

fn hello() -> Code {
    Code::new().print("HELLO\n").halt()
}

/// `expect` returns the line that holds the text, and the log holds every line.
#[test]
fn expect_finds_a_serial_line() {
    let kernel = kernel_file(&hello(), Form::AoutKludge);
    let mut machine = Qemu::kernel(&kernel).start().unwrap();
    assert_eq!(machine.expect("HELL", timeout::BOOT).unwrap(), "HELLO");
    assert_eq!(machine.log(), "HELLO\n");
    machine.expect_absent("PANIC").unwrap();
}

/// A line that never comes ends in a timeout whose message, in `Display` and in the
/// `Debug` that `unwrap` prints, names what was awaited and holds the command line and
/// the whole serial log; a line that did come fails `expect_absent` the same way.
#[test]
fn a_missing_line_times_out_with_the_whole_log() {
    let kernel = kernel_file(&hello(), Form::AoutKludge);
    let mut machine = Qemu::kernel(&kernel).start().unwrap();
    machine.expect("HELLO", timeout::BOOT).unwrap();

    let err = machine.expect("GOODBYE", HOPELESS).unwrap_err();
    assert!(matches!(err, HarnessError::Timeout { .. }), "{err}");
    for text in [&err.to_string(), &format!("{err:?}")] {
        assert!(text.contains("\"GOODBYE\""), "{text}");
        assert!(text.contains("-no-reboot"), "{text}");
        assert!(text.contains("serial log (1 lines)"), "{text}");
        assert!(text.contains("\nHELLO\n"), "{text}");
    }

    let err = machine.expect_absent("ELL").unwrap_err();
    assert!(matches!(err, HarnessError::Present { .. }), "{err}");
    assert!(err.to_string().contains("\nHELLO\n"), "{err}");
}

/// `expect_regex` returns the captures, and each `expect` starts after the previous match,
/// so a line already passed is not found again.
#[test]
fn expect_regex_captures_and_expect_reads_in_order() {
    let code = Code::new().print("first\nanswer=42 end\nlast\n").halt();
    let kernel = kernel_file(&code, Form::AoutKludge);
    let mut machine = Qemu::kernel(&kernel).start().unwrap();

    let captures = machine
        .expect_regex(r"answer=(\d+)( nope)?", timeout::BOOT)
        .unwrap();
    assert_eq!(captures, ["answer=42", "42", ""]);
    machine.expect("last", timeout::STEP).unwrap();
    let err = machine.expect("first", HOPELESS).unwrap_err();
    assert!(matches!(err, HarnessError::Timeout { .. }), "{err}");

    let err = machine.expect_regex("(", HOPELESS).unwrap_err();
    assert!(matches!(err, HarnessError::Regex { .. }), "{err}");
}

/// A kernel that stops with `cli; hlt` is seen halted, and QEMU keeps running.
#[test]
fn wait_halted_sees_a_halted_machine() {
    let kernel = kernel_file(&hello(), Form::AoutKludge);
    let mut machine = Qemu::kernel(&kernel).smp(2).start().unwrap();
    machine.expect("HELLO", timeout::BOOT).unwrap();
    machine.wait_halted(timeout::HALT).unwrap();
    let err = machine.wait_exit(HOPELESS).unwrap_err();
    assert!(matches!(err, HarnessError::Timeout { .. }), "{err}");
}

/// A kernel that keeps running is not halted: `wait_halted` runs out of time and says
/// what each vCPU was doing.
#[test]
fn wait_halted_times_out_on_a_running_machine() {
    let code = Code::new().print("SPINNING\n").spin();
    let kernel = kernel_file(&code, Form::AoutKludge);
    let mut machine = Qemu::kernel(&kernel).start().unwrap();
    machine.expect("SPINNING", timeout::BOOT).unwrap();
    let err = machine.wait_halted(HOPELESS).unwrap_err();
    assert!(matches!(err, HarnessError::Timeout { .. }), "{err}");
    assert!(err.to_string().contains("CPU#0: EIP="), "{err}");
    assert!(err.to_string().contains(" HLT=0"), "{err}");
}

/// A triple fault resets the machine, which `-no-reboot` turns into QEMU's exit: so
/// `wait_halted` fails instead of waiting, and output without a final newline is still
/// matched once QEMU is gone.
#[test]
fn a_triple_fault_ends_qemu_and_is_not_a_halt() {
    let code = Code::new().print("FAULTING").triple_fault().halt();
    let kernel = kernel_file(&code, Form::AoutKludge);
    let mut machine = Qemu::kernel(&kernel).start().unwrap();
    machine.expect("FAULTING", timeout::BOOT).unwrap();

    let err = machine.wait_halted(timeout::HALT).unwrap_err();
    assert!(matches!(err, HarnessError::Exited { .. }), "{err}");
    assert!(err.to_string().contains("\nFAULTING\n"), "{err}");
    assert!(machine.wait_exit(timeout::EXIT).unwrap().success());
}

/// A byte written to the debug-exit port comes back from `debug_exit_code`.
#[test]
fn debug_exit_reports_the_written_byte() {
    let code = Code::new().print("EXITING\n").debug_exit(0x21).halt();
    let kernel = kernel_file(&code, Form::AoutKludge);
    let mut machine = Qemu::kernel(&kernel).debug_exit().start().unwrap();
    machine.expect("EXITING", timeout::BOOT).unwrap();
    let status = machine.wait_exit(timeout::EXIT).unwrap();
    assert_eq!(debug_exit_code(status), Some(0x21), "{status}");
}

/// The default CPU model offers SVM (CPUID 8000_0001h:ECX bit 2) and nested paging
/// (CPUID 8000_000Ah:EDX bit 0) under TCG.
#[test]
fn the_default_cpu_offers_svm_with_nested_paging() {
    let code = Code::new()
        .print("START\n")
        .print_if_cpuid(0x8000_0001, CpuidRegister::Ecx, 2, "SVM\n")
        .print_if_cpuid(0x8000_000a, CpuidRegister::Edx, 0, "NPT\n")
        .print("END\n")
        .halt();
    let kernel = kernel_file(&code, Form::AoutKludge);
    let mut machine = Qemu::kernel(&kernel).start().unwrap();
    machine.expect("END", timeout::BOOT).unwrap();
    assert_eq!(machine.log(), "START\nSVM\nNPT\nEND\n");
}

/// QEMU's `-kernel` loads every Multiboot form, the real image's among them, and passes
/// `-append` as the command line.
#[test]
fn kernel_boots_every_multiboot_form_with_its_command_line() {
    let code = Code::new().print("HELLO\n").print_cmdline().halt();
    for form in Form::ALL {
        let kernel = kernel_file(&code, form);
        let mut machine = Qemu::kernel(&kernel).append("answer=42").start().unwrap();
        machine.expect("HELLO", timeout::BOOT).unwrap();
        let cmdline = machine.expect("answer=", timeout::STEP).unwrap();
        assert!(cmdline.ends_with(" answer=42"), "{form:?}: {cmdline}");
    }
}

/// Boots each Multiboot form over TFTP with `nic`: iPXE loads them all.
fn pxe_boots_every_form(nic: Nic) {
    for form in Form::ALL {
        let tftp = tempfile::tempdir().unwrap();
        fs::write(tftp.path().join("kernel.img"), multiboot(&hello(), form)).unwrap();
        let mut machine = Qemu::pxe(tftp.path(), "kernel.img", nic).start().unwrap();
        machine
            .expect("HELLO", timeout::PXE_BOOT)
            .unwrap_or_else(|err| panic!("{form:?} over {nic:?}: {err}"));
    }
}

/// iPXE in virtio-net's option ROM fetches a kernel over TFTP from QEMU's restricted user
/// network and boots it.
#[test]
fn pxe_over_virtio_net_boots_every_form() {
    pxe_boots_every_form(Nic::VirtioNet);
}

/// As over virtio-net, with the e1000's option ROM.
#[test]
fn pxe_over_e1000_boots_every_form() {
    pxe_boots_every_form(Nic::E1000);
}

/// A PXE boot with a command line goes through the generated iPXE script and the kernel
/// receives it; the original TFTP directory is left as it was.
#[test]
fn pxe_passes_the_command_line_through_ipxe() {
    let tftp = tempfile::tempdir().unwrap();
    let code = Code::new().print("HELLO\n").print_cmdline().halt();
    fs::write(
        tftp.path().join("kernel.img"),
        multiboot(&code, Form::Elf32WithKludge),
    )
    .unwrap();
    let mut machine = Qemu::pxe(tftp.path(), "kernel.img", Nic::VirtioNet)
        .append("answer=42 console=ttyS0")
        .start()
        .unwrap();
    machine.expect("HELLO", timeout::PXE_BOOT).unwrap();
    let cmdline = machine.expect("answer=", timeout::STEP).unwrap();
    assert!(cmdline.ends_with(" answer=42 console=ttyS0"), "{cmdline}");
    assert_eq!(dir_entries(tftp.path()), ["kernel.img"]);
}

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
