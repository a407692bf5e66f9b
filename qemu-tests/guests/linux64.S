/*
 * linux64.bin: a minimal image in the bzImage format of the Linux x86 boot protocol
 * (Documentation/arch/x86/boot.rst), protocol 2.15, that reports what a 64-bit loader
 * handed it. See README.md.
 *
 *   file offset 0        boot sector; the setup header at 0x1F1 ("HdrS" at 0x202)
 *   0x200                the header's jump, then the 16-bit setup code
 *   (setup_sects+1)*512  the protected-mode payload: the 32-bit entry at +0, the 64-bit
 *                        entry at +0x200 (startup_32 / startup_64 in Linux)
 *
 * The payload is position-independent (RIP-relative only): relocatable_kernel = 1, and
 * a loader may place it at any kernel_alignment-aligned address. It needs init_size
 * (128 KiB) from its load address: the file, then its IDT and variables, then its stack
 * at the top.
 *
 * The 16-bit setup code runs only under a loader that enters at the real-mode kernel
 * (QEMU's own -kernel loader does): it prints what that loader wrote into the header
 * and passes, without going on to the payload. The 32-bit entry just fails. The 64-bit
 * entry checks the "64-bit boot protocol" entry state and prints boot_params.
 */

        .set SETUP_SECTS, 2
        .set INIT_SIZE, 0x20000
        .set PREF_ADDRESS, 0x1000000
        .set KERNEL_ALIGNMENT, 0x200000
        .set CMDLINE_SIZE, 2047
        .set COM1, 0x3f8
        .set DEBUG_EXIT, 0xf4
        .set EXIT_PASS, 0x10
        .set EXIT_FAIL, 0x11

        /* boot_params offsets (Documentation/arch/x86/zero-page.rst) */
        .set BP_ACPI_RSDP_ADDR, 0x070
        .set BP_EXT_RAMDISK_IMAGE, 0x0c0
        .set BP_EXT_RAMDISK_SIZE, 0x0c4
        .set BP_EXT_CMD_LINE_PTR, 0x0c8
        .set BP_E820_ENTRIES, 0x1e8
        .set BP_SETUP_SECTS, 0x1f1
        .set BP_HEADER, 0x202
        .set BP_VERSION, 0x206
        .set BP_TYPE_OF_LOADER, 0x210
        .set BP_LOADFLAGS, 0x211
        .set BP_RAMDISK_IMAGE, 0x218
        .set BP_RAMDISK_SIZE, 0x21c
        .set BP_CMD_LINE_PTR, 0x228
        .set BP_E820_TABLE, 0x2d0

        .text

/* ---------------------------------------------------------------------------------- */
/* Boot sector and setup header                                                       */

        .code16
        .globl _start
_start:
        /* Nothing boots this sector from a disk; if something does, stop. */
        cli
1:      hlt
        jmp 1b

        .org 0x1f1
        .byte SETUP_SECTS               /* 0x1f1 setup_sects */
        .word 0                         /* 0x1f2 root_flags */
        .long SYSSIZE                   /* 0x1f4 syssize: payload in 16-byte units */
        .word 0                         /* 0x1f8 ram_size */
        .word 0xffff                    /* 0x1fa vid_mode: normal */
        .word 0                         /* 0x1fc root_dev */
        .word 0xaa55                    /* 0x1fe boot_flag */
        .byte 0xeb, setup_start - 1f    /* 0x200 jump over the header */
1:      .ascii "HdrS"                   /* 0x202 header */
        .word 0x020f                    /* 0x206 version 2.15 */
        .long 0                         /* 0x208 realmode_swtch */
        .word 0x1000                    /* 0x20c start_sys_seg */
        .word version_string - _start - 0x200 /* 0x20e kernel_version */
        .byte 0                         /* 0x210 type_of_loader */
        .byte 0x01                      /* 0x211 loadflags: LOADED_HIGH */
        .word 0x8000                    /* 0x212 setup_move_size */
        .long 0x100000                  /* 0x214 code32_start */
        .long 0                         /* 0x218 ramdisk_image */
        .long 0                         /* 0x21c ramdisk_size */
        .long 0                         /* 0x220 bootsect_kludge */
        .word 0                         /* 0x224 heap_end_ptr */
        .byte 0                         /* 0x226 ext_loader_ver */
        .byte 0                         /* 0x227 ext_loader_type */
        .long 0                         /* 0x228 cmd_line_ptr */
        .long 0x7fffffff                /* 0x22c initrd_addr_max */
        .long KERNEL_ALIGNMENT          /* 0x230 kernel_alignment */
        .byte 1                         /* 0x234 relocatable_kernel */
        .byte 21                        /* 0x235 min_alignment: 2 MiB */
        .word 0x0001                    /* 0x236 xloadflags: XLF_KERNEL_64 */
        .long CMDLINE_SIZE              /* 0x238 cmdline_size */
        .long 0                         /* 0x23c hardware_subarch: PC */
        .quad 0                         /* 0x240 hardware_subarch_data */
        .long 0                         /* 0x248 payload_offset */
        .long 0                         /* 0x24c payload_length */
        .quad 0                         /* 0x250 setup_data */
        .quad PREF_ADDRESS              /* 0x258 pref_address */
        .long INIT_SIZE                 /* 0x260 init_size */
        .long 0                         /* 0x264 handover_offset: no EFI handover */
        .long kernel_info - payload_start /* 0x268 kernel_info_offset */
        .org 0x26c                      /* (an error if the header ran past it) */

