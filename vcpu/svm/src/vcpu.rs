//! [`SvmVcpu`]: the [`Vcpu`] trait over one VMCB.

use alloc::boxed::Box;

use bulkhead_vcpu::state::rflags;
use bulkhead_vcpu::{
    Event, Exit, Gpr, Gprs, GuestState, IoDirection, MmioAccess, SegmentReg, Vcpu, VcpuError,
    vectors,
};

use crate::vmcb::{Vmcb, event, exit_code, intercept1, intercept2, ioio, npf, v_intr};
use crate::{state, world_switch};

/// What the core sets up once per vCPU.
#[derive(Clone, Copy, Debug)]
pub struct SvmConfig {
    /// The partition's address-space ID (nonzero, below the CPU's ASID count).
    pub asid: u32,
    /// Root of the partition's nested page table.
    pub nested_cr3: u64,
    /// Physical address of the I/O permission map.
    pub iopm: u64,
    /// Physical address of the MSR permission map.
    pub msrpm: u64,
    /// The CPU saves the next RIP on exits.
    pub next_rip_save: bool,
}

/// A vCPU on AMD SVM.
pub struct SvmVcpu {
    vmcb: Box<Vmcb>,
    host_vmcb: Box<Vmcb>,
    gprs: Gprs,
    next_rip_save: bool,
    /// Length of the instruction behind the last exit, when known.
    exit_length: Option<u8>,
    window_requested: bool,
}

const INTERCEPTS1: u32 = intercept1::INTR
    | intercept1::NMI
    | intercept1::INIT
    | intercept1::CPUID
    | intercept1::HLT
    | intercept1::INVLPGA
    | intercept1::IOIO_PROT
    | intercept1::MSR_PROT
    | intercept1::SHUTDOWN;

const INTERCEPTS2: u32 = intercept2::VMRUN
    | intercept2::VMMCALL
    | intercept2::VMLOAD
    | intercept2::VMSAVE
    | intercept2::STGI
    | intercept2::CLGI
    | intercept2::SKINIT
    | intercept2::MONITOR
    | intercept2::MWAIT;

/// The vector the interrupt-window request parks in V_IRQ: it is never
/// delivered (the VINTR intercept fires first), so any vector will do.
const WINDOW_VECTOR: u64 = 0x20;

impl SvmVcpu {
    /// A vCPU in the architectural reset state.
    ///
    /// # Safety
    /// The heap this allocates from must be identity mapped (a VMCB's virtual
    /// address is given to the CPU as its physical address); `config` must name
    /// a valid nested page table and permission maps that outlive the vCPU; SVM
    /// must be enabled on the core that runs it.
    pub unsafe fn new(config: SvmConfig) -> Self {
        let mut vmcb = Box::new(Vmcb::zeroed());
        let control = &mut vmcb.control;
        control.intercept_misc1 = INTERCEPTS1;
        control.intercept_misc2 = INTERCEPTS2;
        control.iopm_base_pa = config.iopm;
        control.msrpm_base_pa = config.msrpm;
        control.guest_asid = config.asid;
        // Flush everything on the first entry; QEMU's TCG has no flush-by-ASID.
        control.tlb_control = 1;
        control.v_intr = v_intr::INTR_MASKING;
        control.np_enable = 1;
        control.n_cr3 = config.nested_cr3;
        let mut vcpu = Self {
            vmcb,
            host_vmcb: Box::new(Vmcb::zeroed()),
            gprs: Gprs::default(),
            next_rip_save: config.next_rip_save,
            exit_length: None,
            window_requested: false,
        };
        vcpu.load(&GuestState::reset());
        vcpu
    }

    fn load(&mut self, guest: &GuestState) {
        state::store(guest, &mut self.vmcb.save);
        self.gprs = guest.gprs;
        self.vmcb.control.interrupt_shadow = u64::from(guest.interrupt_shadow);
    }

    fn physical<T>(value: &T) -> u64 {
        value as *const T as u64
    }

