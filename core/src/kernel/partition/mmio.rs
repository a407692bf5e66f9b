//! The MMIO exit: a guest access to a guest-physical address that is not its
//! RAM. The instruction is fetched through the guest's own page tables,
//! decoded and emulated against the partition's device windows (IOAPIC,
//! local APIC). An access that reaches no device is refused.

use bulkhead_core::policy::mmio::{self, AccessTarget, EmulationError, MmioError, Registers};
use bulkhead_core::policy::walk::{self, Paging, SegmentRegister, WalkError};
use bulkhead_vcpu::state::Gpr;
use bulkhead_vcpu::{GuestMemory, GuestState, SegmentReg, Vcpu, vectors};
use bulkhead_vdevices::Nanos;

use super::memory::GuestRam;
use super::platform::Platform;

/// What became of the access.
pub enum Outcome {
    /// Emulated; the guest goes on.
    Done,
    /// An exception was queued for the guest (#PF, #GP, #UD), as hardware would raise.
    Reflected,
    /// The access may not be emulated: the partition faults with this description.
    Refused(alloc::string::String),
}

/// The vCPU as the emulator sees it.
struct Cpu<'a> {
    vcpu: &'a mut dyn Vcpu,
    state: &'a GuestState,
}

impl Registers for Cpu<'_> {
    fn gpr(&self, index: u8) -> u64 {
        Gpr::from_number(index).map_or(0, |reg| self.vcpu.gpr(reg))
    }

    fn set_gpr(&mut self, index: u8, value: u64) {
        if let Some(reg) = Gpr::from_number(index) {
            self.vcpu.set_gpr(reg, value);
        }
    }

    fn rflags(&self) -> u64 {
        self.vcpu.rflags()
    }

    fn set_rflags(&mut self, value: u64) {
        self.vcpu.set_rflags(value);
    }

    fn segment_base(&self, segment: SegmentRegister) -> u64 {
        let reg = match segment {
            SegmentRegister::Es => SegmentReg::Es,
            SegmentRegister::Cs => SegmentReg::Cs,
            SegmentRegister::Ss => SegmentReg::Ss,
            SegmentRegister::Ds => SegmentReg::Ds,
            SegmentRegister::Fs => SegmentReg::Fs,
            SegmentRegister::Gs => SegmentReg::Gs,
        };
        self.state.segment(reg).base
    }
}

/// Handles a guest access to `gpa` that exited as MMIO.
pub fn handle(
    vcpu: &mut dyn Vcpu,
    ram: &GuestRam,
    platform: &mut Platform,
    gpa: u64,
    phys_addr_bits: u8,
    now: Nanos,
) -> Outcome {
    if !platform.is_mmio(gpa) {
        return Outcome::Refused(alloc::format!(
            "guest-physical {gpa:#x}, which is neither its RAM nor a device"
        ));
    }
    let state = vcpu.state();
    let (bytes, fetched, bitness) = fetch_instruction(&state, ram, phys_addr_bits);
    let mut cpu = Cpu {
        vcpu,
        state: &state,
    };
    let mut access = |a: mmio::MmioAccess| -> Result<u64, MmioError> {
        let AccessTarget::Physical(address) = a.target else {
            // String instructions on device windows: no driver does this.
            return Err(MmioError::Unhandled(gpa));
        };
        match a.write {
            Some(value) => platform
                .mmio_write(address, a.size, value, now)
                .then_some(0)
                .ok_or(MmioError::Unhandled(address)),
            None => platform
                .mmio_read(address, a.size, now)
                .ok_or(MmioError::Unhandled(address)),
        }
    };
    let result = mmio::emulate(&bytes[..fetched.len], bitness, &mut cpu, &mut access, gpa);
    let vcpu = cpu.vcpu;
    match result {
        Ok(done) => {
            if done.done {
                vcpu.advance_rip(done.len as u8);
            }
            Outcome::Done
        }
        Err(EmulationError::Truncated) => match fetched.error {
            Some(WalkError::PageFault {
                error_code,
                address,
            }) => reflect_page_fault(vcpu, error_code, address),
            Some(other) => {
                Outcome::Refused(alloc::format!("cannot fetch the instruction: {other:?}"))
            }
            None => Outcome::Refused("truncated instruction".into()),
        },
        Err(EmulationError::Invalid) => reflect(vcpu, vectors::UD, None),
        Err(EmulationError::Access(MmioError::PageFault {
            error_code,
            address,
        })) => reflect_page_fault(vcpu, error_code, address),
        Err(EmulationError::Access(MmioError::GeneralProtection)) => {
            reflect(vcpu, vectors::GP, Some(0))
        }
        Err(EmulationError::Access(MmioError::Unhandled(address))) => Outcome::Refused(
            alloc::format!("guest-physical {address:#x}, which is neither its RAM nor a device"),
        ),
        Err(EmulationError::Unsupported { mnemonic }) => Outcome::Refused(alloc::format!(
            "an instruction ({mnemonic:?}) not emulated on device memory at {gpa:#x}"
        )),
        Err(EmulationError::BadBitness(bits)) => {
            Outcome::Refused(alloc::format!("code in an unknown mode ({bits}-bit)"))
        }
    }
}

