/*
 * realmode.bin: a 16-bit guest with no BIOS underneath, run from the reset vector.
 *
 * The 64 KiB image is meant for 0xF0000-0xFFFFF, where a PC's BIOS ROM sits: the CPU
 * starts at F000:FFF0, its last 16 bytes, which jump to `start`. The guest assumes
 * nothing else: it makes its own stack, programs COM1, fills the interrupt vector
 * table, then runs one check after another, printing "guest: realmode: <check>: " before
 * each (so a check that kills the machine is named in the log) and "ok" or "FAIL"
 * after it. It passes when every check did.
 *
 * The checks exercise what real-mode emulation has historically got wrong: a round trip
 * through 32-bit protected mode, far jumps, calls and returns between segments, LDS/LES/
 * LFS/LGS/LSS, string instructions with REP, segment overrides and both directions,
 * pushes and pops of segment registers, 32-bit operand and address sizes (66/67
 * prefixes), INT/IRET through the IVT, PUSHF/POPF, and CPUID.
 *
 * Memory it uses besides the image (which it never writes): the IVT at 0-0x3FF, its
 * variables at 0x500-0x51F, scratch at 0x1000-0x17FF, the stack below 0x7000, and one
 * dword at 2 MiB (the protected-mode and unreal checks). Interrupts stay disabled
 * throughout: no PIC or PIT is touched.
 */

        .code16

        .set ROM_BASE, 0xf0000
        .set ROM_SEGMENT, 0xf000
        /* ALIAS_SEGMENT:(x + ALIAS_DELTA) is the same byte as ROM_SEGMENT:x, so code can
           run from a second code segment without a second copy. */
        .set ALIAS_SEGMENT, 0xef00
        .set ALIAS_DELTA, 0x1000
        .set STACK_TOP, 0x7000

        .set COM1, 0x3f8
        .set DEBUG_EXIT_PORT, 0xf4
        .set EXIT_PASS, 0x10
        .set EXIT_FAIL, 0x11

        /* Variables, at segment 0. */
        .set FAIL_COUNT, 0x500
        .set FIRST_FAILURE, 0x502          /* name of the first check that failed */
        .set INT_RESULT, 0x510             /* what the INT 0x80 handler saw: 4 words */
        .set BP_COUNT, 0x518
        .set SCRATCH, 0x1000
        .set HIGH_ADDRESS, 0x200000        /* beyond 1 MiB: only 32-bit addressing */
        .set HIGH_PATTERN, 0xcafebabe

        /* GDT selectors for the protected-mode round trip. */
        .set CODE32, 0x08
        .set DATA32, 0x10
        .set CODE16, 0x18
        .set DATA16, 0x20

        .set FLAGS_CF, 1 << 0
        .set FLAGS_TF, 1 << 8
        .set FLAGS_IF, 1 << 9
        .set FLAGS_DF, 1 << 10
        .set EFLAGS_AC, 1 << 18
        .set EFLAGS_ID, 1 << 21

/* Runs `function` as the check called `name`. */
        .macro check name, function
        .pushsection .rodata
9:      .asciz "\name"
        .popsection
        mov $9b, %si
        mov $\function, %di
        call run_check
        .endm

/* After a comparison: marks the running check as failed unless it was equal. */
        .macro must_be_equal
        je .Lequal\@
        mov $1, %bl
.Lequal\@:
        .endm

        .text
start:
        cli
        cld
        xor %ax, %ax
        mov %ax, %ss
        mov $STACK_TOP, %sp
        mov %ax, %ds
        mov %ax, %es
        movw $0, FAIL_COUNT
        movw $0, FIRST_FAILURE
        call uart_init
        mov $s_start, %si
        call say
        mov %cs, %ax
        call put_hex16
        mov $s_start_end, %si
        call puts
        call newline
        call install_ivt

        check "stack", check_stack
        check "protected mode round trip", check_protected_mode
        check "unreal fs beyond 64 KiB", check_unreal
        check "far jmp/call/ret", check_far_transfers
        check "lds/les/lfs/lgs/lss", check_load_far_pointers
        check "string ops", check_string_ops
        check "push/pop segment registers", check_segment_push_pop
        check "66/67 prefixes", check_operand_address_size
        check "int/iret via ivt", check_interrupts
        check "pushf/popf", check_flags
        check "cpuid", check_cpuid

        cmpw $0, FAIL_COUNT
        jne 1f
        jmp pass
