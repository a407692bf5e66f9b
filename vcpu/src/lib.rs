//! The arch-neutral vCPU model shared by the SVM and VMX backends.
//!
//! This crate will hold guest register state, the neutral `Exit` enum, the
//! `Vcpu` trait and the four guest boot protocols (real mode, Multiboot, PVH,
//! Linux) as pure builders of initial state. None of that exists yet: the
//! partition run loop arrives with the SVM backend.

#![cfg_attr(not(test), no_std)]
