/*
 * Shared code of the 32-bit guests that test platform devices with interrupts
 * (irq_pic, irq_apic, uart_rtc_acpi), on top of lib32.S:
 *
 * - a 256-vector IDT: vectors 0-31 are lib32's exception gates (copied from the IDT that
 *   idt_install loaded), 32-255 go to stubs that count every delivery per vector in
 *   irq_counts and call the vector's hook in irq_hooks, if any;
 * - named checks that print "<check>: ok" or "<check>: FAIL <reason>" and a verdict
 *   that passes only if none failed;
 * - time: counters measured against PIT channel 2 (gate and output through port 0x61),
 *   the TSC calibrated that way, millisecond delays and waits with timeouts;
 * - the 8259 pair, PIT channel 0 and CMOS/RTC register access.
 *
 * Same conventions as lib32.S: arguments and results in registers, every other
 * register preserved. Waits spin with PAUSE and an I/O delay (a write to port 0x80, as
 * Linux's io_delay) and poll memory the interrupt handlers write; they never HLT, so a
 * machine without the expected interrupt times out instead of hanging. The port write
 * gives a hypervisor an exit on every round, so that the checks built on these waits
 * test the interrupt controllers and not whether interrupts reach a CPU that never
 * exits (irq_pic tests that on its own).
 */

        .code32

        .set PIC1_CMD, 0x20
        .set PIC1_DATA, 0x21
        .set PIC2_CMD, 0xa0
        .set PIC2_DATA, 0xa1
        .set PIT_CH0, 0x40
        .set PIT_CH2, 0x42
        .set PIT_CMD, 0x43
        .set PORT_61, 0x61
        .set CMOS_INDEX, 0x70
        .set CMOS_DATA, 0x71
        .set CODE_SELECTOR, 0x08
        .set IO_DELAY_PORT, 0x80
        /* PIT channel 2 counts for the 50 ms calibration interval: 1193182 Hz * 0.05. */
        .set CALIBRATION_COUNT, 59659
        .set CALIBRATION_MS, 50

        .text

/* ---------------------------------------------------------------------------------- */
/* Interrupt vectors                                                                  */

/*
 * Loads a 256-entry IDT: the 32 exception gates of the IDT now loaded (lib32's
 * idt_install), then interrupt gates for vectors 32-255 to the counting stubs.
 */
        .globl irq_setup
irq_setup:
        pusha
        sidt old_idtr
        mov old_idtr + 2, %esi
        mov $irq_idt, %edi
        mov $32 * 2, %ecx               /* 32 gates of 8 bytes */
        rep movsl
        mov $irq_stubs, %eax
        mov $256 - 32, %ecx
1:      mov %ax, (%edi)
        movw $CODE_SELECTOR, 2(%edi)
        movw $0x8e00, 4(%edi)           /* present, DPL 0, 32-bit interrupt gate */
        mov %eax, %edx
        shr $16, %edx
        mov %dx, 6(%edi)
        add $16, %eax
        add $8, %edi
        loop 1b
        lidt irq_idt_descriptor
        popa
        ret

        .balign 16
irq_stubs:
        .set vector, 32
        .rept 256 - 32
        .balign 16
        push $vector
        jmp irq_common
        .set vector, vector + 1
        .endr

/*
 * Counts the delivery, remembers the vector, and calls the vector's hook (with EAX = the
 * vector; it may change any general register). Ends of interrupt are the hook's business.
 */
irq_common:
        pusha
        cld
        mov 32(%esp), %eax
        incl irq_counts(,%eax,4)
        mov %eax, irq_last
        mov irq_hooks(,%eax,4), %ecx
        test %ecx, %ecx
        jz 1f
        call *%ecx
1:      popa
        add $4, %esp
        iret

/* Sets the hook of vector EAX to ECX (0: none) and zeroes its count. */
        .globl irq_hook
irq_hook:
        mov %ecx, irq_hooks(,%eax,4)
        movl $0, irq_counts(,%eax,4)
        ret

/* ---------------------------------------------------------------------------------- */
/* Checks and verdict                                                                 */

/* Prints "<ESI>: ok". */
        .globl check_ok
check_ok:
        pushf
        push %esi
        call say
        mov $s_ok, %esi
        call puts
        call newline
        pop %esi
        popf
        ret

/* Prints "<ESI>: FAIL <EDI>" and records the failure (the first one names the verdict). */
        .globl check_fail
check_fail:
        pushf
        push %esi
        call say
        mov $s_fail, %esi
        call puts
        mov %edi, %esi
        call puts
        call newline
        pop %esi
        cmpl $0, first_failed
        jne 1f
        mov %esi, first_failed
1:      incl checks_failed
        popf
        ret

