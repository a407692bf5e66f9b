/*
 * uart_rtc_acpi.elf: COM1 in loopback with receive interrupts through the 8259 (IRQ4);
 * the CMOS RTC's time in BCD and binary, its seconds advancing, an alarm interrupt and
 * the update-ended interrupt (IRQ8); the ACPI tables found by scanning the BIOS area:
 * checksums, the MADT's entries, and the FADT's PM timer. See README.md.
 *
 * Every check prints "<check>: ok" or "<check>: FAIL <why>" and the guest carries on;
 * the verdict is PASS only if every check passed.
 */

        .code32

        .set COM1, 0x3f8
        .set UART_RBR, COM1 + 0
        .set UART_THR, COM1 + 0
        .set UART_IER, COM1 + 1
        .set UART_IIR, COM1 + 2
        .set UART_FCR, COM1 + 2
        .set UART_MCR, COM1 + 4
        .set UART_LSR, COM1 + 5
        .set UART_MSR, COM1 + 6
        .set MCR_DTR_RTS, 0x03
        .set MCR_OUT1, 0x04
        .set MCR_OUT2, 0x08
        .set MCR_LOOP, 0x10

        .set RTC_SECONDS, 0x00
        .set RTC_SECONDS_ALARM, 0x01
        .set RTC_MINUTES, 0x02
        .set RTC_MINUTES_ALARM, 0x03
        .set RTC_HOURS, 0x04
        .set RTC_HOURS_ALARM, 0x05
        .set RTC_DAY, 0x07
        .set RTC_MONTH, 0x08
        .set RTC_YEAR, 0x09
        .set RTC_A, 0x0a
        .set RTC_B, 0x0b
        .set RTC_C, 0x0c
        .set RTC_CENTURY, 0x32
        .set RTC_A_UIP, 0x80
        .set RTC_B_AIE, 0x20
        .set RTC_B_UIE, 0x10
        .set RTC_B_DM_BINARY, 0x04
        .set RTC_C_IRQF, 0x80
        .set RTC_C_AF, 0x20
        .set RTC_C_UF, 0x10

        .set PIC_BASE, 0x20
        .set V_UART, PIC_BASE + 4
        .set V_RTC, PIC_BASE + 8
        .set LOOPBACK_BYTES, 12
        .set PM_TIMER_HZ, 3579545

        .text
        .globl main
main:
        call irq_setup
        cli
        mov $(PIC_BASE + 8) << 8 | PIC_BASE, %ax
        mov $0x01, %dl
        call pic_init
        call tsc_calibrate
        mov $s_tsc, %esi
        call say
        call put_dec
        mov $s_khz, %esi
        call puts
        call newline
        test %eax, %eax
        jnz 1f
        mov $s_no_tsc, %esi
        jmp fail

1:      call check_loopback
        call check_rtc_bcd
        call check_rtc_binary
        call check_rtc_advance
        call check_rtc_alarm
        call check_rtc_update
        call check_acpi

        cli
        mov $0xffff, %ax
        call pic_set_masks
        mov $RTC_B, %al                 /* BCD again, no interrupts, as found */
        mov rtc_b_initial, %ah
        and $~(RTC_B_AIE | RTC_B_UIE | 0x40) & 0xff, %ah
        call cmos_write
        mov $RTC_C, %al
        call cmos_read
        jmp verdict

/* ---------------------------------------------------------------------------------- */
/* UART loopback                                                                      */

/*
 * COM1 in loopback (MCR.LOOP) with OUT2 on, FIFOs on with a 1-byte trigger, IER = data
 * available, IRQ4 unmasked at the 8259: twelve bytes sent, one at a time, each taken by
 * the IRQ4 handler (IIR, then RBR while LSR.DR). Whatever the handler did not take is
 * then read by polling, so the data is checked either way. Also the modem-status
 * loopback: DTR, RTS, OUT1 and OUT2 appear as DSR, CTS, RI and DCD. Nothing can be
 * printed while in loopback (output goes to the receiver).
 */
check_loopback:
        mov $s_loopback_start, %esi
        call say
        call newline
        call com1_drain
        cli
        mov $V_UART, %eax
        mov $h_uart, %ecx
        call irq_hook
        movl $0, rx_count
        movl $0, rx_polled
        movl $0, iir_seen
        mov $UART_MCR, %dx              /* modem lines looped back */
        mov $MCR_LOOP | MCR_OUT2 | MCR_OUT1 | MCR_DTR_RTS, %al
        out %al, %dx
        mov $UART_MSR, %dx
        in %dx, %al
        mov %al, msr_all
        mov $UART_MCR, %dx
        mov $MCR_LOOP, %al
        out %al, %dx
        mov $UART_MSR, %dx
        in %dx, %al
        mov %al, msr_none
        mov $UART_FCR, %dx              /* FIFOs on and cleared, trigger at 1 byte */
        mov $0x07, %al
        out %al, %dx
        mov $UART_MCR, %dx
        mov $MCR_LOOP | MCR_OUT2 | MCR_DTR_RTS, %al
        out %al, %dx
        mov $UART_IER, %dx              /* receive data available */
        mov $0x01, %al
        out %al, %dx
        mov $0xffef, %ax                /* IRQ4 */
        call pic_set_masks
        sti
        xor %ebx, %ebx
