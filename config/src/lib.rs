//! The static partition table: model, validation and compiled form. Not built yet.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
