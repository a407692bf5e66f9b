//! Configs that must be refused: each asserts the message and the line it is reported on
//! (the line marked `#<` in the config text, or an explicit line where a comment cannot
//! go).

mod common;

use common::*;

/// A minimal valid partition; tests append to or change it.
const PART: &str = r#"
[[partition]]
name = "a"
cores = [1]
memory = "64 MiB"

[partition.boot]
protocol = "linux"
kernel = "bzImage"
"#;

fn with(extra: &str) -> String {
    console() + extra
}

// ---- syntax ----------------------------------------------------------------------------

/// An unclosed array is a syntax error, reported at the place parsing stopped.
#[test]
fn syntax_unclosed_array() {
    let src = with("[[partition]]\nname = \"a\"\ncores = [1, 2\n");
    let d = expect_at(check(&src), 5, "syntax error");
    assert!(d.items().iter().any(|x| x.message.contains("`]`")));
}

/// A key written twice in one table is refused, naming the key.
#[test]
fn syntax_duplicate_key() {
    let src = with("[[partition]]\nname = \"a\"\nname = \"b\" #<\n");
    expect_help(&src, "duplicate key `name`", "once per table");
}

/// A bare word as a value needs quotes.
#[test]
fn syntax_unquoted_string() {
    let src = with("[[partition]]\nname = web #<\n");
    expect_help(&src, "string values must be quoted", "double quotes");
}

// ---- unknown keys ----------------------------------------------------------------------

/// A misspelt key is reported with the nearest valid key.
#[test]
fn unknown_key_suggests_nearest() {
    let src = with(
        &PART
            .replace("kernel = ", "kernal = ")
            .replace("\"bzImage\"", "\"bzImage\" #<"),
    );
    expect_help(
        &src,
        "unknown key `kernal` in [partition.boot]",
        "did you mean `kernel`?",
    );
}

/// A key from another table says where it belongs.
#[test]
fn unknown_key_names_its_table() {
    let src = with(&PART.replace("cores = [1]", "cores = [1]\ncmdline = \"quiet\" #<"));
    expect_help(
        &src,
        "unknown key `cmdline` in [[partition]]",
        "belongs in [partition.boot]",
    );
}

/// A misspelt top-level table is caught.
#[test]
fn unknown_top_level_key() {
    let src = with("[[partitions]] #<\nname = \"a\"\n");
    expect_help(
        &src,
        "unknown key `partitions` in the top level",
        "did you mean `partition`?",
    );
}

/// Unknown keys in the network table are caught, with the list of valid keys when
/// nothing is close.
#[test]
fn unknown_network_key() {
    let src = with(&format!("{PART}\n[hypervisor.network]\nmtu = 1500 #<\n"));
    expect_help(
        &src,
        "unknown key `mtu` in [hypervisor.network]",
        "nic, address, gateway",
    );
}

// ---- types -----------------------------------------------------------------------------

/// `cores` must be an array.
#[test]
fn cores_not_an_array() {
    let src = with(&PART.replace("cores = [1]", "cores = 1 #<"));
    expect_only(
        &src,
        "expected an array of core indexes, found the integer 1",
    );
}

/// A name must be a string.
#[test]
fn name_not_a_string() {
    let src = with(&PART.replace("name = \"a\"", "name = 5 #<"));
    expect_only(&src, "expected a string, found the integer 5");
}

/// Device switches are booleans.
#[test]
fn device_switch_not_a_boolean() {
    let src = with(&format!("{PART}\n[partition.devices]\npic = \"yes\" #<\n"));
    expect_only(&src, "expected `true` or `false`, found the string \"yes\"");
}

/// `[partition]` with single brackets is explained.
#[test]
fn partition_single_brackets() {
    let src = with("[partition] #<\nname = \"a\"\n");
    expect_help(&src, "must be an array of tables", "[[partition]]");
}

// ---- out-of-range values ---------------------------------------------------------------

/// A negative core index is out of range.
#[test]
fn service_core_negative() {
    let src = with(&format!("{PART}\n[hypervisor]\nservice_core = -1 #<\n"));
    expect_only(&src, "-1 is out of range: expected 0 to");
}

/// UDP ports stop at 65535.
#[test]
fn console_port_out_of_range() {
    let src = with(PART).replace(
        "[hypervisor.console]",
        "[hypervisor.console]\nport = 70000 #<",
    );
    expect_only(&src, "70000 is out of range: expected 0 to 65535");
}