/* ---------------------------------------------------------------------------------- */
/* 16-bit setup code                                                                  */

/*
 * Entered at 0x200 (the jump) with CS = the real-mode kernel's segment + 0x20, IP = 0,
 * DS = ES = SS = the real-mode kernel's segment. Switches CS to that segment so that
 * every label is a DS offset, takes a stack in the same segment, prints what the loader
 * wrote into the header, and passes.
 */
setup_start:
        cli
        cld
        push %ds
        push $1f
        lretw
1:      mov %ds, %ax
        mov %ax, %es
        mov %ax, %ss
        mov $0xe000, %sp
        call uart16_init
        mov $s16_entered, %si
        call say16
        call newline16

        mov $s16_loader, %si
        call say16
        mov BP_TYPE_OF_LOADER, %al
        call hex8_16
        mov $s16_loadflags, %si
        call puts16
        mov BP_LOADFLAGS, %al
        call hex8_16
        call newline16

        mov $s16_cmdline, %si
        call say16
        mov BP_CMD_LINE_PTR, %eax
        call hex32_16
        test %eax, %eax
        jz 3f
        mov $s16_colon, %si
        call puts16
        mov %eax, %ebx                  /* a linear address below 1 MiB: FS:SI */
        shr $4, %ebx
        mov %bx, %fs
        and $0x0f, %ax
        mov %ax, %si
        mov $256, %cx
2:      mov %fs:(%si), %al
        test %al, %al
        jz 3f
        call putc16
        inc %si
        loop 2b
3:      call newline16

        mov $s16_ramdisk, %si
        call say16
        mov BP_RAMDISK_IMAGE, %eax
        call hex32_16
        mov $s16_size, %si
        call puts16
        mov BP_RAMDISK_SIZE, %eax
        call dec32_16
        call newline16

        mov $s16_note, %si
        call say16
        call newline16
        mov $s16_pass, %si
        call say16
        call newline16
        mov $EXIT_PASS, %al
        out %al, $DEBUG_EXIT
4:      cli
        hlt
        jmp 4b

/* COM1: 115200 8N1, FIFOs on, no interrupts. */
uart16_init:
        push %ax
        push %dx
        mov $COM1 + 1, %dx
        xor %al, %al
        out %al, %dx
        mov $COM1 + 3, %dx
        mov $0x80, %al
        out %al, %dx
        mov $COM1 + 0, %dx
        mov $1, %al
        out %al, %dx
        mov $COM1 + 1, %dx
        xor %al, %al
        out %al, %dx
        mov $COM1 + 3, %dx
        mov $0x03, %al
        out %al, %dx
        mov $COM1 + 2, %dx
        mov $0x07, %al
        out %al, %dx
        mov $COM1 + 4, %dx
        mov $0x03, %al
        out %al, %dx
        pop %dx
        pop %ax
        ret

/* Writes AL to COM1 (bounded wait for THR empty). */
putc16:
        push %cx
        push %dx
        push %ax
        mov $COM1 + 5, %dx
        mov $0xffff, %cx
1:      in %dx, %al
        test $0x20, %al
        jnz 2f
        loop 1b
2:      pop %ax
        mov $COM1, %dx
        out %al, %dx
        pop %dx
        pop %cx
        ret

/* Writes the NUL-terminated string at DS:SI. */
puts16:
        push %ax
        push %si
1:      lodsb
        test %al, %al
        jz 2f
        call putc16
        jmp 1b
2:      pop %si
        pop %ax
        ret

/* Writes "guest: linux64: " and the string at DS:SI. */
say16:
        push %si
        mov $s_prefix, %si
        call puts16
        pop %si
        jmp puts16

