//! A partition's recent console output, by absolute position, for clients that attach
//! late or come back after an outage.
//!
//! Positions count every byte the partition produced since boot, including bytes lost
//! before they reached the service ([`History::lose`]): the history keeps those as
//! holes, so a client that resumes across one gets a gap of exactly the lost count and
//! the bytes on both sides of it.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// Bytes per stored chunk: trimming the oldest bytes moves at most this much.
const CHUNK: usize = 4096;
/// What a hole costs against the capacity, so that holes alone cannot grow the history.
const HOLE_COST: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Bytes(Vec<u8>),
    Hole(u64),
}

impl Piece {
    fn span(&self) -> u64 {
        match self {
            Self::Bytes(bytes) => bytes.len() as u64,
            Self::Hole(count) => *count,
        }
    }

    fn cost(&self) -> usize {
        match self {
            Self::Bytes(bytes) => bytes.len(),
            Self::Hole(_) => HOLE_COST,
        }
    }
}

/// What [`History::read`] finds at a position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Chunk<'a> {
    /// Output bytes.
    Bytes(&'a [u8]),
    /// This many positions whose bytes the history does not have.
    Gap(u64),
}

/// The newest output of one partition, at most `capacity` bytes of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct History {
    /// Oldest first, each with its start position; never starts with a hole (the
    /// history then just starts later).
    pieces: VecDeque<(u64, Piece)>,
    /// Position of the oldest byte kept.
    start: u64,
    /// Position after the newest byte produced.
    end: u64,
    cost: usize,
    capacity: usize,
}

