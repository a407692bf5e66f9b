//! Rules on `[machine]` and `[hypervisor]`.

use alloc::format;

use crate::model::{Addressing, Hypervisor, Ipv4, Nic};
use crate::problem::Problem;
use crate::suggest::nearest;

use super::limits::*;
use super::{Checker, aligned};

impl Checker<'_> {
    pub(super) fn machine(&mut self) {
        let m = &self.deployment.machine;
        if let Some(cores) = m.cores
            && (cores == 0 || cores > MAX_CORES)
        {
            self.report(
                "machine.cores",
                format!("{cores} cores is out of range: expected 1 to {MAX_CORES}"),
            );
        }
        if let Some(mem) = m.memory
            && (mem == 0 || !aligned(mem))
        {
            self.report_help(
                "machine.memory",
                format!("{mem} bytes is not a whole number of 4 KiB pages"),
                "write the machine's memory with a unit, e.g. \"16 GiB\"",
            );
        }
    }

    /// Whether `core` is an index the machine can have; reports at `path` if not.
    pub(super) fn core_in_range(&mut self, path: &str, core: u32, what: &str) -> bool {
        if core >= MAX_CORES {
            self.report(
                path,
                format!(
                    "{what} {core} is out of range: core indexes run from 0 to {}",
                    MAX_CORES - 1
                ),
            );
            return false;
        }
        if let Some(n) = self.deployment.machine.cores
            && core >= n
            && n > 0
        {
            self.report_help(
                    path,
                    format!(
                        "{what} {core} does not exist: machine.cores says the machine has {n} (0 to {})",
                        n - 1
                    ),
                    "core indexes count from 0, the bootstrap processor",
                );
            return false;
        }
        true
    }

    pub(super) fn hypervisor(&mut self, h: &Hypervisor) {
        self.core_in_range("hypervisor.service_core", h.service_core, "service core");
        if let Addressing::Static(s) = &h.network.addressing {
            let path = "hypervisor.network.address";
            if s.prefix_len > 32 {
                self.report(
                    path,
                    format!(
                        "prefix length /{} is out of range: expected 0 to 32",
                        s.prefix_len
                    ),
                );
            } else {
                let addr = u32::from_be_bytes(s.address);
                let mask = if s.prefix_len == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(s.prefix_len))
                };
                let host = addr & !mask;
                if addr == 0 {
                    self.report(path, "0.0.0.0 is not a host address");
                } else if s.prefix_len <= 30 && host == 0 {
                    self.report(
                        path,
                        format!(
                            "{} is the network address of its /{} prefix, not a host address",
                            Ipv4(&s.address),
                            s.prefix_len
                        ),
                    );
                } else if s.prefix_len <= 30 && host == !mask {
                    self.report(
                        path,
                        format!(
                            "{} is the broadcast address of its /{} prefix, not a host address",
                            Ipv4(&s.address),
                            s.prefix_len
                        ),
                    );
                }
                if let Some(gw) = &s.gateway {
                    let g = u32::from_be_bytes(*gw);
                    if g == addr {
                        self.report(
                            "hypervisor.network.gateway",
                            "the gateway is the service core's own address",
                        );
                    } else if g & mask != addr & mask {
                        let net = (addr & mask).to_be_bytes();
                        self.report_help(
                            "hypervisor.network.gateway",
                            format!(
                                "gateway {} is outside the service core's network {}/{}",
                                Ipv4(gw),
                                Ipv4(&net),
                                s.prefix_len
                            ),
                            "the gateway must be reachable directly: check the address's prefix length",
                        );
                    }
                }
            }
        }
        if let Some(console) = &h.console {
            if h.network.nic == Nic::None {
                self.report_help(
                    "hypervisor.console",
                    "the network console needs a network, but hypervisor.network.nic is \"none\"",
                    "choose a NIC, or turn the console off with `enabled = false`",
                );
            }
            if console.port == 0 {
                self.report(
                    "hypervisor.console.port",
                    "UDP port 0 is not a port: expected 1 to 65535",
                );
            }
            let len = console.key.as_bytes().len();
            if len < MIN_CONSOLE_KEY_LEN {
                self.report_help(
                    "hypervisor.console.key",
                    format!(
                        "the console key is {len} bytes; at least {MIN_CONSOLE_KEY_LEN} are needed"
                    ),
                    "generate one with `head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n'`",
                );
            } else if len > MAX_CONSOLE_KEY_LEN {
                self.report(
                    "hypervisor.console.key",
                    format!(
                        "the console key is {len} bytes; at most {MAX_CONSOLE_KEY_LEN} are allowed"
                    ),
                );
            }
        }
        if let Some(input) = &h.local_console.input {
            let names = self.deployment.partitions.iter().map(|p| p.name.as_str());
            if !h.local_console.enabled {
                self.report(
                    "hypervisor.local_console.input",
                    "an input partition is set, but the local console is off (enabled = false)",
                );
            } else if let Some(p) = self.deployment.partitions.iter().find(|p| &p.name == input) {
                if !p.devices.uarts.iter().any(|u| u.console) {
                    self.report_help(
                        "hypervisor.local_console.input",
                        format!("partition `{input}` has no console UART to take input"),
                        "give it a UART with `console = true`",
                    );
                }
            } else {
                let mut pr = Problem::new(
                    "hypervisor.local_console.input",
                    format!("there is no partition named `{input}`"),
                );
                if let Some(s) = nearest(input, names) {
                    pr = pr.with_help(format!("did you mean `{s}`?"));
                }
                self.problems.push(pr);
            }
        }
    }
}
