#!/usr/bin/env python3
"""The network console under load: keystroke echo round trips and sustained
guest output, through the `bulkhead console` client, over a UDP relay on
loopback that drops datagrams at random (bench/lossy_relay.py).

The partition runs the flood guest: every typed byte is echoed back at once,
and `g` makes it print 4096 numbered 64-byte lines (270 336 bytes with the
CR LF line ends) through its UART as fast as the UART takes them. The
received flood is checked byte for byte against the regenerated lines.

Figures, all from one machine under QEMU TCG (a measurement, not a test: it
never fails on a number):
- keystroke round trip, median of 40, through Bulkhead's console, against
  the same guest's echo through QEMU's own UDP serial backend (no hypervisor,
  no authentication, no reliability): the ratio says what the hypervisor and
  the protocol add;
- flood throughput with 0 % and 20 % loss, as the ratio of the two, with the
  datagrams the relay passed and dropped (deterministic for a given seed and
  datagram sequence) and whether the output arrived byte-exact.
"""

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lossy_relay import Relay  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.path.join(ROOT, "target", "release", "bulkhead")
GUESTS = os.path.join(ROOT, "build", "guests")
KEY = "5e1f0c2a9b8d7e6f5a4b3c2d1e0f98877665544332211000ffeeddccbbaa9988"
QEMU = ["qemu-system-x86_64", "-accel", "tcg", "-machine", "pc", "-cpu", "qemu64,+svm,+npt",
        "-display", "none", "-monitor", "none", "-nodefaults", "-no-reboot", "-m", "256M"]
LINES = 4096
PATTERN = b" ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\r\n"
KEYSTROKES = 40
TIMEOUT = 600


