//! The Multiboot entry: 32-bit protected mode to 64-bit long mode.
//!
//! A Multiboot loader jumps here in flat 32-bit protected mode with paging
//! off, EAX = the Multiboot magic and EBX = the information structure
//! (Multiboot 0.6.96, section 3.2). This code checks for long mode, identity
//! maps the first 4 GiB with 2 MiB pages, enables PAE, EFER.LME and paging,
//! and far-returns into a 64-bit code segment that calls `loader_main`.
//! The 4 GiB identity map covers the loader, the image, the firmware's data
//! and the local APIC/IOAPIC windows; the core builds its own tables.

core::arch::global_asm!(
    r#"
    .section .text.entry32, "ax"
    .code32
    .global _start32
_start32:
    cli
    cld
    mov esp, offset __boot_stack_top
    mov edi, eax
    mov esi, ebx

    /* Long mode present? CPUID 0x8000_0001 EDX bit 29. */
    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    jb .Lno_long_mode
    mov eax, 0x80000001
    cpuid
    test edx, 0x20000000
    jz .Lno_long_mode

    /* PML4[0] -> PDPT; PDPT[0..4] -> four page directories. */
    mov eax, offset __boot_pdpt
    or eax, 3
    mov dword ptr [__boot_pml4], eax
    xor ecx, ecx
1:
    mov eax, ecx
    shl eax, 12
    add eax, offset __boot_pd
    or eax, 3
    mov dword ptr [__boot_pdpt + ecx * 8], eax
    inc ecx
    cmp ecx, 4
    jb 1b

    /* 2048 present, writable, 2 MiB pages: 0 .. 4 GiB. */
    xor ecx, ecx
2:
    mov eax, ecx
    shl eax, 21
    or eax, 0x83
    mov dword ptr [__boot_pd + ecx * 8], eax
    inc ecx
    cmp ecx, 2048
    jb 2b

    mov eax, cr4
    or eax, 0x20
    mov cr4, eax
    mov eax, offset __boot_pml4
    mov cr3, eax
    mov ecx, 0xC0000080
    rdmsr
    or eax, 0x100
    wrmsr
    mov eax, cr0
    or eax, 0x80000001
    mov cr0, eax

    lgdt [__boot_gdt_pointer]
    mov eax, offset _start64
    push 0x08
    push eax
    retf

.Lno_long_mode:
    mov esi, offset __no_long_mode_message
3:
    lodsb
    test al, al
    jz 5f
    mov ah, al
    mov dx, 0x3fd
4:
    in al, dx
    test al, 0x20
    jz 4b
    mov al, ah
    mov dx, 0x3f8
    out dx, al
    jmp 3b
5:
    cli
    hlt
    jmp 5b

    .code64
_start64:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    /* The upper halves of RDI/RSI are undefined after the mode switch. */
    mov edi, edi
    mov esi, esi
    mov rsp, offset __boot_stack_top
    call loader_main
6:
    cli
    hlt
    jmp 6b

    .section .rodata.entry32, "a"
    .align 16
__boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF
    .quad 0x00CF92000000FFFF
__boot_gdt_end:
__boot_gdt_pointer:
    .word __boot_gdt_end - __boot_gdt - 1
    .quad __boot_gdt
__no_long_mode_message:
    .asciz "bulkhead loader: IMAGE REFUSED: this CPU has no 64-bit long mode\r\n"

    .section .bss.pagetables, "aw", @nobits
    .align 4096
__boot_pml4:
    .skip 4096
__boot_pdpt:
    .skip 4096
__boot_pd:
    .skip 4 * 4096
__boot_stack_bottom:
    .skip 64 * 1024
__boot_stack_top:
"#
);
