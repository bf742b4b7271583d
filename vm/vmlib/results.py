"""Turn what came back from the guest into the scenario's JSON object.

The guest sends /results as a base64 gzip tar between marker lines on ttyS1, which QEMU writes
to a file. Facts are files under facts/ (one value each); agent.json is the agent's summary,
whose "metrics" object (the agent's one metrics definition, scx_oracle/src/stats.rs) is copied
to the top level of the result under the same names.
"""
import base64
import binascii
import io
import json
import re
import shutil
import tarfile
from pathlib import Path

from . import dmesg

BEGIN = "===SCX-RESULTS-BEGIN==="
END = "===SCX-RESULTS-END==="


class ChannelError(Exception):
    pass


# The channel's end never came: lost_on_the_wire() recognises a result by this message.
TRUNCATED = "results from the guest are truncated (no end marker on ttyS1)"


def _safe(member):
    name = member.name
    return (member.isfile() or member.isdir()) and not name.startswith("/") and ".." not in name


def unpack_channel(channel_file, dest):
    """Extract the results tar from the ttyS1 capture into dest. ChannelError if absent/broken."""
    try:
        text = Path(channel_file).read_text(errors="replace")
    except OSError as e:
        raise ChannelError(f"no results channel file ({e})") from e
    start = text.rfind(BEGIN)
    if start < 0:
        raise ChannelError("guest sent no results (no begin marker on ttyS1)")
    end = text.find(END, start)
    if end < 0:
        raise ChannelError(TRUNCATED)
    payload = "".join(text[start + len(BEGIN):end].split())
    try:
        blob = base64.b64decode(payload, validate=True)
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
            # The data filter (Python >= 3.11.4) refuses links and paths leaving dest.
            if hasattr(tarfile, "data_filter"):
                tar.extractall(dest, filter="data")
            else:
                tar.extractall(dest, members=[m for m in tar if _safe(m)])
    except (binascii.Error, tarfile.TarError, OSError, EOFError) as e:
        raise ChannelError(f"results from the guest are corrupt: {e}") from e


def _typed(key, raw):
    """Fact text -> JSON value: yes/no -> bool, integers -> int, *_s/uptimes -> float."""
    v = raw.strip()
    if v == "":
        return None
    if v in ("yes", "no"):
        return v == "yes"
    if re.fullmatch(r"-?[0-9]+", v):
        return int(v)
    try:
        if key.endswith("_code"):
            return int(v)
        if key.endswith("_s") or key.endswith("uptime"):
            return float(v)
    except ValueError:
        pass
    return v


def read_facts(res):
    facts = {}
    fdir = res / "facts"
    if fdir.is_dir():
        for f in sorted(fdir.iterdir()):
            facts[f.name] = _typed(f.name, f.read_text(errors="replace"))
    for name in ("init_uptime", "done_uptime", "scenario_exit_code", "scenario_timed_out"):
        if (res / name).is_file():
            facts[name] = _typed(name, (res / name).read_text())
    return facts


def read_params(res):
    p = res / "params"
    if not p.is_file():
        return {}
    return dict(l.split("=", 1) for l in p.read_text().splitlines() if "=" in l)


def read_agent(res, wanted, killed=False):
    """(summary dict or None, error or None) from the agent's --summary-json file."""
    f = res / "agent.json"
    if not wanted:
        return None, None
    if not f.is_file():
        if killed:
            return None, "agent wrote no summary JSON (expected: the scenario SIGKILLed it)"
        return None, "agent wrote no summary JSON (it crashed, was killed, or never started)"
    try:
        obj = json.loads(f.read_text())
    except (OSError, ValueError) as e:
        return None, f"agent summary JSON unreadable: {e}"
    if not isinstance(obj, dict):
        return None, "agent summary JSON is not an object"
    return obj, None


METRIC_LINE = re.compile(r"^\[\s*[0-9.]+s\] ((?:[a-z0-9_]+=\S+ ?)+)$")


def metric_lines(text):
    """The agent's metric lines (`--stats` and `run --monitor` print the same shape,
    `[  1.0s] name=value ...`) as dicts, in order; other lines are skipped."""
    out = []
    for line in text.splitlines():
        m = METRIC_LINE.match(line.strip())
        if m:
            out.append({k: _number(v) for k, v in (kv.split("=", 1) for kv in m.group(1).split())})
    return out


def _number(v):
    try:
        return int(v)
    except ValueError:
        try:
            return float(v)
        except ValueError:
            return v


def _log_metrics(res, name):
    f = res / name
    return metric_lines(f.read_text(errors="replace")) if f.is_file() else []


