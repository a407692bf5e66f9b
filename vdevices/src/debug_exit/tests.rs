//! Scenario tests for the debug-exit port.

use super::*;

const NOW: Nanos = Nanos(0);

/// A write of v asks to exit with status (v << 1) | 1, as QEMU's
/// isa-debug-exit; the exit code a process sees is its low byte.
#[test]
fn write_requests_exit_with_shifted_status() {
    let mut port = DebugExitPort::new(/*size=*/ 4).unwrap();
    assert_eq!(port.take_exit(), None);
    port.port_write(
        /*offset=*/ 0, /*size=*/ 4, /*value=*/ 0x10, NOW,
    );
    let exit = port.take_exit().unwrap();
    assert_eq!(
        exit,
        DebugExit {
            value: 0x10,
            status: 0x21
        }
    );
    assert_eq!(exit.exit_code(), 33);
    assert_eq!(port.take_exit(), None, "taken once");
    assert_eq!(DebugExit::new(0).exit_code(), 1);
    assert_eq!(DebugExit::new(0x8000_0080).status, 0x0000_0101);
    assert_eq!(DebugExit::new(0x8000_0080).exit_code(), 1);
}

/// Reads inside the window return 0, as QEMU's debug_exit_read, and
/// request nothing; ports past the window read all-ones.
#[test]
fn reads_return_zero_inside_and_all_ones_outside() {
    let mut port = DebugExitPort::new(/*size=*/ 2).unwrap();
    assert_eq!(port.port_read(0, 1, NOW), 0);
    assert_eq!(port.port_read(0, 2, NOW), 0);
    assert_eq!(port.port_read(1, 2, NOW), 0xFF00);
    assert_eq!(port.port_read(2, 1, NOW), 0xFF);
    assert_eq!(port.take_exit(), None);
}

/// Every port of the window takes writes of any width; an access that runs
/// past the window carries only the bytes inside it.
#[test]
fn window_sizes_and_partial_accesses() {
    let mut port = DebugExitPort::new(/*size=*/ 1).unwrap();
    port.port_write(
        /*offset=*/ 0,
        /*size=*/ 4,
        /*value=*/ 0x1234_5603,
        NOW,
    );
    assert_eq!(port.take_exit(), Some(DebugExit::new(0x03)));

    let mut port = DebugExitPort::new(/*size=*/ 4).unwrap();
    port.port_write(
        /*offset=*/ 3, /*size=*/ 2, /*value=*/ 0xAB07, NOW,
    );
    assert_eq!(port.take_exit(), Some(DebugExit::new(0x07)));
    port.port_write(
        /*offset=*/ 2,
        /*size=*/ 4,
        /*value=*/ 0xFFFF_0042,
        NOW,
    );
    assert_eq!(port.take_exit(), Some(DebugExit::new(0x0042)));
    port.port_write(
        /*offset=*/ 1, /*size=*/ 2, /*value=*/ 0x0102, NOW,
    );
    assert_eq!(port.take_exit(), Some(DebugExit::new(0x0102)));
}

/// Writes past the window request nothing.
#[test]
fn writes_outside_the_window_are_ignored() {
    let mut port = DebugExitPort::new(/*size=*/ 2).unwrap();
    port.port_write(/*offset=*/ 2, /*size=*/ 1, /*value=*/ 1, NOW);
    port.port_write(/*offset=*/ 0, /*size=*/ 0, /*value=*/ 1, NOW);
    assert_eq!(port.pending_exit(), None);
}

/// The first request stands until the core takes it.
#[test]
fn first_request_wins() {
    let mut port = DebugExitPort::default();
    assert_eq!(port.size(), DEFAULT_SIZE);
    port.port_write(0, 1, 5, NOW);
    port.port_write(0, 1, 6, NOW);
    assert_eq!(port.take_exit(), Some(DebugExit::new(5)));
    port.port_write(0, 1, 6, NOW);
    assert_eq!(port.take_exit(), Some(DebugExit::new(6)));
}

/// Only windows of 1, 2 or 4 ports exist, as QEMU's iosize.
#[test]
fn window_size_must_be_1_2_or_4() {
    for size in [0, 3, 5, 8, 255] {
        let error = DebugExitPort::new(size).unwrap_err();
        assert_eq!(error, UnsupportedSize(size));
        assert!(error.to_string().contains("1, 2 or 4"));
    }
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Arbitrary accesses never panic, and any request is well formed.
#[test]
fn arbitrary_accesses_never_panic() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for size in [1, 2, 4] {
        let mut port = DebugExitPort::new(size).unwrap();
        for _ in 0..100_000 {
            let offset = [0, 1, 2, 3, 4, 0xFFFF][(rng.next() % 6) as usize];
            let width = [1, 2, 4, 0, 3, 8][(rng.next() % 6) as usize];
            if rng.next() & 1 == 0 {
                port.port_write(offset, width, rng.next() as u32, NOW);
            } else {
                port.port_read(offset, width, NOW);
            }
            if let Some(exit) = port.take_exit() {
                assert_eq!(exit.status, (exit.value << 1) | 1);
                assert!(size == 4 || exit.value < 1 << (8 * size));
            }
        }
    }
}
