//! `bulkhead pack` and `bulkhead show`, run as a user would, on small synthetic files.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

/// The loader's link address (bulkhead_netboot::layout::LOADER_BASE).
const LOADER_BASE: u64 = 0x10_1000;

/// A minimal x86-64 ET_EXEC ELF64: one PT_LOAD of `code` at `vaddr` with `bss` extra
/// zero bytes, entry at its start.
fn fake_loader(vaddr: u64, code: &[u8], bss: u64) -> Vec<u8> {
    let data_offset = 64 + 56;
    let mut elf = vec![0u8; data_offset];
    elf[..8].copy_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
    elf[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    elf[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    elf[20..24].copy_from_slice(&1u32.to_le_bytes());
    elf[24..32].copy_from_slice(&vaddr.to_le_bytes()); // e_entry
    elf[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
    elf[52..54].copy_from_slice(&64u16.to_le_bytes());
    elf[54..56].copy_from_slice(&56u16.to_le_bytes());
    elf[56..58].copy_from_slice(&1u16.to_le_bytes());
    let ph = 64;
    elf[ph..ph + 4].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
    elf[ph + 4..ph + 8].copy_from_slice(&7u32.to_le_bytes());
    elf[ph + 8..ph + 16].copy_from_slice(&(data_offset as u64).to_le_bytes());
    elf[ph + 16..ph + 24].copy_from_slice(&vaddr.to_le_bytes());
    elf[ph + 24..ph + 32].copy_from_slice(&vaddr.to_le_bytes());
    elf[ph + 32..ph + 40].copy_from_slice(&(code.len() as u64).to_le_bytes());
    elf[ph + 40..ph + 48].copy_from_slice(&(code.len() as u64 + bss).to_le_bytes());
    elf[ph + 48..ph + 56].copy_from_slice(&4096u64.to_le_bytes());
    elf.extend_from_slice(code);
    elf
}

/// A fresh directory for one test under cargo's scratch space.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("pack_show")
        .join(test);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn bulkhead(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bulkhead"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Fails with the whole output, so a failure shows what the command said.
#[track_caller]
fn assert_status(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
    assert!(!stderr(o).contains("panicked"), "{}", stderr(o));
}

fn hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes the inputs of a small deployment into `dir`.
struct Inputs {
    dir: PathBuf,
    core: Vec<u8>,
    kernel: Vec<u8>,
    initrd: Vec<u8>,
}

impl Inputs {
    fn new(dir: PathBuf) -> Inputs {
        let inputs = Inputs {
            core: (0..6000u32).map(|i| (i * 7) as u8).collect(),
            kernel: (0..3000u32).map(|i| (i * 13 + 1) as u8).collect(),
            initrd: b"initramfs".to_vec(),
            dir,
        };
        fs::write(
            inputs.path("loader.elf"),
            fake_loader(LOADER_BASE, &[0xf4; 32], 0x2000),
        )
        .unwrap();
        fs::write(inputs.path("core.elf"), &inputs.core).unwrap();
        fs::write(inputs.path("bzImage"), &inputs.kernel).unwrap();
        fs::write(inputs.path("initrd.cpio"), &inputs.initrd).unwrap();
        inputs
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_owned()
    }

    /// `bulkhead pack` of everything into `bulkhead.img`.
    fn pack(&self) -> Output {
        bulkhead(&[
            "pack",
            "--loader",
            &self.path("loader.elf"),
            "--core",
            &self.path("core.elf"),
            "--entry",
            &format!("kernel:linux={}", self.path("bzImage")),
            "--entry",
            &format!("initrd:linux={}", self.path("initrd.cpio")),
            "-o",
            &self.path("bulkhead.img"),
        ])
    }
}

/// Where the container starts in the packed image: after the loader's 0x20 bytes of
/// code and 0x2000 bytes of bss at 0x1000, rounded up to a page.
const CONTAINER_OFFSET: usize = 0x4000;

/// Pack prints every entry with its size and digest prefix and the image size; show
/// then verifies the image and prints the full digests.
#[test]
fn pack_then_show() {
    let inputs = Inputs::new(scratch("pack_then_show"));
    let packed = inputs.pack();
    assert_status(&packed, 0);
    let out = stdout(&packed);
    let image = fs::read(inputs.path("bulkhead.img")).unwrap();
    for (kind, name, data) in [
        ("core", "core", &inputs.core),
        ("kernel", "linux", &inputs.kernel),
        ("initrd", "linux", &inputs.initrd),
    ] {
        let line = out
            .lines()
            .find(|l| l.starts_with(kind))
            .unwrap_or_else(|| panic!("no {kind} row in:\n{out}"));
        let cells: Vec<_> = line.split_whitespace().collect();
        assert_eq!(
            cells,
            [kind, name, &data.len().to_string(), &hex(data)[..16]],
            "{out}"
        );
    }
    assert!(
        out.contains(&format!("{} bytes", image.len())),
        "image size missing:\n{out}"
    );
    assert!(out.contains("at file offset 0x4000"), "{out}");
    assert_eq!(&image[..4], b"\x7fELF");
    assert_eq!(&image[CONTAINER_OFFSET..CONTAINER_OFFSET + 8], b"BULKHEAD");

    let shown = bulkhead(&["show", &inputs.path("bulkhead.img")]);
    assert_status(&shown, 0);
    let out = stdout(&shown);
    assert!(out.contains("bootable image"), "{out}");
    for data in [&inputs.core, &inputs.kernel, &inputs.initrd] {
        assert!(out.contains(&hex(data)), "full digest missing:\n{out}");
    }
    assert!(out.contains("all 3 entries verified"), "{out}");
    assert!(!out.contains("MISMATCH"));
}

/// Show also accepts a bare container, as cut out of an image.
#[test]
fn show_accepts_a_bare_container() {
    let inputs = Inputs::new(scratch("bare_container"));
    assert_status(&inputs.pack(), 0);
    let image = fs::read(inputs.path("bulkhead.img")).unwrap();
    fs::write(inputs.path("container.bin"), &image[CONTAINER_OFFSET..]).unwrap();
    let shown = bulkhead(&["show", &inputs.path("container.bin")]);
    assert_status(&shown, 0);
    assert!(
        stdout(&shown).contains(": container,"),
        "{}",
        stdout(&shown)
    );
    assert!(stdout(&shown).contains("all 3 entries verified"));
}

/// A flipped payload byte: show lists the entries, marks the damaged one, and exits
/// 1 with the checksum message naming it.
#[test]
fn show_refuses_a_corrupted_payload() {
    let inputs = Inputs::new(scratch("corrupted_payload"));
    assert_status(&inputs.pack(), 0);
    let mut image = fs::read(inputs.path("bulkhead.img")).unwrap();
    // The kernel is the second entry: container offset 0x1000 + 0x2000 (core is 6000
    // bytes, two pages).
    image[CONTAINER_OFFSET + 0x3000 + 100] ^= 0x40;
    fs::write(inputs.path("bad.img"), &image).unwrap();
    let shown = bulkhead(&["show", &inputs.path("bad.img")]);
    assert_status(&shown, 1);
    let err = stderr(&shown);
    assert!(
        err.contains("entry 'linux' (kernel): checksum mismatch: expected "),
        "{err}"
    );
    assert!(err.contains(&hex(&inputs.kernel)), "{err}");
    assert!(err.contains("bad.img"), "{err}");
    assert!(stdout(&shown).contains("MISMATCH"));
}

/// A damaged header or table, or a truncated file, is reported as such.
#[test]
fn show_refuses_damaged_and_truncated_images() {
    let inputs = Inputs::new(scratch("damaged"));
    assert_status(&inputs.pack(), 0);
    let image = fs::read(inputs.path("bulkhead.img")).unwrap();

    let cases: [(&str, Vec<u8>, &str); 4] = [
        (
            "header",
            flip(&image, CONTAINER_OFFSET + 0x12),
            "header checksum mismatch: expected ",
        ),
        (
            "table",
            flip(&image, CONTAINER_OFFSET + 0x70),
            "entry table checksum mismatch: expected ",
        ),
        (
            "version",
            flip(&image, CONTAINER_OFFSET + 8),
            "unsupported image format version 0",
        ),
        (
            "truncated",
            image[..image.len() - 1].to_vec(),
            "image truncated: the container needs",
        ),
    ];
    for (name, bytes, message) in cases {
        let path = inputs.path(&format!("{name}.img"));
        fs::write(&path, bytes).unwrap();
        let shown = bulkhead(&["show", &path]);
        assert_status(&shown, 1);
        assert!(
            stderr(&shown).contains(message),
            "{name}: {}",
            stderr(&shown)
        );
    }
}

fn flip(bytes: &[u8], offset: usize) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    bytes[offset] ^= 1;
    bytes
}

/// Files that are not images at all are refused with a message naming the file.
#[test]
fn show_refuses_other_files() {
    let dir = scratch("other_files");
    let path = dir.join("notes.txt");
    fs::write(&path, "not an image").unwrap();
    let shown = bulkhead(&["show", path.to_str().unwrap()]);
    assert_status(&shown, 1);
    assert!(
        stderr(&shown).contains("notes.txt: not a Bulkhead image"),
        "{}",
        stderr(&shown)
    );

    let missing = dir.join("missing.img");
    let shown = bulkhead(&["show", missing.to_str().unwrap()]);
    assert_status(&shown, 1);
    assert!(stderr(&shown).contains("cannot read"), "{}", stderr(&shown));
    assert!(stderr(&shown).contains("missing.img"), "{}", stderr(&shown));
}

/// A bad loader is refused with the loader's name and the reason, and no output file
/// is left behind.
#[test]
fn pack_refuses_a_bad_loader() {
    let inputs = Inputs::new(scratch("bad_loader"));
    fs::write(
        inputs.path("loader.elf"),
        fake_loader(0x20_0000, &[0xf4], 0),
    )
    .unwrap();
    let packed = inputs.pack();
    assert_status(&packed, 1);
    let err = stderr(&packed);
    assert!(
        err.contains("loader.elf: loader's lowest segment is at 0x200000"),
        "{err}"
    );
    assert!(!Path::new(&inputs.path("bulkhead.img")).exists());

    fs::write(inputs.path("loader.elf"), b"#!/bin/sh\n").unwrap();
    let packed = inputs.pack();
    assert_status(&packed, 1);
    assert!(
        stderr(&packed).contains("loader is not an ELF file"),
        "{}",
        stderr(&packed)
    );
}

/// A missing input names the file; a duplicate entry names kind and name.
#[test]
fn pack_refuses_missing_files_and_duplicates() {
    let inputs = Inputs::new(scratch("missing_and_duplicates"));
    let packed = bulkhead(&[
        "pack",
        "--loader",
        &inputs.path("loader.elf"),
        "--core",
        &inputs.path("no-such-core.elf"),
        "-o",
        &inputs.path("out.img"),
    ]);
    assert_status(&packed, 1);
    assert!(
        stderr(&packed).contains("cannot read"),
        "{}",
        stderr(&packed)
    );
    assert!(
        stderr(&packed).contains("no-such-core.elf"),
        "{}",
        stderr(&packed)
    );

    let packed = bulkhead(&[
        "pack",
        "--loader",
        &inputs.path("loader.elf"),
        "--core",
        &inputs.path("core.elf"),
        "--entry",
        &format!("core:core={}", inputs.path("bzImage")),
        "-o",
        &inputs.path("out.img"),
    ]);
    assert_status(&packed, 1);
    assert!(
        stderr(&packed).contains("duplicate entry 'core' (core)"),
        "{}",
        stderr(&packed)
    );
    assert!(!Path::new(&inputs.path("out.img")).exists());
}

/// Malformed `--entry` arguments are usage errors (status 2) that say what is expected.
#[test]
fn pack_refuses_malformed_entry_arguments() {
    let inputs = Inputs::new(scratch("malformed_entries"));
    for (spec, message) in [
        ("kernel-linux=bzImage", "expected KIND:NAME=PATH"),
        (
            "vmlinuz:linux=bzImage",
            "unknown entry kind; expected one of core, partition-table",
        ),
        ("kernel:linux", "expected KIND:NAME=PATH"),
        ("kernel:=bzImage", "the name is empty"),
        ("kernel:linux=", "no file given for entry 'linux'"),
        (
            &format!("module:{}=x", "n".repeat(33)),
            "at most 32 bytes fit",
        ),
    ] {
        let packed = bulkhead(&[
            "pack",
            "--loader",
            &inputs.path("loader.elf"),
            "--core",
            &inputs.path("core.elf"),
            "--entry",
            spec,
            "-o",
            &inputs.path("out.img"),
        ]);
        assert_status(&packed, 2);
        assert!(
            stderr(&packed).contains(message),
            "{spec}: {}",
            stderr(&packed)
        );
    }
}

/// Packing over an existing image replaces it whole.
#[test]
fn pack_replaces_an_existing_image() {
    let inputs = Inputs::new(scratch("replace"));
    fs::write(inputs.path("bulkhead.img"), vec![0xff; 100_000]).unwrap();
    assert_status(&inputs.pack(), 0);
    assert_status(&bulkhead(&["show", &inputs.path("bulkhead.img")]), 0);
    let leftovers: Vec<_> = fs::read_dir(&inputs.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
