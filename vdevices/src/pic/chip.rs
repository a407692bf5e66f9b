//! One 8259A, following the Intel 8259A datasheet (231468): "Functional
//! Description" (IRR, ISR, IMR, priority resolver), "Programming the 8259A"
//! (ICW1–ICW4, OCW1–OCW3) and "Modes of Operation" (fully nested, rotation,
//! special mask, poll, special fully nested, edge and level triggered).
//!
//! The chip knows nothing of its partner: the pair in the parent module wires
//! the slave's INT output to the master's IR2 and routes INTA cycles.

use super::regs::{icw1, icw2, icw3, icw4, ocw2, ocw3, poll_word};

/// Which data-port write the chip expects next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InitStage {
    /// Initialised: data-port writes are OCW1 (the mask).
    Ready,
    /// ICW1 seen; ICW2 (vector base) next.
    Icw2,
    /// ICW3 (cascade wiring) next.
    Icw3,
    /// ICW4 (mode) next.
    Icw4,
}

/// Master or slave, as the SP/EN pin wires it on a PC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Role {
    Master,
    Slave,
}

/// The guest-visible state of one 8259A.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PicChipSnapshot {
    /// Interrupt request register.
    pub irr: u8,
    /// In-service register.
    pub isr: u8,
    /// Interrupt mask register (OCW1).
    pub imr: u8,
    /// Current input levels of IR0–IR7.
    pub input_levels: u8,
    /// Edge/level control register (ELCR), 1 = level.
    pub elcr: u8,
    /// ICW1 LTIM: every line level-triggered.
    pub level_triggered_all: bool,
    /// ICW2 vector base (bits 7:3).
    pub vector_base: u8,
    /// The line with the lowest priority (rotation state); the next line up
    /// has the highest.
    pub lowest_priority: u8,
    /// Where the initialisation sequence stands.
    pub init_stage: InitStage,
    /// ICW1 SNGL: no cascade.
    pub single: bool,
    /// ICW3: cascade lines (master) or slave ID (slave).
    pub icw3: u8,
    /// ICW4 µPM: 8086 mode.
    pub mode_8086: bool,
    /// ICW4 AEOI.
    pub auto_eoi: bool,
    /// OCW2 rotate in automatic EOI mode.
    pub rotate_in_auto_eoi: bool,
    /// ICW4 BUF.
    pub buffered: bool,
    /// ICW4 M/S.
    pub master_buffer: bool,
    /// ICW4 SFNM.
    pub special_fully_nested: bool,
    /// OCW3 special mask mode.
    pub special_mask: bool,
    /// OCW3 read register select: ISR (else IRR).
    pub read_isr: bool,
    /// OCW3 poll command armed for the next read.
    pub poll: bool,
}

#[derive(Clone, Debug)]
pub(super) struct Chip {
    role: Role,
    irr: u8,
    isr: u8,
    imr: u8,
    input: u8,
    elcr: u8,
    /// ELCR bits that exist: lines the chipset hard-wires to edge read 0.
    elcr_mask: u8,
    ltim: bool,
    vector_base: u8,
    lowest_priority: u8,
    stage: InitStage,
    icw4_expected: bool,
    single: bool,
    icw3: u8,
    mode_8086: bool,
    auto_eoi: bool,
    rotate_in_auto_eoi: bool,
    buffered: bool,
    master_buffer: bool,
    special_fully_nested: bool,
    special_mask: bool,
    read_isr: bool,
    poll: bool,
}

