//! National Semiconductor PC16550D UART (the "16550A"), eight ports from a
//! base the caller chooses.
//!
//! Follows the PC16550D data sheet: "Registers" (Table II: RBR/THR, IER,
//! IIR, FCR, LCR, MCR, LSR, MSR, SCR, DLL/DLM behind LCR.DLAB), "FIFO
//! Interrupt Mode Operation" (trigger levels, character timeout after four
//! character times), "Interrupt Identification Register" (Table IV: line
//! status > received data available / character timeout > THR empty >
//! modem status, and how each is reset), and "Modem Control Register"
//! (loopback: TX into RX, DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD, output pins
//! forced inactive). On a PC the OUT2 pin enables the IRQ line driver, so
//! [`Uart::irq_level`] is the chip's INTR gated by MCR.OUT2. It follows the
//! MCR bit even in loopback, as QEMU and Bochs do: on a real PC the pin would
//! be forced inactive there and cut the IRQ, but guests' loopback self-tests
//! (and the platform's own) expect their interrupts, and nothing can reach
//! the line while the chip is looped back.
//!
//! # Data paths
//!
//! - Transmit: bytes written to THR leave at once (the line is as fast as
//!   the caller drains it). They go to an output queue of
//!   [`DEFAULT_OUTPUT_CAPACITY`] bytes that the caller empties with
//!   [`Uart::drain_output`] after every write exit, so it does not fill; if
//!   it does, further bytes are dropped and counted
//!   ([`Uart::output_dropped`]). THR is therefore empty again right after
//!   every write, and THRE/TEMT read 1.
//! - Receive: [`Uart::push_input`] moves console input into the 16-byte RX
//!   FIFO (one byte, RBR, with the FIFO off) and returns how many bytes fit;
//!   the rest stays with the caller, so console input is never lost and
//!   never overruns. Overrun (LSR.OE) happens where the sender cannot wait:
//!   in loopback, a byte transmitted into a full receiver is lost and OE is
//!   set (non-FIFO mode: RBR is overwritten).
//!
//! # Time and interrupt output
//!
//! The character timeout needs time: it is four character times (from the
//! divisor latch and LCR's word length, parity and stop bits at the PC's
//! 1.8432 MHz clock) without a byte entering or leaving the RX FIFO while
//! it holds fewer bytes than the trigger level. [`Uart::advance`] (and every
//! port access) brings it up to date; [`Uart::next_event_deadline`] says
//! when it will fire. [`Uart::irq_level`] is level-style.
//!
//! Not modelled: baud-rate pacing, parity/framing errors (the line carries
//! bytes, not bits), the transmit break of LCR bit 6, DMA mode's
//! RXRDY/TXRDY pins.

#[cfg(test)]
mod tests;

use alloc::collections::VecDeque;

use crate::{Nanos, PortDevice};

/// Receiver buffer (read, DLAB = 0) / transmitter holding (write) / divisor
/// latch low byte (DLAB = 1).
pub const RBR: u16 = 0;
/// Transmitter holding register (write, DLAB = 0).
pub const THR: u16 = 0;
/// Divisor latch, low byte (DLAB = 1).
pub const DLL: u16 = 0;
/// Interrupt enable (DLAB = 0).
pub const IER: u16 = 1;
/// Divisor latch, high byte (DLAB = 1).
pub const DLM: u16 = 1;
/// Interrupt identification (read).
pub const IIR: u16 = 2;
/// FIFO control (write).
pub const FCR: u16 = 2;
/// Line control.
pub const LCR: u16 = 3;
/// Modem control.
pub const MCR: u16 = 4;
/// Line status.
pub const LSR: u16 = 5;
/// Modem status.
pub const MSR: u16 = 6;
/// Scratch.
pub const SCR: u16 = 7;

/// IER: received data available (and character timeout).
pub const IER_RX_DATA: u8 = 0x01;
/// IER: transmitter holding register empty.
pub const IER_THR_EMPTY: u8 = 0x02;
/// IER: receiver line status.
pub const IER_LINE_STATUS: u8 = 0x04;
/// IER: modem status.
pub const IER_MODEM_STATUS: u8 = 0x08;
/// IER bits that exist on the 16550A.
pub const IER_MASK: u8 = 0x0F;

