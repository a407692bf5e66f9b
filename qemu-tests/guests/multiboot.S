/*
 * multiboot.elf: reads what a Multiboot (v1) loader hands over and prints it: the
 * magic, the information flags, mem_lower/mem_upper, every memory-map entry, the
 * command line and the loader's name. Fails if the memory fields or the memory map
 * are missing (the header asks for them with flag 1).
 */

        .code32

        .set INFO_MEMORY, 1 << 0
        .set INFO_CMDLINE, 1 << 2
        .set INFO_MMAP, 1 << 6
        .set INFO_LOADER_NAME, 1 << 9

        .text
        .globl main
/* EBX = the Multiboot information. */
main:
        mov $s_magic, %esi
        call say
        mov $0x2badb002, %eax
        call put_hex32
        call newline

        mov $s_info, %esi
        call say
        mov %ebx, %eax
        call put_hex32
        mov $s_flags, %esi
        call puts
        mov (%ebx), %eax
        call put_hex32
        call newline

        testl $INFO_MEMORY, (%ebx)
        jnz 1f
        mov $s_no_memory, %esi
        jmp fail
1:      mov $s_mem_lower, %esi
        call say
        mov 4(%ebx), %eax
        call put_dec
        mov $s_mem_upper, %esi
        call puts
        mov 8(%ebx), %eax
        call put_dec
        mov $s_kib, %esi
        call puts
        call newline

        testl $INFO_MMAP, (%ebx)
        jnz 2f
        mov $s_no_mmap, %esi
        jmp fail
        /* Entries are { size, base (u64), length (u64), type }, each followed by the
           next at entry + size + 4, for mmap_length bytes from mmap_addr. */
2:      mov 48(%ebx), %edi              /* mmap_addr */
        mov 44(%ebx), %ebp              /* mmap_length */
        add %edi, %ebp
3:      cmp %ebp, %edi
        jae 4f
        mov $s_mmap_base, %esi
        call say
        mov 4(%edi), %eax
        mov 8(%edi), %edx
        call put_hex64
        mov $s_length, %esi
        call puts
        mov 12(%edi), %eax
        mov 16(%edi), %edx
        call put_hex64
        mov $s_type, %esi
        call puts
        mov 20(%edi), %eax
        call put_dec
        call newline
        mov (%edi), %eax
        lea 4(%edi,%eax), %edi
        jmp 3b

4:      testl $INFO_CMDLINE, (%ebx)
        jnz 5f
        mov $s_no_cmdline, %esi
        call say
        call newline
        jmp 6f
5:      mov $s_cmdline, %esi
        call say
        mov 16(%ebx), %esi
        call puts
        call newline

6:      testl $INFO_LOADER_NAME, (%ebx)
        jz 7f
        mov $s_loader, %esi
        call say
        mov 64(%ebx), %esi
        call puts
        call newline
7:      jmp pass

        .section .rodata
        .globl guest_name
guest_name:     .asciz "multiboot"
s_magic:        .asciz "magic "
s_info:         .asciz "info at "
s_flags:        .asciz " flags "
s_no_memory:    .asciz "no mem_lower/mem_upper (flag 0)"
s_mem_lower:    .asciz "mem_lower "
s_mem_upper:    .asciz " KiB mem_upper "
s_kib:          .asciz " KiB"
s_no_mmap:      .asciz "no memory map (flag 6)"
s_mmap_base:    .asciz "mmap base "
s_length:       .asciz " length "
s_type:         .asciz " type "
s_no_cmdline:   .asciz "no cmdline"
s_cmdline:      .asciz "cmdline: "
s_loader:       .asciz "loader: "
