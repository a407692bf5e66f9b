//! Raw mode for the terminal on standard input, and putting it back.
//!
//! The console passes every key to the partition, Ctrl-C included, so the terminal
//! must stop cooking input (no line editing, no echo, no signals from keys) while it
//! runs. A terminal left raw is unusable, so the original settings come back on every
//! way out: the guard's drop (detach, errors), a panic (the hook, since release and
//! dev builds abort on panic and drops do not run), and signals (the console's signal
//! thread calls [`restore`] before it exits the process).

use std::io::{self, IsTerminal};
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;
use std::panic;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// The terminal's settings before raw mode.
static SAVED: OnceLock<libc::termios> = OnceLock::new();
/// Raw mode is on (so [`restore`] has something to undo).
static RAW: AtomicBool = AtomicBool::new(false);

/// Raw mode, while this lives.
#[derive(Debug)]
pub struct RawMode(());

impl RawMode {
    /// Puts standard input's terminal into raw mode; `None` if standard input is not
    /// a terminal (a pipe or a file), which is then read as it is.
    pub fn enter() -> io::Result<Option<Self>> {
        let stdin = io::stdin();
        if !stdin.is_terminal() {
            return Ok(None);
        }
        let fd = stdin.as_raw_fd();
        let mut current = MaybeUninit::<libc::termios>::uninit();
        // SAFETY: `current` is a termios-sized buffer that tcgetattr fills on success;
        // it is read only after the return value says it did.
        if unsafe { libc::tcgetattr(fd, current.as_mut_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: tcgetattr succeeded, so every field is written.
        let current = unsafe { current.assume_init() };
        let saved = *SAVED.get_or_init(|| current);
        install_panic_hook();
        let mut raw = saved;
        // SAFETY: cfmakeraw only rewrites the flags of the termios it is given.
        unsafe { libc::cfmakeraw(&mut raw) };
        // SAFETY: `raw` is a complete termios derived from the terminal's own.
        if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &raw) } != 0 {
            return Err(io::Error::last_os_error());
        }
        RAW.store(true, Ordering::SeqCst);
        Ok(Some(Self(())))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        restore();
    }
}

/// Puts the terminal's settings back if raw mode is on; safe to call from any thread,
/// any number of times.
pub fn restore() {
    if !RAW.swap(false, Ordering::SeqCst) {
        return;
    }
    if let Some(saved) = SAVED.get() {
        // SAFETY: `saved` is the terminal's own termios from tcgetattr. A failure
        // leaves nothing better to do on the way out.
        unsafe { libc::tcsetattr(io::stdin().as_raw_fd(), libc::TCSANOW, saved) };
    }
}

/// Restores the terminal before the panic message is printed, so it is readable.
fn install_panic_hook() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}
