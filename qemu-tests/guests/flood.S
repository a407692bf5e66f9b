/*
 * flood.elf: the network console's load. Every byte typed on COM1 is echoed back
 * at once (keystroke round trips), except `g`, which starts a flood: LINES numbered
 * lines of a fixed pattern, as fast as the UART takes them, then "flood: done".
 * The receiver regenerates the lines from their numbers to check every byte.
 * `!` crashes the guest on purpose (a write far outside its memory), for the
 * network console's crash reports. Interrupts stay off; input and output are polled.
 */

        .code32
        .set LINES, 4096
        /* 3 GiB: outside any test partition's memory, below the APIC windows. */
        .set CRASH_ADDRESS, 0xc0000000

        .text
        .globl main
main:
        mov $s_ready, %esi
        call say
        call newline
1:      call getc
        cmp $'g', %al
        je 2f
        cmp $'!', %al
        je 4f
        call putc
        jmp 1b
4:      mov $s_crash, %esi
        call say
        call newline
        movl $0x5a5a5a5a, CRASH_ADDRESS
        jmp 1b
2:      xor %ebx, %ebx                     /* line number */
3:      mov %ebx, %eax
        call put_hex32
        mov $s_pattern, %esi
        call puts
        inc %ebx
        cmp $LINES, %ebx
        jb 3b
        mov $s_done, %esi
        call say
        call newline
        jmp 1b

        .section .rodata
        .globl guest_name
guest_name: .asciz "flood"
s_ready:    .asciz "ready"
s_done:     .asciz "done"
s_crash:    .asciz "crashing on purpose"
s_pattern:  .asciz " ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\n"
