//! Scenario tests for the 16550A, driven through its eight registers.

use super::*;

fn out(uart: &mut Uart, register: u16, value: u8, now: Nanos) {
    uart.port_write(register, 1, u32::from(value), now);
}

fn inp(uart: &mut Uart, register: u16, now: Nanos) -> u8 {
    uart.port_read(register, 1, now) as u8
}

/// 115200 baud (divisor 1), 8 data bits, no parity, one stop bit.
fn set_115200_8n1(uart: &mut Uart) {
    out(uart, LCR, LCR_DLAB | 0x03, Nanos(0));
    out(uart, DLL, /*divisor low=*/ 1, Nanos(0));
    out(uart, DLM, /*divisor high=*/ 0, Nanos(0));
    out(uart, LCR, 0x03, Nanos(0));
}

/// FIFOs on with the trigger level of FCR bits 7:6.
fn enable_fifo(uart: &mut Uart, trigger_bits: u8) {
    out(
        uart,
        FCR,
        FCR_ENABLE | FCR_RX_RESET | FCR_TX_RESET | (trigger_bits << 6),
        Nanos(0),
    );
}

/// LCR.DLAB switches offsets 0 and 1 to the divisor latch; SCR keeps any
/// byte.
#[test]
fn divisor_latch_behind_dlab_and_scratch() {
    let mut uart = Uart::new();
    out(&mut uart, LCR, LCR_DLAB, Nanos(0));
    out(&mut uart, DLL, 0x34, Nanos(0));
    out(&mut uart, DLM, 0x12, Nanos(0));
    assert_eq!(inp(&mut uart, DLL, Nanos(0)), 0x34);
    assert_eq!(inp(&mut uart, DLM, Nanos(0)), 0x12);
    out(&mut uart, LCR, 0x03, Nanos(0));
    out(&mut uart, IER, 0xFF, Nanos(0));
    assert_eq!(
        inp(&mut uart, IER, Nanos(0)),
        IER_MASK,
        "IER bits 7:4 are zero"
    );
    assert_eq!(uart.snapshot().divisor, 0x1234);
    out(&mut uart, SCR, 0xA5, Nanos(0));
    assert_eq!(inp(&mut uart, SCR, Nanos(0)), 0xA5);
    assert_eq!(uart.output_len(), 0, "nothing was transmitted");
}

/// THR writes leave at once: the bytes reach the output queue in order and
/// LSR shows THRE and TEMT.
#[test]
fn transmit_goes_to_the_output_queue() {
    let mut uart = Uart::new();
    for &byte in b"hi\n" {
        out(&mut uart, THR, byte, Nanos(0));
    }
    assert_eq!(inp(&mut uart, LSR, Nanos(0)), LSR_THR_EMPTY | LSR_TX_EMPTY);
    assert_eq!(uart.drain_output().collect::<Vec<u8>>(), b"hi\n");
    assert_eq!(uart.output_len(), 0);
}

/// THRE interrupt: raised when IER.ETBEI is set while THR is empty, reset
/// by reading IIR when it is the source, raised again when a THR write
/// empties; clearing ETBEI drops it.
#[test]
fn thre_interrupt_semantics() {
    let mut uart = Uart::new();
    assert_eq!(inp(&mut uart, IIR, Nanos(0)), IIR_NONE);
    out(&mut uart, IER, IER_THR_EMPTY, Nanos(0));
    assert_eq!(inp(&mut uart, IIR, Nanos(0)), IIR_THR_EMPTY);
    assert_eq!(
        inp(&mut uart, IIR, Nanos(0)),
        IIR_NONE,
        "reading IIR reset it"
    );
    out(&mut uart, THR, b'x', Nanos(0));
    assert_eq!(inp(&mut uart, IIR, Nanos(0)), IIR_THR_EMPTY);
    out(&mut uart, THR, b'y', Nanos(0));
    out(&mut uart, IER, 0, Nanos(0));
    out(&mut uart, IER, IER_RX_DATA, Nanos(0));
    assert_eq!(inp(&mut uart, IIR, Nanos(0)), IIR_NONE);
}

