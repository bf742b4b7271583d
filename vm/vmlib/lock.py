"""One VM at a time on this host: vm-run holds an flock for the build and the boot.

The host has 2 cores shared with compiles; two TCG guests at once would only starve each other
and make timeouts fire. A second vm-run waits for the first.
"""
import fcntl
import os
import sys

from .paths import CACHE


def hold():
    """Block until the host VM lock is ours; returns the open lock file (keep it referenced)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    f = open(CACHE / "vm-run.lock", "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        holder = f.read().strip() or "?"
        print(f"vm-run: another vm-run (pid {holder}) is using the VM; waiting", file=sys.stderr)
        fcntl.flock(f, fcntl.LOCK_EX)
    f.seek(0)
    f.truncate()
    f.write(f"{os.getpid()}\n")
    f.flush()
    return f
