/*
 * irq_pic.elf: the 8259 pair, driven the way an operating system drives it, with the
 * PIT, the RTC and COM1 as interrupt sources. See README.md for what each check does.
 *
 * Every check prints "<check>: ok" or "<check>: FAIL <why>" and the guest carries on;
 * the verdict is PASS only if every check passed.
 */

        .code32

        .set PIC1_CMD, 0x20
        .set PIC1_DATA, 0x21
        .set PIC2_CMD, 0xa0
        .set PIC2_DATA, 0xa1
        .set ELCR1, 0x4d0
        .set ELCR2, 0x4d1
        .set COM1, 0x3f8
        .set RTC_A, 0x0a
        .set RTC_B, 0x0b
        .set RTC_C, 0x0c
        .set RTC_B_PIE, 0x40
        .set RTC_A_64HZ, 0x2a           /* 32.768 kHz time base, rate 10: 64 Hz */
        .set PIT_100HZ, 11932           /* 1193182 / 11932 = 99.998 Hz */
        .set ICW4_8086, 0x01
        .set ICW4_AEOI, 0x03

        .text
        .globl main
main:
        call irq_setup
        call tsc_calibrate
        mov $s_tsc, %esi
        call say
        call put_dec
        mov $s_tsc_tail, %esi
        call puts
        call newline
        test %eax, %eax
        jnz 1f
        mov $s_no_tsc, %esi
        jmp fail

        /* The sources: PIT channel 0 at 100 Hz and the RTC's periodic interrupt at
           64 Hz, both running from here to the end. */
1:      mov $PIT_100HZ, %ecx
        call pit_ch0_rate
        mov $RTC_A, %al
        mov $RTC_A_64HZ, %ah
        call cmos_write
        mov $RTC_B, %al
        call cmos_read
        and $0x0f, %al                  /* no SET, AIE, UIE; keep DM, 24h, DSE, SQWE */
        or $RTC_B_PIE, %al
        mov %al, %ah
        mov $RTC_B, %al
        call cmos_write
        mov $RTC_C, %al
        call cmos_read

        call check_vector_bases
        call check_irq0_rate
        call check_isr_in_handler
        call check_mask
        call check_poll
        call check_aeoi
        call check_special_mask
        call check_rtc_edge
        call check_elcr_irq8
        call check_level_irq4
        call check_spin_pause
        call check_spin_without_exits

        cli
        call pit_ch0_stop
        mov $RTC_B, %al
        call cmos_read
        and $~RTC_B_PIE & 0xff, %al
        mov %al, %ah
        mov $RTC_B, %al
        call cmos_write
        mov $RTC_C, %al
        call cmos_read
        mov $0xffff, %ax
        call pic_set_masks
        jmp verdict

/* ---------------------------------------------------------------------------------- */
/* Vector bases                                                                       */

/*
 * Reprograms the pair (ICW1-4) with four different pairs of vector bases while the PIT
 * and the RTC keep running; after each, IRQ0 and IRQ8 (through the cascade) must arrive
 * at the new bases and nothing at the old ones. Leaves the pair at 0x30/0x38.
 */
check_vector_bases:
        mov $bases, %ebx