/// IIR bit 0: no interrupt pending.
pub const IIR_NONE: u8 = 0x01;
/// IIR: receiver line status (priority 1).
pub const IIR_LINE_STATUS: u8 = 0x06;
/// IIR: received data available (priority 2).
pub const IIR_RX_DATA: u8 = 0x04;
/// IIR: character timeout (priority 2).
pub const IIR_TIMEOUT: u8 = 0x0C;
/// IIR: transmitter holding register empty (priority 3).
pub const IIR_THR_EMPTY: u8 = 0x02;
/// IIR: modem status (priority 4).
pub const IIR_MODEM_STATUS: u8 = 0x00;
/// IIR bits 7:6, set while the FIFOs are enabled.
pub const IIR_FIFO_ENABLED: u8 = 0xC0;

/// FCR: enable the FIFOs (changing it clears both).
pub const FCR_ENABLE: u8 = 0x01;
/// FCR: clear the RX FIFO.
pub const FCR_RX_RESET: u8 = 0x02;
/// FCR: clear the TX FIFO.
pub const FCR_TX_RESET: u8 = 0x04;
/// FCR: DMA mode select.
pub const FCR_DMA_MODE: u8 = 0x08;
/// FCR bits 7:6: RX trigger level 1, 4, 8 or 14 bytes.
pub const FCR_TRIGGER_MASK: u8 = 0xC0;

/// LCR bits 1:0: word length 5 + n bits.
pub const LCR_WORD_LENGTH: u8 = 0x03;
/// LCR: two stop bits (1.5 with 5-bit words).
pub const LCR_STOP_BITS: u8 = 0x04;
/// LCR: parity enable.
pub const LCR_PARITY: u8 = 0x08;
/// LCR: set break.
pub const LCR_BREAK: u8 = 0x40;
/// LCR: divisor latch access.
pub const LCR_DLAB: u8 = 0x80;

/// MCR: data terminal ready.
pub const MCR_DTR: u8 = 0x01;
/// MCR: request to send.
pub const MCR_RTS: u8 = 0x02;
/// MCR: OUT1.
pub const MCR_OUT1: u8 = 0x04;
/// MCR: OUT2, which enables the IRQ line on a PC.
pub const MCR_OUT2: u8 = 0x08;
/// MCR: local loopback.
pub const MCR_LOOP: u8 = 0x10;
/// MCR bits that exist on the 16550A.
pub const MCR_MASK: u8 = 0x1F;

/// LSR: data ready.
pub const LSR_DATA_READY: u8 = 0x01;
/// LSR: overrun error.
pub const LSR_OVERRUN: u8 = 0x02;
/// LSR: parity error.
pub const LSR_PARITY_ERROR: u8 = 0x04;
/// LSR: framing error.
pub const LSR_FRAMING_ERROR: u8 = 0x08;
/// LSR: break interrupt.
pub const LSR_BREAK: u8 = 0x10;
/// LSR: transmitter holding register empty.
pub const LSR_THR_EMPTY: u8 = 0x20;
/// LSR: transmitter empty.
pub const LSR_TX_EMPTY: u8 = 0x40;
/// LSR: error in RX FIFO.
pub const LSR_FIFO_ERROR: u8 = 0x80;
/// LSR bits that raise the line status interrupt and clear on read.
const LSR_ERRORS: u8 = LSR_OVERRUN | LSR_PARITY_ERROR | LSR_FRAMING_ERROR | LSR_BREAK;

/// MSR: delta clear to send.
pub const MSR_DCTS: u8 = 0x01;
/// MSR: delta data set ready.
pub const MSR_DDSR: u8 = 0x02;
/// MSR: trailing edge ring indicator.
pub const MSR_TERI: u8 = 0x04;
/// MSR: delta data carrier detect.
pub const MSR_DDCD: u8 = 0x08;
/// MSR: clear to send.
pub const MSR_CTS: u8 = 0x10;
/// MSR: data set ready.
pub const MSR_DSR: u8 = 0x20;
/// MSR: ring indicator.
pub const MSR_RI: u8 = 0x40;
/// MSR: data carrier detect.
pub const MSR_DCD: u8 = 0x80;

