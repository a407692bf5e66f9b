//! The foundation: the image boots by `-kernel` and by PXE, every core comes
//! online, memory is reported as the firmware gave it, a damaged image is
//! refused before anything runs, and an exception prints a register dump.

use std::time::Duration;

use bulkhead_netboot::{HEADER_LEN, Image, multiboot};
use bulkhead_qemu_tests::{Nic, Qemu, image_path, temp_copy_with};

/// TCG boots the image in a second or two; the margin is for a loaded machine.
const BOOT: Duration = Duration::from_secs(60);
/// PXE adds iPXE's DHCP and TFTP exchange.
const PXE_BOOT: Duration = Duration::from_secs(120);

/// Boots with `cores` processors and checks that each reports online with its
/// APIC ID and that the closing line lists all of them.
fn boots_with_cores(cores: u32) {
    let mut machine = Qemu::kernel(image_path()).smp(cores).start().unwrap();
    let expected: Vec<String> = (0..cores).map(|id| id.to_string()).collect();
    let closing = format!(
        "all {cores} cores online: apic ids [{}]",
        expected.join(", ")
    );
    machine.expect(&closing, BOOT).unwrap();
    for index in 0..cores {
        let line = format!("[cpu{index}] core {index} online, apic id {index}");
        assert!(
            machine.log().contains(&line),
            "missing `{line}` in:\n{}",
            machine.log()
        );
    }
    machine.expect_absent("EXCEPTION").unwrap();
    machine.expect_absent("WARN").unwrap();
}

/// One processor: only the bootstrap processor, no start-up IPIs.
#[test]
fn boots_on_one_core() {
    boots_with_cores(1);
}

/// Two processors: one application processor through the trampoline.
#[test]
fn boots_on_two_cores() {
    boots_with_cores(2);
}

/// Four processors: the trampoline's parameter block is reused three times.
#[test]
fn boots_on_four_cores() {
    boots_with_cores(4);
}

/// Boots with `mib` of RAM and checks the reported usable total equals the
/// sum of the available ranges the firmware map printed, and lies within the
/// 1 MiB that SeaBIOS keeps for itself (EBDA and its high zone) below `mib`.
fn reports_memory(mib: u64) {
    let mut machine = Qemu::kernel(image_path())
        .memory_mib(mib as u32)
        .start()
        .unwrap();
    let captures = machine
        .expect_regex(r"memory: (\d+) KiB usable RAM in (\d+) ranges", BOOT)
        .unwrap();
    let usable_kib: u64 = captures[1].parse().unwrap();
    let ranges: usize = captures[2].parse().unwrap();
    let log = machine.log();
    let available: Vec<(u64, u64)> = log
        .lines()
        .filter(|line| line.ends_with("] available"))
        .map(|line| {
            let inner = line.split('[').nth(2).unwrap().split(']').next().unwrap();
            let (start, end) = inner.split_once('-').unwrap();
            let parse = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
            (parse(start), parse(end))
        })
        .collect();
    assert_eq!(available.len(), ranges, "{log}");
    let summed: u64 = available.iter().map(|(start, last)| last + 1 - start).sum();
    assert_eq!(summed / 1024, usable_kib, "{log}");
    let configured_kib = mib * 1024;
    assert!(
        usable_kib <= configured_kib && usable_kib >= configured_kib - 1024,
        "{usable_kib} KiB usable with -m {mib}M:\n{log}"
    );
    machine.expect("cores online", BOOT).unwrap();
}

/// `-m 128M`: a small machine.
#[test]
fn reports_memory_with_128m() {
    reports_memory(128);
}

/// `-m 2G`: all of it below the PCI hole on QEMU's `pc` machine.
#[test]
fn reports_memory_with_2g() {
    reports_memory(2048);
}

/// iPXE fetches the image over QEMU's TFTP server and boots it as Multiboot.
fn boots_by_pxe(nic: Nic) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(image_path(), dir.path().join("bulkhead.img")).unwrap();
    let mut machine = Qemu::pxe(dir.path(), "bulkhead.img", nic)
        .smp(2)
        .start()
        .unwrap();
    machine
        .expect("bulkhead loader: image verified", PXE_BOOT)
        .unwrap();
    machine
        .expect("all 2 cores online: apic ids [0, 1]", PXE_BOOT)
        .unwrap();
}

/// PXE over a virtio-net NIC.
#[test]
fn boots_by_pxe_over_virtio_net() {
    boots_by_pxe(Nic::VirtioNet);
}

/// PXE over an Intel e1000 NIC.
#[test]
fn boots_by_pxe_over_e1000() {
    boots_by_pxe(Nic::E1000);
}

/// Where the container sits in the image file, and its parsed layout.
struct ContainerMap {
    start: usize,
    table: std::ops::Range<usize>,
    core: std::ops::Range<usize>,
}