/// FIFO mode: the received-data interrupt appears when the FIFO reaches the
/// trigger level (here 4) and goes when it drops below; IIR bits 7:6 are
/// set while the FIFOs are enabled.
#[test]
fn rx_data_available_at_the_trigger_level() {
    let mut uart = Uart::new();
    enable_fifo(&mut uart, /*trigger 4=*/ 1);
    out(&mut uart, IER, IER_RX_DATA, Nanos(0));
    assert_eq!(uart.push_input(b"abc", Nanos(0)), 3);
    assert_eq!(inp(&mut uart, IIR, Nanos(0)), IIR_FIFO_ENABLED | IIR_NONE);
    assert_eq!(uart.push_input(b"d", Nanos(0)), 1);
    assert_eq!(
        inp(&mut uart, IIR, Nanos(0)),
        IIR_FIFO_ENABLED | IIR_RX_DATA
    );
    assert_eq!(inp(&mut uart, RBR, Nanos(0)), b'a');
    assert_eq!(inp(&mut uart, IIR, Nanos(0)), IIR_FIFO_ENABLED | IIR_NONE);
    assert_eq!(
        inp(&mut uart, LSR, Nanos(0)) & LSR_DATA_READY,
        LSR_DATA_READY
    );
}

/// Character timeout: bytes below the trigger level with no FIFO access
/// for four character times (40 bit times at 115200 baud, 347 µs) give IIR
/// 0xCC; reading RBR resets it and restarts the timer.
#[test]
fn character_timeout_after_four_character_times() {
    let mut uart = Uart::new();
    set_115200_8n1(&mut uart);
    enable_fifo(&mut uart, /*trigger 8=*/ 2);
    out(&mut uart, IER, IER_RX_DATA, Nanos(0));
    out(&mut uart, MCR, MCR_OUT2, Nanos(0));
    let start = Nanos(1_000_000);
    uart.push_input(b"ls", start);
    let deadline = uart.next_event_deadline().unwrap();
    assert!(
        (347_000..=347_300).contains(&deadline.since(start)),
        "{deadline:?}"
    );
    uart.advance(Nanos(deadline.0 - 1));
    assert!(!uart.irq_level());
    uart.advance(deadline);
    assert!(uart.irq_level());
    assert_eq!(uart.next_event_deadline(), None);
    assert_eq!(
        inp(&mut uart, IIR, deadline),
        IIR_FIFO_ENABLED | IIR_TIMEOUT
    );
    assert_eq!(inp(&mut uart, RBR, deadline), b'l');
    assert!(!uart.irq_level());
    let again = uart.next_event_deadline().unwrap();
    assert_eq!(again.since(deadline), deadline.since(start));
    assert_eq!(inp(&mut uart, IIR, again), IIR_FIFO_ENABLED | IIR_TIMEOUT);
}

/// Console input is flow-controlled: only what fits in the receiver (16
/// bytes, or one with the FIFO off) is taken, and nothing overruns.
#[test]
fn push_input_takes_only_what_fits() {
    let mut uart = Uart::new();
    enable_fifo(&mut uart, /*trigger 14=*/ 3);
    assert_eq!(uart.push_input(&[b'x'; 20], Nanos(0)), FIFO_DEPTH);
    assert_eq!(uart.push_input(b"y", Nanos(0)), 0);
    assert_eq!(
        inp(&mut uart, LSR, Nanos(0)),
        LSR_DATA_READY | LSR_THR_EMPTY | LSR_TX_EMPTY
    );
    for _ in 0..FIFO_DEPTH {
        inp(&mut uart, RBR, Nanos(0));
    }
    assert_eq!(inp(&mut uart, LSR, Nanos(0)) & LSR_DATA_READY, 0);

    let mut uart = Uart::new();
    assert_eq!(uart.push_input(b"ab", Nanos(0)), 1);
    assert_eq!(inp(&mut uart, RBR, Nanos(0)), b'a');
    assert_eq!(uart.push_input(b"b", Nanos(0)), 1);
    assert_eq!(inp(&mut uart, LSR, Nanos(0)) & LSR_OVERRUN, 0);
}

