"""Minimal writer for the kernel's initramfs format (cpio "newc").

Written by hand so the archive can hold /dev/console without mknod (no root needed) and is
byte-for-byte reproducible (fixed mtimes, uid/gid 0, sorted entries).
"""
import stat

S_DIR = stat.S_IFDIR | 0o755
TRAILER = "TRAILER!!!"


class CpioWriter:
    def __init__(self, fileobj):
        self.f = fileobj
        self.ino = 0

    def _entry(self, name, mode, data=b"", rdev=(0, 0)):
        self.ino += 1
        name_b = name.encode() + b"\0"
        fields = (self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0)
        hdr = b"070701" + b"".join(b"%08X" % v for v in fields)
        self.f.write(hdr + name_b)
        self._pad(len(hdr) + len(name_b))
        self.f.write(data)
        self._pad(len(data))

    def _pad(self, n):
        self.f.write(b"\0" * (-n % 4))

    def dir(self, name):
        self._entry(name, S_DIR)

    def file(self, name, data, mode=0o644):
        self._entry(name, stat.S_IFREG | mode, data)

    def symlink(self, name, target):
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, name, major, minor, mode=0o600):
        self._entry(name, stat.S_IFCHR | mode, rdev=(major, minor))

    def close(self):
        self._entry(TRAILER, 0)
