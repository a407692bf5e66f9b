//! `bulkhead console`, `status`, `restart` and `halt` run as a user would, against the
//! protocol's real service (`bulkhead_netconsole::Server`) on a loopback UDP socket,
//! driven by a thread of the test. Nothing waits a fixed time: every step waits for
//! what it expects (a line on the client's standard error, a notice of the service)
//! with a deadline, and a failure prints everything the client wrote.

use std::fs;
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bulkhead_netconsole::{
    CrashReport, Notice, PartitionState, PartitionStatus, Reply, Request, Role, Server,
    ServerConfig,
};

/// The deployment's key, as the test's key file holds it (hex).
const KEY: [u8; 32] = *b"a console key of thirty-two byte";
/// How long any one expectation may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(5);
const PARTITIONS: [&str; 2] = ["web", "db"];
const WEB: usize = 0;
const DB: usize = 1;

/// A value shared with a thread, with a condition variable to wait on its changes.
struct Watched<T> {
    value: Mutex<T>,
    changed: Condvar,
}

impl<T> Watched<T> {
    fn new(value: T) -> Arc<Self> {
        Arc::new(Self {
            value: Mutex::new(value),
            changed: Condvar::new(),
        })
    }

    fn update(&self, f: impl FnOnce(&mut T)) {
        f(&mut self.value.lock().unwrap());
        self.changed.notify_all();
    }

    /// Waits until `done` holds, at most [`PATIENCE`]; whether it did.
    fn wait(&self, mut done: impl FnMut(&T) -> bool) -> bool {
        let deadline = Instant::now() + PATIENCE;
        let mut value = self.value.lock().unwrap();
        while !done(&value) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            value = self.changed.wait_timeout(value, left).unwrap().0;
        }
        true
    }

    fn lock(&self) -> MutexGuard<'_, T> {
        self.value.lock().unwrap()
    }
}

/// What the test and the service thread share.
#[derive(Default)]
struct Shared {
    /// Output for the service to take, per partition.
    output: Vec<(usize, Vec<u8>)>,
    /// Crashes for the service to report.
    crashes: Vec<(usize, CrashReport)>,
    /// Keys the service handed over, per partition.
    typed: [Vec<u8>; 2],
    notices: Vec<Notice<SocketAddr>>,
}

