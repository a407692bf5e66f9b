//! Reading one `[[partition]]` and its sub-tables.

use toml::de::DeValue;

use crate::cpuid::{CpuidLeaf, CpuidPolicy, FEATURES, FeatureBit};
use crate::devices::{DebugExit, Devices, PortRange, Uart};
use crate::front::keys;
use crate::msr::MsrRange;
use crate::partition::{
    Boot, CrashPolicy, Memory, MemoryRegion, Module, Partition, Protocol, RealModeEntry,
};
use crate::suggest::nearest;
use crate::units;

use super::{Got, Lower, Val};

impl Lower<'_> {
    pub(super) fn partition(&mut self, i: usize, v: &Val<'_>) -> Partition {
        let at = format!("partition[{i}]");
        let mut p = Partition {
            name: String::new(),
            cores: Vec::new(),
            memory: Memory::with_size(0),
            boot: Boot {
                protocol: Protocol::Linux,
                kernel: String::new(),
                initrd: None,
                modules: Vec::new(),
                cmdline: String::new(),
                entry: None,
                load_address: None,
            },
            devices: Devices::defaults_for(Protocol::Linux),
            passthrough_ports: Vec::new(),
            cpuid: CpuidPolicy::default(),
            msr_allow: Vec::new(),
            on_crash: CrashPolicy::Halt,
        };
        let Some(t) = self.open(v, at.clone(), &keys::PARTITION) else {
            self.poison(at);
            return p;
        };
        if let Some(v) = self.required(
            &t,
            "name",
            "every partition needs a name, e.g. `name = \"web\"`",
        ) && let Some(name) = self.string(v, &t.child("name"))
        {
            p.name = name;
        }
        if let Some(v) = self.required(&t, "cores", "list the cores it owns, e.g. `cores = [1]`")
            && let Some(cores) = self.list(v, &t.child("cores"), "core indexes", |s, v, p| {
                s.int(v, p, 0, i128::from(u32::MAX)).map(|n| n as u32)
            })
        {
            p.cores = cores;
        }
        if let Some(v) = self.required(&t, "memory", "give its RAM, e.g. `memory = \"256 MiB\"`")
            && let Some(m) = self.memory(v, &t.child("memory"))
        {
            p.memory = m;
        }
        let boot_ok = match self.required(
            &t,
            "boot",
            "add a [partition.boot] table with `protocol` and `kernel`",
        ) {
            Some(v) => match self.boot(v, &t.child("boot")) {
                Some(b) => {
                    p.boot = b;
                    true
                }
                None => false,
            },
            None => false,
        };
        if !boot_ok {
            // Without a protocol the device defaults are unknown; keep quiet about them.
            self.poison(format!("{at}.boot"));
            self.poison(format!("{at}.devices"));
        }
        p.devices = Devices::defaults_for(p.boot.protocol);
        if let Some(v) = t.get("devices") {
            self.devices(v, &t.child("devices"), &mut p.devices);
        }
        if let Got::Val(ports) = self.field(&t, "passthrough_ports", |s, v, path| {
            s.list(v, path, "port ranges", |s, v, p| {
                s.range(v, p, 0xFFFF)
                    .map(|(a, b)| PortRange::new(a as u16, b as u16))
            })
        }) {
            p.passthrough_ports = ports;
        }
        if let Some(v) = t.get("cpuid") {
            p.cpuid = self.cpuid(v, &t.child("cpuid"));
        }
        if let Got::Val(msrs) = self.field(&t, "msr_allow", |s, v, path| {
            s.list(v, path, "MSR ranges", |s, v, p| {
                s.range(v, p, u64::from(u32::MAX))
                    .map(|(a, b)| MsrRange::new(a as u32, b as u32))
            })
        }) {
            p.msr_allow = msrs;
        }
        if let Some(v) = t.get("on_crash")
            && let Some(c) = self.on_crash(v, &t.child("on_crash"))
        {
            p.on_crash = c;
        }
        p
    }

    pub(super) fn memory(&mut self, v: &Val<'_>, path: &str) -> Option<Memory> {
        let size_path = format!("{path}.size");
        match v.get_ref() {
            DeValue::Table(_) => {
                let t = self.open(v, path.to_owned(), &keys::MEMORY)?;
                let size_v =
                    self.required(&t, "size", "give the total, e.g. `size = \"256 MiB\"`")?;
                let size = self.size(size_v, &size_path)?;
                let regions = match t.get("regions") {
                    None => Vec::new(),
                    Some(r) => self.list(r, &t.child("regions"), "regions", |s, v, p| {
                        let rt = s.open(v, p.to_owned(), &keys::REGION)?;
                        let b =
                            s.required(&rt, "base", "give the region's guest-physical start")?;
                        let base = s.address(b, &rt.child("base"))?;
                        let z = s.required(&rt, "size", "give the region's size")?;
                        let size = s.size(z, &rt.child("size"))?;
                        Some(MemoryRegion { base, size })
                    })?,
                };
                Some(Memory { size, regions })
            }
            _ => {
                self.record(path, v.span());
                let size = self.size(v, &size_path)?;
                Some(Memory::with_size(size))
            }
        }
    }

    pub(super) fn boot(&mut self, v: &Val<'_>, path: &str) -> Option<Boot> {
        let t = self.open(v, path.to_owned(), &keys::BOOT)?;
        let pv = self.required(
            &t,
            "protocol",
            "choose one of \"realmode\", \"multiboot\", \"pvh\", \"linux\"",
        );
        let protocol = pv.and_then(|pv| {
            self.choice(
                pv,
                &t.child("protocol"),
                &Protocol::NAMES,
                Protocol::from_name,
            )
        });
        let kernel = match self.required(
            &t,
            "kernel",
            "give the kernel image's path, relative to this file",
        ) {
            Some(k) => self.string(k, &t.child("kernel")),
            None => None,
        };
        let initrd = self.field(&t, "initrd", Self::string);
        let cmdline = self.field(&t, "cmdline", Self::string);
        let modules = self.field(&t, "modules", |s, v, p| {
            s.list(v, p, "modules", |s, v, p| match v.get_ref() {
                DeValue::String(_) => Some(Module {
                    path: s.string(v, &format!("{p}.path"))?,
                    cmdline: String::new(),
                }),
                _ => {
                    let mt = s.open(v, p.to_owned(), &keys::MODULE)?;
                    let pv = s.required(&mt, "path", "give the module file's path")?;
                    let path = s.string(pv, &mt.child("path"))?;
                    let cmdline = s.field(&mt, "cmdline", Self::string).or(String::new());
                    Some(Module { path, cmdline })
                }
            })
        });
        let entry = self.field(&t, "entry", |s, v, p| {
            let text = s.string(v, p)?;
            match parse_entry(&text) {
                Some(e) => Some(e),
                None => {
                    s.issue(
                        v.span(),
                        p,
                        format!("\"{}\" is not a real-mode CS:IP", text.escape_debug()),
                        Some("write segment and offset in hex, e.g. \"F000:FFF0\" or \"0x07c0:0x0000\"".into()),
                    );
                    None
                }
            }
        });
        let load_address = self.field(&t, "load_address", |s, v, p| {
            let a = s.address(v, p)?;
            match u32::try_from(a) {
                Ok(a) => Some(a),
                Err(_) => {
                    s.issue(
                        v.span(),
                        p,
                        format!("{a:#x} is out of range: expected below 1 MiB"),
                        None,
                    );
                    None
                }
            }
        });
        let (protocol, kernel) = (protocol?, kernel?);
        Some(Boot {
            protocol,
            kernel,
            initrd: initrd.opt(),
            modules: modules.or(Vec::new()),
            cmdline: cmdline.or(String::new()),
            entry: entry.opt(),
            load_address: load_address.opt(),
        })
    }

    pub(super) fn devices(&mut self, v: &Val<'_>, path: &str, d: &mut Devices) {
        let Some(t) = self.open(v, path.to_owned(), &keys::DEVICES) else {
            return;
        };
        for (key, slot) in [
            ("pic", &mut d.pic),
            ("ioapic", &mut d.ioapic),
            ("lapic", &mut d.lapic),
            ("pit", &mut d.pit),
            ("rtc", &mut d.rtc),
            ("pci", &mut d.pci),
            ("fw_cfg", &mut d.fw_cfg),
        ] {
            if let Got::Val(b) = self.field(&t, key, Self::boolean) {
                *slot = b;
            }
        }
        if let Some(u) = t.get("uart") {
            let up = t.child("uart");
            self.record(&up, u.span());
            match u.get_ref() {
                DeValue::Boolean(true) => d.uarts = vec![Uart::COM1],
                DeValue::Boolean(false) => d.uarts = Vec::new(),
                DeValue::Table(_) => {
                    self.record(&format!("{up}[0]"), u.span());
                    match self.uart(u, &format!("{up}[0]"), None) {
                        Some(x) => d.uarts = vec![x],
                        None => self.poison(up),
                    }
                }
                DeValue::Array(a) => {
                    let explicit = a.iter().any(|x| {
                        x.get_ref()
                            .as_table()
                            .is_some_and(|t| t.iter().any(|(k, _)| k.get_ref() == "console"))
                    });
                    let mut first = true;
                    let list = self.list(u, &up, "uart tables", |s, v, p| {
                        let default_console = !explicit && first;
                        first = false;
                        s.uart(v, p, Some(default_console))
                    });
                    if let Some(list) = list {
                        d.uarts = list;
                    }
                }
                _ => self.expected(
                    u,
                    &up,
                    "`true`, `false`, a uart table or an array of them",
                    None,
                ),
            }
        }
        if let Some(de) = t.get("debug_exit") {
            let dp = t.child("debug_exit");
            self.record(&dp, de.span());
            match de.get_ref() {
                DeValue::Boolean(b) => d.debug_exit = b.then_some(DebugExit::DEFAULT),
                DeValue::Table(_) => {
                    if let Some(dt) = self.open(de, dp.clone(), &keys::DEBUG_EXIT) {
                        let port = self
                            .field(&dt, "port", Self::u16)
                            .or(DebugExit::DEFAULT.port);
                        let size = self
                            .field(&dt, "size", |s, v, p| s.int(v, p, 1, 4).map(|n| n as u8))
                            .or(DebugExit::DEFAULT.size);
                        d.debug_exit = Some(DebugExit { port, size });
                    }
                }
                _ => self.expected(de, &dp, "`true`, `false` or { port, size }", None),
            }
        }
    }

    /// One UART table. `default_console` is `None` for a lone table (it is the console
    /// unless it says otherwise) and `Some(first)` inside an array with no `console` key.
    pub(super) fn uart(
        &mut self,
        v: &Val<'_>,
        path: &str,
        default_console: Option<bool>,
    ) -> Option<Uart> {
        let t = self.open(v, path.to_owned(), &keys::UART)?;
        let port = match t.get("port") {
            None => Uart::COM1.port,
            Some(pv) => {
                let pp = t.child("port");
                match pv.get_ref() {
                    DeValue::String(s) => {
                        self.record(&pp, pv.span());
                        match com_port(s) {
                            Some(p) => p,
                            None => {
                                self.issue(
                                    pv.span(),
                                    pp,
                                    format!("\"{}\" is not a COM port name", s.escape_debug()),
                                    Some("write \"COM1\" to \"COM4\", or the base port as an integer such as 0x3f8".into()),
                                );
                                return None;
                            }
                        }
                    }
                    _ => self.u16(pv, &pp)?,
                }
            }
        };
        let irq = match t.get("irq") {
            Some(iv) => self.int(iv, &t.child("irq"), 0, 255)? as u8,
            None => match Uart::standard_irq(port) {
                Some(irq) => irq,
                None => {
                    self.issue(
                        t.span.clone(),
                        t.child("irq"),
                        format!("missing key `irq`: a UART at {port:#x} has no standard IRQ"),
                        Some("give its interrupt line, e.g. `irq = 5`".into()),
                    );
                    return None;
                }
            },
        };
        let console = self
            .field(&t, "console", Self::boolean)
            .or(default_console.unwrap_or(true));
        Some(Uart { port, irq, console })
    }

    pub(super) fn cpuid(&mut self, v: &Val<'_>, path: &str) -> CpuidPolicy {
        let mut c = CpuidPolicy::default();
        let Some(t) = self.open(v, path.to_owned(), &keys::CPUID) else {
            return c;
        };
        let feature = |s: &mut Self, v: &Val<'_>, p: &str| -> Option<FeatureBit> {
            let name = s.string(v, p)?;
            if let Some(b) = FeatureBit::from_name(&name).or_else(|| FeatureBit::from_raw(&name)) {
                return Some(b);
            }
            let help = match nearest(&name, FEATURES.iter().map(|(n, _)| *n)) {
                Some(n) => format!("did you mean \"{n}\"?"),
                None => "use a name from the feature list in docs/config.md, or the raw form \"LEAF:SUBLEAF:REGISTER:BIT\" such as \"0x7:0:ebx:5\"".into(),
            };
            s.issue(
                v.span(),
                p,
                format!("unknown CPU feature \"{}\"", name.escape_debug()),
                Some(help),
            );
            None
        };
        if let Got::Val(h) =
            self.field(&t, "hide", |s, v, p| s.list(v, p, "feature names", feature))
        {
            c.hide = h;
        }
        if let Got::Val(f) = self.field(&t, "force", |s, v, p| {
            s.list(v, p, "feature names", feature)
        }) {
            c.force = f;
        }
        if let Got::Val(l) = self.field(&t, "leaf", |s, v, p| {
            s.list(v, p, "leaf tables", |s, v, p| {
                let lt = s.open(v, p.to_owned(), &keys::CPUID_LEAF)?;
                let lv = s.required(&lt, "leaf", "give the leaf number, e.g. `leaf = 0x7`")?;
                let leaf = s.u32(lv, &lt.child("leaf"))?;
                let mut regs = [None; 5];
                let mut ok = true;
                for (slot, key) in regs.iter_mut().zip(["subleaf", "eax", "ebx", "ecx", "edx"]) {
                    match s.field(&lt, key, Self::u32) {
                        Got::Val(x) => *slot = Some(x),
                        Got::Bad => ok = false,
                        Got::Absent => {}
                    }
                }
                let [subleaf, eax, ebx, ecx, edx] = regs;
                ok.then_some(CpuidLeaf {
                    leaf,
                    subleaf,
                    eax,
                    ebx,
                    ecx,
                    edx,
                })
            })
        }) {
            c.leaves = l;
        }
        c
    }

    pub(super) fn on_crash(&mut self, v: &Val<'_>, path: &str) -> Option<CrashPolicy> {
        const ACTIONS: [&str; 2] = ["halt", "restart"];
        let action = |s: &mut Self, v: &Val<'_>, p: &str| {
            s.choice(v, p, &ACTIONS, |n| match n {
                "halt" => Some(false),
                "restart" => Some(true),
                _ => None,
            })
        };
        match v.get_ref() {
            DeValue::String(_) => {
                let restart = action(self, v, &format!("{path}.action"))?;
                self.record(path, v.span());
                Some(if restart {
                    CrashPolicy::restart()
                } else {
                    CrashPolicy::Halt
                })
            }
            DeValue::Table(_) => {
                let t = self.open(v, path.to_owned(), &keys::ON_CRASH)?;
                let av = self.required(&t, "action", "choose \"halt\" or \"restart\"")?;
                let restart = action(self, av, &t.child("action"))?;
                let max = self.field(&t, "max_restarts", Self::u32);
                let window = self.field(&t, "window", |s, v, p| s.duration(v, p));
                if !restart {
                    for key in ["max_restarts", "window"] {
                        if let Some(span) = t.key_span(key) {
                            self.issue(
                                span,
                                t.child(key),
                                format!("`{key}` only applies to `action = \"restart\"`"),
                                Some("remove it, or set `action = \"restart\"`".into()),
                            );
                        }
                    }
                    return Some(CrashPolicy::Halt);
                }
                Some(CrashPolicy::Restart {
                    max_restarts: max.or(CrashPolicy::DEFAULT_MAX_RESTARTS),
                    window_secs: window.or(CrashPolicy::DEFAULT_WINDOW_SECS),
                })
            }
            _ => {
                self.expected(v, path, "\"halt\", \"restart\" or a table", None);
                None
            }
        }
    }

    pub(super) fn duration(&mut self, v: &Val<'_>, path: &str) -> Option<u32> {
        self.record(path, v.span());
        let help = Some("write a whole number with s, m or h, e.g. \"60s\" or \"5m\"".into());
        match v.get_ref() {
            DeValue::String(s) => match units::parse_duration(s) {
                Some(secs) => Some(secs),
                None => {
                    self.issue(
                        v.span(),
                        path,
                        format!("\"{}\" is not a duration", s.escape_debug()),
                        help,
                    );
                    None
                }
            },
            DeValue::Integer(i) => {
                self.issue(
                    v.span(),
                    path,
                    format!("the duration {i} has no unit"),
                    Some(format!("write \"{i}s\" for seconds")),
                );
                None
            }
            _ => {
                self.expected(v, path, "a duration such as \"60s\"", help);
                None
            }
        }
    }
}

fn parse_entry(text: &str) -> Option<RealModeEntry> {
    let (cs, ip) = text.split_once(':')?;
    let hex = |s: &str| {
        let s = s.trim();
        let s = s
            .strip_prefix("0x")
            .or_else(|| s.strip_prefix("0X"))
            .unwrap_or(s);
        if s.is_empty() || s.len() > 4 {
            return None;
        }
        u16::from_str_radix(s, 16).ok()
    };
    Some(RealModeEntry {
        cs: hex(cs)?,
        ip: hex(ip)?,
    })
}

fn com_port(name: &str) -> Option<u16> {
    match name.to_ascii_uppercase().as_str() {
        "COM1" => Some(0x3F8),
        "COM2" => Some(0x2F8),
        "COM3" => Some(0x3E8),
        "COM4" => Some(0x2E8),
        _ => None,
    }
}
