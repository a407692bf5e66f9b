//! One 8254 counter: the count register, the counting element, OUT, GATE and
//! the read/write byte sequencing.
//!
//! Time is measured in CLK edges, numbered from the partition's start (see
//! [`super::clock_ticks`]). `tick` is the last edge whose effect is included
//! in the state. [`Channel::step`] applies exactly one edge as the datasheet's
//! mode descriptions ("Mode Definitions", 82C54 data sheet) tell it;
//! [`Channel::advance_to`] jumps any number of edges in constant time and is
//! checked against `step` edge by edge in the tests.

/// Counting modes ("Mode Definitions" in the 8254 data sheet). Control-word
/// mode values 6 and 7 are aliases of 2 and 3.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Mode 0: OUT goes high at terminal count and stays high.
    InterruptOnTerminalCount,
    /// Mode 1: a GATE rising edge starts a low pulse of N clocks; retriggerable.
    HardwareRetriggerableOneShot,
    /// Mode 2: OUT low for one clock every N clocks.
    RateGenerator,
    /// Mode 3: OUT high for ceil(N/2) clocks, low for floor(N/2).
    SquareWave,
    /// Mode 4: OUT low for one clock N+1 clocks after the count is written.
    SoftwareTriggeredStrobe,
    /// Mode 5: OUT low for one clock N+1 clocks after a GATE rising edge.
    HardwareTriggeredStrobe,
}

impl Mode {
    /// Decodes the three mode bits of a control word (bits 3:1, shifted down).
    pub const fn from_bits(bits: u8) -> Mode {
        match bits & 7 {
            0 => Mode::InterruptOnTerminalCount,
            1 => Mode::HardwareRetriggerableOneShot,
            2 | 6 => Mode::RateGenerator,
            3 | 7 => Mode::SquareWave,
            4 => Mode::SoftwareTriggeredStrobe,
            _ => Mode::HardwareTriggeredStrobe,
        }
    }

    /// The mode number 0..=5.
    pub const fn number(self) -> u8 {
        match self {
            Mode::InterruptOnTerminalCount => 0,
            Mode::HardwareRetriggerableOneShot => 1,
            Mode::RateGenerator => 2,
            Mode::SquareWave => 3,
            Mode::SoftwareTriggeredStrobe => 4,
            Mode::HardwareTriggeredStrobe => 5,
        }
    }

    /// Modes that load the count on a GATE rising edge rather than on a write.
    const fn gate_triggered(self) -> bool {
        matches!(
            self,
            Mode::HardwareRetriggerableOneShot | Mode::HardwareTriggeredStrobe
        )
    }

    /// Modes in which GATE low suspends counting. In modes 1 and 5 GATE only
    /// matters through its rising edge.
    const fn gate_enables_counting(self) -> bool {
        !self.gate_triggered()
    }

    /// Modes whose OUT is a one-clock low strobe.
    const fn strobes(self) -> bool {
        matches!(
            self,
            Mode::SoftwareTriggeredStrobe | Mode::HardwareTriggeredStrobe
        )
    }
}

/// Read/write access of a counter (control word bits RW1, RW0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Least significant byte only (RW = 01).
    LowByte,
    /// Most significant byte only (RW = 10).
    HighByte,
    /// Least significant byte first, then most significant byte (RW = 11).
    LowThenHigh,
}

impl Access {
    /// Decodes RW from a control word's bits 5:4 (shifted down); `None` for
    /// 00, which is the counter latch command.
    pub const fn from_bits(bits: u8) -> Option<Access> {
        match bits & 3 {
            1 => Some(Access::LowByte),
            2 => Some(Access::HighByte),
            3 => Some(Access::LowThenHigh),
            _ => None,
        }
    }
}

