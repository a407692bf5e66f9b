/*
 * irq_apic.elf: the local APIC (xAPIC, MMIO at 0xFEE00000) and the IOAPIC, with the
 * 8259s masked so that only APIC delivery happens. The local APIC timer in one-shot,
 * periodic and TSC-deadline modes, timed against the PIT-calibrated TSC; the PIT and
 * the RTC through the IOAPIC, routed as the MADT says, the RTC also level-triggered to
 * watch remote IRR. See README.md.
 *
 * Every check prints "<check>: ok" or "<check>: FAIL <why>" and the guest carries on;
 * the verdict is PASS only if every check passed.
 */

        .code32

        .set LAPIC, 0xfee00000
        .set LAPIC_ID, 0x20
        .set LAPIC_VERSION, 0x30
        .set LAPIC_TPR, 0x80
        .set LAPIC_EOI, 0xb0
        .set LAPIC_SVR, 0xf0
        .set LAPIC_ISR, 0x100
        .set LAPIC_TMR, 0x180
        .set LAPIC_LVT_TIMER, 0x320
        .set LAPIC_TIMER_INITIAL, 0x380
        .set LAPIC_TIMER_CURRENT, 0x390
        .set LAPIC_TIMER_DIVIDE, 0x3e0
        .set LVT_MASKED, 0x10000
        .set LVT_PERIODIC, 0x20000
        .set LVT_TSC_DEADLINE, 0x40000
        .set MSR_APIC_BASE, 0x1b
        .set MSR_TSC_DEADLINE, 0x6e0
        .set IOAPIC_DEFAULT, 0xfec00000
        .set REDIR_LEVEL, 0x8000
        .set REDIR_LOW_ACTIVE, 0x2000
        .set REDIR_REMOTE_IRR, 0x4000
        .set REDIR_MASKED, 0x10000

        .set V_ONE_SHOT, 0x40
        .set V_PERIODIC, 0x41
        .set V_DEADLINE, 0x42
        .set V_PIT, 0x50
        .set V_RTC_EDGE, 0x58
        .set V_RTC_LEVEL, 0x59
        .set V_SPURIOUS, 0xff

        .set RTC_A, 0x0a
        .set RTC_B, 0x0b
        .set RTC_C, 0x0c
        .set RTC_B_PIE, 0x40
        .set RTC_A_64HZ, 0x2a
        .set RTC_A_2HZ, 0x2f
        .set PIT_100HZ, 11932

        .text
        .globl main
main:
        call irq_setup
        cli
        mov $0x2820, %ax                /* 8259s at 0x20/0x28, everything masked */
        mov $0x01, %dl
        call pic_init
        mov $s_pic, %esi
        call say
        call pic_get_masks
        call put_hex16
        call newline

        call check_lapic
        call read_madt
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
1:      call apic_calibrate

        call check_one_shot
        call check_periodic
        call check_tsc_deadline
        call check_ioapic
        call check_pit_ioapic
        call check_rtc_ioapic_edge
        call check_rtc_ioapic_level
        call check_pic_quiet

        cli
        mov $LVT_MASKED, %eax
        mov $LAPIC_LVT_TIMER, %ecx
        call lapic_write
        call pit_ch0_stop
        mov $RTC_B, %al
        call cmos_read
        and $~RTC_B_PIE & 0xff, %al
        mov %al, %ah
        mov $RTC_B, %al
        call cmos_write
        mov $RTC_C, %al
        call cmos_read
        mov $s_spurious, %esi
        call say
        mov irq_counts + 4 * V_SPURIOUS, %eax
        call put_dec
        call newline
        jmp verdict

/* ---------------------------------------------------------------------------------- */
/* Local APIC                                                                         */

/* EAX = local APIC register ECX. */
lapic_read:
        mov LAPIC(%ecx), %eax
        ret

/* Local APIC register ECX = EAX. */
lapic_write:
        mov %eax, LAPIC(%ecx)
        ret

lapic_eoi:
        push %eax
        xor %eax, %eax
        mov %eax, LAPIC + LAPIC_EOI
        pop %eax
        ret

/*
 * CPUID.1:EDX[9] (APIC), IA32_APIC_BASE enabled at 0xFEE00000, the APIC software-enabled
 * through the spurious-interrupt vector register (SVR = 0x1FF), TPR 0.
 */
