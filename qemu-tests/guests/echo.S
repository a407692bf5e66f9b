/*
 * echo.elf: reads lines from COM1 and prints each back as "guest: echo: got <line>";
 * the line "quit" ends the guest with PASS. Input is polled (LSR bit 0, data ready),
 * interrupts stay off. It proves console input reaches a partition's UART.
 */

        .code32
        .set LINE_MAX, 60

        .text
        .globl main
main:
        mov $s_ready, %esi
        call say
        call newline
        xor %ebx, %ebx                     /* bytes in the line */
1:      call getc
        cmp $'\r', %al
        je 2f
        cmp $'\n', %al
        je 2f
        cmp $LINE_MAX, %ebx
        jae 1b
        mov %al, line(%ebx)
        inc %ebx
        jmp 1b
2:      test %ebx, %ebx
        jz 1b
        movb $0, line(%ebx)
        mov $s_got, %esi
        call say
        mov $line, %esi
        call puts
        call newline
        mov $line, %esi
        mov $s_quit, %edi
        mov $5, %ecx
        repe cmpsb
        je 3f
        xor %ebx, %ebx
        jmp 1b
3:      jmp pass

        .section .rodata
        .globl guest_name
guest_name: .asciz "echo"
s_ready:    .asciz "ready"
s_got:      .asciz "got "
s_quit:     .asciz "quit"

        .bss
line:       .skip LINE_MAX + 1
