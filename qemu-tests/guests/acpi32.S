/*
 * ACPI table access for the 32-bit guests (paging off, tables below 4 GiB): the RSDP
 * found by scanning the BIOS area 0xE0000-0xFFFFF (ACPI 6.5, 5.2.5.1), the root table
 * (the XSDT when the RSDP is revision 2 or later and points to one, else the RSDT),
 * tables by signature, and MADT lookups. Same conventions as lib32.S.
 */

        .code32

        .set RSDP_SIG_LO, 0x20445352    /* "RSD " */
        .set RSDP_SIG_HI, 0x20525450    /* "PTR " */
        .set HEADER_LEN, 36
        .set MADT_ENTRIES, 44           /* after the header, local APIC address, flags */

        .text

/*
 * Finds the RSDP: a 16-byte aligned "RSD PTR " in 0xE0000-0xFFFFF whose first 20 bytes
 * sum to 0. Sets acpi_rsdp, acpi_root (the XSDT or RSDT) and acpi_entry_size (8 or 4).
 * CF set if there is none.
 */
        .globl acpi_init
acpi_init:
        pusha
        mov $0xe0000, %esi
1:      cmpl $RSDP_SIG_LO, (%esi)
        jne 2f
        cmpl $RSDP_SIG_HI, 4(%esi)
        jne 2f
        mov $20, %ecx
        call acpi_sum
        jz 3f
2:      add $16, %esi
        cmp $0x100000, %esi
        jb 1b
        popa
        stc
        ret
3:      mov %esi, acpi_rsdp
        cmpb $2, 15(%esi)               /* revision */
        jb 4f
        cmpl $0, 28(%esi)               /* XSDT above 4 GiB: out of reach */
        jne 4f
        mov 24(%esi), %eax
        test %eax, %eax
        jz 4f
        mov %eax, acpi_root
        movl $8, acpi_entry_size
        popa
        clc
        ret
4:      mov 16(%esi), %eax
        mov %eax, acpi_root
        movl $4, acpi_entry_size
        popa
        clc
        ret

/* AL = the sum of ECX bytes at ESI; ZF set if it is 0. */
        .globl acpi_sum
acpi_sum:
        push %ecx
        push %edx
        push %esi
        xor %edx, %edx
1:      add (%esi), %dl
        inc %esi
        loop 1b
        mov %dl, %al
        pop %esi
        pop %edx
        pop %ecx
        test %al, %al
        ret

/* AL = the sum of the table at ESI (its header's length); ZF set if it is 0. */
        .globl acpi_table_sum
acpi_table_sum:
        push %ecx
        mov 4(%esi), %ecx
        call acpi_sum
        pop %ecx
        ret

/* EAX = the root table's entries (0 without a root table). */
        .globl acpi_entry_count
acpi_entry_count:
        push %ecx
        push %edx
        xor %eax, %eax
        mov acpi_root, %ecx
        jecxz 1f
        mov 4(%ecx), %eax
        sub $HEADER_LEN, %eax
        xor %edx, %edx
        divl acpi_entry_size
1:      pop %edx
        pop %ecx
        ret

/* EAX = the address in the root table's entry EAX (its low 32 bits). */
        .globl acpi_entry
acpi_entry:
        push %ecx
        push %edx
        mull acpi_entry_size
        mov acpi_root, %ecx
        mov HEADER_LEN(%ecx,%eax), %eax
        pop %edx
        pop %ecx
        ret

/*
 * EAX = the first table whose signature is the dword EAX (such as "APIC" = 0x43495041),
 * or 0. "DSDT" is found through the FADT (X_DSDT, else DSDT).
 */
        .globl acpi_find
acpi_find:
        push %ebx
        push %ecx
        push %edx
        mov %eax, %ebx
        cmp $0x54445344, %ebx           /* "DSDT" */
        jne 1f
        mov $0x50434146, %eax           /* "FACP" */
        call acpi_find
        test %eax, %eax
        jz 9f
        mov %eax, %ecx
        xor %eax, %eax
        cmpl $148, 4(%ecx)              /* X_DSDT present (ACPI 2.0+ FADT)? */
        jb 2f
        mov 140(%ecx), %eax
2:      test %eax, %eax
        jnz 9f
        mov 40(%ecx), %eax
        jmp 9f
1:      call acpi_entry_count
        mov %eax, %ecx
        xor %edx, %edx
3:      cmp %ecx, %edx
        jae 8f
        mov %edx, %eax
        push %edx
        call acpi_entry
        pop %edx
        test %eax, %eax
        jz 4f
        cmp %ebx, (%eax)
        je 9f
4:      inc %edx
        jmp 3b
8:      xor %eax, %eax
9:      pop %edx
        pop %ecx
        pop %ebx
        ret

/*
 * Walks the MADT: ESI = its first entry and EDI = one past its end (for
 * "cmp %edi, %esi; jae done ... movzbl 1(%esi), %eax; add %eax, %esi"). CF set if there
 * is no MADT.
 */
        .globl madt_entries
madt_entries:
        push %eax
        mov $0x43495041, %eax           /* "APIC" */
        call acpi_find
        test %eax, %eax
        jz 1f
        lea MADT_ENTRIES(%eax), %esi
        mov %eax, %edi
        add 4(%eax), %edi
        pop %eax
        clc
        ret
1:      pop %eax
        stc
        ret

/*
 * The interrupt source override for ISA IRQ EAX: EAX = its GSI, EDX = its MPS INTI
 * flags. CF set if the MADT has none (then EAX = the IRQ, identity-mapped, EDX = 0).
 */
        .globl madt_iso
madt_iso:
        push %esi
        push %edi
        push %ecx
        mov %eax, %ecx
        call madt_entries
        jc 8f
1:      cmp %edi, %esi
        jae 8f
        cmpb $2, (%esi)                 /* type 2: interrupt source override */
        jne 2f
        cmpb $0, 2(%esi)                /* bus 0: ISA */
        jne 2f
        cmp %cl, 3(%esi)                /* source */
        jne 2f
        mov 4(%esi), %eax               /* GSI */
        movzwl 8(%esi), %edx            /* flags */
        pop %ecx
        pop %edi
        pop %esi
        clc
        ret
2:      movzbl 1(%esi), %eax
        test %eax, %eax
        jz 8f                           /* a zero-length entry would loop forever */
        add %eax, %esi
        jmp 1b
8:      mov %ecx, %eax
        xor %edx, %edx
        pop %ecx
        pop %edi
        pop %esi
        stc
        ret

/* EAX = the first IOAPIC's address in the MADT, EDX = its GSI base; EAX = 0 if none. */
        .globl madt_ioapic
madt_ioapic:
        push %ecx
        push %esi
        push %edi
        xor %eax, %eax
        xor %edx, %edx
        call madt_entries
        jc 8f
1:      cmp %edi, %esi
        jae 8f
        cmpb $1, (%esi)                 /* type 1: IOAPIC */
        jne 2f
        mov 4(%esi), %eax
        mov 8(%esi), %edx
        jmp 8f
2:      movzbl 1(%esi), %ecx
        jecxz 8f
        add %ecx, %esi
        jmp 1b
8:      pop %edi
        pop %esi
        pop %ecx
        ret

        .bss
        .balign 4
        .globl acpi_rsdp, acpi_root, acpi_entry_size
acpi_rsdp:       .long 0
acpi_root:       .long 0
acpi_entry_size: .long 0
