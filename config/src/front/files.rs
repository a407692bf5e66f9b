//! Checks on the files a deployment names: that each can be read, and that each kernel is
//! the kind of image its boot protocol expects.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::image::{self, LinuxHeader, MultibootHeader};
use crate::partition::{Partition, Protocol, RealModeEntry};
use crate::problem::Problem;
use crate::validate::limits::REAL_MODE_LIMIT;

/// What the check learnt about a kernel image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageInfo {
    /// A bzImage and its setup header.
    Linux(LinuxHeader),
    /// A Multiboot kernel and its header.
    Multiboot(MultibootHeader),
    /// A PVH ELF kernel.
    Pvh {
        /// The 32-bit entry point from the Xen note.
        entry: u32,
    },
    /// A real-mode image.
    RealMode {
        /// Image size in bytes.
        size: u32,
        /// Where it is loaded (configured, or so that it ends at 1 MiB).
        load_address: u32,
        /// Where it starts.
        entry: RealModeEntry,
    },
}

/// One partition's files, resolved against the config file's directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionFiles {
    /// The kernel image.
    pub kernel: PathBuf,
    /// The initrd, if any.
    pub initrd: Option<PathBuf>,
    /// The modules, in order.
    pub modules: Vec<PathBuf>,
    /// What the kernel image is; `None` when images were not checked.
    pub kernel_info: Option<ImageInfo>,
}

/// Resolves a partition's paths without touching the files.
pub(crate) fn resolve(p: &Partition, base: &Path) -> PartitionFiles {
    PartitionFiles {
        kernel: base.join(&p.boot.kernel),
        initrd: p.boot.initrd.as_ref().map(|i| base.join(i)),
        modules: p.boot.modules.iter().map(|m| base.join(&m.path)).collect(),
        kernel_info: None,
    }
}

fn read_head(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    File::open(path)?.take(limit).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The size of a readable regular file, or why it is not one.
fn readable(path: &Path) -> Result<u64, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.is_dir() {
        return Err("it is a directory".into());
    }
    File::open(path).map_err(|e| e.to_string())?;
    Ok(meta.len())
}

fn human(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / MIB)
    } else if bytes >= 1 << 10 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{bytes} bytes")
    }
}

