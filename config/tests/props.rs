//! Property tests: the loader, the validator and the compiled-form reader never panic,
//! whatever they are given, and whatever loads also round-trips.

mod common;

use bulkhead_config::{
    Addressing, Boot, ConsoleKey, CpuidLeaf, CpuidPolicy, CrashPolicy, DebugExit, Deployment,
    Devices, FeatureBit, HEADER_LEN, Hypervisor, LoadOptions, LocalConsole, Machine, Memory,
    MemoryRegion, Module, MsrRange, NetConsole, Network, Nic, Partition, PortRange, Protocol,
    RealModeEntry, Register, StaticAddress, Uart, crc32, load_str,
};
use proptest::prelude::*;

// ---- TOML-ish text -----------------------------------------------------------------------

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "name",
            "cores",
            "memory",
            "protocol",
            "kernel",
            "initrd",
            "cmdline",
            "modules",
            "entry",
            "load_address",
            "uart",
            "pic",
            "ioapic",
            "lapic",
            "pit",
            "rtc",
            "pci",
            "fw_cfg",
            "debug_exit",
            "passthrough_ports",
            "msr_allow",
            "on_crash",
            "hide",
            "force",
            "leaf",
            "eax",
            "subleaf",
            "key",
            "key_file",
            "port",
            "enabled",
            "input",
            "nic",
            "address",
            "gateway",
            "service_core",
            "size",
            "regions",
            "base",
            "irq",
            "console",
            "action",
            "max_restarts",
            "window",
            "start",
            "end",
        ])
        .prop_map(str::to_owned),
        "[a-z_]{1,8}",
    ]
}

fn value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        (0u32..0x10000).prop_map(|n| format!("0x{n:x}")),
        any::<bool>().prop_map(|b| b.to_string()),
        prop::sample::select(vec![
            "\"64 MiB\"",
            "\"1 MiB\"",
            "\"2G\"",
            "\"4096\"",
            "\"linux\"",
            "\"pvh\"",
            "\"realmode\"",
            "\"multiboot\"",
            "\"dhcp\"",
            "\"10.0.2.15/24\"",
            "\"F000:FFF0\"",
            "\"0x3f8-0x3ff\"",
            "\"COM1\"",
            "\"restart\"",
            "\"halt\"",
            "\"60s\"",
            "\"avx2\"",
            "\"vmx\"",
            "\"a\"",
            "\"\"",
            "1.5",
            "1979-05-27",
            "\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"",
        ])
        .prop_map(str::to_owned),
        "\"[ -~]{0,12}\"".prop_map(|s| s.replace('\\', "/")),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec((key(), inner), 0..3).prop_map(|kv| {
                let body: Vec<String> = kv.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                format!("{{ {} }}", body.join(", "))
            }),
        ]
    })
}

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (key(), value()).prop_map(|(k, v)| format!("{k} = {v}")),
        1 => prop::sample::select(vec![
            "[machine]", "[hypervisor]", "[hypervisor.network]", "[hypervisor.console]",
            "[hypervisor.local_console]", "[[partition]]", "[partition.boot]",
            "[partition.devices]", "[[partition.devices.uart]]", "[partition.cpuid]",
            "[[partition.cpuid.leaf]]", "[partition.memory]", "[partition.on_crash]",
            "[partition]", "[[hypervisor]]", "# comment", "",
        ])
        .prop_map(str::to_owned),
    ]
}

fn document() -> impl Strategy<Value = String> {
    prop::collection::vec(line(), 0..40).prop_map(|lines| lines.join("\n"))
}

/// Checks what a load returned: diagnostics point inside the text, and a success is valid
/// and survives the compiled form.
fn check_outcome(
    src: &str,
    outcome: Result<bulkhead_config::LoadedDeployment, bulkhead_config::Diagnostics>,
) {
    match outcome {
        Ok(loaded) => {
            prop_assert_ok(loaded.deployment.validate().is_ok());
            let bytes = loaded.deployment.to_bytes().expect("encodes");
            let back = Deployment::from_bytes(&bytes).expect("decodes");
            assert_eq!(back, loaded.deployment);
        }
        Err(d) => {
            assert!(!d.is_empty());
            let lines = src.lines().count().max(1);
            for item in d.items() {
                assert!(
                    item.line >= 1 && item.line <= lines + 1,
                    "line {} of {lines}",
                    item.line
                );
                assert!(item.span.end <= src.len());
            }
            assert!(!d.render().is_empty());
        }
    }
}

