/*
 * Shared code of the 32-bit test guests (Multiboot and PVH): a flat GDT, COM1 output,
 * number printing, command-line parsing, an IDT that catches every exception, MSR
 * access that survives a #GP, and the debug-exit verdict.
 *
 * Calling convention: arguments and results in registers as documented per routine;
 * every routine preserves every register it does not return a value in. The output
 * routines (putc, puts, prefix, say, newline, put_hex*, put_dec) preserve the flags too,
 * so a caller can print between a comparison and the branch on it; the others may
 * change them. Each guest defines `guest_name` (a NUL-terminated string) and its own
 * entry point.
 */

        .code32

        .set COM1, 0x3f8
        .set DEBUG_EXIT_PORT, 0xf4
        .set EXIT_PASS, 0x10            /* QEMU exits with (0x10 << 1) | 1 = 33 */
        .set EXIT_FAIL, 0x11            /* QEMU exits with (0x11 << 1) | 1 = 35 */
        .set CODE_SELECTOR, 0x08
        .set DATA_SELECTOR, 0x10

/* ---------------------------------------------------------------------------------- */
/* Segments                                                                           */

        .text
/*
 * Loads the guest's own flat GDT and reloads every segment register. Multiboot and PVH
 * both promise flat segments but not a usable GDTR, and an IDT gate needs a selector
 * whose descriptor is known. Needs a valid ESP (SS must already be flat).
 */
        .globl flat_setup
flat_setup:
        lgdt gdt_descriptor
        ljmp $CODE_SELECTOR, $1f
1:      push %eax
        mov $DATA_SELECTOR, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %fs
        mov %ax, %gs
        mov %ax, %ss
        pop %eax
        ret

/* ---------------------------------------------------------------------------------- */
/* COM1                                                                               */

/*
 * Programs COM1 for 115200 8N1 with interrupts off: nothing else may have (there is no
 * firmware under a partition), and a 16550 resets to an unspecified divisor.
 */
        .globl uart_init
uart_init:
        push %eax
        push %edx
        mov $COM1 + 1, %dx              /* IER: no interrupts */
        xor %al, %al
        out %al, %dx
        mov $COM1 + 3, %dx              /* LCR: DLAB, to reach the divisor latch */
        mov $0x80, %al
        out %al, %dx
        mov $COM1 + 0, %dx              /* DLL: divisor 1 = 115200 baud */
        mov $1, %al
        out %al, %dx
        mov $COM1 + 1, %dx              /* DLM */
        xor %al, %al
        out %al, %dx
        mov $COM1 + 3, %dx              /* LCR: 8 data bits, no parity, 1 stop bit */
        mov $0x03, %al
        out %al, %dx
        mov $COM1 + 2, %dx              /* FCR: FIFOs on and cleared */
        mov $0x07, %al
        out %al, %dx
        mov $COM1 + 4, %dx              /* MCR: DTR and RTS, OUT2 off (no IRQ) */
        mov $0x03, %al
        out %al, %dx
        pop %edx
        pop %eax
        ret

/*
 * Writes AL to COM1, "\n" as "\r\n". Waits for THR empty (LSR bit 5), but only for a
 * bounded number of polls, so a UART model that never sets the bit slows the guest down
 * instead of hanging it.
 */
        .globl putc
putc:
        pushf
        cmp $'\n', %al
        jne 1f
        push %eax
        mov $'\r', %al
        call putc_raw
        pop %eax
1:      call putc_raw
        popf
        ret

putc_raw:
        push %ecx
        push %edx
        push %eax
        mov $0x10000, %ecx
        mov $COM1 + 5, %dx
1:      in %dx, %al
        test $0x20, %al
        jnz 2f
        loop 1b
2:      pop %eax
        mov $COM1, %dx
        out %al, %dx
        pop %edx
        pop %ecx
        ret

/* AL = the next byte received on COM1, waiting for it (LSR bit 0, data ready). */
        .globl getc
getc:
        push %edx
        mov $COM1 + 5, %dx
1:      in %dx, %al
        test $1, %al
        jz 1b
        mov $COM1, %dx
        in %dx, %al
        pop %edx
        ret