check_lapic:
        mov $1, %eax
        cpuid
        mov %ecx, cpuid1_ecx
        mov %edx, cpuid1_edx
        mov $s_cpuid, %esi
        call say
        mov %edx, %eax
        shr $9, %eax
        and $1, %eax
        call put_dec
        mov $s_cpuid_deadline, %esi
        call puts
        mov %ecx, %eax
        shr $24, %eax
        and $1, %eax
        call put_dec
        call newline

        mov $MSR_APIC_BASE, %ecx
        call safe_rdmsr
        mov %eax, apic_base_msr
        mov %eax, %ebx
        mov $s_apic_base, %esi
        call say
        call put_hex64
        call newline

        mov $V_SPURIOUS, %eax
        xor %ecx, %ecx
        call irq_hook
        mov $0x100 | V_SPURIOUS, %eax
        mov $LAPIC_SVR, %ecx
        call lapic_write
        xor %eax, %eax
        mov $LAPIC_TPR, %ecx
        call lapic_write
        mov $LAPIC_ID, %ecx
        call lapic_read
        shr $24, %eax
        mov %eax, lapic_id
        mov $s_lapic_id, %esi
        call say
        call put_dec
        mov $s_version, %esi
        call puts
        mov $LAPIC_VERSION, %ecx
        call lapic_read
        call put_hex32
        mov $s_svr, %esi
        call puts
        mov $LAPIC_SVR, %ecx
        call lapic_read
        call put_hex32
        call newline
        mov %eax, %edx

        mov $s_check_lapic, %esi
        mov $s_no_apic_cpuid, %edi
        testl $1 << 9, cpuid1_edx
        jz 9f
        mov $s_apic_disabled, %edi
        test $1 << 11, %ebx
        jz 9f
        mov $s_apic_moved, %edi
        and $0xfffff000, %ebx
        cmp $LAPIC, %ebx
        jne 9f
        mov $s_svr_off, %edi
        test $0x100, %edx
        jz 9f
        jmp check_ok
9:      jmp check_fail

/*
 * The MADT's IOAPIC (address, GSI base) and overrides for ISA IRQ 0 and 8, printed.
 * Without ACPI tables or an IOAPIC entry: 0xFEC00000, identity routing, and a failed
 * check.
 */
read_madt:
        movl $IOAPIC_DEFAULT, ioapic_addr
        movl $0, gsi_base
        movl $0, pit_gsi
        movl $8, rtc_gsi
        call acpi_init
        jc 8f
        call madt_ioapic
        test %eax, %eax
        jz 8f
        mov %eax, ioapic_addr
        mov %edx, gsi_base
        mov $0, %eax
        call madt_iso
        mov %eax, pit_gsi
        mov %edx, pit_flags
        setc pit_identity
        mov $8, %eax
        call madt_iso
        mov %eax, rtc_gsi
        mov %edx, rtc_flags
        setc rtc_identity
        mov $s_madt, %esi
        call say
        mov ioapic_addr, %eax
        call put_hex32
        mov $s_gsi_base, %esi
        call puts
        mov gsi_base, %eax
        call put_dec
        call newline
        mov $0, %eax
        mov pit_gsi, %ebx
        mov pit_flags, %edx
        movzbl pit_identity, %ecx
        call print_route
        mov $8, %eax
        mov rtc_gsi, %ebx
        mov rtc_flags, %edx
        movzbl rtc_identity, %ecx
        call print_route
        mov $s_check_madt, %esi
        jmp check_ok
8:      mov $s_check_madt, %esi
        mov $s_no_madt_ioapic, %edi
        jmp check_fail

/* Prints "isa irq EAX -> gsi EBX (override, flags EDX)" or "(no override)" if ECX. */
print_route:
        mov $s_isa_irq, %esi
        call say
        call put_dec
        mov $s_to_gsi, %esi
        call puts
        mov %ebx, %eax
        call put_dec
        mov $s_no_override, %esi
        test %ecx, %ecx
        jnz 1f
        mov $s_override, %esi
        call puts
        mov %edx, %eax
        call put_hex16
        mov $s_close, %esi
1:      call puts
        jmp newline

/*
 * The local APIC timer's rate at divide-by-16, against 50 ms of PIT channel 2
 * (pit2_measure, with the current count as the counter): apic_khz.
 */
apic_calibrate:
        mov $0x3, %eax                  /* divide by 16 */
        mov $LAPIC_TIMER_DIVIDE, %ecx
        call lapic_write
        mov $LVT_MASKED | V_ONE_SHOT, %eax
        mov $LAPIC_LVT_TIMER, %ecx
        call lapic_write
        mov $0xffffffff, %eax           /* about a minute at 62.5 MHz */
        mov $LAPIC_TIMER_INITIAL, %ecx
        call lapic_write
        mov $apic_sample, %ebx
        call pit2_measure
        mov %eax, %ebx
        xor %eax, %eax
        mov $LAPIC_TIMER_INITIAL, %ecx
        call lapic_write                /* stop */
        mov %ebx, %eax
        xor %edx, %edx
        mov $50, %ecx
        div %ecx
        mov %eax, apic_khz
        mov $s_apic_timer, %esi
        call say
        call put_dec
        mov $s_apic_timer_tail, %esi
        call puts
        call newline
        ret

