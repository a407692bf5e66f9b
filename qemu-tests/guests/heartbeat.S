/*
 * heartbeat.elf: prints "guest: heartbeat: N" for N = 1, 2, 3, ... forever, about ten
 * lines per second of guest time, and never exits.
 *
 * Pacing uses only the 8254 PIT, channel 0, by polling: no interrupt controller, no
 * interrupts (IF stays clear), no port 0x61. Channel 0 runs in mode 2 (rate generator)
 * with a reload of 59659 (1193182 Hz / 59659 = 20 Hz): the count falls from 59659 to 1
 * and reloads, so a latched count larger than the one before means one period has
 * passed. Two periods make one line. Ports: 0x43 (mode/command, counter latch) and
 * 0x40 (channel 0 data), plus COM1.
 */

        .code32

        .set PIT_CHANNEL0, 0x40
        .set PIT_COMMAND, 0x43
        .set PIT_CH0_LOHI_MODE2, 0x34      /* channel 0, lobyte/hibyte, mode 2, binary */
        .set PIT_CH0_LATCH, 0x00           /* counter latch command for channel 0 */
        .set PIT_RELOAD, 59659             /* 20 Hz */
        .set PERIODS_PER_LINE, 2

        .text
        .globl main
main:
        mov $s_start, %esi
        call say
        call newline
        mov $PIT_CH0_LOHI_MODE2, %al
        out %al, $PIT_COMMAND
        mov $PIT_RELOAD & 0xff, %al
        out %al, $PIT_CHANNEL0
        mov $PIT_RELOAD >> 8, %al
        out %al, $PIT_CHANNEL0

        xor %ebx, %ebx                     /* N */
1:      mov $PERIODS_PER_LINE, %ecx
2:      call wait_period
        loop 2b
        inc %ebx
        mov $s_empty, %esi
        call say
        mov %ebx, %eax
        call put_dec
        call newline
        jmp 1b

/* Returns once channel 0 has reloaded, that is once its count goes up. */
wait_period:
        push %eax
        push %edx
        call read_count
        mov %eax, %edx
1:      call read_count
        cmp %edx, %eax
        ja 2f
        mov %eax, %edx
        jmp 1b
2:      pop %edx
        pop %eax
        ret

/* EAX = channel 0's current count, latched so both bytes belong together. */
read_count:
        mov $PIT_CH0_LATCH, %al
        out %al, $PIT_COMMAND
        in $PIT_CHANNEL0, %al
        mov %al, %ah
        in $PIT_CHANNEL0, %al
        xchg %al, %ah
        movzwl %ax, %eax
        ret

        .section .rodata
        .globl guest_name
guest_name: .asciz "heartbeat"
s_start:    .asciz "PIT channel 0 mode 2 at 20 Hz, polled; a line every 2 periods"
s_empty:    .asciz ""
