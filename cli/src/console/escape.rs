//! The console client's escape keys, as ssh has them: `~` right after a line
//! start (Enter) or at the very beginning introduces a command; `~.` detaches,
//! `~?` prints help, `~~` sends one `~`; `~` before any other key sends both.
//! Anywhere else `~` is an ordinary key, so pasting text with tildes works.

/// What one typed byte means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// Send these bytes to the partition (one or two of them).
    Send([u8; 2], usize),
    /// Held back: a `~` that may start a command.
    Hold,
    /// `~.`: leave the console.
    Detach,
    /// `~?`: show the escape keys.
    Help,
}

impl Key {
    /// The bytes to send, if any.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Key::Send(bytes, len) => &bytes[..*len],
            _ => &[],
        }
    }
}

/// The escape recogniser.
#[derive(Clone, Copy, Debug)]
pub struct Escape {
    at_line_start: bool,
    tilde: bool,
}

impl Default for Escape {
    fn default() -> Self {
        Self::new()
    }
}

impl Escape {
    /// At the start of a line, as when the console opens.
    pub const fn new() -> Self {
        Self {
            at_line_start: true,
            tilde: false,
        }
    }

    /// Classifies one typed byte.
    pub fn key(&mut self, byte: u8) -> Key {
        if self.tilde {
            self.tilde = false;
            self.at_line_start = false;
            return match byte {
                b'.' => Key::Detach,
                b'?' => {
                    self.at_line_start = true;
                    Key::Help
                }
                b'~' => Key::Send([b'~', 0], 1),
                other => {
                    self.at_line_start = matches!(other, b'\r' | b'\n');
                    Key::Send([b'~', other], 2)
                }
            };
        }
        if byte == b'~' && self.at_line_start {
            self.tilde = true;
            return Key::Hold;
        }
        self.at_line_start = matches!(byte, b'\r' | b'\n');
        Key::Send([byte, 0], 1)
    }
}

/// The help `~?` prints.
pub const HELP: &str =
    "escape keys (after Enter):\r\n  ~.  detach\r\n  ~?  this help\r\n  ~~  send ~\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8]) -> (Vec<u8>, Vec<Key>) {
        let mut escape = Escape::new();
        let mut sent = Vec::new();
        let mut commands = Vec::new();
        for &byte in input {
            let key = escape.key(byte);
            sent.extend_from_slice(key.bytes());
            if matches!(key, Key::Detach | Key::Help) {
                commands.push(key);
            }
        }
        (sent, commands)
    }

    #[test]
    fn detach_only_at_line_start() {
        assert_eq!(run(b"~.").1, vec![Key::Detach]);
        assert_eq!(run(b"ls\r~.").1, vec![Key::Detach]);
        let (sent, commands) = run(b"a~.");
        assert_eq!(sent, b"a~.");
        assert!(commands.is_empty());
    }

    #[test]
    fn double_tilde_sends_one() {
        assert_eq!(run(b"~~x").0, b"~x");
        assert_eq!(run(b"~x").0, b"~x");
    }

    #[test]
    fn help_keeps_line_start() {
        let (sent, commands) = run(b"~?~.");
        assert!(sent.is_empty());
        assert_eq!(commands, vec![Key::Help, Key::Detach]);
    }

    #[test]
    fn tilde_then_enter_sends_both_and_starts_a_line() {
        let (sent, commands) = run(b"~\r~.");
        assert_eq!(sent, b"~\r");
        assert_eq!(commands, vec![Key::Detach]);
    }
}
