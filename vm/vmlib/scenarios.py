"""The scenario catalogue: one vm/scenarios/NAME.sh per scenario, with a metadata header line
`# scx-meta: agent=yes|no timeout=SECONDS` (timeout is the default host-side limit under TCG)."""
import re

from .paths import SCENARIO_DIR, HarnessError

META_RE = re.compile(r"^# scx-meta:(.*)$", re.M)
NOT_SCENARIOS = {"lib", "workloads"}  # sourced helpers, not scenarios


def names():
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.sh") if p.stem not in NOT_SCENARIOS)


def meta(name):
    """{'agent': bool, 'timeout': int} for a scenario; clear error (listing valid ones) if unknown."""
    if name not in names():
        raise HarnessError(f"unknown scenario {name!r}; valid: {', '.join(names())}")
    text = (SCENARIO_DIR / f"{name}.sh").read_text()
    m = META_RE.search(text)
    kv = dict(w.split("=", 1) for w in m.group(1).split()) if m else {}
    return {"agent": kv.get("agent", "yes") == "yes", "timeout": int(kv.get("timeout", 180))}
