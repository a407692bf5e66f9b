#!/usr/bin/env bash
# Builds a crate's cargo-fuzz targets and runs each one briefly.
# Usage: fuzz.sh CRATE_DIR [SECONDS]   (CRATE_DIR holds fuzz/; default 30 s per target)
#
# cargo-fuzz wants a nightly compiler for its sanitizer flags; RUSTC_BOOTSTRAP=1 lets the
# stable toolchain accept them. Installs cargo-fuzz if it is missing.
set -euo pipefail
if [ "$#" -lt 1 ]; then
    echo "usage: $0 CRATE_DIR [SECONDS]" >&2
    exit 2
fi
cd "$1"
seconds="${2:-30}"
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
export RUSTC_BOOTSTRAP=1
cargo fuzz build
for target in $(cargo fuzz list); do
    echo "fuzzing $1 $target for ${seconds}s"
    cargo fuzz run "$target" -- -max_total_time="$seconds"
done