1:      movzbl (%ebx), %eax
        test %eax, %eax
        jz 9f
        cli
        mov (%ebx), %ax
        mov $ICW4_8086, %dl
        call pic_init
        /* Unhook the old vectors (their counts restart at 0) and hook the new ones. */
        mov master_base, %eax
        xor %ecx, %ecx
        call irq_hook
        mov slave_base, %eax
        call irq_hook
        mov master_base, %eax
        mov %eax, old_master
        mov slave_base, %eax
        mov %eax, old_slave
        movzbl (%ebx), %eax
        mov %eax, master_base
        mov $h_irq0_eoi, %ecx
        call irq_hook
        movzbl 1(%ebx), %eax
        mov %eax, slave_base
        mov $h_rtc, %ecx
        call irq_hook
        mov $RTC_C, %al                 /* the RTC's line low, so the next period is an edge */
        call cmos_read
        mov $0xfefa, %ax                /* IRQ0, IRQ2 (cascade), IRQ8 */
        call pic_set_masks
        sti
        mov master_base, %eax
        mov $10, %edx
        mov $2000, %ecx
        call wait_irqs
        setc timed_out
        mov slave_base, %eax
        mov $3, %edx
        mov $2000, %ecx
        call wait_irqs
        adcb $0, timed_out
        cli

        mov $s_bases, %esi
        call say
        movzbl (%ebx), %eax
        call put_hex8
        mov $'/', %al
        call putc
        movzbl 1(%ebx), %eax
        call put_hex8
        mov $s_irq0, %esi
        call puts
        mov master_base, %eax
        mov irq_counts(,%eax,4), %eax
        call put_dec
        mov $s_irq8, %esi
        call puts
        mov slave_base, %eax
        mov irq_counts(,%eax,4), %eax
        call put_dec
        mov $s_old, %esi
        call puts
        mov old_master, %eax
        mov irq_counts(,%eax,4), %esi
        mov old_slave, %eax
        add irq_counts(,%eax,4), %esi
        mov %esi, %eax
        call put_dec
        call newline

        mov $s_check_bases, %esi
        mov $s_timeout, %edi
        cmpb $0, timed_out
        jne 2f
        mov $s_old_vectors, %edi
        cmpl $0, old_master
        je 3f                           /* the first round has no old vectors */
        mov old_master, %eax
        cmpl $0, irq_counts(,%eax,4)
        jne 2f
        mov old_slave, %eax
        cmpl $0, irq_counts(,%eax,4)
        jne 2f
3:      add $2, %ebx
        jmp 1b
2:      call check_fail
        movb $1, bases_failed
        add $2, %ebx
        jmp 1b
9:      mov $s_check_bases, %esi
        cmpb $0, bases_failed
        jne 8f
        call check_ok
8:      ret

/* ---------------------------------------------------------------------------------- */
/* IRQ0 rate                                                                          */

/*
 * 20 IRQ0 from the PIT at 100 Hz take 200 ms of TSC time, within 20 % (best of three
 * tries, see measure_in_range).
 */
check_irq0_rate:
        mov $measure_irq0_rate, %ebx
        mov $160, %ecx
        mov $240, %edx
        call measure_in_range
        mov $s_check_rate, %esi
        mov $s_out_of_range, %edi
        jc 9f
        jmp check_ok
9:      jmp check_fail

/* EAX = milliseconds for 20 IRQ0 after a first one, printed; CF set on a timeout. */
measure_irq0_rate:
        mov $0xfffe, %ax
        call pic_set_masks
        sti
        mov master_base, %eax
        mov irq_counts(,%eax,4), %edx
        inc %edx
        mov $1000, %ecx
        call wait_irqs                  /* start on an interrupt */
        jc 8f
        push %eax
        rdtsc
        mov %eax, %esi
        mov %edx, %edi
        pop %eax
        mov irq_counts(,%eax,4), %edx
        add $20, %edx
        mov $3000, %ecx
        call wait_irqs
        jc 8f
        mov %esi, %eax
        mov %edi, %edx
        call ms_since
        cli
        mov $s_rate, %esi
        call say
        call put_dec
        mov $s_rate_tail, %esi
        call puts
        call newline
        clc
        ret
8:      cli
        mov $s_rate_timeout, %esi
        call say
        call newline
        stc
        ret

/* ---------------------------------------------------------------------------------- */
/* ISR inside the handler                                                             */

/* In normal EOI mode the handler sees IRQ0's ISR bit set; after its EOI it is clear. */
check_isr_in_handler:
        movl $0xff, isr_seen
        mov master_base, %eax
        mov $h_irq0_isr_eoi, %ecx
        call irq_hook
        sti
        mov $3, %edx
        mov $1000, %ecx
        call wait_irqs
        cli
        mov master_base, %eax
        mov $h_irq0_eoi, %ecx
        call irq_hook
        call pic_read_isr
        mov %eax, %ebx
        mov $s_isr_handler, %esi
        call say
        mov isr_seen, %eax
        call put_hex8
        mov $s_after_eoi, %esi
        call puts
        mov %ebx, %eax
        call put_hex8
        call newline
        mov $s_check_isr, %esi
        mov $s_isr_bit_clear, %edi
        cmpl $0x01, isr_seen
        jne 9f
        mov $s_isr_left_set, %edi
        test $0x01, %bl
        jnz 9f
        jmp check_ok
