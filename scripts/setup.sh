#!/usr/bin/env bash
# Installs what building and testing Bulkhead needs on a Debian machine, and
# nothing that is already there. Quiet when there is nothing to do.
set -euo pipefail

# QEMU for the SVM integration tests (TCG), iPXE option ROMs for PXE boot.
packages=(qemu-system-x86 ipxe-qemu)

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! rustup target list --installed | grep -qx x86_64-unknown-none; then
    echo "setup: adding the Rust target x86_64-unknown-none"
    rustup target add x86_64-unknown-none >/dev/null
fi
for component in rustfmt clippy; do
    if ! rustup component list --installed | grep -q "^$component"; then
        echo "setup: adding the Rust component $component"
        rustup component add "$component" >/dev/null
    fi
done