impl Chip {
    /// An initialised, fully masked chip in 8086 mode with the given vector
    /// base and ICW3, edge-triggered, normal EOI, IR7 lowest priority.
    pub(super) fn new(role: Role, vector_base: u8, icw3: u8, elcr_mask: u8, imr: u8) -> Chip {
        Chip {
            role,
            irr: 0,
            isr: 0,
            imr,
            input: 0,
            elcr: 0,
            elcr_mask,
            ltim: false,
            vector_base: vector_base & icw2::VECTOR_BASE_MASK,
            lowest_priority: 7,
            stage: InitStage::Ready,
            icw4_expected: true,
            single: false,
            icw3,
            mode_8086: true,
            auto_eoi: false,
            rotate_in_auto_eoi: false,
            buffered: false,
            master_buffer: false,
            special_fully_nested: false,
            special_mask: false,
            read_isr: false,
            poll: false,
        }
    }

    pub(super) fn vector_base(&self) -> u8 {
        self.vector_base
    }

    /// ICW3 as programmed: the slave ID on a slave.
    pub(super) fn slave_id(&self) -> u8 {
        self.icw3 & icw3::SLAVE_ID_MASK
    }

    /// Lines with a slave attached: ICW3 on a cascaded master, else none.
    pub(super) fn cascade_lines(&self) -> u8 {
        if self.role == Role::Master && !self.single {
            self.icw3
        } else {
            0
        }
    }

    /// The lines that are level-triggered: all with LTIM, else per ELCR.
    fn level_lines(&self) -> u8 {
        if self.ltim { 0xFF } else { self.elcr }
    }

    /// Drives input IR`line` to `level`. A level-triggered line's request
    /// follows its input. An edge-triggered line latches a request on the
    /// rising edge, and the request stays until acknowledged even if the line
    /// falls first: the datasheet wants IR held until the first INTA, a
    /// timing rule that virtual devices pulsing their line in zero time
    /// cannot meet (every PC emulator latches the same way).
    pub(super) fn set_input(&mut self, line: u8, level: bool) {
        let bit = 1u8 << (line & 7);
        let was_high = self.input & bit != 0;
        if level {
            self.input |= bit;
        } else {
            self.input &= !bit;
        }
        if self.level_lines() & bit != 0 {
            self.irr = (self.irr & !bit) | (self.input & bit);
        } else if level && !was_high {
            self.irr |= bit;
        }
    }

    /// Level-triggered lines' requests follow their inputs again after the
    /// trigger modes changed. Lines that became edge-triggered keep whatever
    /// request they had.
    fn resync_level_requests(&mut self) {
        let level = self.level_lines();
        self.irr = (self.irr & !level) | (self.input & level);
    }

    /// Writes the ELCR (PIIX/ICH edge/level control register).
    pub(super) fn write_elcr(&mut self, value: u8) {
        self.elcr = value & self.elcr_mask;
        self.resync_level_requests();
    }

    pub(super) fn elcr(&self) -> u8 {
        self.elcr
    }

    /// Priority rank of `line`: 0 is the highest.
    fn rank(&self, line: u8) -> u8 {
        line.wrapping_sub(self.lowest_priority).wrapping_sub(1) & 7
    }

    /// The line of highest priority among `lines`.
    fn highest(&self, lines: u8) -> Option<u8> {
        (0..8)
            .map(|rank| (self.lowest_priority + 1 + rank) & 7)
            .find(|line| lines & (1 << line) != 0)
    }

    /// The line the priority resolver would hand to an INTA now, if any;
    /// this is what drives the INT output.
    ///
    /// Fully nested mode: the highest unmasked request wins if its priority
    /// is above every line in service. Special fully nested mode (master):
    /// a cascade line in service does not block a new request on that same
    /// line, so a higher-priority slave interrupt gets through. Special mask
    /// mode: "a mask bit ... inhibits further interrupts at that level and
    /// enables interrupts from all other levels (lower as well as higher)
    /// that are not masked" — any unmasked request whose own line is not in
    /// service is eligible, as Bochs models it.
    pub(super) fn pending_line(&self) -> Option<u8> {
        let requests = self.irr & !self.imr;
        let nested_exempt = if self.special_fully_nested {
            self.cascade_lines()
        } else {
            0
        };
        if self.special_mask {
            return self.highest(requests & !(self.isr & !nested_exempt));
        }
        let request = self.highest(requests)?;
        let Some(busy) = self.highest(self.isr) else {
            return Some(request);
        };
        let (request_rank, busy_rank) = (self.rank(request), self.rank(busy));
        let same_line_exempt = request == busy && nested_exempt & (1 << request) != 0;
        (request_rank < busy_rank || same_line_exempt).then_some(request)
    }

