//! `HOST[:PORT]`: where the console service listens.
//!
//! An IPv6 literal with a port needs brackets (`[fe80::1]:7777`), as in URLs; a bare
//! IPv6 literal (`::1`) is taken whole as the host, since its colons cannot be told
//! apart from a port's.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::str::FromStr;

use crate::error::CliError;

/// The service's UDP port unless the deployment says otherwise (`[hypervisor.console]
/// port`, docs/config.md).
pub const DEFAULT_PORT: u16 = 7777;

/// A host name or address and a port, as the user gave them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// A name or an IP literal, without brackets.
    pub host: String,
    /// The UDP port.
    pub port: u16,
}

impl FromStr for Target {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (host, after) = rest
                .split_once(']')
                .ok_or_else(|| format!("`{text}`: `[` without a closing `]`"))?;
            match after {
                "" => (host, None),
                _ => match after.strip_prefix(':') {
                    Some(port) => (host, Some(port)),
                    None => return Err(format!("`{text}`: expected `:PORT` after `]`")),
                },
            }
        } else {
            match text.split_once(':') {
                // Exactly one colon: HOST:PORT. More: a bare IPv6 literal.
                Some((host, port)) if !port.contains(':') => (host, Some(port)),
                _ => (text, None),
            }
        };
        if host.is_empty() {
            return Err(format!("`{text}`: no host"));
        }
        let port = match port {
            None => DEFAULT_PORT,
            Some(port) => port
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| format!("`{text}`: the port must be a number from 1 to 65535"))?,
        };
        Ok(Self {
            host: host.to_string(),
            port,
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl Target {
    /// The address to send to: the host resolved (a literal as it is), IPv4 first.
    pub fn resolve(&self) -> Result<SocketAddr, CliError> {
        let addresses = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|source| CliError::Resolve {
                host: self.host.clone(),
                source,
            })?;
        pick(addresses).ok_or_else(|| CliError::NoAddress {
            host: self.host.clone(),
        })
    }
}

/// One of a name's addresses. The hypervisor's network stack speaks IPv4, and a name
/// like `localhost` often lists `::1` first, so IPv4 wins when there is a choice.
fn pick(addresses: impl IntoIterator<Item = SocketAddr>) -> Option<SocketAddr> {
    let mut first = None;
    for address in addresses {
        if address.is_ipv4() {
            return Some(address);
        }
        first.get_or_insert(address);
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(text: &str) -> Target {
        text.parse().unwrap()
    }

    /// Names and IPv4 literals, with and without a port.
    #[test]
    fn host_and_port() {
        assert_eq!(
            target("console.lab"),
            Target {
                host: "console.lab".into(),
                port: DEFAULT_PORT
            }
        );
        assert_eq!(target("10.0.2.15:9000").port, 9000);
        assert_eq!(target("10.0.2.15:9000").host, "10.0.2.15");
    }

    /// IPv6: bracketed with or without a port; bare only without one.
    #[test]
    fn ipv6_literals() {
        assert_eq!(
            target("[::1]:8000"),
            Target {
                host: "::1".into(),
                port: 8000
            }
        );
        assert_eq!(target("[fe80::2]").port, DEFAULT_PORT);
        assert_eq!(target("fe80::2").host, "fe80::2");
        assert_eq!(target("fe80::2").port, DEFAULT_PORT);
    }

    /// Malformed addresses are refused with the text quoted.
    #[test]
    fn refusals() {
        for bad in [
            "",
            ":7777",
            "host:",
            "host:0",
            "host:65536",
            "host:x",
            "[::1",
            "[::1]x",
            "[]",
        ] {
            let error = bad.parse::<Target>().unwrap_err();
            assert!(error.contains(&format!("`{bad}`")), "{bad}: {error}");
        }
    }

    /// Display brackets IPv6 so the text parses back to the same target.
    #[test]
    fn display_round_trips() {
        for text in ["host:7777", "[::1]:7777", "127.0.0.1:1"] {
            assert_eq!(target(text).to_string(), text);
            assert_eq!(target(&target(text).to_string()), target(text));
        }
    }

    /// IPv4 is preferred; an IPv6-only name still resolves to its first address.
    #[test]
    fn pick_prefers_ipv4() {
        let v6: SocketAddr = "[::1]:7777".parse().unwrap();
        let v6b: SocketAddr = "[::2]:7777".parse().unwrap();
        let v4: SocketAddr = "127.0.0.1:7777".parse().unwrap();
        assert_eq!(pick([v6, v4]), Some(v4));
        assert_eq!(pick([v6, v6b]), Some(v6));
        assert_eq!(pick([]), None);
    }

    /// Literals resolve without a name service.
    #[test]
    fn literals_resolve() {
        assert_eq!(
            target("127.0.0.1:99").resolve().unwrap(),
            "127.0.0.1:99".parse().unwrap()
        );
        assert_eq!(
            target("[::1]:99").resolve().unwrap(),
            "[::1]:99".parse().unwrap()
        );
    }
}
