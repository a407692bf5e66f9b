//! Intel 8254 programmable interval timer, plus the PC's port 0x61.
//!
//! Follows the Intel 82C54 CHMOS Programmable Interval Timer data sheet
//! (order 231244): "Control Word Format", "Write Operations", "Read
//! Operations" (counter latch command, read-back command, status byte and
//! its NULL COUNT bit), "Mode Definitions" (modes 0 to 5, with the GATE
//! behaviour of the "Gate Pin Operations Summary") and BCD counting. Port
//! 0x61 follows the PC/AT system control port B ("NMI Status and Control"
//! in Intel PCH data sheets): bit 0 drives GATE2, bit 1 enables the
//! speaker, bit 4 is the refresh toggle and bit 5 reads OUT2.
//!
//! # Time
//!
//! The counters run from a 1.193182 MHz clock ([`PIT_HZ`]). The device has
//! no clock of its own: CLK edge `k` happens at `k / PIT_HZ` seconds after
//! the partition's time 0, so the number of edges up to a [`Nanos`] is
//! computed from the absolute time with integer arithmetic and never drifts,
//! however often or rarely the device is looked at.
//!
//! # Interrupt output
//!
//! OUT0 drives IRQ0. It is reported as a count of rising edges:
//! [`Pit::irq0_edges`] returns how many rising edges OUT0 made since the last
//! call, and [`Pit::next_irq0_deadline`] says when the next one is due so a
//! halted vCPU can be woken in time. [`Pit::output`] gives the level of any
//! OUT for callers that want it.
//!
//! # Ports
//!
//! [`Pit`] implements [`PortDevice`] for 0x40–0x43 (offsets 0–3). Port 0x61
//! is served by [`Pit::port61_read`] and [`Pit::port61_write`], or through
//! the [`Port61`] adapter, which is a [`PortDevice`] of one port. Wider
//! accesses are split into byte accesses at consecutive ports, as the ISA bus
//! does; ports outside the device read 0xFF.
//!
//! # Corners the data sheet leaves open
//!
//! - Power-on: each counter is as if "LSB then MSB, mode 0, binary" had been
//!   written with no count, so OUT is low and nothing counts. (A PC BIOS, and
//!   QEMU's reset, leave counter 0 in mode 3 at 18.2 Hz; guests here get no
//!   timer interrupt they did not program.)
//! - Count 1, "illegal" in mode 2, keeps OUT high; in mode 3 it gives a
//!   period of two clocks.
//! - Non-decimal digits in a BCD count are weighted as decimal digits and
//!   the result is taken modulo 10000.
//! - A control word clears its counter's latched count and status, with the
//!   rest of the control logic.
//! - Reading the control port (0x43) returns 0xFF, an undriven bus.

mod channel;
#[cfg(test)]
mod tests;

pub use channel::{Access, Mode};

use crate::{Nanos, PortDevice};
use channel::Channel;

/// Input clock of the three counters, in Hz.
pub const PIT_HZ: u64 = 1_193_182;

/// Offset of counter 0's port (0x40).
pub const PORT_COUNTER0: u16 = 0;
/// Offset of counter 1's port (0x41).
pub const PORT_COUNTER1: u16 = 1;
/// Offset of counter 2's port (0x42).
pub const PORT_COUNTER2: u16 = 2;
/// Offset of the control word register (0x43), write-only.
pub const PORT_CONTROL: u16 = 3;

/// Control word: counter select, bits 7:6 (11 = read-back command).
pub const CW_SELECT_SHIFT: u8 = 6;
/// Control word: SC value of the read-back command.
pub const CW_SELECT_READ_BACK: u8 = 3;
/// Control word: read/write access, bits 5:4 (00 = counter latch command).
pub const CW_ACCESS_SHIFT: u8 = 4;
/// Control word: mode, bits 3:1.
pub const CW_MODE_SHIFT: u8 = 1;
/// Control word: BCD counting, bit 0.
pub const CW_BCD: u8 = 1 << 0;

/// Read-back command: bit 5 low latches the counts of the selected counters.
pub const RB_NOT_COUNT: u8 = 1 << 5;
/// Read-back command: bit 4 low latches their status.
pub const RB_NOT_STATUS: u8 = 1 << 4;
/// Read-back command: counter 0 selected.
pub const RB_COUNTER0: u8 = 1 << 1;
/// Read-back command: counter 1 selected.
pub const RB_COUNTER1: u8 = 1 << 2;
/// Read-back command: counter 2 selected.
pub const RB_COUNTER2: u8 = 1 << 3;

/// Status byte: level of OUT.
pub const STATUS_OUTPUT: u8 = 1 << 7;
/// Status byte: NULL COUNT, set from a count or control word write until the
/// count is loaded into the counting element.
pub const STATUS_NULL_COUNT: u8 = 1 << 6;

