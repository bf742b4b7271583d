"""Build the guest initramfs: busybox, the agent, workload tools, their libraries, init, scenarios.

The archive is rebuilt only when the hash of its inputs (paths, modes, contents) changes.
"""
import gzip
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from . import cpio
from .paths import CACHE, DEFAULT_AGENT, GUEST_DIR, REPO, SCENARIO_DIR, HarnessError

FORMAT = "scx-oracle-initramfs-2"  # bump to force rebuilds when the layout changes
# The oracle policy's model and ONNX Runtime sit beside the agent, where it looks for them.
MODEL = REPO / "model" / "artifacts" / "oracle.onnx"
BUSYBOX = "/bin/busybox"
# Workload tools from Debian packages (scripts/setup-host installs them on the host).
WORKLOADS = {"stress-ng": "stress-ng", "hackbench": "rt-tests", "cyclictest": "rt-tests"}
GUEST_DIRS = ["bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "dev", "proc", "sys", "tmp",
              "run", "mnt", "results", "scenarios", "root", "var", "var/tmp"]
ETC = {"etc/passwd": b"root:x:0:0:root:/root:/bin/sh\n", "etc/group": b"root:x:0:\n",
       "etc/hostname": b"scx-guest\n"}
# Optional extra binaries (host paths, ':'-separated), copied to usr/bin/ with their libraries:
# scripts/ab brings upstream scx_rustland in this way.
EXTRA_ENV = "SCX_ORACLE_EXTRA_BINARIES"
LDD_RE = re.compile(r"^\s*(?:\S+ => )?(/\S+) \(0x[0-9a-f]+\)$")


def log(msg):
    print(f"build-initramfs: {msg}", file=sys.stderr)


def shared_libs(binary):
    """Paths of every shared library (and the dynamic loader) `ldd` lists for binary."""
    r = subprocess.run(["ldd", str(binary)], capture_output=True, text=True)
    out = r.stdout + r.stderr
    if "not a dynamic executable" in out or "statically linked" in out:
        return []
    if r.returncode != 0:
        raise HarnessError(f"ldd {binary} failed: {out.strip()}")
    missing = [line.split()[0] for line in out.splitlines() if "not found" in line]
    if missing:
        raise HarnessError(f"{binary} needs libraries missing on this host: {', '.join(missing)}")
    return [m.group(1) for m in map(LDD_RE.match, out.splitlines()) if m]


def _tool(name):
    path = shutil.which(name)
    if not path:
        raise HarnessError(f"{name} not found on the host; install package {WORKLOADS[name]} "
                           "(scripts/setup-host does)")
    return Path(path)


def onnxruntime_lib():
    """PyPI's libonnxruntime.so.<version> from the project venv (scripts/setup-python)."""
    found = sorted(REPO.glob(".venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.*"))
    if not found:
        raise HarnessError("libonnxruntime.so.* not found in .venv: run scripts/setup-python "
                           "(the oracle policy in the guest needs it)")
    return found[-1]


