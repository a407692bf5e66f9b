#!/usr/bin/env bash
# Builds the fuzz targets and runs each one briefly (default 30 s, or $1 seconds).
#
# cargo-fuzz wants a nightly compiler for its sanitizer flags; RUSTC_BOOTSTRAP=1 lets the
# stable toolchain accept them. Installs cargo-fuzz if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
export RUSTC_BOOTSTRAP=1
cargo fuzz build
for target in $(cargo fuzz list); do
    echo "fuzzing $target for ${seconds}s"
    cargo fuzz run "$target" -- -max_total_time="$seconds"
done
