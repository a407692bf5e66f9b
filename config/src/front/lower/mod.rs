//! Building the model from the spanned TOML tree.
//!
//! Every key and value is read by hand, so each problem carries the span of exactly the
//! text it is about, and reading goes on past a problem: a bad value is reported, a
//! neutral placeholder takes its place, and its path is marked so that validation does
//! not pile a second, derived complaint on top of the first.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use crate::suggest::nearest;
use crate::units::{self, SizeError, parse_size};

use super::keys::{self, TableKeys};

mod hypervisor;

pub use hypervisor::key_from_file;
mod partition;

type Val<'i> = Spanned<DeValue<'i>>;

/// The UDP port of the network console when `port` is not given.
pub(crate) const DEFAULT_CONSOLE_PORT: u16 = 7777;

/// A problem found while reading the file.
#[derive(Clone, Debug)]
pub(crate) struct Issue {
    pub span: Range<usize>,
    pub path: String,
    pub message: String,
    pub help: Option<String>,
}

/// The lowering's state: the problems so far, where every model path came from, and which
/// paths hold placeholders.
pub(crate) struct Lower<'a> {
    pub issues: Vec<Issue>,
    pub spans: BTreeMap<String, Range<usize>>,
    pub poisoned: Vec<String>,
    base_dir: &'a Path,
}

/// The result of reading an optional key.
pub(super) enum Got<T> {
    Absent,
    Bad,
    Val(T),
}

impl<T> Got<T> {
    pub(super) fn or(self, default: T) -> T {
        match self {
            Got::Val(v) => v,
            Got::Absent | Got::Bad => default,
        }
    }

    pub(super) fn opt(self) -> Option<T> {
        match self {
            Got::Val(v) => Some(v),
            Got::Absent | Got::Bad => None,
        }
    }
}

/// A table being read.
pub(super) struct Table<'t, 'i> {
    map: &'t DeTable<'i>,
    path: String,
    span: Range<usize>,
    keys: &'static TableKeys,
}

impl<'t, 'i> Table<'t, 'i> {
    pub(super) fn get(&self, key: &str) -> Option<&'t Val<'i>> {
        self.map
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map(|(_, v)| v)
    }

    pub(super) fn key_span(&self, key: &str) -> Option<Range<usize>> {
        self.map
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map(|(k, _)| k.span())
    }

    pub(super) fn child(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }
}

pub(super) fn describe(v: &DeValue<'_>) -> String {
    match v {
        DeValue::String(s) => format!("the string \"{}\"", s.escape_debug()),
        DeValue::Integer(i) => format!("the integer {i}"),
        DeValue::Float(f) => format!("the float {f}"),
        DeValue::Boolean(b) => format!("the boolean {b}"),
        DeValue::Datetime(_) => "a datetime".to_owned(),
        DeValue::Array(_) => "an array".to_owned(),
        DeValue::Table(_) => "a table".to_owned(),
    }
}

fn int_of(v: &DeValue<'_>) -> Option<i128> {
    match v {
        DeValue::Integer(i) => i128::from_str_radix(i.as_str(), i.radix()).ok(),
        _ => None,
    }
}

fn quote_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

impl<'a> Lower<'a> {
    pub(crate) fn new(base_dir: &'a Path) -> Self {
        Self {
            issues: Vec::new(),
            spans: BTreeMap::new(),
            poisoned: Vec::new(),
            base_dir,
        }
    }

    pub(super) fn issue(
        &mut self,
        span: Range<usize>,
        path: impl Into<String>,
        message: impl Into<String>,
        help: Option<String>,
    ) {
        let path = path.into();
        self.poisoned.push(path.clone());
        self.issues.push(Issue {
            span,
            path,
            message: message.into(),
            help,
        });
    }

    pub(super) fn record(&mut self, path: &str, span: Range<usize>) {
        self.spans.entry(path.to_owned()).or_insert(span);
    }

    pub(super) fn poison(&mut self, path: impl Into<String>) {
        self.poisoned.push(path.into());
    }

    pub(super) fn expected(
        &mut self,
        v: &Val<'_>,
        path: &str,
        expected: &str,
        help: Option<String>,
    ) {
        let message = format!("expected {expected}, found {}", describe(v.get_ref()));
        self.issue(v.span(), path, message, help);
    }

    // ---- tables and keys --------------------------------------------------------------

    /// Opens `v` as a table, reporting every key it does not accept.
    pub(super) fn open<'t, 'i>(
        &mut self,
        v: &'t Val<'i>,
        path: String,
        keys: &'static TableKeys,
    ) -> Option<Table<'t, 'i>> {
        self.record(&path, v.span());
        let DeValue::Table(map) = v.get_ref() else {
            self.expected(v, &path, &format!("a table ({})", keys.name), None);
            return None;
        };
        let table = Table {
            map,
            path,
            span: v.span(),
            keys,
        };
        self.unknown_keys(&table);
        Some(table)
    }