1:      mov FIRST_FAILURE, %si
        jmp fail

/*
 * SI = the check's name, DI = its function, which returns CF clear if it held. Prints
 * the name before and the verdict after; counts failures.
 */
run_check:
        push %si
        call say
        mov $s_colon, %si
        call puts
        call *%di
        pushf
        xor %ax, %ax
        mov %ax, %ds
        mov %ax, %es
        cld
        popf
        pop %si
        jc 1f
        push %si
        mov $s_ok, %si
        call puts
        call newline
        pop %si
        ret
1:      push %si
        mov $s_failed, %si
        call puts
        call newline
        pop %si
        incw FAIL_COUNT
        cmpw $0, FIRST_FAILURE
        jne 2f
        mov %si, FIRST_FAILURE
2:      ret

/* The tail of every check: BL = 0 means it held. */
check_verdict:
        test %bl, %bl
        jnz 1f
        clc
        ret
1:      stc
        ret

/* ---------------------------------------------------------------------------------- */
/* Interrupt vector table                                                             */

/* Vectors 0-31 go to stubs that report the vector and fail; 3 and 0x80 to the handlers
   the INT check calls. */
install_ivt:
        xor %di, %di
        mov $unexpected_stubs, %ax
        mov $32, %cx
1:      mov %ax, (%di)
        movw $ROM_SEGMENT, 2(%di)
        add $8, %ax
        add $4, %di
        loop 1b
        movw $breakpoint_handler, 3 * 4
        movw $(int80_handler + ALIAS_DELTA), 0x80 * 4
        movw $ALIAS_SEGMENT, 0x80 * 4 + 2
        ret

        .balign 8
unexpected_stubs:
        .irp vector, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        .balign 8
        push $\vector
        jmp unexpected_interrupt
        .endr

/* Stack: vector, IP, CS, FLAGS. */
unexpected_interrupt:
        mov %sp, %bp
        xor %ax, %ax
        mov %ax, %ds
        call newline
        mov $s_unexpected, %si
        call say
        mov 0(%bp), %ax
        call put_hex16
        mov $s_at, %si
        call puts
        mov 4(%bp), %ax
        call put_hex16
        mov $':', %al
        call putc
        mov 2(%bp), %ax
        call put_hex16
        call newline
        mov $s_unexpected_fail, %si
        jmp fail

/* ---------------------------------------------------------------------------------- */
/* Checks                                                                             */

check_stack:
        xor %bl, %bl
        mov %sp, %cx
        push $0x1234
        mov %sp, %si
        cmpw $0x1234, %ss:(%si)
        must_be_equal
        pop %ax
        cmp $0x1234, %ax
        must_be_equal
        cmp %sp, %cx
        must_be_equal
        jmp check_verdict

/*
 * Real mode -> 32-bit protected mode -> 16-bit protected mode -> real mode. Data
 * written on either side must be there on the other, and the 32-bit side writes beyond
 * 1 MiB, which real mode cannot address. FS keeps its flat 4 GiB descriptor on the way
 * back for check_unreal.
 */
check_protected_mode:
        xor %bl, %bl
        movl $0x1234abcd, SCRATCH
        movl $0, SCRATCH + 4
        lgdtw %cs:gdt_descriptor
        mov %cr0, %eax
        or $1, %eax
        mov %eax, %cr0
        ljmpl $CODE32, $(ROM_BASE + protected32)
        .code32
protected32:
        mov $DATA32, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %fs
        mov %ax, %ss
        cmpl $0x1234abcd, SCRATCH
        je 1f
        mov $1, %bl
1:      movl $0x89abcdef, SCRATCH + 4
        movl $HIGH_PATTERN, HIGH_ADDRESS
        ljmp $CODE16, $protected16
        .code16