/// Loopback: transmitted bytes come back into the receiver and not out on
/// the line; DTR, RTS, OUT1, OUT2 show up as DSR, CTS, RI, DCD with their
/// delta bits; the receiver ignores the line.
#[test]
fn loopback_routes_tx_to_rx_and_modem_outputs_to_inputs() {
    let mut uart = Uart::new();
    assert_eq!(inp(&mut uart, MSR, Nanos(0)), MSR_CTS | MSR_DSR | MSR_DCD);
    out(&mut uart, MCR, MCR_LOOP | MCR_DTR | MCR_RTS, Nanos(0));
    assert_eq!(inp(&mut uart, MSR, Nanos(0)), MSR_CTS | MSR_DSR | MSR_DDCD);
    out(&mut uart, MCR, MCR_LOOP | MCR_OUT2 | MCR_OUT1, Nanos(0));
    assert_eq!(
        inp(&mut uart, MSR, Nanos(0)),
        MSR_DCD | MSR_RI | MSR_DCTS | MSR_DDSR | MSR_DDCD
    );
    out(&mut uart, THR, b'A', Nanos(0));
    assert_eq!(uart.output_len(), 0);
    assert_eq!(uart.push_input(b"z", Nanos(0)), 0);
    assert_eq!(inp(&mut uart, RBR, Nanos(0)), b'A');
}

/// Loopback with OUT2 set and the data-available interrupt enabled raises the
/// IRQ line for a looped-back byte (as QEMU and Bochs do); with OUT2 clear it
/// stays low.
#[test]
fn loopback_interrupts_follow_out2() {
    let mut uart = Uart::new();
    out(&mut uart, IER, IER_RX_DATA, Nanos(0));
    out(&mut uart, MCR, MCR_LOOP | MCR_OUT2, Nanos(0));
    out(&mut uart, THR, b'x', Nanos(0));
    assert!(uart.irq_level());
    assert_eq!(inp(&mut uart, RBR, Nanos(0)), b'x');
    out(&mut uart, MCR, MCR_LOOP, Nanos(0));
    out(&mut uart, THR, b'y', Nanos(0));
    assert!(!uart.irq_level());
}

/// Overrun: a byte arriving at a full receiver sets OE (FIFO mode: the byte
/// is lost; non-FIFO mode: it replaces RBR). The line status interrupt
/// outranks received data and is reset by reading LSR.
#[test]
fn overrun_in_loopback_and_line_status_priority() {
    let mut uart = Uart::new();
    enable_fifo(&mut uart, /*trigger 1=*/ 0);
    out(&mut uart, MCR, MCR_LOOP, Nanos(0));
    out(&mut uart, IER, IER_RX_DATA | IER_LINE_STATUS, Nanos(0));
    for byte in 0..=FIFO_DEPTH as u8 {
        out(&mut uart, THR, byte, Nanos(0));
    }
    assert_eq!(
        inp(&mut uart, IIR, Nanos(0)),
        IIR_FIFO_ENABLED | IIR_LINE_STATUS
    );
    assert_eq!(inp(&mut uart, LSR, Nanos(0)) & LSR_OVERRUN, LSR_OVERRUN);
    assert_eq!(inp(&mut uart, LSR, Nanos(0)) & LSR_OVERRUN, 0);
    assert_eq!(
        inp(&mut uart, IIR, Nanos(0)),
        IIR_FIFO_ENABLED | IIR_RX_DATA
    );
    let received: Vec<u8> = (0..FIFO_DEPTH)
        .map(|_| inp(&mut uart, RBR, Nanos(0)))
        .collect();
    assert_eq!(received, (0..FIFO_DEPTH as u8).collect::<Vec<u8>>());

    let mut uart = Uart::new();
    out(&mut uart, MCR, MCR_LOOP, Nanos(0));
    out(&mut uart, THR, b'1', Nanos(0));
    out(&mut uart, THR, b'2', Nanos(0));
    assert_eq!(
        inp(&mut uart, LSR, Nanos(0)) & (LSR_OVERRUN | LSR_DATA_READY),
        LSR_OVERRUN | LSR_DATA_READY
    );
    assert_eq!(inp(&mut uart, RBR, Nanos(0)), b'2');
}

