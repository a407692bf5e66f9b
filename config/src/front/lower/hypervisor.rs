//! Reading the document root, `[machine]` and `[hypervisor]`.

use std::net::Ipv4Addr;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::front::keys;
use crate::model::{
    Addressing, ConsoleKey, Deployment, Hypervisor, LocalConsole, Machine, NetConsole, Network,
    Nic, StaticAddress,
};

use super::{DEFAULT_CONSOLE_PORT, Got, Lower, Table, Val};

impl Lower<'_> {
    pub(crate) fn document(&mut self, root: &Spanned<DeTable<'_>>) -> Deployment {
        let table = Table {
            map: root.get_ref(),
            path: String::new(),
            span: root.span(),
            keys: &keys::ROOT,
        };
        self.unknown_keys(&table);
        let machine = match table.get("machine") {
            Some(v) => self.machine(v),
            None => Machine::default(),
        };
        let mut partitions = Vec::new();
        match table.get("partition") {
            None => {}
            Some(v) => {
                self.record("partition", v.span());
                match v.get_ref() {
                    DeValue::Array(a) if a.iter().all(|t| t.get_ref().is_table()) => {
                        for (i, p) in a.iter().enumerate() {
                            partitions.push(self.partition(i, p));
                        }
                    }
                    DeValue::Table(_) => self.issue(
                        v.span(),
                        "partition",
                        "`partition` is a single table, but it must be an array of tables",
                        Some(
                            "write each partition's header with double brackets: [[partition]]"
                                .into(),
                        ),
                    ),
                    _ => self.expected(v, "partition", "an array of tables ([[partition]])", None),
                }
            }
        }
        let hypervisor = match table.get("hypervisor") {
            Some(v) => self.hypervisor(v),
            None => self.hypervisor_defaults(root.span()),
        };
        Deployment {
            machine,
            hypervisor,
            partitions,
        }
    }

    pub(super) fn machine(&mut self, v: &Val<'_>) -> Machine {
        let Some(t) = self.open(v, "machine".into(), &keys::MACHINE) else {
            return Machine::default();
        };
        let cores = self
            .field(&t, "cores", |s, v, p| {
                s.int(v, p, 1, 1 << 20).map(|n| n as u32)
            })
            .opt();
        let memory = self.field(&t, "memory", Self::size).opt();
        Machine { cores, memory }
    }

    /// `[hypervisor]` absent: everything defaults, and the network console still needs
    /// its key, which is then reported at the top of the file.
    pub(super) fn hypervisor_defaults(&mut self, span: Range<usize>) -> Hypervisor {
        self.issue(
            span,
            "hypervisor.console.key",
            "the network console needs a key, and there is no [hypervisor.console] table",
            Some(
                "add [hypervisor.console] with `key = \"<64 hex digits>\"` or `key_file = \"...\"`, or set `enabled = false` there"
                    .into(),
            ),
        );
        Hypervisor::default()
    }

    pub(super) fn hypervisor(&mut self, v: &Val<'_>) -> Hypervisor {
        let Some(t) = self.open(v, "hypervisor".into(), &keys::HYPERVISOR) else {
            return Hypervisor::default();
        };
        let service_core = self.field(&t, "service_core", Self::u32).or(0);
        let network = match t.get("network") {
            Some(v) => self.network(v),
            None => Network::default(),
        };
        let console = self.console(&t, network.nic);
        let local_console = match t.get("local_console") {
            Some(v) => self.local_console(v),
            None => LocalConsole::default(),
        };
        Hypervisor {
            service_core,
            network,
            console,
            local_console,
        }
    }

    pub(super) fn network(&mut self, v: &Val<'_>) -> Network {
        let Some(t) = self.open(v, "hypervisor.network".into(), &keys::NETWORK) else {
            return Network::default();
        };
        let nic = self
            .field(&t, "nic", |s, v, p| {
                s.choice(v, p, &Nic::NAMES, Nic::from_name)
            })
            .or(Nic::Auto);
        let address = self.field(&t, "address", |s, v, p| s.ip_address(v, p));
        let gateway = self.field(&t, "gateway", |s, v, p| {
            let text = s.string(v, p)?;
            match text.parse::<Ipv4Addr>() {
                Ok(a) => Some(a.octets()),
                Err(_) => {
                    s.issue(
                        v.span(),
                        p,
                        format!("\"{}\" is not an IPv4 address", text.escape_debug()),
                        Some("write it as four decimal octets, e.g. \"10.0.2.2\"".into()),
                    );
                    None
                }
            }
        });
        let addressing = match address.or(None) {
            None => {
                if let (Got::Val(_), Some(span)) = (&gateway, t.get("gateway").map(|v| v.span())) {
                    self.issue(
                        span,
                        "hypervisor.network.gateway",
                        "a gateway is only for a static address, but the address comes from DHCP",
                        Some("set `address = \"a.b.c.d/prefix\"`, or remove the gateway".into()),
                    );
                }
                Addressing::Dhcp
            }
            Some((address, prefix_len)) => Addressing::Static(StaticAddress {
                address,
                prefix_len,
                gateway: gateway.opt(),
            }),
        };
        Network { nic, addressing }
    }

    /// `"dhcp"` (`Some(None)`) or `"a.b.c.d/len"`.
    pub(super) fn ip_address(&mut self, v: &Val<'_>, path: &str) -> Option<Option<([u8; 4], u8)>> {
        let text = self.string(v, path)?;
        if text == "dhcp" {
            return Some(None);
        }
        let help = Some(
            "write \"dhcp\", or an address with its prefix length, e.g. \"192.168.1.10/24\"".into(),
        );
        let Some((addr, prefix)) = text.split_once('/') else {
            let message = if text.parse::<Ipv4Addr>().is_ok() {
                format!("address \"{text}\" has no prefix length")
            } else {
                format!(
                    "\"{}\" is neither \"dhcp\" nor an IPv4 address",
                    text.escape_debug()
                )
            };
            self.issue(v.span(), path, message, help);
            return None;
        };
        let (Ok(addr), Ok(prefix)) = (addr.parse::<Ipv4Addr>(), prefix.parse::<u8>()) else {
            self.issue(
                v.span(),
                path,
                format!(
                    "\"{}\" is not an IPv4 address with a prefix length",
                    text.escape_debug()
                ),
                help,
            );
            return None;
        };
        Some(Some((addr.octets(), prefix)))
    }

    pub(super) fn console(&mut self, h: &Table<'_, '_>, nic: Nic) -> Option<NetConsole> {
        let Some(v) = h.get("console") else {
            if nic == Nic::None {
                return None;
            }
            self.issue(
                h.span.clone(),
                "hypervisor.console.key",
                "the network console needs a key, and there is no [hypervisor.console] table",
                Some(
                    "add [hypervisor.console] with `key = \"<64 hex digits>\"` or `key_file = \"...\"`, or set `enabled = false` there"
                        .into(),
                ),
            );
            return None;
        };
        let t = self.open(v, "hypervisor.console".into(), &keys::CONSOLE)?;
        let enabled = self.field(&t, "enabled", Self::boolean).or(true);
        let port = self.field(&t, "port", Self::u16).or(DEFAULT_CONSOLE_PORT);
        if !enabled {
            return None;
        }
        let key_path = "hypervisor.console.key";
        let key = match (t.get("key"), t.get("key_file")) {
            (Some(_), Some(f)) => {
                self.issue(
                    f.span(),
                    "hypervisor.console.key_file",
                    "give the console key once: `key` and `key_file` are both set",
                    Some("keep one of them".into()),
                );
                return None;
            }
            (None, None) => {
                self.issue(
                    t.span.clone(),
                    key_path,
                    "the network console needs a key: neither `key` nor `key_file` is set",
                    Some(
                        "add `key = \"<64 hex digits>\"` or `key_file = \"console.key\"`, or `enabled = false`"
                            .into(),
                    ),
                );
                return None;
            }
            (Some(k), None) => {
                let text = self.string(k, key_path)?;
                match decode_hex(&text) {
                    Ok(bytes) => bytes,
                    Err(message) => {
                        self.issue(
                            k.span(),
                            key_path,
                            message,
                            Some(
                                "write the key as hex digits (64 for 32 bytes), or use `key_file`"
                                    .into(),
                            ),
                        );
                        return None;
                    }
                }
            }
            (None, Some(f)) => {
                self.record(key_path, f.span());
                let name = self.string(f, "hypervisor.console.key_file")?;
                let file = self.base_dir.join(&name);
                match std::fs::read(&file) {
                    Ok(bytes) => key_from_file(bytes),
                    Err(e) => {
                        self.issue(
                            f.span(),
                            key_path,
                            format!(
                                "cannot read the key file `{name}` ({}): {e}",
                                file.display()
                            ),
                            Some(
                                "key files are found relative to the config file's directory"
                                    .into(),
                            ),
                        );
                        return None;
                    }
                }
            }
        };
        Some(NetConsole {
            port,
            key: ConsoleKey::new(key),
        })
    }

    pub(super) fn local_console(&mut self, v: &Val<'_>) -> LocalConsole {
        let Some(t) = self.open(v, "hypervisor.local_console".into(), &keys::LOCAL_CONSOLE) else {
            return LocalConsole::default();
        };
        let enabled = self.field(&t, "enabled", Self::boolean).or(true);
        let input = self.field(&t, "input", Self::string).opt();
        LocalConsole { enabled, input }
    }

    // ---- partitions -----------------------------------------------------------------------
}

fn decode_hex(text: &str) -> Result<Vec<u8>, String> {
    if let Some((at, c)) = text.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(format!(
            "the key is not hex: `{}` at position {at}",
            c.escape_debug()
        ));
    }
    if !text.len().is_multiple_of(2) {
        return Err(format!(
            "the key has an odd number of hex digits ({})",
            text.len()
        ));
    }
    Ok(text
        .as_bytes()
        .chunks(2)
        .filter_map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 16).ok())
        })
        .collect())
}

/// A key file holds the key as hex text (surrounding whitespace ignored) or as raw bytes.
/// The `bulkhead console` client reads the same files through this function, so the file
/// a deployment was built from works there unchanged.
pub fn key_from_file(bytes: Vec<u8>) -> Vec<u8> {
    if let Ok(text) = std::str::from_utf8(&bytes) {
        let t = text.trim();
        if !t.is_empty()
            && t.len() % 2 == 0
            && t.bytes().all(|b| b.is_ascii_hexdigit())
            && let Ok(decoded) = decode_hex(t)
        {
            return decoded;
        }
    }
    bytes
}
