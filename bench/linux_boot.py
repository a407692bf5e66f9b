#!/usr/bin/env python3
"""Linux boot to the initramfs marker: Bulkhead versus QEMU running the same
kernel, initrd and command line directly, both under TCG on this machine.

Runs are interleaved (Bulkhead, direct, Bulkhead, ...) so load on the machine
affects both alike; the figure reported is the median ratio. Also prints the
exit counts by reason at the marker, from the console's status command
(Ctrl-] s). This is a measurement, not a test: it never fails on a number.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINUX = os.path.join(ROOT, "build", "linux")
CLI = os.path.join(ROOT, "target", "release", "bulkhead")
MARKER = b"bulkhead-linux-marker: init started"
CMDLINE = "console=ttyS0 panic=-1"
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
QEMU = ["qemu-system-x86_64", "-accel", "tcg", "-machine", "pc", "-cpu", "qemu64,+svm,+npt",
        "-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot", "-nic", "none"]
TIMEOUT = 600


def deployment(directory):
    config = os.path.join(directory, "deploy.toml")
    image = os.path.join(directory, "deploy.img")
    with open(config, "w") as f:
        f.write(f"""
[hypervisor.network]
nic = "none"
[hypervisor.local_console]
input = "linux"

[[partition]]
name = "linux"
cores = [1]
memory = "256 MiB"
[partition.boot]
protocol = "linux"
kernel = "{LINUX}/bzImage"
initrd = "{LINUX}/initrd.cpio.gz"
cmdline = "{CMDLINE}"
""")
    subprocess.run([CLI, "build", config, "-o", image], check=True, stdout=subprocess.DEVNULL)
    return image


def boot(args, status=False):
    """Seconds from QEMU's start to the marker, and the status line if asked for."""
    start = time.monotonic()
    qemu = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    elapsed, line = None, None
    try:
        for raw in qemu.stdout:
            if elapsed is None and MARKER in raw:
                elapsed = time.monotonic() - start
                if not status:
                    break
                qemu.stdin.write(b"\x1ds")
                qemu.stdin.flush()
            elif elapsed is not None and b"status: partition linux:" in raw:
                line = raw.decode(errors="replace").strip()
                break
            if time.monotonic() - start > TIMEOUT:
                break
    finally:
        qemu.kill()
        qemu.wait()
    if elapsed is None:
        sys.exit(f"no marker within {TIMEOUT} s: {' '.join(args)}")
    return elapsed, line


def main():
    if not os.path.isfile(os.path.join(LINUX, "bzImage")):
        sys.exit("no Linux guest: run `make linux` first")
    with tempfile.TemporaryDirectory() as directory:
        image = deployment(directory)
        hosted = QEMU + ["-smp", "2", "-m", "512M", "-kernel", image]
        direct = QEMU + ["-smp", "1", "-m", "256M", "-kernel", os.path.join(LINUX, "bzImage"),
                         "-initrd", os.path.join(LINUX, "initrd.cpio.gz"), "-append", CMDLINE]
        ratios, hosted_times, direct_times, status = [], [], [], None
        for run in range(RUNS):
            h, line = boot(hosted, status=(run == 0))
            status = status or line
            d, _ = boot(direct)
            hosted_times.append(h)
            direct_times.append(d)
            ratios.append(h / d)
            print(f"run {run + 1}: bulkhead {h:.2f} s, direct {d:.2f} s, ratio {h / d:.2f}", flush=True)
        print(f"median: bulkhead {statistics.median(hosted_times):.2f} s, "
              f"direct {statistics.median(direct_times):.2f} s, "
              f"ratio {statistics.median(ratios):.2f} ({RUNS} interleaved runs)")
        print(f"exits at the marker: {status}")


if __name__ == "__main__":
    main()
