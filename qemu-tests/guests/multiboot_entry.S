/*
 * Multiboot (v1) header and entry shared by the Multiboot guests. The loader enters in
 * 32-bit protected mode, paging off, interrupts off, with EAX = 0x2BADB002 and
 * EBX = the Multiboot information (Multiboot Specification 0.6.96, section 3.2); ESP and
 * GDTR are undefined. This clears .bss, takes its own stack and GDT, programs COM1,
 * installs the IDT, checks the magic and jumps to the guest's `main` with EBX = the
 * information.
 */

        .code32

        .set MULTIBOOT_MAGIC, 0x1badb002
        /* Bit 0: modules page-aligned; bit 1: mem_* (and the memory map) wanted. */
        .set MULTIBOOT_FLAGS, 0x00000003
        .set MULTIBOOT_BOOT_MAGIC, 0x2badb002
        .set MULTIBOOT_INFO_CMDLINE, 1 << 2

        .section .multiboot, "a"
        .balign 4
        .long MULTIBOOT_MAGIC
        .long MULTIBOOT_FLAGS
        .long -(MULTIBOOT_MAGIC + MULTIBOOT_FLAGS)

        .text
        .globl _start
_start:
        cli
        cld
        mov %eax, %ebp
        mov $__bss_start, %edi
        mov $__bss_end, %ecx
        sub %edi, %ecx
        xor %eax, %eax
        rep stosb
        mov $stack_top, %esp
        mov %ebx, multiboot_info
        call flat_setup
        call uart_init
        call idt_install
        cmp $MULTIBOOT_BOOT_MAGIC, %ebp
        je 1f
        mov $str_bad_magic, %esi
        call say
        mov %ebp, %eax
        call put_hex32
        call newline
        mov $str_not_multiboot, %esi
        jmp fail
1:      jmp main

/* ESI = the Multiboot command line, or 0 if the loader passed none. */
        .globl multiboot_cmdline
multiboot_cmdline:
        push %ebx
        mov multiboot_info, %ebx
        xor %esi, %esi
        testl $MULTIBOOT_INFO_CMDLINE, (%ebx)
        jz 1f
        mov 16(%ebx), %esi
1:      pop %ebx
        ret

        .section .rodata
str_bad_magic:     .asciz "EAX at entry is "
str_not_multiboot: .asciz "not entered by a Multiboot loader"

        .bss
        .balign 4
        .globl multiboot_info
multiboot_info: .long 0