/* Ends the guest: PASS if no check failed, else FAIL <first failed check>. */
        .globl verdict
verdict:
        cli
        mov first_failed, %esi
        test %esi, %esi
        jnz fail
        jmp pass

/* ---------------------------------------------------------------------------------- */
/* Printing                                                                           */

/* Writes AL as 0x and 2 hex digits. */
        .globl put_hex8
put_hex8:
        pushf
        push %eax
        push %ecx
        mov %al, %cl
        mov $'0', %al
        call putc
        mov $'x', %al
        call putc
        mov %cl, %al
        shr $4, %al
        call put_nibble
        mov %cl, %al
        call put_nibble
        pop %ecx
        pop %eax
        popf
        ret

put_nibble:
        and $0xf, %al
        add $'0', %al
        cmp $'9', %al
        jbe 1f
        add $('a' - '0' - 10), %al
1:      jmp putc

/* Writes the string at ESI, then EAX in decimal. */
        .globl puts_dec
puts_dec:
        call puts
        jmp put_dec

/* Writes the string at ESI, then EAX as 0x and 8 hex digits. */
        .globl puts_hex32
puts_hex32:
        call puts
        jmp put_hex32

/* Writes the string at ESI, then AL as 0x and 2 hex digits. */
        .globl puts_hex8
puts_hex8:
        call puts
        jmp put_hex8

/* ---------------------------------------------------------------------------------- */
/* Time                                                                               */

/*
 * Measures an up-counting 32-bit counter against 50 ms of PIT channel 2, and returns in
 * EAX its ticks in those 50 ms. EBX = the sampler: it returns the counter in EAX and may
 * change EDX (no other register).
 *
 * Channel 2 runs in mode 0 (interrupt on terminal count), gate high and speaker off
 * through port 0x61, whose bit 5 is the channel's output: it goes high when the count
 * (59659) runs out. Counting starts with the write of the count's high byte, which is
 * bracketed by two samples; the output's rise lies between the sample before the last
 * read that saw it low and the sample after the read that saw it high. If the CPU is
 * held up inside either bracket (an emulator's thread descheduled, an SMI), the
 * measurement is off by up to the bracket, so it is repeated (up to 8 times) until both
 * brackets together are under 1/64 of the result, and otherwise the attempt with the
 * tightest brackets counts.
 */
        .globl pit2_measure
pit2_measure:
        push %ebx
        push %ecx
        push %edx
        push %esi
        push %edi
        movl $0xffffffff, m_best_slack
        movl $0, m_best
        movl $8, m_tries
1:      in $PORT_61, %al                /* gate high, speaker off */
        and $0xfc, %al
        or $0x01, %al
        out %al, $PORT_61
        mov $0xb0, %al                  /* channel 2, lobyte/hibyte, mode 0, binary */
        out %al, $PIT_CMD
        mov $CALIBRATION_COUNT & 0xff, %al
        out %al, $PIT_CH2
        call *%ebx
        mov %eax, m_start_before
        mov $CALIBRATION_COUNT >> 8, %al
        out %al, $PIT_CH2
        call *%ebx
        mov %eax, m_start_after
        mov %eax, %esi                  /* sample before the last read that saw it low */
2:      call *%ebx
        mov %eax, %edi
        in $PORT_61, %al
        test $0x20, %al
        jnz 3f
        mov %edi, %esi
        jmp 2b
3:      call *%ebx                      /* EAX: after the read that saw it high */
        mov %eax, %edi
        in $PORT_61, %al                /* gate low */
        and $0xfc, %al
        out %al, $PORT_61
        /* slack = (start_after - start_before) + (EDI - ESI) */
        mov m_start_after, %ecx
        sub m_start_before, %ecx
        mov %edi, %edx
        sub %esi, %edx
        add %edx, %ecx
        /* result = ((ESI - start_before) + (EDI - start_after)) / 2 */
        mov %esi, %eax
        sub m_start_before, %eax
        mov %edi, %edx
        sub m_start_after, %edx
        add %edx, %eax
        rcr $1, %eax
        cmp m_best_slack, %ecx
        jae 4f
        mov %ecx, m_best_slack
        mov %eax, m_best
4:      shl $6, %ecx                    /* slack * 64 < result: good enough */
        jc 5f
        cmp %eax, %ecx
        jb 6f
5:      decl m_tries
        jnz 1b
6:      mov m_best, %eax
        pop %edi
        pop %esi
        pop %edx
        pop %ecx
        pop %ebx
        ret

/* The TSC's low 32 bits, for pit2_measure. */
tsc_sample:
        rdtsc
        ret

/*
 * Measures the TSC against PIT channel 2 (pit2_measure). Sets tsc_khz and returns it in
 * EAX.
 */
        .globl tsc_calibrate