1:      call thr_wait
        mov loopback_data(%ebx), %al
        mov $UART_THR, %dx
        out %al, %dx
        inc %ebx
        mov $rx_count, %esi
        mov %ebx, %eax
        mov $100, %ecx
        call wait_at_least              /* the handler took it, or time out */
        cmp $LOOPBACK_BYTES, %ebx
        jb 1b
        mov $rx_count, %esi
        mov $LOOPBACK_BYTES, %eax
        mov $100, %ecx
        call wait_at_least
        cli
        mov $UART_IER, %dx
        xor %al, %al
        out %al, %dx
        mov $0xffff, %ax
        call pic_set_masks
        /* Take by polling whatever is left in the receiver. */
        mov $UART_LSR, %dx
2:      in %dx, %al
        test $0x01, %al
        jz 3f
        mov $UART_RBR, %dx
        in %dx, %al
        mov rx_count, %ecx
        cmp $32, %ecx
        jae 4f
        mov %al, rx_buffer(%ecx)
        incl rx_count
        incl rx_polled
4:      mov $UART_LSR, %dx
        jmp 2b
3:      mov $UART_MCR, %dx              /* loopback off, as uart_init left it */
        mov $MCR_DTR_RTS, %al
        out %al, %dx
        mov $UART_IIR, %dx
        in %dx, %al

        mov $s_msr, %esi
        call say
        mov msr_all, %al
        call put_hex8
        mov $s_msr_none, %esi
        call puts
        mov msr_none, %al
        call put_hex8
        call newline
        mov $s_check_modem, %esi
        mov $s_msr_wrong, %edi
        mov msr_all, %al
        and $0xf0, %al
        cmp $0xf0, %al
        jne 5f
        mov msr_none, %al
        and $0xf0, %al
        jnz 5f
        call check_ok
        jmp 6f
5:      call check_fail

6:      mov $s_loopback, %esi
        call say
        mov $LOOPBACK_BYTES, %eax
        call put_dec
        mov $s_loopback_handler, %esi
        mov rx_count, %eax
        sub rx_polled, %eax
        call puts_dec
        mov $s_loopback_irqs, %esi
        mov irq_counts + 4 * V_UART, %eax
        call puts_dec
        mov $s_loopback_iir, %esi
        mov iir_seen, %eax
        call puts_hex8
        mov $s_loopback_polled, %esi
        mov rx_polled, %eax
        call puts_dec
        call newline
        /* the data, whoever took it */
        mov $s_check_loop_data, %esi
        mov $s_loop_lost, %edi
        cmpl $LOOPBACK_BYTES, rx_count
        jne 7f
        push %esi
        mov $loopback_data, %esi
        mov $rx_buffer, %edi
        mov $LOOPBACK_BYTES, %ecx
        repe cmpsb
        pop %esi
        mov $s_loop_corrupt, %edi
        jne 7f
        call check_ok
        jmp 8f
7:      call check_fail
        /* the interrupts */
8:      mov $s_check_loop_irq, %esi
        mov $s_loop_no_irq, %edi
        cmpl $0, rx_polled
        jne 9f
        cmpl $LOOPBACK_BYTES, rx_count
        jne 9f
        mov $s_loop_iir, %edi
        mov iir_seen, %eax
        and $0x0f, %eax
        cmp $0x04, %eax                 /* received data available */
        jne 9f
        jmp check_ok
9:      jmp check_fail

/* Receive interrupt: IIR, then every byte the receiver holds; EOI. */
h_uart:
        mov $UART_IIR, %dx
        in %dx, %al
        movzbl %al, %eax
        mov %eax, iir_seen
1:      mov $UART_LSR, %dx
        in %dx, %al
        test $0x01, %al
        jz 2f
        mov $UART_RBR, %dx
        in %dx, %al
        mov rx_count, %ecx
        cmp $32, %ecx
        jae 1b
        mov %al, rx_buffer(%ecx)
        incl rx_count
        jmp 1b
2:      jmp pic_eoi_master

/* Waits (bounded) for THR empty. */
thr_wait:
        push %eax
        push %ecx
        push %edx
        mov $UART_LSR, %dx
        mov $0x100000, %ecx
1:      in %dx, %al
        test $0x20, %al
        jnz 2f
        loop 1b
2:      pop %edx
        pop %ecx
        pop %eax
        ret

/* Waits (bounded) until COM1 has sent everything: LSR THRE and TEMT. */
com1_drain:
        push %eax
        push %ecx
        push %edx
        mov $UART_LSR, %dx
        mov $0x100000, %ecx
1:      in %dx, %al
        and $0x60, %al
        cmp $0x60, %al
        je 2f
        loop 1b
2:      pop %edx
        pop %ecx
        pop %eax
        ret

/* ---------------------------------------------------------------------------------- */
/* RTC                                                                                */

/* Waits (at most 1.1 s) until register A's UIP is clear. */
rtc_wait_uip:
        push %eax
        push %ebx
        push %edx
        rdtsc
        mov %eax, %ebx
1:      mov $RTC_A, %al
        call cmos_read
        test $RTC_A_UIP, %al
        jz 2f
        mov %ebx, %eax
        push %edx
        call ms_since
        pop %edx
        cmp $1100, %eax
        jb 1b
2:      pop %edx
        pop %ebx
        pop %eax
        ret

/* Reads the clock into rtc_now (seconds, minutes, hours, day, month, year, century). */
rtc_read_time:
        push %eax
        push %ebx
        push %ecx
        call rtc_wait_uip
        mov $rtc_registers, %ebx
        xor %ecx, %ecx
