//! Configs that must load, and the model they must produce: defaults, every accepted
//! spelling, and the shipped example.

mod common;

use bulkhead_config::{
    Addressing, CpuidLeaf, CrashPolicy, DebugExit, Devices, FeatureBit, MemoryRegion, MsrRange,
    Nic, PortRange, Protocol, RealModeEntry, Register, StaticAddress, Uart, units::MIB,
};
use common::*;

fn minimal(protocol: &str) -> String {
    console()
        + &format!(
            "[[partition]]\nname = \"a\"\ncores = [1]\nmemory = \"64 MiB\"\n\n[partition.boot]\nprotocol = \"{protocol}\"\nkernel = \"k\"\n"
        )
}

/// The smallest config: one partition and a console key. Everything else defaults.
#[test]
fn minimal_config_defaults() {
    let d = check(&minimal("linux")).expect("loads").deployment;
    assert_eq!(d.machine.cores, None);
    assert_eq!(d.hypervisor.service_core, 0);
    assert_eq!(d.hypervisor.network.nic, Nic::Auto);
    assert_eq!(d.hypervisor.network.addressing, Addressing::Dhcp);
    let console = d.hypervisor.console.as_ref().expect("console on");
    assert_eq!(console.port, 7777);
    assert_eq!(console.key.as_bytes().len(), 32);
    assert!(d.hypervisor.local_console.enabled);
    assert_eq!(d.hypervisor.local_console.input, None);
    let p = &d.partitions[0];
    assert_eq!(p.name, "a");
    assert_eq!(p.cores, vec![1]);
    assert_eq!(p.memory.size, 64 * MIB);
    assert!(p.memory.regions.is_empty());
    assert_eq!(
        p.memory.layout(),
        vec![MemoryRegion {
            base: 0,
            size: 64 * MIB
        }]
    );
    assert_eq!(p.boot.protocol, Protocol::Linux);
    assert_eq!(p.boot.cmdline, "");
    assert_eq!(p.on_crash, CrashPolicy::Halt);
    assert_eq!(p.devices, Devices::defaults_for(Protocol::Linux));
}

/// Device defaults follow the protocol, as docs/config.md's table says.
#[test]
fn device_defaults_per_protocol() {
    let cases = [
        ("realmode", false, false, false),
        ("multiboot", true, true, false),
        ("pvh", true, true, true),
        ("linux", true, true, true),
    ];
    for (proto, ioapic, lapic, pci) in cases {
        let src = minimal(proto).replace("\"64 MiB\"", "\"1 MiB\"");
        let d = check(&src)
            .unwrap_or_else(|e| panic!("{proto}: {e}"))
            .deployment;
        let dev = &d.partitions[0].devices;
        assert_eq!(dev.uarts, vec![Uart::COM1], "{proto}");
        assert!(dev.pic && dev.pit && dev.rtc, "{proto}");
        assert_eq!(
            (dev.ioapic, dev.lapic, dev.pci),
            (ioapic, lapic, pci),
            "{proto}"
        );
        assert!(!dev.fw_cfg && dev.debug_exit.is_none(), "{proto}");
    }
}

/// Every spelling of a size gives the same bytes.
#[test]
fn size_spellings() {
    for s in [
        "64 MiB",
        "64MiB",
        "64M",
        "64 m",
        "65536 KiB",
        "65536K",
        "64 mib",
    ] {
        let src = minimal("linux").replace("\"64 MiB\"", &format!("\"{s}\""));
        let d = check(&src)
            .unwrap_or_else(|e| panic!("{s}: {e}"))
            .deployment;
        assert_eq!(d.partitions[0].memory.size, 64 * MIB, "{s}");
    }
}

/// Port and MSR ranges take strings, integers and tables.
#[test]
fn range_spellings() {
    let src = minimal("linux").replace(
        "cores = [1]",
        "cores = [1]\npassthrough_ports = [\"0x2f8-0x2ff\", 0x80, { start = 0x378, end = 0x37a }, \"0x60\"]\nmsr_allow = [0x10, \"0xc0000100-0xc0000102\", { start = 0x8b, end = 0x8b }]",
    );
    let p = &check(&src).expect("loads").deployment.partitions[0];
    assert_eq!(
        p.passthrough_ports,
        vec![
            PortRange::new(0x2F8, 0x2FF),
            PortRange::new(0x80, 0x80),
            PortRange::new(0x378, 0x37A),
            PortRange::new(0x60, 0x60)
        ]
    );
    assert_eq!(
        p.msr_allow,
        vec![
            MsrRange::new(0x10, 0x10),
            MsrRange::new(0xC000_0100, 0xC000_0102),
            MsrRange::new(0x8B, 0x8B)
        ]
    );
}

