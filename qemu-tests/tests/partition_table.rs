//! The partition table inside the image: built by `bulkhead build`, listed by
//! `bulkhead show`, and checked again by the core at boot against the table's
//! own rules and against the machine it runs on.

// Only the Multiboot builder and the print/halt steps are used here.
#[allow(dead_code)]
#[path = "harness/tiny_kernel.rs"]
mod tiny_kernel;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use bulkhead_config::{LoadOptions, load_str};
use bulkhead_qemu_tests::{Qemu, cli_path};
use tempfile::TempDir;
use tiny_kernel::{Code, Form};

const BOOT: Duration = Duration::from_secs(60);

/// Two Multiboot partitions on cores 1 and 2, 16 MiB each.
const TWO_PARTITIONS: &str = r#"
[hypervisor.network]
nic = "none"

[[partition]]
name = "alpha"
cores = [1]
memory = "16 MiB"
[partition.boot]
protocol = "multiboot"
kernel = "guest.elf"

[[partition]]
name = "beta"
cores = [2]
memory = "16 MiB"
[partition.boot]
protocol = "multiboot"
kernel = "guest.elf"
"#;

/// A directory with a small Multiboot guest and `config` as `deploy.toml`.
fn deployment(config: &str) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let guest = tiny_kernel::multiboot(&Code::new().print("guest").halt(), Form::Elf32);
    std::fs::write(dir.path().join("guest.elf"), guest).unwrap();
    std::fs::write(dir.path().join("deploy.toml"), config).unwrap();
    dir
}