/// With the IOAPIC, IRQs stop at 23.
#[test]
fn uart_irq_over_ioapic_pins() {
    let src = with(&format!(
        "{PART}\n[partition.devices]\nuart = {{ port = 0x3f8, irq = 30 }} #<\n"
    ));
    expect_only(&src, "IRQ 30 is out of range: expected 0 to 23");
}

/// Without the IOAPIC, IRQs stop at 15.
#[test]
fn uart_irq_over_pic_lines() {
    let src = with(&format!(
        "{PART}\n[partition.devices]\nioapic = false\nuart = {{ port = 0x3f8, irq = 20 }} #<\n"
    ));
    expect(&src, "IRQ 20 is out of range: expected 0 to 15");
}

/// Core indexes stop at 255.
#[test]
fn core_index_out_of_range() {
    let src = with(&PART.replace("cores = [1]", "cores = [300] #<"));
    expect_only(&src, "core 300 is out of range");
}

/// A machine has at least one core.
#[test]
fn machine_cores_zero() {
    let src = with(&format!("[machine]\ncores = 0 #<\n{PART}"));
    expect_only(&src, "0 is out of range: expected 1 to");
}

// ---- sizes -----------------------------------------------------------------------------

/// A bare number is not a size; the help shows it with a unit.
#[test]
fn size_without_unit() {
    let src = with(&PART.replace("memory = \"64 MiB\"", "memory = 67108864 #<"));
    expect_help(&src, "the size 67108864 has no unit", "\"64 MiB\"");
}

/// A number in a string without a unit is refused the same way.
#[test]
fn size_string_without_unit() {
    let src = with(&PART.replace("\"64 MiB\"", "\"4096\" #<"));
    expect_help(&src, "the size 4096 has no unit", "\"4 KiB\"");
}

/// Decimal units are ambiguous and refused.
#[test]
fn size_decimal_unit() {
    let src = with(&PART.replace("\"64 MiB\"", "\"64MB\" #<"));
    expect_help(&src, "`MB` is a decimal unit", "MiB");
}

/// Fractions are refused with a suggestion.
#[test]
fn size_fraction() {
    let src = with(&PART.replace("\"64 MiB\"", "\"1.5 GiB\" #<"));
    expect_help(&src, "sizes are whole numbers", "1536 MiB");
}

/// Sizes are whole pages.
#[test]
fn size_not_page_aligned() {
    let src = with(&PART.replace("\"64 MiB\"", "\"1025 KiB\" #<"));
    expect_only(&src, "is not a multiple of the 4 KiB page size");
}

/// A partition needs at least 1 MiB.
#[test]
fn size_too_small() {
    let src = with(&PART.replace("\"64 MiB\"", "\"512 KiB\" #<"));
    expect_only(&src, "512 KiB is too little memory");
}

/// Unknown units are refused.
#[test]
fn size_unknown_unit() {
    let src = with(&PART.replace("\"64 MiB\"", "\"64 apples\" #<"));
    expect_only(&src, "`apples` is not a size unit");
}

// ---- names -----------------------------------------------------------------------------

/// Two partitions cannot share a name.
#[test]
fn duplicate_partition_names() {
    let second = PART
        .replace("cores = [1]", "cores = [2]")
        .replace("name = \"a\"", "name = \"a\" #<");
    let src = with(&format!("{PART}{second}"));
    expect_only(&src, "partition name `a` is already used by partition[0]");
}

/// Names are plain words.
#[test]
fn invalid_partition_name() {
    let src = with(&PART.replace("name = \"a\"", "name = \"my web\" #<"));
    expect_only(&src, "`my web` is not a valid partition name");
}

/// Names are at most 24 characters: image entries are named after them.
#[test]
fn partition_name_too_long() {
    let long = "a".repeat(25);
    let src = with(&PART.replace("name = \"a\"", &format!("name = \"{long}\" #<")));
    expect_only(
        &src,
        &format!("`{long}` is not a valid partition name: expected 1 to 24"),
    );
}

/// A partition runs on one core in this version; a second is refused, not left idle.
#[test]
fn second_core_is_refused() {
    let src = with(&PART.replace("cores = [1]", "cores = [1, 2] #<"));
    expect_only(
        &src,
        "2 cores given; this version runs one core (one vCPU) per partition",
    );
}

