//! A UDP relay on loopback that can be cut and restored: a network drop
//! between the console client and the hypervisor, on demand.
//!
//! The client sends to the relay's port; the relay forwards to the target and
//! sends the answers back to whichever client address spoke last. While cut,
//! it drops everything in both directions.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// The relay; stopped when dropped.
pub struct Relay {
    port: u16,
    cut: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Relay {
    /// Starts relaying from a fresh port on 127.0.0.1 to 127.0.0.1:`target_port`.
    ///
    /// # Panics
    ///
    /// If loopback sockets cannot be made.
    pub fn start(target_port: u16) -> Relay {
        let front = UdpSocket::bind("127.0.0.1:0").expect("a loopback UDP socket");
        let back = UdpSocket::bind("127.0.0.1:0").expect("a loopback UDP socket");
        let target: SocketAddr = ([127, 0, 0, 1], target_port).into();
        // Short read timeouts let one thread serve both sockets and notice `stop`.
        for socket in [&front, &back] {
            socket
                .set_read_timeout(Some(Duration::from_millis(5)))
                .expect("a read timeout");
        }
        let port = front.local_addr().expect("a bound socket").port();
        let cut = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (cut, stop) = (cut.clone(), stop.clone());
            thread::spawn(move || {
                let mut client = None;
                let mut buffer = [0u8; 2048];
                while !stop.load(Ordering::Relaxed) {
                    if let Ok((len, from)) = front.recv_from(&mut buffer) {
                        client = Some(from);
                        if !cut.load(Ordering::Relaxed) {
                            let _ = back.send_to(&buffer[..len], target);
                        }
                    }
                    if let Ok((len, _)) = back.recv_from(&mut buffer)
                        && let Some(client) = client
                        && !cut.load(Ordering::Relaxed)
                    {
                        let _ = front.send_to(&buffer[..len], client);
                    }
                }
            })
        };
        Relay {
            port,
            cut,
            stop,
            thread: Some(thread),
        }
    }

    /// The port clients send to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Drops everything (true) or relays again (false).
    pub fn set_cut(&self, cut: bool) {
        self.cut.store(cut, Ordering::Relaxed);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
