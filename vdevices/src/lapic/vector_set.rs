//! A set of the 256 interrupt vectors laid out as the APIC's ISR, TMR and IRR
//! are: eight 32-bit words, word `n` holding vectors `32n..32n+31`
//! (SDM Vol. 3A §11.8.4, Figure 11-20).

/// 256 bits, one per vector.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct VectorSet([u32; 8]);

impl VectorSet {
    pub(super) fn set(&mut self, vector: u8) {
        self.0[usize::from(vector >> 5)] |= 1 << (vector & 31);
    }

    pub(super) fn clear(&mut self, vector: u8) {
        self.0[usize::from(vector >> 5)] &= !(1 << (vector & 31));
    }

    pub(super) fn contains(&self, vector: u8) -> bool {
        self.0[usize::from(vector >> 5)] & (1 << (vector & 31)) != 0
    }

    /// The highest vector in the set: the APIC's priority is the vector
    /// number, higher first.
    pub(super) fn highest(&self) -> Option<u8> {
        self.0
            .iter()
            .enumerate()
            .rev()
            .find(|(_, word)| **word != 0)
            .map(|(index, word)| {
                // index < 8 and the bit position < 32, so this fits in a u8.
                (index as u32 * 32 + 31 - word.leading_zeros()) as u8
            })
    }

    /// Word `index` (0..8) as the guest reads it; 0 past the end.
    pub(super) fn word(&self, index: usize) -> u32 {
        self.0.get(index).copied().unwrap_or(0)
    }

    pub(super) fn words(&self) -> [u32; 8] {
        self.0
    }
}