    /// Puts an event that an exit interrupted back in line for the next entry
    /// (APM Vol. 2, 15.7.2). QEMU's TCG reports interrupted external
    /// interrupts and NMIs as exceptions: a vector of 32 or more is an
    /// interrupt, and vector 2 is an NMI.
    fn requeue_interrupted_event(&mut self) {
        let info = self.vmcb.control.exit_int_info;
        if info & event::VALID == 0 {
            return;
        }
        let vector = info & event::VECTOR_MASK;
        let mut kind = (info >> event::TYPE_SHIFT) & 7;
        if kind == event::TYPE_EXCEPTION && vector >= 32 {
            kind = event::TYPE_INTR;
        } else if kind == event::TYPE_EXCEPTION && vector == u64::from(vectors::NMI) {
            kind = event::TYPE_NMI;
        }
        let error = info & (event::ERROR_CODE_VALID | (0xFFFF_FFFF << event::ERROR_CODE_SHIFT));
        self.vmcb.control.event_inj = vector | (kind << event::TYPE_SHIFT) | error | event::VALID;
    }

    fn fixed_length(&self, len: u8) -> Option<u8> {
        if self.next_rip_save && self.vmcb.control.next_rip > self.vmcb.save.rip {
            u8::try_from(self.vmcb.control.next_rip - self.vmcb.save.rip).ok()
        } else {
            Some(len)
        }
    }

    fn decode(&mut self) -> Exit {
        let control = &self.vmcb.control;
        let (code, info1, info2) = (control.exit_code, control.exit_info1, control.exit_info2);
        self.exit_length = None;
        if code as u32 == exit_code::INVALID {
            return Exit::InvalidGuestState {
                detail: "VMRUN refused the guest state (VMEXIT_INVALID)",
            };
        }
        match code {
            c if (exit_code::EXCEPTION_BASE..exit_code::EXCEPTION_BASE + 32).contains(&c) => {
                let vector = (c - exit_code::EXCEPTION_BASE) as u8;
                let error_code = vectors::has_error_code(vector).then_some(info1 as u32);
                Exit::Exception { vector, error_code }
            }
            exit_code::INTR => Exit::ExternalInterrupt,
            exit_code::NMI => Exit::Nmi,
            exit_code::INIT => Exit::Init,
            exit_code::VINTR => {
                self.cancel_window();
                Exit::InterruptWindow
            }
            exit_code::CPUID => {
                self.exit_length = self.fixed_length(2);
                Exit::Cpuid {
                    leaf: self.gprs.rax as u32,
                    subleaf: self.gprs.rcx as u32,
                }
            }
            exit_code::HLT => {
                self.exit_length = self.fixed_length(1);
                Exit::Hlt
            }
            exit_code::VMMCALL => {
                self.exit_length = self.fixed_length(3);
                Exit::Hypercall
            }
            exit_code::PAUSE => {
                self.exit_length = self.fixed_length(2);
                Exit::Pause
            }
            exit_code::MSR => {
                self.exit_length = self.fixed_length(2);
                let msr = self.gprs.rcx as u32;
                if info1 & 1 == 0 {
                    Exit::MsrRead { msr }
                } else {
                    let value = (self.gprs.rdx << 32) | (self.gprs.rax & 0xFFFF_FFFF);
                    Exit::MsrWrite { msr, value }
                }
            }
            exit_code::IOIO => self.decode_io(info1, info2),
            exit_code::NPF => {
                let access = if info1 & npf::FETCH != 0 {
                    MmioAccess::Execute
                } else if info1 & npf::WRITE != 0 {
                    MmioAccess::Write
                } else {
                    MmioAccess::Read
                };
                Exit::Mmio {
                    gpa: info2,
                    access,
                    linear: None,
                    page_walk: info1 & npf::GUEST_TABLES != 0,
                }
            }
            exit_code::SHUTDOWN => Exit::Shutdown,
            // The guest's EFER.SVME reads clear and CPUID hides SVM, MONITOR and
            // MWAIT, so these instructions architecturally raise #UD for it.
            exit_code::VMRUN
            | exit_code::VMLOAD
            | exit_code::VMSAVE
            | exit_code::STGI
            | exit_code::CLGI
            | exit_code::SKINIT
            | exit_code::INVLPGA
            | exit_code::MONITOR
            | exit_code::MWAIT => Exit::Exception {
                vector: vectors::UD,
                error_code: None,
            },
            _ => Exit::Unhandled { code, info1, info2 },
        }
    }