/// A partition loads at most 64 modules.
#[test]
fn too_many_modules() {
    let modules: Vec<String> = (0..65).map(|i| format!("\"m{i}.bin\"")).collect();
    let part = PART
        .replace("protocol = \"linux\"", "protocol = \"multiboot\"")
        .replace(
            "kernel = \"bzImage\"",
            &format!("kernel = \"mb.elf\"\nmodules = [{}] #<", modules.join(", ")),
        );
    expect_only(
        &with(&part),
        "65 modules given; a partition loads at most 64",
    );
}

/// A partition without a name is refused.
#[test]
fn missing_partition_name() {
    let src = with(
        &PART
            .replace("name = \"a\"\n", "")
            .replace("[[partition]]", "[[partition]] #<"),
    );
    expect_only(&src, "missing key `name` in [[partition]]");
}

// ---- cores -----------------------------------------------------------------------------

/// A core given to two partitions is refused at the second.
#[test]
fn core_given_twice() {
    let second = PART
        .replace("name = \"a\"", "name = \"b\"")
        .replace("cores = [1]", "cores = [1] #<");
    let src = with(&format!("{PART}{second}"));
    expect_help(
        &src,
        "core 1 is already given to partition `a`",
        "one partition only",
    );
}

/// The service core cannot run a partition.
#[test]
fn core_is_service_core() {
    let src = with(&PART.replace("cores = [1]", "cores = [0] #<"));
    expect_help(
        &src,
        "core 0 is the service core",
        "hypervisor.service_core",
    );
}

/// A moved service core is checked too.
#[test]
fn core_is_moved_service_core() {
    let src = with(&format!(
        "[hypervisor]\nservice_core = 1\n{}",
        PART.replace("cores = [1]", "cores = [1] #<")
    ));
    expect_only(&src, "core 1 is the service core");
}

/// A core listed twice in one partition is refused.
#[test]
fn core_listed_twice() {
    let src = with(&PART.replace("cores = [1]", "cores = [1, 1] #<"));
    expect(&src, "core 1 is listed twice");
}

/// A partition needs a core.
#[test]
fn no_cores() {
    let src = with(&PART.replace("cores = [1]", "cores = [] #<"));
    expect_only(&src, "a partition needs at least one core");
}

/// Cores beyond the declared machine are refused.
#[test]
fn core_beyond_machine() {
    let src = with(&format!(
        "[machine]\ncores = 2\n{}",
        PART.replace("cores = [1]", "cores = [5] #<")
    ));
    expect_only(
        &src,
        "core 5 does not exist: machine.cores says the machine has 2",
    );
}

// ---- I/O ports -------------------------------------------------------------------------

/// One physical port range cannot go to two partitions.
#[test]
fn passthrough_between_partitions() {
    let first = PART.replace(
        "cores = [1]",
        "cores = [1]\npassthrough_ports = [\"0x300-0x30f\"]",
    );
    let second = PART.replace("name = \"a\"", "name = \"b\"").replace(
        "cores = [1]",
        "cores = [2]\npassthrough_ports = [\"0x308\"] #<",
    );
    let src = with(&format!("{first}{second}"));
    expect_only(
        &src,
        "ports 0x308 are already passed through to partition `a`",
    );
}

/// Passed-through ports cannot overlap an emulated device.
#[test]
fn passthrough_over_emulated_uart() {
    let src = with(&format!(
        "[hypervisor.local_console]\nenabled = false\n{}",
        PART.replace(
            "cores = [1]",
            "cores = [1]\npassthrough_ports = [\"0x3f8-0x3ff\"] #<"
        )
    ));
    expect_help(
        &src,
        "overlaps an emulated UART at 0x3f8-0x3ff",
        "devices.uart[0]",
    );
}

/// PCI configuration space stays with the hypervisor.
#[test]
fn passthrough_hypervisor_ports() {
    let src = with(&format!(
        "{}\n[partition.devices]\npci = false\n",
        PART.replace(
            "cores = [1]",
            "cores = [1]\npassthrough_ports = [{ start = 0xcf8, end = 0xcfb }] #<"
        )
    ));
    expect_only(&src, "belong to the hypervisor (PCI configuration space");
}