/// On a PC the IRQ line is driven only while MCR.OUT2 is set (the register
/// bit, in loopback too, as emulated PCs do).
#[test]
fn out2_gates_the_irq_line() {
    let mut uart = Uart::new();
    out(&mut uart, IER, IER_THR_EMPTY, Nanos(0));
    assert!(!uart.irq_level());
    out(&mut uart, MCR, MCR_OUT2, Nanos(0));
    assert!(uart.irq_level());
    out(&mut uart, MCR, MCR_LOOP, Nanos(0));
    assert!(!uart.irq_level());
    assert_eq!(
        inp(&mut uart, IIR, Nanos(0)),
        IIR_THR_EMPTY,
        "still pending inside"
    );
}

/// Changing FCR bit 0 clears the FIFOs; with bit 0 clear the other FCR
/// bits are not programmed; RX reset clears the receiver.
#[test]
fn fifo_control() {
    let mut uart = Uart::new();
    enable_fifo(&mut uart, /*trigger 8=*/ 2);
    uart.push_input(b"hello", Nanos(0));
    out(&mut uart, FCR, FCR_ENABLE | (3 << 6), Nanos(0));
    assert_eq!(uart.snapshot().rx_len, 5, "same FCR0: FIFO kept");
    assert_eq!(uart.snapshot().rx_trigger, 14);
    out(&mut uart, FCR, 1 << 6, Nanos(0));
    assert_eq!(inp(&mut uart, IIR, Nanos(0)), IIR_NONE);
    assert_eq!(inp(&mut uart, LSR, Nanos(0)) & LSR_DATA_READY, 0);
    assert_eq!(
        uart.snapshot().rx_trigger,
        14,
        "not programmed with FCR0 clear"
    );
    enable_fifo(&mut uart, 0);
    uart.push_input(b"hello", Nanos(0));
    out(&mut uart, FCR, FCR_ENABLE | FCR_RX_RESET, Nanos(0));
    assert_eq!(uart.snapshot().rx_len, 0);
}

/// IIR reports one source at a time in the data sheet's priority order:
/// line status, received data, THR empty, modem status; each is reset by
/// its own action.
#[test]
fn interrupt_priorities() {
    let mut uart = Uart::new();
    out(&mut uart, MCR, MCR_OUT2, Nanos(0));
    out(&mut uart, IER, IER_MASK, Nanos(0));
    uart.push_break(Nanos(0));
    out(&mut uart, MCR, MCR_OUT2 | MCR_DTR, Nanos(0));
    out(&mut uart, MCR, MCR_OUT2 | MCR_LOOP, Nanos(0));
    assert_eq!(inp(&mut uart, IIR, Nanos(0)), IIR_LINE_STATUS);
    inp(&mut uart, LSR, Nanos(0));
    assert_eq!(inp(&mut uart, IIR, Nanos(0)), IIR_RX_DATA);
    inp(&mut uart, RBR, Nanos(0));
    assert_eq!(inp(&mut uart, IIR, Nanos(0)), IIR_THR_EMPTY);
    assert_eq!(inp(&mut uart, IIR, Nanos(0)), IIR_MODEM_STATUS);
    inp(&mut uart, MSR, Nanos(0));
    assert_eq!(inp(&mut uart, IIR, Nanos(0)), IIR_NONE);
}