/* The timer's current count, negated so that it counts up, for pit2_measure. */
apic_sample:
        mov LAPIC + LAPIC_TIMER_CURRENT, %eax
        neg %eax
        ret

/*
 * One-shot, 50 ms: one interrupt after 40-60 ms (best of three tries), then none for
 * 100 ms; the current count reads 0 after it.
 */
check_one_shot:
        mov $measure_one_shot, %ebx
        mov $40, %ecx
        mov $60, %edx
        call measure_in_range
        setc %bl
        mov $s_check_one_shot, %esi
        mov $s_out_of_range, %edi
        test %bl, %bl
        jnz 9f
        mov $s_not_once, %edi
        cmpl $1, one_shot_count
        jne 9f
        mov $s_current_not_0, %edi
        cmpl $0, one_shot_current
        jne 9f
        jmp check_ok
9:      jmp check_fail

/* EAX = ms to the one-shot's interrupt, printed with what followed; CF on a timeout. */
measure_one_shot:
        mov $V_ONE_SHOT, %eax
        mov $h_lapic_eoi, %ecx
        call irq_hook
        mov $V_ONE_SHOT, %eax
        mov $LAPIC_LVT_TIMER, %ecx
        call lapic_write
        mov apic_khz, %eax
        mov $50, %ecx
        mul %ecx
        mov %eax, %ebx
        sti
        rdtsc
        mov %eax, %esi
        mov %edx, %edi
        mov %ebx, %eax
        mov $LAPIC_TIMER_INITIAL, %ecx
        call lapic_write
        mov $V_ONE_SHOT, %eax
        mov $1, %edx
        mov $1000, %ecx
        call wait_irqs
        setc timed_out
        mov %esi, %eax
        mov %edi, %edx
        call ms_since
        mov %eax, %ebx
        mov $100, %eax
        call delay_ms
        cli
        mov $LAPIC_TIMER_CURRENT, %ecx
        call lapic_read
        mov %eax, one_shot_current
        mov irq_counts + 4 * V_ONE_SHOT, %eax
        mov %eax, one_shot_count
        mov $s_one_shot, %esi
        call say
        mov %ebx, %eax
        call put_dec
        mov $s_one_shot_count, %esi
        call puts
        mov one_shot_count, %eax
        call put_dec
        mov $s_current, %esi
        call puts
        mov one_shot_current, %eax
        call put_dec
        call newline
        mov %ebx, %eax
        cmpb $1, timed_out              /* CF set if it timed out */
        cmc
        ret

/* Periodic, 10 ms: 10 interrupts in 80-120 ms (best of three tries). */
check_periodic:
        mov $measure_periodic, %ebx
        mov $80, %ecx
        mov $120, %edx
        call measure_in_range
        mov $s_check_periodic, %esi
        mov $s_out_of_range, %edi
        jc 9f
        jmp check_ok
9:      jmp check_fail

/* EAX = ms for 10 periods after a first one, printed; CF on a timeout. */
measure_periodic:
        mov $V_PERIODIC, %eax
        mov $h_lapic_eoi, %ecx
        call irq_hook
        mov $LVT_PERIODIC | V_PERIODIC, %eax
        mov $LAPIC_LVT_TIMER, %ecx
        call lapic_write
        mov apic_khz, %eax
        mov $10, %ecx
        mul %ecx
        mov $LAPIC_TIMER_INITIAL, %ecx
        call lapic_write
        sti
        mov $V_PERIODIC, %eax
        mov $1, %edx
        mov $1000, %ecx
        call wait_irqs
        jc 8f
        rdtsc
        mov %eax, %esi
        mov %edx, %edi
        mov irq_counts + 4 * V_PERIODIC, %edx
        add $10, %edx
        mov $V_PERIODIC, %eax
        mov $2000, %ecx
        call wait_irqs
        jc 8f
        mov %esi, %eax
        mov %edi, %edx
        call ms_since
        mov %eax, %ebx
        call stop_lapic_timer
        cli
        mov $s_periodic, %esi
        call say
        mov %ebx, %eax
        call put_dec
        mov $s_expected_100, %esi
        call puts
        call newline
        mov %ebx, %eax
        clc
        ret
8:      call stop_lapic_timer
        cli
        mov $s_periodic_timeout, %esi
        call say
        call newline
        stc
        ret

stop_lapic_timer:
        push %eax
        push %ecx
        mov $LVT_MASKED, %eax
        mov $LAPIC_LVT_TIMER, %ecx
        call lapic_write
        xor %eax, %eax
        mov $LAPIC_TIMER_INITIAL, %ecx
        call lapic_write
        pop %ecx
        pop %eax
        ret

/*
 * TSC-deadline mode, when CPUID.1:ECX[24] offers it: a deadline 50 ms ahead fires after
 * 40-60 ms (best of three tries) and the MSR reads 0 afterwards; a deadline in the past
 * fires at once; a deadline disarmed by writing 0 never fires.
 */
