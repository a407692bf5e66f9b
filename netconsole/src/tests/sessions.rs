//! Session lifecycle and management: roles, takeover, timeouts, detach, roaming,
//! requests carried out exactly once, and crash reports.

use std::string::{String, ToString};
use std::vec::Vec;

use super::{Conditions, Rng, Sim, control, viewer, writer};
use crate::{
    ClientConfig, ClientEvent, ClientRequest, ClientState, CrashReport, Notice, PartitionState,
    PartitionStatus, Refusal, Reply, Request, Role, ServerConfig,
};

/// One writer per partition: a second writer is refused with the reason; a writer that
/// takes over gets the role, the old writer's client is told and detached, and only
/// the new writer's keystrokes arrive.
#[test]
fn second_writer_refused_and_takeover() {
    let mut sim = Sim::new(&["web"], ServerConfig::default(), Conditions::lossy(10), 21);
    let first = sim.add(writer("web"));
    sim.attach(&[first]);
    sim.client(first).write(b"one ");
    let second = sim.add(writer("web"));
    assert!(sim.run_until(30_000, |s| s.peers[second].client.state()
        == ClientState::Detached));
    assert_eq!(
        sim.peers[second].log.events,
        [
            ClientEvent::Refused("partition already has a writer".to_string()),
            ClientEvent::Detached
        ]
    );
    assert!(sim.notices.iter().any(|n| matches!(
        n,
        Notice::Refused {
            reason: Refusal::WriterBusy,
            role: Role::Writer,
            ..
        }
    )));
    // A viewer is welcome all the same.
    let watcher = sim.add(viewer("web"));
    sim.attach(&[watcher]);

    let third = sim.add(ClientConfig {
        takeover: true,
        ..writer("web")
    });
    sim.attach(&[third]);
    assert!(sim.run_until(30_000, |s| s.peers[first].client.state()
        == ClientState::Detached));
    assert!(sim.peers[first].log.events.ends_with(&[
        ClientEvent::Closed("another writer took over".to_string()),
        ClientEvent::Detached
    ]));
    assert_eq!(sim.client(first).write(b"late"), 0);
    sim.client(third).write(b"three");
    sim.run_for(2000);
    assert_eq!(sim.input[0], b"one three");
    assert!(
        sim.notices
            .iter()
            .any(|n| matches!(n, Notice::TakenOver { .. }))
    );
    assert_eq!(sim.server.stats().sessions_taken_over, 1);
    sim.assert_honest();
}

/// A session whose client goes silent is dropped after the session timeout, with a
/// notice, and the writer role is free again.
#[test]
fn timeout_drops_the_session_and_frees_the_writer() {
    let mut sim = Sim::new(&["web"], ServerConfig::default(), Conditions::PERFECT, 22);
    let gone = sim.add(writer("web"));
    sim.attach(&[gone]);
    sim.peers[gone].plugged = false;
    let timeout = ServerConfig::default().session_timeout_ms;
    let silent_since = sim.now;
    sim.run_until(timeout + 1000, |s| s.server.stats().sessions == 0);
    assert_eq!(sim.server.stats().sessions, 0);
    assert!(
        sim.now >= silent_since + timeout - 2500,
        "dropped too early"
    );
    assert!(
        sim.notices
            .iter()
            .any(|n| matches!(n, Notice::TimedOut { .. }))
    );
    assert_eq!(sim.server.stats().sessions_timed_out, 1);
    let next = sim.add(writer("web"));
    sim.attach(&[next]);
    assert!(
        sim.peers[next]
            .log
            .events
            .iter()
            .all(|e| !matches!(e, ClientEvent::Refused(_)))
    );
}

/// Keepalives hold an idle session open well past the session timeout.
#[test]
fn keepalive_holds_an_idle_session() {
    let mut sim = Sim::new(&["web"], ServerConfig::default(), Conditions::lossy(20), 23);
    let v = sim.add(viewer("web"));
    sim.attach(&[v]);
    sim.run_for(3 * ServerConfig::default().session_timeout_ms);
    assert_eq!(sim.server.stats().sessions, 1);
    assert_eq!(
        sim.peers[v].log.attached(),
        1,
        "{:?}",
        sim.peers[v].log.events
    );
    assert_eq!(sim.peers[v].client.stats().reconnects, 0);
}