9:      jmp check_fail

/* ---------------------------------------------------------------------------------- */
/* Masking                                                                            */

/*
 * IRQ0 masked in the IMR for 100 ms: no interrupt, but the request is latched in IRR;
 * unmasked again: interrupts resume.
 */
check_mask:
        mov $0xffff, %ax
        call pic_set_masks
        sti
        mov master_base, %eax
        mov irq_counts(,%eax,4), %ebx
        mov $100, %eax
        call delay_ms
        mov master_base, %eax
        mov irq_counts(,%eax,4), %ecx
        sub %ebx, %ecx                  /* interrupts while masked */
        call pic_read_irr
        mov %eax, %edi
        mov $s_masked, %esi
        call say
        mov %ecx, %eax
        call put_dec
        mov $s_irr, %esi
        call puts
        mov %edi, %eax
        call put_hex8
        call newline
        mov %ecx, %ebx
        mov $0xfffe, %ax
        call pic_set_masks
        mov master_base, %eax
        mov irq_counts(,%eax,4), %edx
        add $5, %edx
        mov $1000, %ecx
        call wait_irqs
        setc %cl
        cli
        mov $s_check_mask, %esi
        push %edi
        mov $s_irq_while_masked, %edi
        test %ebx, %ebx
        pop %eax
        jnz 9f
        mov $s_irr_not_latched, %edi
        test $0x01, %al
        jz 9f
        mov $s_no_resume, %edi
        test %cl, %cl
        jnz 9f
        mov $s_unmasked, %esi
        call say
        call newline
        mov $s_check_mask, %esi
        jmp check_ok
9:      jmp check_fail

/* ---------------------------------------------------------------------------------- */
/* Poll                                                                               */

/*
 * With interrupts off, IRQ0 pending: OCW3 poll, then a read of the command port gives
 * 0x80 | level 0 and acknowledges (ISR bit 0 set); a specific EOI clears it.
 */
check_poll:
        cli
        mov $0xfffe, %ax
        call pic_set_masks
        mov $30, %eax                   /* three PIT periods: IRQ0 is pending by now */
        call delay_ms
        call pic_read_irr
        mov %eax, %ecx
        mov $0x0c, %al                  /* OCW3: poll */
        out %al, $PIC1_CMD
        in $PIC1_CMD, %al
        movzbl %al, %ebx
        call pic_read_isr
        mov %eax, %edx
        mov $0x60, %al                  /* specific EOI, level 0 */
        out %al, $PIC1_CMD
        call pic_read_isr
        mov %eax, %edi
        mov $s_poll_irr, %esi
        call say
        mov %ecx, %eax
        call put_hex8
        mov $s_poll_read, %esi
        call puts
        mov %ebx, %eax
        call put_hex8
        mov $s_poll_isr, %esi
        call puts
        mov %edx, %eax
        call put_hex8
        mov $s_after_eoi, %esi
        call puts
        mov %edi, %eax
        call put_hex8
        call newline
        mov $s_check_poll, %esi
        mov $s_poll_wrong, %edi
        cmp $0x80, %ebx
        jne 9f
        mov $s_poll_no_isr, %edi
        test $0x01, %dl
        jz 9f
        mov $s_isr_left_set, %edi
        test $0x01, %al
        jnz 9f
        jmp check_ok
9:      jmp check_fail

/* ---------------------------------------------------------------------------------- */
/* Automatic EOI                                                                      */

/*
 * ICW4 with AEOI: the handler never sends an EOI, sees ISR clear, and interrupts keep
 * coming (without AEOI the first one would block every later one).
 */
