//! "Did you mean" suggestions for misspelt keys and names.

use alloc::vec::Vec;

/// The Levenshtein distance between two strings, counted in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = Vec::with_capacity(b.len() + 1);
    for (i, ca) in a.chars().enumerate() {
        cur.clear();
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != *cb);
            let delete = prev[j + 1] + 1;
            let insert = cur[j] + 1;
            cur.push(substitute.min(delete).min(insert));
        }
        core::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate closest to `word`, if it is close enough to be a likely typo: at most a
/// third of the word's length away (and at least one edit is always allowed), or `word`
/// differs from it only in case, `-` versus `_`, or it is a prefix of it.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let normalized = |s: &str| -> alloc::string::String {
        s.chars()
            .map(|c| {
                if c == '-' {
                    '_'
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    };
    let word_n = normalized(word);
    let limit = (word.chars().count() / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let cand_n = normalized(candidate);
        let d = if cand_n == word_n {
            0
        } else if word_n.len() >= 3 && cand_n.starts_with(&word_n) {
            1
        } else {
            edit_distance(&word_n, &cand_n)
        };
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distances count insertions, deletions and substitutions.
    #[test]
    fn distances() {
        assert_eq!(edit_distance("kernal", "kernel"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("flaw", "lawn"), 2);
    }

    /// Close typos are suggested, unrelated words are not.
    #[test]
    fn suggestions() {
        let keys = ["kernel", "initrd", "cmdline", "protocol"];
        assert_eq!(nearest("kernal", keys), Some("kernel"));
        assert_eq!(nearest("command_line", keys), None);
        assert_eq!(nearest("proto", keys), Some("protocol"));
        assert_eq!(nearest("zzz", keys), None);
    }
}