tsc_calibrate:
        push %ebx
        push %ecx
        push %edx
        mov $tsc_sample, %ebx
        call pit2_measure
        xor %edx, %edx
        mov $CALIBRATION_MS, %ecx
        div %ecx
        mov %eax, tsc_khz
        pop %edx
        pop %ecx
        pop %ebx
        ret

/* EDX:EAX = the TSC (RDTSC, here so that callers need not spell it). */
        .globl tsc_now
tsc_now:
        rdtsc
        ret

/* EAX = whole milliseconds since the TSC read EDX:EAX. */
        .globl ms_since
ms_since:
        push %ebx
        push %ecx
        push %edx
        mov %eax, %ebx
        mov %edx, %ecx
        rdtsc
        sub %ebx, %eax
        sbb %ecx, %edx
        divl tsc_khz
        pop %edx
        pop %ecx
        pop %ebx
        ret

/* EAX = whole microseconds since the TSC read EDX:EAX (up to about an hour). */
        .globl us_since
us_since:
        push %ebx
        push %ecx
        push %edx
        mov %eax, %ebx
        mov %edx, %ecx
        rdtsc
        sub %ebx, %eax
        sbb %ecx, %edx
        /* ticks * 1000 / tsc_khz: multiply the 64-bit delta by 1000 as two halves */
        push %eax
        mov %edx, %eax
        mov $1000, %ecx
        mul %ecx                        /* high half * 1000: keep the low 32 bits */
        mov %eax, %ebx
        pop %eax
        mul %ecx
        add %ebx, %edx
        divl tsc_khz
        pop %edx
        pop %ecx
        pop %ebx
        ret

/* Spins for EAX milliseconds, with PAUSE and an I/O delay, interrupts as they are. */
        .globl delay_ms
delay_ms:
        pusha
        mov %eax, %ebx
        rdtsc
        mov %eax, %esi
        mov %edx, %edi
1:      pause
        out %al, $IO_DELAY_PORT
        mov %esi, %eax
        mov %edi, %edx
        call ms_since
        cmp %ebx, %eax
        jb 1b
        popa
        ret

/*
 * Waits until the dword at ESI is at least EAX, for at most ECX milliseconds, spinning
 * with PAUSE and an I/O delay (interrupts as they are). CF clear if it got there, set on timeout.
 */
        .globl wait_at_least
wait_at_least:
        pusha
        mov %eax, %ebx                  /* target */
        mov %ecx, %edi                  /* timeout */
        rdtsc
        mov %eax, %ebp
        mov %edx, %ecx
1:      cmp %ebx, (%esi)
        jae 2f
        pause
        out %al, $IO_DELAY_PORT
        mov %ebp, %eax
        mov %ecx, %edx
        call ms_since
        cmp %edi, %eax
        jb 1b
        popa
        stc
        ret
2:      popa
        clc
        ret

/* Waits, like wait_at_least, for irq_counts[EAX] to reach EDX, for at most ECX ms. */
        .globl wait_irqs
wait_irqs:
        push %esi
        push %eax
        lea irq_counts(,%eax,4), %esi
        mov %edx, %eax
        call wait_at_least
        pop %eax                        /* POP leaves CF alone */
        pop %esi
        ret

/*
 * Runs the measurement at EBX (it returns its result in EAX, CF set if it timed out,
 * and may change any other general register) up to three times, until the result lies
 * in [ECX, EDX]. CF clear if one did; EAX = the last result. A host that stalls the
 * whole machine for a moment (the emulator's thread descheduled) can spoil one timing;
 * three in a row is a fault.
 */
        .globl measure_in_range
measure_in_range:
        push %esi
        mov $3, %esi
1:      pusha
        call *%ebx
        mov %eax, 28(%esp)              /* EAX's slot: POPA returns it */
        popa
        jc 2f
        cmp %ecx, %eax
        jb 2f
        cmp %edx, %eax
        ja 2f
        pop %esi
        clc
        ret
2:      dec %esi
        jnz 1b
        pop %esi
        stc
        ret

/* ---------------------------------------------------------------------------------- */
/* 8259 pair, PIT, CMOS                                                               */

/*
 * Initializes both 8259s (ICW1-ICW4: edge, cascade, master base AL, slave base AH,
 * slave on IR2, master ICW4 = DL, slave ICW4 = 8086 mode) and masks every line.
 */
        .globl pic_init