/// Counter state. See the module documentation for the time model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Channel {
    pub(super) mode: Mode,
    pub(super) access: Access,
    pub(super) bcd: bool,
    /// Control word bits 5:0 as written, reported by the read-back status.
    pub(super) control: u8,
    /// Count register (CR): the last complete count written, as the guest
    /// wrote it (BCD-coded when `bcd`).
    pub(super) cr: u16,
    /// Write flip-flop: the low byte of a two-byte count awaiting its high byte.
    write_low: Option<u8>,
    /// Read flip-flop: the next read of a two-byte count returns the high byte.
    read_high_next: bool,
    /// Output latch (OL), set by the counter latch or read-back command.
    pub(super) latched_count: Option<u16>,
    /// Status latch, set by the read-back command.
    pub(super) latched_status: Option<u8>,
    /// Last CLK edge applied to the state below.
    pub(super) tick: u64,
    /// Counting element (CE), in binary. Modes 0, 1, 4, 5 keep it in
    /// `0..modulus` (0 stands for the full range and wraps after terminal
    /// count); modes 2 and 3 keep it in `1..=modulus` because they reload
    /// instead of reaching 0.
    pub(super) ce: u32,
    pub(super) out: bool,
    pub(super) gate: bool,
    /// A count has been written since the control word.
    has_count: bool,
    /// CE holds a loaded count and follows the mode's rules.
    pub(super) counting: bool,
    /// CR is transferred to CE on the next edge.
    load_pending: bool,
    /// A GATE rising edge was seen; it takes effect on the next edge.
    trigger_pending: bool,
    /// Modes 4 and 5: the strobe for the current count has not fired yet.
    armed: bool,
    /// Mode 0: the first byte of a two-byte count was written; counting is
    /// disabled until the second ("Writing the first byte disables counting").
    paused: bool,
    pub(super) null_count: bool,
    /// Rising edges of OUT not yet collected by the caller.
    pub(super) rising_edges: u64,
}

impl Channel {
    /// The power-on state. The data sheet leaves mode, count and OUT
    /// undefined; this is as if control word "LSB then MSB, mode 0, binary"
    /// had been written, so OUT is low and nothing counts until the guest
    /// programs the counter.
    pub(super) const fn new(gate: bool) -> Channel {
        Channel {
            mode: Mode::InterruptOnTerminalCount,
            access: Access::LowThenHigh,
            bcd: false,
            control: 0x30,
            cr: 0,
            write_low: None,
            read_high_next: false,
            latched_count: None,
            latched_status: None,
            tick: 0,
            ce: 0,
            out: false,
            gate,
            has_count: false,
            counting: false,
            load_pending: false,
            trigger_pending: false,
            armed: false,
            paused: false,
            null_count: true,
            rising_edges: 0,
        }
    }

    /// 0x10000 in binary, 10000 in BCD.
    fn modulus(&self) -> u32 {
        if self.bcd { 10_000 } else { 0x1_0000 }
    }

    /// CR as a binary count in `0..modulus` (0 means the full range).
    ///
    /// Non-BCD digits in a BCD count are undefined in the data sheet; they
    /// are weighted like decimal digits and reduced modulo 10000 so any
    /// value the guest writes gives some finite count.
    fn initial_raw(&self) -> u32 {
        if self.bcd {
            let digits = [
                self.cr >> 12,
                (self.cr >> 8) & 0xF,
                (self.cr >> 4) & 0xF,
                self.cr & 0xF,
            ];
            let value = digits.iter().fold(0u32, |acc, &d| acc * 10 + u32::from(d));
            value % 10_000
        } else {
            u32::from(self.cr)
        }
    }

    /// CR as a count in `1..=modulus`, as modes 2 and 3 use it.
    fn initial_full(&self) -> u32 {
        match self.initial_raw() {
            0 => self.modulus(),
            n => n,
        }
    }

    /// The count as the guest reads it: CE reduced to 16 bits, BCD-coded in
    /// BCD mode.
    pub(super) fn count_value(&self) -> u16 {
        let value = self.ce % self.modulus();
        if self.bcd {
            let mut out = 0u16;
            let mut rest = value;
            for shift in [0, 4, 8, 12] {
                out |= ((rest % 10) as u16) << shift;
                rest /= 10;
            }
            out
        } else {
            value as u16
        }
    }