1:      mov (%ebx,%ecx), %al
        call cmos_read
        mov %al, rtc_now(%ecx)
        inc %ecx
        cmp $7, %ecx
        jb 1b
        pop %ecx
        pop %ebx
        pop %eax
        ret

/* AL (BCD) = AL (binary). */
bcd_to_binary:
        push %ecx
        mov %al, %cl
        shr $4, %al
        mov $10, %ch
        mul %ch
        and $0x0f, %cl
        add %cl, %al
        pop %ecx
        ret

/* Converts rtc_now from BCD to binary in place. */
rtc_now_to_binary:
        push %eax
        push %ecx
        xor %ecx, %ecx
1:      mov rtc_now(%ecx), %al
        call bcd_to_binary
        mov %al, rtc_now(%ecx)
        inc %ecx
        cmp $7, %ecx
        jb 1b
        pop %ecx
        pop %eax
        ret

/* EAX = second of the day of rtc_now (binary). */
rtc_now_tod:
        push %ecx
        push %edx
        movzbl rtc_now + 2, %eax
        imul $3600, %eax
        movzbl rtc_now + 1, %ecx
        imul $60, %ecx
        add %ecx, %eax
        movzbl rtc_now, %ecx
        add %ecx, %eax
        pop %edx
        pop %ecx
        ret

/* Writes rtc_now (binary) as "CCYY-MM-DD hh:mm:ss". */
put_rtc_now:
        push %eax
        movzbl rtc_now + 6, %eax
        call put_2dec
        movzbl rtc_now + 5, %eax
        call put_2dec
        mov $'-', %al
        call putc
        movzbl rtc_now + 4, %eax
        call put_2dec
        mov $'-', %al
        call putc
        movzbl rtc_now + 3, %eax
        call put_2dec
        mov $' ', %al
        call putc
        movzbl rtc_now + 2, %eax
        call put_2dec
        mov $':', %al
        call putc
        movzbl rtc_now + 1, %eax
        call put_2dec
        mov $':', %al
        call putc
        movzbl rtc_now, %eax
        call put_2dec
        pop %eax
        ret

/* Writes EAX (0-99) as two decimal digits. */
put_2dec:
        push %eax
        cmp $10, %eax
        jae 1f
        push %eax
        mov $'0', %al
        call putc
        pop %eax
1:      call put_dec
        pop %eax
        ret

/*
 * Sets register B's data mode to AL (0 = BCD, RTC_B_DM_BINARY) if it differs, and waits
 * for the next update (the seconds byte changes), after which the clock registers are in
 * that mode. Keeps 24-hour mode and the interrupt enables off.
 */
rtc_set_mode:
        pusha
        mov %al, %bl
        mov $RTC_B, %al
        call cmos_read
        mov %al, %ah
        and $RTC_B_DM_BINARY, %al
        cmp %bl, %al
        je 9f
        and $~(RTC_B_DM_BINARY | 0x70) & 0xff, %ah
        or %bl, %ah
        or $0x02, %ah                   /* 24-hour */
        mov $RTC_B, %al
        call cmos_write
        call rtc_wait_uip
        mov $RTC_SECONDS, %al
        call cmos_read
        mov %al, %bh
        rdtsc
        mov %eax, %esi
        mov %edx, %edi
1:      mov $RTC_SECONDS, %al
        call cmos_read
        cmp %al, %bh
        jne 9f
        mov %esi, %eax
        mov %edi, %edx
        call ms_since
        cmp $1500, %eax
        jb 1b
9:      popa
        ret

/* The clock in BCD mode: every digit a decimal digit, every field in range. */
check_rtc_bcd:
        mov $RTC_B, %al
        call cmos_read
        mov %al, rtc_b_initial
        xor %al, %al
        call rtc_set_mode
        call rtc_read_time
        mov $RTC_B, %al
        call cmos_read
        mov %al, %bl
        mov $s_rtc_bcd, %esi
        call say
        mov $rtc_now + 6, %esi
        call put_bcd_date
        mov $s_rtc_reg_b, %esi
        call puts
        mov %bl, %al
        call put_hex8
        mov $s_close, %esi
        call puts
        call newline
        /* every nibble a decimal digit */
        xor %ecx, %ecx
1:      mov rtc_now(%ecx), %al
        mov %al, %ah
        and $0x0f, %al
        cmp $9, %al
        ja 8f
        shr $4, %ah
        cmp $9, %ah
        ja 8f
        inc %ecx
        cmp $7, %ecx
        jb 1b
        call rtc_now_to_binary          /* keep the BCD reading, converted */
        mov $rtc_now, %esi
        mov $rtc_bcd_reading, %edi
        mov $7, %ecx
        rep movsb
        mov $s_check_rtc_bcd, %esi
        mov $s_rtc_range, %edi
        cmpb $59, rtc_now
        ja 9f
        cmpb $59, rtc_now + 1
        ja 9f
        cmpb $23, rtc_now + 2
        ja 9f
        cmpb $1, rtc_now + 3
        jb 9f
        cmpb $31, rtc_now + 3
        ja 9f
        cmpb $1, rtc_now + 4
        jb 9f
        cmpb $12, rtc_now + 4
        ja 9f
        cmpb $19, rtc_now + 6
        jb 9f
        testb $RTC_B_DM_BINARY, %bl
        jnz 9f
        jmp check_ok