/// Port 0x61 bit 0: GATE of counter 2 (read/write).
pub const PORT61_GATE2: u8 = 1 << 0;
/// Port 0x61 bit 1: speaker data enable (read/write; no sound here).
pub const PORT61_SPEAKER: u8 = 1 << 1;
/// Port 0x61 bit 2: parity/SERR# NMI disable (read/write, stored only).
pub const PORT61_SERR_DISABLE: u8 = 1 << 2;
/// Port 0x61 bit 3: IOCHK# NMI disable (read/write, stored only).
pub const PORT61_IOCHK_DISABLE: u8 = 1 << 3;
/// Port 0x61 bit 4: refresh toggle (read-only).
pub const PORT61_REFRESH: u8 = 1 << 4;
/// Port 0x61 bit 5: level of OUT2 (read-only).
pub const PORT61_OUT2: u8 = 1 << 5;
/// Port 0x61 bits the guest can write.
pub const PORT61_WRITABLE: u8 = 0x0F;
/// Half-period of the port 0x61 refresh toggle: the PC/AT's 15.085 µs DRAM
/// refresh request. Old delay loops count its flips.
pub const REFRESH_TOGGLE_NS: u64 = 15_085;

/// CLK edges from time 0 up to and including `now`.
pub const fn clock_ticks(now: Nanos) -> u64 {
    (now.0 as u128 * PIT_HZ as u128 / 1_000_000_000) as u64
}

/// The first nanosecond at which edge `tick` has happened.
pub const fn tick_time(tick: u64) -> Nanos {
    let ns = (tick as u128 * 1_000_000_000).div_ceil(PIT_HZ as u128);
    Nanos(if ns > u64::MAX as u128 {
        u64::MAX
    } else {
        ns as u64
    })
}

/// The three counters of an 8254 and the PC's port 0x61.
#[derive(Clone, Debug)]
pub struct Pit {
    channels: [Channel; 3],
    /// Port 0x61 bits 3:0 as written.
    port61: u8,
}

impl Default for Pit {
    fn default() -> Self {
        Self::new()
    }
}

impl Pit {
    /// A PIT in its power-on state: no counter programmed, GATE0 and GATE1
    /// tied high as on a PC, GATE2 low (port 0x61 reads 0).
    pub const fn new() -> Pit {
        Pit {
            channels: [Channel::new(true), Channel::new(true), Channel::new(false)],
            port61: 0,
        }
    }

    fn channel_at(&mut self, index: usize, now: Nanos) -> &mut Channel {
        let channel = &mut self.channels[index];
        channel.advance_to(clock_ticks(now));
        channel
    }

    fn read_byte(&mut self, offset: u16, now: Nanos) -> u8 {
        match offset {
            PORT_COUNTER0..=PORT_COUNTER2 => self.channel_at(usize::from(offset), now).read_byte(),
            // The control register is write-only; a read finds the bus
            // undriven.
            _ => 0xFF,
        }
    }

    fn write_byte(&mut self, offset: u16, value: u8, now: Nanos) {
        match offset {
            PORT_COUNTER0..=PORT_COUNTER2 => {
                self.channel_at(usize::from(offset), now)
                    .write_count_byte(value);
            }
            PORT_CONTROL => self.write_control(value, now),
            _ => {}
        }
    }

    fn write_control(&mut self, value: u8, now: Nanos) {
        let select = value >> CW_SELECT_SHIFT;
        if select == CW_SELECT_READ_BACK {
            for (index, bit) in [RB_COUNTER0, RB_COUNTER1, RB_COUNTER2]
                .into_iter()
                .enumerate()
            {
                if value & bit == 0 {
                    continue;
                }
                let channel = self.channel_at(index, now);
                // Status is latched first so that, with both, the first read
                // returns the status and the next ones the count.
                if value & RB_NOT_STATUS == 0 {
                    channel.latch_status();
                }
                if value & RB_NOT_COUNT == 0 {
                    channel.latch_count();
                }
            }
            return;
        }
        let channel = self.channel_at(usize::from(select), now);
        match Access::from_bits(value >> CW_ACCESS_SHIFT) {
            None => channel.latch_count(),
            Some(access) => channel.program(value, access),
        }
    }

    /// Rising edges of OUT0 (IRQ0) since the last call, saturating.
    pub fn irq0_edges(&mut self, now: Nanos) -> u32 {
        let channel = self.channel_at(0, now);
        let edges = core::mem::take(&mut channel.rising_edges);
        u32::try_from(edges).unwrap_or(u32::MAX)
    }

    /// When OUT0 next rises, or `None` if it never will without another
    /// guest access. A deadline at or before the time of the last call means
    /// edges are waiting for [`Pit::irq0_edges`].
    pub fn next_irq0_deadline(&self) -> Option<Nanos> {
        let channel = &self.channels[0];
        if channel.rising_edges > 0 {
            return Some(tick_time(channel.tick));
        }
        // Whatever the state, a rising edge that is coming at all comes
        // within two full count ranges plus the few edges that load,
        // trigger or end a strobe.
        const HORIZON: u64 = 2 * 0x1_0000 + 8;
        let rises_within = |edges: u64| {
            let mut probe = *channel;
            probe.advance_to(channel.tick.saturating_add(edges));
            probe.rising_edges > 0
        };
        if !rises_within(HORIZON) {
            return None;
        }
        let (mut low, mut high) = (0, HORIZON);
        while high - low > 1 {
            let mid = low + (high - low) / 2;
            if rises_within(mid) {
                high = mid;
            } else {
                low = mid;
            }
        }
        Some(tick_time(channel.tick.saturating_add(high)))
    }