check_aeoi:
        cli
        mov $0x3830, %ax
        mov $ICW4_AEOI, %dl
        call pic_init
        movl $0xff, isr_seen
        mov master_base, %eax
        mov $h_irq0_isr_noeoi, %ecx
        call irq_hook
        mov $0xfffe, %ax
        call pic_set_masks
        sti
        mov master_base, %eax
        mov $10, %edx
        mov $2000, %ecx
        call wait_irqs
        setc %bl
        cli
        mov master_base, %eax
        mov irq_counts(,%eax,4), %ecx
        mov $s_aeoi, %esi
        call say
        mov %ecx, %eax
        call put_dec
        mov $s_aeoi_isr, %esi
        call puts
        mov isr_seen, %eax
        call put_hex8
        call newline
        mov $0x3830, %ax                /* back to normal EOI */
        mov $ICW4_8086, %dl
        call pic_init
        mov master_base, %eax
        mov $h_irq0_eoi, %ecx
        call irq_hook
        mov $s_check_aeoi, %esi
        mov $s_timeout, %edi
        test %bl, %bl
        jnz 9f
        mov $s_isr_set_aeoi, %edi
        cmpl $0, isr_seen
        jne 9f
        jmp check_ok
9:      jmp check_fail

/* ---------------------------------------------------------------------------------- */
/* Special mask mode                                                                  */

/*
 * IRQ0 taken and left in service (no EOI): IRQ8, through IR2 of lower priority, is held
 * back (master IRR bit 2 set). Special mask mode on and IRQ0 masked: IRQ8 gets through
 * although IRQ0 is still in service. Then special mask mode off and IRQ0's EOI.
 */
check_special_mask:
        cli
        mov $RTC_C, %al
        call cmos_read
        mov master_base, %eax
        mov $h_irq0_noeoi, %ecx
        call irq_hook
        mov slave_base, %eax
        mov $h_rtc, %ecx
        call irq_hook
        mov $0xfefa, %ax
        call pic_set_masks
        sti
        mov master_base, %eax
        mov $1, %edx
        mov $1000, %ecx
        call wait_irqs
        jc 7f
        mov slave_base, %eax
        mov irq_counts(,%eax,4), %ebx
        mov $100, %eax
        call delay_ms
        mov slave_base, %eax
        mov irq_counts(,%eax,4), %ecx
        sub %ebx, %ecx                  /* IRQ8 while IRQ0 was in service */
        call pic_read_irr
        mov %eax, %ebx
        call pic_read_isr
        mov %eax, %edx
        mov $s_smm_blocked, %esi
        call say
        mov %ecx, %eax
        call put_dec
        mov $s_irr, %esi
        call puts
        mov %ebx, %eax
        call put_hex8
        mov $s_isr, %esi
        call puts
        mov %edx, %eax
        call put_hex8
        call newline
        mov %ecx, blocked_count
        mov %ebx, blocked_irr
        mov %edx, blocked_isr

        mov $0x68, %al                  /* OCW3: set special mask mode */
        out %al, $PIC1_CMD
        mov $0xfefb, %ax                /* mask IRQ0 (in service), IR2 open */
        call pic_set_masks
        mov slave_base, %eax
        mov irq_counts(,%eax,4), %edx
        add $3, %edx
        mov $1000, %ecx
        call wait_irqs
        setc %bl
        cli
        mov slave_base, %eax
        mov irq_counts(,%eax,4), %ecx
        call pic_read_isr
        mov %eax, %edx
        mov $0x48, %al                  /* OCW3: reset special mask mode */
        out %al, $PIC1_CMD
        mov $0x60, %al                  /* specific EOI, level 0 */
        out %al, $PIC1_CMD
        mov master_base, %eax
        mov $h_irq0_eoi, %ecx
        call irq_hook
        mov $s_smm_open, %esi
        call say
        mov slave_base, %eax
        mov irq_counts(,%eax,4), %eax
        call put_dec
        mov $s_isr, %esi
        call puts
        mov %edx, %eax
        call put_hex8
        call newline

        mov $s_check_smm, %esi
        mov $s_smm_not_blocked, %edi
        cmpl $0, blocked_count
        jne 9f
        mov $s_smm_no_irr2, %edi
        testb $0x04, blocked_irr
        jz 9f
        mov $s_smm_no_isr0, %edi
        testb $0x01, blocked_isr
        jz 9f
        mov $s_smm_not_delivered, %edi
        test %bl, %bl
        jnz 9f
        jmp check_ok
7:      cli
        mov $s_check_smm, %esi
        mov $s_timeout, %edi