check_tsc_deadline:
        testl $1 << 24, cpuid1_ecx
        jnz 1f
        mov $s_no_deadline, %esi
        call say
        jmp newline
1:      movb $0, deadline_gp
        mov $measure_deadline, %ebx
        mov $40, %ecx
        mov $60, %edx
        call measure_in_range
        setc out_of_range
        mov $LVT_TSC_DEADLINE | V_DEADLINE, %eax
        mov $LAPIC_LVT_TIMER, %ecx
        call lapic_write
        sti
        /* in the past */
        rdtsc
        sub $1, %eax
        sbb $0, %edx
        mov $MSR_TSC_DEADLINE, %ecx
        call safe_wrmsr
        adcb $0, deadline_gp
        mov $V_DEADLINE, %eax
        mov $2, %edx
        mov $20, %ecx
        call wait_irqs
        setc past_late
        /* disarmed */
        mov $50, %eax
        mull tsc_khz
        mov %eax, %ebx
        mov %edx, %ebp
        rdtsc
        add %ebx, %eax                  /* 50 ms ahead */
        adc %ebp, %edx
        mov $MSR_TSC_DEADLINE, %ecx
        call safe_wrmsr
        xor %eax, %eax
        xor %edx, %edx
        call safe_wrmsr
        adcb $0, deadline_gp
        mov $100, %eax
        call delay_ms
        call stop_lapic_timer
        cli
        mov irq_counts + 4 * V_DEADLINE, %ebx

        mov $s_deadline_past, %esi
        call say
        mov $s_yes, %esi
        cmpb $0, past_late
        je 2f
        mov $s_no, %esi
2:      call puts
        mov $s_deadline_total, %esi
        call puts
        mov %ebx, %eax
        call put_dec
        call newline
        mov $s_check_deadline, %esi
        mov $s_deadline_gp, %edi
        cmpb $0, deadline_gp
        jne 9f
        mov $s_out_of_range, %edi
        cmpb $0, out_of_range
        jne 9f
        mov $s_deadline_not_0, %edi
        cmpl $0, deadline_after
        jne 9f
        mov $s_past_late, %edi
        cmpb $0, past_late
        jne 9f
        mov $s_disarm_fired, %edi
        cmp $2, %ebx
        jne 9f
        jmp check_ok
9:      jmp check_fail

/*
 * EAX = ms from arming a deadline 50 ms ahead to its interrupt, printed with what the
 * MSR reads then; CF on a timeout. Leaves one interrupt counted at V_DEADLINE.
 */
measure_deadline:
        mov $V_DEADLINE, %eax
        mov $h_lapic_eoi, %ecx
        call irq_hook
        mov $LVT_TSC_DEADLINE | V_DEADLINE, %eax
        mov $LAPIC_LVT_TIMER, %ecx
        call lapic_write
        sti
        mov $50, %eax
        mull tsc_khz
        mov %eax, %ebx
        mov %edx, %ebp
        rdtsc
        mov %eax, %esi
        mov %edx, %edi
        add %ebx, %eax
        adc %ebp, %edx
        mov $MSR_TSC_DEADLINE, %ecx
        call safe_wrmsr
        adcb $0, deadline_gp
        mov $V_DEADLINE, %eax
        mov $1, %edx
        mov $1000, %ecx
        call wait_irqs
        setc timed_out
        mov %esi, %eax
        mov %edi, %edx
        call ms_since
        mov %eax, %ebx
        mov $MSR_TSC_DEADLINE, %ecx
        call safe_rdmsr
        adcb $0, deadline_gp
        or %edx, %eax
        mov %eax, deadline_after
        cli
        mov $s_deadline, %esi
        call say
        mov %ebx, %eax
        call put_dec
        mov $s_deadline_msr, %esi
        call puts
        mov deadline_after, %eax
        call put_hex32
        call newline
        mov %ebx, %eax
        cmpb $1, timed_out
        cmc
        ret

/* ---------------------------------------------------------------------------------- */
/* IOAPIC                                                                             */

/* EAX = IOAPIC register ECX. */
ioapic_read:
        push %edx
        mov ioapic_addr, %edx
        mov %ecx, (%edx)
        mov 0x10(%edx), %eax
        pop %edx
        ret

/* IOAPIC register ECX = EAX. */
ioapic_write:
        push %edx
        mov ioapic_addr, %edx
        mov %ecx, (%edx)
        mov %eax, 0x10(%edx)
        pop %edx
        ret

/* Redirection entry of pin ECX: high dword EDX, then low dword EAX. */
ioapic_route:
        push %ecx
        push %eax
        lea 0x11(%ecx,%ecx), %ecx
        mov %edx, %eax
        call ioapic_write
        dec %ecx
        pop %eax
        call ioapic_write
        pop %ecx
        ret

