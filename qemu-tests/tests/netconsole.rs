//! The network console end to end: the hypervisor's NIC driver, smoltcp and
//! console service in QEMU, the `bulkhead` client on the host, QEMU's user
//! network between them (a host forward from 127.0.0.1 to the console port;
//! nothing leaves this machine).

use std::net::UdpSocket;
use std::time::Duration;

use bulkhead_qemu_tests::client::{Client, run_cli};
use bulkhead_qemu_tests::relay::Relay;
use bulkhead_qemu_tests::{Machine, Nic, Qemu, build_deployment, free_udp_port};

const BOOT: Duration = Duration::from_secs(90);
const NET: Duration = Duration::from_secs(60);
const ANSWER: Duration = Duration::from_secs(30);

/// The deployment's console key (tests only).
const KEY: &str = "5e1f0c2a9b8d7e6f5a4b3c2d1e0f98877665544332211000ffeeddccbbaa9988";
/// Another key of the right length, which the hypervisor does not have.
const WRONG_KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// Three partitions: the echo guest (line echo), the flood guest (byte echo, a
/// numbered flood on `g`, a crash on `!`, restarted by its policy) and the
/// heartbeat. `{network}` is the `[hypervisor.network]` body.
fn config(network: &str) -> String {
    format!(
        r#"
[hypervisor.network]
{network}

[hypervisor.console]
key = "{KEY}"

[[partition]]
name = "echo"
cores = [1]
memory = "16 MiB"
[partition.boot]
protocol = "multiboot"
kernel = "{{guests}}/echo.elf"

[[partition]]
name = "flood"
cores = [2]
memory = "16 MiB"
on_crash = {{ action = "restart", max_restarts = 5, window = "60s" }}
[partition.boot]
protocol = "multiboot"
kernel = "{{guests}}/flood.elf"

[[partition]]
name = "beat"
cores = [3]
memory = "16 MiB"
[partition.boot]
protocol = "multiboot"
kernel = "{{guests}}/heartbeat.elf"
"#
    )
}

struct Setup {
    machine: Machine,
    host: String,
    port: u16,
    key_file: tempfile::NamedTempFile,
    wrong_key_file: tempfile::NamedTempFile,
    _deployment: bulkhead_qemu_tests::Deployment,
}

fn key_file(hex: &str) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(file.path(), format!("{hex}\n")).expect("writable temporary file");
    file
}

/// Boots the deployment with `nic` and waits until the console service has an address.
fn boot(nic: Nic, network: &str, address_line: &str) -> Setup {
    let deployment = build_deployment(&config(network));
    let port = free_udp_port();
    let mut machine = Qemu::kernel(&deployment.image)
        .smp(4)
        .memory_mib(256)
        .network(nic)
        .forward_udp(port, 7777)
        .start()
        .unwrap();
    machine.expect("all 4 cores online", BOOT).unwrap();
    machine.expect_any_order(address_line, NET).unwrap();
    Setup {
        machine,
        host: format!("127.0.0.1:{port}"),
        port,
        key_file: key_file(KEY),
        wrong_key_file: key_file(WRONG_KEY),
        _deployment: deployment,
    }
}

impl Setup {
    fn key(&self) -> String {
        self.key_file.path().display().to_string()
    }

    fn console(&self, partition: &str, extra: &[&str]) -> Client {
        let key = self.key();
        let mut args = vec![
            "console",
            &self.host,
            "--partition",
            partition,
            "--key-file",
            &key,
        ];
        args.extend_from_slice(extra);
        Client::spawn(args)
    }

    fn cli(&self, verb: &str, extra: &[&str]) -> (Option<i32>, String, String) {
        let key = self.key();
        let mut args = vec![verb, &self.host, "--key-file", &key];
        args.extend_from_slice(extra);
        run_cli(args)
    }

    /// `bulkhead status`: the line for `partition`.
    fn status_line(&self, partition: &str) -> String {
        let (code, stdout, stderr) = self.cli("status", &[]);
        assert_eq!(code, Some(0), "status failed:\n{stdout}\n{stderr}");
        stdout
            .lines()
            .find(|line| line.split_whitespace().next() == Some(partition))
            .unwrap_or_else(|| panic!("no line for {partition} in:\n{stdout}"))
            .to_owned()
    }
}

