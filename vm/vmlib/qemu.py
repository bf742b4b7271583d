"""Boot the guest in QEMU, stream its console, enforce the wall-clock timeout."""
import os
import select
import shutil
import signal
import subprocess
import sys
import time

from .paths import HarnessError

INIT_MARK = b"scx-init: start"
QBOOT = "/usr/share/qemu/qboot.rom"
# TCG by default: KVM guests crash on this host. KVM only when asked (--kvm / SCX_ORACLE_KVM=1).


def command(kernel, initrd, cpus, mem_mb, cmdline, channel_file, kvm=False):
    qemu = shutil.which("qemu-system-x86_64")
    if not qemu:
        raise HarnessError("qemu-system-x86_64 not found; run scripts/setup-host")
    if kvm:
        if not os.access("/dev/kvm", os.R_OK | os.W_OK):
            raise HarnessError("--kvm given but /dev/kvm is not usable")
        accel = ["-accel", "kvm", "-cpu", "host"]
    else:
        accel = ["-accel", "tcg,thread=multi", "-cpu", "max"]
    # qboot (minimal firmware, ~0.5 s faster than SeaBIOS under TCG) when QEMU ships it.
    bios = ["-bios", QBOOT] if os.path.isfile(QBOOT) else []
    return [qemu, "-machine", "q35", *accel, *bios, "-smp", str(cpus), "-m", str(mem_mb),
            "-nodefaults", "-no-user-config", "-nographic", "-no-reboot", "-monitor", "none",
            # ttyS0: console on our stdout; ttyS1: results channel into a file.
            "-serial", "stdio", "-serial", f"file:{channel_file}",
            "-kernel", str(kernel), "-initrd", str(initrd), "-append", cmdline]


def run(cmd, console_log, timeout_s, verbose):
    """Run QEMU; returns dict(qemu_exit_code, timed_out, boot_s, wall_s, console)."""
    t0 = time.monotonic()
    try:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as e:
        raise HarnessError(f"cannot start QEMU: {e}") from e
    try:
        return _supervise(p, t0, console_log, timeout_s, verbose)
    except BaseException:
        _stop(p)  # Ctrl-C or a bug here: QEMU is in its own session and would outlive us
        raise


def _supervise(p, t0, console_log, timeout_s, verbose):
    buf = bytearray()
    boot_s = None
    timed_out = False
    with open(console_log, "wb") as log:
        while True:
            left = timeout_s - (time.monotonic() - t0)
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([p.stdout], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break  # QEMU closed stdout: it exited
            chunk = chunk.replace(b"\r\n", b"\n")
            log.write(chunk)
            log.flush()
            if verbose:
                sys.stdout.buffer.write(chunk)
                sys.stdout.flush()
            buf += chunk
            if boot_s is None and INIT_MARK in buf:
                boot_s = round(time.monotonic() - t0, 2)
        if timed_out:
            _stop(p)
            log.write(f"\n[vm-run: timed out after {timeout_s}s; QEMU killed]\n".encode())
    rc = p.wait()
    return {"qemu_exit_code": rc, "timed_out": timed_out, "boot_s": boot_s,
            "wall_s": round(time.monotonic() - t0, 2), "console": buf.decode(errors="replace")}


def _stop(p):
    """SIGTERM the QEMU process group, SIGKILL if it lingers."""
    for sig, grace in ((signal.SIGTERM, 3), (signal.SIGKILL, 5)):
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            return
        try:
            p.wait(grace)
            return
        except subprocess.TimeoutExpired:
            pass