9:      jmp check_fail

/* ---------------------------------------------------------------------------------- */
/* RTC on an edge-triggered line                                                      */

/*
 * The RTC holds IRQ8 high until register C is read. On the edge-triggered line a
 * handler that does not read it gets one interrupt and then none for 100 ms (six
 * periods); reading register C lowers the line and the next period interrupts again.
 * The first delivery still reads register C, so that the test starts from a low line
 * and no edge latched in IRR before it.
 */
check_rtc_edge:
        cli
        movl $0, rtc_phase
        movl $0, rtc_unread
        mov slave_base, %eax
        mov $h_rtc_edge, %ecx
        call irq_hook
        mov $0xfefb, %ax
        call pic_set_masks
        sti
        mov $rtc_unread, %esi           /* the first delivery that leaves C unread */
        mov $1, %eax
        mov $1000, %ecx
        call wait_at_least
        jc 7f
        mov $100, %eax
        call delay_ms
        mov rtc_unread, %ebx            /* 1 if the line stayed high */
        mov $RTC_C, %al
        call cmos_read
        movzbl %al, %edi
        mov %edi, rtc_c_value
        lea 1(%ebx), %eax               /* one more than now */
        mov $1000, %ecx
        call wait_at_least
        setc %cl
        cli
        mov $RTC_C, %al
        call cmos_read
        mov slave_base, %eax
        push %ecx
        mov $h_rtc, %ecx
        call irq_hook
        pop %ecx
        mov $s_rtc_edge, %esi
        call say
        mov %ebx, %eax
        call put_dec
        mov $s_rtc_edge_c, %esi
        call puts
        mov %edi, %eax
        call put_hex8
        mov $s_rtc_edge_after, %esi
        call puts
        mov $s_yes, %esi
        test %cl, %cl
        jz 1f
        mov $s_no, %esi
1:      call puts
        call newline
        mov $s_check_rtc_edge, %esi
        mov $s_rtc_refired, %edi
        cmp $1, %ebx
        jne 9f
        mov $s_rtc_c_flags, %edi
        mov rtc_c_value, %eax
        and $0xc0, %eax
        cmp $0xc0, %eax                 /* IRQF and PF */
        jne 9f
        mov $s_rtc_no_next, %edi
        test %cl, %cl
        jnz 9f
        jmp check_ok
7:      cli
        mov $s_check_rtc_edge, %esi
        mov $s_timeout, %edi
9:      jmp check_fail

/* ---------------------------------------------------------------------------------- */
/* ELCR                                                                               */

/*
 * The ELCR bits of IRQ 0, 1, 2, 8 and 13 do not exist on a PIIX/ICH: they read 0 and
 * stay 0, so IRQ8 is always edge-triggered. Bit 4 (IRQ4) can be set.
 */
check_elcr_irq8:
        mov $ELCR1, %dx
        in %dx, %al
        mov %al, %bl
        mov $ELCR2, %dx
        in %dx, %al
        mov %al, %bh
        mov $0x01, %al                  /* try IRQ8 level */
        out %al, %dx
        in %dx, %al
        mov %al, %cl
        mov %bh, %al
        out %al, %dx
        mov $ELCR1, %dx
        mov %bl, %al
        or $0x17, %al                   /* try IRQ0, 1, 2 and 4 level */
        out %al, %dx
        in %dx, %al
        mov %al, %ch
        mov %bl, %al
        out %al, %dx
        mov $s_elcr, %esi
        call say
        mov %bl, %al
        call put_hex8
        mov $'/', %al
        call putc
        mov %bh, %al
        call put_hex8
        mov $s_elcr_irq8, %esi
        call puts
        mov %cl, %al
        call put_hex8
        mov $s_elcr_low, %esi
        call puts
        mov %ch, %al
        call put_hex8
        call newline
        mov $s_check_elcr, %esi
        mov $s_elcr_irq8_level, %edi
        test $0x01, %cl
        jnz 9f
        mov $s_elcr_low_level, %edi
        mov %ch, %al
        and $0x17, %al
        cmp $0x10, %al
        jne 9f
        jmp check_ok
9:      jmp check_fail

