/*
 * attack.elf: one misbehaviour per run, chosen by `attack=NAME` on the command line.
 * Every attack prints what it is about to do before doing it and, where the guest
 * survives, what it observed, then passes: whether the outcome was contained is for
 * the test that runs it to decide. See README.md for the list.
 *
 * The IDT stays installed with every exception announced ("#UD at <eip>"): an attack
 * that expects faults sets exception_skip to the length of the faulting instruction
 * so the handler resumes after it.
 */

        .code32

        .set MULTIBOOT_INFO_MEMORY, 1 << 0
        .set STORM_COUNT, 10000
        .set COM1_FIRST, 0x3f8
        .set COM1_LAST, 0x3ff
        .set DEBUG_EXIT_FIRST, 0xf4
        .set DEBUG_EXIT_LAST, 0xf7
        .set WRITE_PATTERN, 0x5a5aa5a5
        .set SVM_GARBAGE_RAX, 0xdeadb000
        .set SVM_GARBAGE_ASID, 0x1234
        /* A selector far past the end of the 3-entry GDT: loading it raises #GP. */
        .set BAD_SELECTOR, 0xfff8

        .set MSR_APIC_BASE, 0x1b
        .set MSR_MTRR_PHYSBASE0, 0x200
        .set MSR_MTRR_PHYSMASK0, 0x201
        .set MSR_MTRR_FIX64K_00000, 0x250
        .set MSR_MTRR_DEF_TYPE, 0x2ff
        .set MSR_EFER, 0xc0000080
        .set EFER_SVME, 1 << 12
        .set MSR_SYSCFG, 0xc0010010
        /* SYSCFG bit 19 MtrrFixDramModEn, bit 23 MemEncryptionModEn (SME). */
        .set SYSCFG_ATTACK_BITS, (1 << 19) | (1 << 23)
        .set MSR_VM_HSAVE_PA, 0xc0010117
        .set APIC_BASE_ENABLE, 1 << 11

        .text
        .globl main
main:
        movb $1, exception_verbose
        call multiboot_cmdline
        mov $k_attack, %edi
        call cmdline_find
        jnc 1f
        mov $s_no_attack, %esi
        jmp fail
1:      mov $attack_table, %ebx
2:      mov (%ebx), %edi
        test %edi, %edi
        jz 3f
        call token_equals
        je 4f
        add $8, %ebx
        jmp 2b
3:      mov $s_unknown_attack, %esi
        jmp fail
4:      mov %edi, current_attack
        jmp *4(%ebx)

/* Writes "guest: attack: <attack>: <ESI>" (no newline). */
say_attack:
        push %esi
        call prefix
        mov current_attack, %esi
        call puts
        mov $s_colon, %esi
        call puts
        pop %esi
        jmp puts

/* As say_attack, with a newline. */
tell:
        call say_attack
        jmp newline

/* ---------------------------------------------------------------------------------- */
/* Memory                                                                             */

/*
 * EAX = the address to attack: `addr=` from the command line, else the first byte past
 * the RAM above 1 MiB that the Multiboot information reports.
 */
attack_address:
        push %esi
        push %edi
        call multiboot_cmdline
        mov $k_addr, %edi
        call cmdline_find
        jc 1f
        call parse_number
        jmp 3f
1:      mov multiboot_info, %esi
        testl $MULTIBOOT_INFO_MEMORY, (%esi)
        jnz 2f
        mov $s_no_address, %esi
        jmp fail
2:      mov 8(%esi), %eax                  /* mem_upper, in KiB from 1 MiB */
        add $1024, %eax
        shl $10, %eax
3:      pop %edi
        pop %esi
        ret

attack_read_past_ram:
        call attack_address
        mov %eax, %edi
        mov $s_reading, %esi
        call say_attack
        call put_hex32
        call newline
        mov (%edi), %eax
        mov $s_read, %esi
        call say_attack
        call put_hex32
        call newline
        jmp pass

attack_write_past_ram:
        call attack_address
        mov %eax, %edi
        mov $s_writing, %esi
        call say_attack
        mov $WRITE_PATTERN, %eax
        call put_hex32
        mov $s_to, %esi
        call puts
        mov %edi, %eax
        call put_hex32
        call newline
        movl $WRITE_PATTERN, (%edi)
        mov (%edi), %eax
        mov $s_read_back, %esi
        call say_attack
        call put_hex32
        call newline
        jmp pass

/* ---------------------------------------------------------------------------------- */
/* I/O ports                                                                          */

