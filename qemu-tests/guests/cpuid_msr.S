/*
 * cpuid_msr.elf: prints what the CPU says about itself -- CPUID leaves 0, 1,
 * 0x40000000, 0x80000000 and 0x80000001, and the MSRs MTRRcap (0xFE), MTRRdefType
 * (0x2FF) and PAT (0x277) -- then checks the expectations on its command line:
 *
 *   expect-hypervisor=0|1   CPUID 1 ECX bit 31
 *   expect-svm=0|1          CPUID 0x80000001 ECX bit 2
 *   expect-gp-msr=ADDR      RDMSR ADDR raises #GP (repeatable)
 *   expect-ok-msr=ADDR      RDMSR ADDR does not fault (repeatable)
 *
 * ADDR is 0x-prefixed hex or decimal. A #GP prints "#GP at <eip>" and resumes after
 * the 2-byte RDMSR. Passes if every expectation holds; otherwise each mismatch has its
 * own line and the guest fails with "expectations not met".
 */

        .code32

        .set CPUID_1_ECX_HYPERVISOR, 1 << 31
        .set CPUID_80000001_ECX_SVM, 1 << 2

        .text
        .globl main
main:
        movb $1, exception_verbose
        call show_cpuid
        call show_msrs
        call check_expectations
        cmpl $0, mismatches
        jne 1f
        jmp pass
1:      mov $s_unmet, %esi
        jmp fail

show_cpuid:
        pusha
        xor %eax, %eax
        cpuid
        mov %ebx, signature
        mov %edx, signature + 4
        mov %ecx, signature + 8
        mov $s_leaf0, %esi
        call say
        call put_hex32
        mov $s_vendor, %esi
        call puts
        call put_signature
        call newline

        mov $1, %eax
        cpuid
        mov $s_leaf1, %esi
        call say
        call put_hex32
        mov $s_ecx, %esi
        call puts
        mov %ecx, %eax
        call put_hex32
        mov $s_edx, %esi
        call puts
        mov %edx, %eax
        call put_hex32
        mov $s_hypervisor, %esi
        call puts
        xor %eax, %eax
        test $CPUID_1_ECX_HYPERVISOR, %ecx
        setnz %al
        mov %eax, hypervisor_bit
        call put_dec
        call newline

        mov $0x40000000, %eax
        xor %ebx, %ebx
        xor %ecx, %ecx
        xor %edx, %edx
        cpuid
        mov %ebx, signature
        mov %ecx, signature + 4
        mov %edx, signature + 8
        mov $s_leaf40, %esi
        call say
        call put_hex32
        mov $s_signature, %esi
        call puts
        call put_signature
        call newline

        mov $0x80000000, %eax
        cpuid
        mov %eax, %ebp
        mov $s_leaf80, %esi
        call say
        call put_hex32
        call newline
        cmp $0x80000001, %ebp
        jb 1f
        mov $0x80000001, %eax
        cpuid
        mov $s_leaf81, %esi
        call say
        mov %ecx, %eax
        call put_hex32
        mov $s_edx, %esi
        call puts
        mov %edx, %eax
        call put_hex32
        mov $s_svm, %esi
        call puts
        xor %eax, %eax
        test $CPUID_80000001_ECX_SVM, %ecx
        setnz %al
        mov %eax, svm_bit
        call put_dec
        call newline
1:      popa
        ret

/* Writes the 12 bytes at `signature`, a dot for each byte that is not printable. */
put_signature:
        pusha
        mov $signature, %esi
        mov $12, %ecx
1:      lodsb
        cmp $' ', %al
        jb 2f
        cmp $'~', %al
        jbe 3f
2:      mov $'.', %al
3:      call putc
        loop 1b
        popa
        ret

/* RDMSR first, then the line: a #GP prints its own line from the handler. */
show_msrs:
        pusha
        mov $msr_table, %ebx
1:      mov (%ebx), %ecx
        test %ecx, %ecx
        jz 3f
        call safe_rdmsr
        setc %ch
        push %eax
        mov $s_msr, %esi
        call say
        mov (%ebx), %eax
        call put_hex32
        mov $' ', %al
        call putc
        mov 4(%ebx), %esi
        call puts
        mov $s_colon, %esi
        call puts
        pop %eax
        test %ch, %ch
        jnz 2f
        call put_hex64
        call newline
        add $8, %ebx
        jmp 1b
2:      mov $s_gp, %esi
        call puts
        call newline
        add $8, %ebx
        jmp 1b
3:      popa
        ret

