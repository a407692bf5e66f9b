//! A problem found in a deployment.

use alloc::string::String;
use core::fmt;

/// One thing wrong with a deployment: which key, what is wrong, and how to fix it.
///
/// `path` names the key as it is spelt in the file, with array positions counted from 0:
/// `partition[1].cores[0]`, `hypervisor.console.key`. An empty path means the whole file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The key the problem is about.
    pub path: String,
    /// What is wrong, and what was expected.
    pub message: String,
    /// A suggestion for fixing it, if there is one.
    pub help: Option<String>,
}

impl Problem {
    /// A problem about `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
            help: None,
        }
    }

    /// Adds a suggestion.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)?;
        } else {
            write!(f, "{}: {}", self.path, self.message)?;
        }
        if let Some(help) = &self.help {
            write!(f, " (help: {help})")?;
        }
        Ok(())
    }
}
