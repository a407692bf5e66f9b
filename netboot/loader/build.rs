//! Links the loader at its fixed address when building for bare metal.

fn main() {
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os == "none" {
        let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        println!("cargo:rustc-link-arg-bins=-T{dir}/loader.ld");
        // The 32-bit entry code uses absolute addresses, so the loader is a
        // plain static executable at LOADER_BASE, not a position-independent one.
        println!("cargo:rustc-link-arg-bins=--no-pie");
        println!("cargo:rustc-link-arg-bins=-static");
        println!("cargo:rerun-if-changed=loader.ld");
    }
}
