//! File checks: guest images must exist, be readable, and match their boot protocol. The
//! images are tiny ones generated here, with valid or deliberately broken headers.

mod common;

use bulkhead_config::ImageInfo;
use common::*;

fn partition(protocol: &str, kernel: &str, extra_boot: &str) -> String {
    console()
        + &format!(
            "[[partition]]\nname = \"a\"\ncores = [1]\nmemory = \"64 MiB\"\n\n[partition.boot]\nprotocol = \"{protocol}\"\nkernel = \"{kernel}\" #<\n{extra_boot}"
        )
}

/// The kernel line of [`partition`]'s output.
const KERNEL_LINE: usize = 10;

/// Valid images of all four protocols load, and the check reports what it found.
#[test]
fn valid_images_of_every_protocol() {
    let f = Fixture::new();
    f.write("bzImage", &bzimage(2048))
        .write("initrd.img", b"initrd")
        .write("mb.bin", &multiboot(64, false))
        .write("mod.bin", b"module")
        .write("vmlinux", &pvh(0x100_0000, true))
        .write("guest.bin", &realmode(512));
    let linux = f
        .load(&partition(
            "linux",
            "bzImage",
            "initrd = \"initrd.img\"\ncmdline = \"console=ttyS0\"\n",
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        matches!(linux.files[0].kernel_info, Some(ImageInfo::Linux(h)) if h.cmdline_size == 2048 && h.version == 0x020F)
    );
    assert_eq!(
        linux.files[0].initrd.as_deref(),
        Some(f.path("initrd.img").as_path())
    );

    let mb = f
        .load(&partition(
            "multiboot",
            "mb.bin",
            "modules = [\"mod.bin\"]\n",
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(mb.files[0].kernel_info, Some(ImageInfo::Multiboot(h)) if h.offset == 64));

    let pvh = f
        .load(&partition("pvh", "vmlinux", ""))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        pvh.files[0].kernel_info,
        Some(ImageInfo::Pvh { entry: 0x100_0000 })
    );

    let rm = f
        .load(&partition("realmode", "guest.bin", "").replace("\"64 MiB\"", "\"1 MiB\""))
        .unwrap_or_else(|e| panic!("{e}"));
    match rm.files[0].kernel_info {
        Some(ImageInfo::RealMode {
            size,
            load_address,
            entry,
        }) => {
            assert_eq!((size, load_address), (512, 0x10_0000 - 512));
            assert_eq!(entry.linear(), 0xFFFF0);
        }
        other => panic!("{other:?}"),
    }
}

/// A kernel that is not there is refused at its line, with the resolved path.
#[test]
fn kernel_missing() {
    let f = Fixture::new();
    let d = expect_at(
        f.load(&partition("linux", "nope/bzImage", "")),
        KERNEL_LINE,
        "cannot read the kernel `nope/bzImage`",
    );
    assert!(
        d.items()[0]
            .message
            .contains(&f.path("nope/bzImage").display().to_string())
    );
}

/// A directory is not a kernel.
#[test]
fn kernel_is_directory() {
    let f = Fixture::new();
    std::fs::create_dir(f.path("dir")).expect("mkdir");
    expect_at(
        f.load(&partition("linux", "dir", "")),
        KERNEL_LINE,
        "it is a directory",
    );
}

/// A "linux" kernel must be a bzImage.
#[test]
fn linux_without_hdrs() {
    let f = Fixture::new();
    f.write("vmlinux", &pvh(0x100_0000, true));
    expect_at(
        f.load(&partition("linux", "vmlinux", "")),
        KERNEL_LINE,
        "no \"HdrS\" signature at offset 0x202",
    );
}

/// Boot protocols older than 2.12 have no 64-bit entry.
#[test]
fn linux_protocol_too_old() {
    let f = Fixture::new();
    let mut img = bzimage(2048);
    img[0x206..0x208].copy_from_slice(&0x0204u16.to_le_bytes());
    f.write("bzImage", &img);
    expect_at(
        f.load(&partition("linux", "bzImage", "")),
        KERNEL_LINE,
        "boot protocol 2.4",
    );
}

/// The command line must fit the kernel's own limit from its setup header.
#[test]
fn linux_cmdline_over_header_limit() {
    let f = Fixture::new();
    f.write("bzImage", &bzimage(64));
    let src = partition(
        "linux",
        "bzImage",
        &format!("cmdline = \"{}\"\n", "x".repeat(100)),
    );
    expect_at(
        f.load(&src),
        KERNEL_LINE + 1,
        "this kernel accepts at most 64",
    );
}

/// A "pvh" kernel must carry the Xen PVH entry note.
#[test]
fn pvh_without_note() {
    let f = Fixture::new();
    f.write("vmlinux", &pvh(0x100_0000, false));
    expect_at(
        f.load(&partition("pvh", "vmlinux", "")),
        KERNEL_LINE,
        "no PVH entry note",
    );
}

/// A "pvh" kernel must be ELF, or a bzImage whose vmlinux `bulkhead build` extracts.
#[test]
fn pvh_not_elf() {
    let f = Fixture::new();
    f.write("kernel.bin", &[0x90; 4096]);
    expect_at(
        f.load(&partition("pvh", "kernel.bin", "")),
        KERNEL_LINE,
        "not an ELF file",
    );
}

/// A bzImage is accepted for "pvh": the build stores the vmlinux inside it.
#[test]
fn pvh_accepts_a_bzimage() {
    let f = Fixture::new();
    f.write("bzImage", &bzimage(2048));
    f.load(&partition("pvh", "bzImage", ""))
        .unwrap_or_else(|d| panic!("{d}"));
}

/// A "multiboot" kernel needs the header.
#[test]
fn multiboot_without_header() {
    let f = Fixture::new();
    f.write("k", &realmode(9000));
    expect_at(
        f.load(&partition("multiboot", "k", "")),
        KERNEL_LINE,
        "no Multiboot header",
    );
}

/// The header's checksum must hold.
#[test]
fn multiboot_bad_checksum() {
    let f = Fixture::new();
    f.write("k", &multiboot(0, true));
    expect_at(
        f.load(&partition("multiboot", "k", "")),
        KERNEL_LINE,
        "bad checksum",
    );
}

/// The header must lie within the first 8 KiB.
#[test]
fn multiboot_header_too_late() {
    let f = Fixture::new();
    f.write("k", &multiboot(8192, false));
    expect_at(
        f.load(&partition("multiboot", "k", "")),
        KERNEL_LINE,
        "in the first 8 KiB",
    );
}

/// A real-mode image must fit below 1 MiB.
#[test]
fn realmode_image_too_big() {
    let f = Fixture::new();
    f.write("big.bin", &realmode(1024 * 1024 + 16));
    let src = partition("realmode", "big.bin", "").replace("\"64 MiB\"", "\"2 MiB\"");
    expect_at(
        f.load(&src),
        KERNEL_LINE,
        "a real-mode image must fit below 1 MiB",
    );
}

/// The entry point must be inside the image.
#[test]
fn realmode_entry_outside_image() {
    let f = Fixture::new();
    f.write("g.bin", &realmode(512));
    let src = partition("realmode", "g.bin", "load_address = 0x7c00\n")
        .replace("\"64 MiB\"", "\"1 MiB\"");
    expect_at(f.load(&src), KERNEL_LINE + 1, "outside the image");
}

/// The image must end by 1 MiB where it is loaded.
#[test]
fn realmode_load_address_too_high() {
    let f = Fixture::new();
    f.write("g.bin", &realmode(0x2000));
    let src = partition("realmode", "g.bin", "load_address = 0xff000\n")
        .replace("\"64 MiB\"", "\"1 MiB\"");
    expect_at(f.load(&src), KERNEL_LINE + 1, "beyond 1 MiB");
}

/// The initrd must be readable.
#[test]
fn initrd_missing() {
    let f = Fixture::new();
    f.write("bzImage", &bzimage(2048));
    expect_at(
        f.load(&partition("linux", "bzImage", "initrd = \"initrd.img\"\n")),
        KERNEL_LINE + 1,
        "cannot read the initrd `initrd.img`",
    );
}

/// Modules must be readable.
#[test]
fn module_missing() {
    let f = Fixture::new();
    f.write("mb.bin", &multiboot(0, false));
    expect_at(
        f.load(&partition(
            "multiboot",
            "mb.bin",
            "modules = [\"gone.bin\"]\n",
        )),
        KERNEL_LINE + 1,
        "cannot read the module `gone.bin`",
    );
}

/// The boot files must fit in the partition's memory.
#[test]
fn boot_files_bigger_than_memory() {
    let f = Fixture::new();
    f.write("bzImage", &bzimage(2048))
        .write("initrd.img", &vec![0u8; 2 * 1024 * 1024]);
    let src = partition("linux", "bzImage", "initrd = \"initrd.img\"\n")
        .replace("\"64 MiB\"", "\"1 MiB\"");
    expect_at(
        f.load(&src),
        6,
        "the boot files take 2.0 MiB but the partition has only 1 MiB",
    );
}

/// A key file holding hex text, and one holding raw bytes, both give the key.
#[test]
fn key_files() {
    let f = Fixture::new();
    f.write("bzImage", &bzimage(2048));
    f.write("hex.key", format!("{KEY}\n").as_bytes());
    f.write("raw.key", &[0xA5; 40]);
    let base = partition("linux", "bzImage", "");
    let hex = base.replace(&format!("key = \"{KEY}\""), "key_file = \"hex.key\"");
    let d = f.load(&hex).unwrap_or_else(|e| panic!("{e}")).deployment;
    assert_eq!(d.hypervisor.console.expect("on").key.as_bytes()[31], 0x1F);
    let raw = base.replace(&format!("key = \"{KEY}\""), "key_file = \"raw.key\"");
    let d = f.load(&raw).unwrap_or_else(|e| panic!("{e}")).deployment;
    assert_eq!(
        d.hypervisor.console.expect("on").key.as_bytes(),
        &[0xA5; 40]
    );
}

/// A short key file is refused at the key_file line.
#[test]
fn key_file_too_short() {
    let f = Fixture::new();
    f.write("bzImage", &bzimage(2048))
        .write("short.key", b"0011");
    let src = partition("linux", "bzImage", "")
        .replace(&format!("key = \"{KEY}\""), "key_file = \"short.key\"");
    expect_at(f.load(&src), 2, "the console key is 2 bytes");
}

/// A config file that is not UTF-8 is refused at the bad byte.
#[test]
fn config_not_utf8() {
    let f = Fixture::new();
    let mut src = console().into_bytes();
    src.extend_from_slice(b"# caf\xE9\n");
    expect_at(f.load_file(&src), 3, "not valid UTF-8");
}

/// A config file that does not exist is one clear problem.
#[test]
fn config_missing() {
    let f = Fixture::new();
    let d = bulkhead_config::load(f.path("absent.toml")).expect_err("absent");
    assert_eq!(d.len(), 1);
    assert!(d.items()[0].message.starts_with("cannot read"), "{d}");
    assert!(d.render().contains("1 problem found"));
}

/// Images are checked for every partition at once.
#[test]
fn every_partition_checked() {
    let f = Fixture::new();
    let src = console()
        + "[[partition]]\nname = \"a\"\ncores = [1]\nmemory = \"64 MiB\"\n[partition.boot]\nprotocol = \"linux\"\nkernel = \"a\"\n"
        + "[[partition]]\nname = \"b\"\ncores = [2]\nmemory = \"64 MiB\"\n[partition.boot]\nprotocol = \"pvh\"\nkernel = \"b\"\n";
    let d = f.load(&src).expect_err("both missing");
    let lines: Vec<usize> = d.items().iter().map(|x| x.line).collect();
    assert_eq!(lines, vec![9, 16], "{d}");
}