    /// The INT output.
    pub(super) fn int_output(&self) -> bool {
        self.pending_line().is_some()
    }

    /// The INTA sequence for `line`: an edge request is consumed, the line
    /// goes in service — or, with AEOI, the end of interrupt happens at once
    /// (rotating the line to lowest priority when rotate-in-AEOI is set).
    pub(super) fn acknowledge(&mut self, line: u8) {
        let bit = 1u8 << (line & 7);
        if self.level_lines() & bit == 0 {
            self.irr &= !bit;
        }
        if self.auto_eoi {
            if self.rotate_in_auto_eoi {
                self.lowest_priority = line & 7;
            }
        } else {
            self.isr |= bit;
        }
    }

    fn non_specific_eoi(&mut self, rotate: bool) {
        if let Some(line) = self.highest(self.isr) {
            self.isr &= !(1 << line);
            if rotate {
                self.lowest_priority = line;
            }
        }
    }

    /// A write to the command port (A0 = 0).
    pub(super) fn write_command(&mut self, value: u8) {
        if value & icw1::SELECT != 0 {
            self.write_icw1(value);
        } else if value & ocw3::SELECT != 0 {
            self.write_ocw3(value);
        } else {
            self.write_ocw2(value);
        }
    }

    /// ICW1. The datasheet's list of what it does: the edge sense circuit is
    /// reset (an edge-triggered line must go low to high afresh: pending edge
    /// requests are dropped, a line held high stays unrequested); the IMR is
    /// cleared; IR7 gets the lowest priority; the slave address is set to 7;
    /// special mask mode is cleared and status reads select the IRR; without
    /// IC4 every ICW4 function is zeroed (MCS-80/85 mode, no AEOI, not
    /// buffered, no SFNM). The datasheet is silent on the ISR; it is cleared
    /// here, as QEMU and Bochs do, so a reinitialising guest does not inherit
    /// in-service bits it can no longer account for. A pending poll is
    /// cancelled. The vector base changes with the ICW2 that follows.
    fn write_icw1(&mut self, value: u8) {
        self.stage = InitStage::Icw2;
        self.icw4_expected = value & icw1::IC4 != 0;
        self.single = value & icw1::SNGL != 0;
        self.ltim = value & icw1::LTIM != 0;
        self.irr = self.input & self.level_lines();
        self.isr = 0;
        self.imr = 0;
        self.lowest_priority = 7;
        self.icw3 = match self.role {
            Role::Master => 0,
            Role::Slave => 7,
        };
        self.special_mask = false;
        self.read_isr = false;
        self.poll = false;
        if !self.icw4_expected {
            self.mode_8086 = false;
            self.auto_eoi = false;
            self.buffered = false;
            self.master_buffer = false;
            self.special_fully_nested = false;
        }
    }

    /// OCW2: EOIs, rotations and priority setting.
    fn write_ocw2(&mut self, value: u8) {
        let line = value & ocw2::LEVEL_MASK;
        match value & ocw2::COMMAND_MASK {
            ocw2::NON_SPECIFIC_EOI => self.non_specific_eoi(false),
            ocw2::ROTATE_ON_NON_SPECIFIC_EOI => self.non_specific_eoi(true),
            ocw2::SPECIFIC_EOI => self.isr &= !(1 << line),
            ocw2::ROTATE_ON_SPECIFIC_EOI => {
                self.isr &= !(1 << line);
                self.lowest_priority = line;
            }
            ocw2::SET_PRIORITY => self.lowest_priority = line,
            ocw2::ROTATE_IN_AEOI_SET => self.rotate_in_auto_eoi = true,
            ocw2::ROTATE_IN_AEOI_CLEAR => self.rotate_in_auto_eoi = false,
            _ => {} // ocw2::NOP
        }
    }