8:      mov $s_check_rtc_bcd, %esi
        mov $s_rtc_not_bcd, %edi
9:      jmp check_fail

/* Writes the 7 BCD bytes century, year (at ESI, ESI - 1) ... as "CCYY-MM-DD hh:mm:ss". */
put_bcd_date:
        push %eax
        mov rtc_now + 6, %al
        call put_bcd
        mov rtc_now + 5, %al
        call put_bcd
        mov $'-', %al
        call putc
        mov rtc_now + 4, %al
        call put_bcd
        mov $'-', %al
        call putc
        mov rtc_now + 3, %al
        call put_bcd
        mov $' ', %al
        call putc
        mov rtc_now + 2, %al
        call put_bcd
        mov $':', %al
        call putc
        mov rtc_now + 1, %al
        call put_bcd
        mov $':', %al
        call putc
        mov rtc_now, %al
        call put_bcd
        pop %eax
        ret

/* Writes AL as two hex digits (a BCD byte as its decimal digits). */
put_bcd:
        push %eax
        push %ecx
        mov %al, %cl
        shr $4, %al
        call put_digit
        mov %cl, %al
        call put_digit
        pop %ecx
        pop %eax
        ret

put_digit:
        and $0x0f, %al
        add $'0', %al
        cmp $'9', %al
        jbe 1f
        add $('a' - '0' - 10), %al
1:      jmp putc

/* Binary mode: the same date and time as the BCD reading, a few seconds on at most. */
check_rtc_binary:
        mov $RTC_B_DM_BINARY, %al
        call rtc_set_mode
        call rtc_read_time
        mov $RTC_B, %al
        call cmos_read
        mov %al, %bl
        mov $s_rtc_binary, %esi
        call say
        call put_rtc_now
        mov $s_rtc_reg_b, %esi
        call puts
        mov %bl, %al
        call put_hex8
        mov $s_close, %esi
        call puts
        call newline
        mov $s_check_rtc_binary, %esi
        mov $s_rtc_mode_stuck, %edi
        testb $RTC_B_DM_BINARY, %bl
        jz 9f
        mov $s_rtc_binary_differs, %edi
        mov rtc_now + 3, %eax           /* day, month, year, century */
        cmp rtc_bcd_reading + 3, %eax
        jne 9f
        call rtc_now_tod
        mov %eax, %ecx
        push %esi
        push %edi
        mov $rtc_bcd_reading, %esi
        mov $rtc_now, %edi
        push %ecx
        mov $7, %ecx
        /* swap the BCD reading in to compute its time of day */
1:      mov (%esi), %al
        xchg %al, (%edi)
        mov %al, (%esi)
        inc %esi
        inc %edi
        loop 1b
        call rtc_now_tod
        pop %ecx
        pop %edi
        pop %esi
        sub %eax, %ecx                  /* binary reading - BCD reading, seconds */
        cmp $4, %ecx
        ja 9f                           /* (also negative) */
        jmp check_ok
9:      jmp check_fail

/* Over 1.5 s of TSC time the seconds advance by 1 or 2. */
check_rtc_advance:
        call rtc_read_time
        call rtc_now_tod
        mov %eax, %ebx
        mov $1500, %eax
        call delay_ms
        call rtc_read_time
        call rtc_now_tod
        sub %ebx, %eax
        jns 1f
        add $86400, %eax
1:      mov %eax, %ebx
        mov $s_rtc_advance, %esi
        call say
        call put_dec
        mov $s_rtc_advance_tail, %esi
        call puts
        call newline
        mov $s_check_rtc_advance, %esi
        mov $s_rtc_not_1_2, %edi
        cmp $1, %ebx
        jb 9f
        cmp $2, %ebx
        ja 9f
        jmp check_ok
9:      jmp check_fail

/*
 * An alarm 2 s ahead (seconds, minutes and hours compared, binary mode), AIE on: the
 * IRQ8 handler sees AF and IRQF in register C, 1 to 2.6 s later.
 */
check_rtc_alarm:
        cli
        mov $V_RTC, %eax
        mov $h_rtc, %ecx
        call irq_hook
        movl $0, rtc_c_seen
        call rtc_read_time
        call rtc_now_tod
        add $2, %eax
        xor %edx, %edx
        mov $86400, %ecx
        div %ecx
        mov %edx, %eax                  /* second of the day of the alarm */
        xor %edx, %edx
        mov $60, %ecx
        div %ecx
        mov %dl, alarm_time             /* seconds */
        xor %edx, %edx
        div %ecx
        mov %dl, alarm_time + 1         /* minutes */
        mov %al, alarm_time + 2         /* hours */
        mov $RTC_SECONDS_ALARM, %al
        mov alarm_time, %ah
        call cmos_write
        mov $RTC_MINUTES_ALARM, %al
        mov alarm_time + 1, %ah
        call cmos_write
        mov $RTC_HOURS_ALARM, %al
        mov alarm_time + 2, %ah
        call cmos_write
        mov $RTC_C, %al
        call cmos_read
        mov $RTC_B, %al
        call cmos_read
        or $RTC_B_AIE, %al
        mov %al, %ah
        mov $RTC_B, %al
        call cmos_write
        mov $0xfefb, %ax                /* IRQ2, IRQ8 */
        call pic_set_masks
        rdtsc
        mov %eax, %esi
        mov %edx, %edi
        sti
        mov $V_RTC, %eax
        mov $1, %edx
        mov $4000, %ecx
        call wait_irqs
        setc timed_out
        mov %esi, %eax
        mov %edi, %edx
        call ms_since
        mov %eax, %ebx
        cli
        call rtc_interrupts_off
        mov $s_rtc_alarm, %esi
        call say
        movzbl alarm_time + 2, %eax
        call put_2dec
        mov $':', %al
        call putc
        movzbl alarm_time + 1, %eax
        call put_2dec
        mov $':', %al
        call putc
        movzbl alarm_time, %eax
        call put_2dec
        mov $s_rtc_after, %esi
        mov %ebx, %eax
        call puts_dec
        mov $s_rtc_reg_c, %esi
        mov rtc_c_seen, %eax
        call puts_hex8
        call newline
        mov $s_check_rtc_alarm, %esi
        mov $s_timeout, %edi
        cmpb $0, timed_out
        jne 9f
        mov $s_rtc_no_af, %edi
        mov rtc_c_seen, %eax
        and $RTC_C_IRQF | RTC_C_AF, %eax
        cmp $RTC_C_IRQF | RTC_C_AF, %eax
        jne 9f
        mov $s_out_of_range, %edi
        cmp $900, %ebx
        jb 9f
        cmp $2600, %ebx
        ja 9f
        jmp check_ok