    fn decode_io(&mut self, info1: u64, info2: u64) -> Exit {
        let port = (info1 >> ioio::PORT_SHIFT) as u16;
        let size = match (info1 >> ioio::SIZE_SHIFT) & 7 {
            1 => 1,
            2 => 2,
            _ => 4,
        };
        let rip = self.vmcb.save.rip;
        self.exit_length = info2
            .checked_sub(rip)
            .and_then(|len| u8::try_from(len).ok());
        let direction = if info1 & ioio::TYPE_IN != 0 {
            IoDirection::In
        } else {
            IoDirection::Out
        };
        if info1 & ioio::STRING != 0 {
            let address_bits = match (info1 >> ioio::ADDRESS_SHIFT) & 7 {
                1 => Some(16),
                2 => Some(32),
                4 => Some(64),
                _ => None,
            };
            let segment = SegmentReg::from_sreg(((info1 >> ioio::SEGMENT_SHIFT) & 7) as u8);
            return Exit::IoString {
                port,
                size,
                direction,
                rep: info1 & ioio::REP != 0,
                address_bits,
                segment,
            };
        }
        match direction {
            IoDirection::In => Exit::IoIn { port, size },
            IoDirection::Out => {
                let mask = if size == 4 {
                    0xFFFF_FFFF
                } else {
                    (1u64 << (size * 8)) - 1
                };
                Exit::IoOut {
                    port,
                    size,
                    value: (self.gprs.rax & mask) as u32,
                }
            }
        }
    }

    fn cancel_window(&mut self) {
        self.window_requested = false;
        self.vmcb.control.intercept_misc1 &= !intercept1::VINTR;
        self.vmcb.control.v_intr &=
            !(v_intr::V_IRQ | v_intr::IGN_TPR | (0xFF << v_intr::VECTOR_SHIFT));
    }
}