/* ---------------------------------------------------------------------------------- */
/* A level-triggered line                                                             */

/*
 * IRQ4 level-triggered through ELCR bit 4, with COM1's THR-empty interrupt as the
 * source (MCR.OUT2 on, IER.ETBEI on, THR empty). The handler does not acknowledge at the
 * UART (no IIR read, no THR write), only at the PIC: the line is still high, so the PIC
 * delivers again after every EOI, until the fifth handler turns IER off. Then the same
 * with the line edge-triggered: one delivery in 100 ms. Nothing is printed while COM1's
 * interrupt is on (printing would write THR).
 */
check_level_irq4:
        mov $s_level_start, %esi
        call say
        call newline
        call com1_drain
        cli
        mov $ELCR1, %dx
        in %dx, %al
        mov %al, elcr1_saved
        or $0x10, %al
        out %al, %dx
        mov master_base, %eax
        add $4, %eax
        mov $h_com1_level, %ecx
        call irq_hook
        mov $COM1 + 4, %dx              /* MCR: DTR, RTS, OUT2 */
        mov $0x0b, %al
        out %al, %dx
        mov $0xffef, %ax                /* IRQ4 only */
        call pic_set_masks
        sti
        mov $COM1 + 1, %dx              /* IER: THR empty */
        mov $0x02, %al
        out %al, %dx
        mov master_base, %eax
        add $4, %eax
        mov $5, %edx
        mov $1000, %ecx
        call wait_irqs
        setc %bl
        mov $50, %eax
        call delay_ms
        cli
        mov master_base, %eax
        mov irq_counts+16(,%eax,4), %esi
        mov %esi, level_count

        /* The same, edge-triggered. */
        mov $ELCR1, %dx
        mov elcr1_saved, %al
        and $~0x10 & 0xff, %al
        out %al, %dx
        mov master_base, %eax
        add $4, %eax
        mov $h_com1_edge, %ecx
        call irq_hook
        sti
        mov $COM1 + 1, %dx
        mov $0x02, %al
        out %al, %dx
        mov $100, %eax
        call delay_ms
        cli
        mov $COM1 + 1, %dx              /* IER off */
        xor %al, %al
        out %al, %dx
        mov master_base, %eax
        mov irq_counts+16(,%eax,4), %esi
        mov %esi, edge_count
        mov $COM1 + 2, %dx              /* IIR: clear whatever is left */
        in %dx, %al
        mov $COM1 + 4, %dx              /* MCR as uart_init left it */
        mov $0x03, %al
        out %al, %dx
        mov $ELCR1, %dx
        mov elcr1_saved, %al
        out %al, %dx
        mov $0xffff, %ax
        call pic_set_masks

        mov $s_level_result, %esi
        call say
        mov level_count, %eax
        call put_dec
        mov $s_edge_result, %esi
        call puts
        mov edge_count, %eax
        call put_dec
        call newline
        mov $s_check_level, %esi
        mov $s_timeout, %edi
        test %bl, %bl
        jnz 9f
        mov $s_level_count, %edi
        cmpl $5, level_count
        jne 9f
        mov $s_edge_count, %edi
        cmpl $1, edge_count
        jne 9f
        jmp check_ok
9:      jmp check_fail

/* Waits (bounded) until COM1 has sent everything: LSR THRE and TEMT. */
com1_drain:
        push %eax
        push %ecx
        push %edx
        mov $COM1 + 5, %dx
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
/* Interrupts while the CPU spins                                                     */

/*
 * IRQ0 at 100 Hz while the CPU spins for 300 ms with no I/O and no memory-mapped device
 * access: an interrupt controller must not need the CPU to touch it before it delivers.
 * At least 15 of the 30 interrupts, first in a PAUSE loop (what a kernel's cpu_relax
 * does), then on RDTSC alone.
 */
check_spin_pause:
        mov $1, %ebx
        mov $s_spin_pause, %esi
        mov $s_check_spin_pause, %edi
        jmp spin_check

check_spin_without_exits:
        xor %ebx, %ebx
        mov $s_spin, %esi
        mov $s_check_spin, %edi

