//! Sizes, durations and numbers as written in the config file.
//!
//! Sizes are whole numbers with a binary unit: `K`/`KiB` (1024), `M`/`MiB`, `G`/`GiB`,
//! `T`/`TiB`, case-insensitive, with or without a space: `"64 MiB"`, `"512M"`, `"2G"`,
//! `"4096 KiB"`. Decimal units (`KB`, `MB`, `GB`) are refused because they are ambiguous, and
//! so is a bare number: a size always says its unit.

use alloc::format;
use alloc::string::String;

/// 1 KiB.
pub const KIB: u64 = 1 << 10;
/// 1 MiB.
pub const MIB: u64 = 1 << 20;
/// 1 GiB.
pub const GIB: u64 = 1 << 30;
/// 1 TiB.
pub const TIB: u64 = 1 << 40;

/// Why a size did not parse. [`SizeError::message`] and [`SizeError::help`] say it in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SizeError {
    /// Nothing was written.
    Empty,
    /// A number without a unit; holds the number.
    NoUnit(u64),
    /// A decimal unit such as `MB`; holds what was written.
    DecimalUnit(String),
    /// A unit that is not one of ours; holds what was written.
    UnknownUnit(String),
    /// A fraction such as `1.5G`.
    Fraction,
    /// No number in front of the unit.
    NotANumber,
    /// More than 2^64 - 1 bytes.
    Overflow,
}

impl SizeError {
    /// What is wrong, in one sentence.
    pub fn message(&self) -> String {
        match self {
            SizeError::Empty => "the size is empty".into(),
            SizeError::NoUnit(n) => format!("the size {n} has no unit"),
            SizeError::DecimalUnit(u) => format!("`{u}` is a decimal unit, which is ambiguous"),
            SizeError::UnknownUnit(u) => format!("`{u}` is not a size unit"),
            SizeError::Fraction => "sizes are whole numbers".into(),
            SizeError::NotANumber => "a size starts with a whole number".into(),
            SizeError::Overflow => "the size does not fit in 64 bits".into(),
        }
    }

    /// How to write it instead.
    pub fn help(&self) -> String {
        match self {
            SizeError::NoUnit(n) if n % MIB == 0 && *n > 0 => {
                format!(
                    "write the unit: \"{} MiB\" (units: KiB, MiB, GiB, TiB)",
                    n / MIB
                )
            }
            SizeError::NoUnit(n) if n % KIB == 0 && *n > 0 => {
                format!(
                    "write the unit: \"{} KiB\" (units: KiB, MiB, GiB, TiB)",
                    n / KIB
                )
            }
            SizeError::DecimalUnit(u) => {
                let bin = match u.chars().next().map(|c| c.to_ascii_uppercase()) {
                    Some('K') => "KiB",
                    Some('M') => "MiB",
                    Some('G') => "GiB",
                    _ => "TiB",
                };
                format!("sizes are binary here: write {bin} (or its one-letter short form)")
            }
            SizeError::Fraction => "write it in a smaller unit, e.g. \"1536 MiB\"".into(),
            _ => "write a whole number and a binary unit, e.g. \"64 MiB\", \"512M\", \"2 GiB\""
                .into(),
        }
    }
}

/// Parses a size with a binary unit, such as `"64 MiB"` or `"2G"`.
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(SizeError::Empty);
    }
    let digits_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '_'))
        .unwrap_or(text.len());
    let (number, rest) = text.split_at(digits_end);
    if rest.starts_with('.') || rest.starts_with(',') {
        return Err(SizeError::Fraction);
    }
    let number = number.replace('_', "");
    if number.is_empty() {
        return Err(SizeError::NotANumber);
    }
    let value: u64 = number.parse().map_err(|_| SizeError::Overflow)?;
    let unit = rest.trim();
    let scale = match unit.to_ascii_lowercase().as_str() {
        "" => return Err(SizeError::NoUnit(value)),
        "k" | "kib" => KIB,
        "m" | "mib" => MIB,
        "g" | "gib" => GIB,
        "t" | "tib" => TIB,
        "kb" | "mb" | "gb" | "tb" => return Err(SizeError::DecimalUnit(unit.into())),
        _ => return Err(SizeError::UnknownUnit(unit.into())),
    };
    value.checked_mul(scale).ok_or(SizeError::Overflow)
}