/// A UART can be switched off, given as one table, or listed; the first listed is the
/// console unless one says so.
#[test]
fn uart_spellings() {
    let off = minimal("linux") + "\n[partition.devices]\nuart = false\n";
    assert!(
        check(&off).expect("off").deployment.partitions[0]
            .devices
            .uarts
            .is_empty()
    );

    let one = minimal("linux") + "\n[partition.devices]\nuart = { port = \"COM2\" }\n";
    let u = check(&one).expect("one").deployment.partitions[0]
        .devices
        .uarts
        .clone();
    assert_eq!(
        u,
        vec![Uart {
            port: 0x2F8,
            irq: 3,
            console: true
        }]
    );

    let list = minimal("linux")
        + "\n[[partition.devices.uart]]\nport = \"COM1\"\n\n[[partition.devices.uart]]\nport = 0x2f8\n";
    let u = check(&list).expect("list").deployment.partitions[0]
        .devices
        .uarts
        .clone();
    assert_eq!(
        u,
        vec![
            Uart::COM1,
            Uart {
                port: 0x2F8,
                irq: 3,
                console: false
            }
        ]
    );

    let chosen = minimal("linux")
        + "\n[[partition.devices.uart]]\nport = \"COM1\"\n\n[[partition.devices.uart]]\nport = \"COM2\"\nconsole = true\n";
    let u = check(&chosen).expect("chosen").deployment.partitions[0]
        .devices
        .uarts
        .clone();
    assert_eq!(
        u.iter().map(|x| x.console).collect::<Vec<_>>(),
        vec![false, true]
    );
}

/// debug_exit takes a switch or a placement.
#[test]
fn debug_exit_spellings() {
    let on = minimal("multiboot") + "\n[partition.devices]\ndebug_exit = true\n";
    let d = check(&on).expect("on").deployment;
    assert_eq!(d.partitions[0].devices.debug_exit, Some(DebugExit::DEFAULT));
    let placed =
        minimal("multiboot") + "\n[partition.devices]\ndebug_exit = { port = 0x501, size = 2 }\n";
    let d = check(&placed).expect("placed").deployment;
    assert_eq!(
        d.partitions[0].devices.debug_exit,
        Some(DebugExit {
            port: 0x501,
            size: 2
        })
    );
}

/// on_crash takes a word or a table; restart limits default.
#[test]
fn on_crash_spellings() {
    let word = minimal("linux").replace("cores = [1]", "cores = [1]\non_crash = \"restart\"");
    let d = check(&word).expect("word").deployment;
    assert_eq!(d.partitions[0].on_crash, CrashPolicy::restart());
    let table = minimal("linux")
        + "\n[partition.on_crash]\naction = \"restart\"\nmax_restarts = 5\nwindow = \"10 min\"\n";
    let d = check(&table).expect("table").deployment;
    assert_eq!(
        d.partitions[0].on_crash,
        CrashPolicy::Restart {
            max_restarts: 5,
            window_secs: 600
        }
    );
}

/// A static address with a gateway.
#[test]
fn static_address() {
    let src = minimal("linux")
        + "\n[hypervisor.network]\nnic = \"e1000\"\naddress = \"192.168.1.10/24\"\ngateway = \"192.168.1.1\"\n";
    let d = check(&src).expect("loads").deployment;
    assert_eq!(d.hypervisor.network.nic, Nic::E1000);
    assert_eq!(
        d.hypervisor.network.addressing,
        Addressing::Static(StaticAddress {
            address: [192, 168, 1, 10],
            prefix_len: 24,
            gateway: Some([192, 168, 1, 1])
        })
    );
}

/// Without a network there is no console, and no key is needed.
#[test]
fn no_network_no_console() {
    let src = "[hypervisor.network]\nnic = \"none\"\n".to_owned()
        + &minimal("linux").replace(&console(), "");
    let d = check(&src).expect("loads").deployment;
    assert!(d.hypervisor.console.is_none());
}