/// COM1 cannot be passed through while the local console uses it.
#[test]
fn passthrough_com1_with_local_console() {
    let src = with(&format!(
        "{}\n[partition.devices]\nuart = {{ port = \"COM2\" }}\n",
        PART.replace("cores = [1]", "cores = [1]\npassthrough_ports = [0x3f8] #<")
    ));
    expect_help(
        &src,
        "are COM1, which the hypervisor's local console uses",
        "local_console.enabled = false",
    );
}

/// A range must not end before it starts.
#[test]
fn passthrough_reversed_range() {
    let src = with(&PART.replace(
        "cores = [1]",
        "cores = [1]\npassthrough_ports = [\"0x300-0x2ff\"] #<",
    ));
    expect_only(&src, "range 0x300-0x2ff ends before it starts");
}

/// Ranges are written with one dash.
#[test]
fn passthrough_bad_range_text() {
    let src = with(&PART.replace(
        "cores = [1]",
        "cores = [1]\npassthrough_ports = [\"0x3f8..0x3ff\"] #<",
    ));
    expect_help(&src, "\"0x3f8..0x3ff\" is not a range", "0x3f8-0x3ff");
}

/// Two emulated UARTs at one port overlap.
#[test]
fn uarts_overlap() {
    let src = with(&format!(
        "{PART}\n[[partition.devices.uart]]\nport = 0x3f8\n\n[[partition.devices.uart]]\nport = 0x3f8 #<\nirq = 3\n"
    ));
    expect_only(
        &src,
        "an emulated UART at 0x3f8-0x3ff overlaps an emulated UART",
    );
}

/// A UART cannot sit on the PCI host bridge's ports.
#[test]
fn uart_over_pci_ports() {
    let src = with(&format!(
        "{PART}\n[partition.devices]\nuart = {{ port = 0xcf8, irq = 5 }} #<\n"
    ));
    expect_only(&src, "overlaps the emulated PCI host bridge at 0xcf8-0xcff");
}

// ---- IRQs ------------------------------------------------------------------------------

/// IRQ 0 belongs to the PIT.
#[test]
fn irq_conflict_with_pit() {
    let src = with(&format!(
        "{PART}\n[partition.devices]\nuart = {{ port = 0x3f8, irq = 0 }} #<\n"
    ));
    expect_help(&src, "IRQ 0 is already used by the PIT", "cannot be shared");
}

/// Two UARTs cannot share an IRQ.
#[test]
fn irq_conflict_between_uarts() {
    let src = with(&format!(
        "{PART}\n[[partition.devices.uart]]\nport = \"COM1\"\n\n[[partition.devices.uart]]\nport = \"COM2\"\nirq = 4 #<\n"
    ));
    expect_only(&src, "IRQ 4 is already used by uart[0]");
}

/// IRQ 8 belongs to the RTC.
#[test]
fn irq_conflict_with_rtc() {
    let src = with(&format!(
        "{PART}\n[partition.devices]\nuart = {{ port = 0x3f8, irq = 8 }} #<\n"
    ));
    expect_only(&src, "IRQ 8 is already used by the RTC");
}

/// IRQ 2 is the 8259 cascade.
#[test]
fn irq_conflict_with_cascade() {
    let src = with(&format!(
        "{PART}\n[partition.devices]\nuart = {{ port = 0x3f8, irq = 2 }} #<\n"
    ));
    expect_only(&src, "IRQ 2 is already used by the 8259 cascade");
}

/// A UART at a non-standard port must say its IRQ.
#[test]
fn uart_nonstandard_port_without_irq() {
    let src = with(&format!(
        "{PART}\n[partition.devices]\nuart = {{ port = 0x500 }} #<\n"
    ));
    expect_help(&src, "a UART at 0x500 has no standard IRQ", "irq = 5");
}

// ---- devices ---------------------------------------------------------------------------

/// The IOAPIC needs local APICs.
#[test]
fn ioapic_without_lapic() {
    let src = with(&format!("{PART}\n[partition.devices] #<\nlapic = false\n"));
    expect_only(
        &src,
        "the IOAPIC delivers interrupts to local APICs, but lapic is off",
    );
}