/// The console service on a loopback socket, run by a thread.
struct Service {
    address: SocketAddr,
    shared: Arc<Watched<Shared>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Service {
    fn start() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        // The loop's tick: short, since the server's deadlines are checked there.
        socket
            .set_read_timeout(Some(Duration::from_millis(5)))
            .unwrap();
        let address = socket.local_addr().unwrap();
        let shared = Watched::new(Shared::default());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (shared, stop) = (shared.clone(), stop.clone());
            thread::spawn(move || serve(&socket, &shared, &stop))
        };
        Self {
            address,
            shared,
            stop,
            thread: Some(thread),
        }
    }

    fn output(&self, partition: usize, bytes: &[u8]) {
        self.shared
            .update(|s| s.output.push((partition, bytes.to_vec())));
    }

    /// Waits for a notice that `matches`.
    fn wait_notice(&self, what: &str, mut matches: impl FnMut(&Notice<SocketAddr>) -> bool) {
        let seen = self.shared.wait(|s| s.notices.iter().any(&mut matches));
        assert!(
            seen,
            "the service never noted {what}: {:?}",
            self.shared.lock().notices
        );
    }

    /// Waits for the number of sessions attached to `partition` as `role`.
    fn wait_attached(&self, partition: usize, role: Role, count: usize) {
        let seen = self.shared.wait(|s| {
            s.notices
                .iter()
                .filter(|n| {
                    matches!(n, Notice::Attached { partition: p, role: r, .. }
                    if *p == Some(partition) && *r == role)
                })
                .count()
                >= count
        });
        assert!(
            seen,
            "no {role:?} attached: {:?}",
            self.shared.lock().notices
        );
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The service thread: datagrams in, the test's output and crashes in, keys and
/// notices out, requests answered as a hypervisor would.
fn serve(socket: &UdpSocket, shared: &Watched<Shared>, stop: &AtomicBool) {
    let names = PARTITIONS.iter().map(|n| n.to_string()).collect();
    let mut server = Server::new(&KEY, names, [7; 32], ServerConfig::default());
    let epoch = Instant::now();
    let mut buffer = [0; 2048];
    while !stop.load(Ordering::SeqCst) {
        let now = epoch.elapsed().as_millis() as u64;
        if let Ok((len, from)) = socket.recv_from(&mut buffer) {
            let _ = server.receive(from, &buffer[..len], now);
        }
        shared.update(|s| {
            for (partition, bytes) in s.output.drain(..) {
                server.output(partition, &bytes);
            }
            for (partition, report) in s.crashes.drain(..) {
                server.crashed(partition, report);
            }
            for partition in [WEB, DB] {
                server.take_input(partition, |byte| {
                    s.typed[partition].push(byte);
                    true
                });
            }
            while let Some((token, request)) = server.poll_request() {
                server.respond(token, answer(request));
            }
            while let Some(notice) = server.poll_notice() {
                s.notices.push(notice);
            }
        });
        while let Some((to, datagram)) = server.poll_transmit(now) {
            let _ = socket.send_to(&datagram, to);
        }
    }
}

/// The answers of a machine where web runs and db is halted.
fn answer(request: Request) -> Reply {
    match request {
        Request::List => Reply::List(vec![
            PartitionStatus {
                name: "web".into(),
                state: PartitionState::Running,
                restarts: 2,
                exits: 123_456,
            },
            PartitionStatus {
                name: "db".into(),
                state: PartitionState::Halted,
                restarts: 0,
                exits: 17,
            },
        ]),
        Request::Restart { partition } => {
            Reply::Done(format!("restarting partition {}", PARTITIONS[partition]))
        }
        Request::Halt { partition: DB } => Reply::Error("partition db is already stopped".into()),
        Request::Halt { partition } => {
            Reply::Done(format!("halting partition {}", PARTITIONS[partition]))
        }
    }
}

/// A fresh directory for one test, with key files in it.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("console")
        // Per process too: two runs of the suite at once must not share key files.
        .join(format!("{test}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let hex: String = KEY.iter().map(|b| format!("{b:02x}")).collect();
    fs::write(dir.join("console.key"), format!("{hex}\n")).unwrap();
    fs::write(dir.join("wrong.key"), [0x55; 32]).unwrap();
    dir
}

/// A running `bulkhead`, its standard output and error collected as they come.
struct Run {
    child: Reaper,
    stdin: Option<ChildStdin>,
    stdout: Arc<Watched<Collected>>,
    stderr: Arc<Watched<Collected>>,
}

#[derive(Default)]
struct Collected {
    bytes: Vec<u8>,
    closed: bool,
}

impl Run {
    fn start(args: &[&str], key: Option<&Path>) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_bulkhead"));
        command
            .args(args)
            .env_remove("BULKHEAD_CONSOLE_KEY_FILE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(key) = key {
            command.env("BULKHEAD_CONSOLE_KEY_FILE", key);
        }
        let mut child = Reaper(command.spawn().unwrap());
        let stdout = collect(child.0.stdout.take().unwrap());
        let stderr = collect(child.0.stderr.take().unwrap());
        Self {
            stdin: child.0.stdin.take(),
            child,
            stdout,
            stderr,
        }
    }

    fn type_keys(&mut self, keys: &[u8]) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(keys).unwrap();
        stdin.flush().unwrap();
    }

    fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().bytes).into_owned()
    }

    /// Waits for `text` on standard error.
    fn wait_stderr(&self, text: &str) {
        let seen = self
            .stderr
            .wait(|c| String::from_utf8_lossy(&c.bytes).contains(text));
        assert!(
            seen,
            "no `{text}` on standard error:\n{}",
            self.stderr_text()
        );
    }

    /// Waits for the process to end (its pipes close); its status, output and error.
    fn finish(mut self) -> (ExitStatus, Vec<u8>, String) {
        let closed = self.stdout.wait(|c| c.closed) && self.stderr.wait(|c| c.closed);
        assert!(
            closed,
            "still running; standard error:\n{}",
            self.stderr_text()
        );
        let status = self.child.0.wait().unwrap();
        let stdout = std::mem::take(&mut self.stdout.lock().bytes);
        (status, stdout, self.stderr_text())
    }
}

