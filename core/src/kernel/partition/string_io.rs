//! `ins` and `outs` (with or without `rep`): the exit names the port and the
//! form; each element moves between guest memory, reached through the
//! guest's own page tables, and the partition's port devices. A `rep` runs in
//! bounded batches: between batches the guest re-executes the instruction,
//! so interrupts are taken as between real iterations.

use bulkhead_core::policy::io_string::{self, Direction, StringIo, StringRegs};
use bulkhead_core::policy::walk::{
    self, Access, AccessKind, AddressSize, Paging, SegmentMode, SegmentRegister, WalkError,
};
use bulkhead_vcpu::state::{Gpr, efer};
use bulkhead_vcpu::{GuestMemory, IoDirection, SegmentReg, Vcpu, vectors};
use bulkhead_vdevices::Nanos;

use super::memory::GuestRam;
use super::mmio::Outcome;
use super::platform::Platform;

/// Elements moved per exit at most.
const BATCH: u32 = 256;

/// What the exit said about the instruction.
pub struct Exit {
    /// The port.
    pub port: u16,
    /// Element size: 1, 2 or 4.
    pub size: u8,
    /// `ins` or `outs`.
    pub direction: IoDirection,
    /// A `rep` prefix.
    pub rep: bool,
    /// Address size in bits, when the hardware reported it.
    pub address_bits: Option<u8>,
    /// The `outs` segment, when the hardware reported it.
    pub segment: Option<SegmentReg>,
}

fn segment_register(reg: SegmentReg) -> SegmentRegister {
    match reg {
        SegmentReg::Es => SegmentRegister::Es,
        SegmentReg::Cs => SegmentRegister::Cs,
        SegmentReg::Ss => SegmentRegister::Ss,
        SegmentReg::Fs => SegmentRegister::Fs,
        SegmentReg::Gs => SegmentRegister::Gs,
        _ => SegmentRegister::Ds,
    }
}

/// Moves one batch of elements.
pub fn handle(
    vcpu: &mut dyn Vcpu,
    ram: &mut GuestRam,
    platform: &mut Platform,
    exit: &Exit,
    phys_addr_bits: u8,
    now: Nanos,
) -> Outcome {
    let state = vcpu.state();
    let long = state.efer & efer::LMA != 0 && state.cs.attributes.long();
    let code_bits = u32::from(state.code_bits());
    let address_bits = exit.address_bits.map_or(code_bits, u32::from);
    let Some(address_size) = AddressSize::from_bits(address_bits) else {
        return Outcome::Refused(alloc::format!(
            "string I/O with a {address_bits}-bit address size"
        ));
    };
    let segment = match exit.direction {
        IoDirection::In => SegmentReg::Es,
        IoDirection::Out => exit.segment.unwrap_or(SegmentReg::Ds),
    };
    let io = StringIo {
        port: exit.port,
        size: exit.size,
        direction: match exit.direction {
            IoDirection::In => Direction::In,
            IoDirection::Out => Direction::Out,
        },
        rep: exit.rep,
        address_size,
        segment: segment_register(segment),
        mode: if long {
            SegmentMode::Long64
        } else {
            SegmentMode::Legacy
        },
    };
    let regs = StringRegs {
        rcx: state.gprs.rcx,
        rsi: state.gprs.rsi,
        rdi: state.gprs.rdi,
        rflags: state.rflags,
    };
    let batch = match io_string::plan(&io, regs, state.segment(segment).base, BATCH) {
        Ok(batch) => batch,
        Err(e) => return Outcome::Refused(alloc::format!("string I/O: {e:?}")),
    };
    let paging = super::mmio::paging(&state, phys_addr_bits);
    let user = state.cpl() == 3;
    let kind = match exit.direction {
        IoDirection::In => AccessKind::Write,
        IoDirection::Out => AccessKind::Read,
    };
    for (done, &linear) in batch.elements.iter().enumerate() {
        let moved = transfer(
            ram,
            platform,
            exit,
            &paging,
            Access::new(kind, user),
            linear,
            now,
        );
        if let Err(error) = moved {
            write_registers(vcpu, batch.registers_after(done));
            return match error {
                WalkError::PageFault {
                    error_code,
                    address,
                } => {
                    let mut state = vcpu.state();
                    state.cr2 = address;
                    if vcpu.set_state(&state).is_err() {
                        return Outcome::Refused("cannot set CR2".into());
                    }
                    match vcpu.inject_exception(vectors::PF, Some(error_code)) {
                        Ok(()) => Outcome::Reflected,
                        Err(e) => Outcome::Refused(alloc::format!("cannot raise #PF: {e}")),
                    }
                }
                WalkError::NonCanonical(_) => match vcpu.inject_exception(vectors::GP, Some(0)) {
                    Ok(()) => Outcome::Reflected,
                    Err(e) => Outcome::Refused(alloc::format!("cannot raise #GP: {e}")),
                },
                WalkError::NotRam(gpa) => Outcome::Refused(alloc::format!(
                    "string I/O on port {:#x} with guest-physical {gpa:#x}, which is not its RAM",
                    exit.port
                )),
                WalkError::Unsupported(what) => Outcome::Refused(alloc::format!(
                    "string I/O under unsupported paging: {what:?}"
                )),
            };
        }
    }
    write_registers(vcpu, batch.registers());
    if batch.done
        && let Err(e) = vcpu.skip_instruction()
    {
        return Outcome::Refused(alloc::format!("cannot complete string I/O: {e}"));
    }
    Outcome::Done
}

/// The guest-physical address of each byte of one element (an element may
/// straddle a page boundary).
fn element_bytes(
    paging: &Paging,
    access: Access,
    linear: u64,
    size: u8,
    ram: &GuestRam,
) -> Result<[u64; 4], WalkError> {
    let read = super::mmio::ram_reader(ram);
    let mut gpas = [0u64; 4];
    for (i, gpa) in gpas.iter_mut().enumerate().take(usize::from(size)) {
        *gpa = walk::translate(paging, linear.wrapping_add(i as u64), access, &read)?;
    }
    Ok(gpas)
}

fn transfer(
    ram: &mut GuestRam,
    platform: &mut Platform,
    exit: &Exit,
    paging: &Paging,
    access: Access,
    linear: u64,
    now: Nanos,
) -> Result<(), WalkError> {
    let gpas = element_bytes(paging, access, linear, exit.size, ram)?;
    let size = usize::from(exit.size);
    match exit.direction {
        IoDirection::Out => {
            let mut bytes = [0u8; 4];
            for (byte, &gpa) in bytes.iter_mut().zip(&gpas).take(size) {
                let mut one = [0u8; 1];
                ram.read(gpa, &mut one)
                    .map_err(|_| WalkError::NotRam(gpa))?;
                *byte = one[0];
            }
            platform.port_write(exit.port, exit.size, u32::from_le_bytes(bytes), now);
        }
        IoDirection::In => {
            let value = platform.port_read(exit.port, exit.size, now).to_le_bytes();
            for (&byte, &gpa) in value.iter().zip(&gpas).take(size) {
                ram.write(gpa, &[byte])
                    .map_err(|_| WalkError::NotRam(gpa))?;
            }
        }
    }
    Ok(())
}

fn write_registers(vcpu: &mut dyn Vcpu, regs: StringRegs) {
    vcpu.set_gpr(Gpr::Rcx, regs.rcx);
    vcpu.set_gpr(Gpr::Rsi, regs.rsi);
    vcpu.set_gpr(Gpr::Rdi, regs.rdi);
}