/// More than one core needs local APICs (real mode has them off by default).
#[test]
fn smp_without_lapic() {
    let src = with(
        "[[partition]] #<\nname = \"rm\"\ncores = [1, 2]\nmemory = \"1 MiB\"\n\n[partition.boot]\nprotocol = \"realmode\"\nkernel = \"guest.bin\"\n",
    );
    expect(&src, "partition `rm` has 2 cores and needs local APICs");
}

/// A partition has one console.
#[test]
fn two_console_uarts() {
    let src = with(&format!(
        "{PART}\n[[partition.devices.uart]]\nport = \"COM1\"\nconsole = true\n\n[[partition.devices.uart]]\nport = \"COM2\"\nconsole = true #<\n"
    ));
    expect_only(&src, "uart[0] is already the console");
}

/// Interrupting devices need an interrupt controller.
#[test]
fn pit_without_interrupt_controller() {
    let src = with(&format!(
        "{PART}\n[partition.devices]\npic = false\nioapic = false\npit = true #<\nuart = false\n"
    ));
    expect(&src, "the partition has no interrupt controller");
}

/// debug_exit sizes are 1, 2 or 4.
#[test]
fn debug_exit_bad_size() {
    let src = with(&format!(
        "{PART}\n[partition.devices]\ndebug_exit = {{ port = 0xf4, size = 3 }} #<\n"
    ));
    expect_only(&src, "size 3 is not 1, 2 or 4");
}

// ---- boot ------------------------------------------------------------------------------

/// An unknown protocol lists the valid ones.
#[test]
fn protocol_unknown() {
    let src = with(&PART.replace("\"linux\"", "\"bzimage\" #<"));
    expect_help(
        &src,
        "\"bzimage\" is not one of \"realmode\", \"multiboot\", \"pvh\", \"linux\"",
        "expected one of",
    );
}

/// A misspelt protocol gets a suggestion.
#[test]
fn protocol_misspelt() {
    let src = with(&PART.replace("\"linux\"", "\"linx\" #<"));
    expect_help(&src, "\"linx\" is not one of", "did you mean \"linux\"?");
}

/// The kernel is required.
#[test]
fn missing_kernel() {
    let src = with(
        &PART
            .replace("kernel = \"bzImage\"\n", "")
            .replace("[partition.boot]", "[partition.boot] #<"),
    );
    expect_only(&src, "missing key `kernel` in [partition.boot]");
}

/// The boot table is required.
#[test]
fn missing_boot_table() {
    let src = with("[[partition]] #<\nname = \"a\"\ncores = [1]\nmemory = \"64 MiB\"\n");
    expect_only(&src, "missing key `boot` in [[partition]]");
}

/// Multiboot takes modules, not an initrd.
#[test]
fn initrd_with_multiboot() {
    let src = with(
        &PART
            .replace("\"linux\"", "\"multiboot\"")
            .replace("kernel = \"bzImage\"", "kernel = \"k\"\ninitrd = \"i\" #<"),
    );
    expect_help(&src, "protocol \"multiboot\" takes no initrd", "modules");
}

/// Linux takes an initrd, not modules.
#[test]
fn modules_with_linux() {
    let src = with(&PART.replace(
        "kernel = \"bzImage\"",
        "kernel = \"bzImage\"\nmodules = [\"m.bin\"] #<",
    ));
    expect_only(&src, "protocol \"linux\" takes no modules");
}

/// A CS:IP is for real mode only.
#[test]
fn entry_with_linux() {
    let src = with(&PART.replace(
        "kernel = \"bzImage\"",
        "kernel = \"bzImage\"\nentry = \"F000:FFF0\" #<",
    ));
    expect_only(&src, "`entry` is only for protocol \"realmode\"");
}

/// A CS:IP is two hex numbers with a colon.
#[test]
fn entry_malformed() {
    let src = with(&PART.replace("\"linux\"", "\"realmode\"").replace(
        "kernel = \"bzImage\"",
        "kernel = \"g\"\nentry = \"F000-FFF0\" #<",
    ));
    expect_help(&src, "\"F000-FFF0\" is not a real-mode CS:IP", "F000:FFF0");
}

/// Real mode has no command line.
#[test]
fn cmdline_with_realmode() {
    let src = with(&PART.replace("\"linux\"", "\"realmode\"").replace(
        "kernel = \"bzImage\"",
        "kernel = \"g\"\ncmdline = \"quiet\" #<",
    ));
    expect_only(&src, "protocol \"realmode\" takes no command line");
}

