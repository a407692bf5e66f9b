//! Options the core takes from its boot command line.
//!
//! The command line a Multiboot loader passes starts with the image's own
//! name (QEMU and iPXE both do this), followed by `key=value` words. Words
//! the core does not know are kept for later stages and otherwise ignored.

/// An exception the core raises on purpose, so tests can watch the
/// exception path print its register dump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestFault {
    /// `ud2`: invalid opcode, no error code.
    InvalidOpcode,
    /// A write through a non-canonical address: general protection, error code 0.
    GeneralProtection,
    /// A read of an unmapped page: page fault with CR2 set.
    PageFault,
    /// `int3`.
    Breakpoint,
}

/// What the command line asks of the core.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// `bulkhead.test-fault=KIND[@CORE]`: raise an exception after bring-up on that core (default 0).
    pub test_fault: Option<(TestFault, u32)>,
}

/// A word of the command line the core could not accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadOption<'a> {
    /// The whole word.
    pub word: &'a str,
    /// What was expected.
    pub expected: &'static str,
}

impl Options {
    /// Parses the command line; bad values of known keys are returned, not guessed.
    pub fn parse(cmdline: &str) -> (Self, Option<BadOption<'_>>) {
        let mut options = Self::default();
        let mut bad = None;
        for word in cmdline.split_ascii_whitespace() {
            let Some(value) = word.strip_prefix("bulkhead.test-fault=") else {
                continue;
            };
            match parse_fault(value) {
                Some(fault) => options.test_fault = Some(fault),
                None => {
                    bad = Some(BadOption {
                        word,
                        expected: "ud, gp, pf or bp, optionally followed by @CORE",
                    })
                }
            }
        }
        (options, bad)
    }
}

fn parse_fault(value: &str) -> Option<(TestFault, u32)> {
    let (kind, core) = match value.split_once('@') {
        Some((kind, core)) => (kind, core.parse().ok()?),
        None => (value, 0),
    };
    let kind = match kind {
        "ud" => TestFault::InvalidOpcode,
        "gp" => TestFault::GeneralProtection,
        "pf" => TestFault::PageFault,
        "bp" => TestFault::Breakpoint,
        _ => return None,
    };
    Some((kind, core))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The image name and unknown words are ignored; the fault switch is read with its core.
    #[test]
    fn parses_test_fault() {
        let (opts, bad) = Options::parse("/tmp/bulkhead.img quiet bulkhead.test-fault=pf@2");
        assert_eq!(opts.test_fault, Some((TestFault::PageFault, 2)));
        assert_eq!(bad, None);
        let (opts, _) = Options::parse("bulkhead.test-fault=ud");
        assert_eq!(opts.test_fault, Some((TestFault::InvalidOpcode, 0)));
        assert_eq!(Options::parse("").0, Options::default());
    }

    /// A bad value is reported with the word, and no fault is armed.
    #[test]
    fn reports_bad_values() {
        for word in [
            "bulkhead.test-fault=xx",
            "bulkhead.test-fault=gp@",
            "bulkhead.test-fault=gp@x",
        ] {
            let (opts, bad) = Options::parse(word);
            assert_eq!(opts.test_fault, None);
            assert_eq!(bad.unwrap().word, word);
        }
    }
}