/*
 * Reads a byte from every port and writes the value read back to it, except COM1 and
 * the debug-exit ports, then lists the ranges of ports that read other than 0xFF
 * ("live") and how many there were.
 */
attack_ports:
        mov $s_ports, %esi
        call tell
        xor %ebx, %ebx                     /* port */
        mov $-1, %edi                      /* first port of the current live run, or -1 */
        xor %ebp, %ebp                     /* live ports */
1:      cmp $0x10000, %ebx
        jae 5f
        cmp $COM1_FIRST, %ebx
        jb 2f
        cmp $COM1_LAST, %ebx
        jbe 4f
2:      cmp $DEBUG_EXIT_FIRST, %ebx
        jb 3f
        cmp $DEBUG_EXIT_LAST, %ebx
        jbe 4f
3:      mov %bx, %dx
        in %dx, %al
        out %al, %dx
        cmp $0xff, %al
        je 4f
        inc %ebp
        cmp $-1, %edi
        jne 6f
        mov %ebx, %edi
        jmp 6f
4:      cmp $-1, %edi                      /* dead or skipped: close the live run */
        je 6f
        lea -1(%ebx), %ecx
        call print_live_range
        mov $-1, %edi
6:      inc %ebx
        jmp 1b
5:      cmp $-1, %edi
        je 7f
        mov $0xffff, %ecx
        call print_live_range
7:      mov $s_live_count, %esi
        call say_attack
        mov %ebp, %eax
        call put_dec
        mov $s_live_count_end, %esi
        call puts
        call newline
        jmp pass

/* Writes "live <EDI>-<ECX>". */
print_live_range:
        push %eax
        mov $s_live, %esi
        call say_attack
        mov %edi, %eax
        call put_hex16
        mov $'-', %al
        call putc
        mov %ecx, %eax
        call put_hex16
        call newline
        pop %eax
        ret

/* ---------------------------------------------------------------------------------- */
/* MSRs                                                                               */

/* Reads MSR ECX and writes "rdmsr <ECX>: <value>" or "rdmsr <ECX>: #GP". EDX:EAX = the
   value (0 if it faulted). */
show_rdmsr:
        push %esi
        push %ebx
        call safe_rdmsr
        setc %bl
        push %eax
        mov $s_rdmsr, %esi
        call say_attack
        mov %ecx, %eax
        call put_hex32
        mov $s_colon, %esi
        call puts
        pop %eax
        test %bl, %bl
        jnz 1f
        call put_hex64
        jmp 2f
1:      mov $s_gp, %esi
        call puts
2:      call newline
        pop %ebx
        pop %esi
        ret

/* Writes "wrmsr <ECX> <EDX:EAX>", does it, writes "wrmsr: no fault" or "wrmsr: #GP",
   then reads the MSR back with show_rdmsr. */
try_wrmsr:
        push %esi
        push %eax
        mov $s_wrmsr, %esi
        call say_attack
        mov %ecx, %eax
        call put_hex32
        mov $' ', %al
        call putc
        pop %eax
        call put_hex64
        call newline
        call safe_wrmsr
        mov $s_wrmsr_no_fault, %esi
        jnc 1f
        mov $s_wrmsr_gp, %esi
1:      call tell
        call show_rdmsr
        pop %esi
        ret

attack_msr_efer_svme:
        mov $MSR_EFER, %ecx
        call show_rdmsr
        or $EFER_SVME, %eax
        call try_wrmsr
        jmp pass

attack_msr_hsave:
        mov $MSR_VM_HSAVE_PA, %ecx
        call show_rdmsr
        mov $0x00200000, %eax              /* a page inside the guest's own RAM */
        xor %edx, %edx
        call try_wrmsr
        jmp pass

attack_msr_apicbase:
        mov $MSR_APIC_BASE, %ecx
        call show_rdmsr
        mov %eax, %ebx
        and $0xfff, %eax                   /* move the APIC to 0xfeb00000 */
        or $0xfeb00000, %eax
        xor %edx, %edx
        call try_wrmsr
        mov %ebx, %eax                     /* original base, globally disabled */
        and $~APIC_BASE_ENABLE, %eax
        xor %edx, %edx
        call try_wrmsr
        jmp pass

attack_msr_syscfg:
        mov $MSR_SYSCFG, %ecx
        call show_rdmsr
        or $SYSCFG_ATTACK_BITS, %eax
        call try_wrmsr
        jmp pass