9:      jmp check_fail

/*
 * UIE on: update-ended interrupts one second apart (0.8-1.2 s, best of three tries),
 * with UF and IRQF in register C.
 */
check_rtc_update:
        movl $0, rtc_c_seen
        mov $measure_rtc_update, %ebx
        mov $800, %ecx
        mov $1200, %edx
        call measure_in_range
        setc %bl
        mov $s_check_rtc_update, %esi
        mov $s_rtc_no_uf, %edi
        mov rtc_c_seen, %eax
        and $RTC_C_IRQF | RTC_C_UF, %eax
        cmp $RTC_C_IRQF | RTC_C_UF, %eax
        jne 9f
        mov $s_out_of_range, %edi
        test %bl, %bl
        jnz 9f
        jmp check_ok
9:      jmp check_fail

/* EAX = ms between two update-ended interrupts, printed; CF on a timeout. */
measure_rtc_update:
        cli
        mov $V_RTC, %eax
        mov $h_rtc, %ecx
        call irq_hook
        mov $RTC_C, %al
        call cmos_read
        mov $RTC_B, %al
        call cmos_read
        or $RTC_B_UIE, %al
        mov %al, %ah
        mov $RTC_B, %al
        call cmos_write
        mov $0xfefb, %ax
        call pic_set_masks
        sti
        mov $V_RTC, %eax
        mov $1, %edx
        mov $1500, %ecx
        call wait_irqs
        jc 8f
        rdtsc
        mov %eax, %esi
        mov %edx, %edi
        mov $V_RTC, %eax
        mov $2, %edx
        mov $1500, %ecx
        call wait_irqs
        jc 8f
        mov %esi, %eax
        mov %edi, %edx
        call ms_since
        mov %eax, %ebx
        cli
        call rtc_interrupts_off
        mov $s_rtc_update, %esi
        call say
        mov %ebx, %eax
        call put_dec
        mov $s_rtc_reg_c, %esi
        mov rtc_c_seen, %eax
        call puts_hex8
        call newline
        mov %ebx, %eax
        clc
        ret
8:      cli
        call rtc_interrupts_off
        mov $s_rtc_update_timeout, %esi
        call say
        call newline
        stc
        ret

/* AIE, UIE, PIE off; register C read; IRQ8 masked. */
rtc_interrupts_off:
        push %eax
        mov $RTC_B, %al
        call cmos_read
        and $~(RTC_B_AIE | RTC_B_UIE | 0x40) & 0xff, %al
        mov %al, %ah
        mov $RTC_B, %al
        call cmos_write
        mov $RTC_C, %al
        call cmos_read
        mov $0xffff, %ax
        call pic_set_masks
        pop %eax
        ret

/* IRQ8: register C (its flags collected in rtc_c_seen), EOI. */
h_rtc:
        mov $RTC_C, %al
        call cmos_read
        movzbl %al, %eax
        or %eax, rtc_c_seen
        jmp pic_eoi_slave

/* ---------------------------------------------------------------------------------- */
/* ACPI                                                                               */

check_acpi:
        call acpi_init
        jnc 1f
        mov $s_check_rsdp, %esi
        mov $s_no_rsdp, %edi
        jmp check_fail

        /* RSDP */
1:      mov acpi_rsdp, %ebx
        mov $s_rsdp, %esi
        call say
        mov %ebx, %eax
        call put_hex32
        mov $s_revision, %esi
        movzbl 15(%ebx), %eax
        call puts_dec
        mov $s_oem, %esi
        call puts
        lea 9(%ebx), %esi
        mov $6, %ecx
        call put_chars
        mov $s_rsdt, %esi
        mov 16(%ebx), %eax
        call puts_hex32
        cmpb $2, 15(%ebx)
        jb 2f
        mov $s_xsdt, %esi
        call puts
        mov 24(%ebx), %eax
        mov 28(%ebx), %edx
        call put_hex64
2:      call newline
        mov $s_check_rsdp, %esi
        cmpb $2, 15(%ebx)
        jb 3f                           /* the 20-byte checksum held: the scan checked it */
        push %esi
        mov %ebx, %esi
        mov 20(%ebx), %ecx
        call acpi_sum
        pop %esi
        mov $s_rsdp_extended, %edi
        jnz 4f