/// Checks partition `i`'s files; fills `files.kernel_info` and reports into `out`.
pub(crate) fn check(i: usize, p: &Partition, files: &mut PartitionFiles, out: &mut Vec<Problem>) {
    let at = format!("partition[{i}].boot");
    let b = &p.boot;
    let mut total: u64 = 0;
    let kernel_size = match readable(&files.kernel) {
        Ok(n) => n,
        Err(e) => {
            out.push(
                Problem::new(
                    format!("{at}.kernel"),
                    format!(
                        "cannot read the kernel `{}` ({}): {e}",
                        b.kernel,
                        files.kernel.display()
                    ),
                )
                .with_help("paths are relative to the config file's directory"),
            );
            return;
        }
    };
    total = total.saturating_add(kernel_size);
    let proto = b.protocol.as_str();
    let wrong = |why: String| {
        Problem::new(
            format!("{at}.kernel"),
            format!("`{}` is not a {proto} kernel: {why}", b.kernel),
        )
    };
    let head = |limit: u64| read_head(&files.kernel, limit).map_err(|e| e.to_string());
    match b.protocol {
        Protocol::Linux => match head(0x1000).and_then(|h| image::linux_header(&h)) {
            Ok(h) => {
                files.kernel_info = Some(ImageInfo::Linux(h));
                if b.cmdline.len() as u64 > u64::from(h.cmdline_size) {
                    out.push(Problem::new(
                        format!("{at}.cmdline"),
                        format!(
                            "the command line is {} bytes; this kernel accepts at most {} (setup header cmdline_size)",
                            b.cmdline.len(),
                            h.cmdline_size
                        ),
                    ));
                }
            }
            Err(why) => out.push(wrong(why)),
        },
        Protocol::Multiboot => {
            match head(image::MULTIBOOT_SEARCH as u64).and_then(|h| image::multiboot_header(&h)) {
                Ok(h) => files.kernel_info = Some(ImageInfo::Multiboot(h)),
                Err(why) => out.push(wrong(why)),
            }
        }
        // A bzImage is accepted too: `bulkhead build` stores the ELF vmlinux
        // inside it, whose note gives the PVH entry.
        Protocol::Pvh => match head(u64::MAX).and_then(|h| image::pvh_entry(&h)) {
            Ok(entry) => files.kernel_info = Some(ImageInfo::Pvh { entry }),
            Err(why) => match head(0x1000).and_then(|h| image::linux_header(&h)) {
                Ok(h) => files.kernel_info = Some(ImageInfo::Linux(h)),
                Err(_) => out.push(wrong(why)),
            },
        },
        Protocol::RealMode => {
            if kernel_size == 0 {
                out.push(wrong("the file is empty".into()));
            } else if kernel_size > REAL_MODE_LIMIT {
                out.push(
                    wrong(format!(
                        "it is {} ({kernel_size} bytes), and a real-mode image must fit below 1 MiB",
                        human(kernel_size)
                    ))
                    .with_help("real mode reaches only the first MiB; is this the right file or protocol?"),
                );
            } else {
                let size = kernel_size as u32;
                let load = b
                    .load_address
                    .unwrap_or(((REAL_MODE_LIMIT as u32) - size) & !0xF);
                let entry = b.entry.unwrap_or(RealModeEntry::RESET);
                let end = u64::from(load) + u64::from(size);
                if end > REAL_MODE_LIMIT {
                    out.push(Problem::new(
                        format!("{at}.load_address"),
                        format!(
                            "the image ({size} bytes) loaded at {load:#x} ends at {end:#x}, beyond 1 MiB"
                        ),
                    ));
                } else if !(load..end as u32).contains(&entry.linear()) {
                    // Point at whichever of the two the author wrote.
                    let key = match (b.entry, b.load_address) {
                        (None, Some(_)) => "load_address",
                        (Some(_), _) => "entry",
                        (None, None) => "kernel",
                    };
                    out.push(
                        Problem::new(
                            format!("{at}.{key}"),
                            format!(
                                "the entry {:04X}:{:04X} (linear {:#x}) is outside the image, which is loaded at {load:#x}-{:#x}",
                                entry.cs,
                                entry.ip,
                                entry.linear(),
                                end - 1
                            ),
                        )
                        .with_help("set `entry` to a CS:IP inside the image, or `load_address` so the image covers it"),
                    );
                } else {
                    files.kernel_info = Some(ImageInfo::RealMode {
                        size,
                        load_address: load,
                        entry,
                    });
                }
            }
        }
    }
    if let (Some(initrd), Some(name)) = (&files.initrd, &b.initrd) {
        match readable(initrd) {
            Ok(n) => total = total.saturating_add(n),
            Err(e) => out.push(
                Problem::new(
                    format!("{at}.initrd"),
                    format!(
                        "cannot read the initrd `{name}` ({}): {e}",
                        initrd.display()
                    ),
                )
                .with_help("paths are relative to the config file's directory"),
            ),
        }
    }
    for (k, (path, m)) in files.modules.iter().zip(&b.modules).enumerate() {
        match readable(path) {
            Ok(n) => total = total.saturating_add(n),
            Err(e) => out.push(Problem::new(
                format!("{at}.modules[{k}].path"),
                format!(
                    "cannot read the module `{}` ({}): {e}",
                    m.path,
                    path.display()
                ),
            )),
        }
    }
    if total > p.memory.size {
        out.push(
            Problem::new(
                format!("partition[{i}].memory.size"),
                format!(
                    "the boot files take {} but the partition has only {} of memory",
                    human(total),
                    crate::units::format_size(p.memory.size)
                ),
            )
            .with_help("give the partition more memory"),
        );
    }
}