impl History {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            pieces: VecDeque::new(),
            start: 0,
            end: 0,
            cost: 0,
            capacity,
        }
    }

    /// Position of the oldest byte kept.
    pub(crate) fn start(&self) -> u64 {
        self.start
    }

    /// Position after the newest byte produced.
    pub(crate) fn end(&self) -> u64 {
        self.end
    }

    /// Appends output.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        let count = (bytes.len() as u64).min(u64::MAX - self.end);
        let bytes = &bytes[..count as usize];
        self.end += count;
        // Only the newest `capacity` bytes can stay.
        let kept = &bytes[bytes.len() - bytes.len().min(self.capacity)..];
        if kept.len() < bytes.len() {
            self.pieces.clear();
            self.cost = 0;
            self.start = self.end - kept.len() as u64;
        }
        let mut position = self.end - kept.len() as u64;
        for chunk in kept.chunks(CHUNK) {
            match self.pieces.back_mut() {
                Some((_, Piece::Bytes(last))) if last.len() + chunk.len() <= CHUNK => {
                    last.extend_from_slice(chunk);
                }
                _ => self
                    .pieces
                    .push_back((position, Piece::Bytes(chunk.to_vec()))),
            }
            self.cost += chunk.len();
            position += chunk.len() as u64;
        }
        self.trim();
    }

    /// Records that `count` bytes of output were lost before reaching the service.
    pub(crate) fn lose(&mut self, count: u64) {
        let count = count.min(u64::MAX - self.end);
        if count == 0 {
            return;
        }
        match self.pieces.back_mut() {
            Some((_, Piece::Hole(run))) => *run += count,
            _ => {
                self.pieces.push_back((self.end, Piece::Hole(count)));
                self.cost += HOLE_COST;
            }
        }
        self.end += count;
        self.trim();
    }

    /// Drops the oldest output until the capacity holds, and any hole that then
    /// leads.
    fn trim(&mut self) {
        loop {
            let excess = self.cost.saturating_sub(self.capacity);
            match self.pieces.front_mut() {
                None => break,
                Some((_, Piece::Bytes(_))) if excess == 0 => break,
                Some((start, Piece::Bytes(bytes))) if excess < bytes.len() => {
                    bytes.drain(..excess);
                    *start += excess as u64;
                    self.start += excess as u64;
                    self.cost -= excess;
                    break;
                }
                Some((_, Piece::Bytes(_) | Piece::Hole(_))) => {}
            }
            if let Some((_, piece)) = self.pieces.pop_front() {
                self.start += piece.span();
                self.cost -= piece.cost();
            }
        }
        if self.pieces.is_empty() {
            self.start = self.end;
        }
    }

    /// What the history holds at position `from`: up to `max` bytes, or a run of
    /// positions whose bytes are gone (lost before they arrived, or trimmed since),
    /// or `None` at the end.
    pub(crate) fn read(&self, from: u64, max: usize) -> Option<Chunk<'_>> {
        if from >= self.end {
            return None;
        }
        if from < self.start {
            return Some(Chunk::Gap(self.start - from));
        }
        // The last piece that starts at or before `from`.
        let index = self.pieces.partition_point(|(start, _)| *start <= from) - 1;
        let (start, piece) = &self.pieces[index];
        let offset = from - start;
        Some(match piece {
            Piece::Bytes(bytes) => {
                let rest = &bytes[offset as usize..];
                Chunk::Bytes(&rest[..rest.len().min(max)])
            }
            Piece::Hole(count) => Chunk::Gap(count - offset),
        })
    }

    /// The newest output, at most `max` bytes of it, back to the newest hole.
    pub(crate) fn tail(&self, max: usize) -> Vec<u8> {
        let mut parts = Vec::new();
        let mut len = 0;
        for (_, piece) in self.pieces.iter().rev() {
            let Piece::Bytes(bytes) = piece else {
                break;
            };
            let take = bytes.len().min(max - len);
            parts.push(&bytes[bytes.len() - take..]);
            len += take;
            if len == max {
                break;
            }
        }
        parts
            .iter()
            .rev()
            .flat_map(|part| part.iter().copied())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything from `from` on, as a reader pulling 1000 bytes at a time sees it,
    /// with neighbouring byte chunks joined.
    fn read_all(history: &History, mut from: u64) -> Vec<Chunk<'static>> {
        let mut out: Vec<Chunk<'static>> = Vec::new();
        let mut joined: Vec<Vec<u8>> = Vec::new();
        while let Some(chunk) = history.read(from, 1000) {
            match chunk {
                Chunk::Bytes(bytes) => {
                    from += bytes.len() as u64;
                    match out.last() {
                        Some(Chunk::Bytes(_)) => {
                            joined.last_mut().unwrap().extend_from_slice(bytes)
                        }
                        _ => {
                            joined.push(bytes.to_vec());
                            out.push(Chunk::Bytes(&[]));
                        }
                    }
                }
                Chunk::Gap(count) => {
                    from += count;
                    out.push(Chunk::Gap(count));
                }
            }
        }
        let mut joined = joined.into_iter();
        out.into_iter()
            .map(|chunk| match chunk {
                Chunk::Bytes(_) => Chunk::Bytes(joined.next().unwrap().leak()),
                gap => gap,
            })
            .collect()
    }

    /// The history keeps the newest bytes up to its capacity, by absolute position;
    /// a reader from before its start is told exactly how much it missed.
    #[test]
    fn keeps_the_newest_bytes() {
        let mut h = History::new(10_000);
        let data: Vec<u8> = (0..25_000u32).map(|i| (i % 251) as u8).collect();
        for piece in data.chunks(777) {
            h.push(piece);
        }
        assert_eq!((h.start(), h.end()), (15_000, 25_000));
        assert_eq!(read_all(&h, 15_000), [Chunk::Bytes(&data[15_000..])]);
        assert_eq!(read_all(&h, 24_000), [Chunk::Bytes(&data[24_000..])]);
        assert_eq!(
            read_all(&h, 10),
            [Chunk::Gap(14_990), Chunk::Bytes(&data[15_000..])]
        );
        assert_eq!(h.read(25_000, 10), None);
        assert_eq!(
            h.read(15_000, 10),
            Some(Chunk::Bytes(&data[15_000..15_010]))
        );
        assert_eq!(h.tail(5), data[24_995..].to_vec());
        h.push(&data);
        assert_eq!((h.start(), h.end()), (40_000, 50_000));
        assert_eq!(h.tail(100_000), data[15_000..].to_vec());
    }

    /// Lost output is a hole: a reader gets the bytes around it and a gap of exactly
    /// the lost count, the tail stops at it, and a hole that reaches the front goes.
    #[test]
    fn holes_are_exact_gaps() {
        let mut h = History::new(1000);
        h.push(b"before");
        h.lose(500);
        h.lose(20);
        h.push(b"after");
        assert_eq!((h.start(), h.end()), (0, 531));
        assert_eq!(
            read_all(&h, 2),
            [
                Chunk::Bytes(b"fore"),
                Chunk::Gap(520),
                Chunk::Bytes(b"after")
            ]
        );
        assert_eq!(read_all(&h, 100), [Chunk::Gap(426), Chunk::Bytes(b"after")]);
        assert_eq!(h.tail(100), b"after".to_vec());
        h.push(&[b'x'; 990]);
        // "before" and the hole were trimmed; the history starts at "after".
        assert_eq!((h.start(), h.end()), (526, 1521));
        assert_eq!(read_all(&h, 0)[0], Chunk::Gap(526));
        assert_eq!(read_all(&h, 526).len(), 1);
    }

    /// With no capacity nothing is kept but positions still count; holes alone never
    /// grow it; positions stop at 2^64.
    #[test]
    fn bounded() {
        let mut h = History::new(0);
        h.push(b"abc");
        h.lose(7);
        assert_eq!((h.start(), h.end()), (10, 10));
        assert_eq!(h.read(3, 10), Some(Chunk::Gap(7)));
        let mut h = History::new(100);
        for _ in 0..1000 {
            h.push(b"x");
            h.lose(1);
        }
        assert!(h.pieces.iter().map(|(_, p)| p.cost()).sum::<usize>() <= 100);
        h.lose(u64::MAX);
        assert_eq!(h.end(), u64::MAX);
        h.push(b"more");
        assert_eq!(h.end(), u64::MAX);
    }
}
