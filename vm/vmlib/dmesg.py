"""Pick the kernel log lines a test should look at."""
import re

# Kernel trouble: oopses, WARN()s, lockups, RCU/hung-task stalls, sched_ext error exits
# (e.g. 'disabled (runnable task stall)', 'disabled (runtime error)', 'scx_bpf_error').
# Clean sched_ext exits say 'disabled (unregistered from user space)' and are not errors.
ERROR_PATTERNS = [
    r"\bBUG:", r"\bWARNING:", r"\bOops\b", r"Kernel panic", r"general protection fault",
    r"soft lockup", r"hard LOCKUP", r"rcu.*detected stalls?", r"\bstall",
    r"watchdog failed", r"failed to run for", r"blocked for more than \d+ seconds",
    r"sched_ext:.*(error|disabled due to)",
    r"sched_ext:.*disabled \((?!unregistered from (user space|BPF))",
]
# Benign lines that match the patterns above: the clocksource watchdog complains about TSC
# skew under TCG emulation; that is the emulator, not the scheduler.
IGNORE_PATTERNS = [r"clocksource", r"tsc: Marking TSC unstable"]

_ERR = re.compile("|".join(ERROR_PATTERNS))
_IGN = re.compile("|".join(IGNORE_PATTERNS))
_SCX_DISABLED = re.compile(r'sched_ext: BPF scheduler "([^"]*)" disabled \((.*)\)')
TIMESTAMP = re.compile(r"^\[\s*\d+\.\d+\]\s*")


def errors(text):
    """Lines of a dmesg (or console) text that match ERROR_PATTERNS, timestamps stripped."""
    out = []
    for line in text.splitlines():
        if _ERR.search(line) and not _IGN.search(line):
            out.append(TIMESTAMP.sub("", line).strip())
    return out


def sched_ext_lines(text):
    return [TIMESTAMP.sub("", l).strip() for l in text.splitlines() if "sched_ext" in l]


def last_disable(text):
    """(ops, reason) of the last 'BPF scheduler "x" disabled (reason)' line, or None."""
    found = _SCX_DISABLED.findall(text)
    return found[-1] if found else None


def is_error_exit(reason):
    return not reason.startswith(("unregistered from user space", "unregistered from BPF",
                                  "disabled by sysrq"))
