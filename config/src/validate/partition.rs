//! Rules on one partition: name, cores, memory, boot, MSRs, crash policy.

use alloc::format;

use crate::msr::RESERVED_MSRS;
use crate::partition::{Boot, CrashPolicy, Memory, Partition, Protocol};
use crate::units::format_size;

use super::limits::*;
use super::{Checker, aligned, valid_name};

impl Checker<'_> {
    pub(super) fn partition(&mut self, i: usize, p: &Partition) {
        let at = format!("partition[{i}]");
        if !valid_name(&p.name) || p.name.len() > MAX_NAME_LEN {
            self.report_help(
                format!("{at}.name"),
                format!(
                    "`{}` is not a valid partition name: expected 1 to {MAX_NAME_LEN} letters, digits, `-` or `_`, starting with a letter or digit",
                    p.name.escape_debug()
                ),
                "the name is typed on the console client's command line, so keep it short and plain",
            );
        }
        if p.cores.is_empty() {
            self.report_help(
                format!("{at}.cores"),
                "a partition needs at least one core",
                "list the core indexes it owns, e.g. `cores = [1]`",
            );
        }
        if p.cores.len() > MAX_CORES_PER_PARTITION {
            self.report_help(
                format!("{at}.cores[{MAX_CORES_PER_PARTITION}]"),
                format!(
                    "{} cores given; this version runs one core (one vCPU) per partition",
                    p.cores.len()
                ),
                "give each core its own partition, or keep only the first",
            );
        }
        for (j, &core) in p.cores.iter().enumerate() {
            let path = format!("{at}.cores[{j}]");
            if !self.core_in_range(&path, core, "core") {
                continue;
            }
            if let Some(k) = p.cores[..j].iter().position(|&c| c == core) {
                self.report(
                    path,
                    format!("core {core} is listed twice (also at cores[{k}])"),
                );
            }
        }
        self.memory(&at, p);
        self.boot(&at, p);
        self.devices(&at, p);
        self.passthrough(&at, p);
        self.cpuid(&at, &p.cpuid, &p.devices);
        self.msrs(&at, p);
        self.crash(&at, p.on_crash);
    }

    pub(super) fn memory(&mut self, at: &str, p: &Partition) {
        let Memory { size, regions } = &p.memory;
        let size = *size;
        let path = format!("{at}.memory.size");
        if size < MIN_PARTITION_MEMORY {
            self.report(
                &path,
                format!(
                    "{} is too little memory: a partition needs at least 1 MiB",
                    format_size(size)
                ),
            );
        } else if !aligned(size) {
            self.report_help(
                &path,
                format!("{size} bytes is not a multiple of the 4 KiB page size"),
                "round the size to whole KiB multiples of 4, e.g. \"64 MiB\"",
            );
        } else if size > MAX_GUEST_PHYS {
            self.report(
                &path,
                format!("{} is too much memory: at most 64 TiB", format_size(size)),
            );
        }
        if regions.is_empty() {
            return;
        }
        let mut total: u64 = 0;
        let mut prev_end: u64 = 0;
        let mut covers_low = false;
        for (k, r) in regions.iter().enumerate() {
            let rp = format!("{at}.memory.regions[{k}]");
            if !aligned(r.base) {
                self.report(
                    format!("{rp}.base"),
                    format!("base {:#x} is not 4 KiB aligned", r.base),
                );
                continue;
            }
            if r.size == 0 || !aligned(r.size) {
                self.report(
                    format!("{rp}.size"),
                    format!("region size {} is not a non-zero multiple of 4 KiB", r.size),
                );
                continue;
            }
            let Some(end) = r.end().filter(|e| *e <= MAX_GUEST_PHYS) else {
                self.report(
                    &rp,
                    "the region ends beyond 64 TiB, the top of guest-physical memory",
                );
                continue;
            };
            if r.base < FOUR_GIB && end > LOW_MMIO_START {
                self.report_help(
                    &rp,
                    format!(
                        "region {:#x}-{:#x} reaches into the MMIO hole at 0xc0000000-0xffffffff",
                        r.base,
                        end - 1
                    ),
                    "end the region by 3 GiB and continue above 4 GiB",
                );
            }
            if k > 0 && r.base < prev_end {
                self.report_help(
                    &rp,
                    format!(
                        "region at {:#x} overlaps or precedes the region before it",
                        r.base
                    ),
                    "list regions in ascending order without overlap",
                );
            }
            if r.base == 0 && end >= REAL_MODE_LIMIT {
                covers_low = true;
            }
            prev_end = end;
            total = total.saturating_add(r.size);
        }
        if total != size {
            self.report_help(
                format!("{at}.memory.regions"),
                format!(
                    "the regions add up to {}, but memory.size is {}",
                    format_size(total),
                    format_size(size)
                ),
                "make the regions' sizes add up to the partition's memory",
            );
        }
        if !covers_low {
            self.report(
                format!("{at}.memory.regions"),
                "the first MiB of guest-physical memory must be RAM: every boot protocol places data there",
            );
        }
    }

    pub(super) fn boot(&mut self, at: &str, p: &Partition) {
        let b: &Boot = &p.boot;
        let proto = b.protocol.as_str();
        let bp = format!("{at}.boot");
        if b.kernel.is_empty() {
            self.report(format!("{bp}.kernel"), "the kernel path is empty");
        }
        match b.protocol {
            Protocol::RealMode => {
                if b.initrd.is_some() {
                    self.report(
                        format!("{bp}.initrd"),
                        "protocol \"realmode\" takes no initrd",
                    );
                }
                if !b.cmdline.is_empty() {
                    self.report(
                        format!("{bp}.cmdline"),
                        "protocol \"realmode\" takes no command line",
                    );
                }
                if let Some(addr) = b.load_address
                    && (addr % 16 != 0 || u64::from(addr) >= REAL_MODE_LIMIT)
                {
                    self.report(
                            format!("{bp}.load_address"),
                            format!(
                                "load address {addr:#x} must be 16-byte aligned and below 1 MiB (0x100000)"
                            ),
                        );
                }
            }
            Protocol::Multiboot => {
                if b.initrd.is_some() {
                    self.report_help(
                        format!("{bp}.initrd"),
                        "protocol \"multiboot\" takes no initrd",
                        "pass it as the first of `modules` instead",
                    );
                }
            }
            Protocol::Pvh | Protocol::Linux => {}
        }
        if !b.modules.is_empty() && matches!(b.protocol, Protocol::RealMode | Protocol::Linux) {
            self.report_help(
                format!("{bp}.modules"),
                format!("protocol \"{proto}\" takes no modules"),
                "modules are for \"multiboot\" and \"pvh\"; Linux takes an initrd",
            );
        }
        if b.modules.len() > MAX_MODULES {
            self.report(
                format!("{bp}.modules"),
                format!(
                    "{} modules given; a partition loads at most {MAX_MODULES}",
                    b.modules.len()
                ),
            );
        }
        for (k, m) in b.modules.iter().enumerate() {
            if m.path.is_empty() {
                self.report(
                    format!("{bp}.modules[{k}].path"),
                    "the module path is empty",
                );
            }
            if m.cmdline.contains('\0') {
                self.report(
                    format!("{bp}.modules[{k}].cmdline"),
                    "the module's command line contains a NUL byte",
                );
            }
        }
        if !matches!(b.protocol, Protocol::RealMode) {
            if b.entry.is_some() {
                self.report_help(
                    format!("{bp}.entry"),
                    format!("`entry` is only for protocol \"realmode\"; \"{proto}\" takes its entry from the image"),
                    "remove the key",
                );
            }
            if b.load_address.is_some() {
                self.report_help(
                    format!("{bp}.load_address"),
                    format!("`load_address` is only for protocol \"realmode\"; \"{proto}\" places the image itself"),
                    "remove the key",
                );
            }
            let limit = b.protocol.cmdline_limit();
            if b.cmdline.len() > limit {
                self.report(
                    format!("{bp}.cmdline"),
                    format!(
                        "the command line is {} bytes; protocol \"{proto}\" carries at most {limit}",
                        b.cmdline.len()
                    ),
                );
            }
        }
        if b.cmdline.contains('\0') {
            self.report(
                format!("{bp}.cmdline"),
                "the command line contains a NUL byte",
            );
        }
        if let Some(initrd) = &b.initrd
            && initrd.is_empty()
        {
            self.report(format!("{bp}.initrd"), "the initrd path is empty");
        }
    }

    pub(super) fn msrs(&mut self, at: &str, p: &Partition) {
        for (k, r) in p.msr_allow.iter().enumerate() {
            let path = format!("{at}.msr_allow[{k}]");
            if r.start > r.end {
                self.report(
                    path,
                    format!("range {:#x}-{:#x} ends before it starts", r.start, r.end),
                );
                continue;
            }
            if let Some((res, why)) = RESERVED_MSRS.iter().find(|(res, _)| res.overlaps(r)) {
                self.report(path, format!("MSR {res} cannot be passed through: {why}"));
            }
        }
    }

    pub(super) fn crash(&mut self, at: &str, policy: CrashPolicy) {
        if let CrashPolicy::Restart {
            max_restarts,
            window_secs,
        } = policy
        {
            if max_restarts == 0 || max_restarts > MAX_RESTARTS {
                self.report_help(
                    format!("{at}.on_crash.max_restarts"),
                    format!(
                        "{max_restarts} restarts is out of range: expected 1 to {MAX_RESTARTS}"
                    ),
                    "use `on_crash = \"halt\"` for a partition that must not restart",
                );
            }
            if window_secs == 0 || window_secs > MAX_WINDOW_SECS {
                self.report(
                    format!("{at}.on_crash.window"),
                    format!("a window of {window_secs} s is out of range: expected 1 s to 24 h"),
                );
            }
        }
    }
}
