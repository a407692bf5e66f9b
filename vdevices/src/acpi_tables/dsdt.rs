//! Differentiated System Description Table (ACPI 6.0 §5.2.11.1) holding
//! one AML object, written by hand.
//!
//! ```text
//! DefinitionBlock ("", "DSDT", 2, "BLKHD ", "BULKHEAD", 1)
//! {
//!     Name (\_S5, Package (4) { 0, 0, 0, 0 })
//! }
//! ```
//!
//! `\_S5` (§7.4.2.5) gives the SLP_TYP values that put the machine into the
//! soft-off state: writing PM1a_CNT with SLP_TYP = [`S5_SLP_TYP`] and
//! SLP_EN set powers the partition off ([`super::AcpiPmBlock`]). Without it
//! Linux cannot power off through ACPI. The value 0 is QEMU's.
//!
//! The encoding follows §20.2 (AML grammar): a DSDT revision of 2 selects
//! 64-bit integers (§19.6.30); the object is
//!
//! | bytes | meaning |
//! | --- | --- |
//! | `08` | NameOp |
//! | `5C 5F 53 35 5F` | NameString: RootChar `\` and NameSeg `_S5_` |
//! | `12` | PackageOp |
//! | `06` | PkgLength: 6 bytes from here to the end of the package, itself included |
//! | `04` | NumElements |
//! | `00` | ZeroOp: SLP_TYPa |
//! | `00` | ZeroOp: SLP_TYPb (no PM1b block) |
//! | `00 00` | ZeroOp ×2: reserved |

use alloc::vec::Vec;

use super::pm::S5_SLP_TYP;
use super::{finish, header};

/// DSDT revision 2: integers are 64 bits wide.
const DSDT_REVISION: u8 = 2;

/// AML NameOp.
const AML_NAME_OP: u8 = 0x08;
/// AML RootChar.
const AML_ROOT_CHAR: u8 = b'\\';
/// AML PackageOp.
const AML_PACKAGE_OP: u8 = 0x12;
/// AML ZeroOp.
const AML_ZERO_OP: u8 = 0x00;

// The package writes SLP_TYP with ZeroOp, so S5's type must be 0.
const _: () = assert!(S5_SLP_TYP == 0);

pub(super) fn build() -> Vec<u8> {
    let mut dsdt = header(*b"DSDT", DSDT_REVISION);
    let elements = [AML_ZERO_OP; 4];
    dsdt.push(AML_NAME_OP);
    dsdt.push(AML_ROOT_CHAR);
    dsdt.extend_from_slice(b"_S5_");
    dsdt.push(AML_PACKAGE_OP);
    // PkgLength (one byte, as the package is shorter than 64 bytes), counting
    // itself, NumElements and the elements.
    dsdt.push((1 + 1 + elements.len()) as u8);
    dsdt.push(elements.len() as u8);
    dsdt.extend_from_slice(&elements);
    finish(dsdt)
}