/* EBX = 1 to PAUSE in the loop; ESI = what to print before the count; EDI = check. */
spin_check:
        cli
        push %esi
        push %edi
        mov master_base, %eax
        mov $h_irq0_eoi, %ecx
        call irq_hook
        mov $0xfffe, %ax
        call pic_set_masks
        mov $300, %eax
        mull tsc_khz
        mov %eax, %esi
        mov %edx, %edi
        rdtsc
        add %eax, %esi
        adc %edx, %edi                  /* deadline */
        sti
        test %ebx, %ebx
        jz 2f
1:      pause
        rdtsc
        sub %esi, %eax
        sbb %edi, %edx
        js 1b                           /* before the deadline */
        jmp 3f
2:      rdtsc
        sub %esi, %eax
        sbb %edi, %edx
        js 2b
3:      cli
        mov master_base, %eax
        mov irq_counts(,%eax,4), %ebx
        mov $0xffff, %ax
        call pic_set_masks
        pop %edi
        pop %esi
        call say
        mov %ebx, %eax
        call put_dec
        call newline
        mov %edi, %esi
        mov $s_spin_few, %edi
        cmp $15, %ebx
        jb 9f
        jmp check_ok
9:      jmp check_fail

/* ---------------------------------------------------------------------------------- */
/* Handlers (EAX = vector; any general register may change)                           */

h_irq0_eoi:
        jmp pic_eoi_master

h_irq0_isr_eoi:
        call pic_read_isr
        movzbl %al, %eax
        mov %eax, isr_seen
        jmp pic_eoi_master

h_irq0_isr_noeoi:
        call pic_read_isr
        movzbl %al, %eax
        mov %eax, isr_seen
        ret

h_irq0_noeoi:
        ret

h_rtc:
        mov $RTC_C, %al
        call cmos_read
        jmp pic_eoi_slave

/* The first delivery reads register C, every later one leaves it unread (and counts). */
h_rtc_edge:
        cmpl $0, rtc_phase
        jne 1f
        movl $1, rtc_phase
        mov $RTC_C, %al
        call cmos_read
        jmp pic_eoi_slave
1:      incl rtc_unread
        jmp pic_eoi_slave

/* Level test: acknowledge at the PIC only, until the fifth delivery turns IER off. */
h_com1_level:
        cmpl $5, irq_counts(,%eax,4)
        jb 1f
        mov $COM1 + 1, %dx
        xor %al, %al
        out %al, %dx
1:      jmp pic_eoi_master

h_com1_edge:
        jmp pic_eoi_master

/* ---------------------------------------------------------------------------------- */
/* Data                                                                               */

        .section .rodata
        .globl guest_name
