"""What a BPF program on a tracepoint costs beyond its own body, measured on this host.

kernel.bpf_stats_enabled times each run between two sched_clock() reads, so its
run_time_ns/run_cnt holds the program body plus part of the stats' own clock reads (on a
KVM guest, sched_clock is a pvclock read of tens of ns), and misses the tracepoint's
dispatch (__bpf_trace_run: recursion guard, RCU, the indirect call). A traced host runs
with the stats off: it pays the dispatch and not the clock reads. Two figures correct a
stats-based cost to that:

  window_ns    stats' ns/run of an empty program on the same tracepoint, in the same run
               (its body is two instructions: the rest is the stats' own window)
  dispatch_ns  what one more empty program costs with the stats off: getppid() under
               `perf bench syscall basic` with an empty program on sys_enter, against
               the same plus one on sys_exit (both keep the syscall on its traced path,
               so the difference is one dispatch and nothing else), interleaved rounds

Empty programs are loaded through the bpf() syscall directly: no loader needed.
"""
import ctypes
import os
import re
import statistics
import subprocess
from pathlib import Path

_SYS_BPF = 321  # x86_64
_BPF_PROG_LOAD = 5
_BPF_RAW_TRACEPOINT_OPEN = 17
_BPF_PROG_TYPE_RAW_TRACEPOINT = 17
# r0 = 0; exit
_EMPTY = bytes([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0])

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _bpf(cmd, attr):
    fd = _libc.syscall(_SYS_BPF, cmd, ctypes.byref(attr), ctypes.sizeof(attr))
    if fd < 0:
        raise OSError(ctypes.get_errno(), f"bpf({cmd}): {os.strerror(ctypes.get_errno())}")
    return fd


class _ProgLoad(ctypes.Structure):
    _fields_ = [("prog_type", ctypes.c_uint32), ("insn_cnt", ctypes.c_uint32),
                ("insns", ctypes.c_uint64), ("license", ctypes.c_uint64),
                ("log_level", ctypes.c_uint32), ("log_size", ctypes.c_uint32),
                ("log_buf", ctypes.c_uint64), ("kern_version", ctypes.c_uint32),
                ("prog_flags", ctypes.c_uint32), ("prog_name", ctypes.c_char * 16),
                ("_rest", ctypes.c_uint8 * 64)]


class _RawTpOpen(ctypes.Structure):
    _fields_ = [("name", ctypes.c_uint64), ("prog_fd", ctypes.c_uint32),
                ("_pad", ctypes.c_uint32), ("_rest", ctypes.c_uint8 * 48)]


def prog_run_stats(fdinfo):
    """(run_cnt, run_time_ns) from the /proc fdinfo text of a BPF program's fd; None for
    any other fd."""
    if "prog_type:" not in fdinfo or "run_cnt:" not in fdinfo:
        return None
    field = lambda k: int(re.search(rf"^{k}:\s*(\d+)", fdinfo, re.M).group(1))
    return field("run_cnt"), field("run_time_ns")


class EmptyProbe:
    """An empty raw_tp program attached to `tracepoint` until close()."""

    def __init__(self, tracepoint):
        insns = ctypes.create_string_buffer(_EMPTY, len(_EMPTY))
        lic = ctypes.create_string_buffer(b"GPL")
        attr = _ProgLoad(prog_type=_BPF_PROG_TYPE_RAW_TRACEPOINT, insn_cnt=len(_EMPTY) // 8,
                         insns=ctypes.addressof(insns), license=ctypes.addressof(lic),
                         prog_name=b"empty_probe")
        self.prog_fd = _bpf(_BPF_PROG_LOAD, attr)
        name = ctypes.create_string_buffer(tracepoint.encode())
        try:
            self.link_fd = _bpf(_BPF_RAW_TRACEPOINT_OPEN,
                                _RawTpOpen(name=ctypes.addressof(name), prog_fd=self.prog_fd))
        except OSError:
            os.close(self.prog_fd)
            raise

    def stats(self):
        """(run_cnt, run_time_ns) so far; zeros while kernel.bpf_stats_enabled is off."""
        return prog_run_stats(Path(f"/proc/self/fdinfo/{self.prog_fd}").read_text())

    def close(self):
        os.close(self.link_fd)
        os.close(self.prog_fd)


def _getppid_ns(loops):
    out = subprocess.run(["perf", "bench", "syscall", "basic", "-l", str(loops)],
                         check=True, capture_output=True, text=True).stdout
    return float(re.search(r"([\d.]+) usecs/op", out).group(1)) * 1000


def dispatch_ns(rounds=9, loops=3_000_000):
    """ns one more empty raw_tp program adds to an event, stats off: the median of paired
    differences over interleaved rounds, with the per-round values."""
    stats = Path("/proc/sys/kernel/bpf_stats_enabled")
    old = stats.read_text().strip()
    stats.write_text("0")  # the point is the cost without them
    enter = EmptyProbe("sys_enter")
    try:
        one, two = [], []
        for r in range(rounds):
            for extra in ((False, True) if r % 2 == 0 else (True, False)):
                probe = EmptyProbe("sys_exit") if extra else None
                try:
                    (two if extra else one).append(_getppid_ns(loops))
                finally:
                    if probe:
                        probe.close()
    finally:
        enter.close()
        stats.write_text(old)
    diffs = [b - a for a, b in zip(one, two)]
    return {"dispatch_ns": round(statistics.median(diffs), 2),
            "getppid_ns_one_probe": [round(x, 2) for x in one],
            "getppid_ns_two_probes": [round(x, 2) for x in two]}


if __name__ == "__main__":  # a quick look: python3 scripts/bpf_probe_cost.py
    import json
    print(json.dumps(dispatch_ns()))