fn bulkhead(args: &[&str]) -> Output {
    Command::new(cli_path()).args(args).output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `bulkhead build` on `dir/deploy.toml`, returning the image's path.
fn build(dir: &Path) -> PathBuf {
    let image = dir.join("deploy.img");
    let config = dir.join("deploy.toml");
    let output = bulkhead(&[
        "build",
        config.to_str().unwrap(),
        "-o",
        image.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "bulkhead build failed:\n{}",
        text(&output)
    );
    image
}

/// The image carries the compiled table and each partition's kernel; `show`
/// lists both, and the core accepts the table on a machine that has the cores.
#[test]
fn a_built_table_is_shown_and_accepted_at_boot() {
    let dir = deployment(TWO_PARTITIONS);
    let image = build(dir.path());
    let shown = bulkhead(&["show", image.to_str().unwrap()]);
    let listing = text(&shown);
    assert!(shown.status.success(), "{listing}");
    for needle in [
        "partition-table  table",
        "kernel           alpha",
        "kernel           beta",
    ] {
        assert!(
            listing.contains(needle),
            "`{needle}` missing from:\n{listing}"
        );
    }
    assert!(
        listing.contains("alpha      1      16 MiB  multiboot"),
        "{listing}"
    );

    let mut machine = Qemu::kernel(&image).smp(3).start().unwrap();
    machine
        .expect("partition table: 2 partition(s)", BOOT)
        .unwrap();
    machine
        .expect_regex(
            r"alpha: cores \[1\], 16 MiB at host 0x[0-9a-f]+, multiboot boot",
            BOOT,
        )
        .unwrap();
    machine
        .expect_regex(
            r"beta: cores \[2\], 16 MiB at host 0x[0-9a-f]+, multiboot boot",
            BOOT,
        )
        .unwrap();
    machine.expect("all 3 cores online", BOOT).unwrap();
    machine.expect_absent("refused").unwrap();
}

/// A core the machine does not have is refused at boot, naming the partition
/// and the key; no other core is started.
#[test]
fn a_missing_core_is_refused_at_boot() {
    let dir = deployment(TWO_PARTITIONS);
    let image = build(dir.path());
    let mut machine = Qemu::kernel(&image).smp(2).start().unwrap();
    machine
        .expect(
            "partition table refused: it does not fit this machine",
            BOOT,
        )
        .unwrap();
    machine
        .expect(
            "partition[1].cores[0]: partition `beta`: core 2 is not on this machine, which has cores 0-1",
            BOOT,
        )
        .unwrap();
    machine
        .expect("no partition was started; halted", BOOT)
        .unwrap();
    machine.expect_absent("core 1 online").unwrap();
}

/// More partition memory than the machine has is refused, naming the key.
#[test]
fn memory_the_machine_lacks_is_refused_at_boot() {
    let config = TWO_PARTITIONS.replacen("memory = \"16 MiB\"", "memory = \"200 MiB\"", 1);
    let dir = deployment(&config);
    let image = build(dir.path());
    let mut machine = Qemu::kernel(&image).smp(3).memory_mib(128).start().unwrap();
    machine.expect("partition table refused", BOOT).unwrap();
    machine
        .expect(
            "partition[0].memory.size: partition `alpha`: 200 MiB does not fit",
            BOOT,
        )
        .unwrap();
    machine
        .expect("no partition was started; halted", BOOT)
        .unwrap();
}

/// Packs the core with `table` as the partition table, bypassing `build`'s checks.
fn image_with_table(dir: &Path, table: &[u8]) -> PathBuf {
    let table_path = dir.join("table.bin");
    std::fs::write(&table_path, table).unwrap();
    let core = cli_path()
        .parent()
        .unwrap()
        .join("../x86_64-unknown-none/release/bulkhead-core");
    let loader = core.with_file_name("bulkhead-loader");
    let image = dir.join("crafted.img");
    let entry = format!("partition-table:table={}", table_path.display());
    let output = bulkhead(&[
        "pack",
        "--loader",
        loader.to_str().unwrap(),
        "--core",
        core.to_str().unwrap(),
        "--entry",
        &entry,
        "-o",
        image.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "bulkhead pack failed:\n{}",
        text(&output)
    );
    image
}

/// A hand-crafted table that is not a table at all is refused before anything runs.
#[test]
fn a_garbage_table_is_refused_at_boot() {
    let dir = tempfile::tempdir().unwrap();
    let image = image_with_table(dir.path(), b"this is not a partition table at all");
    let mut machine = Qemu::kernel(&image).smp(2).start().unwrap();
    let line = machine.expect("partition table refused:", BOOT).unwrap();
    assert!(line.contains("magic"), "{line}");
    machine
        .expect("no partition was started; halted", BOOT)
        .unwrap();
}

/// A well-formed table that breaks the rules (two partitions on one core) is
/// refused at boot with the offending key, even though its checksum is right.
#[test]
fn a_table_breaking_the_rules_is_refused_at_boot() {
    let dir = deployment(TWO_PARTITIONS);
    let options = LoadOptions {
        check_images: false,
    };
    let mut loaded = load_str(TWO_PARTITIONS, dir.path().join("deploy.toml"), &options).unwrap();
    loaded.deployment.partitions[1].cores = vec![1];
    let table = loaded.deployment.to_bytes().unwrap();
    let image = image_with_table(dir.path(), &table);
    let shown = bulkhead(&["show", image.to_str().unwrap()]);
    assert!(
        !shown.status.success(),
        "show accepted a bad table:\n{}",
        text(&shown)
    );
    assert!(
        text(&shown).contains("partition[1].cores[0]"),
        "{}",
        text(&shown)
    );

    let mut machine = Qemu::kernel(&image).smp(3).start().unwrap();
    machine
        .expect(
            "partition table refused: the table breaks the deployment rules",
            BOOT,
        )
        .unwrap();
    machine.expect("  partition[1].cores[0]: ", BOOT).unwrap();
    machine
        .expect("no partition was started; halted", BOOT)
        .unwrap();
}

/// `bulkhead check` reports a bad file with its line and exits 1; `build` refuses it too.
#[test]
fn check_and_build_refuse_a_bad_file() {
    let config = TWO_PARTITIONS.replace("cores = [2]", "cores = [1]");
    let dir = deployment(&config);
    let path = dir.path().join("deploy.toml");
    let checked = bulkhead(&["check", path.to_str().unwrap()]);
    assert_eq!(checked.status.code(), Some(1), "{}", text(&checked));
    let report = text(&checked);
    assert!(report.contains("deploy.toml:"), "{report}");
    assert!(report.contains("core 1"), "{report}");
    let image = dir.path().join("never.img");
    let built = bulkhead(&[
        "build",
        path.to_str().unwrap(),
        "-o",
        image.to_str().unwrap(),
    ]);
    assert_eq!(built.status.code(), Some(1), "{}", text(&built));
    assert!(!image.exists());
}
