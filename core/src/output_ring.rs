//! A partition's console output on its way to the service core: a ring the
//! partition's core writes without ever waiting, and the service core reads
//! at its own pace.
//!
//! The guest must never be slowed down by the network or by a slow reader,
//! so the producer always writes and the oldest bytes are overwritten when
//! the reader falls behind by more than [`CAPACITY`]. Every byte has an
//! absolute position (bytes since the ring was made), and the reader learns
//! exactly how many bytes it lost, so the network console can report an
//! exact gap instead of silently skipping.
//!
//! Overwriting means the reader may copy a slot while the producer rewrites
//! it. The producer therefore announces the positions it is about to write
//! (`claimed`) before it writes them and publishes them (`written`) after,
//! and the reader checks `claimed` once it has copied: any copied byte the
//! producer could have reached since is counted as lost, never delivered
//! torn (the seqlock pattern, per byte position).

use core::sync::atomic::{AtomicU8, AtomicU64, Ordering, fence};

/// Bytes the ring holds.
pub const CAPACITY: usize = 16 * 1024;
const CAPACITY_U64: u64 = CAPACITY as u64;

/// The ring; one producer (the partition's core), one reader.
pub struct OutputRing {
    slots: [AtomicU8; CAPACITY],
    /// Position one past the last byte the producer has started to write.
    claimed: AtomicU64,
    /// Position one past the last byte that is complete.
    written: AtomicU64,
}

impl Default for OutputRing {
    fn default() -> Self {
        Self::new()
    }
}

impl OutputRing {
    /// An empty ring at position 0.
    pub const fn new() -> Self {
        Self {
            slots: [const { AtomicU8::new(0) }; CAPACITY],
            claimed: AtomicU64::new(0),
            written: AtomicU64::new(0),
        }
    }

    /// Producer: appends `bytes`, overwriting the oldest if the reader is behind.
    pub fn write(&self, bytes: &[u8]) {
        let start = self.written.load(Ordering::Relaxed);
        let end = start + bytes.len() as u64;
        // Only the last CAPACITY bytes can survive; the rest are lost at once
        // (their positions still count).
        let keep = bytes.len().min(CAPACITY);
        let first = end - keep as u64;
        self.claimed.store(end, Ordering::Relaxed);
        // Orders the claim before the slot stores below: a reader that sees
        // any of them sees the claim too.
        fence(Ordering::Release);
        for (i, &byte) in bytes[bytes.len() - keep..].iter().enumerate() {
            self.slots[slot(first + i as u64)].store(byte, Ordering::Relaxed);
        }
        self.written.store(end, Ordering::Release);
    }

    /// Position one past the newest complete byte.
    pub fn position(&self) -> u64 {
        self.written.load(Ordering::Acquire)
    }
}

fn slot(position: u64) -> usize {
    (position % CAPACITY_U64) as usize
}

/// What one [`Reader::read`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadOutcome {
    /// Bytes overwritten before they could be read; they come before the
    /// bytes delivered in this call.
    pub lost: u64,
    /// Bytes copied into the buffer, from its start.
    pub bytes: usize,
}

/// The reader's side: where it is in the ring's positions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reader {
    next: u64,
}

impl Reader {
    /// A reader at position 0, the ring's first byte.
    pub const fn new() -> Self {
        Self { next: 0 }
    }

    /// The next position this reader will deliver.
    pub fn position(&self) -> u64 {
        self.next
    }