fn prop_assert_ok(ok: bool) {
    assert!(ok, "a loaded deployment must validate");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Arbitrary text never panics the loader.
    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,300}") {
        let out = load_str(&src, "p.toml", &LoadOptions { check_images: false });
        check_outcome(&src, out);
    }

    /// TOML-shaped text made of real keys and plausible values never panics the loader,
    /// and its diagnostics always point into the text.
    #[test]
    fn tomlish_text_never_panics(src in document()) {
        let out = load_str(&src, "p.toml", &LoadOptions { check_images: false });
        check_outcome(&src, out);
    }

    /// The same with the file checks on (the named files do not exist).
    #[test]
    fn tomlish_text_with_file_checks_never_panics(src in document()) {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = load_str(&src, dir.path().join("p.toml"), &LoadOptions::default());
        check_outcome(&src, out);
    }
}

// ---- structured values -------------------------------------------------------------------

fn protocol() -> impl Strategy<Value = Protocol> {
    prop::sample::select(vec![
        Protocol::RealMode,
        Protocol::Multiboot,
        Protocol::Pvh,
        Protocol::Linux,
    ])
}

fn small_string() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z0-9_-]{0,10}", "\\PC{0,6}"]
}

fn feature() -> impl Strategy<Value = FeatureBit> {
    (
        prop_oneof![Just(1u32), Just(7), Just(0x4000_0000), any::<u32>()],
        0u32..3,
        prop::sample::select(vec![
            Register::Eax,
            Register::Ebx,
            Register::Ecx,
            Register::Edx,
        ]),
        0u8..40,
    )
        .prop_map(|(leaf, subleaf, register, bit)| FeatureBit {
            leaf,
            subleaf,
            register,
            bit,
        })
}

fn devices() -> impl Strategy<Value = Devices> {
    (
        prop::collection::vec(
            (
                prop_oneof![Just(0x3F8u16), Just(0x2F8), any::<u16>()],
                0u8..30,
                any::<bool>(),
            )
                .prop_map(|(port, irq, console)| Uart { port, irq, console }),
            0..6,
        ),
        any::<[bool; 7]>(),
        prop::option::of((any::<u16>(), 0u8..6).prop_map(|(port, size)| DebugExit { port, size })),
    )
        .prop_map(|(uarts, b, debug_exit)| Devices {
            uarts,
            pic: b[0],
            ioapic: b[1],
            lapic: b[2],
            pit: b[3],
            rtc: b[4],
            pci: b[5],
            fw_cfg: b[6],
            debug_exit,
        })
}

fn partition() -> impl Strategy<Value = Partition> {
    let boot = (
        protocol(),
        small_string(),
        prop::option::of(small_string()),
        prop::collection::vec(
            (small_string(), small_string()).prop_map(|(path, cmdline)| Module { path, cmdline }),
            0..3,
        ),
        prop_oneof![Just(String::new()), "\\PC{0,20}", Just("x".repeat(5000))],
        prop::option::of(any::<(u16, u16)>().prop_map(|(cs, ip)| RealModeEntry { cs, ip })),
        prop::option::of(prop_oneof![0u32..0x10_0000, any::<u32>()]),
    )
        .prop_map(
            |(protocol, kernel, initrd, modules, cmdline, entry, load_address)| Boot {
                protocol,
                kernel,
                initrd,
                modules,
                cmdline,
                entry,
                load_address,
            },
        );
    let memory = (
        prop_oneof![(1u64..64).prop_map(|m| m << 20), any::<u64>()],
        prop::collection::vec(
            (
                prop_oneof![Just(0u64), (0u64..1 << 34), any::<u64>()],
                prop_oneof![(1u64..64).prop_map(|m| m << 20), any::<u64>()],
            )
                .prop_map(|(base, size)| MemoryRegion { base, size }),
            0..3,
        ),
    )
        .prop_map(|(size, regions)| Memory { size, regions });
    let cpuid = (
        prop::collection::vec(feature(), 0..3),
        prop::collection::vec(feature(), 0..3),
        prop::collection::vec(
            (
                any::<u32>(),
                prop::option::of(0u32..3),
                prop::option::of(any::<u32>()),
                prop::option::of(any::<u32>()),
            )
                .prop_map(|(leaf, subleaf, eax, edx)| CpuidLeaf {
                    leaf,
                    subleaf,
                    eax,
                    ebx: None,
                    ecx: None,
                    edx,
                }),
            0..3,
        ),
    )
        .prop_map(|(hide, force, leaves)| CpuidPolicy {
            hide,
            force,
            leaves,
        });
    let crash = prop_oneof![
        Just(CrashPolicy::Halt),
        (any::<u32>(), any::<u32>()).prop_map(|(max_restarts, window_secs)| CrashPolicy::Restart {
            max_restarts,
            window_secs
        }),
    ];
    (
        small_string(),
        prop::collection::vec(prop_oneof![0u32..8, any::<u32>()], 0..4),
        memory,
        boot,
        devices(),
        prop::collection::vec(
            any::<(u16, u16)>().prop_map(|(a, b)| PortRange::new(a, b)),
            0..3,
        ),
        cpuid,
        prop::collection::vec(
            any::<(u32, u32)>().prop_map(|(a, b)| MsrRange::new(a, b)),
            0..3,
        ),
        crash,
    )
        .prop_map(
            |(
                name,
                cores,
                memory,
                boot,
                devices,
                passthrough_ports,
                cpuid,
                msr_allow,
                on_crash,
            )| Partition {
                name,
                cores,
                memory,
                boot,
                devices,
                passthrough_ports,
                cpuid,
                msr_allow,
                on_crash,
            },
        )
}