def expected_flood():
    return b"".join(b"0x%08x" % n + PATTERN for n in range(LINES))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Reader:
    """Collects bytes in a thread from `read` (a call that returns the next chunk,
    or b"" at the end); waits for a pattern."""

    def __init__(self, read):
        self.data = bytearray()
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._run, args=(read,), daemon=True)
        self.thread.start()

    @staticmethod
    def of_pipe(pipe):
        return Reader(lambda: os.read(pipe.fileno(), 65536))

    def _run(self, read):
        while True:
            try:
                chunk = read()
            except OSError:
                break
            if not chunk:
                break
            with self.cond:
                self.data += chunk
                self.cond.notify_all()

    def wait_for(self, needle, start=0, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                at = self.data.find(needle, start)
                if at >= 0:
                    return at
                left = deadline - time.monotonic()
                if left <= 0:
                    sys.exit(f"timed out waiting for {needle!r}; got {bytes(self.data[-400:])!r}")
                self.cond.wait(left)

    def __len__(self):
        with self.cond:
            return len(self.data)


def build(directory):
    config = os.path.join(directory, "bench.toml")
    image = os.path.join(directory, "bench.img")
    with open(config, "w") as f:
        f.write(f"""
[hypervisor.network]
nic = "virtio"
[hypervisor.console]
key = "{KEY}"
[hypervisor.local_console]
enabled = false

[[partition]]
name = "flood"
cores = [1]
memory = "16 MiB"
[partition.boot]
protocol = "multiboot"
kernel = "{GUESTS}/flood.elf"
""")
    subprocess.run([CLI, "build", config, "-o", image], check=True, stdout=subprocess.DEVNULL)
    key_file = os.path.join(directory, "console.key")
    with open(key_file, "w") as f:
        f.write(KEY + "\n")
    return image, key_file


def keystrokes(send, output, echo_of):
    """Median seconds from writing one byte to seeing it come back."""
    times = []
    for i in range(KEYSTROKES):
        # Digits only: `g` would start the flood and `!` crash the guest.
        byte = bytes([ord("0") + i % 10])
        start_len = len(output)
        begin = time.monotonic()
        send(byte)
        output.wait_for(echo_of(byte), start_len)
        times.append(time.monotonic() - begin)
    return statistics.median(times)


def bulkhead_run(image, key_file, loss, seed=7):
    port = free_port()
    qemu = subprocess.Popen(QEMU + ["-smp", "2", "-serial", "null",
                                    "-netdev", f"user,id=n0,hostfwd=udp:127.0.0.1:{port}-:7777",
                                    "-device", "virtio-net-pci,netdev=n0", "-kernel", image],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    relay = Relay(port, loss, seed).start()
    client = subprocess.Popen([CLI, "console", f"127.0.0.1:{relay.port}", "--partition", "flood",
                               "--key-file", key_file],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = Reader.of_pipe(client.stdout), Reader.of_pipe(client.stderr)
    try:
        out.wait_for(b"guest: flood: ready")

        def send(data):
            client.stdin.write(data)
            client.stdin.flush()

        rtt = keystrokes(send, out, lambda b: b) if loss == 0 else None
        before = dict(relay.counts)
        start = len(out)
        begin = time.monotonic()
        send(b"g")
        end = out.wait_for(b"guest: flood: done", start)
        elapsed = time.monotonic() - begin
        received = bytes(out.data[start:end])
        counts = {k: relay.counts[k] - before[k] for k in relay.counts}
        gaps = err.data.count(b"gap:")
        return rtt, received, elapsed, counts, gaps
    finally:
        client.kill()
        client.wait()
        relay.stop()
        qemu.kill()
        qemu.wait()


def qemu_direct_rtt():
    """The flood guest alone under QEMU, its COM1 on a UDP socket pair."""
    listen = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listen.bind(("127.0.0.1", 0))
    port_in = free_port()
    qemu = subprocess.Popen(QEMU + ["-smp", "1", "-serial",
                                    f"udp:127.0.0.1:{listen.getsockname()[1]}@127.0.0.1:{port_in}",
                                    "-kernel", os.path.join(GUESTS, "flood.elf")],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        out = Reader(lambda: listen.recvfrom(65536)[0])
        out.wait_for(b"guest: flood: ready")
        # QEMU's socket is connected to ours: keys must come from the same address.
        return keystrokes(lambda b: listen.sendto(b, ("127.0.0.1", port_in)), out, lambda b: b)
    finally:
        qemu.kill()
        qemu.wait()
        listen.close()


def main():
    for path in (CLI, os.path.join(GUESTS, "flood.elf")):
        if not os.path.exists(path):
            sys.exit(f"missing {path}: run `make image guests` first")
    expected = expected_flood()
    with tempfile.TemporaryDirectory() as directory:
        image, key_file = build(directory)
        direct = qemu_direct_rtt()
        results = {}
        for loss in (0.0, 0.2):
            results[loss] = bulkhead_run(image, key_file, loss)
    rtt = results[0.0][0]
    print(f"keystroke echo round trip (median of {KEYSTROKES}): Bulkhead {rtt * 1000:.1f} ms, "
          f"QEMU UDP serial {direct * 1000:.1f} ms, ratio {rtt / direct:.2f}")
    rates = {}
    for loss, (_, received, elapsed, counts, gaps) in results.items():
        exact = received == expected
        if not exact:
            first = next((i for i, (a, b) in enumerate(zip(received, expected)) if a != b),
                         min(len(received), len(expected)))
            print(f"flood at {loss:.0%} loss: first difference at byte {first}: "
                  f"got {received[first:first + 80]!r}, expected {expected[first:first + 80]!r}")
        rates[loss] = len(received) / elapsed
        print(f"flood at {loss:.0%} loss: {len(received)} bytes in {elapsed:.2f} s "
              f"({rates[loss] / 1024:.1f} KiB/s), byte-exact: {'yes' if exact else 'NO'}, "
              f"gap notices: {gaps}; relay to hypervisor {counts['to_host']} passed / "
              f"{counts['to_host_dropped']} dropped, to client {counts['to_client']} passed / "
              f"{counts['to_client_dropped']} dropped")
    print(f"throughput ratio 20% loss / 0% loss: {rates[0.2] / rates[0.0]:.2f}")


if __name__ == "__main__":
    main()
