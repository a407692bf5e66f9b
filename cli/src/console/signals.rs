//! SIGINT, SIGTERM and SIGHUP while the console runs.
//!
//! The default action would end the process at once, with the terminal still raw and
//! the service left to time the session out. Instead the signals are blocked in every
//! thread and one thread takes them with `sigwait`, where ordinary code may run: the
//! console detaches cleanly, and a second signal ends the process at once (after
//! restoring the terminal) in case the first could not be acted on.

use std::io;
use std::mem::MaybeUninit;
use std::thread;

/// The signals that end the console.
const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// The signals, blocked; [`Blocked::forward`] takes them.
pub struct Blocked(libc::sigset_t);

/// Blocks the signals in the calling thread, and so in every thread it starts from
/// now on. Call it before starting other threads: one started earlier would still
/// take them the default way. A signal that arrives before [`Blocked::forward`] waits
/// for it.
pub fn block() -> io::Result<Blocked> {
    let set = signal_set();
    // SAFETY: `set` is an initialised signal set, and the previous mask is not asked
    // for.
    let status = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if status != 0 {
        return Err(io::Error::from_raw_os_error(status));
    }
    Ok(Blocked(set))
}

impl Blocked {
    /// Starts a thread that calls `handler` with each signal that arrives.
    pub fn forward(self, mut handler: impl FnMut(i32) + Send + 'static) -> io::Result<()> {
        let set = self.0;
        thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                loop {
                    let mut signal = 0;
                    // SAFETY: `set` is initialised and `signal` is a valid place for
                    // the number; sigwait only reads the one and writes the other.
                    if unsafe { libc::sigwait(&set, &mut signal) } == 0 {
                        handler(signal);
                    }
                }
            })?;
        Ok(())
    }
}

/// The exit status a shell gives a process a signal ended: 128 plus its number.
pub fn exit_status(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(u8::MAX)
}

/// The signal's name, for the notice.
pub fn name(signal: i32) -> &'static str {
    match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}

fn signal_set() -> libc::sigset_t {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the whole set it is given.
    unsafe { libc::sigemptyset(set.as_mut_ptr()) };
    // SAFETY: initialised by sigemptyset just above.
    let mut set = unsafe { set.assume_init() };
    for signal in SIGNALS {
        // SAFETY: `set` is initialised and `signal` is a valid signal number.
        unsafe { libc::sigaddset(&mut set, signal) };
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shells report a signal's death as 128 plus its number; ours matches.
    #[test]
    fn exit_status_is_shell_style() {
        assert_eq!(exit_status(libc::SIGINT), 130);
        assert_eq!(exit_status(libc::SIGTERM), 143);
        assert_eq!(exit_status(libc::SIGHUP), 129);
        assert_eq!(name(libc::SIGTERM), "SIGTERM");
    }
}