/* EAX = the low dword of pin ECX's redirection entry. */
ioapic_entry:
        push %ecx
        lea 0x10(%ecx,%ecx), %ecx
        call ioapic_read
        pop %ecx
        ret

/* Masks pin ECX (vector 0). */
ioapic_mask:
        push %eax
        push %edx
        mov $REDIR_MASKED, %eax
        xor %edx, %edx
        call ioapic_route
        pop %edx
        pop %eax
        ret

/*
 * A redirection entry for pin ECX (a GSI already made pin-relative), vector AL, fixed
 * delivery to this CPU's APIC ID (physical), with polarity and trigger from the MPS INTI
 * flags in EBX (0 = ISA's: active high, edge); unmasked.
 */
ioapic_route_isa:
        push %eax
        push %edx
        movzbl %al, %eax
        mov %ebx, %edx
        and $3, %edx
        cmp $3, %edx                    /* polarity 11: active low */
        jne 1f
        or $REDIR_LOW_ACTIVE, %eax
1:      mov %ebx, %edx
        shr $2, %edx
        and $3, %edx
        cmp $3, %edx                    /* trigger 11: level */
        jne 2f
        or $REDIR_LEVEL, %eax
2:      mov lapic_id, %edx
        shl $24, %edx
        call ioapic_route
        pop %edx
        pop %eax
        ret

/* ID, version, number of pins; every pin masked. */
check_ioapic:
        xor %ecx, %ecx
        call ioapic_read
        shr $24, %eax
        and $0xf, %eax
        mov %eax, %ebx
        mov $1, %ecx
        call ioapic_read
        mov %eax, %edx
        shr $16, %eax
        and $0xff, %eax
        inc %eax
        mov %eax, ioapic_pins
        mov $s_ioapic, %esi
        call say
        mov ioapic_addr, %eax
        call put_hex32
        mov $s_ioapic_id, %esi
        call puts
        mov %ebx, %eax
        call put_dec
        mov $s_version, %esi
        call puts
        mov %edx, %eax
        call put_hex32
        mov $s_ioapic_pins, %esi
        call puts
        mov ioapic_pins, %eax
        call put_dec
        call newline
        xor %ecx, %ecx
1:      call ioapic_mask
        inc %ecx
        cmp ioapic_pins, %ecx
        jb 1b
        mov $s_check_ioapic, %esi
        mov $s_few_pins, %edi
        cmpl $24, ioapic_pins
        jb 9f
        mov $s_ioapic_version, %edi
        cmp $0x11, %dl
        jb 9f
        jmp check_ok
9:      jmp check_fail

/*
 * PIT channel 0 at 100 Hz through the IOAPIC pin the MADT names: 20 interrupts in
 * 160-240 ms (best of three tries).
 */
check_pit_ioapic:
        mov $V_PIT, %eax
        mov $h_lapic_eoi, %ecx
        call irq_hook
        mov $PIT_100HZ, %ecx
        call pit_ch0_rate
        mov $measure_pit_ioapic, %ebx
        mov $160, %ecx
        mov $240, %edx
        call measure_in_range
        mov $s_check_pit, %esi
        mov $s_out_of_range, %edi
        jc 9f
        jmp check_ok
9:      jmp check_fail

/* EAX = ms for 20 PIT interrupts through the IOAPIC after a first one; CF on timeout. */
measure_pit_ioapic:
        mov pit_gsi, %ecx
        sub gsi_base, %ecx
        mov pit_flags, %ebx
        mov $V_PIT, %al
        call ioapic_route_isa
        sti
        mov $V_PIT, %eax
        mov irq_counts + 4 * V_PIT, %edx
        inc %edx
        mov $1000, %ecx
        call wait_irqs
        jc 8f
        rdtsc
        mov %eax, %esi
        mov %edx, %edi
        mov irq_counts + 4 * V_PIT, %edx
        add $20, %edx
        mov $V_PIT, %eax
        mov $3000, %ecx
        call wait_irqs
        jc 8f
        mov %esi, %eax
        mov %edi, %edx
        call ms_since
        mov %eax, %ebx
        cli
        mov pit_gsi, %ecx
        sub gsi_base, %ecx
        call ioapic_mask
        mov $s_pit, %esi
        call say
        mov %ecx, %eax
        call put_dec
        mov $s_pit_tail, %esi
        call puts
        mov %ebx, %eax
        call put_dec
        mov $s_expected_200, %esi
        call puts
        call newline
        mov %ebx, %eax
        clc
        ret
8:      cli
        mov pit_gsi, %ecx
        sub gsi_base, %ecx
        call ioapic_mask
        mov $s_pit_timeout, %esi
        call say
        call newline
        stc
        ret

