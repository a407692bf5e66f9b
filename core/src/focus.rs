//! Which partition the machine's COM1 keyboard input goes to, and the key
//! sequence that changes it.
//!
//! `Ctrl-]` (0x1D) starts a command; the next key says what to do:
//!
//! | keys | effect |
//! | --- | --- |
//! | `Ctrl-]` `1`..`9` | input goes to partition 1..9 (table order) |
//! | `Ctrl-]` `n` / `p` | next / previous partition |
//! | `Ctrl-]` `?` | list the partitions and the keys |
//! | `Ctrl-]` `s` | every partition's state and exit counts |
//! | `Ctrl-]` `Ctrl-]` | send one `Ctrl-]` to the focused partition |
//!
//! Any other key after `Ctrl-]` is dropped with the prefix, so a mistyped
//! command never reaches a guest half-done.

/// The key that starts a command.
pub const ESCAPE: u8 = 0x1D;

/// What one input byte turned into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Deliver this byte to partition `partition`.
    Deliver {
        /// Partition index in table order.
        partition: usize,
        /// The byte.
        byte: u8,
    },
    /// Input now goes to partition `partition`.
    Focus(usize),
    /// Show the help and partition list.
    Help,
    /// Show every partition's state and exit counts.
    Status,
    /// Nothing (the byte was part of a command).
    None,
}

/// The focus switch for `count` partitions.
#[derive(Clone, Debug)]
pub struct FocusSwitch {
    count: usize,
    focused: usize,
    escaped: bool,
}

impl FocusSwitch {
    /// Input starts at partition `focused` (clamped into range).
    pub fn new(count: usize, focused: usize) -> Self {
        Self {
            count,
            focused: focused.min(count.saturating_sub(1)),
            escaped: false,
        }
    }

    /// The partition input goes to.
    pub fn focused(&self) -> usize {
        self.focused
    }

    /// Takes one byte typed on COM1.
    pub fn input(&mut self, byte: u8) -> Action {
        if self.count == 0 {
            return Action::None;
        }
        if !self.escaped {
            if byte == ESCAPE {
                self.escaped = true;
                return Action::None;
            }
            return Action::Deliver {
                partition: self.focused,
                byte,
            };
        }
        self.escaped = false;
        match byte {
            ESCAPE => Action::Deliver {
                partition: self.focused,
                byte,
            },
            b'1'..=b'9' => {
                let index = usize::from(byte - b'1');
                if index < self.count {
                    self.focused = index;
                    Action::Focus(index)
                } else {
                    Action::None
                }
            }
            b'n' => {
                self.focused = (self.focused + 1) % self.count;
                Action::Focus(self.focused)
            }
            b'p' => {
                self.focused = (self.focused + self.count - 1) % self.count;
                Action::Focus(self.focused)
            }
            b'?' => Action::Help,
            b's' => Action::Status,
            _ => Action::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plain bytes go to the focused partition.
    #[test]
    fn delivers_to_focus() {
        let mut s = FocusSwitch::new(3, 1);
        assert_eq!(
            s.input(b'a'),
            Action::Deliver {
                partition: 1,
                byte: b'a'
            }
        );
    }

    /// Ctrl-] with a digit, `n` and `p` move the focus; out-of-range digits do nothing.
    #[test]
    fn switches_focus() {
        let mut s = FocusSwitch::new(3, 0);
        assert_eq!(
            (s.input(ESCAPE), s.input(b'3')),
            (Action::None, Action::Focus(2))
        );
        assert_eq!(
            (s.input(ESCAPE), s.input(b'n')),
            (Action::None, Action::Focus(0))
        );
        assert_eq!(
            (s.input(ESCAPE), s.input(b'p')),
            (Action::None, Action::Focus(2))
        );
        assert_eq!(
            (s.input(ESCAPE), s.input(b'9')),
            (Action::None, Action::None)
        );
        assert_eq!(s.focused(), 2);
    }

    /// Ctrl-] twice sends one Ctrl-]; an unknown command key is dropped.
    #[test]
    fn escapes_and_drops() {
        let mut s = FocusSwitch::new(2, 0);
        s.input(ESCAPE);
        assert_eq!(
            s.input(ESCAPE),
            Action::Deliver {
                partition: 0,
                byte: ESCAPE
            }
        );
        s.input(ESCAPE);
        assert_eq!(s.input(b'x'), Action::None);
        assert_eq!(
            s.input(b'x'),
            Action::Deliver {
                partition: 0,
                byte: b'x'
            }
        );
        s.input(ESCAPE);
        assert_eq!(s.input(b'?'), Action::Help);
        s.input(ESCAPE);
        assert_eq!(s.input(b's'), Action::Status);
    }

    /// With no partitions nothing is delivered, and the focus clamps into range.
    #[test]
    fn degenerate_counts() {
        let mut s = FocusSwitch::new(0, 5);
        assert_eq!(s.input(b'a'), Action::None);
        assert_eq!(FocusSwitch::new(2, 9).focused(), 1);
    }
}