/// Detach ends the session at once: the service forgets it, the writer role is free,
/// and the client sends nothing more.
#[test]
fn detach_ends_the_session_at_once() {
    let mut sim = Sim::new(&["web"], ServerConfig::default(), Conditions::PERFECT, 24);
    let w = sim.add(writer("web"));
    sim.attach(&[w]);
    sim.client(w).detach();
    assert_eq!(sim.peers[w].client.state(), ClientState::Detached);
    sim.run_for(20);
    assert_eq!(sim.server.stats().sessions, 0);
    assert!(
        sim.notices
            .iter()
            .any(|n| matches!(n, Notice::Detached { .. }))
    );
    assert_eq!(sim.peers[w].log.events.last(), Some(&ClientEvent::Detached));
    // The extra copies of the Detach found no session.
    assert_eq!(
        sim.server
            .stats()
            .rejected
            .get(crate::Reject::UnknownSession),
        2
    );
    let later = sim.now + 100_000;
    assert_eq!(sim.client(w).poll_transmit(later), None);
    assert_eq!(sim.client(w).poll_at(), None);
    let next = sim.add(writer("web"));
    sim.attach(&[next]);
}

/// A client whose address changes (NAT rebinding) keeps its session: the service
/// follows the first authentic datagram from the new address.
#[test]
fn roaming_client_keeps_its_session() {
    let mut sim = Sim::new(&["web"], ServerConfig::default(), Conditions::lossy(10), 25);
    let v = sim.add(viewer("web"));
    sim.attach(&[v]);
    sim.server.output(0, b"before ");
    sim.run_for(1000);
    sim.peers[v].address = 999;
    sim.server.output(0, b"after");
    assert!(sim.run_until(30_000, |s| s.peers[v].log.output == b"before after"));
    assert_eq!(sim.peers[v].log.attached(), 1);
}

/// Keystrokes wait for a slow guest without loss: the sink takes a few bytes per step,
/// the partition's input fills, the stream stops acknowledging, and everything still
/// arrives exactly once, in order.
#[test]
fn slow_guest_pushes_back() {
    let config = ServerConfig {
        input_bytes: 2048,
        ..ServerConfig::default()
    };
    let mut sim = Sim::new(&["web"], config, Conditions::lossy(10), 26);
    sim.input_room = 16;
    let w = sim.add(writer("web"));
    sim.attach(&[w]);
    let keys = Rng(7).bytes(20_000);
    let mut typed = 0;
    while sim.input[0].len() < keys.len() {
        typed += sim.client(w).write(&keys[typed..]);
        sim.step();
        assert!(sim.now < 1_200_000, "stalled at {}", sim.input[0].len());
    }
    assert!(sim.input[0] == keys);
    assert_eq!(sim.peers[w].client.stats().reconnects, 0);
    sim.assert_honest();
}

fn statuses(count: usize) -> Vec<PartitionStatus> {
    (0..count)
        .map(|i| PartitionStatus {
            name: std::format!("partition-{i:03}-with-a-long-name"),
            state: PartitionState::Running,
            restarts: i as u64,
            exits: 1_000_000 + i as u64,
        })
        .collect()
}

/// The replies one client got, by request id.
fn replies(sim: &Sim, peer: usize) -> Vec<(u32, Reply)> {
    sim.peers[peer]
        .log
        .events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Reply { id, reply } => Some((*id, reply.clone())),
            _ => None,
        })
        .collect()
}