protected16:
        mov $DATA16, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        mov %cr0, %eax
        and $~1, %eax
        mov %eax, %cr0
        ljmp $ROM_SEGMENT, $real_again
real_again:
        xor %ax, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        cmpl $0x1234abcd, SCRATCH
        must_be_equal
        cmpl $0x89abcdef, SCRATCH + 4
        must_be_equal
        jmp check_verdict

/*
 * FS still holds the 4 GiB limit from protected mode ("unreal mode"), so a 32-bit
 * address beyond 64 KiB must read the dword protected mode wrote at 2 MiB. If the limit
 * was lost, the access raises #GP (vector 13), whose handler here resumes after it with
 * CF set.
 */
check_unreal:
        xor %bl, %bl
        movw $unreal_gp, 13 * 4
        mov $HIGH_ADDRESS, %esi
        xor %eax, %eax
        clc
        movl %fs:(%esi), %eax
unreal_resume:
        pushf
        movw $(unexpected_stubs + 13 * 8), 13 * 4
        popf
        jnc 1f
        mov $1, %bl
1:      cmp $HIGH_PATTERN, %eax
        must_be_equal
        jmp check_verdict

unreal_gp:
        push %bp
        mov %sp, %bp
        movw $unreal_resume, 2(%bp)
        orw $FLAGS_CF, 6(%bp)
        pop %bp
        iret

/* Far JMP, CALL and RET, direct and through memory, between two code segments. */
check_far_transfers:
        xor %bl, %bl
        ljmp $ALIAS_SEGMENT, $(1f + ALIAS_DELTA)
1:      mov %cs, %ax
        cmp $ALIAS_SEGMENT, %ax
        must_be_equal
        ljmp $ROM_SEGMENT, $2f
2:      mov %cs, %ax
        cmp $ROM_SEGMENT, %ax
        must_be_equal

        xor %ax, %ax                       /* direct far call, far return */
        lcall $ALIAS_SEGMENT, $(far_function + ALIAS_DELTA)
        cmp $ALIAS_SEGMENT, %ax
        must_be_equal
        mov %cs, %ax
        cmp $ROM_SEGMENT, %ax
        must_be_equal

        movw $(far_function + ALIAS_DELTA), SCRATCH  /* far call through memory */
        movw $ALIAS_SEGMENT, SCRATCH + 2
        xor %ax, %ax
        lcall *SCRATCH
        cmp $ALIAS_SEGMENT, %ax
        must_be_equal

        mov %sp, %cx                       /* RETF imm16 drops the arguments */
        push $0x1111
        push $0x2222
        lcall $ALIAS_SEGMENT, $(far_function_with_arguments + ALIAS_DELTA)
        mov %sp, %dx
        mov %cx, %sp
        cmp %cx, %dx
        must_be_equal
        cmp $0x3333, %ax
        must_be_equal

        push $ALIAS_SEGMENT                /* far "jump" by RETF */
        push $(3f + ALIAS_DELTA)
        lret
3:      mov %cs, %ax
        cmp $ALIAS_SEGMENT, %ax
        must_be_equal
        movw $4f, SCRATCH + 4              /* far jump through memory, back */
        movw $ROM_SEGMENT, SCRATCH + 6
        ljmp *(SCRATCH + 4)
4:      mov %cs, %ax
        cmp $ROM_SEGMENT, %ax
        must_be_equal
        jmp check_verdict

far_function:
        mov %cs, %ax
        lret

/* Stack: BP, IP, CS, 0x2222, 0x1111. Returns their sum. */
far_function_with_arguments:
        push %bp
        mov %sp, %bp
        mov 6(%bp), %ax
        add 8(%bp), %ax
        pop %bp
        lret $4

