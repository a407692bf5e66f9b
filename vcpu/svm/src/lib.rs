//! AMD-V (SVM) backend: VMCB, nested paging, I/O and MSR permission maps,
//! event injection. Empty until the partition run loop is built.

#![cfg_attr(not(test), no_std)]