3:      call check_ok
        jmp 5f
4:      call check_fail

        /* root table and every table it lists, and the DSDT */
5:      movb $0, bad_checksum
        mov acpi_root, %ebx
        call print_table
        call acpi_entry_count
        mov %eax, %ebp
        xor %edi, %edi
6:      cmp %ebp, %edi
        jae 7f
        mov %edi, %eax
        call acpi_entry
        mov %eax, %ebx
        call print_table
        inc %edi
        jmp 6b
7:      mov $0x54445344, %eax           /* "DSDT" */
        call acpi_find
        mov %eax, %ebx
        test %ebx, %ebx
        jz 8f
        call print_table
8:      mov $s_check_checksums, %esi
        mov $s_bad_checksum, %edi
        cmpb $0, bad_checksum
        jne 9f
        call check_ok
        jmp 10f
9:      call check_fail

10:     call print_madt
        call check_pm_timer
        ret

/* Prints "table SIGN at ADDR length N revision R checksum ok|BAD" for the table at EBX. */
print_table:
        pusha
        mov $s_table, %esi
        call say
        mov %ebx, %esi
        mov $4, %ecx
        call put_chars
        mov $s_at, %esi
        mov %ebx, %eax
        call puts_hex32
        mov $s_length, %esi
        mov 4(%ebx), %eax
        call puts_dec
        mov $s_revision, %esi
        movzbl 8(%ebx), %eax
        call puts_dec
        mov $s_checksum, %esi
        call puts
        mov %ebx, %esi
        call acpi_table_sum
        mov $s_checksum_ok, %esi
        jz 1f
        movb $1, bad_checksum
        mov $s_checksum_bad, %esi
1:      call puts
        call newline
        popa
        ret

/* Writes ECX characters from ESI, '.' for unprintable ones. */
put_chars:
        push %eax
        push %ecx
        push %esi
1:      lodsb
        cmp $0x20, %al
        jb 2f
        cmp $0x7e, %al
        jbe 3f
2:      mov $'.', %al
3:      call putc
        loop 1b
        pop %esi
        pop %ecx
        pop %eax
        ret

/*
 * The MADT: local APIC address and flags, then every entry (local APICs, IOAPICs,
 * interrupt source overrides, local APIC NMIs, others by type). At least one enabled
 * local APIC and one IOAPIC.
 */
print_madt:
        mov $0x43495041, %eax           /* "APIC" */
        call acpi_find
        test %eax, %eax
        jnz 1f
        mov $s_check_madt, %esi
        mov $s_no_madt, %edi
        jmp check_fail
1:      mov %eax, %ebx
        mov $s_madt, %esi
        call say
        mov 36(%ebx), %eax
        call put_hex32
        mov $s_flags, %esi
        mov 40(%ebx), %eax
        call puts_hex32
        call newline
        movl $0, madt_cpus
        movl $0, madt_ioapics
        call madt_entries
2:      cmp %edi, %esi
        jae 8f
        movzbl (%esi), %eax
        cmp $0, %eax
        je 10f
        cmp $1, %eax
        je 11f
        cmp $2, %eax
        je 12f
        cmp $4, %eax
        je 14f
        push %esi
        mov $s_madt_other, %esi
        call say
        pop %esi
        call put_dec
        push %esi
        mov $s_length, %esi
        call puts
        pop %esi
        movzbl 1(%esi), %eax
        call put_dec
        jmp 7f
10:     push %esi                       /* processor local APIC */
        mov $s_madt_lapic, %esi
        call say
        pop %esi
        movzbl 2(%esi), %eax
        call put_dec
        push %esi
        mov $s_apic_id, %esi
        call puts
        pop %esi
        movzbl 3(%esi), %eax
        call put_dec
        push %esi
        mov $s_flags, %esi
        call puts
        pop %esi
        mov 4(%esi), %eax
        call put_hex32
        test $1, %al
        jz 7f
        incl madt_cpus
        jmp 7f
11:     push %esi                       /* IOAPIC */
        mov $s_madt_ioapic, %esi
        call say
        pop %esi
        movzbl 2(%esi), %eax
        call put_dec
        push %esi
        mov $s_at, %esi
        call puts
        pop %esi
        mov 4(%esi), %eax
        call put_hex32
        push %esi
        mov $s_gsi_base, %esi
        call puts
        pop %esi
        mov 8(%esi), %eax
        call put_dec
        incl madt_ioapics
        jmp 7f
12:     push %esi                       /* interrupt source override */
        mov $s_madt_iso, %esi
        call say
        pop %esi
        movzbl 3(%esi), %eax
        call put_dec
        push %esi
        mov $s_to_gsi, %esi
        call puts
        pop %esi
        mov 4(%esi), %eax
        call put_dec
        push %esi
        mov $s_flags, %esi
        call puts
        pop %esi
        movzwl 8(%esi), %eax
        call put_hex16
        jmp 7f
14:     push %esi                       /* local APIC NMI */
        mov $s_madt_nmi, %esi
        call say
        pop %esi
        movzbl 2(%esi), %eax
        call put_hex8
        push %esi
        mov $s_flags, %esi
        call puts
        pop %esi
        movzwl 3(%esi), %eax
        call put_hex16
        push %esi
        mov $s_lint, %esi
        call puts
        pop %esi
        movzbl 5(%esi), %eax
        call put_dec
