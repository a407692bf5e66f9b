//! Rules across partitions: unique names, one owner per core and port, total memory.

use alloc::format;
use alloc::vec::Vec;

use crate::problem::Problem;
use crate::units::format_size;

use super::Checker;

impl Checker<'_> {
    pub(super) fn names(&mut self) {
        let parts = &self.deployment.partitions;
        for (i, p) in parts.iter().enumerate() {
            if let Some(j) = parts[..i].iter().position(|o| o.name == p.name) {
                self.report_help(
                    format!("partition[{i}].name"),
                    format!(
                        "partition name `{}` is already used by partition[{j}]",
                        p.name
                    ),
                    "every partition needs its own name",
                );
            }
        }
    }

    pub(super) fn core_assignment(&mut self) {
        let parts = &self.deployment.partitions;
        let service = self.deployment.hypervisor.service_core;
        let mut problems = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            for (j, &core) in p.cores.iter().enumerate() {
                let path = format!("partition[{i}].cores[{j}]");
                if core == service {
                    problems.push(Problem::new(&path, format!("core {core} is the service core (hypervisor.service_core)")).with_help(
                        "give the partition another core, or move the service core with hypervisor.service_core",
                    ));
                }
                let earlier = parts[..i].iter().enumerate().find_map(|(oi, o)| {
                    o.cores
                        .iter()
                        .position(|&c| c == core)
                        .map(|oj| (oi, oj, &o.name))
                });
                if let Some((oi, oj, name)) = earlier {
                    problems.push(
                        Problem::new(
                            &path,
                            format!("core {core} is already given to partition `{name}` (partition[{oi}].cores[{oj}])"),
                        )
                        .with_help("a core belongs to one partition only"),
                    );
                }
            }
        }
        self.problems.extend(problems);
    }

    pub(super) fn passthrough_between_partitions(&mut self) {
        let parts = &self.deployment.partitions;
        let mut problems = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            for (k, r) in p.passthrough_ports.iter().enumerate() {
                let hit = parts[..i].iter().enumerate().find_map(|(oi, o)| {
                    o.passthrough_ports
                        .iter()
                        .position(|x| x.overlaps(r))
                        .map(|ok| (oi, ok, &o.name))
                });
                if let Some((oi, ok, name)) = hit {
                    problems.push(
                        Problem::new(
                            format!("partition[{i}].passthrough_ports[{k}]"),
                            format!(
                                "ports {r} are already passed through to partition `{name}` (partition[{oi}].passthrough_ports[{ok}])"
                            ),
                        )
                        .with_help("a physical port belongs to one partition only"),
                    );
                }
            }
        }
        self.problems.extend(problems);
    }

    pub(super) fn total_memory(&mut self) {
        let Some(machine) = self.deployment.machine.memory else {
            return;
        };
        let total = self
            .deployment
            .partitions
            .iter()
            .fold(0u64, |acc, p| acc.saturating_add(p.memory.size));
        if total > machine {
            self.report_help(
                "machine.memory",
                format!(
                    "the partitions need {} together, more than the {} the machine has",
                    format_size(total),
                    format_size(machine)
                ),
                "shrink some partition's memory, or correct machine.memory",
            );
        }
    }
}