/// A break arrives as a zero byte with LSR.BI; in FIFO mode LSR bit 7 says
/// an errored byte is in the FIFO until it has been read.
#[test]
fn break_sets_bi_and_fifo_error() {
    let mut uart = Uart::new();
    enable_fifo(&mut uart, 0);
    uart.push_input(b"a", Nanos(0));
    assert!(uart.push_break(Nanos(0)));
    assert_eq!(
        inp(&mut uart, LSR, Nanos(0)),
        LSR_FIFO_ERROR | LSR_THR_EMPTY | LSR_TX_EMPTY | LSR_DATA_READY
    );
    assert_eq!(inp(&mut uart, RBR, Nanos(0)), b'a');
    let lsr = inp(&mut uart, LSR, Nanos(0));
    assert_eq!(
        lsr & (LSR_BREAK | LSR_FIFO_ERROR),
        LSR_BREAK | LSR_FIFO_ERROR,
        "break on top"
    );
    assert_eq!(inp(&mut uart, RBR, Nanos(0)), 0);
    assert_eq!(
        inp(&mut uart, LSR, Nanos(0)) & (LSR_BREAK | LSR_FIFO_ERROR),
        0
    );
}

/// The output queue is bounded: when full, bytes are dropped and counted.
#[test]
fn output_queue_bound() {
    let mut uart = Uart::with_output_capacity(4);
    for &byte in b"abcdef" {
        out(&mut uart, THR, byte, Nanos(0));
    }
    assert_eq!(uart.output_dropped(), 2);
    assert_eq!(uart.drain_output().collect::<Vec<u8>>(), b"abcd");
    out(&mut uart, THR, b'g', Nanos(0));
    assert_eq!(uart.drain_output().collect::<Vec<u8>>(), b"g");
}

/// MSR delta bits accumulate until MSR is read; TERI is set when RI goes
/// from on to off, not the other way; they raise the modem status
/// interrupt.
#[test]
fn modem_status_deltas_and_teri() {
    let mut uart = Uart::new();
    out(&mut uart, MCR, MCR_LOOP, Nanos(0));
    inp(&mut uart, MSR, Nanos(0));
    out(&mut uart, IER, IER_MODEM_STATUS, Nanos(0));
    out(&mut uart, MCR, MCR_LOOP | MCR_OUT1, Nanos(0));
    assert_eq!(inp(&mut uart, MSR, Nanos(0)), MSR_RI);
    assert_eq!(inp(&mut uart, IIR, Nanos(0)), IIR_NONE);
    out(&mut uart, MCR, MCR_LOOP, Nanos(0));
    assert_eq!(inp(&mut uart, IIR, Nanos(0)), IIR_MODEM_STATUS);
    assert_eq!(inp(&mut uart, MSR, Nanos(0)), MSR_TERI);
    assert_eq!(inp(&mut uart, MSR, Nanos(0)), 0);
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

/// Arbitrary guest accesses, input and drains at arbitrary times never
/// panic, and the receiver never holds more than the FIFO depth.
#[test]
fn arbitrary_accesses_never_panic() {
    let mut rng = XorShift(0xA076_1D64_78BD_642F);
    let mut uart = Uart::with_output_capacity(64);
    let mut now = Nanos(0);
    for _ in 0..200_000 {
        now = match rng.next() % 8 {
            0 => Nanos(rng.next()),
            _ => now.plus(rng.next() % 1_000_000),
        };
        let offset = (rng.next() % 10) as u16;
        let size = [1, 2, 4, 0, 3][(rng.next() % 5) as usize];
        match rng.next() % 8 {
            0..=2 => {
                uart.port_read(offset, size, now);
            }
            3..=5 => uart.port_write(offset, size, rng.next() as u32, now),
            6 => {
                let input = rng.next().to_le_bytes();
                uart.push_input(&input[..(rng.next() % 9) as usize], now);
                uart.push_break(now);
            }
            _ => {
                uart.drain_output().count();
                uart.advance(now);
                uart.next_event_deadline();
            }
        }
        assert!(usize::from(uart.snapshot().rx_len) <= FIFO_DEPTH);
        uart.irq_level();
    }
}
