//! Intel VT-x (VMX) backend: VMCS, EPT, I/O and MSR bitmaps, unrestricted
//! guest. Empty until the VMX backend is built.

#![cfg_attr(not(test), no_std)]