check_expectations:
        pusha
        call multiboot_cmdline
        mov %esi, %ebp                     /* the command line, or 0 */

        mov %ebp, %esi
        mov $k_hypervisor, %edi
        call cmdline_find
        jc 1f
        call parse_number
        mov %eax, %ebx
        mov $s_expect_hypervisor, %esi
        call say
        call put_dec
        mov $s_colon, %esi
        call puts
        cmp hypervisor_bit, %ebx
        call verdict

1:      mov %ebp, %esi
        mov $k_svm, %edi
        call cmdline_find
        jc 2f
        call parse_number
        mov %eax, %ebx
        mov $s_expect_svm, %esi
        call say
        call put_dec
        mov $s_colon, %esi
        call puts
        cmp svm_bit, %ebx
        call verdict

2:      mov %ebp, %esi
3:      mov $k_gp_msr, %edi
        call cmdline_find
        jc 4f
        call parse_number
        push %esi
        call msr_expectation_line
        mov $s_expect_gp, %esi
        call expectation_line
        test %bl, %bl                      /* faulted: ZF clear */
        jz 31f
        xor %eax, %eax                     /* ZF set: ok */
        call verdict
        pop %esi
        jmp 3b
31:     or $1, %eax                        /* ZF clear: mismatch */
        call verdict
        pop %esi
        jmp 3b

4:      mov %ebp, %esi
5:      mov $k_ok_msr, %edi
        call cmdline_find
        jc 6f
        call parse_number
        push %esi
        call msr_expectation_line
        mov $s_expect_ok, %esi
        call expectation_line
        test %bl, %bl
        call verdict                       /* no fault: ZF set: ok */
        pop %esi
        jmp 5b
6:      popa
        ret

/*
 * RDMSR of MSR EAX, keeping the address in ECX; BL = 1 if it faulted. Reads before
 * anything is printed, so the handler's "#GP at" line stands on its own.
 */
msr_expectation_line:
        mov %eax, %ecx
        call safe_rdmsr
        setc %bl
        ret

/*
 * Writes "<ESI><ECX>: " then "read <EDX:EAX> " or "#GP " as BL says. Clobbers ESI.
 */
expectation_line:
        call say
        push %eax
        mov %ecx, %eax
        call put_hex32
        mov $s_colon, %esi
        call puts
        pop %eax
        mov $s_faulted, %esi
        test %bl, %bl
        jnz 1f
        mov $s_read, %esi
        call puts
        call put_hex64
        mov $' ', %al
        call putc
        ret
1:      call puts
        ret

/* Ends an expectation's line: "ok" if ZF is set, otherwise "MISMATCH" (counted). */
verdict:
        push %esi
        mov $s_ok, %esi
        je 1f
        incl mismatches
        mov $s_mismatch, %esi
1:      call puts
        call newline
        pop %esi
        ret

        .section .rodata
        .globl guest_name
guest_name:     .asciz "cpuid_msr"
s_leaf0:        .asciz "cpuid 0x00000000: max "
s_vendor:       .asciz " vendor "
s_leaf1:        .asciz "cpuid 0x00000001: eax "
s_ecx:          .asciz " ecx "
s_edx:          .asciz " edx "
s_hypervisor:   .asciz " hypervisor "
s_leaf40:       .asciz "cpuid 0x40000000: eax "
s_signature:    .asciz " signature "
s_leaf80:       .asciz "cpuid 0x80000000: max "
s_leaf81:       .asciz "cpuid 0x80000001: ecx "
s_svm:          .asciz " svm "
s_msr:          .asciz "msr "
s_colon:        .asciz ": "
s_gp:           .asciz "#GP"
s_expect_hypervisor: .asciz "expect hypervisor "
s_expect_svm:   .asciz "expect svm "
s_expect_gp:    .asciz "expect #GP from rdmsr "
s_expect_ok:    .asciz "expect no fault from rdmsr "
s_read:         .asciz "read "
s_faulted:      .asciz "#GP "
s_ok:           .asciz "ok"
s_mismatch:     .asciz "MISMATCH"
s_unmet:        .asciz "expectations not met"
k_hypervisor:   .asciz "expect-hypervisor="
k_svm:          .asciz "expect-svm="
k_gp_msr:       .asciz "expect-gp-msr="
k_ok_msr:       .asciz "expect-ok-msr="
n_mtrrcap:      .asciz "MTRRcap"
n_mtrr_def:     .asciz "MTRRdefType"
n_pat:          .asciz "PAT"
        .balign 4
msr_table:
        .long 0xfe, n_mtrrcap
        .long 0x2ff, n_mtrr_def
        .long 0x277, n_pat
        .long 0, 0

        .bss
        .balign 4
signature:      .skip 12
hypervisor_bit: .long 0
svm_bit:        .long 0
mismatches:     .long 0