attack_msr_mtrr:
        mov $MSR_MTRR_DEF_TYPE, %ecx
        call show_rdmsr
        mov $-1, %eax                      /* reserved bits: #GP on hardware */
        mov $-1, %edx
        call try_wrmsr
        xor %eax, %eax                     /* MTRRs off: everything uncacheable */
        xor %edx, %edx
        call try_wrmsr
        mov $MSR_MTRR_PHYSBASE0, %ecx      /* variable range 0: 0.., write-combining */
        mov $0x00000001, %eax
        xor %edx, %edx
        call try_wrmsr
        mov $MSR_MTRR_PHYSMASK0, %ecx      /* 256 MiB, valid */
        mov $0xf0000800, %eax
        mov $0x0000000f, %edx
        call try_wrmsr
        mov $MSR_MTRR_FIX64K_00000, %ecx   /* 0-512 KiB uncacheable */
        xor %eax, %eax
        xor %edx, %edx
        call try_wrmsr
        jmp pass

/* ---------------------------------------------------------------------------------- */
/* SVM instructions                                                                   */

/*
 * Runs each SVM instruction (all 0F 01 D8..DF, 3 bytes) at CPL 0 with garbage in EAX
 * (and an ASID in ECX for INVLPGA) and reports the exception it raised, or that it
 * raised none and what EAX then held.
 */
attack_svm_insns:
        mov $svm_table, %ebx
1:      mov (%ebx), %edi
        test %edi, %edi
        jz 4f
        mov %edi, %esi
        call say_attack
        mov 4(%ebx), %esi
        call puts
        mov $s_eax, %esi
        call puts
        mov $SVM_GARBAGE_RAX, %eax
        call put_hex32
        call newline

        mov exception_count, %ebp
        movl $3, exception_skip
        mov $SVM_GARBAGE_RAX, %eax
        mov $SVM_GARBAGE_ASID, %ecx
        call *8(%ebx)
        movl $0, exception_skip
        mov %eax, %ecx
        mov %edi, %esi
        call say_attack
        mov $s_colon, %esi
        call puts
        cmp exception_count, %ebp
        jne 2f
        mov $s_no_fault_eax, %esi
        call puts
        mov %ecx, %eax
        call put_hex32
        jmp 3f
2:      mov exception_vector, %eax
        call put_vector_name
3:      call newline
        add $12, %ebx
        jmp 1b
4:      jmp pass

        .macro svm_insn third
        .byte 0x0f, 0x01, \third
        ret
        .endm
insn_vmrun:   svm_insn 0xd8
insn_vmmcall: svm_insn 0xd9
insn_vmload:  svm_insn 0xda
insn_vmsave:  svm_insn 0xdb
insn_stgi:    svm_insn 0xdc
insn_clgi:    svm_insn 0xdd
insn_skinit:  svm_insn 0xde
insn_invlpga: svm_insn 0xdf

/* ---------------------------------------------------------------------------------- */
/* Exceptions and the CPU                                                             */

attack_triple_fault:
        mov $s_triple_fault, %esi
        call tell
        lidt empty_idt_descriptor
        int3
        mov $s_survived, %esi
        jmp fail

attack_ud_storm:
        mov $s_ud_storm, %esi
        call tell
        movb $0, exception_verbose
        mov exception_count, %ebx
        movl $2, exception_skip
        mov $STORM_COUNT, %ecx
1:      ud2
        loop 1b
        movl $0, exception_skip
        mov $6, %edx
        jmp storm_result

attack_gp_storm:
        mov $s_gp_storm, %esi
        call tell
        movb $0, exception_verbose
        mov exception_count, %ebx
        movl $2, exception_skip
        mov $STORM_COUNT, %ecx
        mov $BAD_SELECTOR, %eax
1:      mov %eax, %ds                      /* 8E D8: two bytes */
        loop 1b
        movl $0, exception_skip
        mov $13, %edx
        jmp storm_result

/* EBX = exception_count before the storm, EDX = the vector every fault must have had. */
storm_result:
        mov exception_count, %eax
        sub %ebx, %eax
        mov $s_taken, %esi
        call say_attack
        call put_dec
        mov $' ', %al
        call putc
        mov %edx, %eax
        call put_vector_name
        call newline
        mov exception_count, %eax
        sub %ebx, %eax
        cmp $STORM_COUNT, %eax
        jne 1f
        cmp exception_vector, %edx
        jne 1f
        jmp pass
1:      mov $s_storm_short, %esi
        jmp fail

attack_cli_loop:
        mov $s_cli_loop, %esi
        call tell
        cli
1:      jmp 1b

        .section .rodata
        .globl guest_name