    /// Read-back status byte: OUT, NULL COUNT, then RW, mode and BCD as
    /// programmed ("Status Byte" in the data sheet).
    pub(super) fn status(&self) -> u8 {
        (u8::from(self.out) << 7) | (u8::from(self.null_count) << 6) | (self.control & 0x3F)
    }

    fn set_out(&mut self, level: bool) {
        if level && !self.out {
            self.rising_edges = self.rising_edges.saturating_add(1);
        }
        self.out = level;
    }

    fn counting_enabled(&self) -> bool {
        self.counting
            && (self.gate || !self.mode.gate_enables_counting())
            && !(self.paused && self.mode == Mode::InterruptOnTerminalCount)
    }

    /// Loads CE from CR, as done on the edge after a write or a trigger.
    fn load(&mut self) {
        self.ce = match self.mode {
            Mode::RateGenerator | Mode::SquareWave => self.initial_full(),
            _ => self.initial_raw(),
        };
        self.null_count = false;
        self.counting = true;
    }

    fn decrement(&self, ce: u32) -> u32 {
        if ce == 0 { self.modulus() - 1 } else { ce - 1 }
    }

    /// Applies one CLK edge.
    pub(super) fn step(&mut self) {
        self.tick = self.tick.saturating_add(1);
        let trigger = core::mem::take(&mut self.trigger_pending) && self.has_count;
        let load = core::mem::take(&mut self.load_pending);
        match self.mode {
            Mode::InterruptOnTerminalCount => {
                if load {
                    self.load();
                } else if self.counting_enabled() {
                    self.ce = self.decrement(self.ce);
                    if self.ce == 0 {
                        self.set_out(true);
                    }
                }
            }
            Mode::HardwareRetriggerableOneShot => {
                if trigger {
                    self.load();
                    self.set_out(false);
                } else if self.counting {
                    self.ce = self.decrement(self.ce);
                    if self.ce == 0 {
                        self.set_out(true);
                    }
                }
            }
            Mode::SoftwareTriggeredStrobe | Mode::HardwareTriggeredStrobe => {
                // The strobe lasts exactly one clock, whatever else happens.
                self.set_out(true);
                let start = if self.mode == Mode::SoftwareTriggeredStrobe {
                    load
                } else {
                    trigger
                };
                if start {
                    self.load();
                    self.armed = true;
                } else if self.counting_enabled() {
                    self.ce = self.decrement(self.ce);
                    if self.ce == 0 && self.armed {
                        self.armed = false;
                        self.set_out(false);
                    }
                }
            }
            Mode::RateGenerator => {
                if load || trigger {
                    self.load();
                    self.set_out(true);
                } else if self.counting_enabled() {
                    if self.ce <= 1 {
                        self.ce = self.initial_full();
                        self.null_count = false;
                        self.set_out(true);
                    } else {
                        self.ce -= 1;
                        if self.ce == 1 {
                            self.set_out(false);
                        }
                    }
                }
            }
            Mode::SquareWave => {
                if load || trigger {
                    self.load();
                    self.set_out(true);
                } else if self.counting_enabled() {
                    // Odd counts: the first edge of the high half takes 1, the
                    // first edge of the low half takes 3, later edges take 2,
                    // which gives (N+1)/2 high and (N-1)/2 low.
                    let step = match (self.ce & 1 == 1, self.out) {
                        (true, true) => 1,
                        (true, false) => 3,
                        (false, _) => 2,
                    };
                    self.ce = self.ce.saturating_sub(step);
                    if self.ce == 0 {
                        self.ce = self.initial_full();
                        self.null_count = false;
                        self.set_out(!self.out);
                    }
                }
            }
        }
    }

    /// Brings the state to edge `tick` (no-op for an earlier edge).
    pub(super) fn advance_to(&mut self, tick: u64) {
        let mut n = tick.saturating_sub(self.tick);
        // Edges that start something (a load, a trigger, the end of a strobe)
        // are applied one at a time; there are at most three in a row.
        while n > 0
            && (self.load_pending || self.trigger_pending || (self.mode.strobes() && !self.out))
        {
            self.step();
            n -= 1;
        }
        if n > 0 {
            self.advance_steady(n);
            self.tick = self.tick.saturating_add(n);
        }
    }

