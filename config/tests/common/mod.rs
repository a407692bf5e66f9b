//! Helpers shared by the integration tests: loading config text, finding the line a test
//! marks, and generating tiny guest images with valid (or deliberately broken) headers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use bulkhead_config::{Diagnostics, LoadOptions, LoadedDeployment, load_str};

/// A valid 32-byte console key in hex.
pub const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// The `[hypervisor.console]` table with [`KEY`], two lines.
pub fn console() -> String {
    format!("[hypervisor.console]\nkey = \"{KEY}\"\n")
}

/// The marker a test puts on the line it expects a problem on.
pub const MARK: &str = "#<";

/// Loads config text without touching guest images.
pub fn check(src: &str) -> Result<LoadedDeployment, Diagnostics> {
    load_str(
        src,
        "test.toml",
        &LoadOptions {
            check_images: false,
        },
    )
}

/// The 1-based line holding [`MARK`].
#[track_caller]
pub fn marker_line(src: &str) -> usize {
    src.lines()
        .position(|l| l.contains(MARK))
        .map(|n| n + 1)
        .expect("the test config marks a line with #<")
}

/// Asserts that `result` failed with a problem on `line` whose message contains `needle`,
/// and returns the diagnostics.
#[track_caller]
pub fn expect_at(
    result: Result<LoadedDeployment, Diagnostics>,
    line: usize,
    needle: &str,
) -> Diagnostics {
    let diags = match result {
        Ok(_) => {
            panic!("expected a problem containing {needle:?} on line {line}, but the config loaded")
        }
        Err(d) => d,
    };
    let hit = diags
        .items()
        .iter()
        .any(|d| d.line == line && d.message.contains(needle));
    assert!(
        hit,
        "expected a problem containing {needle:?} on line {line}; got:\n{}",
        diags.render()
    );
    diags
}

/// Loads `src` (no image checks) and asserts a problem containing `needle` on the marked
/// line.
#[track_caller]
pub fn expect(src: &str, needle: &str) -> Diagnostics {
    expect_at(check(src), marker_line(src), needle)
}

/// As [`expect`], and the problem is the only one.
#[track_caller]
pub fn expect_only(src: &str, needle: &str) -> Diagnostics {
    let d = expect(src, needle);
    assert_eq!(d.len(), 1, "expected exactly one problem:\n{}", d.render());
    d
}

/// As [`expect`], and that problem's help contains `help`.
#[track_caller]
pub fn expect_help(src: &str, needle: &str, help: &str) -> Diagnostics {
    let d = expect(src, needle);
    let line = marker_line(src);
    let found = d.items().iter().any(|x| {
        x.line == line
            && x.message.contains(needle)
            && x.help.as_deref().is_some_and(|h| h.contains(help))
    });
    assert!(
        found,
        "expected help containing {help:?}; got:\n{}",
        d.render()
    );
    d
}

/// A directory of guest images and a config file beside them.
pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> &Self {
        let p = self.path(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(p, bytes).expect("write fixture");
        self
    }

    /// Loads `src` as `deploy.toml` in the fixture directory, with every check on.
    pub fn load(&self, src: &str) -> Result<LoadedDeployment, Diagnostics> {
        load_str(src, self.path("deploy.toml"), &LoadOptions::default())
    }

    /// Writes `src` to `deploy.toml` and loads the file from disk.
    pub fn load_file(&self, src: &[u8]) -> Result<LoadedDeployment, Diagnostics> {
        self.write("deploy.toml", src);
        bulkhead_config::load(self.path("deploy.toml"))
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }
}

/// A minimal bzImage: the setup header with "HdrS", boot protocol 2.15, XLF_KERNEL_64 and
/// the given `cmdline_size`.
pub fn bzimage(cmdline_size: u32) -> Vec<u8> {
    let mut img = vec![0u8; 0x1000];
    img[0x1F1] = 1; // setup_sects
    img[0x1FE..0x200].copy_from_slice(&0xAA55u16.to_le_bytes());
    img[0x202..0x206].copy_from_slice(b"HdrS");
    img[0x206..0x208].copy_from_slice(&0x020Fu16.to_le_bytes());
    img[0x236..0x238].copy_from_slice(&1u16.to_le_bytes());
    img[0x238..0x23C].copy_from_slice(&cmdline_size.to_le_bytes());
    img
}

/// A minimal Multiboot kernel: the header at `offset` with the address fields (flag 16),
/// page-aligned modules and a memory map (flags 0 and 1), and a correct checksum unless
/// `break_checksum`.
pub fn multiboot(offset: usize, break_checksum: bool) -> Vec<u8> {
    let mut img = vec![0u8; (offset + 4096).max(8192)];
    let magic: u32 = 0x1BAD_B002;
    let flags: u32 = (1 << 16) | 0b11;
    let mut checksum = 0u32.wrapping_sub(magic).wrapping_sub(flags);
    if break_checksum {
        checksum ^= 1;
    }
    let words = [
        magic, flags, checksum, 0x10_0000, 0x10_0000, 0, 0, 0x10_0020,
    ];
    for (k, w) in words.iter().enumerate() {
        img[offset + 4 * k..offset + 4 * k + 4].copy_from_slice(&w.to_le_bytes());
    }
    img
}

/// A minimal 64-bit ELF file with one PT_NOTE segment holding the Xen PVH entry note
/// (type 18, owner "Xen") for `entry`, or another note type when `with_note` is false.
pub fn pvh(entry: u32, with_note: bool) -> Vec<u8> {
    let mut img = vec![0u8; 256];
    img[..4].copy_from_slice(b"\x7fELF");
    img[4] = 2; // ELFCLASS64
    img[5] = 1; // little-endian
    img[6] = 1; // EV_CURRENT
    img[0x10..0x12].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    img[0x12..0x14].copy_from_slice(&0x3Eu16.to_le_bytes()); // x86-64
    img[0x20..0x28].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
    img[0x36..0x38].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
    img[0x38..0x3A].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
    let ph = 64;
    img[ph..ph + 4].copy_from_slice(&4u32.to_le_bytes()); // PT_NOTE
    img[ph + 8..ph + 16].copy_from_slice(&128u64.to_le_bytes()); // p_offset
    img[ph + 32..ph + 40].copy_from_slice(&20u64.to_le_bytes()); // p_filesz
    let note = 128;
    img[note..note + 4].copy_from_slice(&4u32.to_le_bytes()); // namesz
    img[note + 4..note + 8].copy_from_slice(&4u32.to_le_bytes()); // descsz
    let kind: u32 = if with_note { 18 } else { 17 };
    img[note + 8..note + 12].copy_from_slice(&kind.to_le_bytes());
    img[note + 12..note + 16].copy_from_slice(b"Xen\0");
    img[note + 16..note + 20].copy_from_slice(&entry.to_le_bytes());
    img
}

/// A real-mode image of `len` bytes of HLT.
pub fn realmode(len: usize) -> Vec<u8> {
    vec![0xF4; len]
}