fn container_map(image: &[u8]) -> ContainerMap {
    let range = multiboot::container_range(image).expect("the built image holds a container");
    let container = Image::parse(&image[range.clone()]).unwrap();
    let core = container.first(bulkhead_netboot::EntryKind::Core).unwrap();
    let table_len = container.entry_count() as usize * bulkhead_netboot::ENTRY_LEN;
    ContainerMap {
        start: range.start,
        table: range.start + HEADER_LEN..range.start + HEADER_LEN + table_len,
        core: range.start + core.offset as usize
            ..range.start + core.offset as usize + core.data.len(),
    }
}

/// Boots a damaged copy and checks the loader refuses it with `message`, that
/// the core never starts, and that the machine halts rather than rebooting.
fn refuses(edit: impl FnOnce(&mut Vec<u8>), message: &str) {
    let damaged = temp_copy_with(image_path(), edit);
    let mut machine = Qemu::kernel(&damaged).start().unwrap();
    let line = machine
        .expect("bulkhead loader: IMAGE REFUSED:", BOOT)
        .unwrap();
    assert!(line.contains(message), "expected `{message}` in `{line}`");
    machine.expect("halted; nothing was started", BOOT).unwrap();
    machine.wait_halted(BOOT).unwrap();
    machine.expect_absent("entering it").unwrap();
    machine.expect_absent("bulkhead core").unwrap();
    assert_eq!(
        machine.log().matches("bulkhead loader: starting").count(),
        1,
        "the machine rebooted:\n{}",
        machine.log()
    );
}

/// A file cut off in the middle of the core entry: the missing bytes read as
/// the zeros the Multiboot loader fills in, and the core's digest fails.
#[test]
fn refuses_an_image_truncated_in_the_payload() {
    refuses(
        |bytes| {
            let map = container_map(bytes);
            bytes.truncate(map.core.start + map.core.len() / 2);
        },
        "entry 'core' (core): checksum mismatch: expected ",
    );
}

/// A file cut off inside the container header.
#[test]
fn refuses_an_image_truncated_in_the_header() {
    refuses(
        |bytes| {
            let map = container_map(bytes);
            bytes.truncate(map.start + 0x30);
        },
        "checksum mismatch",
    );
}

/// A flipped bit in the header's total-length field breaks the header digest.
#[test]
fn refuses_a_flipped_byte_in_the_header() {
    refuses(
        |bytes| {
            let map = container_map(bytes);
            bytes[map.start + 0x11] ^= 0x01;
        },
        "header checksum mismatch: expected ",
    );
}

/// A flipped byte in the entry table (inside the core's name) breaks the table digest.
#[test]
fn refuses_a_flipped_byte_in_the_table() {
    refuses(
        |bytes| {
            let map = container_map(bytes);
            bytes[map.table.start + 0x09] ^= 0x20;
        },
        "entry table checksum mismatch: expected ",
    );
}

/// A flipped byte in the middle of the core's data breaks its digest.
#[test]
fn refuses_a_flipped_byte_in_the_payload() {
    refuses(
        |bytes| {
            let map = container_map(bytes);
            let middle = map.core.start + map.core.len() / 2;
            bytes[middle] ^= 0xFF;
        },
        "entry 'core' (core): checksum mismatch: expected ",
    );
}

/// An invalid opcode raised on purpose on the bootstrap processor prints the
/// register dump naming core 0.
#[test]
fn exception_dump_names_the_bootstrap_core() {
    let mut machine = Qemu::kernel(image_path())
        .append("bulkhead.test-fault=ud")
        .start()
        .unwrap();
    machine
        .expect(
            "EXCEPTION #UD invalid opcode (vector 6, error code 0x0) on core 0 (apic id 0)",
            BOOT,
        )
        .unwrap();
    for register in ["rip=0x", "rax=0x", "r15=0x", "cr2=0x"] {
        machine.expect(register, BOOT).unwrap();
    }
    machine
        .expect("core 0 halted after an exception in the hypervisor", BOOT)
        .unwrap();
}

/// A page fault raised on an application processor names that core and
/// reports the faulting address in CR2; the other cores are unaffected.
#[test]
fn exception_dump_names_an_application_core() {
    let mut machine = Qemu::kernel(image_path())
        .smp(4)
        .append("bulkhead.test-fault=pf@2")
        .start()
        .unwrap();
    machine
        .expect(
            "[cpu2] EXCEPTION #PF page fault (vector 14, error code 0x0) on core 2 (apic id 2)",
            BOOT,
        )
        .unwrap();
    machine.expect("cr2=0x00007ffffffff000", BOOT).unwrap();
    machine
        .expect("core 2 halted after an exception in the hypervisor", BOOT)
        .unwrap();
    machine.expect("all 4 cores online", BOOT).unwrap();
}