/// A child process, killed if the test fails while it runs.
struct Reaper(Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn collect(mut pipe: impl Read + Send + 'static) -> Arc<Watched<Collected>> {
    let collected = Watched::new(Collected::default());
    let into = collected.clone();
    thread::spawn(move || {
        let mut buffer = [0; 4096];
        loop {
            match pipe.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(len) => into.update(|c| c.bytes.extend_from_slice(&buffer[..len])),
            }
        }
        into.update(|c| c.closed = true);
    });
    collected
}

fn run(args: &[&str]) -> (ExitStatus, Vec<u8>, String) {
    Run::start(args, None).finish()
}

/// `status` lists every partition, name first and state in lower case, and detaches.
#[test]
fn status_prints_the_table() {
    let service = Service::start();
    let dir = scratch("status");
    let target = service.address.to_string();
    // The key file from the environment, as an operator would set it once.
    let (status, stdout, stderr) =
        Run::start(&["status", &target], Some(&dir.join("console.key"))).finish();
    assert!(status.success(), "{stderr}");
    let stdout = String::from_utf8(stdout).unwrap();
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["PARTITION", "STATE", "RESTARTS", "EXITS"],
            vec!["web", "running", "2", "123456"],
            vec!["db", "halted", "0", "17"],
        ]
    );
    service.wait_notice("the status session detaching", |n| {
        matches!(
            n,
            Notice::Detached {
                partition: None,
                ..
            }
        )
    });
}

/// `restart` and `halt` print the service's answer; its errors (an unknown name, a
/// partition already stopped) go to standard error with exit status 1.
#[test]
fn restart_and_halt() {
    let service = Service::start();
    let dir = scratch("restart_and_halt");
    let key = dir.join("console.key");
    let key = key.to_str().unwrap();
    let target = service.address.to_string();
    let (status, stdout, stderr) = run(&["restart", &target, "web", "--key-file", key]);
    assert!(status.success(), "{stderr}");
    assert_eq!(stdout, b"restarting partition web\n");
    let (status, _, stderr) = run(&["halt", &target, "db", "--key-file", key]);
    assert_eq!(status.code(), Some(1));
    assert_eq!(stderr, "bulkhead: partition db is already stopped\n");
    let (status, stdout, stderr) = run(&["restart", &target, "nope", "--key-file", key]);
    assert_eq!(status.code(), Some(1));
    assert!(stdout.is_empty());
    assert!(stderr.contains("unknown partition `nope`"), "{stderr}");
}