def manifest(agent):
    """Guest path -> ("file", host path, mode) | ("link", target) | ("dir",) | ("chr", maj, min)."""
    m = {d: ("dir",) for d in GUEST_DIRS}
    m["dev/console"] = ("chr", 5, 1)
    m["dev/null"] = ("chr", 1, 3)
    if not Path(BUSYBOX).is_file():
        raise HarnessError(f"{BUSYBOX} missing; install busybox-static (scripts/setup-host does)")
    if shared_libs(BUSYBOX):
        raise HarnessError(f"{BUSYBOX} is dynamically linked; install busybox-static")
    m["bin/busybox"] = ("file", BUSYBOX, 0o755)
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for a in applets:
        if a != "busybox":
            m[f"bin/{a}"] = ("link", "busybox")
    binaries = {f"usr/bin/{n}": _tool(n) for n in WORKLOADS}
    if agent is not None:
        binaries["usr/bin/scx_oracle"] = Path(agent)
        ort = onnxruntime_lib()
        binaries[f"usr/bin/{ort.name}"] = ort
        if not MODEL.is_file():
            raise HarnessError(f"{MODEL} missing: the bundled model is part of the repository")
        m["usr/bin/oracle.onnx"] = ("file", str(MODEL), 0o644)
    for extra in filter(None, os.environ.get(EXTRA_ENV, "").split(":")):
        path = Path(extra)
        if not path.is_file() or not os.access(path, os.X_OK):
            raise HarnessError(f"{EXTRA_ENV}: {path} is not an executable file")
        binaries[f"usr/bin/{path.name}"] = path
    for guest, host in binaries.items():
        m[guest] = ("file", str(host), 0o755)
        for lib in shared_libs(host):
            parent = str(Path(lib).parent).lstrip("/")
            for i in range(1, len(parent.split("/")) + 1):
                m.setdefault("/".join(parent.split("/")[:i]), ("dir",))
            m[lib.lstrip("/")] = ("file", lib, 0o755)
    m["init"] = ("file", str(GUEST_DIR / "init"), 0o755)
    for sc in sorted(SCENARIO_DIR.glob("*.sh")):
        m[f"scenarios/{sc.name}"] = ("file", str(sc), 0o755)
    return m


def _file_digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def inputs_hash(m, compress):
    h = hashlib.sha256(f"{FORMAT} {compress}\n".encode())
    for guest in sorted(m):
        e = m[guest]
        desc = (*e[:1], _file_digest(e[1]), e[2]) if e[0] == "file" else e
        h.update(f"{guest} {desc}\n".encode())
    for name in sorted(ETC):
        h.update(name.encode() + ETC[name])
    return h.hexdigest()


def write_archive(m, out, compress):
    raw = io.BytesIO()
    w = cpio.CpioWriter(raw)
    entries = {**m, **{k: ("data", v) for k, v in ETC.items()}}
    for guest in sorted(entries):  # sorted: parents come before children
        e = entries[guest]
        if e[0] == "dir":
            w.dir(guest)
        elif e[0] == "link":
            w.symlink(guest, e[1])
        elif e[0] == "chr":
            w.chardev(guest, e[1], e[2])
        elif e[0] == "data":
            w.file(guest, e[1])
        else:
            w.file(guest, Path(e[1]).read_bytes(), e[2])
    w.close()
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")  # concurrent builds never collide
    if compress == "gzip":
        with open(tmp, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", compresslevel=6,
                                                 mtime=0) as gz:
            gz.write(raw.getbuffer())
    elif compress == "zstd":
        subprocess.run(["zstd", "-q", "-f", "-3", "-T0", "-o", str(tmp)],
                       input=raw.getvalue(), check=True)
    else:
        tmp.write_bytes(raw.getbuffer())
    os.replace(tmp, out)
    return raw.tell()


def build(agent=DEFAULT_AGENT, with_agent=True, compress="gzip", force=False):
    """Return the path of an up-to-date initramfs, building it if its inputs changed."""
    if with_agent:
        agent = Path(agent)
        if not agent.is_file():
            raise HarnessError(f"agent binary {agent} not found; build it with "
                               "cargo build --release -p scx_oracle (or pass --agent PATH)")
        if not os.access(agent, os.X_OK):
            raise HarnessError(f"agent binary {agent} is not executable")
    m = manifest(agent if with_agent else None)
    digest = inputs_hash(m, compress)
    ext = {"gzip": ".cpio.gz", "zstd": ".cpio.zst", "none": ".cpio"}[compress]
    out = CACHE / f"initramfs-{'agent' if with_agent else 'noagent'}{ext}"
    stamp = out.with_name(out.name + ".sha256")
    if not force and out.is_file() and stamp.is_file() and stamp.read_text().strip() == digest:
        return out
    CACHE.mkdir(parents=True, exist_ok=True)
    size = write_archive(m, out, compress)
    stamp.write_text(digest + "\n")
    log(f"built {out} ({len(m)} entries, {size >> 20} MiB raw, "
        f"{out.stat().st_size >> 20} MiB {compress})")
    return out