/// List, Restart and Halt under 30 % loss and duplication: every request is answered
/// once and carried out once, whatever was retransmitted; what a role may not do, or
/// what names no partition, is refused by the service without bothering the caller.
#[test]
fn management_requests_are_carried_out_once() {
    let net = Conditions {
        duplicate_percent: 20,
        ..Conditions::lossy(30)
    };
    let mut sim = Sim::new(&["web", "db"], ServerConfig::default(), net, 27);
    sim.responder = std::boxed::Box::new(|request| match request {
        Request::List => Reply::List(statuses(2)),
        Request::Restart { partition } => Reply::Done(std::format!("restarting {partition}")),
        Request::Halt { partition } => Reply::Done(std::format!("halting {partition}")),
    });
    let admin = sim.add(control());
    let watcher = sim.add(viewer("web"));
    let typist = sim.add(writer("web"));
    sim.attach(&[admin, watcher, typist]);
    let list = sim.client(admin).request(ClientRequest::List);
    let restart = sim
        .client(admin)
        .request(ClientRequest::Restart("web".into()));
    let halt = sim.client(admin).request(ClientRequest::Halt("db".into()));
    let unknown = sim
        .client(admin)
        .request(ClientRequest::Restart("nope".into()));
    let viewer_list = sim.client(watcher).request(ClientRequest::List);
    let viewer_halt = sim
        .client(watcher)
        .request(ClientRequest::Halt("web".into()));
    let other = sim.client(typist).request(ClientRequest::Halt("db".into()));
    let own = sim
        .client(typist)
        .request(ClientRequest::Restart("web".into()));
    assert!(sim.run_until(120_000, |s| {
        replies(s, admin).len() == 4
            && replies(s, watcher).len() == 2
            && replies(s, typist).len() == 2
    }));
    sim.run_for(10_000);
    let error = |text: &str| Reply::Error(text.to_string());
    assert_eq!(
        replies(&sim, admin),
        [
            (list, Reply::List(statuses(2))),
            (restart, Reply::Done("restarting 0".into())),
            (halt, Reply::Done("halting 1".into())),
            (unknown, error("unknown partition `nope`")),
        ]
    );
    assert_eq!(
        replies(&sim, watcher),
        [
            (viewer_list, Reply::List(statuses(2))),
            (
                viewer_halt,
                error("restart and halt need a writer or control session")
            ),
        ]
    );
    assert_eq!(
        replies(&sim, typist),
        [
            (
                other,
                error("a writer session may only restart or halt its own partition")
            ),
            (own, Reply::Done("restarting 0".into())),
        ]
    );
    let mut executed = sim.executed.clone();
    executed.sort_by_key(|r| std::format!("{r:?}"));
    assert_eq!(
        executed,
        [
            Request::Halt { partition: 1 },
            Request::List,
            Request::List,
            Request::Restart { partition: 0 },
            Request::Restart { partition: 0 },
        ]
    );
    let sent: u64 = [admin, watcher, typist]
        .iter()
        .map(|&p| sim.peers[p].client.stats().requests_sent)
        .sum();
    assert!(sent > 8, "no request was retransmitted ({sent} sent)");
    sim.assert_honest();
}