/// Depth of the RX FIFO.
pub const FIFO_DEPTH: usize = 16;
/// Input clock of a PC's UART, in Hz (baud = clock / 16 / divisor).
pub const UART_CLOCK_HZ: u64 = 1_843_200;
/// Default bound of the output queue, in bytes.
pub const DEFAULT_OUTPUT_CAPACITY: usize = 4096;

/// Modem inputs of the console line: connected and ready, no ring.
const LINE_INPUTS: u8 = MSR_CTS | MSR_DSR | MSR_DCD;

/// A received byte and whether it is a break.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RxChar {
    byte: u8,
    is_break: bool,
}

/// A 16550A.
#[derive(Clone, Debug)]
pub struct Uart {
    ier: u8,
    lcr: u8,
    mcr: u8,
    scr: u8,
    divisor: u16,
    fifo_enabled: bool,
    dma_mode: bool,
    rx_trigger: usize,
    rx: VecDeque<RxChar>,
    /// The byte returned by a read of an empty receiver.
    last_rx: u8,
    /// OE, PE, FE and BI until LSR is read.
    line_errors: u8,
    /// THRE interrupt pending (set when THR empties, reset by reading IIR
    /// while it is the source, or by writing THR).
    thr_interrupt: bool,
    /// MSR bits 7:4 as last seen, and the delta bits 3:0 since MSR was read.
    modem_inputs: u8,
    modem_deltas: u8,
    /// Last time a byte entered or left the RX FIFO.
    rx_activity: Nanos,
    timed_out: bool,
    output: VecDeque<u8>,
    output_capacity: usize,
    output_dropped: u64,
}

impl Default for Uart {
    fn default() -> Self {
        Self::new()
    }
}

impl Uart {
    /// A UART after reset, with an output queue of
    /// [`DEFAULT_OUTPUT_CAPACITY`] bytes and the divisor at 12 (9600 baud).
    pub fn new() -> Uart {
        Uart::with_output_capacity(DEFAULT_OUTPUT_CAPACITY)
    }

    /// A UART after reset whose output queue holds `capacity` bytes.
    pub fn with_output_capacity(capacity: usize) -> Uart {
        Uart {
            ier: 0,
            lcr: 0,
            mcr: 0,
            scr: 0,
            divisor: 12,
            fifo_enabled: false,
            dma_mode: false,
            rx_trigger: 1,
            rx: VecDeque::with_capacity(FIFO_DEPTH),
            last_rx: 0,
            line_errors: 0,
            thr_interrupt: false,
            modem_inputs: LINE_INPUTS,
            modem_deltas: 0,
            rx_activity: Nanos(0),
            timed_out: false,
            output: VecDeque::new(),
            output_capacity: capacity,
            output_dropped: 0,
        }
    }

    /// Moves console input into the receiver; returns how many bytes of
    /// `bytes` were taken. The rest stays with the caller. Nothing is taken
    /// in loopback mode, where the receiver is cut off from the line.
    pub fn push_input(&mut self, bytes: &[u8], now: Nanos) -> usize {
        self.advance(now);
        if self.mcr & MCR_LOOP != 0 {
            return 0;
        }
        let room = self.rx_capacity().saturating_sub(self.rx.len());
        let taken = bytes.len().min(room);
        for &byte in &bytes[..taken] {
            self.receive(
                RxChar {
                    byte,
                    is_break: false,
                },
                now,
            );
        }
        taken
    }

    /// Receives a break condition (a zero byte with LSR.BI), if there is
    /// room; returns whether it was taken.
    pub fn push_break(&mut self, now: Nanos) -> bool {
        self.advance(now);
        if self.mcr & MCR_LOOP != 0 || self.rx.len() >= self.rx_capacity() {
            return false;
        }
        self.receive(
            RxChar {
                byte: 0,
                is_break: true,
            },
            now,
        );
        true
    }

