"""Where the harness finds its inputs and keeps its cache."""
import os
from pathlib import Path

VM_DIR = Path(__file__).resolve().parent.parent
REPO = VM_DIR.parent
CACHE = Path(os.environ.get("SCX_ORACLE_VM_CACHE", REPO / ".cache" / "vm"))
KERNEL_CACHE = CACHE / "kernel"
GUEST_DIR = VM_DIR / "guest"
SCENARIO_DIR = VM_DIR / "scenarios"
DEFAULT_AGENT = REPO / "target" / "release" / "scx_oracle"
DEFAULT_RESULTS = REPO / "target" / "vm-results"


class HarnessError(Exception):
    """A problem with the harness or its inputs (not a scenario verdict)."""