guest_name:     .asciz "irq_pic"
/* Pairs of vector bases (master, slave) the pair is programmed with, in order. */
bases:          .byte 0x20, 0x28, 0x40, 0x48, 0xb8, 0x70, 0x30, 0x38, 0, 0
s_tsc:          .asciz "tsc "
s_tsc_tail:     .asciz " kHz, calibrated against PIT channel 2"
s_no_tsc:       .asciz "TSC calibration gave 0"
s_bases:        .asciz "vector bases "
s_irq0:         .asciz ": irq0 "
s_irq8:         .asciz ", irq8 "
s_old:          .asciz ", at the old bases "
s_check_bases:  .asciz "reprogram vector bases"
s_old_vectors:  .asciz "interrupts at the old vector bases"
s_timeout:      .asciz "timed out waiting for interrupts"
s_rate:         .asciz "irq0 at 100 Hz: 20 interrupts in "
s_rate_tail:    .asciz " ms (expected 200)"
s_check_rate:   .asciz "irq0 rate"
s_out_of_range: .asciz "not within 20 % of the expected time (three tries)"
s_rate_timeout: .asciz "irq0 at 100 Hz: timed out waiting for interrupts"
s_isr_handler:  .asciz "isr in the irq0 handler "
s_after_eoi:    .asciz ", after eoi "
s_check_isr:    .asciz "isr in handler"
s_isr_bit_clear: .asciz "ISR bit 0 not set in the handler"
s_isr_left_set: .asciz "ISR bit 0 still set after the EOI"
s_masked:       .asciz "irq0 masked for 100 ms: "
s_irr:          .asciz " interrupts, irr "
s_isr:          .asciz ", isr "
s_unmasked:     .asciz "irq0 unmasked: interrupts resume"
s_check_mask:   .asciz "mask irq0"
s_irq_while_masked: .asciz "interrupts while masked"
s_irr_not_latched: .asciz "IRR bit 0 not set while masked"
s_no_resume:    .asciz "no interrupts after unmasking"
s_poll_irr:     .asciz "poll with interrupts off: irr "
s_poll_read:    .asciz ", poll reads "
s_poll_isr:     .asciz ", then isr "
s_check_poll:   .asciz "poll"
s_poll_wrong:   .asciz "poll did not read 0x80 (irq0 pending)"
s_poll_no_isr:  .asciz "poll did not set ISR bit 0"
s_aeoi:         .asciz "auto-eoi: "
s_aeoi_isr:     .asciz " interrupts without eoi, isr in the handler "
s_check_aeoi:   .asciz "auto-eoi"
s_isr_set_aeoi: .asciz "ISR bit set in the handler in auto-EOI mode"
s_smm_blocked:  .asciz "irq0 in service, no eoi: irq8 for 100 ms: "
s_smm_open:     .asciz "special mask mode, irq0 masked: irq8 count "
s_check_smm:    .asciz "special mask mode"
s_smm_not_blocked: .asciz "irq8 delivered while irq0 was in service"
s_smm_no_irr2:  .asciz "master IRR bit 2 (cascade) not set while blocked"
s_smm_no_isr0:  .asciz "ISR bit 0 not set while irq0 in service"
s_smm_not_delivered: .asciz "irq8 not delivered in special mask mode"
s_rtc_edge:     .asciz "irq8 edge-triggered, register C unread: "
s_rtc_edge_c:   .asciz " interrupt(s) in 100 ms; register C "
s_rtc_edge_after: .asciz "; next interrupt after reading it: "
s_yes:          .asciz "yes"
s_no:           .asciz "no"
s_check_rtc_edge: .asciz "rtc on an edge-triggered line"
s_rtc_refired:  .asciz "more than one interrupt while register C was unread"
s_rtc_c_flags:  .asciz "register C did not show IRQF and PF"
s_rtc_no_next:  .asciz "no interrupt after register C was read"
s_elcr:         .asciz "elcr "
s_elcr_irq8:    .asciz "; irq8 level written: reads "
s_elcr_low:     .asciz " at 0x4d1; irq0-2 and 4 level written: reads "
s_check_elcr:   .asciz "elcr"
s_elcr_irq8_level: .asciz "ELCR bit 8 (IRQ8) can be set"
s_elcr_low_level: .asciz "ELCR bits 0-2 settable or bit 4 not"
s_level_start:  .asciz "level irq4: COM1 THR-empty interrupt, not acknowledged at the UART"
s_level_result: .asciz "level irq4: "
s_edge_result:  .asciz " deliveries until the handler turned IER off; edge irq4: deliveries in 100 ms "
s_check_level:  .asciz "level-triggered irq4 through elcr"
s_level_count:  .asciz "level-triggered: not exactly 5 deliveries"
s_edge_count:   .asciz "edge-triggered: not exactly 1 delivery"
s_spin:         .asciz "irq0 at 100 Hz while spinning on rdtsc for 300 ms: "
s_check_spin:   .asciz "irq0 while spinning without exits"
s_spin_pause:   .asciz "irq0 at 100 Hz while spinning with pause for 300 ms: "
s_check_spin_pause: .asciz "irq0 while spinning with pause"
s_spin_few:     .asciz "fewer than 15 interrupts"

        .bss
        .balign 4
master_base:    .long 0
slave_base:     .long 0
old_master:     .long 0
old_slave:      .long 0
isr_seen:       .long 0
blocked_count:  .long 0
blocked_irr:    .long 0
blocked_isr:    .long 0
level_count:    .long 0
edge_count:     .long 0
rtc_c_value:    .long 0
rtc_phase:      .long 0
rtc_unread:     .long 0
elcr1_saved:    .byte 0
timed_out:      .byte 0
bases_failed:   .byte 0