    /// OCW3: register select, poll, special mask mode.
    fn write_ocw3(&mut self, value: u8) {
        if value & ocw3::POLL != 0 {
            self.poll = true;
        }
        if value & ocw3::RR != 0 {
            self.read_isr = value & ocw3::RIS != 0;
        }
        if value & ocw3::ESMM != 0 {
            self.special_mask = value & ocw3::SMM != 0;
        }
    }

    /// A write to the data port (A0 = 1): the next ICW during
    /// initialisation, OCW1 otherwise.
    ///
    /// ICW4's buffered-mode bits only change bus drivers and are recorded
    /// without effect. In MCS-80/85 mode a real 8259A answers INTA with a
    /// CALL instruction an x86 CPU cannot use; the mode is recorded and INTA
    /// still yields `base + line`.
    pub(super) fn write_data(&mut self, value: u8) {
        match self.stage {
            InitStage::Ready => self.imr = value,
            InitStage::Icw2 => {
                self.vector_base = value & icw2::VECTOR_BASE_MASK;
                self.stage = if !self.single {
                    InitStage::Icw3
                } else if self.icw4_expected {
                    InitStage::Icw4
                } else {
                    InitStage::Ready
                };
            }
            InitStage::Icw3 => {
                self.icw3 = match self.role {
                    Role::Master => value,
                    Role::Slave => value & icw3::SLAVE_ID_MASK,
                };
                self.stage = if self.icw4_expected {
                    InitStage::Icw4
                } else {
                    InitStage::Ready
                };
            }
            InitStage::Icw4 => {
                self.mode_8086 = value & icw4::UPM_8086 != 0;
                self.auto_eoi = value & icw4::AEOI != 0;
                self.master_buffer = value & icw4::MASTER_BUFFER != 0;
                self.buffered = value & icw4::BUF != 0;
                self.special_fully_nested = value & icw4::SFNM != 0;
                self.stage = InitStage::Ready;
            }
        }
    }

    /// Consumes an armed poll command, if any: the read is an INTA for this
    /// chip alone, answered with the poll word.
    pub(super) fn take_poll(&mut self) -> Option<u8> {
        if !self.poll {
            return None;
        }
        self.poll = false;
        Some(match self.pending_line() {
            Some(line) => {
                self.acknowledge(line);
                poll_word::INTERRUPT | line
            }
            None => 0,
        })
    }

    /// A read of the command port without a poll: IRR or ISR per OCW3.
    pub(super) fn read_status(&self) -> u8 {
        if self.read_isr { self.isr } else { self.irr }
    }

    /// A read of the data port without a poll: the IMR.
    pub(super) fn read_mask(&self) -> u8 {
        self.imr
    }

    pub(super) fn snapshot(&self) -> PicChipSnapshot {
        PicChipSnapshot {
            irr: self.irr,
            isr: self.isr,
            imr: self.imr,
            input_levels: self.input,
            elcr: self.elcr,
            level_triggered_all: self.ltim,
            vector_base: self.vector_base,
            lowest_priority: self.lowest_priority,
            init_stage: self.stage,
            single: self.single,
            icw3: self.icw3,
            mode_8086: self.mode_8086,
            auto_eoi: self.auto_eoi,
            rotate_in_auto_eoi: self.rotate_in_auto_eoi,
            buffered: self.buffered,
            master_buffer: self.master_buffer,
            special_fully_nested: self.special_fully_nested,
            special_mask: self.special_mask,
            read_isr: self.read_isr,
            poll: self.poll,
        }
    }
}