/// The Multiboot command line is limited to one page.
#[test]
fn cmdline_too_long_for_multiboot() {
    let long = "x".repeat(5000);
    let src = with(&PART.replace("\"linux\"", "\"multiboot\"").replace(
        "kernel = \"bzImage\"",
        &format!("kernel = \"k\"\ncmdline = \"{long}\" #<"),
    ));
    expect_only(
        &src,
        "the command line is 5000 bytes; protocol \"multiboot\" carries at most 4095",
    );
}

/// A real-mode load address is paragraph aligned.
#[test]
fn load_address_unaligned() {
    let src = with(&PART.replace("\"linux\"", "\"realmode\"").replace(
        "kernel = \"bzImage\"",
        "kernel = \"g\"\nload_address = 0x7c01 #<",
    ));
    expect_only(
        &src,
        "load address 0x7c01 must be 16-byte aligned and below 1 MiB",
    );
}

// ---- console and network ---------------------------------------------------------------

/// The console key has at least 32 bytes.
#[test]
fn console_key_too_short() {
    let src =
        format!("[hypervisor.console]\nkey = \"00112233445566778899aabbccddeeff\" #<\n{PART}");
    expect_help(
        &src,
        "the console key is 16 bytes; at least 32 are needed",
        "/dev/urandom",
    );
}

/// The key is hex.
#[test]
fn console_key_not_hex() {
    let src = format!(
        "[hypervisor.console]\nkey = \"{}\" #<\n{PART}",
        "zz".repeat(32)
    );
    expect_only(&src, "the key is not hex: `z` at position 0");
}

/// One of `key` and `key_file`, not both.
#[test]
fn console_key_twice() {
    let src = format!("[hypervisor.console]\nkey = \"{KEY}\"\nkey_file = \"k\" #<\n{PART}");
    expect_only(&src, "give the console key once");
}

/// The console table without a key is refused.
#[test]
fn console_without_key() {
    let src = format!("[hypervisor.console] #<\nport = 7777\n{PART}");
    expect_help(
        &src,
        "neither `key` nor `key_file` is set",
        "enabled = false",
    );
}

/// No console table at all: the key is still required.
#[test]
fn no_console_table() {
    let src = format!("[hypervisor] #<\nservice_core = 0\n{PART}");
    expect_only(&src, "there is no [hypervisor.console] table");
}

/// A key file that is not there is refused.
#[test]
fn console_key_file_missing() {
    let src = format!("[hypervisor.console]\nkey_file = \"does-not-exist.key\" #<\n{PART}");
    expect_help(
        &src,
        "cannot read the key file `does-not-exist.key`",
        "relative to the config file",
    );
}

/// The network console needs a network.
#[test]
fn console_without_network() {
    let src = format!(
        "[hypervisor.network]\nnic = \"none\"\n\n[hypervisor.console] #<\nkey = \"{KEY}\"\n{PART}"
    );
    expect_only(&src, "the network console needs a network");
}

/// NIC names get a suggestion.
#[test]
fn nic_misspelt() {
    let src = with(&format!(
        "{PART}\n[hypervisor.network]\nnic = \"e100\" #<\n"
    ));
    expect_help(
        &src,
        "\"e100\" is not one of \"auto\", \"virtio\", \"e1000\", \"none\"",
        "\"e1000\"",
    );
}

/// A static address needs its prefix length.
#[test]
fn address_without_prefix() {
    let src = with(&format!(
        "{PART}\n[hypervisor.network]\naddress = \"10.0.2.15\" #<\n"
    ));
    expect_help(
        &src,
        "address \"10.0.2.15\" has no prefix length",
        "192.168.1.10/24",
    );
}

/// The gateway must be on the service core's network.
#[test]
fn gateway_outside_prefix() {
    let src = with(&format!(
        "{PART}\n[hypervisor.network]\naddress = \"10.0.2.15/24\"\ngateway = \"10.0.3.1\" #<\n"
    ));
    expect_only(
        &src,
        "gateway 10.0.3.1 is outside the service core's network 10.0.2.0/24",
    );
}

/// DHCP brings its own gateway.
#[test]
fn gateway_with_dhcp() {
    let src = with(&format!(
        "{PART}\n[hypervisor.network]\naddress = \"dhcp\"\ngateway = \"10.0.2.2\" #<\n"
    ));
    expect_only(&src, "a gateway is only for a static address");
}

