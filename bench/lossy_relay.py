#!/usr/bin/env python3
"""A UDP relay on loopback that drops datagrams at random: the network the
console benchmark runs over.

The client talks to the relay's port; the relay forwards to the target
(QEMU's host forward into the hypervisor) and sends the answers back to
whichever client address spoke last. Each direction drops a datagram with
probability `loss`, from a seeded generator, so a run is repeatable in what
it drops for the same datagram sequence. Counts what it forwarded and dropped.

Usable alone: lossy_relay.py LISTEN_PORT TARGET_PORT LOSS [SEED]
"""

import random
import selectors
import socket
import sys
import threading


class Relay:
    def __init__(self, target_port, loss, seed=1):
        self.target = ("127.0.0.1", target_port)
        self.loss = loss
        self.random = random.Random(seed)
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.bind(("127.0.0.1", 0))
        self.port = self.front.getsockname()[1]
        self.client = None
        self.counts = {"to_host": 0, "to_host_dropped": 0, "to_client": 0, "to_client_dropped": 0}
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=2)
        self.front.close()
        self.back.close()

    def _drop(self):
        return self.loss > 0 and self.random.random() < self.loss

    def _run(self):
        selector = selectors.DefaultSelector()
        selector.register(self.front, selectors.EVENT_READ, "front")
        selector.register(self.back, selectors.EVENT_READ, "back")
        while not self.stopping:
            for key, _ in selector.select(timeout=0.1):
                sock = key.fileobj
                try:
                    data, source = sock.recvfrom(65536)
                except OSError:
                    continue
                if key.data == "front":
                    self.client = source
                    if self._drop():
                        self.counts["to_host_dropped"] += 1
                    else:
                        self.counts["to_host"] += 1
                        self.back.sendto(data, self.target)
                elif self.client is not None:
                    if self._drop():
                        self.counts["to_client_dropped"] += 1
                    else:
                        self.counts["to_client"] += 1
                        self.front.sendto(data, self.client)


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    relay = Relay(int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) == 5 else 1)
    relay.front.close()
    relay.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    relay.front.bind(("127.0.0.1", int(sys.argv[1])))
    relay.start()
    try:
        relay.thread.join()
    except KeyboardInterrupt:
        print(relay.counts)
