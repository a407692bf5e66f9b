//! The APIC page as the guest reaches it: register decode (SDM Vol. 3A
//! Table 11-1) and the access-width rules.

use super::LocalApic;
use super::lvt::Lvt;
use super::regs::*;
use crate::{MmioDevice, Nanos};

impl LocalApic {
    /// Reads a register; `None` for an offset the APIC does not implement.
    fn read_register(&self, register: u64, now: Nanos) -> Option<u32> {
        let word = |base: u64| ((register - base) >> 4) as usize;
        Some(match register {
            APIC_ID => u32::from(self.id) << 24,
            APIC_VERSION => VERSION_VALUE,
            APIC_TPR => u32::from(self.tpr),
            APIC_APR | APIC_RRD | APIC_EOI => 0,
            APIC_PPR => u32::from(self.processor_priority()),
            APIC_LDR => self.ldr,
            APIC_DFR => self.dfr,
            APIC_SVR => self.svr,
            r if (APIC_ISR_BASE..APIC_TMR_BASE).contains(&r) => self.isr.word(word(APIC_ISR_BASE)),
            r if (APIC_TMR_BASE..APIC_IRR_BASE).contains(&r) => self.tmr.word(word(APIC_TMR_BASE)),
            r if (APIC_IRR_BASE..APIC_ESR).contains(&r) => self.irr.word(word(APIC_IRR_BASE)),
            APIC_ESR => self.esr,
            APIC_ICR_LOW => self.icr_low_value(),
            APIC_ICR_HIGH => self.icr_high,
            APIC_TIMER_INITIAL_COUNT => self.timer.initial_count(),
            APIC_TIMER_CURRENT_COUNT => self.timer.current_count(now, self.timer_mode()),
            APIC_TIMER_DIVIDE_CONFIG => self.timer.divide_config(),
            _ => self.lvt[Lvt::from_register(register)? as usize],
        })
    }

    /// Writes a register; returns `false` for an offset the APIC does not
    /// implement. Writes to read-only registers are ignored.
    fn write_register(&mut self, register: u64, value: u32, now: Nanos) -> bool {
        match register {
            APIC_ID => self.id = (value >> 24) as u8,
            APIC_TPR => self.tpr = value as u8,
            APIC_EOI => {
                if let Some(vector) = self.eoi() {
                    self.eoi_broadcasts.set(vector);
                }
            }
            APIC_LDR => self.ldr = value & 0xFF00_0000,
            APIC_DFR => self.dfr = (value & 0xF000_0000) | DFR_RESERVED_ONES,
            APIC_SVR => self.write_svr(value),
            APIC_ESR => {
                // Write-before-read: the write makes the errors detected
                // since the previous write visible.
                self.esr = self.esr_pending;
                self.esr_pending = 0;
            }
            APIC_ICR_LOW => {
                self.icr_low = value & ICR_LOW_WRITABLE;
                self.send_ipi();
            }
            APIC_ICR_HIGH => self.icr_high = value & 0xFF00_0000,
            APIC_TIMER_INITIAL_COUNT => {
                let mode = self.timer_mode();
                self.timer.write_initial_count(now, value, mode);
            }
            APIC_TIMER_DIVIDE_CONFIG => {
                let mode = self.timer_mode();
                self.timer.write_divide_config(now, value, mode);
            }
            APIC_VERSION | APIC_APR | APIC_PPR | APIC_RRD | APIC_TIMER_CURRENT_COUNT => {}
            // ISR, TMR and IRR are read-only.
            r if (APIC_ISR_BASE..APIC_ESR).contains(&r) => {}
            _ => match Lvt::from_register(register) {
                Some(lvt) => self.write_lvt(lvt, value),
                None => return false,
            },
        }
        true
    }

    fn write_svr(&mut self, value: u32) {
        self.svr = value & SVR_WRITABLE;
        if !self.software_enabled() {
            // §11.4.7.2: software disable masks every LVT entry.
            for entry in &mut self.lvt {
                *entry |= LVT_MASKED;
            }
        }
    }

    fn write_lvt(&mut self, lvt: Lvt, value: u32) {
        let mut value = value & lvt.writable();
        if !self.software_enabled() {
            // §11.4.7.2: the mask bits cannot be cleared while disabled.
            value |= LVT_MASKED;
        }
        // Remote IRR is read-only; nothing drives LINT pins, so it stays 0.
        let old_mode = self.timer_mode();
        self.lvt[lvt as usize] = value;
        if lvt == Lvt::Timer {
            self.timer.mode_changed(old_mode, self.timer_mode());
        }
    }
}

/// Access rules: registers are 32 bits at 16-byte aligned offsets. A read of
/// 1, 2 or 4 bytes that lies within the first four bytes of a register
/// returns those bytes; any other read returns 0. Only 4-byte writes at an
/// aligned offset take effect; others are ignored (both as KVM does, the SDM
/// calling narrower accesses model-specific). An access to an unimplemented
/// register sets "illegal register address" in the ESR. A hardware-disabled
/// APIC reads 0 and ignores writes.
impl MmioDevice for LocalApic {
    fn mmio_read(&mut self, offset: u64, size: u8, now: Nanos) -> u64 {
        if !self.hardware_enabled || offset >= APIC_WINDOW_SIZE {
            return 0;
        }
        self.poll_timer(now);
        let register = offset & !0xF;
        let within = offset & 0xF;
        let Some(value) = self.read_register(register, now) else {
            self.record_error(ESR_ILLEGAL_REGISTER_ADDRESS);
            return 0;
        };
        if !matches!(size, 1 | 2 | 4) || within + u64::from(size) > 4 {
            return 0;
        }
        let bytes = u64::from(value) >> (within * 8);
        bytes & (u64::MAX >> (64 - 8 * u32::from(size)))
    }

    fn mmio_write(&mut self, offset: u64, size: u8, value: u64, now: Nanos) {
        if !self.hardware_enabled || offset >= APIC_WINDOW_SIZE {
            return;
        }
        self.poll_timer(now);
        if size != 4 || offset & 0xF != 0 {
            return;
        }
        if !self.write_register(offset, value as u32, now) {
            self.record_error(ESR_ILLEGAL_REGISTER_ADDRESS);
        }
    }
}