def build(base, res_dir, facts_ok, console_text, wanted_agent):
    """Fill base (harness facts) with the scenario facts, agent counters and dmesg analysis."""
    out = dict(base)
    facts = read_facts(res_dir) if facts_ok else {}
    params = read_params(res_dir) if facts_ok else {}
    # A scenario may skip the agent (bench with scx.baseline=1): no agent_cmd fact, no summary.
    wanted_agent = wanted_agent and (not facts_ok or "agent_cmd" in facts)
    killed = facts.get("agent_killed") is True
    agent, agent_err = read_agent(res_dir, wanted_agent, killed) if facts_ok else (None, None)
    kernel_log = ""
    if facts_ok and (res_dir / "dmesg.txt").is_file():
        kernel_log = (res_dir / "dmesg.txt").read_text(errors="replace")
    log_text = kernel_log or console_text  # no guest dmesg: the console is all we have

    for k in ("state_while_running", "ops", "state_after", "agent_exit_code",
              "workload_exit_code", "sched_ext_present", "kernel_release"):
        out[k] = facts.get(k)
    metrics = (agent or {}).get("metrics")
    out["metrics"] = metrics if isinstance(metrics, dict) else None
    out.update(out["metrics"] or {})
    # The same metrics as the agent printed them: its --stats lines and a monitor's lines.
    out["stats_lines"] = _log_metrics(res_dir, "agent.log") if facts_ok else []
    out["monitor_lines"] = _log_metrics(res_dir, "monitor.log") if facts_ok else []
    disable = dmesg.last_disable(log_text)
    if agent and "ejected" in agent:
        out["ejected"] = bool(agent["ejected"])
    elif disable:
        out["ejected"] = dmesg.is_error_exit(disable[1])
    else:
        out["ejected"] = False if not wanted_agent else None
    out["exit_reason"] = (agent or {}).get("exit_reason") or (disable[1] if disable else None)
    # The kernel's detail: for a stall, which task failed to run and for how long.
    out["exit_message"] = (agent or {}).get("exit_message") or None
    out["dmesg_errors"] = dmesg.errors(log_text)
    out["sched_ext_log"] = dmesg.sched_ext_lines(log_text)
    panic = next((l.strip() for l in console_text.splitlines() if "Kernel panic" in l), None)
    out["kernel_panic"] = panic is not None
    out["scenario_timed_out"] = facts.get("scenario_timed_out") is True
    if panic and not facts_ok:
        out["error"] = f"{dmesg.TIMESTAMP.sub('', panic)}; {out.get('error') or 'no results'}"
    # Oracle policies: fallbacks by reason, from the flat fallback_* metrics.
    if out["metrics"]:
        out["fallbacks_by_reason"] = {k[len("fallback_"):]: v for k, v in out["metrics"].items()
                                      if k.startswith("fallback_")}
    # Reports a scenario wrote besides the agent summary (shadow mode, eval of its recording).
    for name in ("shadow", "eval"):
        f = res_dir / f"{name}.json"
        if facts_ok and f.is_file():
            try:
                out[name] = json.loads(f.read_text())
            except ValueError as e:
                out["error"] = "; ".join(x for x in (out.get("error"), f"{name}.json unreadable: {e}") if x)
    out["params"] = params
    out["facts"] = facts
    out["agent"] = agent
    errors = [e for e in (out.get("error"), agent_err) if e]
    if out["scenario_timed_out"]:
        errors.insert(0, f"scenario overran guest_timeout={params.get('guest_timeout')}s "
                         "and was killed in the guest")
    if facts_ok and (res_dir / "error").is_file():
        errors.append((res_dir / "error").read_text().strip())
    out["error"] = "; ".join(errors) or None
    return out


def died_on_a_code_patch(doc, console):
    """The guest kernel panicked on an `int3` trap before any result came back: an int3 left at
    a live code-patching site (a static key or BPF trampoline, patched by text_poke_bp) that the
    emulator (TCG) lost on another vCPU. Seen once in 60 boots of scripts/ab (enqueue_task_fair,
    1.3 s into boot) and once in a clean-clone CI run of the faults scenario (sched_ext's
    disable path). It says nothing about our scheduler, which has not reported; one more boot."""
    return bool(doc.get("kernel_panic")) and not doc.get("results_received") and "Oops: int3" in console


def lost_on_the_wire(doc, console):
    """The guest said it sent its results and powered off, but the end marker never reached the
    host: the tail of the ttyS1 stream was lost between the guest's UART and QEMU (seen once in
    six 8-vCPU smoke boots: the last ~260 of 18,300 bytes, the run itself clean). The scenario
    ran; its report did not arrive. One more boot."""
    return (TRUNCATED in (doc.get("error") or "") and not doc.get("results_received")
            and "results sent; powering off" in console)