/* The RTC's periodic interrupt (64 Hz) on its IOAPIC pin, edge-triggered: 5 arrive. */
check_rtc_ioapic_edge:
        mov $V_RTC_EDGE, %eax
        mov $h_rtc_edge, %ecx
        call irq_hook
        mov $RTC_A, %al
        mov $RTC_A_64HZ, %ah
        call cmos_write
        mov $RTC_B, %al
        call cmos_read
        and $0x0f, %al
        or $RTC_B_PIE, %al
        mov %al, %ah
        mov $RTC_B, %al
        call cmos_write
        mov $RTC_C, %al
        call cmos_read
        mov rtc_gsi, %ecx
        sub gsi_base, %ecx
        mov rtc_flags, %ebx
        mov $V_RTC_EDGE, %al
        call ioapic_route_isa
        sti
        mov $V_RTC_EDGE, %eax
        mov $5, %edx
        mov $1000, %ecx
        call wait_irqs
        setc timed_out
        cli
        mov rtc_gsi, %ecx
        sub gsi_base, %ecx
        call ioapic_mask
        mov $s_rtc_edge, %esi
        call say
        mov %ecx, %eax
        call put_dec
        mov $s_rtc_edge_tail, %esi
        call puts
        mov irq_counts + 4 * V_RTC_EDGE, %eax
        call put_dec
        call newline
        mov $s_check_rtc_edge, %esi
        mov $s_timeout, %edi
        cmpb $0, timed_out
        jne 9f
        jmp check_ok
9:      jmp check_fail

/*
 * The RTC's pin programmed level-triggered, active high, at 2 Hz. The RTC holds the line
 * high until register C is read. The handler acknowledges the first two deliveries at
 * the local APIC only: the line is still high, so each EOI brings the interrupt back at
 * once (well within the 500 ms period). The third reads register C (the line drops),
 * turns the periodic interrupt off, then sends the EOI. Remote IRR is read in the
 * first handler, in the third after reading register C (still set: no EOI yet) and
 * after its EOI (clear).
 */
check_rtc_ioapic_level:
        cli
        mov $RTC_A, %al
        mov $RTC_A_2HZ, %ah
        call cmos_write
        mov $RTC_B, %al
        call cmos_read
        and $0x0f, %al
        or $RTC_B_PIE, %al
        mov %al, %ah
        mov $RTC_B, %al
        call cmos_write
        mov $RTC_C, %al
        call cmos_read
        mov $V_RTC_LEVEL, %eax
        mov $h_rtc_level, %ecx
        call irq_hook
        mov rtc_gsi, %ecx
        sub gsi_base, %ecx
        mov %ecx, rtc_pin
        mov $V_RTC_LEVEL | REDIR_LEVEL, %eax
        mov lapic_id, %edx
        shl $24, %edx
        call ioapic_route
        sti
        mov $V_RTC_LEVEL, %eax
        mov $3, %edx
        mov $2000, %ecx
        call wait_irqs
        setc timed_out
        mov $100, %eax
        call delay_ms
        cli
        mov rtc_pin, %ecx
        call ioapic_entry
        mov %eax, level_e4
        call ioapic_mask
        mov irq_counts + 4 * V_RTC_LEVEL, %ebx

        mov $s_level, %esi
        call say
        mov %ecx, %eax
        call put_dec
        mov $s_level_count, %esi
        call puts
        mov %ebx, %eax
        call put_dec
        mov $s_level_within, %esi
        call puts
        mov level_us, %eax
        call put_dec
        mov $s_level_us, %esi
        call puts
        call newline
        mov $s_remote_irr, %esi
        call say
        mov level_e1, %eax
        call put_remote_irr
        mov $s_after_c, %esi
        call puts
        mov level_e2, %eax
        call put_remote_irr
        mov $s_after_eoi, %esi
        call puts
        mov level_e3, %eax
        call put_remote_irr
        mov $s_now, %esi
        call puts
        mov level_e4, %eax
        call put_remote_irr
        mov $s_lapic_isr, %esi
        call puts
        mov level_isr, %eax
        call put_dec
        mov $s_tmr, %esi
        call puts
        mov level_tmr, %eax
        call put_dec
        call newline

        mov $s_check_level, %esi
        mov $s_timeout, %edi
        cmpb $0, timed_out
        jne 9f
        mov $s_level_not_3, %edi
        cmp $3, %ebx
        jne 9f
        mov $s_level_slow, %edi
        cmpl $250000, level_us
        jae 9f
        mov $s_irr_not_set, %edi
        testl $REDIR_REMOTE_IRR, level_e1
        jz 9f
        mov $s_irr_cleared_early, %edi
        testl $REDIR_REMOTE_IRR, level_e2
        jz 9f
        mov $s_irr_after_eoi, %edi
        testl $REDIR_REMOTE_IRR, level_e3
        jnz 9f
        mov $s_isr_not_set, %edi
        cmpl $1, level_isr
        jne 9f
        mov $s_tmr_not_set, %edi
        cmpl $1, level_tmr
        jne 9f
        jmp check_ok