/// Formats a byte count in the largest binary unit that divides it exactly: `"64 MiB"`.
pub fn format_size(bytes: u64) -> String {
    for (scale, unit) in [(TIB, "TiB"), (GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")] {
        if bytes >= scale && bytes.is_multiple_of(scale) {
            return format!("{} {unit}", bytes / scale);
        }
    }
    format!("{bytes} bytes")
}

/// Parses a duration: a whole number with `s`, `m`/`min` or `h`, e.g. `"60s"`, `"5 min"`.
/// Returns seconds.
pub fn parse_duration(text: &str) -> Option<u32> {
    let text = text.trim();
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let value: u32 = number.parse().ok()?;
    let scale = match unit.trim() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hour" | "hours" => 3600,
        _ => return None,
    };
    value.checked_mul(scale)
}

/// Formats seconds as the shortest exact duration: `"90s"`, `"5m"`, `"2h"`.
pub fn format_duration(secs: u32) -> String {
    if secs > 0 && secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs > 0 && secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

/// Parses an integer written in a string: decimal, or `0x`, `0o`, `0b` prefixed, with
/// optional `_` separators.
pub fn parse_integer(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, radix) = if let Some(rest) = text.strip_prefix("0x").or(text.strip_prefix("0X")) {
        (rest, 16)
    } else if let Some(rest) = text.strip_prefix("0o") {
        (rest, 8)
    } else if let Some(rest) = text.strip_prefix("0b") {
        (rest, 2)
    } else {
        (text, 10)
    };
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') {
        return None;
    }
    let digits = digits.replace('_', "");
    u64::from_str_radix(&digits, radix).ok()
}

/// Parses `"A-B"` (inclusive) or a single `"A"` into a pair, each side as in
/// [`parse_integer`].
pub fn parse_range(text: &str) -> Option<(u64, u64)> {
    match text.split_once('-') {
        Some((a, b)) => Some((parse_integer(a)?, parse_integer(b)?)),
        None => {
            let v = parse_integer(text)?;
            Some((v, v))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every accepted unit spelling scales by a power of 1024.
    #[test]
    fn sizes_parse_binary_units() {
        assert_eq!(parse_size("64 MiB"), Ok(64 * MIB));
        assert_eq!(parse_size("512M"), Ok(512 * MIB));
        assert_eq!(parse_size("2G"), Ok(2 * GIB));
        assert_eq!(parse_size("4096K"), Ok(4096 * KIB));
        assert_eq!(parse_size("1 tib"), Ok(TIB));
        assert_eq!(parse_size("1_024 KiB"), Ok(MIB));
    }

    /// Bare numbers, decimal units and fractions are refused with a reason.
    #[test]
    fn sizes_refuse_ambiguity() {
        assert_eq!(parse_size("4096"), Err(SizeError::NoUnit(4096)));
        assert_eq!(
            parse_size("64 MB"),
            Err(SizeError::DecimalUnit("MB".into()))
        );
        assert_eq!(parse_size("1.5G"), Err(SizeError::Fraction));
        assert_eq!(parse_size("MiB"), Err(SizeError::NotANumber));
        assert_eq!(parse_size("20000000 TiB"), Err(SizeError::Overflow));
        assert_eq!(
            parse_size("3 apples"),
            Err(SizeError::UnknownUnit("apples".into()))
        );
    }

    /// Formatting picks the largest exact unit.
    #[test]
    fn sizes_format_exactly() {
        assert_eq!(format_size(64 * MIB), "64 MiB");
        assert_eq!(format_size(1536 * MIB), "1536 MiB");
        assert_eq!(format_size(4 * KIB), "4 KiB");
        assert_eq!(format_size(1000), "1000 bytes");
    }

    /// Durations take s, m and h.
    #[test]
    fn durations() {
        assert_eq!(parse_duration("60s"), Some(60));
        assert_eq!(parse_duration("5 min"), Some(300));
        assert_eq!(parse_duration("2h"), Some(7200));
        assert_eq!(parse_duration("2 fortnights"), None);
        assert_eq!(format_duration(300), "5m");
    }

    /// Integers and ranges in strings take the TOML radix prefixes.
    #[test]
    fn integers_and_ranges() {
        assert_eq!(parse_integer("0x3f8"), Some(0x3F8));
        assert_eq!(parse_integer("0b101"), Some(5));
        assert_eq!(parse_range("0x3f8-0x3ff"), Some((0x3F8, 0x3FF)));
        assert_eq!(parse_range("0x80"), Some((0x80, 0x80)));
        assert_eq!(parse_range("0x80-"), None);
    }
}