check_load_far_pointers:
        xor %bl, %bl
        movw $0x1234, SCRATCH
        movw $0x0500, SCRATCH + 2
        lds SCRATCH, %si
        mov %ds, %ax
        xor %dx, %dx
        mov %dx, %ds
        cmp $0x0500, %ax
        must_be_equal
        cmp $0x1234, %si
        must_be_equal
        les SCRATCH, %di
        mov %es, %ax
        cmp $0x0500, %ax
        must_be_equal
        cmp $0x1234, %di
        must_be_equal
        lfs SCRATCH, %cx
        mov %fs, %ax
        cmp $0x0500, %ax
        must_be_equal
        lgs SCRATCH, %dx
        mov %gs, %ax
        cmp $0x0500, %ax
        must_be_equal
        cmp %cx, %dx
        must_be_equal

        movl $0x00005678, SCRATCH + 4      /* 32-bit offset: m16:32 */
        movw $0x0600, SCRATCH + 8
        movl $0xffffffff, %esi
        lds SCRATCH + 4, %esi
        mov %ds, %ax
        xor %dx, %dx
        mov %dx, %ds
        cmp $0x0600, %ax
        must_be_equal
        cmpl $0x00005678, %esi
        must_be_equal

        /* LSS to a stack at the same linear address through another segment */
        mov %sp, %ax
        sub $0x100, %ax
        mov %ax, SCRATCH + 10
        movw $0x0010, SCRATCH + 12
        lss SCRATCH + 10, %sp
        mov %ss, %ax
        push $0x4321
        pop %cx
        cmp $0x4321, %cx
        must_be_equal
        cmp $0x0010, %ax
        must_be_equal
        mov %sp, %ax
        add $0x100, %ax
        mov %ax, SCRATCH + 10
        movw $0, SCRATCH + 12
        lss SCRATCH + 10, %sp
        jmp check_verdict

        .set COPY_LENGTH, copy_source_end - copy_source
check_string_ops:
        xor %bl, %bl
        /* REP MOVSB with a segment override on the source: FS:SI -> ES:DI */
        mov $ROM_SEGMENT, %ax
        mov %ax, %fs
        mov $(SCRATCH >> 4), %ax
        mov %ax, %es
        mov $copy_source, %si
        xor %di, %di
        mov $COPY_LENGTH, %cx
        rep movsb %fs:(%si), %es:(%di)
        test %cx, %cx
        must_be_equal
        cmp $COPY_LENGTH, %di
        must_be_equal
        cmp $copy_source_end, %si
        must_be_equal
        mov $copy_source, %si              /* compare without string instructions */
        xor %di, %di
        mov $COPY_LENGTH, %cx
1:      mov %cs:(%si), %al
        cmp %es:(%di), %al
        must_be_equal
        inc %si
        inc %di
        loop 1b

        /* REPE CMPSB with the override, against the copy: all equal */
        mov $copy_source, %si
        xor %di, %di
        mov $COPY_LENGTH, %cx
        repe cmpsb %es:(%di), %fs:(%si)
        test %cx, %cx
        must_be_equal

        /* REPNE SCASB finds the NUL of the copy */
        xor %di, %di
        mov $0xffff, %cx
        xor %al, %al
        repne scasb
        cmp $COPY_LENGTH, %di
        must_be_equal

        /* REP STOSW fills 0x80 words and not one more */
        mov $((SCRATCH + 0x200) >> 4), %ax
        mov %ax, %es
        movw $0x7777, %es:0x100
        xor %di, %di
        mov $0xa55a, %ax
        mov $0x80, %cx
        rep stosw
        cmp $0x100, %di
        must_be_equal
        xor %si, %si
        mov $0x80, %cx
