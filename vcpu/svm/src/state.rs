//! Moving the neutral [`GuestState`] into and out of the VMCB save area.

use bulkhead_vcpu::state::efer;
use bulkhead_vcpu::{DescriptorTable, GuestState, Segment, SegmentAttributes};

use crate::vmcb::{SaveArea, VmcbSegment};

fn to_vmcb(segment: &Segment) -> VmcbSegment {
    VmcbSegment {
        selector: segment.selector,
        attributes: segment.attributes.bits(),
        limit: segment.limit,
        base: segment.base,
    }
}

fn from_vmcb(segment: &VmcbSegment) -> Segment {
    Segment {
        selector: segment.selector,
        base: segment.base,
        limit: segment.limit,
        attributes: SegmentAttributes::from_bits(segment.attributes),
    }
}

fn table_to_vmcb(table: &DescriptorTable) -> VmcbSegment {
    VmcbSegment {
        selector: 0,
        attributes: 0,
        limit: table.limit.into(),
        base: table.base,
    }
}

fn table_from_vmcb(segment: &VmcbSegment) -> DescriptorTable {
    DescriptorTable {
        base: segment.base,
        limit: segment.limit as u16,
    }
}

/// Writes `state` into the save area. EFER.SVME is forced on (VMRUN requires
/// it, and the guest's view of EFER hides it); CPL follows SS.DPL, as the
/// consistency checks demand. RAX and RSP go to the save area too; the other
/// GPRs travel in the world switch's register block.
pub fn store(state: &GuestState, save: &mut SaveArea) {
    save.es = to_vmcb(&state.es);
    save.cs = to_vmcb(&state.cs);
    save.ss = to_vmcb(&state.ss);
    save.ds = to_vmcb(&state.ds);
    save.fs = to_vmcb(&state.fs);
    save.gs = to_vmcb(&state.gs);
    save.tr = to_vmcb(&state.tr);
    save.ldtr = to_vmcb(&state.ldtr);
    save.gdtr = table_to_vmcb(&state.gdtr);
    save.idtr = table_to_vmcb(&state.idtr);
    save.cpl = state.ss.attributes.dpl();
    save.efer = state.efer | efer::SVME;
    save.cr0 = state.cr0;
    save.cr2 = state.cr2;
    save.cr3 = state.cr3;
    save.cr4 = state.cr4;
    save.dr6 = state.dr6;
    save.dr7 = state.dr7;
    save.rflags = state.rflags;
    save.rip = state.rip;
    save.rsp = state.gprs.rsp;
    save.rax = state.gprs.rax;
    save.g_pat = state.pat;
    save.sysenter_cs = state.sysenter_cs;
    save.sysenter_esp = state.sysenter_esp;
    save.sysenter_eip = state.sysenter_eip;
    save.star = state.star;
    save.lstar = state.lstar;
    save.cstar = state.cstar;
    save.sfmask = state.sfmask;
    save.kernel_gs_base = state.kernel_gs_base;
}

/// Reads the save area back into `state` (the GPRs other than RAX and RSP are
/// the caller's). EFER.SVME is hidden again.
pub fn load(save: &SaveArea, state: &mut GuestState) {
    state.es = from_vmcb(&save.es);
    state.cs = from_vmcb(&save.cs);
    state.ss = from_vmcb(&save.ss);
    state.ds = from_vmcb(&save.ds);
    state.fs = from_vmcb(&save.fs);
    state.gs = from_vmcb(&save.gs);
    state.tr = from_vmcb(&save.tr);
    state.ldtr = from_vmcb(&save.ldtr);
    state.gdtr = table_from_vmcb(&save.gdtr);
    state.idtr = table_from_vmcb(&save.idtr);
    state.efer = save.efer & !efer::SVME;
    state.cr0 = save.cr0;
    state.cr2 = save.cr2;
    state.cr3 = save.cr3;
    state.cr4 = save.cr4;
    state.dr6 = save.dr6;
    state.dr7 = save.dr7;
    state.rflags = save.rflags;
    state.rip = save.rip;
    state.gprs.rsp = save.rsp;
    state.gprs.rax = save.rax;
    state.pat = save.g_pat;
    state.sysenter_cs = save.sysenter_cs;
    state.sysenter_esp = save.sysenter_esp;
    state.sysenter_eip = save.sysenter_eip;
    state.star = save.star;
    state.lstar = save.lstar;
    state.cstar = save.cstar;
    state.sfmask = save.sfmask;
    state.kernel_gs_base = save.kernel_gs_base;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vmcb::Vmcb;

    /// The reset state survives a trip through the save area, with SVME set
    /// in the VMCB and hidden from the guest's view.
    #[test]
    fn round_trip_hides_svme() {
        let mut state = GuestState::reset();
        state.gprs.rax = 0x1234;
        state.gprs.rsp = 0x7000;
        state.efer = efer::LME;
        let mut vmcb = Vmcb::zeroed();
        store(&state, &mut vmcb.save);
        assert_eq!(vmcb.save.efer, efer::LME | efer::SVME);
        assert_eq!(vmcb.save.cs.selector, 0xF000);
        assert_eq!(vmcb.save.cs.base, 0xFFFF_0000);
        assert_eq!(vmcb.save.rip, 0xFFF0);
        let mut back = GuestState::reset();
        load(&vmcb.save, &mut back);
        assert_eq!(back, state);
    }
}
