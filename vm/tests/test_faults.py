"""Host tests of the faults.json builder (vm/vmlib/faults.py), on made-up guest results:
python3 -m unittest discover -s vm/tests"""
import json
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from vmlib import faults, scenarios  # noqa: E402

REFUSALS = {"bad_model_corrupt": "scx_oracle: error: /tmp/corrupt.onnx: cannot load as an ONNX model",
            "bad_model_truncated": "scx_oracle: error: /tmp/truncated.onnx: cannot load as an ONNX model",
            "bad_model_wrong_shape": "scx_oracle: error: /tmp/wrong_shape.onnx: cannot load as an ONNX model",
            "no_onnxruntime": "scx_oracle: error: ONNX Runtime library (libonnxruntime.so) not found; tried:\n  x",
            "bad_flags_policy": "error: invalid value 'nosuch' for '--policy <POLICY>'\n\nFor more information",
            "bad_flags_unknown": "error: unexpected argument '--no-such-flag' found\n\nUsage: x",
            "bad_flags_range": "error: invalid value '0' for '--slice-us <SLICE_US>'"}


def dmesg(fallback_s):
    """A guest kernel log in which the fair class was back fallback_s after the kill mark."""
    return (f"[    5.000000] sched_ext: BPF scheduler \"oracle_x\" enabled\n"
            f"[    8.280000] {faults.KILL_MARK} to the agent\n"
            f"[ {8.28 + fallback_s:11.6f}] sched_ext: BPF scheduler \"oracle_x\" disabled "
            "(unregistered from user space)\n")


def kill9_trace(first_s, last_s, tasks=40, boost_after_s=None):
    """The kill9 trace instance as tracefs prints it: the kill mark at 13.295297, then the
    disable thread moving `tasks` tasks to the fair class from first_s to last_s after it (and,
    optionally, a task leaving a priority boost later, from another thread)."""
    mark = 13.295297
    lines = ["# tracer: nop", "#",
             f"              sh-139     [001] .....  {mark:.6f}: tracing_mark_write: {faults.KILL_MARK} to the agent"]
    for i in range(tasks):
        t = mark + first_s + (last_s - first_s) * i / max(tasks - 1, 1)
        lines.append(f" sched_ext_helpe-202     [002] d..2.  {t:.6f}: back_to_fair: (switched_to_fair+0x0/0x70)")
    if boost_after_s is not None:
        lines.append(f"     kworker/1:2-88      [001] d..3.  {mark + boost_after_s:.6f}: back_to_fair: (switched_to_fair+0x0/0x70)")
    return "\n".join(lines) + "\n"


def passing_run():
    """(facts, files) of a guest run in which every case passed, shaped as faults.sh writes them."""
    facts = {
        "kill9.agent_alive_before_kill": True, "kill9.state_before_kill": "enabled",
        "kill9.state_after": "disabled", "kill9.disable_s": 0.26, "kill9.agent_exit_code": 137,
        "kill9.class_probe": "switched_to_fair",
        "kill9.stress_exit_code": 0, "kill9.hackbench_exit_code": 0, "kill9.loop_exit_code": 0,
        "sigstop.stopped": True, "sigstop.state_while_running": "enabled",
        "sigstop.state_after_stop": "disabled", "sigstop.eject_s": 6.6,
        "sigstop.after_workload_exit_code": 0, "sigstop.stress_exit_code": 0, "sigstop.agent_exit_code": 2,
        "ring_saturation.stress_exit_code": 0, "ring_saturation.state_after_storm": "enabled",
        "ring_saturation.agent_alive_after_storm": True, "ring_saturation.agent_exit_code": 0,
        "hotplug.cpu": 3, "hotplug.offline_rc": 0, "hotplug.online_after_offline": 0,
        "hotplug.state_after_offline": "disabled", "hotplug.online_rc": 0,
        "hotplug.online_after_online": 1, "hotplug.nproc_after": 4, "hotplug.agent_exit_code": 0,
        "hotplug.state_after": "disabled", "hotplug.stress_exit_code": 0,
        "tracer_killed.trace_exit_code": 137, "tracer_killed.final_exists": False,
        "tracer_killed.partial_exists": True, "tracer_killed.partial_bytes": 832156,
        "tracer_killed.stats_partial_exit_code": 1, "tracer_killed.stats_final_exit_code": 1,
        "tracer_killed.trace_int_exit_code": 0, "tracer_killed.stats_whole_exit_code": 0,
    }
    for case in REFUSALS:
        facts.update({f"{case}.exit_code": 2 if "flags" in case else 1, f"{case}.attaches": 0,
                      f"{case}.state_after": "disabled", f"{case}.states_seen": "disabled "})
    stall = {"ejected": True, "exit_kind": "stall", "exit_reason": "runnable task stall",
             "exit_message": "stress-ng-cpu[321] failed to run for 6.460s"}
    files = {
        "dmesg.txt": dmesg(0.884),
        "kill9.trace.txt": kill9_trace(0.412, 0.431),
        "sigstop.agent.json": json.dumps(stall),
        "sigstop.agent.log": "scx_oracle: detached after 9.1 s; exit: stall runnable task stall\n",
        "ring_saturation.agent.json": json.dumps({"ejected": False, "exit_kind": "unregistered",
                                                  "metrics": {"congested": 9, "queued": 23712}}),
        "hotplug.agent.json": json.dumps({"ejected": False, "exit_kind": "unregistered_by_kernel",
                                          "exit_reason": "unregistered from the main kernel",
                                          "exit_message": "cpu 3 going offline, exiting scheduler"}),
        "tracer_killed.stats_partial.out": "scx_oracle: error: /tmp/killed.parquet.partial: not a "
                                           "readable Parquet file; a writer that never finished\n",
        "tracer_killed.stats_final.out": "scx_oracle: error: /tmp/killed.parquet: not found\n",
        **{f"{case}.out": text + "\n" for case, text in REFUSALS.items()},
    }
    return facts, files


class FaultsReportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(self.enterContext(tempfile.TemporaryDirectory()))
        # A host without sched_ext, and an agent that refuses the way the real one does.
        self.addCleanup(setattr, faults, "SCHED_EXT_DIR", faults.SCHED_EXT_DIR)
        faults.SCHED_EXT_DIR = self.tmp / "no-sched_ext"
        self.agent = self.tmp / "scx_oracle"
        self.agent.write_text("#!/bin/sh\necho 'scx_oracle: error: this kernel (x) has no sched_ext: "
                              "/sys/kernel/sched_ext/state is missing' >&2\nexit 1\n")
        self.agent.chmod(0o755)

    def report(self, facts, files, **doc):
        res = self.tmp / "res"
        res.mkdir(exist_ok=True)
        for name, text in files.items():
            (res / name).write_text(text)
        base = {"facts": facts, "results_dir": str(res), "vcpus": 4, "timed_out": False,
                "kernel_panic": False, "dmesg_errors": [], "error": None}
        return faults.build({**base, **doc}, self.agent)

    def verdicts(self, report):
        return {c["name"]: c["passed"] for c in report["cases"]}

    def failures(self, report, case):
        return next(c["failures"] for c in report["cases"] if c["name"] == case)

    def test_every_case_listed_once_and_a_passing_run_passes(self):
        r = self.report(*passing_run())
        self.assertEqual([c["name"] for c in r["cases"]], faults.CASES)
        self.assertTrue(r["passed"], [c for c in r["cases"] if not c["passed"]])
        self.assertEqual(faults.verdict_line(r), f"{len(faults.CASES)}/{len(faults.CASES)} cases passed")
        sig = next(c for c in r["cases"] if c["name"] == "sigstop")["observed"]
        self.assertEqual(sig["exit_reason"], "runnable task stall")
        self.assertIn("runnable task stall", sig["reported"])

    def test_a_case_that_did_not_run_fails(self):
        facts, files = passing_run()
        facts = {k: v for k, v in facts.items() if not k.startswith("hotplug.")}
        r = self.report(facts, files)
        self.assertFalse(r["passed"])
        self.assertEqual(self.failures(r, "hotplug"), ["the case did not run (no facts from the guest)"])
        self.assertIn("failed: hotplug", faults.verdict_line(r))

    def test_slow_fallback_and_a_failed_workload_fail_kill9(self):
        facts, files = passing_run()
        facts["kill9.hackbench_exit_code"] = 1
        files["kill9.trace.txt"] = kill9_trace(1.2, 1.4)
        fails = self.failures(self.report(facts, files), "kill9")
        self.assertEqual(len(fails), 2, fails)
        self.assertIn("after 1.4 s on the kernel's clock (switched_to_fair", fails[0])

    def test_fallback_is_the_last_task_moved_to_the_fair_class(self):
        facts, files = passing_run()
        files["dmesg.txt"] = dmesg(1.3)   # the kernel's teardown goes on after the moves
        r = self.report(facts, files)
        kill9 = next(c for c in r["cases"] if c["name"] == "kill9")
        self.assertTrue(kill9["passed"], kill9["failures"])
        obs = kill9["observed"]
        self.assertEqual((obs["fallback_s"], obs["first_task_back_s"], obs["tasks_moved"]), (0.431, 0.412, 40))
        self.assertEqual((obs["fallback_measured_by"], obs["disabled_line_s"]), ("switched_to_fair", 1.3))

    def test_a_later_boost_from_another_thread_is_not_the_fallback(self):
        self.assertEqual(faults.class_switch_s(kill9_trace(0.5, 0.6, boost_after_s=2.0)), (0.5, 0.6, 40))
        self.assertIsNone(faults.class_switch_s(kill9_trace(0.5, 0.6).splitlines()[0]))
        no_mark = [l for l in kill9_trace(0.5, 0.6).splitlines() if "tracing_mark" not in l]
        self.assertIsNone(faults.class_switch_s("\n".join(no_mark)))

    def test_without_kprobes_the_disabled_line_bounds_the_fallback(self):
        facts, files = passing_run()
        facts["kill9.class_probe"] = "unavailable"
        del files["kill9.trace.txt"]
        kill9 = next(c for c in self.report(facts, files)["cases"] if c["name"] == "kill9")
        self.assertTrue(kill9["passed"], kill9["failures"])
        self.assertEqual((kill9["observed"]["fallback_s"], kill9["observed"]["fallback_measured_by"]),
                         (0.884, "disabled_line"))
        files["dmesg.txt"] = dmesg(1.4)
        self.assertIn("after 1.4 s on the kernel's clock (disabled_line",
                      self.failures(self.report(facts, files), "kill9")[0])

    def test_a_probe_that_was_set_but_saw_nothing_fails(self):
        facts, files = passing_run()
        files["kill9.trace.txt"] = "# tracer: nop\n"
        fails = self.failures(self.report(facts, files), "kill9")
        self.assertEqual(len(fails), 1, fails)
        self.assertIn("the switched_to_fair probe was set", fails[0])

    def test_fallback_timed_from_the_kill_mark_to_the_next_disable(self):
        self.assertEqual(faults.kernel_fallback_s(dmesg(0.884)), 0.884)
        self.assertIsNone(faults.kernel_fallback_s("[ 1.0] sched_ext: BPF scheduler \"o\" disabled\n"))
        no_disable = dmesg(0.5).splitlines()[:2]
        self.assertIsNone(faults.kernel_fallback_s("\n".join(no_disable)))

    def test_agent_that_never_exits_after_sigcont_fails(self):
        facts, files = passing_run()
        facts["sigstop.agent_exit_code"] = "timeout"
        self.assertFalse(self.verdicts(self.report(facts, files))["sigstop"])

    def test_a_ring_that_never_filled_fails(self):
        facts, files = passing_run()
        files["ring_saturation.agent.json"] = json.dumps({"ejected": False, "metrics": {"congested": 0}})
        self.assertIn("congested = 0: the ring never filled",
                      self.failures(self.report(facts, files), "ring_saturation"))

    def test_hotplug_handled_in_place_passes_too(self):
        facts, files = passing_run()
        facts.update({"hotplug.agent_alive_after": True, "hotplug.state_after_offline": "enabled"})
        r = self.report(facts, files)
        hp = next(c for c in r["cases"] if c["name"] == "hotplug")
        self.assertTrue(hp["passed"], hp)
        self.assertEqual(hp["observed"]["outcome"], "handled")

    def test_hotplug_exit_without_a_reason_or_with_a_panic_fails(self):
        facts, files = passing_run()
        files["hotplug.agent.json"] = json.dumps({"ejected": False, "exit_reason": "", "exit_message": ""})
        self.assertIn("no exit reason reported", self.failures(self.report(facts, files), "hotplug"))
        r = self.report(*passing_run(), kernel_panic=True)
        self.assertIn("kernel panic", self.failures(r, "hotplug"))

    def test_refusal_that_attached_or_said_two_errors_fails(self):
        facts, files = passing_run()
        facts["bad_model_corrupt.states_seen"] = "disabled enabled "
        facts["bad_model_corrupt.attaches"] = 1
        files["bad_flags_policy.out"] = "error: one\nerror: two\n"
        r = self.report(facts, files)
        self.assertFalse(self.verdicts(r)["bad_model_corrupt"])
        self.assertIn("2 error lines", self.failures(r, "bad_flags_policy")[0])

    def test_refusal_that_exits_zero_fails(self):
        facts, files = passing_run()
        facts["no_onnxruntime.exit_code"] = 0
        self.assertIn("exit code 0", self.failures(self.report(facts, files), "no_onnxruntime"))

    def test_tracer_file_read_as_whole_fails(self):
        facts, files = passing_run()
        facts.update({"tracer_killed.stats_partial_exit_code": 0, "tracer_killed.final_exists": True})
        self.assertEqual(len(self.failures(self.report(facts, files), "tracer_killed")), 2)

    def test_no_sched_ext_on_a_host_with_sched_ext_fails_instead_of_attaching(self):
        faults.SCHED_EXT_DIR = self.tmp
        fails = self.failures(self.report(*passing_run()), "no_sched_ext")
        self.assertIn("this host has sched_ext", fails[0])

    def test_a_guest_error_and_a_timeout_fail_the_whole_report(self):
        facts, files = passing_run()
        facts["bad_model_wrong_shape.error"] = "input \"step\" shape not found"
        r = self.report(facts, files, timed_out=True)
        self.assertFalse(self.verdicts(r)["bad_model_wrong_shape"])
        self.assertEqual(r["harness_errors"], ["the VM or the scenario timed out"])
        self.assertFalse(r["passed"])


class FaultsScenarioMetaTest(unittest.TestCase):
    def test_faults_asks_for_four_vcpus_others_keep_two(self):
        self.assertEqual(scenarios.meta("faults")["cpus"], 4)  # hotplug needs spare CPUs
        self.assertEqual(scenarios.meta("kill")["cpus"], 2)
        self.assertTrue(scenarios.meta("faults")["agent"])


if __name__ == "__main__":
    unittest.main()