impl Vcpu for SvmVcpu {
    fn backend(&self) -> &'static str {
        "svm"
    }

    fn run(&mut self) -> Result<Exit, VcpuError> {
        self.vmcb.save.rax = self.gprs.rax;
        self.vmcb.save.rsp = self.gprs.rsp;
        let guest = Self::physical(&*self.vmcb);
        let host = Self::physical(&*self.host_vmcb);
        // SAFETY: `new`'s contract: both VMCBs are identity mapped, SVM is
        // enabled on this core, and the nested page table and permission maps
        // are live; the register block is this vCPU's own.
        unsafe { world_switch::run(&mut self.gprs, guest, host) };
        self.gprs.rax = self.vmcb.save.rax;
        self.gprs.rsp = self.vmcb.save.rsp;
        self.vmcb.control.tlb_control = 0;
        self.vmcb.control.event_inj = 0;
        self.requeue_interrupted_event();
        Ok(self.decode())
    }

    fn state(&self) -> GuestState {
        let mut guest = GuestState::reset();
        state::load(&self.vmcb.save, &mut guest);
        let (rax, rsp) = (guest.gprs.rax, guest.gprs.rsp);
        guest.gprs = self.gprs;
        guest.gprs.rax = rax;
        guest.gprs.rsp = rsp;
        guest.interrupt_shadow = self.interrupt_shadow();
        guest
    }

    fn set_state(&mut self, guest: &GuestState) -> Result<(), VcpuError> {
        self.load(guest);
        Ok(())
    }

    fn gpr(&self, reg: Gpr) -> u64 {
        self.gprs.get(reg)
    }

    fn set_gpr(&mut self, reg: Gpr, value: u64) {
        self.gprs.set(reg, value);
    }

    fn rip(&self) -> u64 {
        self.vmcb.save.rip
    }

    fn set_rip(&mut self, rip: u64) {
        self.vmcb.save.rip = rip;
    }

    fn rflags(&self) -> u64 {
        self.vmcb.save.rflags
    }

    fn set_rflags(&mut self, value: u64) {
        self.vmcb.save.rflags = value | rflags::FIXED;
    }

    fn exit_instruction_length(&self) -> Option<u8> {
        self.exit_length
    }

    fn advance_rip(&mut self, len: u8) {
        let len = u64::from(len);
        let cs = &self.vmcb.save.cs;
        let long = self.vmcb.save.efer & bulkhead_vcpu::state::efer::LMA != 0
            && cs.attributes & (1 << 9) != 0;
        let rip = self.vmcb.save.rip.wrapping_add(len);
        self.vmcb.save.rip = if long {
            rip
        } else if cs.attributes & (1 << 10) != 0 {
            rip & 0xFFFF_FFFF
        } else {
            rip & 0xFFFF
        };
        self.vmcb.control.interrupt_shadow = 0;
    }

    fn inject(&mut self, event: Event) -> Result<(), VcpuError> {
        if self.event_pending() {
            return Err(VcpuError::EventPending);
        }
        let real_mode = self.vmcb.save.cr0 & 1 == 0;
        let raw = match event {
            Event::Exception { vector, error_code } => {
                let error = match error_code {
                    Some(code) if !real_mode => {
                        event::ERROR_CODE_VALID | (u64::from(code) << event::ERROR_CODE_SHIFT)
                    }
                    _ => 0,
                };
                u64::from(vector) | (event::TYPE_EXCEPTION << event::TYPE_SHIFT) | error
            }
            Event::Interrupt { vector } => {
                u64::from(vector) | (event::TYPE_INTR << event::TYPE_SHIFT)
            }
            Event::Nmi => u64::from(vectors::NMI) | (event::TYPE_NMI << event::TYPE_SHIFT),
        };
        self.vmcb.control.event_inj = raw | event::VALID;
        Ok(())
    }

    fn event_pending(&self) -> bool {
        self.vmcb.control.event_inj & event::VALID != 0
    }

    fn interrupt_shadow(&self) -> bool {
        self.vmcb.control.interrupt_shadow & 1 != 0
    }

    fn request_interrupt_window(&mut self) {
        self.window_requested = true;
        self.vmcb.control.intercept_misc1 |= intercept1::VINTR;
        self.vmcb.control.v_intr |=
            v_intr::V_IRQ | v_intr::IGN_TPR | (WINDOW_VECTOR << v_intr::VECTOR_SHIFT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vcpu() -> SvmVcpu {
        let config = SvmConfig {
            asid: 1,
            nested_cr3: 0x1000,
            iopm: 0x2000,
            msrpm: 0x5000,
            next_rip_save: false,
        };
        // SAFETY: the vCPU is never run in these tests; only decoding is exercised.
        unsafe { SvmVcpu::new(config) }
    }

    fn exit(vcpu: &mut SvmVcpu, code: u64, info1: u64, info2: u64) -> Exit {
        vcpu.vmcb.control.exit_code = code;
        vcpu.vmcb.control.exit_info1 = info1;
        vcpu.vmcb.control.exit_info2 = info2;
        vcpu.decode()
    }

    /// IOIO EXITINFO1 (APM Figure 15-2): port, size and direction; EXITINFO2
    /// is the next RIP, which gives the instruction length.
    #[test]
    fn decodes_port_io() {
        let mut v = vcpu();
        v.vmcb.save.rip = 0x1000;
        v.gprs.rax = 0xAABB_CCDD;
        let out = exit(&mut v, exit_code::IOIO, (0x3F8 << 16) | (1 << 4), 0x1001);
        assert_eq!(
            out,
            Exit::IoOut {
                port: 0x3F8,
                size: 1,
                value: 0xDD
            }
        );
        assert_eq!(v.exit_instruction_length(), Some(1));
        let inw = exit(&mut v, exit_code::IOIO, (0x71 << 16) | (1 << 5) | 1, 0x1002);
        assert_eq!(
            inw,
            Exit::IoIn {
                port: 0x71,
                size: 2
            }
        );
        let rep_outsd = (0xCFC << 16) | (1 << 6) | ioio::STRING | ioio::REP | (2 << 7) | (3 << 10);
        let string = exit(&mut v, exit_code::IOIO, rep_outsd, 0x1003);
        assert_eq!(
            string,
            Exit::IoString {
                port: 0xCFC,
                size: 4,
                direction: IoDirection::Out,
                rep: true,
                address_bits: Some(32),
                segment: Some(SegmentReg::Ds),
            }
        );
    }

    /// MSR exits read ECX, and EDX:EAX for writes; CPUID reads EAX/ECX.
    #[test]
    fn decodes_msr_and_cpuid() {
        let mut v = vcpu();
        v.gprs.rcx = 0xC000_0080;
        v.gprs.rdx = 0x1;
        v.gprs.rax = 0x0000_0500;
        assert_eq!(
            exit(&mut v, exit_code::MSR, 0, 0),
            Exit::MsrRead { msr: 0xC000_0080 }
        );
        assert_eq!(
            exit(&mut v, exit_code::MSR, 1, 0),
            Exit::MsrWrite {
                msr: 0xC000_0080,
                value: 0x1_0000_0500
            }
        );
        assert_eq!(v.exit_instruction_length(), Some(2));
        v.gprs.rax = 0x4000_0000;
        v.gprs.rcx = 3;
        assert_eq!(
            exit(&mut v, exit_code::CPUID, 0, 0),
            Exit::Cpuid {
                leaf: 0x4000_0000,
                subleaf: 3
            }
        );
    }

    /// A nested page fault is an MMIO access at EXITINFO2, typed by the error code.
    #[test]
    fn decodes_nested_page_faults() {
        let mut v = vcpu();
        let write = exit(
            &mut v,
            exit_code::NPF,
            npf::WRITE | npf::FINAL_ADDRESS,
            0xFEC0_0010,
        );
        assert_eq!(
            write,
            Exit::Mmio {
                gpa: 0xFEC0_0010,
                access: MmioAccess::Write,
                linear: None,
                page_walk: false
            }
        );
        assert_eq!(v.exit_instruction_length(), None);
        let walk = exit(&mut v, exit_code::NPF, npf::GUEST_TABLES, 0x4000_0000);
        assert_eq!(
            walk,
            Exit::Mmio {
                gpa: 0x4000_0000,
                access: MmioAccess::Read,
                linear: None,
                page_walk: true
            }
        );
    }

    /// QEMU's TCG reports VMEXIT_INVALID in the low 32 bits only.
    #[test]
    fn recognises_invalid_state_either_way() {
        let mut v = vcpu();
        for code in [u64::MAX, 0xFFFF_FFFF] {
            assert!(matches!(
                exit(&mut v, code, 0, 0),
                Exit::InvalidGuestState { .. }
            ));
        }
    }

    /// SVM instructions raise #UD for a guest whose EFER.SVME reads clear.
    #[test]
    fn svm_instructions_are_undefined_for_the_guest() {
        let mut v = vcpu();
        for code in [
            exit_code::VMRUN,
            exit_code::VMLOAD,
            exit_code::STGI,
            exit_code::SKINIT,
            exit_code::INVLPGA,
        ] {
            assert_eq!(
                exit(&mut v, code, 0, 0),
                Exit::Exception {
                    vector: vectors::UD,
                    error_code: None
                }
            );
        }
        assert_eq!(exit(&mut v, exit_code::VMMCALL, 0, 0), Exit::Hypercall);
        assert_eq!(v.exit_instruction_length(), Some(3));
    }

    /// An interrupted interrupt delivery is re-injected; QEMU's "exception with
    /// vector >= 32" becomes an interrupt and "exception 2" an NMI.
    #[test]
    fn requeues_interrupted_events_with_the_qemu_quirk() {
        let mut v = vcpu();
        v.vmcb.control.exit_int_info = 0x30 | (event::TYPE_EXCEPTION << 8) | event::VALID;
        v.requeue_interrupted_event();
        assert_eq!(
            v.vmcb.control.event_inj,
            0x30 | (event::TYPE_INTR << 8) | event::VALID
        );
        assert_eq!(v.inject(Event::Nmi), Err(VcpuError::EventPending));
        v.vmcb.control.event_inj = 0;
        v.vmcb.control.exit_int_info = 2 | (event::TYPE_EXCEPTION << 8) | event::VALID;
        v.requeue_interrupted_event();
        assert_eq!(
            v.vmcb.control.event_inj,
            2 | (event::TYPE_NMI << 8) | event::VALID
        );
        v.vmcb.control.event_inj = 0;
        let pf =
            14 | (event::TYPE_EXCEPTION << 8) | event::ERROR_CODE_VALID | (6 << 32) | event::VALID;
        v.vmcb.control.exit_int_info = pf;
        v.requeue_interrupted_event();
        assert_eq!(v.vmcb.control.event_inj, pf);
    }

    /// Injected exceptions carry their error code, except in real mode.
    #[test]
    fn injects_with_error_codes_outside_real_mode() {
        let mut v = vcpu();
        v.inject_exception(vectors::GP, Some(0)).unwrap();
        assert_eq!(v.vmcb.control.event_inj, 13 | (3 << 8) | event::VALID);
        v.vmcb.control.event_inj = 0;
        v.vmcb.save.cr0 = 0x11;
        v.inject_exception(vectors::GP, Some(8)).unwrap();
        assert_eq!(
            v.vmcb.control.event_inj,
            13 | (3 << 8) | event::ERROR_CODE_VALID | (8 << 32) | event::VALID
        );
    }

    /// Advancing RIP wraps at the code width and ends the interrupt shadow.
    #[test]
    fn advance_rip_wraps_at_code_width() {
        let mut v = vcpu();
        v.vmcb.save.rip = 0xFFFF;
        v.vmcb.control.interrupt_shadow = 1;
        v.advance_rip(2);
        assert_eq!(v.rip(), 1);
        assert!(!v.interrupt_shadow());
    }
}