    /// Copies the oldest unread bytes into `buffer`, after counting the ones
    /// the producer overwrote.
    pub fn read(&mut self, ring: &OutputRing, buffer: &mut [u8]) -> ReadOutcome {
        let written = ring.written.load(Ordering::Acquire);
        let mut lost = 0;
        if written.saturating_sub(self.next) > CAPACITY_U64 {
            lost = written - CAPACITY_U64 - self.next;
            self.next = written - CAPACITY_U64;
        }
        let available = (written - self.next).min(buffer.len() as u64) as usize;
        for (i, byte) in buffer[..available].iter_mut().enumerate() {
            *byte = ring.slots[slot(self.next + i as u64)].load(Ordering::Relaxed);
        }
        // Pairs with the producer's fence: if a copy above saw a newer byte,
        // the claim below covers it.
        fence(Ordering::Acquire);
        let claimed = ring.claimed.load(Ordering::Relaxed);
        let safe_from = claimed.saturating_sub(CAPACITY_U64);
        let torn = safe_from.saturating_sub(self.next).min(available as u64) as usize;
        if torn > 0 {
            buffer.copy_within(torn..available, 0);
        }
        lost += torn as u64;
        self.next += available as u64;
        ReadOutcome {
            lost,
            bytes: available - torn,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(reader: &mut Reader, ring: &OutputRing) -> (u64, Vec<u8>) {
        let mut lost = 0;
        let mut out = Vec::new();
        let mut buffer = [0u8; 1000];
        loop {
            let got = reader.read(ring, &mut buffer);
            lost += got.lost;
            out.extend_from_slice(&buffer[..got.bytes]);
            if got.bytes == 0 && got.lost == 0 {
                return (lost, out);
            }
        }
    }

    /// What was written comes out in order, in pieces of any size.
    #[test]
    fn in_order_without_loss() {
        let ring = OutputRing::new();
        let mut reader = Reader::new();
        ring.write(b"hello ");
        ring.write(b"world");
        let mut small = [0u8; 4];
        assert_eq!(
            reader.read(&ring, &mut small),
            ReadOutcome { lost: 0, bytes: 4 }
        );
        assert_eq!(&small, b"hell");
        assert_eq!(drain(&mut reader, &ring), (0, b"o world".to_vec()));
        assert_eq!(reader.position(), 11);
        assert_eq!(ring.position(), 11);
    }

    /// A reader that falls behind learns exactly how many bytes it lost and
    /// then reads the newest CAPACITY bytes.
    #[test]
    fn overrun_counts_exactly() {
        let ring = OutputRing::new();
        let mut reader = Reader::new();
        let data: Vec<u8> = (0..CAPACITY + 300).map(|i| (i % 251) as u8).collect();
        for chunk in data.chunks(77) {
            ring.write(chunk);
        }
        let (lost, out) = drain(&mut reader, &ring);
        assert_eq!(lost, 300);
        assert_eq!(out, data[300..]);
    }

    /// One write longer than the ring keeps only its tail.
    #[test]
    fn oversized_write_keeps_its_tail() {
        let ring = OutputRing::new();
        let mut reader = Reader::new();
        let data: Vec<u8> = (0..3 * CAPACITY).map(|i| (i % 253) as u8).collect();
        ring.write(&data);
        let (lost, out) = drain(&mut reader, &ring);
        assert_eq!(lost, 2 * CAPACITY_U64);
        assert_eq!(out, data[2 * CAPACITY..]);
    }

    /// A fast producer thread against a slow reader: every byte the reader
    /// gets is the byte written at that position, and delivered plus lost
    /// accounts for every byte written.
    #[test]
    fn concurrent_reader_never_sees_torn_bytes() {
        const TOTAL: u64 = 2_000_000;
        let ring = std::sync::Arc::new(OutputRing::new());
        let producer = {
            let ring = ring.clone();
            std::thread::spawn(move || {
                let mut position = 0u64;
                let mut chunk = [0u8; 97];
                while position < TOTAL {
                    for (i, b) in chunk.iter_mut().enumerate() {
                        *b = ((position + i as u64) % 241) as u8;
                    }
                    ring.write(&chunk);
                    position += chunk.len() as u64;
                }
                position
            })
        };
        let mut reader = Reader::new();
        let mut buffer = [0u8; 4096];
        let (mut delivered, mut lost) = (0u64, 0u64);
        let mut done = None;
        loop {
            let before = reader.position();
            let got = reader.read(&ring, &mut buffer);
            lost += got.lost;
            let first = reader.position() - got.bytes as u64;
            assert!(first >= before);
            for (i, &b) in buffer[..got.bytes].iter().enumerate() {
                assert_eq!(b, ((first + i as u64) % 241) as u8, "torn byte");
            }
            delivered += got.bytes as u64;
            if done.is_none() && producer.is_finished() {
                done = Some(ring.position());
            }
            if let Some(end) = done
                && reader.position() == end
            {
                break;
            }
        }
        let written = producer.join().unwrap();
        assert_eq!(delivered + lost, written);
    }
}