7:      call newline
        movzbl 1(%esi), %eax
        test %eax, %eax
        jz 8f
        add %eax, %esi
        jmp 2b
8:      mov $s_check_madt, %esi
        mov $s_madt_no_cpu, %edi
        cmpl $0, madt_cpus
        je 9f
        mov $s_madt_no_ioapic, %edi
        cmpl $0, madt_ioapics
        je 9f
        jmp check_ok
9:      jmp check_fail

/*
 * The FADT's PM timer (PM_TMR_BLK, else X_PM_TMR_BLK in system I/O space), 24 or 32 bits
 * wide (TMR_VAL_EXT): read, 100 ms, read again. It advances at 3579545 Hz of TSC time,
 * within 20 % (best of three tries).
 */
check_pm_timer:
        mov $0x50434146, %eax           /* "FACP" */
        call acpi_find
        test %eax, %eax
        jnz 1f
        mov $s_check_pm, %esi
        mov $s_no_fadt, %edi
        jmp check_fail
1:      mov %eax, %ebx
        mov 76(%ebx), %edx              /* PM_TMR_BLK */
        test %edx, %edx
        jnz 2f
        cmpl $220, 4(%ebx)
        jb 2f
        cmpb $1, 208(%ebx)              /* X_PM_TMR_BLK in system I/O */
        jne 2f
        mov 212(%ebx), %edx
2:      mov %edx, pm_port
        movzwl 46(%ebx), %eax
        mov %eax, sci_irq
        mov $0xffffff, %eax
        testl $1 << 8, 112(%ebx)        /* TMR_VAL_EXT */
        jz 3f
        mov $0xffffffff, %eax
3:      mov %eax, pm_mask
        cmpl $0, pm_port
        jne 4f
        mov $s_check_pm, %esi
        mov $s_no_pm_timer, %edi
        jmp check_fail
4:      mov $measure_pm_timer, %ebx
        mov $80, %ecx
        mov $120, %edx
        call measure_in_range
        mov $s_check_pm, %esi
        mov $s_pm_stuck, %edi
        cmpl $0, pm_ticks
        je 9f
        mov $s_out_of_range, %edi
        jc 9f
        jmp check_ok
9:      jmp check_fail

/* EAX = the PM timer's ticks over about 100 ms in percent of the expected, printed. */
measure_pm_timer:
        rdtsc
        mov %eax, %esi
        mov %edx, %edi
        mov pm_port, %edx
        in %dx, %eax
        mov %eax, pm_first
        mov $100, %eax
        call delay_ms
        mov pm_port, %edx
        in %dx, %eax
        mov %eax, pm_second
        mov %esi, %eax
        mov %edi, %edx
        call us_since
        mov %eax, pm_us
        mov pm_second, %eax
        sub pm_first, %eax
        and pm_mask, %eax
        mov %eax, pm_ticks
        /* expected ticks = us * 3579545 / 1000000 */
        mov pm_us, %eax
        mov $PM_TIMER_HZ, %ecx
        mul %ecx
        mov $1000000, %ecx
        div %ecx
        mov %eax, pm_expected

        mov $s_pm, %esi
        call say
        mov pm_port, %eax
        call put_hex16
        mov $s_pm_bits, %esi
        call puts
        mov $24, %eax
        cmpl $0xffffff, pm_mask
        je 5f
        mov $32, %eax
5:      call put_dec
        mov $s_pm_sci, %esi
        mov sci_irq, %eax
        call puts_dec
        mov $s_pm_reads, %esi
        mov pm_first, %eax
        call puts_hex32
        mov $s_pm_then, %esi
        mov pm_second, %eax
        call puts_hex32
        mov $s_pm_after, %esi
        mov pm_us, %eax
        call puts_dec
        mov $s_pm_ticks, %esi
        mov pm_ticks, %eax
        call puts_dec
        mov $s_pm_expected, %esi
        mov pm_expected, %eax
        call puts_dec
        mov $s_close, %esi
        call puts
        call newline
        mov pm_ticks, %eax              /* percent of the expected */
        mov $100, %ecx
        mul %ecx
        mov pm_expected, %ecx
        test %ecx, %ecx
        jz 6f
        div %ecx
        clc
        ret
6:      xor %eax, %eax
        clc
        ret

/* ---------------------------------------------------------------------------------- */
/* Data                                                                               */

        .section .rodata
        .globl guest_name