fn deployment() -> impl Strategy<Value = Deployment> {
    let machine = (prop::option::of(0u32..300), prop::option::of(any::<u64>()))
        .prop_map(|(cores, memory)| Machine { cores, memory });
    let addressing = prop_oneof![
        Just(Addressing::Dhcp),
        (
            any::<[u8; 4]>(),
            0u8..40,
            prop::option::of(any::<[u8; 4]>())
        )
            .prop_map(
                |(address, prefix_len, gateway)| Addressing::Static(StaticAddress {
                    address,
                    prefix_len,
                    gateway
                })
            ),
    ];
    let hypervisor = (
        prop_oneof![0u32..8, any::<u32>()],
        prop::sample::select(vec![Nic::Auto, Nic::Virtio, Nic::E1000, Nic::None]),
        addressing,
        prop::option::of(
            (any::<u16>(), prop::collection::vec(any::<u8>(), 0..40)).prop_map(|(port, key)| {
                NetConsole {
                    port,
                    key: ConsoleKey::new(key),
                }
            }),
        ),
        any::<bool>(),
        prop::option::of(small_string()),
    )
        .prop_map(
            |(service_core, nic, addressing, console, enabled, input)| Hypervisor {
                service_core,
                network: Network { nic, addressing },
                console,
                local_console: LocalConsole { enabled, input },
            },
        );
    (
        machine,
        hypervisor,
        prop::collection::vec(partition(), 0..4),
    )
        .prop_map(|(machine, hypervisor, partitions)| Deployment {
            machine,
            hypervisor,
            partitions,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Validation never panics, and the compiled form decodes to the same model exactly
    /// when the model is valid.
    #[test]
    fn arbitrary_models_validate_and_round_trip(d in deployment()) {
        let valid = d.validate().is_ok();
        let bytes = d.to_bytes().expect("encodes");
        match Deployment::from_bytes(&bytes) {
            Ok(back) => {
                prop_assert!(valid);
                prop_assert_eq!(back, d);
            }
            Err(bulkhead_config::CompiledError::Invalid(problems)) => {
                prop_assert!(!valid);
                prop_assert!(!problems.is_empty());
            }
            Err(other) => prop_assert!(false, "unexpected error: {other}"),
        }
    }

    /// The machine check never panics.
    #[test]
    fn machine_check_never_panics(d in deployment(), cores in prop::collection::vec(0u32..10, 0..10), mem in any::<u64>()) {
        let facts = bulkhead_config::MachineFacts {
            cores: cores.iter().map(|&i| bulkhead_config::PresentCore { index: i, apic_id: i }).collect(),
            usable_memory: mem,
        };
        let _ = d.check_machine(&facts);
    }

    /// Arbitrary bytes never panic the reader.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = Deployment::from_bytes(&bytes);
    }

    /// A valid table with bytes of its payload changed, and the CRC recomputed so the
    /// decoder itself sees the damage, never panics the reader.
    #[test]
    fn mutated_tables_never_panic(
        d in deployment(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = d.to_bytes().expect("encodes");
        let payload_len = bytes.len() - HEADER_LEN;
        if payload_len > 0 {
            for (at, byte) in edits {
                let i = HEADER_LEN + at.index(payload_len);
                bytes[i] = byte;
            }
            if truncate {
                bytes.truncate(HEADER_LEN + cut.index(payload_len));
                let len = (bytes.len() - HEADER_LEN) as u32;
                bytes[12..16].copy_from_slice(&len.to_le_bytes());
            }
        }
        let crc = crc32(&bytes[HEADER_LEN..]);
        bytes[16..20].copy_from_slice(&crc.to_le_bytes());
        let _ = Deployment::from_bytes(&bytes);
    }
}
