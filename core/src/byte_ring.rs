//! A bounded single-producer, single-consumer byte ring between two cores:
//! console input from the service core to a partition's core.
//!
//! The producer only moves `tail`, the consumer only moves `head`, so neither
//! waits for the other. A full ring refuses the byte (the producer keeps it);
//! the consumer peeks before it consumes, so a byte the guest's UART has no
//! room for stays in the ring.

use core::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

/// Bytes the ring holds at most.
pub const CAPACITY: usize = 1024;

/// The ring.
pub struct ByteRing {
    slots: [AtomicU8; CAPACITY],
    head: AtomicUsize,
    tail: AtomicUsize,
}

impl Default for ByteRing {
    fn default() -> Self {
        Self::new()
    }
}

impl ByteRing {
    /// An empty ring.
    pub const fn new() -> Self {
        Self {
            slots: [const { AtomicU8::new(0) }; CAPACITY],
            head: AtomicUsize::new(0),
            tail: AtomicUsize::new(0),
        }
    }

    /// Producer: appends `byte`; false if the ring is full.
    pub fn push(&self, byte: u8) -> bool {
        let tail = self.tail.load(Ordering::Relaxed);
        let head = self.head.load(Ordering::Acquire);
        if tail.wrapping_sub(head) >= CAPACITY {
            return false;
        }
        self.slots[tail % CAPACITY].store(byte, Ordering::Relaxed);
        self.tail.store(tail.wrapping_add(1), Ordering::Release);
        true
    }

    /// Consumer: the oldest byte, left in place.
    pub fn peek(&self) -> Option<u8> {
        let head = self.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Acquire);
        (head != tail).then(|| self.slots[head % CAPACITY].load(Ordering::Relaxed))
    }

    /// Consumer: drops the byte [`peek`](Self::peek) returned.
    pub fn consume(&self) {
        let head = self.head.load(Ordering::Relaxed);
        if head != self.tail.load(Ordering::Acquire) {
            self.head.store(head.wrapping_add(1), Ordering::Release);
        }
    }

    /// Bytes waiting.
    pub fn len(&self) -> usize {
        self.tail
            .load(Ordering::Acquire)
            .wrapping_sub(self.head.load(Ordering::Acquire))
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes come out in order; a full ring refuses more; peek does not consume.
    #[test]
    fn fifo_and_full() {
        let ring = ByteRing::new();
        for i in 0..CAPACITY {
            assert!(ring.push(i as u8));
        }
        assert!(!ring.push(0xAA));
        assert_eq!(ring.peek(), Some(0));
        assert_eq!(ring.peek(), Some(0));
        ring.consume();
        assert_eq!(ring.peek(), Some(1));
        assert!(ring.push(0xAA));
        assert_eq!(ring.len(), CAPACITY);
    }

    /// A producer and a consumer thread pass 100 000 bytes, none lost or reordered.
    #[test]
    fn two_threads_lose_nothing() {
        let ring = std::sync::Arc::new(ByteRing::new());
        let producer = {
            let ring = ring.clone();
            std::thread::spawn(move || {
                for i in 0..100_000u32 {
                    while !ring.push(i as u8) {
                        std::hint::spin_loop();
                    }
                }
            })
        };
        let mut next = 0u32;
        while next < 100_000 {
            if let Some(byte) = ring.peek() {
                assert_eq!(byte, next as u8);
                ring.consume();
                next += 1;
            }
        }
        producer.join().unwrap();
        assert!(ring.is_empty());
    }
}