guest_name:       .asciz "attack"
k_attack:         .asciz "attack="
k_addr:           .asciz "addr="
s_no_attack:      .asciz "no attack= on the command line"
s_unknown_attack: .asciz "unknown attack"
s_no_address:     .asciz "no addr= and no mem_upper"
s_colon:          .asciz ": "
s_reading:        .asciz "reading "
s_read:           .asciz "read "
s_writing:        .asciz "writing "
s_to:             .asciz " to "
s_read_back:      .asciz "read back "
s_ports:          .asciz "in, then out of the value read, on every port but 0x3f8-0x3ff and 0xf4-0xf7"
s_live:           .asciz "live "
s_live_count:     .asciz ""
s_live_count_end: .asciz " ports read other than 0xff"
s_rdmsr:          .asciz "rdmsr "
s_wrmsr:          .asciz "wrmsr "
s_wrmsr_no_fault: .asciz "wrmsr: no fault"
s_wrmsr_gp:       .asciz "wrmsr: #GP"
s_gp:             .asciz "#GP"
s_eax:            .asciz " eax "
s_no_fault_eax:   .asciz "no fault, eax "
s_triple_fault:   .asciz "lidt with limit 0, then int3"
s_survived:       .asciz "survived a triple fault"
s_ud_storm:       .asciz "10000 x ud2, each skipped by the #UD handler"
s_gp_storm:       .asciz "10000 x mov ds with selector 0xfff8, each skipped by the #GP handler"
s_taken:          .asciz ""
s_storm_short:    .asciz "not every instruction raised the expected exception"
s_cli_loop:       .asciz "cli; jmp ."

n_read_past_ram:  .asciz "read-past-ram"
n_write_past_ram: .asciz "write-past-ram"
n_ports:          .asciz "ports"
n_msr_efer_svme:  .asciz "msr-efer-svme"
n_msr_hsave:      .asciz "msr-hsave"
n_msr_apicbase:   .asciz "msr-apicbase"
n_msr_syscfg:     .asciz "msr-syscfg"
n_msr_mtrr:       .asciz "msr-mtrr"
n_svm_insns:      .asciz "svm-insns"
n_triple_fault:   .asciz "triple-fault"
n_ud_storm:       .asciz "ud-storm"
n_gp_storm:       .asciz "gp-storm"
n_cli_loop:       .asciz "cli-loop"
o_vmrun:           .asciz " 0f 01 d8"
o_vmmcall:         .asciz " 0f 01 d9"
o_vmload:          .asciz " 0f 01 da"
o_vmsave:          .asciz " 0f 01 db"
o_stgi:            .asciz " 0f 01 dc"
o_clgi:            .asciz " 0f 01 dd"
o_skinit:          .asciz " 0f 01 de"
o_invlpga:         .asciz " 0f 01 df"
n_vmrun:          .asciz "vmrun"
n_vmmcall:        .asciz "vmmcall"
n_vmload:         .asciz "vmload"
n_vmsave:         .asciz "vmsave"
n_stgi:           .asciz "stgi"
n_clgi:           .asciz "clgi"
n_skinit:         .asciz "skinit"
n_invlpga:        .asciz "invlpga"

        .balign 4
attack_table:
        .long n_read_past_ram, attack_read_past_ram
        .long n_write_past_ram, attack_write_past_ram
        .long n_ports, attack_ports
        .long n_msr_efer_svme, attack_msr_efer_svme
        .long n_msr_hsave, attack_msr_hsave
        .long n_msr_apicbase, attack_msr_apicbase
        .long n_msr_syscfg, attack_msr_syscfg
        .long n_msr_mtrr, attack_msr_mtrr
        .long n_svm_insns, attack_svm_insns
        .long n_triple_fault, attack_triple_fault
        .long n_ud_storm, attack_ud_storm
        .long n_gp_storm, attack_gp_storm
        .long n_cli_loop, attack_cli_loop
        .long 0, 0

/* { name, opcode text, code } */
svm_table:
        .long n_vmrun, o_vmrun, insn_vmrun
        .long n_vmmcall, o_vmmcall, insn_vmmcall
        .long n_vmload, o_vmload, insn_vmload
        .long n_vmsave, o_vmsave, insn_vmsave
        .long n_stgi, o_stgi, insn_stgi
        .long n_clgi, o_clgi, insn_clgi
        .long n_skinit, o_skinit, insn_skinit
        .long n_invlpga, o_invlpga, insn_invlpga
        .long 0, 0, 0

        .balign 4
        .word 0
empty_idt_descriptor:
        .word 0
        .long 0

        .bss
        .balign 4
current_attack: .long 0