newline16:
        push %ax
        mov $'\r', %al
        call putc16
        mov $'\n', %al
        call putc16
        pop %ax
        ret

/* Writes the low CX nibbles of EAX (most significant first) in hex. */
hex16_digits:
        push %eax
        push %cx
        push %edx
        mov %eax, %edx
        mov %cx, %ax
        shl $2, %cx                     /* rotate the wanted digits to the top */
        neg %cl
        add $32, %cl
        shl %cl, %edx
        mov %ax, %cx
1:      rol $4, %edx
        mov %dl, %al
        and $0x0f, %al
        add $'0', %al
        cmp $'9', %al
        jbe 2f
        add $('a' - '0' - 10), %al
2:      call putc16
        loop 1b
        pop %edx
        pop %cx
        pop %eax
        ret

put0x16:
        push %si
        mov $s16_0x, %si
        call puts16
        pop %si
        ret

/* Writes AL as 0x and 2 hex digits. */
hex8_16:
        push %cx
        call put0x16
        mov $2, %cx
        call hex16_digits
        pop %cx
        ret

/* Writes EAX as 0x and 8 hex digits. */
hex32_16:
        push %cx
        call put0x16
        mov $8, %cx
        call hex16_digits
        pop %cx
        ret

/* Writes EAX in decimal. */
dec32_16:
        push %eax
        push %ebx
        push %cx
        push %edx
        mov $10, %ebx
        xor %cx, %cx
1:      xor %edx, %edx
        div %ebx
        push %dx
        inc %cx
        test %eax, %eax
        jnz 1b
2:      pop %ax
        add $'0', %al
        call putc16
        loop 2b
        pop %edx
        pop %cx
        pop %ebx
        pop %eax
        ret

s_prefix:       .asciz "guest: linux64: "
s16_entered:    .asciz "entered via 16-bit setup"
s16_loader:     .asciz "type_of_loader "
s16_loadflags:  .asciz " loadflags "
s16_cmdline:    .asciz "cmd_line_ptr "
s16_colon:      .asciz ": "
s16_ramdisk:    .asciz "ramdisk_image "
s16_size:       .asciz " ramdisk_size "
s16_note:       .asciz "this loader runs the real-mode setup: the 64-bit entry is not checked here"
s16_pass:       .asciz "PASS"
s16_0x:         .asciz "0x"
version_string: .asciz "linux64 test guest (Bulkhead)"

        .org (SETUP_SECTS + 1) * 512

/* ---------------------------------------------------------------------------------- */
/* The protected-mode payload                                                         */

payload_start:

/* 32-bit entry (startup_32): not what this guest is for. */
        .code32
startup_32:
        cld
        call 1f
1:      pop %esi
        add $s32_entered - 1b, %esi
        mov $COM1 + 3, %dx              /* 115200 8N1 */
        mov $0x80, %al
        out %al, %dx
        mov $COM1, %dx
        mov $1, %al
        out %al, %dx
        mov $COM1 + 1, %dx
        xor %al, %al
        out %al, %dx
        mov $COM1 + 3, %dx
        mov $0x03, %al
        out %al, %dx
2:      lodsb
        test %al, %al
        jz 3f
        mov $COM1, %dx
        out %al, %dx
        jmp 2b
3:      mov $EXIT_FAIL, %al
        out %al, $DEBUG_EXIT
4:      cli
        hlt
        jmp 4b
s32_entered:    .asciz "guest: linux64: FAIL entered at the 32-bit entry\r\n"

        .balign 8
/* kernel_info (boot.rst, "The kernel_info"): header, size, size_total, setup_type_max. */
kernel_info:
        .ascii "LToP"
        .long 16
        .long 16
        .long 0

        .org payload_start + 0x200

/* ---------------------------------------------------------------------------------- */
/* 64-bit entry                                                                       */

/*
 * The 64-bit boot protocol: long mode, paging on with an identity map covering the
 * kernel's init_size, the zero page and the command line; a GDT with __BOOT_CS (0x10)
 * and __BOOT_DS (0x18); CS = 0x10, DS = ES = SS = 0x18; interrupts off; RSI = the
 * boot_params. RSP is not defined.
 */
        .code64