9:      jmp check_fail

/* Writes remote IRR (bit 14) of the redirection entry EAX as 0 or 1. */
put_remote_irr:
        push %eax
        shr $14, %eax
        and $1, %eax
        call put_dec
        pop %eax
        ret

/* Nothing came through the 8259s (vectors 0x20-0x2F), which stayed masked. */
check_pic_quiet:
        xor %eax, %eax
        mov $0x20, %ecx
1:      add irq_counts(,%ecx,4), %eax
        inc %ecx
        cmp $0x30, %ecx
        jb 1b
        mov $s_check_pic_quiet, %esi
        mov $s_pic_delivered, %edi
        test %eax, %eax
        jnz 9f
        jmp check_ok
9:      jmp check_fail

/* ---------------------------------------------------------------------------------- */
/* Handlers (EAX = vector; any general register may change)                           */

h_lapic_eoi:
        jmp lapic_eoi

h_rtc_edge:
        mov $RTC_C, %al
        call cmos_read
        jmp lapic_eoi

h_rtc_level:
        mov irq_counts + 4 * V_RTC_LEVEL, %ebx
        mov rtc_pin, %ecx
        cmp $1, %ebx
        jne 1f
        rdtsc
        mov %eax, level_t0
        mov %edx, level_t0 + 4
        call ioapic_entry
        mov %eax, level_e1
        mov LAPIC + LAPIC_ISR + 0x10 * (V_RTC_LEVEL / 32), %eax
        shr $V_RTC_LEVEL % 32, %eax
        and $1, %eax
        mov %eax, level_isr
        mov LAPIC + LAPIC_TMR + 0x10 * (V_RTC_LEVEL / 32), %eax
        shr $V_RTC_LEVEL % 32, %eax
        and $1, %eax
        mov %eax, level_tmr
1:      cmp $3, %ebx
        jae 2f
        jmp lapic_eoi
2:      jne 3f                          /* a fourth: just acknowledge it */
        mov level_t0, %eax
        mov level_t0 + 4, %edx
        call us_since
        mov %eax, level_us
        mov $RTC_C, %al
        call cmos_read
        call ioapic_entry
        mov %eax, level_e2
        mov $RTC_B, %al
        call cmos_read
        and $~RTC_B_PIE & 0xff, %al
        mov %al, %ah
        mov $RTC_B, %al
        call cmos_write
        mov $RTC_C, %al
        call cmos_read
        call lapic_eoi
        call ioapic_entry
        mov %eax, level_e3
        ret
3:      mov $RTC_C, %al
        call cmos_read
        jmp lapic_eoi

/* ---------------------------------------------------------------------------------- */
/* Data                                                                               */

        .section .rodata
        .globl guest_name
