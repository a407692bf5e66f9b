//! Diagnostics: every problem with its place in the file, rendered with the source line
//! and a caret.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem, placed in the config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The key path, as in [`Problem::path`](crate::Problem::path); empty for syntax errors.
    pub key: String,
    /// 1-based line of the span's start.
    pub line: usize,
    /// 1-based column, in characters, of the span's start.
    pub column: usize,
    /// Byte range in the source the problem is about.
    pub span: Range<usize>,
    /// What is wrong and what was expected.
    pub message: String,
    /// A suggestion, if there is one.
    pub help: Option<String>,
}

/// Every problem found in one config file, in the order they appear in it.
#[derive(Clone, Debug)]
pub struct Diagnostics {
    file: PathBuf,
    source: String,
    items: Vec<Diagnostic>,
}

/// A problem before it is placed: a span, a key path and the words.
pub(crate) struct Raw {
    pub span: Range<usize>,
    pub key: String,
    pub message: String,
    pub help: Option<String>,
}

impl Diagnostics {
    /// Places raw problems in `source`, sorted by position, exact duplicates dropped.
    pub(crate) fn new(file: &Path, source: &str, mut raw: Vec<Raw>) -> Self {
        raw.sort_by_key(|r| r.span.start);
        let mut items: Vec<Diagnostic> = Vec::with_capacity(raw.len());
        for r in raw {
            if items
                .iter()
                .any(|d| d.span == r.span && d.message == r.message)
            {
                continue;
            }
            let start = floor_char_boundary(source, r.span.start.min(source.len()));
            let end = floor_char_boundary(source, r.span.end.clamp(start, source.len()));
            let (line, column) = line_col(source, start);
            items.push(Diagnostic {
                key: r.key,
                line,
                column,
                span: start..end,
                message: r.message,
                help: r.help,
            });
        }
        Self {
            file: file.to_owned(),
            source: source.to_owned(),
            items,
        }
    }

    /// A single problem that is not about any place in the file (it cannot be read).
    pub(crate) fn whole_file(file: &Path, message: String) -> Self {
        Self {
            file: file.to_owned(),
            source: String::new(),
            items: vec![Diagnostic {
                key: String::new(),
                line: 1,
                column: 1,
                span: 0..0,
                message,
                help: None,
            }],
        }
    }

    /// The problems, in file order.
    pub fn items(&self) -> &[Diagnostic] {
        &self.items
    }

    /// The config file the problems are in.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// How many problems there are.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none (a `Diagnostics` returned as an error never is).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Renders every problem, plain text, no colours:
    ///
    /// ```text
    /// error: unknown key `kernal` in [partition.boot]
    ///   --> deploy.toml:14:1
    ///    |
    /// 14 | kernal = "bzImage"
    ///    | ^^^^^^
    ///    = key: partition[0].boot.kernal
    ///    = help: did you mean `kernel`?
    /// ```
    pub fn render(&self) -> String {
        let mut out = String::new();
        let width = self
            .items
            .iter()
            .map(|d| d.line.to_string().len())
            .max()
            .unwrap_or(1);
        let pad = " ".repeat(width);
        for d in &self.items {
            out.push_str(&format!("error: {}\n", d.message));
            out.push_str(&format!(
                "{pad}--> {}:{}:{}\n",
                self.file.display(),
                d.line,
                d.column
            ));
            if let Some(text) = self.source.lines().nth(d.line.saturating_sub(1)) {
                let line_start = line_start(&self.source, d.span.start);
                let before = &self.source[line_start..d.span.start];
                let underline_end = d.span.end.min(line_start + text.len());
                let under = self
                    .source
                    .get(d.span.start..underline_end)
                    .map_or(0, |s| s.chars().count())
                    .max(1);
                // Keep tabs so the caret lines up under the same characters.
                let lead: String = before
                    .chars()
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                out.push_str(&format!("{pad} |\n"));
                out.push_str(&format!("{:>width$} | {text}\n", d.line));
                out.push_str(&format!("{pad} | {lead}{}\n", "^".repeat(under)));
            }
            if !d.key.is_empty() {
                out.push_str(&format!("{pad} = key: {}\n", d.key));
            }
            if let Some(help) = &d.help {
                out.push_str(&format!("{pad} = help: {help}\n"));
            }
            out.push('\n');
        }
        let n = self.items.len();
        out.push_str(&format!(
            "{n} problem{} found in {}\n",
            if n == 1 { "" } else { "s" },
            self.file.display()
        ));
        out
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for Diagnostics {}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

fn floor_char_boundary(s: &str, mut at: usize) -> usize {
    while at > 0 && !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn line_start(source: &str, at: usize) -> usize {
    source[..at].rfind('\n').map_or(0, |n| n + 1)
}

/// 1-based line and column (in characters) of byte offset `at`.
pub(crate) fn line_col(source: &str, at: usize) -> (usize, usize) {
    let at = floor_char_boundary(source, at.min(source.len()));
    let line = source[..at].matches('\n').count() + 1;
    let column = source[line_start(source, at)..at].chars().count() + 1;
    (line, column)
}