/// Over virtio-net with a DHCP address: status, typing and reading back, two
/// partitions' streams kept apart, viewers beside the one writer, a wrong
/// key and forged datagrams getting nothing, crash reports, restart and halt.
#[test]
fn virtio_dhcp_console_end_to_end() {
    let mut setup = boot(
        Nic::VirtioNet,
        "nic = \"virtio\"\naddress = \"dhcp\"",
        "net: address 10.0.2.15/24",
    );

    // Every partition listed, running.
    for name in ["echo", "flood", "beat"] {
        let line = setup.status_line(name);
        assert!(line.contains("running"), "{line}");
    }

    // A wrong key gets no answer at all, and forged or garbage datagrams are
    // dropped and counted while the service goes on.
    let wrong = setup.wrong_key_file.path().display().to_string();
    let (code, stdout, stderr) = run_cli([
        "status",
        &setup.host,
        "--key-file",
        &wrong,
        "--timeout",
        "3",
    ]);
    assert_ne!(
        code,
        Some(0),
        "a wrong key was answered:\n{stdout}\n{stderr}"
    );
    assert!(stderr.contains("no answer"), "{stderr}");
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut forged = b"BHNC".to_vec();
    forged.extend(std::iter::repeat_n(0xA5u8, 60));
    for datagram in [&b"garbage"[..], &forged, &[0u8; 1500][..]] {
        socket.send_to(datagram, &setup.host).unwrap();
    }
    setup
        .machine
        .expect_any_order("console: refused", ANSWER)
        .unwrap();
    assert!(setup.status_line("beat").contains("running"));

    // The writer sees the boot output it missed, types, and reads the answer.
    let mut echo = setup.console("echo", &[]);
    echo.expect_notice("attached to partition echo", ANSWER);
    echo.expect("guest: echo: ready", ANSWER);
    echo.send(b"hello over udp\r");
    echo.expect("guest: echo: got hello over udp", ANSWER);

    // A viewer of another partition sees only that partition.
    let beat = setup.console("beat", &["--view"]);
    beat.expect("guest: heartbeat: 3", ANSWER);
    assert!(
        beat.output().iter().all(|line| !line.contains("echo")),
        "echo's output reached beat's viewer:\n{}",
        beat.transcript()
    );
    assert!(
        echo.output().iter().all(|line| !line.contains("heartbeat")),
        "beat's output reached echo's writer:\n{}",
        echo.transcript()
    );

    // One writer per partition: a second is refused, and a viewer may not type.
    let mut second = setup.console("echo", &[]);
    assert_ne!(second.wait(ANSWER), Some(0));
    assert!(
        second.transcript().contains("already has a writer"),
        "{}",
        second.transcript()
    );
    let viewer = setup.console("echo", &["--view"]);
    viewer.expect("guest: echo: got hello over udp", ANSWER);
    echo.send(b"second line\r");
    viewer.expect("guest: echo: got second line", ANSWER);

    // A crash is reported to everyone attached, with the last console bytes,
    // and the partition comes back by its policy.
    let mut flood = setup.console("flood", &[]);
    let flood_viewer = setup.console("flood", &["--view"]);
    flood.expect("guest: flood: ready", ANSWER);
    flood.send(b"!");
    for client in [&flood, &flood_viewer] {
        client.expect_notice("crash report: partition flood", ANSWER);
        client.expect_notice("0xc0000000", ANSWER);
        client.expect_notice("crashing on purpose", ANSWER);
    }
    setup
        .machine
        .expect_any_order("partition flood: restarting (1 of 5", ANSWER)
        .unwrap();
    assert!(setup.status_line("flood").contains("running"));

    // Restart and halt from the management verbs.
    let (code, stdout, stderr) = setup.cli("restart", &["beat"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    setup
        .machine
        .expect_any_order("partition beat: restarted by an operator", ANSWER)
        .unwrap();
    let (code, stdout, stderr) = setup.cli("halt", &["beat"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    setup
        .machine
        .expect_any_order("partition beat: halted by an operator", ANSWER)
        .unwrap();
    assert!(setup.status_line("beat").contains("halted"));
    let (code, _, stderr) = setup.cli("halt", &["beat"]);
    assert_ne!(code, Some(0));
    assert!(stderr.contains("already stopped"), "{stderr}");
    let (code, _, stderr) = setup.cli("restart", &["nosuch"]);
    assert_ne!(code, Some(0));
    assert!(stderr.contains("nosuch"), "{stderr}");

    // The echo writer was never disturbed.
    echo.send(b"still here\r");
    echo.expect("guest: echo: got still here", ANSWER);
}

/// Over an e1000 with a static address: the flood's every byte arrives in order
/// (the receiver regenerates each numbered line), and typing still works.
#[test]
fn e1000_static_console_is_byte_exact() {
    let setup = boot(
        Nic::E1000,
        "nic = \"e1000\"\naddress = \"10.0.2.15/24\"\ngateway = \"10.0.2.2\"",
        "net: address 10.0.2.15/24",
    );
    let mut flood = setup.console("flood", &[]);
    flood.expect("guest: flood: ready", ANSWER);
    flood.send(b"g");
    flood.expect("guest: flood: done", Duration::from_secs(240));
    let lines = flood.output();
    let start = lines
        .iter()
        .position(|line| line.starts_with("0x00000000 "))
        .unwrap_or_else(|| panic!("no first flood line:\n{}", flood.transcript()));
    for (n, line) in lines[start..].iter().take(FLOOD_LINES).enumerate() {
        assert_eq!(
            line,
            &format!("0x{n:08x} ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),
            "flood line {n}"
        );
    }
    assert_eq!(
        lines[start + FLOOD_LINES..].first().map(String::as_str),
        Some("guest: flood: done")
    );
    assert!(
        !flood.transcript().contains("gap"),
        "bytes were lost:\n{}",
        flood.transcript()
    );
    flood.send(b"z\n");
    flood.expect("z", ANSWER);
}

/// A network drop longer than the client's patience: the client notices,
/// reconnects by itself once the network is back, and resumes the output
/// exactly where it stopped: every heartbeat line once, in order.
#[test]
fn client_reconnects_after_a_network_drop() {
    let setup = boot(
        Nic::VirtioNet,
        "nic = \"virtio\"\naddress = \"dhcp\"",
        "net: address 10.0.2.15/24",
    );
    let relay = Relay::start(setup.port);
    let key = setup.key();
    let host = format!("127.0.0.1:{}", relay.port());
    let beat = Client::spawn([
        "console",
        host.as_str(),
        "--partition",
        "beat",
        "--view",
        "--key-file",
        key.as_str(),
    ]);
    beat.expect("guest: heartbeat: 2", ANSWER);
    relay.set_cut(true);
    let before_cut = *heartbeats(&beat).last().expect("heartbeats before the cut");
    beat.expect_notice("connection lost; reconnecting", ANSWER);
    relay.set_cut(false);
    beat.expect_notice("reattached to partition beat", ANSWER);
    // Well past the outage: the beats during it came from the history.
    let last = beat.expect(&format!("guest: heartbeat: {}", before_cut + 150), ANSWER);
    let beats = heartbeats(&beat);
    assert!(beats.len() > 10, "{last}\n{}", beat.transcript());
    for pair in beats.windows(2) {
        assert_eq!(
            pair[1],
            pair[0] + 1,
            "heartbeats not consecutive across the reconnect:\n{}",
            beat.transcript()
        );
    }
    assert!(!beat.transcript().contains("gap"), "{}", beat.transcript());
}

/// The heartbeat numbers a client has received, in order.
fn heartbeats(client: &Client) -> Vec<u64> {
    client
        .output()
        .iter()
        .filter_map(|line| line.strip_prefix("guest: heartbeat: "))
        .filter_map(|n| n.trim().parse().ok())
        .collect()
}

/// Lines the flood guest prints (its LINES).
const FLOOD_LINES: usize = 4096;