/* Writes the NUL-terminated string at ESI. */
        .globl puts
puts:
        pushf
        push %eax
        push %esi
1:      lodsb
        test %al, %al
        jz 2f
        call putc
        jmp 1b
2:      pop %esi
        pop %eax
        popf
        ret

/* Writes "guest: <guest_name>: ". */
        .globl prefix
prefix:
        push %esi
        mov $str_guest, %esi
        call puts
        mov $guest_name, %esi
        call puts
        mov $str_colon, %esi
        call puts
        pop %esi
        ret

/* Writes the prefix, then the string at ESI (no newline). */
        .globl say
say:
        call prefix
        jmp puts

        .globl newline
newline:
        push %eax
        mov $'\n', %al
        call putc
        pop %eax
        ret

/* Writes EDX as ECX hex digits, most significant first (EDX is left-aligned). */
hex_digits:
        pushf
        push %eax
        push %ecx
        push %edx
1:      rol $4, %edx
        mov %dl, %al
        and $0xf, %al
        add $'0', %al
        cmp $'9', %al
        jbe 2f
        add $('a' - '0' - 10), %al
2:      call putc
        loop 1b
        pop %edx
        pop %ecx
        pop %eax
        popf
        ret

put_0x:
        push %eax
        mov $'0', %al
        call putc
        mov $'x', %al
        call putc
        pop %eax
        ret

/* Writes EAX as 0x and 8 hex digits. */
        .globl put_hex32
put_hex32:
        push %ecx
        push %edx
        call put_0x
        mov %eax, %edx
        mov $8, %ecx
        call hex_digits
        pop %edx
        pop %ecx
        ret

/* Writes EDX:EAX as 0x and 16 hex digits. */
        .globl put_hex64
put_hex64:
        push %ecx
        push %edx
        call put_0x
        mov $8, %ecx
        call hex_digits
        mov %eax, %edx
        call hex_digits
        pop %edx
        pop %ecx
        ret

/* Writes AX as 0x and 4 hex digits. */
        .globl put_hex16
put_hex16:
        pushf
        push %ecx
        push %edx
        call put_0x
        mov %eax, %edx
        shl $16, %edx
        mov $4, %ecx
        call hex_digits
        pop %edx
        pop %ecx
        popf
        ret

/* Writes EAX in decimal. */
        .globl put_dec
put_dec:
        pushf
        pusha
        mov $10, %ebx
        xor %ecx, %ecx
1:      xor %edx, %edx
        div %ebx
        push %edx
        inc %ecx
        test %eax, %eax
        jnz 1b
2:      pop %eax
        add $'0', %al
        call putc
        loop 2b
        popa
        popf
        ret

/* ---------------------------------------------------------------------------------- */
/* Verdict                                                                            */

/* Writes "PASS" and ends QEMU through isa-debug-exit with EXIT_PASS. */
        .globl pass
pass:
        mov $str_pass, %esi
        call say
        call newline
        mov $EXIT_PASS, %al
        out %al, $DEBUG_EXIT_PORT
        jmp halt_forever

/* Writes "FAIL <ESI>" and ends QEMU through isa-debug-exit with EXIT_FAIL. */
        .globl fail
fail:
        push %esi
        mov $str_fail, %esi
        call say
        pop %esi
        call puts
        call newline
        mov $EXIT_FAIL, %al
        out %al, $DEBUG_EXIT_PORT
        /* Without a debug-exit device (or with one that ignores the write), stop here. */
        .globl halt_forever
halt_forever:
        cli
1:      hlt
        jmp 1b

/* ---------------------------------------------------------------------------------- */
/* Command line                                                                       */

/*
 * Finds the word at EDI (for example "attack=") at the start of a space-separated token
 * of the NUL-terminated command line at ESI (which may be 0: no command line). Found:
 * CF clear, ESI just past the word. Not found: CF set, ESI unchanged. Searching again
 * from the returned ESI finds the next occurrence.
 */
        .globl cmdline_find
cmdline_find:
        push %eax
        push %ecx
        push %esi
        test %esi, %esi
        jz 5f
        mov $' ', %ah                   /* the start counts as following a space */