startup_64:
        cld
        lea stack_top(%rip), %rsp       /* LEA leaves the flags as they came */
        pushfq
        pop %rax
        mov %rax, v_rflags(%rip)
        mov %cs, %ax
        mov %ax, v_cs(%rip)
        mov %ds, %ax
        mov %ax, v_ds(%rip)
        mov %es, %ax
        mov %ax, v_es(%rip)
        mov %ss, %ax
        mov %ax, v_ss(%rip)
        mov %rsi, v_bp(%rip)
        movq $0, v_fail(%rip)
        call uart64_init
        call idt64_install

        lea s_entered(%rip), %rsi
        call say64
        lea startup_64(%rip), %rax
        call put_hex64
        lea s_loaded_at(%rip), %rsi
        call puts64
        lea payload_start(%rip), %rax
        call put_hex64
        call newline64
        lea s_check_load(%rip), %rsi
        lea s_misaligned(%rip), %rdi
        test $KERNEL_ALIGNMENT - 1, %eax
        jnz 1f
        lea s_below_pref(%rip), %rdi
        cmp $PREF_ADDRESS, %rax
        jb 1f
        call check_ok64
        jmp 2f
1:      call check_fail64

2:      call check_entry_state
        call check_identity_map
        call check_boot_params
        call print_e820
        call print_cmdline
        call print_initrd
        call print_rsdp

        mov v_fail(%rip), %rsi
        test %rsi, %rsi
        jnz 3f
        lea s_pass(%rip), %rsi
        call say64
        call newline64
        mov $EXIT_PASS, %al
        out %al, $DEBUG_EXIT
        jmp halt64
3:      push %rsi
        lea s_fail(%rip), %rsi
        call say64
        pop %rsi
        call puts64
        call newline64
        mov $EXIT_FAIL, %al
        out %al, $DEBUG_EXIT
halt64:
        cli
        hlt
        jmp halt64

/* Segments, flags and control registers as the protocol says. */
check_entry_state:
        lea s_segments(%rip), %rsi
        call say64
        movzwl v_cs(%rip), %eax
        call put_hex16_64
        lea s_ds(%rip), %rsi
        call puts64
        movzwl v_ds(%rip), %eax
        call put_hex16_64
        lea s_es(%rip), %rsi
        call puts64
        movzwl v_es(%rip), %eax
        call put_hex16_64
        lea s_ss(%rip), %rsi
        call puts64
        movzwl v_ss(%rip), %eax
        call put_hex16_64
        lea s_rflags(%rip), %rsi
        call puts64
        mov v_rflags(%rip), %rax
        call put_hex64
        call newline64

        lea s_control(%rip), %rsi
        call say64
        mov %cr0, %rax
        mov %rax, %rbx
        call put_hex64
        lea s_cr3(%rip), %rsi
        call puts64
        mov %cr3, %rax
        call put_hex64
        lea s_cr4(%rip), %rsi
        call puts64
        mov %cr4, %rax
        mov %rax, %r12
        call put_hex64
        lea s_efer(%rip), %rsi
        call puts64
        mov $0xc0000080, %ecx
        rdmsr
        shl $32, %rdx
        or %rdx, %rax
        mov %rax, %r13
        call put_hex64
        call newline64

        lea s_check_entry(%rip), %rsi
        lea s_bad_cs(%rip), %rdi
        cmpw $0x10, v_cs(%rip)
        jne 9f
        lea s_bad_ds(%rip), %rdi
        cmpw $0x18, v_ds(%rip)
        jne 9f
        cmpw $0x18, v_es(%rip)
        jne 9f
        cmpw $0x18, v_ss(%rip)
        jne 9f
        lea s_if_set(%rip), %rdi
        testq $0x200, v_rflags(%rip)
        jnz 9f
        lea s_bad_cr(%rip), %rdi
        mov %rbx, %rax
        and $0x80000001, %eax           /* PG, PE */
        cmp $0x80000001, %eax
        jne 9f
        test $0x20, %r12d               /* PAE */
        jz 9f
        mov %r13, %rax
        and $0x500, %eax                /* LMA, LME */
        cmp $0x500, %eax
        jne 9f
        jmp check_ok64
9:      jmp check_fail64

/* The identity map covers init_size from the load address: the last qword is RAM. */
check_identity_map:
        lea payload_start + INIT_SIZE - 8(%rip), %rbx
        mov $0x5a5aa5a5c3c33c3c, %rax
        mov %rax, (%rbx)
        mfence
        mov (%rbx), %rcx
        lea s_check_map(%rip), %rsi
        lea s_map_readback(%rip), %rdi
        cmp %rax, %rcx
        jne 9f
        jmp check_ok64
9:      jmp check_fail64

