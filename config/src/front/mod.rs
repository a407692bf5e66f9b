//! The TOML front end: read a config file, build the model, validate it, check the files
//! it names, and report every problem at once with its place in the file.

mod diag;
mod files;
mod keys;
mod lower;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::DeTable;

pub use diag::{Diagnostic, Diagnostics};
pub use files::{ImageInfo, PartitionFiles};
pub use lower::key_from_file;

use crate::model::Deployment;
use diag::Raw;

/// How much [`load_with`] checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadOptions {
    /// Read the kernels, initrds and modules: they must exist and be readable, and each
    /// kernel must match its protocol. On by default; off, paths are only resolved.
    /// The console's `key_file` is read either way, since the key is part of the table.
    pub check_images: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self { check_images: true }
    }
}

/// A config file that passed every check.
#[derive(Clone, Debug)]
pub struct LoadedDeployment {
    /// The model, ready for [`Deployment::to_bytes`].
    pub deployment: Deployment,
    /// The file it came from.
    pub config_path: PathBuf,
    /// Each partition's files, resolved against the config file's directory, in partition
    /// order.
    pub files: Vec<PartitionFiles>,
}

/// Loads and checks a config file with every check on. On failure, the diagnostics hold
/// every problem found, not only the first.
pub fn load(path: impl AsRef<Path>) -> Result<LoadedDeployment, Diagnostics> {
    load_with(path, &LoadOptions::default())
}

/// Loads and checks a config file.
pub fn load_with(
    path: impl AsRef<Path>,
    options: &LoadOptions,
) -> Result<LoadedDeployment, Diagnostics> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| {
        Diagnostics::whole_file(path, format!("cannot read {}: {e}", path.display()))
    })?;
    match String::from_utf8(bytes) {
        Ok(source) => load_str(&source, path, options),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let source = String::from_utf8_lossy(e.as_bytes()).into_owned();
            Err(Diagnostics::new(
                path,
                &source,
                vec![Raw {
                    span: at..at + 1,
                    key: String::new(),
                    message: "the file is not valid UTF-8".into(),
                    help: Some("TOML files are UTF-8 text".into()),
                }],
            ))
        }
    }
}

/// Loads and checks config text as if it were the file at `path`: relative paths in it are
/// resolved against `path`'s directory, and diagnostics name `path`.
pub fn load_str(
    source: &str,
    path: impl AsRef<Path>,
    options: &LoadOptions,
) -> Result<LoadedDeployment, Diagnostics> {
    let path = path.as_ref();
    let base = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let (root, syntax) = DeTable::parse_recoverable(source);
    if !syntax.is_empty() {
        // After a syntax error the recovered tree is guesswork: report the syntax alone.
        let raw = syntax
            .iter()
            .map(|e| {
                let span = e.span().unwrap_or(0..0);
                let mut message = e.message().trim().to_owned();
                if message == "duplicate key"
                    && let Some(key) = source.get(span.clone())
                {
                    message = format!("duplicate key `{key}`");
                }
                Raw {
                    span,
                    key: String::new(),
                    message: format!("syntax error: {message}"),
                    help: syntax_help(&message),
                }
            })
            .collect();
        return Err(Diagnostics::new(path, source, raw));
    }

    let mut lower = lower::Lower::new(&base);
    let deployment = lower.document(&root);
    let mut raw: Vec<Raw> = lower
        .issues
        .iter()
        .map(|i| Raw {
            span: i.span.clone(),
            key: i.path.clone(),
            message: i.message.clone(),
            help: i.help.clone(),
        })
        .collect();
    let mut problems = deployment.validate().err().unwrap_or_default();

    let mut files: Vec<PartitionFiles> = deployment
        .partitions
        .iter()
        .map(|p| files::resolve(p, &base))
        .collect();
    if options.check_images {
        for (i, (p, f)) in deployment
            .partitions
            .iter()
            .zip(files.iter_mut())
            .enumerate()
        {
            let boot = format!("partition[{i}].boot");
            if is_poisoned(&lower.poisoned, &boot) {
                continue;
            }
            files::check(i, p, f, &mut problems);
        }
    }
    for problem in problems {
        if is_poisoned(&lower.poisoned, &problem.path) {
            continue;
        }
        raw.push(Raw {
            span: span_of(&lower.spans, &problem.path),
            key: problem.path,
            message: problem.message,
            help: problem.help,
        });
    }
    if raw.is_empty() {
        Ok(LoadedDeployment {
            deployment,
            config_path: path.to_owned(),
            files,
        })
    } else {
        Err(Diagnostics::new(path, source, raw))
    }
}

fn syntax_help(message: &str) -> Option<String> {
    if message.starts_with("duplicate key") {
        Some("each key may appear once per table".into())
    } else if message.contains("string values must be quoted") {
        Some("put text in double quotes: key = \"value\"".into())
    } else {
        None
    }
}

/// Whether `child` is `ancestor` or lies under it.
fn is_under(child: &str, ancestor: &str) -> bool {
    child == ancestor
        || (child.starts_with(ancestor)
            && matches!(child.as_bytes().get(ancestor.len()), Some(b'.' | b'[')))
}

/// Whether a problem at `path` is about a placeholder: its key, or one above it, already
/// had a problem of its own.
fn is_poisoned(poisoned: &[String], path: &str) -> bool {
    poisoned.iter().any(|p| is_under(path, p))
}

/// The span recorded for `path`, or for the nearest key above it.
fn span_of(spans: &BTreeMap<String, Range<usize>>, path: &str) -> Range<usize> {
    let mut p = path;
    loop {
        if let Some(s) = spans.get(p) {
            return s.clone();
        }
        if p.is_empty() {
            return 0..0;
        }
        p = if p.ends_with(']') {
            p.rfind('[').map_or("", |n| &p[..n])
        } else {
            p.rfind('.').map_or("", |n| &p[..n])
        };
    }
}