2:      cmpw $0xa55a, %es:(%si)
        must_be_equal
        add $2, %si
        loop 2b
        cmpw $0x7777, %es:0x100
        must_be_equal

        /* STD; REP MOVSW copies downwards */
        xor %ax, %ax
        mov %ax, %es
        movw $1, SCRATCH + 0x400
        movw $2, SCRATCH + 0x402
        movw $3, SCRATCH + 0x404
        movw $4, SCRATCH + 0x406
        mov $(SCRATCH + 0x406), %si
        mov $(SCRATCH + 0x506), %di
        mov $4, %cx
        std
        rep movsw
        cld
        cmp $(SCRATCH + 0x3fe), %si
        must_be_equal
        cmp $(SCRATCH + 0x4fe), %di
        must_be_equal
        cmpw $1, SCRATCH + 0x500
        must_be_equal
        cmpw $4, SCRATCH + 0x506
        must_be_equal

        /* 16-bit address size: REP counts in CX and leaves ECX's upper half alone */
        mov $(SCRATCH + 0x400), %si
        mov $(SCRATCH + 0x600), %di
        mov $0xabcd0003, %ecx
        rep movsb
        cmp $0xabcd0000, %ecx
        must_be_equal
        cmp $(SCRATCH + 0x603), %di
        must_be_equal

        /* 32-bit address size (67): REP counts in ECX, walks ESI and EDI */
        mov $(SCRATCH + 0x400), %esi
        mov $(SCRATCH + 0x700), %edi
        mov $5, %ecx
        rep movsb (%esi), %es:(%edi)
        test %ecx, %ecx
        must_be_equal
        cmp $(SCRATCH + 0x405), %esi
        must_be_equal
        cmp $(SCRATCH + 0x705), %edi
        must_be_equal
        jmp check_verdict

check_segment_push_pop:
        xor %bl, %bl
        mov $0x1111, %ax
        mov %ax, %ds
        mov $0x2222, %ax
        mov %ax, %es
        push %ds
        push %es
        pop %ds
        pop %es
        mov %ds, %ax
        cmp $0x2222, %ax
        must_be_equal
        mov %es, %ax
        cmp $0x1111, %ax
        must_be_equal
        mov $0x3333, %ax
        mov %ax, %fs
        mov $0x4444, %ax
        mov %ax, %gs
        push %fs
        push %gs
        pop %fs
        pop %gs
        mov %fs, %ax
        cmp $0x4444, %ax
        must_be_equal
        mov %gs, %ax
        cmp $0x3333, %ax
        must_be_equal
        push %cs
        pop %ax
        cmp $ROM_SEGMENT, %ax
        must_be_equal
        push %ss
        pop %ss
        mov %ss, %ax
        test %ax, %ax
        must_be_equal
        /* 66 1E: a 32-bit push of DS takes four bytes, the selector in the low word */
        mov %sp, %cx
        pushl %ds
        mov %sp, %si
        mov %ss:(%si), %ax
        sub %si, %cx
        popl %ds
        cmp $4, %cx
        must_be_equal
        cmp $0x2222, %ax
        must_be_equal
        mov %ds, %ax
        cmp $0x2222, %ax
        must_be_equal
        jmp check_verdict

check_operand_address_size:
        xor %bl, %bl
        movl $0x12345678, %eax
        addl $0x11111111, %eax
        cmpl $0x23456789, %eax
        must_be_equal
        movl $0x10000, %eax
        movl $0x10000, %ecx
        mull %ecx
        cmpl $1, %edx
        must_be_equal
        test %eax, %eax
        must_be_equal
        movl $100000, %eax
        xor %edx, %edx
        movl $7, %ecx
        divl %ecx
        cmpl $14285, %eax
        must_be_equal
        cmpl $5, %edx
        must_be_equal
        movl $0x12345678, %eax
        movl $0x9abcdef0, %edx
        shldl $8, %edx, %eax
        cmpl $0x3456789a, %eax
        must_be_equal
        movl $0x11223344, %eax
        bswap %eax
        cmpl $0x44332211, %eax
        must_be_equal
        mov $0x80, %al
        movsbl %al, %ecx
        cmpl $0xffffff80, %ecx
        must_be_equal

        mov %sp, %cx                       /* 32-bit push and pop: four bytes */
        pushl $0xdeadbeef
        mov %sp, %dx
        popl %eax
        sub %dx, %cx
        cmp $4, %cx
        must_be_equal
        cmpl $0xdeadbeef, %eax
        must_be_equal

        movl $SCRATCH, %ebx                /* 67: 32-bit base + scaled index */
        movl $2, %ecx
        movl $0x11223344, 8(%ebx,%ecx,4)
        cmpw $0x3344, SCRATCH + 0x10
        must_be_equal
        cmpw $0x1122, SCRATCH + 0x12
        must_be_equal
        leal 0x10(%ebx,%ecx,4), %eax
        cmpl $(SCRATCH + 0x18), %eax
        must_be_equal

        movl $0x10000, %ecx                /* CX = 0 but ECX != 0 */
        jcxz 1f
        mov $1, %bl
