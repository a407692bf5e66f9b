//! `bulkhead status`, `restart` and `halt`: one request on a Control session, its
//! answer printed, and the session ended.

use std::fmt;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::{Duration, Instant};

use bulkhead_netconsole::{ClientConfig, ClientEvent, ClientRequest, Reply, Role};

use super::address::Target;
use super::render::{self, Notices, PREFIX};
use super::session::Session;
use super::{key, status};
use crate::error::CliError;

/// How long to wait for the answer, in seconds as the user wrote it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timeout(f64);

impl Timeout {
    /// As a duration.
    pub fn duration(self) -> Duration {
        Duration::from_secs_f64(self.0)
    }
}

impl FromStr for Timeout {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.parse::<f64>()
            .ok()
            .filter(|&secs| secs > 0.0 && Duration::try_from_secs_f64(secs).is_ok())
            .map(Self)
            .ok_or_else(|| format!("`{text}` is not a number of seconds above 0"))
    }
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Makes `request` on a Control session with the service at `target` and prints the
/// answer: the status table, or the service's message. Exit status 1 when the service
/// refuses, answers with an error, or does not answer within `timeout`.
pub fn run(
    target: &Target,
    key_file: Option<&Path>,
    timeout: Timeout,
    request: ClientRequest,
    out: &mut impl Write,
) -> Result<ExitCode, CliError> {
    let key = key::load(key_file)?;
    let peer = target.resolve()?;
    let mut session = Session::open(peer, &key, ClientConfig::new(Role::Control, ""))?;
    let id = session.client.request(request.clone());
    let deadline = Instant::now() + timeout.duration();
    let mut notices = Notices::new(false);
    let mut attached = false;
    let reply = loop {
        session.transmit();
        let mut answer = None;
        while let Some(event) = session.client.poll_event() {
            match event {
                ClientEvent::Attached { .. } => attached = true,
                ClientEvent::Reply { id: of, reply } if of == id => answer = Some(reply),
                ClientEvent::Refused(reason) => {
                    return fail(&format!("refused: {}", render::printable(&reason)));
                }
                ClientEvent::Closed(reason) => {
                    return fail(&format!(
                        "the service closed the session: {}",
                        render::printable(&reason)
                    ));
                }
                ClientEvent::Detached => return fail("the session ended without an answer"),
                // A Control session hears of every crash while it lasts.
                ClientEvent::Crash(report) => {
                    eprint!("{}", notices.lines(&render::crash(&report)));
                }
                ClientEvent::Reply { .. }
                | ClientEvent::Output(_)
                | ClientEvent::Gap(_)
                | ClientEvent::Reconnecting => {}
            }
        }
        if let Some(reply) = answer {
            break reply;
        }
        if Instant::now() >= deadline {
            let what = if attached {
                format!("no answer to the request from {target} within {timeout} s")
            } else {
                format!(
                    "no answer from {target} within {timeout} s (wrong key, wrong port, or \
                     the service is down){}",
                    session.trouble()
                )
            };
            // Attached, the service holds a session for us: end it.
            session.client.detach();
            session.transmit();
            return fail(&what);
        }
        session.wait(Some(deadline))?;
    };
    session.client.detach();
    session.transmit();
    match (request, reply) {
        (ClientRequest::List, Reply::List(list)) => {
            out.write_all(status::table(&list).as_bytes())?
        }
        (ClientRequest::Restart(_) | ClientRequest::Halt(_), Reply::Done(text)) => {
            writeln!(out, "{}", render::printable(&text))?;
        }
        (_, Reply::Error(text)) => return fail(&render::printable(&text)),
        (_, reply) => {
            return fail(&format!(
                "the service gave an answer of the wrong kind: {reply:?}"
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn fail(text: &str) -> Result<ExitCode, CliError> {
    eprintln!("{PREFIX}{text}");
    Ok(ExitCode::FAILURE)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Timeouts are positive seconds, fractions allowed, shown as written.
    #[test]
    fn timeouts() {
        assert_eq!(
            "5".parse::<Timeout>().unwrap().duration(),
            Duration::from_secs(5)
        );
        assert_eq!(
            "0.25".parse::<Timeout>().unwrap().duration(),
            Duration::from_millis(250)
        );
        assert_eq!("5".parse::<Timeout>().unwrap().to_string(), "5");
        assert_eq!("1.5".parse::<Timeout>().unwrap().to_string(), "1.5");
        for bad in ["0", "-1", "x", "", "inf", "NaN", "1e30"] {
            assert!(bad.parse::<Timeout>().is_err(), "{bad}");
        }
    }
}