/* boot_params: the header copied in ("HdrS", version 2.15), the loader's type. */
check_boot_params:
        mov v_bp(%rip), %rbx
        lea s_boot_params(%rip), %rsi
        call say64
        mov %rbx, %rax
        call put_hex64
        lea s_version(%rip), %rsi
        call puts64
        movzwl BP_VERSION(%rbx), %eax
        call put_hex16_64
        lea s_setup_sects(%rip), %rsi
        call puts64
        movzbl BP_SETUP_SECTS(%rbx), %eax
        call put_dec64
        lea s_loadflags(%rip), %rsi
        call puts64
        movzbl BP_LOADFLAGS(%rbx), %eax
        call put_hex8_64
        lea s_type_of_loader(%rip), %rsi
        call puts64
        movzbl BP_TYPE_OF_LOADER(%rbx), %eax
        call put_hex8_64
        call newline64
        lea s_check_bp(%rip), %rsi
        lea s_no_bp(%rip), %rdi
        test %rbx, %rbx
        jz 9f
        lea s_no_hdrs(%rip), %rdi
        cmpl $0x53726448, BP_HEADER(%rbx)       /* "HdrS" */
        jne 9f
        lea s_bad_version(%rip), %rdi
        cmpw $0x020f, BP_VERSION(%rbx)
        jne 9f
        lea s_bad_setup_sects(%rip), %rdi
        cmpb $SETUP_SECTS, BP_SETUP_SECTS(%rbx)
        jne 9f
        jmp check_ok64
9:      jmp check_fail64

/*
 * The E820 table: count at 0x1E8, 20-byte entries at 0x2D0. At least one entry, at most
 * 128, and the kernel's init_size in usable RAM (type 1).
 */
print_e820:
        mov v_bp(%rip), %rbx
        movzbl BP_E820_ENTRIES(%rbx), %r12d
        lea s_e820_count(%rip), %rsi
        call say64
        mov %r12, %rax
        call put_dec64
        call newline64
        lea BP_E820_TABLE(%rbx), %r13
        xor %r14d, %r14d                /* the kernel is covered */
        lea payload_start(%rip), %r8
        lea payload_start + INIT_SIZE(%rip), %r9
        mov %r12, %rcx
        test %rcx, %rcx
        jz 8f
        cmp $128, %rcx
        ja 8f
1:      lea s_e820(%rip), %rsi
        call say64
        mov (%r13), %rax
        call put_hex64
        lea s_size(%rip), %rsi
        call puts64
        mov 8(%r13), %rax
        call put_hex64
        lea s_type(%rip), %rsi
        call puts64
        mov 16(%r13), %eax
        call put_dec64
        call newline64
        cmpl $1, 16(%r13)
        jne 2f
        mov (%r13), %rax
        cmp %rax, %r8
        jb 2f
        add 8(%r13), %rax
        cmp %rax, %r9
        ja 2f
        mov $1, %r14d
2:      add $20, %r13
        loop 1b
8:      lea s_check_e820(%rip), %rsi
        lea s_e820_empty(%rip), %rdi
        test %r12, %r12
        jz 9f
        lea s_e820_too_many(%rip), %rdi
        cmp $128, %r12
        ja 9f
        lea s_e820_no_kernel(%rip), %rdi
        test %r14, %r14
        jz 9f
        jmp check_ok64
9:      jmp check_fail64

/* cmd_line_ptr (with ext_cmd_line_ptr) and the string, at most cmdline_size bytes. */
print_cmdline:
        mov v_bp(%rip), %rbx
        mov BP_CMD_LINE_PTR(%rbx), %eax
        mov BP_EXT_CMD_LINE_PTR(%rbx), %edx
        shl $32, %rdx
        or %rdx, %rax
        mov %rax, %r12
        lea s_cmd_line_ptr(%rip), %rsi
        call say64
        call put_hex64
        call newline64
        lea s_check_cmdline(%rip), %rsi
        lea s_no_cmdline(%rip), %rdi
        test %r12, %r12
        jz 9f
        lea s_cmdline(%rip), %rsi
        call say64
        mov $CMDLINE_SIZE, %ecx
1:      mov (%r12), %al
        test %al, %al
        jz 2f
        call putc64
        inc %r12
        loop 1b
        call newline64
        lea s_check_cmdline(%rip), %rsi
        lea s_cmdline_long(%rip), %rdi
        jmp 9f
2:      call newline64
        lea s_check_cmdline(%rip), %rsi
        jmp check_ok64
9:      jmp check_fail64

/*
 * ramdisk_image/ramdisk_size (with their ext_ halves). With an initrd: its start, size,
 * first bytes (up to 40 printable characters, to the first newline), page alignment,
 * and its end within initrd_addr_max.
 */