    pub(super) fn unknown_keys(&mut self, t: &Table<'_, '_>) {
        for (k, _) in t.map.iter() {
            let key = k.get_ref().as_ref();
            if t.keys.keys.contains(&key) {
                continue;
            }
            let help = if let Some(s) = nearest(key, t.keys.keys.iter().copied()) {
                format!("did you mean `{s}`?")
            } else if let Some(home) = keys::ALL
                .iter()
                .find(|other| other.name != t.keys.name && other.keys.contains(&key))
            {
                format!("`{key}` belongs in {}", home.name)
            } else {
                format!("{} accepts: {}", t.keys.name, t.keys.keys.join(", "))
            };
            self.issue(
                k.span(),
                t.child(key),
                format!("unknown key `{key}` in {}", t.keys.name),
                Some(help),
            );
        }
    }

    pub(super) fn required<'t, 'i>(
        &mut self,
        t: &Table<'t, 'i>,
        key: &str,
        help: &str,
    ) -> Option<&'t Val<'i>> {
        let v = t.get(key);
        // A misspelling of the key was already reported with this key as its suggestion;
        // saying it is missing as well would only repeat that.
        let misspelt = t.map.iter().any(|(k, _)| {
            let k = k.get_ref().as_ref();
            !t.keys.keys.contains(&k) && nearest(k, t.keys.keys.iter().copied()) == Some(key)
        });
        if misspelt {
            self.poison(t.child(key));
        } else if v.is_none() {
            self.issue(
                t.span.clone(),
                t.child(key),
                format!("missing key `{key}` in {}", t.keys.name),
                Some(help.to_owned()),
            );
        }
        v
    }

    pub(super) fn field<'t, 'i, T>(
        &mut self,
        t: &Table<'t, 'i>,
        key: &str,
        read: impl FnOnce(&mut Self, &'t Val<'i>, &str) -> Option<T>,
    ) -> Got<T> {
        match t.get(key) {
            None => Got::Absent,
            Some(v) => {
                let path = t.child(key);
                self.record(&path, v.span());
                match read(self, v, &path) {
                    Some(x) => Got::Val(x),
                    None => Got::Bad,
                }
            }
        }
    }

    // ---- scalar readers -----------------------------------------------------------------

    pub(super) fn string(&mut self, v: &Val<'_>, path: &str) -> Option<String> {
        self.record(path, v.span());
        match v.get_ref() {
            DeValue::String(s) => Some(s.to_string()),
            _ => {
                self.expected(v, path, "a string", None);
                None
            }
        }
    }

