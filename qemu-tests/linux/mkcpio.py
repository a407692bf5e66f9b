#!/usr/bin/env python3
"""Writes the test initramfs: a gzip-compressed newc cpio archive.

    mkcpio.py OUT.cpio.gz BUSYBOX INIT

The archive holds /init, busybox at /bin/busybox with the few applet links /init
needs before it installs the rest, the mount points, and a /dev/console node.
Everything is owned by root with mtime 0, so the same inputs give the same bytes,
whoever runs this and without fakeroot or mknod.
"""

import gzip
import stat
import sys

# Applet links in /bin: the shell /init starts with, what it runs before
# `busybox --install -s`, and a few that are handy on the console.
APPLETS = [
    "sh", "mount", "cat", "echo", "dmesg", "poweroff", "reboot", "uname",
    "ls", "grep", "setsid", "cttyhack",
]
DIRS = ["bin", "sbin", "usr", "usr/bin", "usr/sbin", "dev", "proc", "sys", "tmp", "root", "etc"]


class Archive:
    """A newc ("070701") cpio archive being written to memory."""

    def __init__(self):
        self.data = bytearray()
        self.inode = 0

    def _pad(self):
        self.data += b"\0" * (-len(self.data) % 4)

    def add(self, name, mode, body=b"", rdev=(0, 0)):
        self.inode += 1
        encoded = name.encode() + b"\0"
        fields = [
            self.inode, mode, 0, 0,  # ino, mode, uid, gid
            2 if stat.S_ISDIR(mode) else 1,  # nlink
            0, len(body),  # mtime, filesize
            0, 0, rdev[0], rdev[1],  # devmajor, devminor, rdevmajor, rdevminor
            len(encoded), 0,  # namesize, check
        ]
        self.data += b"070701" + b"".join(b"%08X" % f for f in fields)
        self.data += encoded
        self._pad()
        self.data += body
        self._pad()

    def directory(self, name):
        self.add(name, stat.S_IFDIR | 0o755)

    def file(self, name, body, perm=0o755):
        self.add(name, stat.S_IFREG | perm, body)

    def symlink(self, name, target):
        self.add(name, stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, name, major, minor, perm=0o600):
        self.add(name, stat.S_IFCHR | perm, rdev=(major, minor))

    def finish(self):
        self.add("TRAILER!!!", 0)
        return bytes(self.data)


def main(argv):
    if len(argv) != 4:
        sys.exit(f"usage: {argv[0]} OUT.cpio.gz BUSYBOX INIT")
    out, busybox, init = argv[1:]
    archive = Archive()
    for directory in DIRS:
        archive.directory(directory)
    archive.chardev("dev/console", 5, 1)
    with open(busybox, "rb") as f:
        archive.file("bin/busybox", f.read())
    for applet in APPLETS:
        archive.symlink(f"bin/{applet}", "busybox")
    with open(init, "rb") as f:
        archive.file("init", f.read())
    with open(out, "wb") as f:
        f.write(gzip.compress(archive.finish(), compresslevel=9, mtime=0))


if __name__ == "__main__":
    main(sys.argv)