print_initrd:
        mov v_bp(%rip), %rbx
        mov BP_RAMDISK_IMAGE(%rbx), %eax
        mov BP_EXT_RAMDISK_IMAGE(%rbx), %edx
        shl $32, %rdx
        or %rdx, %rax
        mov %rax, %r12
        mov BP_RAMDISK_SIZE(%rbx), %eax
        mov BP_EXT_RAMDISK_SIZE(%rbx), %edx
        shl $32, %rdx
        or %rdx, %rax
        mov %rax, %r13
        test %r13, %r13
        jnz 1f
        lea s_no_initrd(%rip), %rsi
        call say64
        jmp newline64
1:      lea s_initrd(%rip), %rsi
        call say64
        mov %r12, %rax
        call put_hex64
        lea s_size(%rip), %rsi
        call puts64
        mov %r13, %rax
        call put_dec64
        call newline64
        lea s_initrd_begins(%rip), %rsi
        call say64
        mov %r12, %rsi
        mov $40, %ecx
        cmp %rcx, %r13
        jae 2f
        mov %r13d, %ecx
2:      lodsb
        cmp $'\n', %al
        je 4f
        cmp $0x20, %al
        jb 3f
        cmp $0x7e, %al
        jbe 5f
3:      mov $'.', %al
5:      call putc64
        loop 2b
4:      call newline64
        lea s_check_initrd(%rip), %rsi
        lea s_initrd_unaligned(%rip), %rdi
        test $0xfff, %r12d
        jnz 9f
        lea s_initrd_high(%rip), %rdi
        mov %r12, %rax
        add %r13, %rax
        mov $0x80000000, %ecx           /* initrd_addr_max + 1 */
        cmp %rcx, %rax
        ja 9f
        jmp check_ok64
9:      jmp check_fail64

/* acpi_rsdp_addr (protocol 2.14), if the loader set it: "RSD PTR " with a good checksum. */
print_rsdp:
        mov v_bp(%rip), %rbx
        mov BP_ACPI_RSDP_ADDR(%rbx), %r12
        test %r12, %r12
        jnz 1f
        lea s_no_rsdp(%rip), %rsi
        call say64
        jmp newline64
1:      lea s_rsdp(%rip), %rsi
        call say64
        mov %r12, %rax
        call put_hex64
        call newline64
        lea s_check_rsdp(%rip), %rsi
        lea s_rsdp_signature(%rip), %rdi
        mov $0x2052545020445352, %rax   /* "RSD PTR " */
        cmp %rax, (%r12)
        jne 9f
        xor %eax, %eax
        mov $20, %ecx
        mov %r12, %rdx
2:      add (%rdx), %al
        inc %rdx
        loop 2b
        lea s_rsdp_checksum(%rip), %rdi
        test %al, %al
        jnz 9f
        jmp check_ok64
9:      jmp check_fail64

/* ---------------------------------------------------------------------------------- */
/* Checks                                                                             */

/* Prints "<RSI>: ok". */
check_ok64:
        call say64
        push %rsi
        lea s_ok(%rip), %rsi
        call puts64
        pop %rsi
        jmp newline64

/* Prints "<RSI>: FAIL <RDI>"; the first failure names the verdict. */
check_fail64:
        call say64
        push %rsi
        lea s_failed(%rip), %rsi
        call puts64
        mov %rdi, %rsi
        call puts64
        call newline64
        pop %rsi
        cmpq $0, v_fail(%rip)
        jne 1f
        mov %rsi, v_fail(%rip)
1:      ret

/* ---------------------------------------------------------------------------------- */
/* Exceptions                                                                         */

        .macro exc_stub vector
        .balign 16
        .if (\vector == 8) || ((\vector >= 10) && (\vector <= 14)) || (\vector == 17) || (\vector == 21) || (\vector == 29) || (\vector == 30)
        .else
        push $0
        .endif
        push $\vector
        jmp exc_common
        .endm

        .balign 16
exc_stubs:
        .irp vector, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        exc_stub \vector
        .endr

/* Stack: vector, error code, RIP, CS, RFLAGS, RSP, SS. */
exc_common:
        lea s_unexpected(%rip), %rsi
        call say64
        mov (%rsp), %rax
        call put_dec64
        lea s_at(%rip), %rsi
        call puts64
        mov 16(%rsp), %rax
        call put_hex64
        lea s_error(%rip), %rsi
        call puts64
        mov 8(%rsp), %rax
        call put_hex64
        call newline64
        lea s_fail(%rip), %rsi
        call say64
        lea s_exception(%rip), %rsi
        call puts64
        call newline64
        mov $EXIT_FAIL, %al
        out %al, $DEBUG_EXIT
        jmp halt64