1:      mov (%esi), %al
        test %al, %al
        jz 5f
        cmp $' ', %ah
        jne 4f
        push %esi
        push %edi
2:      mov (%edi), %cl
        test %cl, %cl
        jz 6f                           /* the whole word matched */
        cmp (%esi), %cl
        jne 3f
        inc %esi
        inc %edi
        jmp 2b
3:      pop %edi
        pop %esi
4:      mov (%esi), %ah
        inc %esi
        jmp 1b
5:      pop %esi                        /* not found */
        pop %ecx
        pop %eax
        stc
        ret
6:      pop %edi
        add $8, %esp                    /* drop the token start and the original ESI */
        pop %ecx
        pop %eax
        clc
        ret

/*
 * Parses the number at ESI: 0x-prefixed hex or decimal, ending at the first character
 * that is not a digit. Returns it in EAX, ESI past it. Clobbers the flags.
 */
        .globl parse_number
parse_number:
        push %ecx
        xor %eax, %eax
        cmpw $0x7830, (%esi)            /* "0x" */
        jne 3f
        add $2, %esi
1:      movzbl (%esi), %ecx
        cmp $'0', %cl
        jb 9f
        cmp $'9', %cl
        jbe 2f
        or $0x20, %cl                   /* lower case */
        cmp $'a', %cl
        jb 9f
        cmp $'f', %cl
        ja 9f
        sub $('a' - 10 - '0'), %cl
2:      sub $'0', %cl
        shl $4, %eax
        or %ecx, %eax
        inc %esi
        jmp 1b
3:      movzbl (%esi), %ecx
        sub $'0', %ecx
        cmp $9, %ecx
        ja 9f
        imul $10, %eax, %eax
        add %ecx, %eax
        inc %esi
        jmp 3b
9:      pop %ecx
        ret

/*
 * Compares the token at ESI (ending at a space or NUL) with the NUL-terminated word at
 * EDI: ZF set if equal. Clobbers the other flags.
 */
        .globl token_equals
token_equals:
        push %eax
        push %esi
        push %edi
1:      mov (%edi), %al
        test %al, %al
        jz 2f
        cmp (%esi), %al
        jne 3f
        inc %esi
        inc %edi
        jmp 1b
2:      mov (%esi), %al                 /* the word ended: so must the token */
        test %al, %al
        jz 3f
        cmp $' ', %al
3:      pop %edi
        pop %esi
        pop %eax
        ret

/* ---------------------------------------------------------------------------------- */
/* Exceptions                                                                         */

/*
 * One stub per exception vector, 16 bytes apart, each pushing a dummy error code where
 * the CPU pushes none, then the vector, so exception_common sees one frame layout.
 */
        .macro exception_stub vector
        .balign 16
        .if (\vector == 8) || ((\vector >= 10) && (\vector <= 14)) || (\vector == 17) || (\vector == 21) || (\vector == 29) || (\vector == 30)
        .else
        push $0
        .endif
        push $\vector
        jmp exception_common
        .endm

        .balign 16
exception_stubs:
        .irp vector, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        exception_stub \vector
        .endr

/*
 * Fills the IDT with 32-bit interrupt gates to the stubs and loads it. From then on an
 * exception is "expected" while exception_skip is non-zero: the handler records it
 * (exception_count, exception_vector, exception_eip, exception_error), prints
 * "<vector name> at <eip>" if exception_verbose is set, and resumes exception_skip bytes
 * after the faulting instruction. Any other exception prints what and where, and fails.
 */
        .globl idt_install
idt_install:
        pusha
        mov $exception_stubs, %eax
        mov $idt, %edi
        mov $32, %ecx
1:      mov %ax, (%edi)                 /* offset 15:0 */
        movw $CODE_SELECTOR, 2(%edi)
        movw $0x8e00, 4(%edi)           /* present, DPL 0, 32-bit interrupt gate */
        mov %eax, %edx
        shr $16, %edx
        mov %dx, 6(%edi)                /* offset 31:16 */
        add $16, %eax
        add $8, %edi
        loop 1b
        lidt idt_descriptor
        popa
        ret

