//! One client session over a UDP socket: the loop machinery every console verb
//! shares.
//!
//! [`Client`] is a pure state machine; this gives it a socket and a clock. Datagrams
//! are read on a thread of their own and arrive on the same channel as keystrokes and
//! signals ([`Local`]), so the verb's loop waits in exactly one place, until the next
//! input or the client's next deadline ([`Client::poll_at`]), whichever is first.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use bulkhead_netconsole::{Client, ClientConfig};

use crate::error::CliError;

/// The shortest wait: a deadline that is already due is handled by the caller before
/// it waits again, and this keeps a deadline that does not move from spinning.
const MIN_WAIT: Duration = Duration::from_millis(1);
/// Read buffer: larger than any datagram the protocol sends, so that an oversized one
/// is seen whole (and refused for its size) rather than cut to something else.
const RECEIVE_BUFFER: usize = 64 * 1024;

/// Something from this machine rather than the network.
#[derive(Debug, PartialEq, Eq)]
pub enum Local {
    /// Bytes read from standard input.
    Keys(Vec<u8>),
    /// Standard input ended (or failed); nothing more will come from it.
    KeysEnd,
    /// SIGINT, SIGTERM or SIGHUP arrived.
    Signal(i32),
}

enum Input {
    Datagram(Vec<u8>),
    /// ICMP port unreachable came back for something sent.
    Unreachable,
    Local(Local),
    Failed(io::Error),
}

/// Hands [`Local`] inputs to the session's loop from another thread.
#[derive(Clone)]
pub struct LocalSender(Sender<Input>);

impl LocalSender {
    /// Passes `local` on; false once the session is gone.
    pub fn send(&self, local: Local) -> bool {
        self.0.send(Input::Local(local)).is_ok()
    }
}

/// A client, its socket, and its clock.
pub struct Session {
    /// The protocol state.
    pub client: Client,
    socket: UdpSocket,
    epoch: Instant,
    inputs: Receiver<Input>,
    sender: Sender<Input>,
    send_error: Option<io::Error>,
    /// The host said nothing listens on the port, and nothing was heard since.
    unreachable: bool,
}

impl Session {
    /// A session with the service at `peer` under `key`, seeded from the operating
    /// system. Nothing is sent until [`Self::transmit`].
    pub fn open(peer: SocketAddr, key: &[u8], config: ClientConfig) -> Result<Self, CliError> {
        let mut seed = [0; 32];
        getrandom::fill(&mut seed).map_err(CliError::Random)?;
        let client = Client::new(key, config, seed);
        let any: SocketAddr = match peer {
            SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let socket = UdpSocket::bind(any).map_err(CliError::Network)?;
        // Connected: the kernel drops datagrams from anyone but the service.
        socket.connect(peer).map_err(CliError::Network)?;
        let reader = socket.try_clone().map_err(CliError::Network)?;
        let (sender, inputs) = mpsc::channel();
        let to_loop = sender.clone();
        thread::Builder::new()
            .name("datagrams".into())
            .spawn(move || read_datagrams(&reader, &to_loop))
            .map_err(CliError::Network)?;
        Ok(Self {
            client,
            socket,
            epoch: Instant::now(),
            inputs,
            sender,
            send_error: None,
            unreachable: false,
        })
    }

    /// For threads that feed keystrokes and signals in.
    pub fn local_sender(&self) -> LocalSender {
        LocalSender(self.sender.clone())
    }

    /// The client's clock: milliseconds since the session opened.
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Sends everything the client has due. A failed send is remembered for the
    /// no-answer message and otherwise ignored: the client retries, and a network
    /// that comes back is the case reconnecting is for.
    pub fn transmit(&mut self) {
        let now = self.now();
        while let Some(datagram) = self.client.poll_transmit(now) {
            match self.socket.send(&datagram) {
                Ok(_) => self.send_error = None,
                Err(e) => self.send_error = Some(e),
            }
        }
    }

    /// What the network said about the silence, as a note to end a no-answer message
    /// with (`; ...`), or nothing.
    pub fn trouble(&self) -> String {
        if let Some(e) = &self.send_error {
            format!("; the last send failed: {e}")
        } else if self.unreachable {
            String::from("; the host says nothing listens on that port")
        } else {
            String::new()
        }
    }

    /// Waits for the next input until the client's next deadline or `limit`. A
    /// datagram is handed to the client here; a local input is returned. `None`:
    /// a datagram, or a deadline, or `limit`. Call [`Self::transmit`] after.
    pub fn wait(&mut self, limit: Option<Instant>) -> Result<Option<Local>, CliError> {
        let deadline = self
            .client
            .poll_at()
            .map(|ms| self.epoch + Duration::from_millis(ms));
        let input = match [deadline, limit].into_iter().flatten().min() {
            Some(until) => {
                let wait = until
                    .saturating_duration_since(Instant::now())
                    .max(MIN_WAIT);
                match self.inputs.recv_timeout(wait) {
                    Ok(input) => input,
                    Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                        return Ok(None);
                    }
                }
            }
            // Detached and no limit: only local input can still come.
            None => match self.inputs.recv() {
                Ok(input) => input,
                Err(_) => return Ok(None),
            },
        };
        match input {
            Input::Datagram(datagram) => {
                self.unreachable = false;
                let now = self.now();
                // A refused datagram is counted by the client and otherwise ignored.
                let _ = self.client.receive(&datagram, now);
                Ok(None)
            }
            Input::Unreachable => {
                self.unreachable = true;
                Ok(None)
            }
            Input::Local(local) => Ok(Some(local)),
            Input::Failed(e) => Err(CliError::Network(e)),
        }
    }
}

/// The socket's reading thread: every datagram goes to the loop, until the loop is
/// gone or the socket fails.
fn read_datagrams(socket: &UdpSocket, to_loop: &Sender<Input>) {
    let mut buffer = vec![0; RECEIVE_BUFFER];
    loop {
        match socket.recv(&mut buffer) {
            Ok(len) => {
                if to_loop
                    .send(Input::Datagram(buffer[..len].to_vec()))
                    .is_err()
                {
                    return;
                }
            }
            // ICMP port unreachable for an earlier datagram: the service is not
            // there (yet). The client keeps trying, and so does this.
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                if to_loop.send(Input::Unreachable).is_err() {
                    return;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                let _ = to_loop.send(Input::Failed(e));
                return;
            }
        }
    }
}
