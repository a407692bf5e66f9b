//! The keys each table accepts, for unknown-key detection and suggestions.

/// A table of the file: how messages name it, and the keys it accepts.
pub(crate) struct TableKeys {
    pub name: &'static str,
    pub keys: &'static [&'static str],
}

macro_rules! table {
    ($ident:ident, $name:literal, [$($k:literal),* $(,)?]) => {
        pub(crate) const $ident: TableKeys = TableKeys { name: $name, keys: &[$($k),*] };
    };
}

table!(
    ROOT,
    "the top level",
    ["machine", "hypervisor", "partition"]
);
table!(MACHINE, "[machine]", ["cores", "memory"]);
table!(
    HYPERVISOR,
    "[hypervisor]",
    ["service_core", "network", "console", "local_console"]
);
table!(
    NETWORK,
    "[hypervisor.network]",
    ["nic", "address", "gateway"]
);
table!(
    CONSOLE,
    "[hypervisor.console]",
    ["enabled", "port", "key", "key_file"]
);
table!(
    LOCAL_CONSOLE,
    "[hypervisor.local_console]",
    ["enabled", "input"]
);
table!(
    PARTITION,
    "[[partition]]",
    [
        "name",
        "cores",
        "memory",
        "boot",
        "devices",
        "passthrough_ports",
        "cpuid",
        "msr_allow",
        "on_crash"
    ]
);
table!(MEMORY, "[partition.memory]", ["size", "regions"]);
table!(REGION, "a memory region", ["base", "size"]);
table!(
    BOOT,
    "[partition.boot]",
    [
        "protocol",
        "kernel",
        "initrd",
        "modules",
        "cmdline",
        "entry",
        "load_address"
    ]
);
table!(MODULE, "a boot module", ["path", "cmdline"]);
table!(
    DEVICES,
    "[partition.devices]",
    [
        "uart",
        "pic",
        "ioapic",
        "lapic",
        "pit",
        "rtc",
        "pci",
        "fw_cfg",
        "debug_exit"
    ]
);
table!(UART, "a uart", ["port", "irq", "console"]);
table!(DEBUG_EXIT, "debug_exit", ["port", "size"]);
table!(CPUID, "[partition.cpuid]", ["hide", "force", "leaf"]);
table!(
    CPUID_LEAF,
    "[[partition.cpuid.leaf]]",
    ["leaf", "subleaf", "eax", "ebx", "ecx", "edx"]
);
table!(
    ON_CRASH,
    "[partition.on_crash]",
    ["action", "max_restarts", "window"]
);
table!(RANGE, "a range", ["start", "end"]);

/// Every table, to say where a key that is misplaced belongs.
pub(crate) const ALL: &[&TableKeys] = &[
    &ROOT,
    &MACHINE,
    &HYPERVISOR,
    &NETWORK,
    &CONSOLE,
    &LOCAL_CONSOLE,
    &PARTITION,
    &MEMORY,
    &BOOT,
    &DEVICES,
    &UART,
    &DEBUG_EXIT,
    &CPUID,
    &CPUID_LEAF,
    &ON_CRASH,
];

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/config.md documents every key the front end accepts, as `key`.
    #[test]
    fn reference_covers_every_key() {
        let doc = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/config.md"));
        for table in ALL.iter().copied().chain([&REGION, &MODULE, &RANGE]) {
            for key in table.keys {
                let documented = doc.contains(&format!("`{key}`"))
                    || doc.contains(&format!("[{key}]"))
                    || doc.contains(&format!(".{key}]"));
                assert!(
                    documented,
                    "docs/config.md does not document `{key}` of {}",
                    table.name
                );
            }
        }
    }

    /// docs/config.md lists every CPU feature name.
    #[test]
    fn reference_lists_every_feature() {
        let doc = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/config.md"));
        for (name, _) in crate::FEATURES {
            assert!(
                doc.contains(&format!("`{name}`")),
                "feature `{name}` is not documented"
            );
        }
    }
}