/// A wrong key gets no answer at all (the service answers nothing unauthentic): the
/// command says so and gives up at its timeout.
#[test]
fn wrong_key_gets_no_answer() {
    let service = Service::start();
    let dir = scratch("wrong_key");
    let key = dir.join("wrong.key");
    let target = service.address.to_string();
    let started = Instant::now();
    let (status, stdout, stderr) = run(&[
        "status",
        &target,
        "--timeout",
        "0.5",
        "--key-file",
        key.to_str().unwrap(),
    ]);
    assert_eq!(status.code(), Some(1));
    assert!(stdout.is_empty());
    assert_eq!(
        stderr,
        format!(
            "bulkhead: no answer from {target} within 0.5 s (wrong key, wrong port, or the \
             service is down)\n"
        )
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// Without a key file, or with one too short to be a deployment's, nothing is sent.
#[test]
fn key_file_is_required() {
    let dir = scratch("key_file_is_required");
    let (status, _, stderr) = run(&["status", "127.0.0.1:9"]);
    assert_eq!(status.code(), Some(1));
    assert!(stderr.contains("BULKHEAD_CONSOLE_KEY_FILE"), "{stderr}");
    let short = dir.join("short.key");
    fs::write(&short, "00112233\n").unwrap();
    let (status, _, stderr) = run(&[
        "status",
        "127.0.0.1:9",
        "--key-file",
        short.to_str().unwrap(),
    ]);
    assert_eq!(status.code(), Some(1));
    assert!(stderr.contains("is 4 byte(s)"), "{stderr}");
}

/// The console end to end: output (every byte value, some from before it attached)
/// arrives on standard output byte for byte, keys reach the partition, a crash report
/// is shown on standard error, and `~.` after Enter detaches with status 0.
#[test]
fn console_carries_output_and_keys() {
    let service = Service::start();
    let dir = scratch("console");
    let key = dir.join("console.key");
    let target = service.address.to_string();
    let early: Vec<u8> = (0..=255).collect();
    service.output(WEB, &early);
    let mut console = Run::start(
        &[
            "console",
            &target,
            "--partition",
            "web",
            "--key-file",
            key.to_str().unwrap(),
        ],
        None,
    );
    console.wait_stderr("bulkhead: attached to partition web (session ");
    console.wait_stderr(", writer)\n");
    service.wait_attached(WEB, Role::Writer, 1);
    let late: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 251) as u8).collect();
    service.output(WEB, &late);
    console.type_keys(b"uname -a\r");
    let typed = service.shared.wait(|s| s.typed[WEB] == b"uname -a\r");
    assert!(typed, "keys: {:?}", service.shared.lock().typed);
    service.shared.update(|s| {
        s.crashes.push((
            WEB,
            CrashReport {
                partition: "web".into(),
                reason: "triple fault".into(),
                action: "halted".into(),
                ..CrashReport::default()
            },
        ))
    });
    console.wait_stderr("bulkhead: crash report: partition web\n");
    console.type_keys(b"~.");
    let (status, stdout, stderr) = console.finish();
    assert!(status.success(), "{stderr}");
    assert_eq!(stdout, [early, late].concat());
    assert!(
        stderr.contains("bulkhead:   reason: triple fault\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("bulkhead:   last console output:\n"),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("bulkhead: detached from partition web\n"),
        "{stderr}"
    );
    assert_eq!(
        service.shared.lock().typed[WEB],
        b"uname -a\r",
        "`~.` is not for the partition"
    );
    service.wait_notice("the console detaching", |n| {
        matches!(
            n,
            Notice::Detached {
                partition: Some(WEB),
                ..
            }
        )
    });
}

/// One writer per partition: a second is refused with the service's reason, a viewer
/// may watch beside it, `--force` takes the keyboard over (the old writer is told and
/// exits 1), and SIGTERM detaches cleanly with the shell's status for it.
#[test]
fn writers_viewers_and_takeover() {
    let service = Service::start();
    let dir = scratch("writers");
    let key = dir.join("console.key");
    let key = key.to_str().unwrap();
    let target = service.address.to_string();
    let args = |extra: &'static [&'static str]| {
        let mut args = vec!["console", &target, "-p", "web", "--key-file", key];
        args.extend_from_slice(extra);
        args
    };
    let first = Run::start(&args(&[]), None);
    first.wait_stderr(", writer)\n");
    let (status, _, stderr) = run(&args(&[]));
    assert_eq!(status.code(), Some(1));
    assert_eq!(
        stderr,
        "bulkhead: refused: partition already has a writer\n"
    );
    let viewer = Run::start(&args(&["--view"]), None);
    viewer.wait_stderr(", viewer)\n");
    let second = Run::start(&args(&["--force"]), None);
    second.wait_stderr(", writer)\n");
    let (status, _, stderr) = first.finish();
    assert_eq!(status.code(), Some(1));
    assert!(
        stderr.ends_with("bulkhead: the service closed the session: another writer took over\n"),
        "{stderr}"
    );
    for (console, exit) in [(second, 143), (viewer, 143)] {
        let killed = Command::new("kill")
            .args(["-TERM", &console.child.0.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let (status, _, stderr) = console.finish();
        assert_eq!(status.code(), Some(exit), "{stderr}");
        assert!(
            stderr.ends_with("bulkhead: detached from partition web (SIGTERM)\n"),
            "{stderr}"
        );
    }
    let both = service.shared.wait(|s| {
        s.notices
            .iter()
            .filter(|n| matches!(n, Notice::Detached { .. }))
            .count()
            == 2
    });
    assert!(both, "{:?}", service.shared.lock().notices);
}

/// With no answer to its Hello the console says so after three seconds, keeps
/// trying, and `~.` still leaves.
#[test]
fn console_says_when_nothing_answers() {
    let service = Service::start();
    let dir = scratch("silence");
    let key = dir.join("wrong.key");
    let target = service.address.to_string();
    let mut console = Run::start(
        &[
            "console",
            &target,
            "-p",
            "web",
            "--key-file",
            key.to_str().unwrap(),
        ],
        None,
    );
    console.wait_stderr(&format!(
        "bulkhead: no answer yet from {target} (wrong key, wrong port, or the service is \
         down); still trying\n"
    ));
    console.type_keys(b"~.");
    let (status, stdout, _) = console.finish();
    assert!(status.success());
    assert!(stdout.is_empty());
}

/// A pseudo-terminal pair: the console gets the terminal side, the test the other.
struct Pty {
    controller: File,
    terminal: File,
}

impl Pty {
    fn open() -> Self {
        let (mut controller, mut terminal) = (-1, -1);
        // SAFETY: both out-pointers are valid; no name, settings or size are passed.
        let status = unsafe {
            libc::openpty(
                &mut controller,
                &mut terminal,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(status, 0, "openpty: {}", io::Error::last_os_error());
        // SAFETY: openpty just opened both descriptors, and nothing else owns them.
        let (controller, terminal) = unsafe {
            (
                File::from(OwnedFd::from_raw_fd(controller)),
                File::from(OwnedFd::from_raw_fd(terminal)),
            )
        };
        Self {
            controller,
            terminal,
        }
    }

    /// The terminal's input, output and local mode flags.
    fn modes(&self) -> [libc::tcflag_t; 3] {
        let mut modes = std::mem::MaybeUninit::<libc::termios>::uninit();
        // SAFETY: the descriptor is a terminal and `modes` is large enough; it is read
        // only after tcgetattr reports that it filled it.
        let modes = unsafe {
            assert_eq!(
                libc::tcgetattr(self.terminal.as_raw_fd(), modes.as_mut_ptr()),
                0
            );
            modes.assume_init()
        };
        [modes.c_iflag, modes.c_oflag, modes.c_lflag]
    }
}

/// On a terminal the console puts it into raw mode (output passes with no `\n` to
/// `\r\n` translation, notices end in `\r\n`, Ctrl-C is a key for the partition) and
/// gives the terminal back exactly as it was after `~.`.
#[test]
fn console_on_a_terminal() {
    let service = Service::start();
    let dir = scratch("terminal");
    let key = dir.join("console.key");
    let target = service.address.to_string();
    let pty = Pty::open();
    let cooked = pty.modes();
    let mut child = Reaper(
        Command::new(env!("CARGO_BIN_EXE_bulkhead"))
            .args([
                "console",
                &target,
                "-p",
                "web",
                "--key-file",
                key.to_str().unwrap(),
            ])
            .stdin(pty.terminal.try_clone().unwrap())
            .stdout(pty.terminal.try_clone().unwrap())
            .stderr(pty.terminal.try_clone().unwrap())
            .spawn()
            .unwrap(),
    );
    let screen = collect(pty.controller.try_clone().unwrap());
    let mut keyboard = pty.controller.try_clone().unwrap();
    let shows = |text: &[u8]| {
        let seen = screen.wait(|c| c.bytes.windows(text.len()).any(|w| w == text));
        let all = String::from_utf8_lossy(&screen.lock().bytes).into_owned();
        assert!(
            seen,
            "no {:?} on the terminal:\n{all:?}",
            String::from_utf8_lossy(text)
        );
    };
    shows(b", writer)\r\n");
    assert_ne!(pty.modes(), cooked, "not in raw mode");
    service.output(WEB, b"one\ntwo\r\n");
    shows(b"one\ntwo\r\n");
    keyboard.write_all(b"\x03\r~?").unwrap();
    shows(b"  ~.  detach\r\n");
    let typed = service.shared.wait(|s| s.typed[WEB] == b"\x03\r");
    assert!(typed, "keys: {:?}", service.shared.lock().typed);
    keyboard.write_all(b"~.").unwrap();
    shows(b"bulkhead: detached from partition web\r\n");
    let status = child.0.wait().unwrap();
    assert!(status.success());
    assert_eq!(pty.modes(), cooked, "the terminal was not restored");
}