/* 32 interrupt gates (64-bit, DPL 0) to the stubs, with the current CS; LIDT. */
idt64_install:
        lea exc_stubs(%rip), %rax
        lea idt64(%rip), %rdi
        movzwl v_cs(%rip), %edx
        mov $32, %ecx
1:      mov %ax, (%rdi)
        mov %dx, 2(%rdi)
        movw $0x8e00, 4(%rdi)
        mov %rax, %r8
        shr $16, %r8
        mov %r8w, 6(%rdi)
        shr $16, %r8
        mov %r8d, 8(%rdi)
        movl $0, 12(%rdi)
        add $16, %rax
        add $16, %rdi
        loop 1b
        movw $32 * 16 - 1, v_idtr(%rip)
        lea idt64(%rip), %rax
        mov %rax, v_idtr + 2(%rip)
        lidt v_idtr(%rip)
        ret

/* ---------------------------------------------------------------------------------- */
/* COM1 and printing (64-bit); every routine preserves every register                 */

uart64_init:
        push %rax
        push %rdx
        mov $COM1 + 1, %dx
        xor %al, %al
        out %al, %dx
        mov $COM1 + 3, %dx
        mov $0x80, %al
        out %al, %dx
        mov $COM1 + 0, %dx
        mov $1, %al
        out %al, %dx
        mov $COM1 + 1, %dx
        xor %al, %al
        out %al, %dx
        mov $COM1 + 3, %dx
        mov $0x03, %al
        out %al, %dx
        mov $COM1 + 2, %dx
        mov $0x07, %al
        out %al, %dx
        mov $COM1 + 4, %dx
        mov $0x03, %al
        out %al, %dx
        pop %rdx
        pop %rax
        ret

/* Writes AL, "\n" as "\r\n". */
putc64:
        pushfq
        cmp $'\n', %al
        jne 1f
        push %rax
        mov $'\r', %al
        call putc64_raw
        pop %rax
1:      call putc64_raw
        popfq
        ret

putc64_raw:
        push %rcx
        push %rdx
        push %rax
        mov $COM1 + 5, %dx
        mov $0x10000, %ecx
1:      in %dx, %al
        test $0x20, %al
        jnz 2f
        loop 1b
2:      pop %rax
        mov $COM1, %dx
        out %al, %dx
        pop %rdx
        pop %rcx
        ret

/* Writes the NUL-terminated string at RSI. */
puts64:
        pushfq
        push %rax
        push %rsi
1:      lodsb
        test %al, %al
        jz 2f
        call putc64
        jmp 1b
2:      pop %rsi
        pop %rax
        popfq
        ret

/* Writes "guest: linux64: " and the string at RSI. */
say64:
        push %rsi
        lea s_prefix64(%rip), %rsi
        call puts64
        pop %rsi
        jmp puts64

newline64:
        push %rax
        mov $'\n', %al
        call putc64
        pop %rax
        ret

/* Writes the low ECX nibbles of RAX in hex, most significant first. */
hex64_digits:
        pushfq
        push %rax
        push %rcx
        push %rdx
        mov %rax, %rdx
        mov %ecx, %eax
        shl $2, %ecx
        neg %ecx
        add $64, %ecx
        shl %cl, %rdx                   /* the wanted digits at the top */
        mov %eax, %ecx
1:      rol $4, %rdx
        mov %dl, %al
        and $0x0f, %al
        add $'0', %al
        cmp $'9', %al
        jbe 2f
        add $('a' - '0' - 10), %al
2:      call putc64
        loop 1b
        pop %rdx
        pop %rcx
        pop %rax
        popfq
        ret

put0x64:
        push %rsi
        lea s_0x(%rip), %rsi
        call puts64
        pop %rsi
        ret

put_hex64:
        push %rcx
        call put0x64
        mov $16, %ecx
        call hex64_digits
        pop %rcx
        ret

put_hex16_64:
        push %rcx
        call put0x64
        mov $4, %ecx
        call hex64_digits
        pop %rcx
        ret

put_hex8_64:
        push %rcx
        call put0x64
        mov $2, %ecx
        call hex64_digits
        pop %rcx
        ret

/* Writes RAX in decimal. */
put_dec64:
        pushfq
        push %rax
        push %rbx
        push %rcx
        push %rdx
        mov $10, %ebx
        xor %ecx, %ecx