/// A network address is not a host address.
#[test]
fn address_is_network_address() {
    let src = with(&format!(
        "{PART}\n[hypervisor.network]\naddress = \"10.0.2.0/24\" #<\n"
    ));
    expect_only(&src, "10.0.2.0 is the network address of its /24 prefix");
}

/// The local console's input partition must exist; a near name is suggested.
#[test]
fn local_console_unknown_input() {
    let src = with(&format!(
        "{}\n[hypervisor.local_console]\ninput = \"lnux\" #<\n",
        PART.replace("\"a\"", "\"linux\"")
    ));
    expect_help(
        &src,
        "there is no partition named `lnux`",
        "did you mean `linux`?",
    );
}

// ---- CPUID and MSRs --------------------------------------------------------------------

/// Unknown feature names get a suggestion.
#[test]
fn cpuid_unknown_feature() {
    let src = with(&format!(
        "{PART}\n[partition.cpuid]\nhide = [\"rdrnd\"] #<\n"
    ));
    expect_help(
        &src,
        "unknown CPU feature \"rdrnd\"",
        "did you mean \"rdrand\"?",
    );
}

/// Nested virtualization cannot be forced.
#[test]
fn cpuid_force_vmx() {
    let src = with(&format!(
        "{PART}\n[partition.cpuid]\nforce = [\"vmx\"] #<\n"
    ));
    expect_only(
        &src,
        "`vmx` cannot be forced: partitions get no nested virtualization",
    );
}

/// x2APIC cannot be forced on the xAPIC model.
#[test]
fn cpuid_force_x2apic() {
    let src = with(&format!(
        "{PART}\n[partition.cpuid]\nforce = [\"x2apic\"] #<\n"
    ));
    expect_only(&src, "`x2apic` cannot be forced");
}

/// A bit cannot be hidden and forced.
#[test]
fn cpuid_hide_and_force() {
    let src = with(&format!(
        "{PART}\n[partition.cpuid]\nhide = [\"avx2\"]\nforce = [\"avx2\"] #<\n"
    ));
    expect_only(&src, "`avx2` is both forced and hidden");
}

/// Raw feature bits are accepted, and checked the same way.
#[test]
fn cpuid_raw_bit_conflict() {
    let src = with(&format!(
        "{PART}\n[partition.cpuid]\nhide = [\"0x7:0:ebx:5\"]\nforce = [\"avx2\"] #<\n"
    ));
    expect_only(&src, "`avx2` is both forced and hidden");
}

/// The hypervisor's own leaves cannot be overridden.
#[test]
fn cpuid_hypervisor_leaf() {
    let src = with(&format!(
        "{PART}\n[[partition.cpuid.leaf]]\nleaf = 0x40000000 #<\neax = 0\n"
    ));
    expect_only(&src, "leaf 0x40000000 belongs to the hypervisor");
}

/// An override must set something.
#[test]
fn cpuid_leaf_without_registers() {
    let src = with(&format!(
        "{PART}\n[[partition.cpuid.leaf]] #<\nleaf = 0x6\n"
    ));
    expect_only(&src, "the override of leaf 0x6 sets no register");
}

/// A leaf is overridden once.
#[test]
fn cpuid_leaf_twice() {
    let src = with(&format!(
        "{PART}\n[[partition.cpuid.leaf]]\nleaf = 0x6\neax = 0\n\n[[partition.cpuid.leaf]]\nleaf = 0x6 #<\nebx = 0\n"
    ));
    expect_only(&src, "leaf 0x6 is already overridden by leaf[0]");
}

/// EFER is never passed through.
#[test]
fn msr_efer() {
    let src = with(&PART.replace("cores = [1]", "cores = [1]\nmsr_allow = [0xC0000080] #<"));
    expect_only(&src, "EFER is switched by the hypervisor");
}

/// The MTRRs are emulated.
#[test]
fn msr_mtrr_range() {
    let src = with(&PART.replace(
        "cores = [1]",
        "cores = [1]\nmsr_allow = [\"0x200-0x20f\"] #<",
    ));
    expect_only(&src, "the MTRRs and PAT are emulated");
}

// ---- crash policy ----------------------------------------------------------------------

