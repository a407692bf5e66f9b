//! Deterministic randomness from a caller's seed: HKDF-SHA256 expanded with a label, an
//! internal counter and a context.
//!
//! The crate has no entropy source of its own (it runs on bare metal with no clock).
//! The client's seed comes from the operating system and is secret; the hypervisor's
//! may be weak, even repeat across boots. Where that matters the callers pass the
//! peer's random nonce as the context, so the outputs differ whenever the peer's nonce
//! does, whatever the seed: see `docs/netconsole.md`, "Randomness".

use hkdf::Hkdf;
use sha2::Sha256;

const SALT: &[u8] = b"bulkhead-netconsole v2 random";

/// A generator of labelled random values.
#[derive(Clone)]
pub(crate) struct Random {
    hkdf: Hkdf<Sha256>,
    counter: u64,
}

impl core::fmt::Debug for Random {
    // The state is the seed's pseudorandom key; it never reaches a log.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Random(..)")
    }
}

impl Random {
    pub(crate) fn new(seed: &[u8; 32]) -> Self {
        Self {
            hkdf: Hkdf::new(Some(SALT), seed),
            counter: 0,
        }
    }

    /// Fills `out` with the next value for `label`, bound to `context`.
    pub(crate) fn fill(&mut self, label: &[u8], context: &[u8], out: &mut [u8]) {
        self.counter += 1;
        self.hkdf
            .expand_multi_info(&[label, &self.counter.to_le_bytes(), context], out)
            .expect("callers ask for far less than HKDF-SHA256's 8160-byte limit");
    }

    pub(crate) fn array<const N: usize>(&mut self, label: &[u8], context: &[u8]) -> [u8; N] {
        let mut out = [0u8; N];
        self.fill(label, context, &mut out);
        out
    }

    pub(crate) fn u64(&mut self, label: &[u8], context: &[u8]) -> u64 {
        u64::from_le_bytes(self.array(label, context))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two generators from one seed agree; every call differs, and so does every
    /// context, even from one seed and counter.
    #[test]
    fn deterministic_and_distinct() {
        let (mut a, mut b) = (Random::new(&[1; 32]), Random::new(&[1; 32]));
        let first: [u8; 16] = a.array(b"x", b"");
        assert_eq!(first, b.array::<16>(b"x", b""));
        assert_ne!(first, a.array::<16>(b"x", b""));
        let (mut c, mut d) = (Random::new(&[1; 32]), Random::new(&[1; 32]));
        assert_ne!(c.u64(b"x", b"peer one"), d.u64(b"x", b"peer two"));
        assert_ne!(
            Random::new(&[2; 32]).u64(b"x", b""),
            Random::new(&[3; 32]).u64(b"x", b"")
        );
    }
}