/// A guest-physical RAM reader for the page walker: the 8-byte word at an
/// address, or `None` outside the partition's RAM.
pub fn ram_reader(ram: &GuestRam) -> impl Fn(u64) -> Option<u64> + '_ {
    move |address| {
        let mut word = [0u8; 8];
        ram.read(address, &mut word)
            .ok()
            .map(|()| u64::from_le_bytes(word))
    }
}

/// The paging state the walker needs, from the guest's registers.
pub fn paging(state: &GuestState, phys_addr_bits: u8) -> Paging {
    Paging {
        cr0: state.cr0,
        cr3: state.cr3,
        cr4: state.cr4,
        efer: state.efer,
        phys_addr_bits,
    }
}

/// The bytes at the guest's RIP, fetched through its page tables, how many
/// were read, and the code's bitness.
fn fetch_instruction(
    state: &GuestState,
    ram: &GuestRam,
    phys_addr_bits: u8,
) -> ([u8; mmio::MAX_INSTRUCTION_LEN], walk::Fetched, u32) {
    let bitness = mmio::code_bitness(
        state.cr0,
        state.rflags,
        state.efer,
        state.cs.attributes.long(),
        state.cs.attributes.default_big(),
    );
    let linear = if bitness == 64 {
        state.rip
    } else {
        state.cs.base.wrapping_add(state.rip) & 0xFFFF_FFFF
    };
    let mut bytes = [0u8; mmio::MAX_INSTRUCTION_LEN];
    let read = ram_reader(ram);
    let fetched = walk::fetch(
        &paging(state, phys_addr_bits),
        linear,
        state.cpl() == 3,
        &read,
        &mut bytes,
    );
    (bytes, fetched, bitness)
}

/// The length of the instruction at the guest's RIP, fetched through its
/// page tables and decoded: for exits the CPU gives no length for.
pub fn decoded_length(vcpu: &dyn Vcpu, ram: &GuestRam, phys_addr_bits: u8) -> Option<u8> {
    let (bytes, fetched, bitness) = fetch_instruction(&vcpu.state(), ram, phys_addr_bits);
    mmio::instruction_length(&bytes[..fetched.len], bitness).and_then(|len| u8::try_from(len).ok())
}

fn reflect(vcpu: &mut dyn Vcpu, vector: u8, error_code: Option<u32>) -> Outcome {
    match vcpu.inject_exception(vector, error_code) {
        Ok(()) => Outcome::Reflected,
        Err(e) => Outcome::Refused(alloc::format!("cannot raise exception {vector}: {e}")),
    }
}

fn reflect_page_fault(vcpu: &mut dyn Vcpu, error_code: u32, address: u64) -> Outcome {
    let mut state = vcpu.state();
    state.cr2 = address;
    if let Err(e) = vcpu.set_state(&state) {
        return Outcome::Refused(alloc::format!("cannot set CR2: {e}"));
    }
    reflect(vcpu, vectors::PF, Some(error_code))
}
