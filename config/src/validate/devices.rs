//! Rules on one partition's devices, pass-through ports and CPUID policy.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::cpuid::{CpuidPolicy, FeatureBit};
use crate::devices::{CASCADE_IRQ, Devices, PIT_IRQ, PortRange, RTC_IRQ};
use crate::partition::Partition;

use super::Checker;
use super::limits::*;

impl Checker<'_> {
    pub(super) fn devices(&mut self, at: &str, p: &Partition) {
        let d = &p.devices;
        let dp = format!("{at}.devices");
        if d.ioapic && !d.lapic {
            self.report_help(
                format!("{dp}.ioapic"),
                "the IOAPIC delivers interrupts to local APICs, but lapic is off",
                "turn on `lapic`, or turn off `ioapic`",
            );
        }
        if p.cores.len() > 1 && !d.lapic {
            self.report_help(
                format!("{dp}.lapic"),
                format!(
                    "partition `{}` has {} cores and needs local APICs to start and signal them",
                    p.name,
                    p.cores.len()
                ),
                "turn on `lapic`, or give the partition one core",
            );
        }
        if d.uarts.len() > MAX_UARTS {
            self.report(
                format!("{dp}.uart"),
                format!("{} UARTs is too many: at most {MAX_UARTS}", d.uarts.len()),
            );
        }
        let consoles: Vec<usize> = (0..d.uarts.len()).filter(|&k| d.uarts[k].console).collect();
        if let [first, rest @ ..] = consoles.as_slice() {
            for k in rest {
                self.report(
                    format!("{dp}.uart[{k}].console"),
                    format!("uart[{first}] is already the console; a partition has one console"),
                );
            }
        }
        let max_irq = if d.ioapic {
            MAX_IOAPIC_IRQ
        } else {
            MAX_PIC_IRQ
        };
        let mut lines: Vec<(u8, String)> = Vec::new();
        if d.pit {
            lines.push((PIT_IRQ, "the PIT".into()));
        }
        if d.pic {
            lines.push((CASCADE_IRQ, "the 8259 cascade".into()));
        }
        if d.rtc {
            lines.push((RTC_IRQ, "the RTC".into()));
        }
        if (d.pit || d.rtc) && !d.pic && !d.ioapic {
            let which = if d.pit { "pit" } else { "rtc" };
            self.report_help(
                format!("{dp}.{which}"),
                "the device raises interrupts, but the partition has no interrupt controller (pic and ioapic are off)",
                "turn on `pic` or `ioapic`",
            );
        }
        for (k, u) in d.uarts.iter().enumerate() {
            let up = format!("{dp}.uart[{k}]");
            if u.port > 0xFFF8 {
                self.report(
                    format!("{up}.port"),
                    format!("UART at {:#x} would run past port 0xffff", u.port),
                );
            }
            if !d.pic && !d.ioapic {
                self.report_help(
                    format!("{up}.irq"),
                    "the UART raises interrupts, but the partition has no interrupt controller (pic and ioapic are off)",
                    "turn on `pic` or `ioapic`",
                );
            } else if u.irq > max_irq {
                let why = if d.ioapic {
                    "the IOAPIC has 24 pins"
                } else {
                    "without the IOAPIC only the 8259 pair's 16 lines exist"
                };
                self.report(
                    format!("{up}.irq"),
                    format!(
                        "IRQ {} is out of range: expected 0 to {max_irq} ({why})",
                        u.irq
                    ),
                );
            } else if let Some((_, owner)) = lines.iter().find(|(irq, _)| *irq == u.irq) {
                self.report_help(
                    format!("{up}.irq"),
                    format!("IRQ {} is already used by {owner}", u.irq),
                    "ISA interrupts are edge-triggered and cannot be shared: pick a free line (COM ports use 4 and 3)",
                );
            } else {
                lines.push((u.irq, format!("uart[{k}]")));
            }
        }
        if let Some(de) = d.debug_exit {
            if !matches!(de.size, 1 | 2 | 4) {
                self.report(
                    format!("{dp}.debug_exit.size"),
                    format!("size {} is not 1, 2 or 4", de.size),
                );
            } else if u32::from(de.port) + u32::from(de.size) - 1 > 0xFFFF {
                self.report(
                    format!("{dp}.debug_exit.port"),
                    format!("port {:#x} runs past 0xffff", de.port),
                );
            }
        }
        let claims = d.port_claims();
        for (a, (name_a, range_a, key_a)) in claims.iter().enumerate() {
            if let Some((name_b, range_b, key_b)) = claims[..a]
                .iter()
                .find(|(_, r, k)| r.overlaps(range_a) && k != key_a)
            {
                let path = if key_a.starts_with("uart") {
                    format!("{dp}.{key_a}.port")
                } else {
                    format!("{dp}.{key_a}")
                };
                self.report_help(
                    path,
                    format!("{name_a} at {range_a} overlaps {name_b} at {range_b} ({key_b})"),
                    "move one of them, or turn one off",
                );
            }
        }
    }

    pub(super) fn passthrough(&mut self, at: &str, p: &Partition) {
        let claims = p.devices.port_claims();
        let com1 = PortRange::new(COM1_PORTS.0, COM1_PORTS.1);
        for (k, r) in p.passthrough_ports.iter().enumerate() {
            let path = format!("{at}.passthrough_ports[{k}]");
            if r.start > r.end {
                self.report(
                    path,
                    format!("range {:#x}-{:#x} ends before it starts", r.start, r.end),
                );
                continue;
            }
            if let Some(j) = p.passthrough_ports[..k].iter().position(|o| o.overlaps(r)) {
                self.report(
                    path.clone(),
                    format!("range {r} overlaps passthrough_ports[{j}]"),
                );
            }
            if let Some((name, dev, key)) = claims.iter().find(|(_, d, _)| d.overlaps(r)) {
                self.report_help(
                    path.clone(),
                    format!("pass-through range {r} overlaps {name} at {dev} (devices.{key})"),
                    format!("turn the device off with devices.{key}, or pass through other ports"),
                );
            }
            if let Some((s, e, what)) = HYPERVISOR_PORTS
                .iter()
                .find(|(s, e, _)| PortRange::new(*s, *e).overlaps(r))
            {
                self.report(
                    path.clone(),
                    format!(
                        "ports {} belong to the hypervisor ({what}) and cannot be passed through",
                        PortRange::new(*s, *e)
                    ),
                );
            }
            if self.deployment.hypervisor.local_console.enabled && com1.overlaps(r) {
                self.report_help(
                    path,
                    format!("ports {com1} are COM1, which the hypervisor's local console uses"),
                    "turn the local console off (hypervisor.local_console.enabled = false) to pass COM1 through",
                );
            }
        }
    }

    pub(super) fn cpuid(&mut self, at: &str, c: &CpuidPolicy, d: &Devices) {
        let cp = format!("{at}.cpuid");
        let check_bit = |this: &mut Self, path: &str, f: &FeatureBit| -> bool {
            if f.bit > 31 {
                this.report(
                    path,
                    format!("bit {} is out of range: expected 0 to 31", f.bit),
                );
                return false;
            }
            true
        };
        for (k, f) in c.hide.iter().enumerate() {
            check_bit(self, &format!("{cp}.hide[{k}]"), f);
        }
        for (k, f) in c.force.iter().enumerate() {
            let path = format!("{cp}.force[{k}]");
            if !check_bit(self, &path, f) {
                continue;
            }
            let name = f.name().unwrap_or("");
            if matches!(name, "vmx" | "svm") {
                self.report(
                    &path,
                    format!("`{name}` cannot be forced: partitions get no nested virtualization"),
                );
            } else if name == "x2apic" {
                self.report(
                    &path,
                    "`x2apic` cannot be forced: the virtual local APIC is an xAPIC",
                );
            } else if matches!(name, "apic" | "tsc_deadline_timer") && !d.lapic {
                self.report_help(
                    &path,
                    format!("`{name}` cannot be forced while devices.lapic is off"),
                    "turn on the local APIC",
                );
            }
            if let Some(j) = c.hide.iter().position(|h| h == f) {
                self.report(
                    &path,
                    format!("`{f}` is both forced and hidden (hide[{j}])"),
                );
            }
        }
        for (k, l) in c.leaves.iter().enumerate() {
            let lp = format!("{cp}.leaf[{k}]");
            if HYPERVISOR_LEAVES.contains(&l.leaf) {
                self.report(
                    format!("{lp}.leaf"),
                    format!(
                        "leaf {:#x} belongs to the hypervisor (0x40000000-0x400000ff)",
                        l.leaf
                    ),
                );
            }
            if l.eax.is_none() && l.ebx.is_none() && l.ecx.is_none() && l.edx.is_none() {
                self.report_help(
                    &lp,
                    format!("the override of leaf {:#x} sets no register", l.leaf),
                    "give eax, ebx, ecx or edx",
                );
            }
            if let Some(j) = c.leaves[..k].iter().position(|o| {
                o.leaf == l.leaf
                    && (o.subleaf == l.subleaf || o.subleaf.is_none() || l.subleaf.is_none())
            }) {
                self.report(
                    format!("{lp}.leaf"),
                    format!("leaf {:#x} is already overridden by leaf[{j}]", l.leaf),
                );
            }
        }
    }
}