guest_name:     .asciz "irq_apic"
s_pic:          .asciz "8259s masked: imr "
s_cpuid:        .asciz "cpuid 1: apic "
s_cpuid_deadline: .asciz ", tsc-deadline "
s_apic_base:    .asciz "apic base msr "
s_lapic_id:     .asciz "local apic id "
s_version:      .asciz ", version "
s_svr:          .asciz ", svr "
s_check_lapic:  .asciz "local apic"
s_no_apic_cpuid: .asciz "CPUID.1:EDX[9] (APIC) clear"
s_apic_disabled: .asciz "IA32_APIC_BASE: global enable (bit 11) clear"
s_apic_moved:   .asciz "IA32_APIC_BASE: not at 0xfee00000"
s_svr_off:      .asciz "SVR: the APIC software enable (bit 8) did not stick"
s_madt:         .asciz "madt: ioapic at "
s_gsi_base:     .asciz ", gsi base "
s_isa_irq:      .asciz "madt: isa irq "
s_to_gsi:       .asciz " -> gsi "
s_override:     .asciz " (override, flags "
s_close:        .asciz ")"
s_no_override:  .asciz " (no override)"
s_check_madt:   .asciz "madt"
s_no_madt_ioapic: .asciz "no ACPI MADT with an IOAPIC"
s_tsc:          .asciz "tsc "
s_khz:          .asciz " kHz, calibrated against PIT channel 2"
s_no_tsc:       .asciz "TSC calibration gave 0"
s_apic_timer:   .asciz "apic timer "
s_apic_timer_tail: .asciz " kHz at divide by 16, calibrated against PIT channel 2"
s_one_shot:     .asciz "timer one-shot, 50 ms: interrupt after "
s_one_shot_count: .asciz " ms; interrupts in 150 ms: "
s_current:      .asciz "; current count then "
s_check_one_shot: .asciz "lapic timer one-shot"
s_not_once:     .asciz "not exactly one interrupt"
s_current_not_0: .asciz "current count not 0 after expiry"
s_periodic:     .asciz "timer periodic, 10 ms: 10 interrupts in "
s_expected_100: .asciz " ms (expected 100)"
s_expected_200: .asciz " ms (expected 200)"
s_check_periodic: .asciz "lapic timer periodic"
s_no_deadline:  .asciz "timer tsc-deadline: not offered (CPUID.1:ECX[24] clear), not tested"
s_deadline:     .asciz "timer tsc-deadline, 50 ms: interrupt after "
s_deadline_msr: .asciz " ms, then msr 0x6e0 reads "
s_deadline_past: .asciz "timer tsc-deadline: a deadline in the past fires at once: "
s_deadline_total: .asciz "; interrupts, after one disarmed by writing 0: "
s_check_deadline: .asciz "lapic timer tsc-deadline"
s_deadline_gp:  .asciz "#GP on the TSC-deadline MSR"
s_deadline_not_0: .asciz "the MSR does not read 0 after the interrupt"
s_past_late:    .asciz "a deadline in the past did not fire within 20 ms"
s_disarm_fired: .asciz "not exactly 2 interrupts (a disarmed deadline fired?)"
s_yes:          .asciz "yes"
s_no:           .asciz "no"
s_ioapic:       .asciz "ioapic at "
s_ioapic_id:    .asciz ": id "
s_ioapic_pins:  .asciz ", pins "
s_check_ioapic: .asciz "ioapic"
s_few_pins:     .asciz "fewer than 24 pins"
s_ioapic_version: .asciz "version below 0x11"
s_pit:          .asciz "pit irq0 -> ioapic pin "
s_pit_tail:     .asciz " -> vector 0x50, edge: 20 interrupts in "
s_check_pit:    .asciz "pit through the ioapic"
s_rtc_edge:     .asciz "rtc irq8 -> ioapic pin "
s_rtc_edge_tail: .asciz " -> vector 0x58, edge, 64 Hz: interrupts "
s_check_rtc_edge: .asciz "rtc through the ioapic, edge"
s_level:        .asciz "rtc irq8 -> ioapic pin "
s_level_count:  .asciz " -> vector 0x59, level, 2 Hz: deliveries "
s_level_within: .asciz ", the third "
s_level_us:     .asciz " us after the first, register C unread until then"
s_remote_irr:   .asciz "remote irr: in the first handler "
s_after_c:      .asciz ", in the third after reading register C "
s_after_eoi:    .asciz ", after its eoi "
s_now:          .asciz ", at the end "
s_lapic_isr:    .asciz "; lapic isr bit in the handler "
s_tmr:          .asciz ", tmr bit "
s_check_level:  .asciz "rtc through the ioapic, level-triggered, remote irr"
s_level_not_3:  .asciz "not exactly 3 deliveries"
s_level_slow:   .asciz "the line did not re-fire at once after the EOI"
s_irr_not_set:  .asciz "remote IRR clear in the handler"
s_irr_cleared_early: .asciz "remote IRR cleared before the EOI"
s_irr_after_eoi: .asciz "remote IRR still set after the EOI"
s_isr_not_set:  .asciz "local APIC ISR bit not set in the handler"
s_tmr_not_set:  .asciz "local APIC TMR bit not set for a level-triggered vector"
s_check_pic_quiet: .asciz "nothing through the 8259s"
s_pic_delivered: .asciz "interrupts at the 8259 vectors"
s_spurious:     .asciz "spurious interrupts (vector 0xff): "
s_timeout:      .asciz "timed out waiting for interrupts"
s_out_of_range: .asciz "not within 20 % of the expected time (three tries)"
s_periodic_timeout: .asciz "timer periodic: timed out waiting for interrupts"
s_pit_timeout:  .asciz "pit through the ioapic: timed out waiting for interrupts"

        .bss
        .balign 8
level_t0:       .quad 0
        .balign 4
cpuid1_ecx:     .long 0
cpuid1_edx:     .long 0
apic_base_msr:  .long 0
lapic_id:       .long 0
apic_khz:       .long 0
ioapic_addr:    .long 0
ioapic_pins:    .long 0
gsi_base:       .long 0
pit_gsi:        .long 0
pit_flags:      .long 0
rtc_gsi:        .long 0
rtc_flags:      .long 0
rtc_pin:        .long 0
deadline_ms:    .long 0
deadline_after: .long 0
level_us:       .long 0
level_e1:       .long 0
level_e2:       .long 0
level_e3:       .long 0
level_e4:       .long 0
level_isr:      .long 0
level_tmr:      .long 0
one_shot_count: .long 0
one_shot_current: .long 0
pit_identity:   .byte 0
rtc_identity:   .byte 0
timed_out:      .byte 0
past_late:      .byte 0
deadline_gp:    .byte 0
out_of_range:   .byte 0