/// A List longer than one datagram comes in pages that the client gathers into one
/// reply; the caller builds the status once per page.
#[test]
fn long_list_is_paged() {
    let names: Vec<String> = (0..300).map(|i| std::format!("p{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut sim = Sim::new(&refs, ServerConfig::default(), Conditions::lossy(10), 28);
    sim.responder = std::boxed::Box::new(|_| Reply::List(statuses(300)));
    let admin = sim.add(control());
    sim.attach(&[admin]);
    let id = sim.client(admin).request(ClientRequest::List);
    assert!(sim.run_until(60_000, |s| !replies(s, admin).is_empty()));
    assert_eq!(replies(&sim, admin), [(id, Reply::List(statuses(300)))]);
    let pages = sim.executed.len();
    assert!(pages > 2, "{pages} pages");
}

/// A request the service's caller has not answered yet keeps the session alive, and
/// its answer still arrives once.
#[test]
fn reply_that_takes_long() {
    let mut sim = Sim::new(&["web"], ServerConfig::default(), Conditions::lossy(10), 29);
    let admin = sim.add(control());
    sim.attach(&[admin]);
    sim.hold_requests = true;
    let id = sim
        .client(admin)
        .request(ClientRequest::Restart("web".into()));
    // No answer for a while: the request waits in the service, and the client,
    // retransmitting it, still hears from the service.
    sim.run_for(25_000);
    let mut waiting = Vec::new();
    while let Some(request) = sim.server.poll_request() {
        waiting.push(request);
    }
    assert_eq!(waiting.len(), 1);
    assert_eq!(sim.peers[admin].client.stats().reconnects, 0);
    let (token, request) = waiting.remove(0);
    assert_eq!(request, Request::Restart { partition: 0 });
    sim.server.respond(token, Reply::Done("ok".into()));
    assert!(sim.run_until(30_000, |s| !replies(s, admin).is_empty()));
    sim.run_for(5000);
    assert_eq!(replies(&sim, admin), [(id, Reply::Done("ok".into()))]);
    assert!(sim.executed.is_empty());
}

/// A crash reaches every session attached to the partition and every Control session
/// once, with the partition's last console bytes, and no one else; it is resent until
/// acknowledged.
#[test]
fn crash_report_is_delivered_once_with_console_tail() {
    let net = Conditions {
        duplicate_percent: 20,
        ..Conditions::lossy(30)
    };
    let mut sim = Sim::new(&["web", "db"], ServerConfig::default(), net, 30);
    let web = sim.add(viewer("web"));
    let db = sim.add(viewer("db"));
    let admin = sim.add(control());
    sim.attach(&[web, db, admin]);
    let mut console = Rng(8).bytes(3000);
    console.extend_from_slice(b"kernel panic: boom\n");
    sim.server.output(0, &console);
    sim.server.crashed(
        0,
        CrashReport {
            partition: "web".into(),
            reason: "triple fault".into(),
            registers: "rip=0xdead".into(),
            exit: "shutdown".into(),
            action: "halted".into(),
            console_tail: b"ignored".to_vec(),
        },
    );
    let crashes = |sim: &Sim, peer: usize| -> Vec<CrashReport> {
        sim.peers[peer]
            .log
            .events
            .iter()
            .filter_map(|e| match e {
                ClientEvent::Crash(report) => Some(report.clone()),
                _ => None,
            })
            .collect()
    };
    assert!(sim.run_until(60_000, |s| {
        !crashes(s, web).is_empty() && !crashes(s, admin).is_empty()
    }));
    sim.run_for(20_000);
    for peer in [web, admin] {
        let got = crashes(&sim, peer);
        assert_eq!(got.len(), 1, "peer {peer}");
        assert_eq!(got[0].reason, "triple fault");
        assert_eq!(
            got[0].console_tail,
            console[console.len() - crate::CONSOLE_TAIL..]
        );
    }
    assert!(crashes(&sim, db).is_empty());
    // The output before the crash came before the report.
    let web_log = &sim.peers[web].log;
    assert_eq!(web_log.output, console);
    let stats = sim.server.stats();
    assert!(stats.events_sent >= 2);
    assert_eq!(stats.crashes, 1);
    sim.assert_honest();
}

/// Hellos retried under heavy loss make one session per client, never a second one
/// (a writer would otherwise be refused by its own first session).
#[test]
fn hello_retries_make_one_session_each() {
    let names: Vec<String> = (0..8).map(|i| std::format!("p{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let net = Conditions {
        loss_percent: 50,
        duplicate_percent: 10,
        delay_ms: 200,
        jitter_ms: 600,
    };
    let mut sim = Sim::new(&refs, ServerConfig::default(), net, 31);
    let peers: Vec<usize> = names.iter().map(|n| sim.add(writer(n))).collect();
    sim.attach(&peers);
    let stats = sim.server.stats();
    assert_eq!(stats.hellos_accepted, 8);
    assert_eq!(stats.hellos_refused, 0);
    assert!(stats.hellos_repeated > 0);
    for &p in &peers {
        assert_eq!(sim.peers[p].log.attached(), 1);
    }
}

/// The service holds at most `max_sessions`; one more is refused, and a reconnecting
/// client still gets back in by naming its old session.
#[test]
fn session_limit() {
    let config = ServerConfig {
        max_sessions: 2,
        ..ServerConfig::default()
    };
    let mut sim = Sim::new(&["web"], config, Conditions::PERFECT, 32);
    let a = sim.add(viewer("web"));
    let b = sim.add(viewer("web"));
    sim.attach(&[a, b]);
    let c = sim.add(viewer("web"));
    assert!(sim.run_until(5000, |s| s.peers[c].client.state() == ClientState::Detached));
    assert_eq!(
        sim.peers[c].log.events[0],
        ClientEvent::Refused("too many sessions".to_string())
    );
    // `a` loses contact long enough to give up, then comes back while full.
    sim.peers[a].plugged = false;
    sim.run_for(11_000);
    sim.peers[a].plugged = true;
    sim.server.output(0, b"still here");
    let reconnected = |s: &Sim| s.peers[a].log.attached() == 2;
    assert!(sim.run_until(30_000, reconnected));
    assert!(sim.run_until(5000, |s| s.peers[a].log.output == b"still here"));
    assert_eq!(sim.server.stats().sessions, 2);
}
