//! The compiled form: TOML -> model -> bytes -> model is exact, and a damaged or
//! hand-crafted table is refused with a reason, never decoded into something half-valid.

mod common;

use bulkhead_config::{
    CompiledError, Deployment, FORMAT_VERSION, HEADER_LEN, LoadOptions, MAGIC, crc32, load_with,
};
use common::*;

fn example() -> Deployment {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/default.toml");
    load_with(
        path,
        &LoadOptions {
            check_images: false,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
    .deployment
}

/// A config using every table and most keys.
fn everything() -> Deployment {
    let src = console()
        + r#"
[machine]
cores = 8
memory = "16 GiB"

[hypervisor]
service_core = 7

[hypervisor.network]
nic = "virtio"
address = "10.0.2.15/24"
gateway = "10.0.2.2"

[hypervisor.local_console]
enabled = false

[[partition]]
name = "linux"
cores = [1]
memory = { size = "4 GiB", regions = [{ base = 0, size = "2 GiB" }, { base = "4 GiB", size = "2 GiB" }] }
passthrough_ports = ["0x3f8-0x3ff", 0x80]
msr_allow = [0x10, "0xc0000100-0xc0000102"]
on_crash = { action = "restart", max_restarts = 10, window = "1h" }

[partition.boot]
protocol = "linux"
kernel = "bzImage"
initrd = "initrd.img"
cmdline = "console=ttyS1 quiet"

[partition.devices]
fw_cfg = true
debug_exit = { port = 0x501, size = 2 }

[[partition.devices.uart]]
port = "COM2"

[[partition.devices.uart]]
port = 0x2e8
irq = 5
console = false

[partition.cpuid]
hide = ["avx512f", "0x7:0:ecx:16"]
force = ["invtsc"]

[[partition.cpuid.leaf]]
leaf = 0x16
subleaf = 0
eax = 2000

[[partition]]
name = "rtos"
cores = [2]
memory = "16 MiB"

[partition.boot]
protocol = "multiboot"
kernel = "rtos.elf"
cmdline = "hz=1000"
modules = ["a.bin", { path = "b.bin", cmdline = "fast" }]

[[partition]]
name = "dos"
cores = [3]
memory = "1 MiB"

[partition.boot]
protocol = "realmode"
kernel = "bios.bin"
entry = "0x07c0:0"
load_address = 0x7c00
"#;
    check(&src).unwrap_or_else(|e| panic!("{e}")).deployment
}

/// The example survives the trip through bytes unchanged.
#[test]
fn example_round_trips() {
    let d = example();
    let bytes = d.to_bytes().expect("encodes");
    assert_eq!(Deployment::from_bytes(&bytes).expect("decodes"), d);
}

/// A config using nearly every key survives the trip unchanged, and encoding is
/// deterministic.
#[test]
fn everything_round_trips() {
    let d = everything();
    let bytes = d.to_bytes().expect("encodes");
    assert_eq!(bytes, d.to_bytes().expect("encodes again"));
    assert_eq!(Deployment::from_bytes(&bytes).expect("decodes"), d);
}

/// The header is magic, version, length, CRC, reserved.
#[test]
fn header_layout() {
    let bytes = example().to_bytes().expect("encodes");
    assert_eq!(&bytes[..8], &MAGIC);
    assert_eq!(
        u32::from_le_bytes(bytes[8..12].try_into().expect("4")),
        FORMAT_VERSION
    );
    let len = u32::from_le_bytes(bytes[12..16].try_into().expect("4")) as usize;
    assert_eq!(len, bytes.len() - HEADER_LEN);
    assert_eq!(
        u32::from_le_bytes(bytes[16..20].try_into().expect("4")),
        crc32(&bytes[HEADER_LEN..])
    );
    assert_eq!(&bytes[20..24], &[0; 4]);
}

fn reseal(bytes: &mut [u8]) {
    let crc = crc32(&bytes[HEADER_LEN..]);
    bytes[16..20].copy_from_slice(&crc.to_le_bytes());
}

/// Fewer bytes than a header.
#[test]
fn refuses_truncated_header() {
    let bytes = example().to_bytes().expect("encodes");
    assert!(matches!(
        Deployment::from_bytes(&bytes[..10]),
        Err(CompiledError::TooShort { len: 10 })
    ));
}

/// A payload cut short.
#[test]
fn refuses_truncated_payload() {
    let bytes = example().to_bytes().expect("encodes");
    let cut = &bytes[..bytes.len() - 1];
    assert!(matches!(
        Deployment::from_bytes(cut),
        Err(CompiledError::LengthMismatch { .. })
    ));
}

/// Something that is not a table at all.
#[test]
fn refuses_bad_magic() {
    let mut bytes = example().to_bytes().expect("encodes");
    bytes[0] ^= 0xFF;
    assert!(matches!(
        Deployment::from_bytes(&bytes),
        Err(CompiledError::BadMagic)
    ));
}

/// A table from another version of the format.
#[test]
fn refuses_other_version() {
    let mut bytes = example().to_bytes().expect("encodes");
    bytes[8..12].copy_from_slice(&2u32.to_le_bytes());
    let err = Deployment::from_bytes(&bytes).expect_err("version 2");
    assert!(err.to_string().contains("format version 2"), "{err}");
}

/// One flipped payload bit is caught by the CRC.
#[test]
fn refuses_corruption() {
    let mut bytes = example().to_bytes().expect("encodes");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    assert!(matches!(
        Deployment::from_bytes(&bytes),
        Err(CompiledError::ChecksumMismatch)
    ));
}

/// The reserved word is zero.
#[test]
fn refuses_reserved_bits() {
    let mut bytes = example().to_bytes().expect("encodes");
    bytes[20] = 1;
    assert!(matches!(
        Deployment::from_bytes(&bytes),
        Err(CompiledError::ReservedNotZero)
    ));
}

/// Bytes after the deployment inside a correctly sealed payload.
#[test]
fn refuses_trailing_bytes() {
    let mut bytes = example().to_bytes().expect("encodes");
    bytes.push(0);
    let len = (bytes.len() - HEADER_LEN) as u32;
    bytes[12..16].copy_from_slice(&len.to_le_bytes());
    reseal(&mut bytes);
    assert!(matches!(
        Deployment::from_bytes(&bytes),
        Err(CompiledError::TrailingBytes(1))
    ));
}

/// A hand-crafted table with a correct header but a rule broken inside (one core given
/// to two partitions) is refused with the validation message, never run.
#[test]
fn refuses_hand_crafted_invalid_table() {
    let mut d = example();
    d.partitions[1].cores = d.partitions[0].cores.clone();
    let bytes = d.to_bytes().expect("encodes");
    let err = Deployment::from_bytes(&bytes).expect_err("invalid");
    match &err {
        CompiledError::Invalid(problems) => {
            assert!(problems.iter().any(|p| p.path == "partition[1].cores[0]"
                && p.message.contains("already given to partition `beat`")));
        }
        other => panic!("{other}"),
    }
    assert!(
        err.to_string()
            .contains("partition[1].cores[0]: core 1 is already given"),
        "{err}"
    );
}

/// A payload of garbage with a valid header does not decode.
#[test]
fn refuses_garbage_payload() {
    let payload = [0xFFu8; 16];
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&crc32(&payload).to_le_bytes());
    bytes.extend_from_slice(&[0; 4]);
    bytes.extend_from_slice(&payload);
    assert!(matches!(
        Deployment::from_bytes(&bytes),
        Err(CompiledError::Malformed(_))
    ));
}