pic_init:
        push %eax
        push %ecx
        mov %eax, %ecx
        mov $0x11, %al                  /* ICW1: edge, cascade, ICW4 follows */
        out %al, $PIC1_CMD
        out %al, $PIC2_CMD
        mov %cl, %al                    /* ICW2: vector bases */
        out %al, $PIC1_DATA
        mov %ch, %al
        out %al, $PIC2_DATA
        mov $0x04, %al                  /* ICW3: slave on master's IR2 */
        out %al, $PIC1_DATA
        mov $0x02, %al                  /* ICW3: slave ID 2 */
        out %al, $PIC2_DATA
        mov %dl, %al                    /* ICW4 */
        out %al, $PIC1_DATA
        mov $0x01, %al
        out %al, $PIC2_DATA
        mov $0xff, %al                  /* OCW1: everything masked */
        out %al, $PIC1_DATA
        out %al, $PIC2_DATA
        pop %ecx
        pop %eax
        ret

/* Sets the IMRs: AL to the master, AH to the slave. */
        .globl pic_set_masks
pic_set_masks:
        out %al, $PIC1_DATA
        xchg %al, %ah
        out %al, $PIC2_DATA
        xchg %al, %ah
        ret

/* AL = master IMR, AH = slave IMR. */
        .globl pic_get_masks
pic_get_masks:
        in $PIC2_DATA, %al
        mov %al, %ah
        in $PIC1_DATA, %al
        ret

/* AL = master IRR, AH = slave IRR (OCW3 read IRR; leaves IRR selected). */
        .globl pic_read_irr
pic_read_irr:
        mov $0x0a, %al
        out %al, $PIC1_CMD
        out %al, $PIC2_CMD
        in $PIC2_CMD, %al
        mov %al, %ah
        in $PIC1_CMD, %al
        ret

/* AL = master ISR, AH = slave ISR (OCW3 read ISR, then IRR selected again). */
        .globl pic_read_isr
pic_read_isr:
        mov $0x0b, %al
        out %al, $PIC1_CMD
        out %al, $PIC2_CMD
        in $PIC2_CMD, %al
        mov %al, %ah
        in $PIC1_CMD, %al
        push %eax
        mov $0x0a, %al
        out %al, $PIC1_CMD
        out %al, $PIC2_CMD
        pop %eax
        ret

/* Non-specific EOI to the master. */
        .globl pic_eoi_master
pic_eoi_master:
        push %eax
        mov $0x20, %al
        out %al, $PIC1_CMD
        pop %eax
        ret

/* Non-specific EOI to the slave, then specific EOI for IR2 (the cascade) to the master. */
        .globl pic_eoi_slave
pic_eoi_slave:
        push %eax
        mov $0x20, %al
        out %al, $PIC2_CMD
        mov $0x62, %al
        out %al, $PIC1_CMD
        pop %eax
        ret

/* PIT channel 0 in mode 2 (rate generator), binary, with reload CX. */
        .globl pit_ch0_rate
pit_ch0_rate:
        push %eax
        mov $0x34, %al
        out %al, $PIT_CMD
        mov %cl, %al
        out %al, $PIT_CH0
        mov %ch, %al
        out %al, $PIT_CH0
        pop %eax
        ret

/* Stops PIT channel 0's interrupts: mode 0 with the longest count, never reloaded. */
        .globl pit_ch0_stop
pit_ch0_stop:
        push %eax
        mov $0x30, %al                  /* channel 0, lobyte/hibyte, mode 0 */
        out %al, $PIT_CMD
        xor %al, %al
        out %al, $PIT_CH0
        out %al, $PIT_CH0
        pop %eax
        ret

/* AL = CMOS register AL. */
        .globl cmos_read
cmos_read:
        out %al, $CMOS_INDEX
        in $CMOS_DATA, %al
        ret

/* CMOS register AL = AH. */
        .globl cmos_write
cmos_write:
        out %al, $CMOS_INDEX
        xchg %al, %ah
        out %al, $CMOS_DATA
        xchg %al, %ah
        ret

/* ---------------------------------------------------------------------------------- */
/* Data                                                                               */

        .section .rodata
s_ok:   .asciz ": ok"
s_fail: .asciz ": FAIL "

        .data
        .balign 4
        .word 0
irq_idt_descriptor:
        .word 256 * 8 - 1
        .long irq_idt

        .bss
        .balign 8
irq_idt: .skip 256 * 8
        .balign 4
        .globl irq_counts, irq_hooks, irq_last, tsc_khz, checks_failed, first_failed
irq_counts:    .skip 256 * 4
irq_hooks:     .skip 256 * 4
irq_last:      .long 0
tsc_khz:       .long 0
checks_failed: .long 0
first_failed:  .long 0
        .balign 4
        .word 0
old_idtr:      .skip 6
        .balign 4
m_best_slack:  .long 0
m_best:        .long 0
m_tries:       .long 0
m_start_before: .long 0
m_start_after: .long 0
