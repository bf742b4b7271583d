"""The scenario catalogue: a vm/scenarios/NAME.sh is a scenario iff it carries the header line
`# scx-meta: agent=yes|no timeout=SECONDS [cpus=N]` (timeout: default host-side limit under TCG;
cpus: the vCPUs it needs when --cpus is not given, default 2).
Other .sh files there (lib.sh, workloads.sh) are helpers the scenarios source."""
import re

from .paths import SCENARIO_DIR, HarnessError

META_RE = re.compile(r"^# scx-meta:(.*)$", re.M)


def _header(path):
    m = META_RE.search(path.read_text(errors="replace"))
    return dict(w.split("=", 1) for w in m.group(1).split() if "=" in w) if m else None


def names():
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.sh") if _header(p) is not None)


def meta(name):
    """{'agent': bool, 'timeout': int, 'cpus': int} for a scenario; clear error (listing valid
    ones) if unknown."""
    if name not in names():
        raise HarnessError(f"unknown scenario {name!r}; valid: {', '.join(names())}")
    kv = _header(SCENARIO_DIR / f"{name}.sh")
    return {"agent": kv.get("agent", "yes") == "yes", "timeout": int(kv.get("timeout", 180)),
            "cpus": int(kv.get("cpus", 2))}