    /// `n` edges with nothing pending: constant time per mode.
    fn advance_steady(&mut self, n: u64) {
        if !self.counting_enabled() {
            return;
        }
        let modulus = u64::from(self.modulus());
        let wrap_down = |ce: u32| ((u64::from(ce) + modulus - n % modulus) % modulus) as u32;
        match self.mode {
            Mode::InterruptOnTerminalCount | Mode::HardwareRetriggerableOneShot => {
                let to_zero = if self.ce == 0 {
                    modulus
                } else {
                    u64::from(self.ce)
                };
                if n >= to_zero {
                    self.set_out(true);
                }
                self.ce = wrap_down(self.ce);
            }
            Mode::SoftwareTriggeredStrobe | Mode::HardwareTriggeredStrobe => {
                // OUT is high here (a low OUT is stepped by `advance_to`).
                let to_zero = if self.ce == 0 {
                    modulus
                } else {
                    u64::from(self.ce)
                };
                if self.armed && n >= to_zero {
                    // The strobe at terminal count, and its end one edge later.
                    self.armed = false;
                    self.out = false;
                    if n > to_zero {
                        self.set_out(true);
                    }
                }
                self.ce = wrap_down(self.ce);
            }
            Mode::RateGenerator => self.advance_rate_generator(n),
            Mode::SquareWave => self.advance_square_wave(n),
        }
    }

    fn advance_rate_generator(&mut self, n: u64) {
        // Edges until CE reaches 1 (OUT falls); the edge after that reloads.
        let to_one = u64::from(self.ce.saturating_sub(1));
        if n <= to_one {
            self.ce -= n as u32;
            if self.ce == 1 {
                self.out = false;
            }
            return;
        }
        // The reload edge: OUT rises unless it was already high (count 1,
        // which the data sheet calls illegal, keeps OUT high).
        if to_one > 0 {
            self.out = false;
        }
        self.set_out(true);
        self.null_count = false;
        let period = u64::from(self.initial_full());
        self.ce = period as u32;
        let rest = n - to_one - 1;
        if period == 1 {
            return;
        }
        self.rising_edges = self.rising_edges.saturating_add(rest / period);
        self.ce = (period - rest % period) as u32;
        self.out = self.ce != 1;
    }

    fn advance_square_wave(&mut self, mut n: u64) {
        let first = half_length(self.ce, self.out);
        if n < first {
            self.ce = within_half(self.ce, self.out, n);
            return;
        }
        n -= first;
        self.null_count = false;
        let period = self.initial_full();
        self.ce = period;
        self.set_out(!self.out);
        let full = half_length(period, true) + half_length(period, false);
        self.rising_edges = self.rising_edges.saturating_add(n / full);
        n %= full;
        let half = half_length(period, self.out);
        if n >= half {
            n -= half;
            self.set_out(!self.out);
        }
        self.ce = within_half(period, self.out, n);
    }

    /// Writes one byte of a count (a guest `out` to the counter's port).
    pub(super) fn write_count_byte(&mut self, byte: u8) {
        let count = match self.access {
            Access::LowByte => u16::from(byte),
            Access::HighByte => u16::from(byte) << 8,
            Access::LowThenHigh => match self.write_low.take() {
                Some(low) => {
                    self.paused = false;
                    u16::from(low) | (u16::from(byte) << 8)
                }
                None => {
                    self.write_low = Some(byte);
                    if self.mode == Mode::InterruptOnTerminalCount {
                        // "Writing the first byte disables counting. OUT is
                        // set low immediately (no clock pulse required)."
                        self.paused = true;
                        self.out = false;
                    }
                    return;
                }
            },
        };
        self.cr = count;
        self.has_count = true;
        self.null_count = true;
        match self.mode {
            Mode::InterruptOnTerminalCount => {
                self.out = false;
                self.load_pending = true;
            }
            Mode::SoftwareTriggeredStrobe => self.load_pending = true,
            // A new count in modes 2 and 3 waits for the end of the current
            // period or half-period, unless nothing is counting yet.
            Mode::RateGenerator | Mode::SquareWave => {
                if !self.counting {
                    self.load_pending = true;
                }
            }
            // Modes 1 and 5 load on the next trigger; the current one-shot
            // is not affected.
            Mode::HardwareRetriggerableOneShot | Mode::HardwareTriggeredStrobe => {}
        }
    }

