//! Short busy waits on the 8254's channel 2, for the delays the INIT-SIPI-SIPI
//! sequence needs before any timer is calibrated. Channel 2 is gated through
//! port 0x61 and its output is readable there (bit 5), so no interrupt is used.

use x86_64::instructions::port::Port;

const PIT_HZ: u64 = 1_193_182;
const CHANNEL2: u16 = 0x42;
const COMMAND: u16 = 0x43;
const CONTROL_B: u16 = 0x61;
/// Channel 2, lobyte/hibyte access, mode 0 (interrupt on terminal count), binary.
const CHANNEL2_MODE0: u8 = 0b1011_0000;
const GATE2: u8 = 1 << 0;
const SPEAKER: u8 = 1 << 1;
const OUT2: u8 = 1 << 5;

/// Waits at least `micros` microseconds.
pub fn wait_micros(micros: u64) {
    let mut ticks = micros * PIT_HZ / 1_000_000 + 1;
    while ticks > 0 {
        let chunk = ticks.min(0xFFFF);
        wait_ticks(chunk as u16);
        ticks -= chunk;
    }
}

fn wait_ticks(count: u16) {
    let mut control = Port::<u8>::new(CONTROL_B);
    let mut command = Port::<u8>::new(COMMAND);
    let mut channel = Port::<u8>::new(CHANNEL2);
    // SAFETY: ports 0x42/0x43/0x61 belong to the PIT and the speaker gate,
    // which the hypervisor owns; channel 2 drives nothing but the speaker,
    // kept off here.
    unsafe {
        let gate = (control.read() & !SPEAKER) | GATE2;
        control.write(gate & !GATE2);
        command.write(CHANNEL2_MODE0);
        channel.write(count as u8);
        channel.write((count >> 8) as u8);
        control.write(gate);
        while control.read() & OUT2 == 0 {
            core::hint::spin_loop();
        }
    }
}