/// The console can be turned off explicitly.
#[test]
fn console_disabled() {
    let src = "[hypervisor.console]\nenabled = false\n".to_owned()
        + &minimal("linux").replace(&console(), "");
    assert!(
        check(&src)
            .expect("loads")
            .deployment
            .hypervisor
            .console
            .is_none()
    );
}

/// Memory above 4 GiB, laid out by hand.
#[test]
fn memory_regions() {
    let src = minimal("linux").replace(
        "memory = \"64 MiB\"",
        "memory = { size = \"4 GiB\", regions = [{ base = 0, size = \"2 GiB\" }, { base = \"4 GiB\", size = \"2 GiB\" }] }",
    );
    let m = check(&src).expect("loads").deployment.partitions[0]
        .memory
        .clone();
    assert_eq!(m.size, 4 << 30);
    assert_eq!(
        m.regions[1],
        MemoryRegion {
            base: 4 << 30,
            size: 2 << 30
        }
    );
    // The default layout splits around the MMIO hole.
    assert_eq!(
        bulkhead_config::Memory::default_layout(4 << 30),
        vec![
            MemoryRegion {
                base: 0,
                size: 3 << 30
            },
            MemoryRegion {
                base: 4 << 30,
                size: 1 << 30
            }
        ]
    );
}

/// CPUID hide/force by name and raw bit, and leaf overrides.
#[test]
fn cpuid_policy() {
    let src = minimal("linux")
        + "\n[partition.cpuid]\nhide = [\"avx512f\", \"0x7:0:ecx:16\"]\nforce = [\"hypervisor\"]\n\n[[partition.cpuid.leaf]]\nleaf = 0x16\neax = 2000\nebx = 3000\n";
    let c = check(&src).expect("loads").deployment.partitions[0]
        .cpuid
        .clone();
    assert_eq!(c.hide[0], FeatureBit::from_name("avx512f").expect("known"));
    assert_eq!(
        c.hide[1],
        FeatureBit {
            leaf: 7,
            subleaf: 0,
            register: Register::Ecx,
            bit: 16
        }
    );
    assert_eq!(c.hide[1].to_string(), "la57");
    assert_eq!(
        c.leaves,
        vec![CpuidLeaf {
            leaf: 0x16,
            subleaf: None,
            eax: Some(2000),
            ebx: Some(3000),
            ecx: None,
            edx: None
        }]
    );
}

/// Real mode with an explicit CS:IP and load address.
#[test]
fn realmode_entry() {
    let src = minimal("realmode")
        .replace("\"64 MiB\"", "\"1 MiB\"")
        .replace(
            "kernel = \"k\"",
            "kernel = \"k\"\nentry = \"0x07c0:0x0000\"\nload_address = 0x7c00",
        );
    let b = check(&src).expect("loads").deployment.partitions[0]
        .boot
        .clone();
    assert_eq!(b.entry, Some(RealModeEntry { cs: 0x7C0, ip: 0 }));
    assert_eq!(b.load_address, Some(0x7C00));
}

/// Modules as plain paths or with their own command line.
#[test]
fn modules() {
    let src = minimal("multiboot").replace(
        "kernel = \"k\"",
        "kernel = \"k\"\nmodules = [\"a.bin\", { path = \"b.bin\", cmdline = \"x=1\" }]",
    );
    let b = check(&src).expect("loads").deployment.partitions[0]
        .boot
        .clone();
    assert_eq!(b.modules.len(), 2);
    assert_eq!(b.modules[1].cmdline, "x=1");
}

/// The shipped example is valid (its guest images are built elsewhere).
#[test]
fn shipped_example_is_valid() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/default.toml");
    let loaded = bulkhead_config::load_with(
        path,
        &bulkhead_config::LoadOptions {
            check_images: false,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let d = loaded.deployment;
    assert_eq!(d.partitions.len(), 4);
    let protocols: Vec<Protocol> = d.partitions.iter().map(|p| p.boot.protocol).collect();
    assert_eq!(
        protocols,
        vec![
            Protocol::Multiboot,
            Protocol::Multiboot,
            Protocol::RealMode,
            Protocol::Pvh
        ]
    );
    assert!(
        loaded.files[0]
            .kernel
            .ends_with("build/guests/heartbeat.elf")
    );
}