    /// Reads one byte (a guest `in` from the counter's port).
    pub(super) fn read_byte(&mut self) -> u8 {
        if let Some(status) = self.latched_status.take() {
            return status;
        }
        let value = self.latched_count.unwrap_or_else(|| self.count_value());
        let [low, high] = value.to_le_bytes();
        match self.access {
            Access::LowByte => {
                self.latched_count = None;
                low
            }
            Access::HighByte => {
                self.latched_count = None;
                high
            }
            Access::LowThenHigh => {
                if self.read_high_next {
                    self.read_high_next = false;
                    self.latched_count = None;
                    high
                } else {
                    self.read_high_next = true;
                    low
                }
            }
        }
    }

    /// Counter latch command; a second latch before the first is read is
    /// ignored.
    pub(super) fn latch_count(&mut self) {
        if self.latched_count.is_none() {
            self.latched_count = Some(self.count_value());
        }
    }

    /// Status latch of the read-back command; also ignored while one is
    /// pending.
    pub(super) fn latch_status(&mut self) {
        if self.latched_status.is_none() {
            self.latched_status = Some(self.status());
        }
    }

    /// A control word for this counter (not a latch command).
    pub(super) fn program(&mut self, control: u8, access: Access) {
        self.mode = Mode::from_bits(control >> 1);
        self.access = access;
        self.bcd = control & 1 != 0;
        self.control = control & 0x3F;
        // "When a Control Word is written to a Counter, all Control Logic is
        // immediately reset and OUT goes to a known initial state."
        self.write_low = None;
        self.read_high_next = false;
        self.latched_count = None;
        self.latched_status = None;
        self.has_count = false;
        self.counting = false;
        self.load_pending = false;
        self.trigger_pending = false;
        self.armed = false;
        self.paused = false;
        self.null_count = true;
        self.set_out(self.mode != Mode::InterruptOnTerminalCount);
        self.ce %= self.modulus();
    }

    /// Drives GATE (channel 2 only on a PC; the others are tied high).
    pub(super) fn set_gate(&mut self, level: bool) {
        if level == self.gate {
            return;
        }
        self.gate = level;
        if level {
            self.trigger_pending = true;
        } else if matches!(self.mode, Mode::RateGenerator | Mode::SquareWave) {
            // "If GATE goes low during an output pulse, OUT is set high
            // immediately."
            self.set_out(true);
        }
    }
}

/// Edges in a mode-3 half-period that starts (or stands) at `ce` with OUT at
/// `out`.
fn half_length(ce: u32, out: bool) -> u64 {
    let ce = u64::from(ce);
    match (ce & 1 == 1, out) {
        (false, _) => (ce / 2).max(1),
        (true, true) => ce.div_ceil(2),
        // Count 1 in the low half would end in "one-half" clock; the chip
        // cannot do that, so it takes a whole clock (period 2 for count 1).
        (true, false) => ((ce - 1) / 2).max(1),
    }
}

/// CE after `k` edges into a mode-3 half-period, `k < half_length`.
fn within_half(ce: u32, out: bool, k: u64) -> u32 {
    if k == 0 {
        return ce;
    }
    let k = k as u32;
    match (ce & 1 == 1, out) {
        (false, _) => ce - 2 * k,
        (true, true) => ce - 1 - 2 * (k - 1),
        (true, false) => ce - 3 - 2 * (k - 1),
    }
}