    /// Level of OUT of counter `channel` (0..=2) at `now`; `false` for any
    /// other index.
    pub fn output(&mut self, channel: usize, now: Nanos) -> bool {
        if channel > 2 {
            return false;
        }
        self.channel_at(channel, now).out
    }

    /// A guest `in` from port 0x61.
    pub fn port61_read(&mut self, now: Nanos) -> u8 {
        let out2 = self.channel_at(2, now).out;
        let refresh = (now.0 / REFRESH_TOGGLE_NS) & 1 == 1;
        self.port61 | if refresh { PORT61_REFRESH } else { 0 } | if out2 { PORT61_OUT2 } else { 0 }
    }

    /// A guest `out` to port 0x61: bit 0 drives GATE2, bits 1–3 are stored,
    /// the read-only bits are ignored.
    pub fn port61_write(&mut self, value: u8, now: Nanos) {
        self.port61 = value & PORT61_WRITABLE;
        self.channel_at(2, now).set_gate(value & PORT61_GATE2 != 0);
    }

    /// Whether port 0x61 enables the speaker and gates counter 2, i.e. a
    /// guest is beeping. No sound is made; this is for logs.
    pub fn speaker_on(&self) -> bool {
        self.port61 & (PORT61_GATE2 | PORT61_SPEAKER) == PORT61_GATE2 | PORT61_SPEAKER
    }

    /// A [`PortDevice`] for port 0x61 (offset 0) backed by this PIT.
    pub fn port61(&mut self) -> Port61<'_> {
        Port61(self)
    }

    /// The state at `now`, for crash reports and tests. Does not change the
    /// device (pending IRQ0 edges stay pending).
    pub fn snapshot(&self, now: Nanos) -> PitSnapshot {
        let channel = |index: usize| {
            let mut c: Channel = self.channels[index];
            c.advance_to(clock_ticks(now));
            ChannelSnapshot {
                mode: c.mode,
                access: c.access,
                bcd: c.bcd,
                count_register: c.cr,
                count: c.count_value(),
                out: c.out,
                gate: c.gate,
                null_count: c.null_count,
                counting: c.counting,
                latched_count: c.latched_count,
                latched_status: c.latched_status,
            }
        };
        PitSnapshot {
            channels: [channel(0), channel(1), channel(2)],
            port61: self.port61,
        }
    }
}

impl PortDevice for Pit {
    fn port_read(&mut self, offset: u16, size: u8, now: Nanos) -> u32 {
        let mut value = 0;
        for lane in 0..size.min(4) {
            let byte = self.read_byte(offset.wrapping_add(u16::from(lane)), now);
            value |= u32::from(byte) << (8 * lane);
        }
        value
    }

    fn port_write(&mut self, offset: u16, size: u8, value: u32, now: Nanos) {
        for lane in 0..size.min(4) {
            let byte = (value >> (8 * lane)) as u8;
            self.write_byte(offset.wrapping_add(u16::from(lane)), byte, now);
        }
    }
}

/// Port 0x61 of a [`Pit`] as a one-port [`PortDevice`]. Other offsets read
/// 0xFF and ignore writes.
#[derive(Debug)]
pub struct Port61<'a>(pub &'a mut Pit);

impl PortDevice for Port61<'_> {
    fn port_read(&mut self, offset: u16, size: u8, now: Nanos) -> u32 {
        let mut value = 0;
        for lane in 0..size.min(4) {
            let byte = if offset.wrapping_add(u16::from(lane)) == 0 {
                self.0.port61_read(now)
            } else {
                0xFF
            };
            value |= u32::from(byte) << (8 * lane);
        }
        value
    }

    fn port_write(&mut self, offset: u16, size: u8, value: u32, now: Nanos) {
        if offset == 0 && size >= 1 {
            self.0.port61_write(value as u8, now);
        }
    }
}

/// One counter's state, as [`Pit::snapshot`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelSnapshot {
    /// Counting mode.
    pub mode: Mode,
    /// Read/write access.
    pub access: Access,
    /// BCD counting.
    pub bcd: bool,
    /// Count register as last written.
    pub count_register: u16,
    /// The count a read would return now (BCD-coded in BCD mode).
    pub count: u16,
    /// OUT level.
    pub out: bool,
    /// GATE level.
    pub gate: bool,
    /// NULL COUNT flag of the status byte.
    pub null_count: bool,
    /// Whether the counting element holds a loaded count.
    pub counting: bool,
    /// Count held by the output latch, if latched.
    pub latched_count: Option<u16>,
    /// Status byte held by the status latch, if latched.
    pub latched_status: Option<u8>,
}

/// The whole PIT's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PitSnapshot {
    /// Counters 0, 1 and 2.
    pub channels: [ChannelSnapshot; 3],
    /// Port 0x61 bits 3:0 as written.
    pub port61: u8,
}
