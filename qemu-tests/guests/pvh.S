/*
 * pvh.elf: a PVH guest. The loader finds the 32-bit entry point in the
 * XEN_ELFNOTE_PHYS32_ENTRY note and enters it in 32-bit flat protected mode, paging
 * off, with EBX = the physical address of struct hvm_start_info (Xen's
 * public/arch-x86/hvm/start_info.h). This checks the magic and prints the version,
 * flags, command line, RSDP address, modules and memory map, then passes.
 */

        .code32

        .set XEN_ELFNOTE_PHYS32_ENTRY, 18
        .set HVM_START_MAGIC, 0x336ec578

        /* struct hvm_start_info */
        .set SI_MAGIC, 0
        .set SI_VERSION, 4
        .set SI_FLAGS, 8
        .set SI_NR_MODULES, 12
        .set SI_CMDLINE, 24                /* u64 physical address */
        .set SI_RSDP, 32                   /* u64 physical address */
        .set SI_MEMMAP, 40                 /* u64, version 1 and later */
        .set SI_MEMMAP_ENTRIES, 48
        /* struct hvm_memmap_table_entry: { u64 addr, u64 size, u32 type, u32 reserved } */
        .set MEMMAP_ENTRY_SIZE, 24

        .section .note.Xen, "a", @note
        .balign 4
        .long 4                            /* namesz: "Xen\0" */
        .long 4                            /* descsz */
        .long XEN_ELFNOTE_PHYS32_ENTRY
        .asciz "Xen"
        .long _start

        .text
        .globl _start
_start:
        cli
        cld
        mov %ebx, %ebp
        mov $__bss_start, %edi
        mov $__bss_end, %ecx
        sub %edi, %ecx
        xor %eax, %eax
        rep stosb
        mov $stack_top, %esp
        call flat_setup
        call uart_init
        call idt_install
        mov %ebp, %ebx

        mov $s_start_info, %esi
        call say
        mov %ebx, %eax
        call put_hex32
        mov $s_magic, %esi
        call puts
        mov SI_MAGIC(%ebx), %eax
        call put_hex32
        call newline
        cmpl $HVM_START_MAGIC, SI_MAGIC(%ebx)
        je 1f
        mov $s_bad_magic, %esi
        jmp fail

1:      mov $s_version, %esi
        call say
        mov SI_VERSION(%ebx), %eax
        call put_dec
        mov $s_flags, %esi
        call puts
        mov SI_FLAGS(%ebx), %eax
        call put_hex32
        mov $s_modules, %esi
        call puts
        mov SI_NR_MODULES(%ebx), %eax
        call put_dec
        call newline

        mov SI_CMDLINE(%ebx), %esi
        test %esi, %esi
        jnz 2f
        mov $s_no_cmdline, %esi
        call say
        call newline
        jmp 3f
2:      push %esi
        mov $s_cmdline, %esi
        call say
        pop %esi
        call puts
        call newline

3:      mov $s_rsdp, %esi
        call say
        mov SI_RSDP(%ebx), %eax
        mov SI_RSDP + 4(%ebx), %edx
        call put_hex64
        call newline

        cmpl $1, SI_VERSION(%ebx)
        jae 4f
        mov $s_no_memmap, %esi
        call say
        call newline
        jmp 6f
4:      mov SI_MEMMAP(%ebx), %edi
        mov SI_MEMMAP_ENTRIES(%ebx), %ebp
        mov $s_memmap_entries, %esi
        call say
        mov %ebp, %eax
        call put_dec
        call newline
5:      test %ebp, %ebp
        jz 6f
        mov $s_memmap_addr, %esi
        call say
        mov 0(%edi), %eax
        mov 4(%edi), %edx
        call put_hex64
        mov $s_size, %esi
        call puts
        mov 8(%edi), %eax
        mov 12(%edi), %edx
        call put_hex64
        mov $s_type, %esi
        call puts
        mov 16(%edi), %eax
        call put_dec
        call newline
        add $MEMMAP_ENTRY_SIZE, %edi
        dec %ebp
        jmp 5b
6:      jmp pass

        .section .rodata
        .globl guest_name
guest_name:       .asciz "pvh"
s_start_info:     .asciz "start_info at "
s_magic:          .asciz " magic "
s_bad_magic:      .asciz "bad hvm_start_info magic"
s_version:        .asciz "version "
s_flags:          .asciz " flags "
s_modules:        .asciz " modules "
s_no_cmdline:     .asciz "no cmdline"
s_cmdline:        .asciz "cmdline: "
s_rsdp:           .asciz "rsdp "
s_no_memmap:      .asciz "no memmap (version 0)"
s_memmap_entries: .asciz "memmap entries "
s_memmap_addr:    .asciz "memmap addr "
s_size:           .asciz " size "
s_type:           .asciz " type "
