/*
 * strio.elf: string port I/O. Prints a line to COM1 with `rep outsb`, reads 64 words
 * with `rep insw` from a port nothing answers (0x1234: every word must read 0xffff),
 * and sends one more line with a backward `outsb` loop (DF set), then PASS.
 */

        .code32
        .set COM1, 0x3f8
        .set ABSENT_PORT, 0x1234
        .set WORDS, 64

        .text
        .globl main
main:
        call prefix
        mov $s_rep, %esi
        mov $s_rep_end - s_rep, %ecx
        mov $COM1, %dx
        cld
        rep outsb
        call newline

        mov $buffer, %edi
        mov $WORDS, %ecx
        mov $ABSENT_PORT, %dx
        rep insw
        mov $buffer, %esi
        mov $WORDS, %ecx
1:      lodsw
        cmp $0xffff, %ax
        jne 2f
        loop 1b
        mov $s_absent_ok, %esi
        call say
        call newline

        call prefix
        mov $s_back_end - 1, %esi
        mov $s_back_end - s_back, %ecx
        mov $COM1, %dx
        std
        rep outsb
        cld
        call newline
        jmp pass
2:      mov $s_absent_bad, %esi
        jmp fail

        .section .rodata
        .globl guest_name
guest_name:   .asciz "strio"
s_rep:        .ascii "rep outsb reached the console"
s_rep_end:
s_back:       .ascii "sdrawkcab"
s_back_end:
s_absent_ok:  .asciz "rep insw from an absent port read all ones"
s_absent_bad: .asciz "rep insw read something other than 0xffff"

        .bss
buffer:       .skip WORDS * 2