1:      jecxz 2f
        jmp 3f
2:      mov $1, %bl
3:      movl $0x10002, %ecx                /* LOOP counts in CX: two rounds */
        xor %ax, %ax
4:      inc %ax
        loop 4b
        cmp $2, %ax
        must_be_equal
        cmpl $0x10000, %ecx
        must_be_equal
        jmp check_verdict

/*
 * INT 0x80 through the IVT to a handler in another code segment: INT saves FLAGS, CS
 * and IP and clears IF and TF; the handler returns a value in AX and a status in the
 * saved CF, as BIOS services do; IRET restores CS:IP and the (edited) FLAGS. Then INT3,
 * the one-byte form, through vector 3.
 */
check_interrupts:
        xor %bl, %bl
        mov $0x4142, %ax
        stc
        int $0x80
        jnc 1f
        mov $1, %bl
1:      cmp $0x4143, %ax
        must_be_equal
        cmpw $ALIAS_SEGMENT, INT_RESULT
        must_be_equal
        cmpw $ROM_SEGMENT, INT_RESULT + 2
        must_be_equal
        testw $FLAGS_CF, INT_RESULT + 4
        jnz 2f
        mov $1, %bl
2:      testw $(FLAGS_IF | FLAGS_TF), INT_RESULT + 6
        must_be_equal
        mov %cs, %ax
        cmp $ROM_SEGMENT, %ax
        must_be_equal
        movw $0, BP_COUNT
        int3
        cmpw $1, BP_COUNT
        must_be_equal
        jmp check_verdict

/* Stack: BP, IP, CS, FLAGS. Records its CS, the saved CS and FLAGS and its own FLAGS. */
int80_handler:
        push %bp
        mov %sp, %bp
        inc %ax
        push %ax
        mov %cs, %ax
        mov %ax, %ss:INT_RESULT
        mov 4(%bp), %ax
        mov %ax, %ss:INT_RESULT + 2
        mov 6(%bp), %ax
        mov %ax, %ss:INT_RESULT + 4
        pushf
        pop %ax
        mov %ax, %ss:INT_RESULT + 6
        andw $~FLAGS_CF, 6(%bp)
        pop %ax
        pop %bp
        iret

breakpoint_handler:
        incw %ss:BP_COUNT
        iret

check_flags:
        xor %bl, %bl
        push $(FLAGS_DF | FLAGS_CF | 2)   /* bit 1 is always 1 */
        popf
        pushf
        pop %ax
        cld
        and $(FLAGS_DF | FLAGS_IF | FLAGS_CF), %ax
        cmp $(FLAGS_DF | FLAGS_CF), %ax
        must_be_equal
        push $2
        popf
        pushf
        pop %ax
        and $(FLAGS_DF | FLAGS_CF), %ax
        must_be_equal
        /* EFLAGS.AC and EFLAGS.ID toggle through PUSHFD/POPFD: a 486 with CPUID */
        mov $EFLAGS_AC, %edx
        call toggles
        mov $EFLAGS_ID, %edx
        call toggles
        jmp check_verdict

/* Sets BL unless the EFLAGS bit EDX can be flipped. */
toggles:
        pushfl
        popl %eax
        mov %eax, %ecx
        xor %edx, %eax
        pushl %eax
        popfl
        pushfl
        popl %eax
        pushl %ecx
        popfl
        xor %ecx, %eax
        test %edx, %eax
        jnz 1f
        mov $1, %bl
1:      ret

/* Prints the vendor string, and fails unless it is twelve printable characters. */
check_cpuid:
        xor %bl, %bl
        xor %eax, %eax
        cpuid
        mov %ebx, SCRATCH
        mov %edx, SCRATCH + 4
        mov %ecx, SCRATCH + 8
        xor %bl, %bl
        mov $s_vendor, %si
        call puts
        mov $SCRATCH, %di
        mov $12, %cx