    /// Takes the transmitted bytes, oldest first.
    pub fn drain_output(&mut self) -> impl Iterator<Item = u8> + '_ {
        self.output.drain(..)
    }

    /// Bytes waiting in the output queue.
    pub fn output_len(&self) -> usize {
        self.output.len()
    }

    /// Bytes dropped because the output queue was full.
    pub fn output_dropped(&self) -> u64 {
        self.output_dropped
    }

    /// Brings the character timeout up to `now`.
    pub fn advance(&mut self, now: Nanos) {
        if self.timeout_armed() && now.since(self.rx_activity) >= self.timeout_ns() {
            self.timed_out = true;
        }
    }

    /// When the character timeout will fire, if it is armed and would raise
    /// an interrupt.
    pub fn next_event_deadline(&self) -> Option<Nanos> {
        (self.timeout_armed() && self.ier & IER_RX_DATA != 0)
            .then(|| self.rx_activity.plus(self.timeout_ns()))
    }

    /// The IRQ line: an interrupt is pending and MCR.OUT2 enables the line
    /// driver (the register bit, in loopback too; see the module docs).
    pub fn irq_level(&self) -> bool {
        self.mcr & MCR_OUT2 != 0 && self.pending_interrupt().is_some()
    }

    /// The state for crash reports and tests. Reads nothing, clears nothing.
    pub fn snapshot(&self) -> UartSnapshot {
        UartSnapshot {
            ier: self.ier,
            iir: self.iir_value(),
            lcr: self.lcr,
            mcr: self.mcr,
            lsr: self.lsr_value(),
            msr: self.modem_inputs | self.modem_deltas,
            scr: self.scr,
            divisor: self.divisor,
            fifo_enabled: self.fifo_enabled,
            dma_mode: self.dma_mode,
            rx_trigger: self.rx_trigger as u8,
            rx_len: self.rx.len() as u8,
            output_len: self.output.len(),
            output_dropped: self.output_dropped,
            irq: self.irq_level(),
        }
    }

    fn rx_capacity(&self) -> usize {
        if self.fifo_enabled { FIFO_DEPTH } else { 1 }
    }

    fn timeout_armed(&self) -> bool {
        self.fifo_enabled
            && !self.timed_out
            && !self.rx.is_empty()
            && self.rx.len() < self.rx_trigger
    }

    /// Four character times at the current divisor and line settings.
    fn timeout_ns(&self) -> u64 {
        // In half bits: start bit, data bits, parity, and 1, 1.5 or 2 stop
        // bits.
        let data = 5 + u64::from(self.lcr & LCR_WORD_LENGTH);
        let parity = u64::from(self.lcr & LCR_PARITY != 0);
        let stop_half_bits = match (self.lcr & LCR_STOP_BITS != 0, data) {
            (false, _) => 2,
            (true, 5) => 3,
            (true, _) => 4,
        };
        let half_bits = 2 * (1 + data + parity) + stop_half_bits;
        // A divisor of 0 stops the baud generator on the chip; treat it as
        // the slowest rate rather than an infinitely long character.
        let divisor = if self.divisor == 0 {
            0x1_0000
        } else {
            u64::from(self.divisor)
        };
        let character_ns = half_bits * 16 * divisor * 1_000_000_000 / (2 * UART_CLOCK_HZ);
        4 * character_ns
    }

    /// A byte arrives at the receiver. The caller checked for room except
    /// in loopback, where a full receiver overruns.
    fn receive(&mut self, ch: RxChar, now: Nanos) {
        if self.rx.len() >= self.rx_capacity() {
            self.line_errors |= LSR_OVERRUN;
            if self.fifo_enabled {
                // "The character in the shift register is overwritten, but
                // it is not transferred to the FIFO."
                return;
            }
            // Non-FIFO mode: the new character destroys the one in RBR.
            self.rx.clear();
        }
        if self.rx.is_empty() && ch.is_break {
            self.line_errors |= LSR_BREAK;
        }
        self.rx.push_back(ch);
        self.rx_activity = now;
        self.timed_out = false;
    }

    fn transmit(&mut self, byte: u8, now: Nanos) {
        if self.mcr & MCR_LOOP != 0 {
            self.receive(
                RxChar {
                    byte,
                    is_break: false,
                },
                now,
            );
        } else if self.output.len() < self.output_capacity {
            self.output.push_back(byte);
        } else {
            self.output_dropped = self.output_dropped.saturating_add(1);
        }
    }

    fn read_rbr(&mut self, now: Nanos) -> u8 {
        if let Some(ch) = self.rx.pop_front() {
            self.last_rx = ch.byte;
            self.rx_activity = now;
            self.timed_out = false;
            // BI describes the character at the top of the FIFO.
            if self.rx.front().is_some_and(|next| next.is_break) {
                self.line_errors |= LSR_BREAK;
            }
        }
        self.last_rx
    }

    /// Highest-priority pending interrupt, as IIR bits 3:0.
    fn pending_interrupt(&self) -> Option<u8> {
        if self.ier & IER_LINE_STATUS != 0 && self.line_errors & LSR_ERRORS != 0 {
            return Some(IIR_LINE_STATUS);
        }
        if self.ier & IER_RX_DATA != 0 && !self.rx.is_empty() {
            if !self.fifo_enabled || self.rx.len() >= self.rx_trigger {
                return Some(IIR_RX_DATA);
            }
            if self.timed_out {
                return Some(IIR_TIMEOUT);
            }
        }
        if self.ier & IER_THR_EMPTY != 0 && self.thr_interrupt {
            return Some(IIR_THR_EMPTY);
        }
        if self.ier & IER_MODEM_STATUS != 0 && self.modem_deltas != 0 {
            return Some(IIR_MODEM_STATUS);
        }
        None
    }

    fn iir_value(&self) -> u8 {
        let fifo = if self.fifo_enabled {
            IIR_FIFO_ENABLED
        } else {
            0
        };
        fifo | self.pending_interrupt().unwrap_or(IIR_NONE)
    }

    fn lsr_value(&self) -> u8 {
        let ready = if self.rx.is_empty() {
            0
        } else {
            LSR_DATA_READY
        };
        let fifo_error = if self.fifo_enabled && self.rx.iter().any(|ch| ch.is_break) {
            LSR_FIFO_ERROR
        } else {
            0
        };
        ready | self.line_errors | LSR_THR_EMPTY | LSR_TX_EMPTY | fifo_error
    }

    /// Recomputes MSR bits 7:4 and accumulates the delta bits.
    fn update_modem_inputs(&mut self) {
        let inputs = if self.mcr & MCR_LOOP != 0 {
            let mut inputs = 0;
            for (output, input) in [
                (MCR_RTS, MSR_CTS),
                (MCR_DTR, MSR_DSR),
                (MCR_OUT1, MSR_RI),
                (MCR_OUT2, MSR_DCD),
            ] {
                if self.mcr & output != 0 {
                    inputs |= input;
                }
            }
            inputs
        } else {
            LINE_INPUTS
        };
        let changed = inputs ^ self.modem_inputs;
        for (input, delta) in [
            (MSR_CTS, MSR_DCTS),
            (MSR_DSR, MSR_DDSR),
            (MSR_DCD, MSR_DDCD),
        ] {
            if changed & input != 0 {
                self.modem_deltas |= delta;
            }
        }
        // TERI: RI went from on to off.
        if self.modem_inputs & MSR_RI != 0 && inputs & MSR_RI == 0 {
            self.modem_deltas |= MSR_TERI;
        }
        self.modem_inputs = inputs;
    }

    fn read_register(&mut self, offset: u16, now: Nanos) -> u8 {
        self.advance(now);
        let dlab = self.lcr & LCR_DLAB != 0;
        match offset {
            RBR if dlab => self.divisor as u8,
            RBR => self.read_rbr(now),
            IER if dlab => (self.divisor >> 8) as u8,
            IER => self.ier,
            IIR => {
                let value = self.iir_value();
                if value & 0x0F == IIR_THR_EMPTY {
                    self.thr_interrupt = false;
                }
                value
            }
            LCR => self.lcr,
            MCR => self.mcr,
            LSR => {
                let value = self.lsr_value();
                self.line_errors &= !LSR_ERRORS;
                value
            }
            MSR => {
                let value = self.modem_inputs | self.modem_deltas;
                self.modem_deltas = 0;
                value
            }
            SCR => self.scr,
            _ => 0xFF,
        }
    }

    fn write_register(&mut self, offset: u16, value: u8, now: Nanos) {
        self.advance(now);
        let dlab = self.lcr & LCR_DLAB != 0;
        match offset {
            DLL if dlab => self.divisor = (self.divisor & 0xFF00) | u16::from(value),
            THR => {
                self.thr_interrupt = false;
                self.transmit(value, now);
                // The byte left at once: THR is empty again.
                self.thr_interrupt = true;
            }
            DLM if dlab => self.divisor = (self.divisor & 0x00FF) | (u16::from(value) << 8),
            IER => {
                let enabled_thre = value & !self.ier & IER_THR_EMPTY != 0;
                self.ier = value & IER_MASK;
                // Enabling the THRE interrupt while THR is empty raises it:
                // Windows and Linux's THRE test rely on it (as QEMU and
                // Bochs model it); disabling drops the pending one.
                if enabled_thre {
                    self.thr_interrupt = true;
                } else if self.ier & IER_THR_EMPTY == 0 {
                    self.thr_interrupt = false;
                }
            }
            FCR => self.write_fcr(value),
            LCR => self.lcr = value,
            MCR => {
                self.mcr = value & MCR_MASK;
                self.update_modem_inputs();
            }
            SCR => self.scr = value,
            // LSR and MSR writes are for factory testing.
            _ => {}
        }
    }

    fn write_fcr(&mut self, value: u8) {
        let enable = value & FCR_ENABLE != 0;
        if enable != self.fifo_enabled {
            // Changing FCR0 clears both FIFOs.
            self.rx.clear();
            self.timed_out = false;
            self.fifo_enabled = enable;
        }
        // "FCR0 must be a 1 when other FCR bits are written to or they will
        // not be programmed."
        if !enable {
            return;
        }
        if value & FCR_RX_RESET != 0 {
            self.rx.clear();
            self.timed_out = false;
        }
        // FCR_TX_RESET: the transmitter never holds bytes.
        self.dma_mode = value & FCR_DMA_MODE != 0;
        self.rx_trigger = match value >> 6 {
            0 => 1,
            1 => 4,
            2 => 8,
            _ => 14,
        };
    }
}