guest_name:     .asciz "uart_rtc_acpi"
loopback_data:  .byte 'B', 'u', 'l', 'k', 'h', 'e', 'a', 'd', 0x00, 0xff, 0x55, 0xaa
/* The clock registers in rtc_now order. */
rtc_registers:  .byte RTC_SECONDS, RTC_MINUTES, RTC_HOURS, RTC_DAY, RTC_MONTH, RTC_YEAR, RTC_CENTURY
s_tsc:          .asciz "tsc "
s_khz:          .asciz " kHz, calibrated against PIT channel 2"
s_no_tsc:       .asciz "TSC calibration gave 0"
s_timeout:      .asciz "timed out waiting for interrupts"
s_out_of_range: .asciz "not within the expected time (three tries)"
s_rtc_update_timeout: .asciz "rtc update-ended interrupts: timed out waiting for interrupts"
s_loopback_start: .asciz "uart: com1 in loopback, receive interrupts on irq4"
s_msr:          .asciz "uart loopback: msr with dtr, rts, out1, out2 "
s_msr_none:     .asciz ", with none "
s_check_modem:  .asciz "uart loopback modem lines"
s_msr_wrong:    .asciz "MSR bits 7-4 do not mirror MCR bits 3-0"
s_loopback:     .asciz "uart loopback: sent "
s_loopback_handler: .asciz " bytes, the irq4 handler took "
s_loopback_irqs: .asciz " in "
s_loopback_iir: .asciz " interrupts (iir "
s_loopback_polled: .asciz "), left for polling "
s_check_loop_data: .asciz "uart loopback data"
s_loop_lost:    .asciz "not every byte came back"
s_loop_corrupt: .asciz "the bytes that came back differ"
s_check_loop_irq: .asciz "uart loopback receive interrupts"
s_loop_no_irq:  .asciz "the irq4 handler did not take every byte"
s_loop_iir:     .asciz "IIR did not say received data available"
s_rtc_bcd:      .asciz "rtc bcd: "
s_rtc_binary:   .asciz "rtc binary: "
s_rtc_reg_b:    .asciz " (register B "
s_close:        .asciz ")"
s_check_rtc_bcd: .asciz "rtc time in bcd"
s_rtc_not_bcd:  .asciz "a digit that is not decimal"
s_rtc_range:    .asciz "a field out of range, or still binary"
s_check_rtc_binary: .asciz "rtc time in binary"
s_rtc_mode_stuck: .asciz "register B's data mode did not change"
s_rtc_binary_differs: .asciz "the binary time differs from the BCD time"
s_rtc_advance:  .asciz "rtc: seconds advanced by "
s_rtc_advance_tail: .asciz " in 1500 ms"
s_check_rtc_advance: .asciz "rtc seconds advance"
s_rtc_not_1_2:  .asciz "not by 1 or 2"
s_rtc_alarm:    .asciz "rtc alarm at "
s_rtc_after:    .asciz ", 2 s ahead: interrupt after "
s_rtc_reg_c:    .asciz " ms, register C "
s_check_rtc_alarm: .asciz "rtc alarm interrupt"
s_rtc_no_af:    .asciz "register C without AF and IRQF"
s_rtc_update:   .asciz "rtc update-ended interrupts: 1 s apart in "
s_check_rtc_update: .asciz "rtc update-ended interrupt"
s_rtc_no_uf:    .asciz "register C without UF and IRQF"
s_rsdp:         .asciz "acpi: rsdp at "
s_revision:     .asciz " revision "
s_oem:          .asciz " oem "
s_rsdt:         .asciz " rsdt "
s_xsdt:         .asciz " xsdt "
s_check_rsdp:   .asciz "acpi rsdp"
s_no_rsdp:      .asciz "no RSDP in 0xe0000-0xfffff"
s_rsdp_extended: .asciz "the extended checksum does not hold"
s_table:        .asciz "acpi: table "
s_at:           .asciz " at "
s_length:       .asciz " length "
s_checksum:     .asciz " checksum "
s_checksum_ok:  .asciz "ok"
s_checksum_bad: .asciz "BAD"
s_check_checksums: .asciz "acpi table checksums"
s_bad_checksum: .asciz "a table's checksum does not hold"
s_madt:         .asciz "madt: local apic address "
s_flags:        .asciz " flags "
s_madt_lapic:   .asciz "madt: local apic: processor "
s_apic_id:      .asciz " apic id "
s_madt_ioapic:  .asciz "madt: ioapic "
s_gsi_base:     .asciz " gsi base "
s_madt_iso:     .asciz "madt: override: isa irq "
s_to_gsi:       .asciz " -> gsi "
s_madt_nmi:     .asciz "madt: local apic nmi: processor "
s_lint:         .asciz " lint"
s_madt_other:   .asciz "madt: entry type "
s_check_madt:   .asciz "acpi madt"
s_no_madt:      .asciz "no MADT"
s_madt_no_cpu:  .asciz "no enabled local APIC"
s_madt_no_ioapic: .asciz "no IOAPIC"
s_pm:           .asciz "pm timer at port "
s_pm_bits:      .asciz ", bits "
s_pm_sci:       .asciz ", sci irq "
s_pm_reads:     .asciz ": "
s_pm_then:      .asciz " then "
s_pm_after:     .asciz " after "
s_pm_ticks:     .asciz " us: "
s_pm_expected:  .asciz " ticks (expected "
s_check_pm:     .asciz "acpi pm timer"
s_no_fadt:      .asciz "no FADT"
s_no_pm_timer:  .asciz "the FADT names no PM timer"
s_pm_stuck:     .asciz "the PM timer did not advance"

        .bss
        .balign 4
rx_count:       .long 0
rx_polled:      .long 0
iir_seen:       .long 0
rtc_c_seen:     .long 0
madt_cpus:      .long 0
madt_ioapics:   .long 0
pm_port:        .long 0
pm_mask:        .long 0
pm_first:       .long 0
pm_second:      .long 0
pm_us:          .long 0
pm_ticks:       .long 0
pm_expected:    .long 0
sci_irq:        .long 0
rtc_now:        .skip 8
rtc_bcd_reading: .skip 8
alarm_time:     .skip 4
rx_buffer:      .skip 32
msr_all:        .byte 0
msr_none:       .byte 0
rtc_b_initial:  .byte 0
timed_out:      .byte 0
bad_checksum:   .byte 0
