#!/usr/bin/env bash
# Builds the bare-metal test guests into OUTDIR with binutils only (as, ld, objcopy).
# Usage: build.sh OUTDIR
# Idempotent: every run rebuilds every guest from scratch into OUTDIR.
set -euo pipefail

if [ "$#" -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi

src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$1
mkdir -p "$out"
obj=$(mktemp -d "${TMPDIR:-/tmp}/bulkhead-guests.XXXXXX")
trap 'rm -rf "$obj"' EXIT

AS=${AS:-as}
LD=${LD:-ld}
OBJCOPY=${OBJCOPY:-objcopy}
ld_flags=(-m elf_i386 -n --build-id=none -z noexecstack --no-warn-rwx-segments)

assemble() { # NAME: $src/NAME.S -> $obj/NAME.o
    "$AS" --32 -o "$obj/$1.o" "$src/$1.S"
}

publish() { # FILE NAME: replace $out/NAME with FILE in one step, so that a reader (or a
            # build running beside this one) never sees a half-written guest
    cp "$1" "$out/.$2.$$"
    mv -f "$out/.$2.$$" "$out/$2"
}

assemble lib32
assemble multiboot_entry

# Multiboot guests: ELF32 (QEMU and iPXE refuse 64-bit ELF for Multiboot), at 1 MiB.
for guest in multiboot heartbeat cpuid_msr attack echo strio flood; do
    assemble "$guest"
    "$LD" "${ld_flags[@]}" -T "$src/multiboot.ld" -o "$obj/$guest.elf" \
        "$obj/multiboot_entry.o" "$obj/$guest.o" "$obj/lib32.o"
    publish "$obj/$guest.elf" "$guest.elf"
done

# Multiboot guests that test platform devices with interrupts: also devices32.S (a
# 256-vector IDT, named checks, TSC/PIT timing, 8259/PIT/CMOS helpers) and acpi32.S
# (RSDP, root table, MADT lookups).
assemble devices32
assemble acpi32
for guest in irq_pic irq_apic uart_rtc_acpi; do
    assemble "$guest"
    "$LD" "${ld_flags[@]}" -T "$src/multiboot.ld" -o "$obj/$guest.elf" \
        "$obj/multiboot_entry.o" "$obj/$guest.o" "$obj/devices32.o" "$obj/acpi32.o" \
        "$obj/lib32.o"
    publish "$obj/$guest.elf" "$guest.elf"
done

# PVH guest: ELF32 with the Xen PHYS32_ENTRY note, no Multiboot header (QEMU would
# prefer Multiboot).
assemble pvh
"$LD" "${ld_flags[@]}" -T "$src/pvh.ld" -o "$obj/pvh.elf" "$obj/pvh.o" "$obj/lib32.o"
publish "$obj/pvh.elf" pvh.elf

# Real-mode guest: a flat 64 KiB image whose last 16 bytes hold the reset vector.
assemble realmode
"$LD" -m elf_i386 --build-id=none -z noexecstack -T "$src/realmode.ld" \
    -o "$obj/realmode.elf" "$obj/realmode.o"
"$OBJCOPY" -O binary --gap-fill 0xff "$obj/realmode.elf" "$obj/realmode.bin"
size=$(stat -c %s "$obj/realmode.bin")
if [ "$size" -ne 65536 ]; then
    echo "realmode.bin is $size bytes, not 65536" >&2
    exit 1
fi
publish "$obj/realmode.bin" realmode.bin

# Linux boot protocol guest: a flat bzImage (boot sector and setup header, 16-bit setup
# code, then the protected-mode payload with the 64-bit entry at offset 0x200).
"$AS" --64 -o "$obj/linux64.o" "$src/linux64.S"
"$LD" -m elf_x86_64 --build-id=none -z noexecstack -T "$src/linux64.ld" \
    -o "$obj/linux64.elf" "$obj/linux64.o"
"$OBJCOPY" -O binary "$obj/linux64.elf" "$obj/linux64.bin"
publish "$obj/linux64.bin" linux64.bin