impl PortDevice for Uart {
    fn port_read(&mut self, offset: u16, size: u8, now: Nanos) -> u32 {
        let mut value = 0;
        for lane in 0..size.min(4) {
            let byte = self.read_register(offset.wrapping_add(u16::from(lane)), now);
            value |= u32::from(byte) << (8 * lane);
        }
        value
    }

    fn port_write(&mut self, offset: u16, size: u8, value: u32, now: Nanos) {
        for lane in 0..size.min(4) {
            let byte = (value >> (8 * lane)) as u8;
            self.write_register(offset.wrapping_add(u16::from(lane)), byte, now);
        }
    }
}

/// The UART's registers as [`Uart::snapshot`] reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UartSnapshot {
    /// Interrupt enable register.
    pub ier: u8,
    /// Interrupt identification as a read would return it.
    pub iir: u8,
    /// Line control register.
    pub lcr: u8,
    /// Modem control register.
    pub mcr: u8,
    /// Line status as a read would return it.
    pub lsr: u8,
    /// Modem status as a read would return it.
    pub msr: u8,
    /// Scratch register.
    pub scr: u8,
    /// Divisor latch.
    pub divisor: u16,
    /// FIFOs enabled.
    pub fifo_enabled: bool,
    /// DMA mode select of FCR.
    pub dma_mode: bool,
    /// RX trigger level in bytes.
    pub rx_trigger: u8,
    /// Bytes in the receiver.
    pub rx_len: u8,
    /// Bytes in the output queue.
    pub output_len: usize,
    /// Bytes dropped because the output queue was full.
    pub output_dropped: u64,
    /// The IRQ line.
    pub irq: bool,
}