1:      mov (%di), %al
        cmp $' ', %al
        jae 2f
        mov $'.', %al
        mov $1, %bl
2:      call putc
        inc %di
        loop 1b
        mov $' ', %al
        call putc
        jmp check_verdict

/* ---------------------------------------------------------------------------------- */
/* COM1 and the verdict                                                               */

/* COM1: 115200 8N1, no interrupts (see lib32.S). */
uart_init:
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
        ret

/* Writes AL, "\n" as "\r\n"; a bounded wait for THR empty. Preserves all but flags. */
putc:
        cmp $'\n', %al
        jne putc_raw
        push %ax
        mov $'\r', %al
        call putc_raw
        pop %ax
putc_raw:
        push %cx
        push %dx
        push %ax
        mov $0xffff, %cx
        mov $COM1 + 5, %dx
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

/* Writes the NUL-terminated string at CS:SI. */
puts:
        push %ax
        push %si
1:      mov %cs:(%si), %al
        test %al, %al
        jz 2f
        call putc
        inc %si
        jmp 1b
2:      pop %si
        pop %ax
        ret

/* Writes "guest: realmode: " and then the string at CS:SI. */
say:
        push %si
        mov $s_prefix, %si
        call puts
        pop %si
        jmp puts

newline:
        push %ax
        mov $'\n', %al
        call putc
        pop %ax
        ret

/* Writes AX as 0x and four hex digits. */
put_hex16:
        push %ax
        push %cx
        push %dx
        mov %ax, %dx
        mov $'0', %al
        call putc
        mov $'x', %al
        call putc
        mov $4, %cx
1:      rol $4, %dx
        mov %dl, %al
        and $0xf, %al
        add $'0', %al
        cmp $'9', %al
        jbe 2f
        add $('a' - '0' - 10), %al
2:      call putc
        loop 1b
        pop %dx
        pop %cx
        pop %ax
        ret

pass:
        mov $s_pass, %si
        call say
        call newline
        mov $EXIT_PASS, %al
        out %al, $DEBUG_EXIT_PORT
        jmp halt_forever

/* Writes "FAIL <CS:SI>" and exits with EXIT_FAIL. */
fail:
        push %si
        mov $s_fail, %si
        call say
        pop %si
        call puts
        call newline
        mov $EXIT_FAIL, %al
        out %al, $DEBUG_EXIT_PORT
halt_forever:
        cli
1:      hlt
        jmp 1b

/* ---------------------------------------------------------------------------------- */
/* Descriptor tables and strings (read-only: descriptors are marked accessed already,
   so loading them writes nothing)                                                     */

        .section .rodata
        .balign 8
gdt:
        .quad 0
        .quad 0x00cf9b000000ffff           /* 0x08: 32-bit code, base 0, 4 GiB */
        .quad 0x00cf93000000ffff           /* 0x10: 32-bit data, base 0, 4 GiB */
        .quad 0x00009b0f0000ffff           /* 0x18: 16-bit code, base 0xF0000, 64 KiB */
        .quad 0x000093000000ffff           /* 0x20: 16-bit data, base 0, 64 KiB */
gdt_end:
gdt_descriptor:
        .word gdt_end - gdt - 1
        .long ROM_BASE + gdt

s_prefix:          .asciz "guest: realmode: "
s_start:           .asciz "start at cs="
s_start_end:       .asciz ", no BIOS"
s_colon:           .asciz ": "
s_ok:              .asciz "ok"
s_failed:          .asciz "FAIL"
s_pass:            .asciz "PASS"
s_fail:            .asciz "FAIL "
s_unexpected:      .asciz "unexpected interrupt "
s_at:              .asciz " at "
s_unexpected_fail: .asciz "unexpected interrupt"
s_vendor:          .asciz "vendor "
copy_source:       .asciz "copied by rep movsb"
copy_source_end:

/* F000:FFF0, the first instruction after reset. */
        .section .reset, "ax"
        ljmp $ROM_SEGMENT, $start
        .org 16, 0xff