1:      xor %edx, %edx
        div %rbx
        push %rdx
        inc %ecx
        test %rax, %rax
        jnz 1b
2:      pop %rax
        add $'0', %al
        call putc64
        loop 2b
        pop %rdx
        pop %rcx
        pop %rbx
        pop %rax
        popfq
        ret

s_prefix64:     .asciz "guest: linux64: "
s_0x:           .asciz "0x"
s_ok:           .asciz ": ok"
s_failed:       .asciz ": FAIL "
s_pass:         .asciz "PASS"
s_fail:         .asciz "FAIL "
s_unexpected:   .asciz "unexpected exception "
s_at:           .asciz " at "
s_error:        .asciz " error "
s_exception:    .asciz "unexpected exception"
s_entered:      .asciz "entered at the 64-bit entry "
s_loaded_at:    .asciz ", loaded at "
s_check_load:   .asciz "load address"
s_misaligned:   .asciz "not aligned to kernel_alignment"
s_below_pref:   .asciz "below pref_address"
s_segments:     .asciz "cs "
s_ds:           .asciz " ds "
s_es:           .asciz " es "
s_ss:           .asciz " ss "
s_rflags:       .asciz " rflags "
s_control:      .asciz "cr0 "
s_cr3:          .asciz " cr3 "
s_cr4:          .asciz " cr4 "
s_efer:         .asciz " efer "
s_check_entry:  .asciz "64-bit entry state"
s_bad_cs:       .asciz "CS is not __BOOT_CS (0x10)"
s_bad_ds:       .asciz "DS, ES or SS is not __BOOT_DS (0x18)"
s_if_set:       .asciz "interrupts enabled"
s_bad_cr:       .asciz "not in long mode with paging (CR0.PG/PE, CR4.PAE, EFER.LME/LMA)"
s_check_map:    .asciz "identity map over init_size"
s_map_readback: .asciz "the last qword of init_size did not read back"
s_boot_params:  .asciz "boot_params at "
s_version:      .asciz ": version "
s_setup_sects:  .asciz " setup_sects "
s_loadflags:    .asciz " loadflags "
s_type_of_loader: .asciz " type_of_loader "
s_check_bp:     .asciz "boot_params header"
s_no_bp:        .asciz "RSI is 0"
s_no_hdrs:      .asciz "no HdrS at 0x202"
s_bad_version:  .asciz "version is not 0x020f"
s_bad_setup_sects: .asciz "setup_sects differs from the image's"
s_e820_count:   .asciz "e820 entries "
s_e820:         .asciz "e820 addr "
s_size:         .asciz " size "
s_type:         .asciz " type "
s_check_e820:   .asciz "e820"
s_e820_empty:   .asciz "no entries"
s_e820_too_many: .asciz "more than 128 entries"
s_e820_no_kernel: .asciz "the kernel's init_size is not in usable RAM"
s_cmd_line_ptr: .asciz "cmd_line_ptr "
s_cmdline:      .asciz "cmdline: "
s_check_cmdline: .asciz "command line"
s_no_cmdline:   .asciz "cmd_line_ptr is 0"
s_cmdline_long: .asciz "no NUL within cmdline_size"
s_no_initrd:    .asciz "no initrd"
s_initrd:       .asciz "initrd at "
s_initrd_begins: .asciz "initrd begins: "
s_check_initrd: .asciz "initrd"
s_initrd_unaligned: .asciz "not page-aligned"
s_initrd_high:  .asciz "ends above initrd_addr_max"
s_no_rsdp:      .asciz "acpi_rsdp_addr not set"
s_rsdp:         .asciz "acpi_rsdp_addr "
s_check_rsdp:   .asciz "acpi_rsdp_addr"
s_rsdp_signature: .asciz "no \"RSD PTR \" there"
s_rsdp_checksum: .asciz "the RSDP checksum does not hold"

        .balign 16
payload_end:

/* Past the end of the file, inside init_size: the IDT, variables, the stack at the top. */
        .set idt64, payload_end
        .set v_idtr, idt64 + 32 * 16 + 6
        .set v_cs, idt64 + 32 * 16 + 16
        .set v_ds, v_cs + 2
        .set v_es, v_cs + 4
        .set v_ss, v_cs + 6
        .set v_rflags, v_cs + 8
        .set v_bp, v_cs + 16
        .set v_fail, v_cs + 24
        .set stack_top, payload_start + INIT_SIZE - 64
        .set SYSSIZE, (payload_end - payload_start + 15) / 16