    pub(super) fn boolean(&mut self, v: &Val<'_>, path: &str) -> Option<bool> {
        self.record(path, v.span());
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.expected(v, path, "`true` or `false`", None);
                None
            }
        }
    }

    pub(super) fn int(&mut self, v: &Val<'_>, path: &str, min: i128, max: i128) -> Option<i128> {
        self.record(path, v.span());
        let Some(n) = int_of(v.get_ref()) else {
            self.expected(v, path, "an integer", None);
            return None;
        };
        if n < min || n > max {
            // Answer in the radix the number was written in.
            let hex = matches!(v.get_ref(), DeValue::Integer(i) if i.radix() == 16);
            let (lo, hi) = if hex {
                (format!("{min:#x}"), format!("{max:#x}"))
            } else {
                (min.to_string(), max.to_string())
            };
            self.issue(
                v.span(),
                path,
                format!("{n} is out of range: expected {lo} to {hi}"),
                None,
            );
            return None;
        }
        Some(n)
    }

    pub(super) fn u32(&mut self, v: &Val<'_>, path: &str) -> Option<u32> {
        self.int(v, path, 0, i128::from(u32::MAX)).map(|n| n as u32)
    }

    pub(super) fn u16(&mut self, v: &Val<'_>, path: &str) -> Option<u16> {
        self.int(v, path, 0, i128::from(u16::MAX)).map(|n| n as u16)
    }

    pub(super) fn size(&mut self, v: &Val<'_>, path: &str) -> Option<u64> {
        self.record(path, v.span());
        let text = match v.get_ref() {
            DeValue::String(s) => s.to_string(),
            DeValue::Integer(_) => {
                let n = int_of(v.get_ref())
                    .unwrap_or(0)
                    .clamp(0, i128::from(u64::MAX)) as u64;
                let e = SizeError::NoUnit(n);
                self.issue(
                    v.span(),
                    path,
                    format!("{}: sizes are strings with a unit", e.message()),
                    Some(e.help()),
                );
                return None;
            }
            _ => {
                self.expected(
                    v,
                    path,
                    "a size such as \"64 MiB\"",
                    Some("sizes are strings with a binary unit: KiB, MiB, GiB, TiB".into()),
                );
                return None;
            }
        };
        match parse_size(&text) {
            Ok(n) => Some(n),
            Err(e) => {
                self.issue(v.span(), path, e.message(), Some(e.help()));
                None
            }
        }
    }

    /// A guest-physical address: an integer (`0x100000`) or a size string (`"4 GiB"`).
    pub(super) fn address(&mut self, v: &Val<'_>, path: &str) -> Option<u64> {
        match v.get_ref() {
            DeValue::String(_) => self.size(v, path),
            _ => self.int(v, path, 0, i128::from(u64::MAX)).map(|n| n as u64),
        }
    }

    /// A range: `"0x3f8-0x3ff"`, a single `"0x80"` or `0x80`, or `{ start, end }`.
    pub(super) fn range(&mut self, v: &Val<'_>, path: &str, max: u64) -> Option<(u64, u64)> {
        self.record(path, v.span());
        let help = || {
            Some(format!(
                "write \"0x3f8-0x3ff\", a single 0x80, or {{ start = 0x3f8, end = 0x3ff }}; values up to {max:#x}"
            ))
        };
        let (start, end) = match v.get_ref() {
            DeValue::Integer(_) => {
                let n = self.int(v, path, 0, i128::from(max))? as u64;
                (n, n)
            }
            DeValue::String(s) => match units::parse_range(s) {
                Some(r) => r,
                None => {
                    self.issue(
                        v.span(),
                        path,
                        format!("\"{}\" is not a range", s.escape_debug()),
                        help(),
                    );
                    return None;
                }
            },
            DeValue::Table(_) => {
                let t = self.open(v, path.to_owned(), &keys::RANGE)?;
                let s = self.required(&t, "start", "give both start and end")?;
                let start = self.int(s, &t.child("start"), 0, i128::from(max))? as u64;
                let e = self.required(&t, "end", "give both start and end")?;
                let end = self.int(e, &t.child("end"), 0, i128::from(max))? as u64;
                (start, end)
            }
            _ => {
                self.expected(v, path, "a range", help());
                return None;
            }
        };
        if start > max || end > max {
            self.issue(
                v.span(),
                path,
                format!(
                    "{:#x} is out of range: expected 0 to {max:#x}",
                    start.max(end)
                ),
                None,
            );
            return None;
        }
        if start > end {
            self.issue(
                v.span(),
                path,
                format!("range {start:#x}-{end:#x} ends before it starts"),
                Some("write the lower bound first".into()),
            );
            return None;
        }
        Some((start, end))
    }

    pub(super) fn array<'t, 'i>(
        &mut self,
        v: &'t Val<'i>,
        path: &str,
        of: &str,
    ) -> Option<&'t DeArray<'i>> {
        self.record(path, v.span());
        match v.get_ref() {
            DeValue::Array(a) => Some(a),
            _ => {
                self.expected(v, path, &format!("an array of {of}"), None);
                None
            }
        }
    }

    /// Reads every element of an array; if any is bad the whole list is dropped, so that
    /// element indexes in later messages stay those of the file.
    pub(super) fn list<'t, 'i, T>(
        &mut self,
        v: &'t Val<'i>,
        path: &str,
        of: &str,
        mut read: impl FnMut(&mut Self, &'t Val<'i>, &str) -> Option<T>,
    ) -> Option<Vec<T>> {
        let a = self.array(v, path, of)?;
        let mut out = Vec::with_capacity(a.len());
        let mut ok = true;
        for (k, item) in a.iter().enumerate() {
            let ip = format!("{path}[{k}]");
            self.record(&ip, item.span());
            match read(self, item, &ip) {
                Some(x) => out.push(x),
                None => ok = false,
            }
        }
        if ok {
            Some(out)
        } else {
            self.poison(path);
            None
        }
    }

    pub(super) fn choice<T>(
        &mut self,
        v: &Val<'_>,
        path: &str,
        names: &[&'static str],
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        let s = self.string(v, path)?;
        if let Some(x) = parse(&s) {
            return Some(x);
        }
        let help = match nearest(&s, names.iter().copied()) {
            Some(n) => format!("did you mean \"{n}\"?"),
            None => format!("expected one of {}", quote_list(names)),
        };
        self.issue(
            v.span(),
            path,
            format!(
                "\"{}\" is not one of {}",
                s.escape_debug(),
                quote_list(names)
            ),
            Some(help),
        );
        None
    }
}