/// Unknown crash actions list the valid ones.
#[test]
fn on_crash_unknown_action() {
    let src = with(&PART.replace("cores = [1]", "cores = [1]\non_crash = \"reboot\" #<"));
    expect_only(&src, "\"reboot\" is not one of \"halt\", \"restart\"");
}

/// A restart limit of zero makes no sense.
#[test]
fn on_crash_zero_restarts() {
    let src = with(&PART.replace(
        "cores = [1]",
        "cores = [1]\non_crash = { action = \"restart\", max_restarts = 0 } #<",
    ));
    expect_help(
        &src,
        "0 restarts is out of range: expected 1 to 1000",
        "halt",
    );
}

/// Windows carry a unit.
#[test]
fn on_crash_window_without_unit() {
    let src = with(&PART.replace(
        "cores = [1]",
        "cores = [1]\non_crash = { action = \"restart\", window = 60 } #<",
    ));
    expect_help(&src, "the duration 60 has no unit", "\"60s\"");
}

/// Restart limits do not apply to halt.
#[test]
fn on_crash_limits_with_halt() {
    let src = with(&format!(
        "{PART}\n[partition.on_crash]\naction = \"halt\"\nmax_restarts = 3 #<\n"
    ));
    expect_only(
        &src,
        "`max_restarts` only applies to `action = \"restart\"`",
    );
}

// ---- memory ----------------------------------------------------------------------------

/// The partitions together must fit the declared machine.
#[test]
fn total_memory_over_machine() {
    let big = PART.replace("\"64 MiB\"", "\"3 GiB\"");
    let src = with(&format!("[machine]\nmemory = \"2 GiB\" #<\n{big}"));
    expect_only(
        &src,
        "the partitions need 3 GiB together, more than the 2 GiB the machine has",
    );
}

/// Regions add up to the size.
#[test]
fn regions_do_not_add_up() {
    let src = with(&PART.replace(
        "memory = \"64 MiB\"",
        "memory = { size = \"64 MiB\", regions = [{ base = 0, size = \"32 MiB\" }] } #<",
    ));
    expect_only(
        &src,
        "the regions add up to 32 MiB, but memory.size is 64 MiB",
    );
}

/// RAM stays out of the 32-bit MMIO hole.
#[test]
fn region_in_mmio_hole() {
    let src = with(&PART.replace(
        "memory = \"64 MiB\"",
        "[partition.memory]\nsize = \"4 GiB\"\nregions = [\n  { base = 0, size = \"4 GiB\" }, #<\n]",
    ));
    expect(&src, "reaches into the MMIO hole");
}

/// The first MiB must be RAM.
#[test]
fn regions_without_low_memory() {
    let src = with(&PART.replace(
        "memory = \"64 MiB\"",
        "memory = { size = \"64 MiB\", regions = [{ base = 0x100000, size = \"64 MiB\" }] } #<",
    ));
    expect_only(&src, "the first MiB of guest-physical memory must be RAM");
}

/// A region base is page aligned.
#[test]
fn region_base_unaligned() {
    let src = with(&PART.replace(
        "memory = \"64 MiB\"",
        "memory = { size = \"64 MiB\", regions = [{ base = 0x800, size = \"64 MiB\" }] } #<",
    ));
    expect(&src, "base 0x800 is not 4 KiB aligned");
}

// ---- several at once -------------------------------------------------------------------

/// Every problem is reported in one go, each on its own line, in file order.
#[test]
fn all_problems_at_once() {
    let src = format!(
        "{}\n[[partition]]\nname = \"a\"\ncores = [0]\nmemory = \"64\"\nbogus = 1\n\n[partition.boot]\nprotocol = \"linux\"\nkernel = \"k\"\n",
        console()
    );
    let d = check(&src).expect_err("three problems");
    let lines: Vec<(usize, &str)> = d
        .items()
        .iter()
        .map(|x| (x.line, x.message.as_str()))
        .collect();
    assert_eq!(d.len(), 3, "{}", d.render());
    assert_eq!(lines[0].0, 6);
    assert!(lines[0].1.contains("core 0 is the service core"));
    assert_eq!(lines[1].0, 7);
    assert!(lines[1].1.contains("has no unit"));
    assert_eq!(lines[2].0, 8);
    assert!(lines[2].1.contains("unknown key `bogus`"));
}