/* Stack: vector, error code, EIP, CS, EFLAGS. */
exception_common:
        pusha
        mov 32(%esp), %eax
        mov %eax, exception_vector
        mov 36(%esp), %edx
        mov %edx, exception_error
        mov 40(%esp), %ebx
        mov %ebx, exception_eip
        incl exception_count
        mov exception_skip, %ecx
        test %ecx, %ecx
        jz 2f
        cmpb $0, exception_verbose
        je 1f
        call prefix
        call put_vector_name
        mov $str_at, %esi
        call puts
        xchg %eax, %ebx
        call put_hex32
        call newline
1:      add %ecx, 40(%esp)
        popa
        add $8, %esp
        iret
2:      mov $str_unexpected, %esi
        call say
        call put_vector_name
        mov $str_at, %esi
        call puts
        xchg %eax, %ebx
        call put_hex32
        mov $str_error_code, %esi
        call puts
        mov %edx, %eax
        call put_hex32
        call newline
        mov $str_unexpected_exception, %esi
        jmp fail

/* Writes the mnemonic of exception vector EAX, such as "#GP". */
        .globl put_vector_name
put_vector_name:
        push %eax
        push %esi
        cmp $32, %eax
        jae 1f
        lea vector_names(,%eax,4), %esi
        call puts
        jmp 2f
1:      mov $str_vector, %esi
        call puts
        call put_dec
2:      pop %esi
        pop %eax
        ret

/*
 * RDMSR of MSR ECX into EDX:EAX. CF set if it raised an exception (then EDX:EAX = 0);
 * RDMSR and WRMSR are two bytes long, so the handler resumes right after them.
 */
        .globl safe_rdmsr
safe_rdmsr:
        push %ebx
        mov exception_count, %ebx
        movl $2, exception_skip
        xor %eax, %eax
        xor %edx, %edx
        rdmsr
        movl $0, exception_skip
        cmp exception_count, %ebx
        pop %ebx
        jne 1f
        clc
        ret
1:      stc
        ret

/* WRMSR of EDX:EAX to MSR ECX. CF set if it raised an exception. */
        .globl safe_wrmsr
safe_wrmsr:
        push %ebx
        mov exception_count, %ebx
        movl $2, exception_skip
        wrmsr
        movl $0, exception_skip
        cmp exception_count, %ebx
        pop %ebx
        jne 1f
        clc
        ret
1:      stc
        ret

/* ---------------------------------------------------------------------------------- */
/* Data                                                                               */

        .section .rodata
str_guest:      .asciz "guest: "
str_colon:      .asciz ": "
str_pass:       .asciz "PASS"
str_fail:       .asciz "FAIL "
str_at:         .asciz " at "
str_unexpected: .asciz "unexpected "
str_error_code: .asciz " error "
str_unexpected_exception: .asciz "unexpected exception"
str_vector:     .asciz "vector "

        .balign 4
vector_names:
        .irp name, "#DE","#DB","NMI","#BP","#OF","#BR","#UD","#NM","#DF","#09","#TS","#NP","#SS","#GP","#PF","#15","#MF","#AC","#MC","#XM","#VE","#CP","#22","#23","#24","#25","#26","#27","#HV","#VC","#SX","#31"
        .asciz "\name"
        .endr

        .data
        .balign 8
gdt:
        .quad 0
        .quad 0x00cf9b000000ffff        /* 0x08: code, base 0, 4 GiB, 32-bit, accessed */
        .quad 0x00cf93000000ffff        /* 0x10: data, base 0, 4 GiB, accessed */
gdt_end:
        .balign 4
        .word 0
gdt_descriptor:
        .word gdt_end - gdt - 1
        .long gdt
        .word 0
idt_descriptor:
        .word 32 * 8 - 1
        .long idt

        .bss
        .balign 8
idt:    .skip 32 * 8
        .globl exception_skip, exception_count, exception_vector, exception_eip
        .globl exception_error, exception_verbose
exception_skip:    .long 0
exception_count:   .long 0
exception_vector:  .long 0
exception_eip:     .long 0
exception_error:   .long 0
exception_verbose: .byte 0
        .balign 16
        .globl stack_top
stack:  .skip 16384
stack_top:
