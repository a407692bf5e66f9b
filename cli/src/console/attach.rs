//! `bulkhead console`: a partition's console on this terminal.
//!
//! Standard output carries exactly the partition's bytes; everything the client has
//! to say goes to standard error as notices ([`super::render`]). Keys pass through the
//! ssh-style escape recogniser ([`super::escape`]) on their way to the partition.
//! Standard input that is not a terminal is sent as it is, and its end does not
//! detach: a script can feed keys and keep watching, and ends the console with `~.`
//! or a signal.

use std::io::{self, Read, Stdout, Write};
use std::path::Path;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use bulkhead_netconsole::{ClientConfig, ClientEvent, ClientState, Role};

use super::address::Target;
use super::escape::{self, Escape, Key};
use super::render::{self, Notices};
use super::session::{Local, LocalSender, Session};
use super::{key, signals, terminal};
use crate::error::CliError;

/// With no answer to the first Hello for this long, say so (once) and keep trying.
const NO_ANSWER_NOTICE: Duration = Duration::from_secs(3);
/// After `~.`, how long keys typed just before it may take to be acknowledged (so
/// `make install` Enter `~.` does not lose the Enter) before the console leaves
/// anyway.
const LINGER: Duration = Duration::from_secs(1);
/// Bytes read from standard input at a time.
const READ_CHUNK: usize = 4096;

/// What `bulkhead console` was asked to do.
#[derive(Debug)]
pub struct Options<'a> {
    /// Where the service is.
    pub target: &'a Target,
    /// The partition to attach to.
    pub partition: &'a str,
    /// The deployment's key file.
    pub key_file: Option<&'a Path>,
    /// Writer, or viewer.
    pub role: Role,
    /// Replace the partition's writer.
    pub takeover: bool,
}

/// Why the console is leaving.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Leaving {
    /// `~.`.
    Escape,
    /// A signal.
    Signal(i32),
    /// The service refused or closed the session.
    Ended,
}

/// Runs the console until it detaches. Exit status: 0 after `~.`, 1 when the service
/// refuses or ends the session, 128 + the number after SIGINT, SIGTERM or SIGHUP.
pub fn run(options: &Options<'_>) -> Result<ExitCode, CliError> {
    let key = key::load(options.key_file)?;
    let peer = options.target.resolve()?;
    // Before any thread starts, so that every thread has them blocked.
    let signals = signals::block().map_err(CliError::Terminal)?;
    let mut config = ClientConfig::new(options.role, options.partition);
    config.takeover = options.takeover;
    let session = Session::open(peer, &key, config)?;
    let to_loop = session.local_sender();
    let mut signals_seen = 0;
    signals
        .forward(move |signal| {
            signals_seen += 1;
            // The second signal, or one the loop can no longer take, ends the
            // process here: the loop may be stuck.
            if signals_seen > 1 || !to_loop.send(Local::Signal(signal)) {
                terminal::restore();
                std::process::exit(signals::exit_status(signal).into());
            }
        })
        .map_err(CliError::Terminal)?;
    let raw = terminal::RawMode::enter().map_err(CliError::Terminal)?;
    let to_loop = session.local_sender();
    thread::Builder::new()
        .name("keys".into())
        .spawn(move || read_keys(&to_loop))
        .map_err(CliError::Terminal)?;
    let mut console = Console {
        session,
        options,
        notices: Notices::new(raw.is_some()),
        terminal: raw.is_some(),
        stdout: io::stdout(),
        escape: Escape::new(),
        keys: Vec::new(),
        started: Instant::now(),
        attached_before: false,
        no_answer_said: false,
        viewer_said: false,
        leaving: None,
        leave_by: None,
    };
    let result = console.run();
    drop(raw);
    result
}

/// The console's state while it runs.
struct Console<'a> {
    session: Session,
    options: &'a Options<'a>,
    notices: Notices,
    /// Standard input is a terminal, in raw mode.
    terminal: bool,
    stdout: Stdout,
    escape: Escape,
    /// Keys not yet taken by the client (its buffer was full).
    keys: Vec<u8>,
    started: Instant,
    /// A session began before: the next one is a reattach.
    attached_before: bool,
    no_answer_said: bool,
    viewer_said: bool,
    leaving: Option<Leaving>,
    /// After `~.`: detach when the typed keys are acknowledged, or at this time.
    leave_by: Option<Instant>,
}

impl Console<'_> {
    fn run(&mut self) -> Result<ExitCode, CliError> {
        loop {
            if !self.keys.is_empty() {
                let taken = self.session.client.write(&self.keys);
                self.keys.drain(..taken);
            }
            self.session.transmit();
            if let Some(status) = self.events()? {
                return Ok(status);
            }
            let now = Instant::now();
            if self
                .leave_by
                .is_some_and(|by| now >= by || self.keys_delivered())
            {
                self.leave_by = None;
                self.session.client.detach();
                continue;
            }
            let no_answer_at = self.started + NO_ANSWER_NOTICE;
            let waiting_for_answer = !self.attached_before && !self.no_answer_said;
            if waiting_for_answer && now >= no_answer_at {
                self.no_answer_said = true;
                let text = format!(
                    "no answer yet from {} (wrong key, wrong port, or the service is down); \
                     still trying{}",
                    self.options.target,
                    self.session.trouble()
                );
                self.note(&[text]);
            }
            let limit = [waiting_for_answer.then_some(no_answer_at), self.leave_by]
                .into_iter()
                .flatten()
                .min();
            match self.session.wait(limit)? {
                Some(Local::Keys(bytes)) => self.typed(&bytes),
                Some(Local::Signal(signal)) => {
                    self.leaving = Some(Leaving::Signal(signal));
                    self.session.client.detach();
                }
                // A terminal in raw mode has no end-of-file key: its input ends when
                // it hangs up, which is SIGHUP's meaning.
                Some(Local::KeysEnd) if self.terminal => {
                    self.leaving = Some(Leaving::Signal(libc::SIGHUP));
                    self.session.client.detach();
                }
                // The end of piped input is not a request to leave.
                Some(Local::KeysEnd) | None => {}
            }
        }
    }

    /// Everything typed before `~.` has reached the service, or cannot any more.
    fn keys_delivered(&self) -> bool {
        let client = &self.session.client;
        client.state() != ClientState::Attached
            || (self.keys.is_empty() && client.unacknowledged() == 0)
    }

    /// Handles what the client has to say; the exit status once it is detached.
    fn events(&mut self) -> Result<Option<ExitCode>, CliError> {
        while let Some(event) = self.session.client.poll_event() {
            match event {
                ClientEvent::Output(bytes) => {
                    if let Err(e) = self.stdout.write_all(&bytes) {
                        // Nobody reads the output any more: leave properly.
                        self.session.client.detach();
                        self.session.transmit();
                        return Err(CliError::Stdout(e));
                    }
                    self.notices.saw_output(&bytes);
                }
                ClientEvent::Attached {
                    session, resumed, ..
                } => {
                    let text = render::attached(
                        self.options.partition,
                        session,
                        self.options.role,
                        self.attached_before,
                        resumed,
                    );
                    self.attached_before = true;
                    self.note(&[text]);
                }
                ClientEvent::Gap(count) => self.note(&[render::gap(count)]),
                ClientEvent::Crash(report) => self.note(&render::crash(&report)),
                ClientEvent::Reconnecting => self.note(&["connection lost; reconnecting..."]),
                ClientEvent::Refused(reason) => {
                    self.leaving = Some(Leaving::Ended);
                    self.note(&[format!("refused: {}", render::printable(&reason))]);
                }
                ClientEvent::Closed(reason) => {
                    self.leaving = Some(Leaving::Ended);
                    self.note(&[format!(
                        "the service closed the session: {}",
                        render::printable(&reason)
                    )]);
                }
                ClientEvent::Reply { .. } => {}
                ClientEvent::Detached => {
                    // The Detach datagrams go out before the process ends.
                    self.session.transmit();
                    return Ok(Some(self.detached()));
                }
            }
        }
        self.stdout.flush().map_err(CliError::Stdout)?;
        Ok(None)
    }

    /// The last notice and the exit status.
    fn detached(&mut self) -> ExitCode {
        let partition = render::printable(self.options.partition);
        match self.leaving {
            Some(Leaving::Escape) | None => {
                self.note(&[format!("detached from partition {partition}")]);
                ExitCode::SUCCESS
            }
            Some(Leaving::Signal(signal)) => {
                self.note(&[format!(
                    "detached from partition {partition} ({})",
                    signals::name(signal)
                )]);
                ExitCode::from(signals::exit_status(signal))
            }
            Some(Leaving::Ended) => ExitCode::FAILURE,
        }
    }

    /// Keys from standard input, through the escape recogniser.
    fn typed(&mut self, bytes: &[u8]) {
        if self.leaving.is_some() {
            return;
        }
        for &byte in bytes {
            match self.escape.key(byte) {
                Key::Hold => {}
                Key::Detach => {
                    // What follows `~.` in the same read is not sent.
                    self.leaving = Some(Leaving::Escape);
                    self.leave_by = Some(Instant::now() + LINGER);
                    return;
                }
                Key::Help => {
                    let _ = self.stdout.flush();
                    eprint!("{}", self.notices.help(escape::HELP));
                }
                key @ Key::Send(..) => {
                    if self.options.role == Role::Writer {
                        self.keys.extend_from_slice(key.bytes());
                    } else if !self.viewer_said {
                        self.viewer_said = true;
                        self.note(&["viewing only: keys are not sent (~. detaches)"]);
                    }
                }
            }
        }
    }

    /// Writes notice lines to standard error, after the output before them.
    fn note<S: AsRef<str>>(&mut self, lines: &[S]) {
        let _ = self.stdout.flush();
        let text = self.notices.lines(lines);
        let _ = io::stderr().write_all(text.as_bytes());
    }
}

/// The keys thread: standard input to the loop, as it comes.
fn read_keys(to_loop: &LocalSender) {
    let mut stdin = io::stdin().lock();
    let mut buffer = [0; READ_CHUNK];
    loop {
        match stdin.read(&mut buffer) {
            Ok(0) => break,
            Ok(len) => {
                if !to_loop.send(Local::Keys(buffer[..len].to_vec())) {
                    return;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    to_loop.send(Local::KeysEnd);
}
