"""scripts/ab's bookkeeping (vmlib.ab, vmlib.ab_report) on made-up boots, no VM:
python3 -m unittest discover -s vm/tests"""
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from vmlib import ab, ab_report  # noqa: E402


def boot_doc(config, hackbench=1.0, p99=100, share="3.060", metrics=None, **over):
    facts = {"ab_config": config, "ab_hackbench_pipe_time_s": hackbench,
             "ab_hackbench_socket_time_s": hackbench * 2, "ab_wakeup_p50_us": p99 // 10,
             "ab_wakeup_p99_us": p99, "ab_stress_cpu_bogo_ops_s": 100.5,
             "ab_stress_switch_bogo_ops_s": 2000.0, "ab_request_response_req_s": "50.0",
             "ab_request_response_p50_us": "900", "ab_request_response_p99_us": "4200",
             "ab_fairness_share_ratio": share}
    doc = {"error": None, "timed_out": False, "scenario_timed_out": False, "ejected": False,
           "state_while_running": None if config == "eevdf" else "enabled",
           "workload_exit_code": 0, "facts": facts, "metrics": metrics}
    doc.update(over)
    return doc


class PlanTest(unittest.TestCase):
    def test_rounds_are_interleaved_per_vcpu_count(self):
        p = ab.plan(2, [2, 4], ["eevdf", "fifo"])
        self.assertEqual(p[:4], [(2, 0, "eevdf"), (2, 0, "fifo"), (2, 1, "eevdf"), (2, 1, "fifo")])
        self.assertEqual(len(p), 8)
        self.assertEqual(p[4], (4, 0, "eevdf"))


class BootProblemTest(unittest.TestCase):
    def test_good_boot_has_no_problem(self):
        self.assertIsNone(ab.boot_problem(boot_doc("eevdf")))
        self.assertIsNone(ab.boot_problem(boot_doc("fifo")))

    def test_each_failure_is_named(self):
        self.assertIn("ejected", ab.boot_problem(boot_doc("fifo", ejected=True, exit_reason="stall")))
        # The kernel's message names the task that stalled: the line says it.
        stalled = boot_doc("fifo", ejected=True, exit_reason="runnable task stall",
                           exit_message="stress-ng-cpu[412] failed to run for 5.52s")
        self.assertEqual(ab.boot_problem(stalled),
                         "scheduler ejected: runnable task stall (stress-ng-cpu[412] failed to run for 5.52s)")
        self.assertIn("never enabled", ab.boot_problem(boot_doc("fifo", state_while_running="disabled")))
        self.assertIn("workload failed", ab.boot_problem(boot_doc("eevdf", workload_exit_code=1)))
        self.assertEqual(ab.boot_problem(boot_doc("eevdf", timed_out=True)), "timed out")
        self.assertEqual(ab.boot_problem(boot_doc("eevdf", error="vm-run failed")), "vm-run failed")


class DiedBeforeInitTest(unittest.TestCase):
    def test_only_a_panic_before_our_init_counts(self):
        early = boot_doc("fifo", kernel_panic=True, results_received=False, boot_s=None,
                         error="Kernel panic - not syncing")
        self.assertTrue(ab.died_before_init(early))
        late = boot_doc("fifo", kernel_panic=True, results_received=False, boot_s=3.9)
        self.assertFalse(ab.died_before_init(late), "a panic under our scheduler is a result")
        self.assertFalse(ab.died_before_init(boot_doc("fifo", boot_s=3.9, results_received=True)))


class RowsTest(unittest.TestCase):
    def test_one_row_per_metric_with_text_facts_as_numbers(self):
        rs = ab.rows(boot_doc("eevdf"), "eevdf", 0, 2)
        self.assertEqual(len(rs), len(ab.METRICS))
        by = {(r["workload"], r["metric"]): r["value"] for r in rs}
        self.assertEqual(by[("fairness", "share_ratio")], 3.06)
        self.assertEqual(by[("request_response", "req_s")], 50.0)
        self.assertEqual(by[("request_response", "p99_us")], 4200.0)
        self.assertNotIn("userspace_decisions", rs[0])

    def test_agent_rows_say_who_was_in_charge(self):
        m = {"userspace_decisions": 10, "model_decisions": 7, "fallbacks": 3}
        r = ab.rows(boot_doc("oracle", metrics=m), "oracle", 1, 4)[0]
        self.assertEqual((r["userspace_decisions"], r["model_decisions"], r["fallbacks"]), (10, 7, 3))
        self.assertEqual((r["round"], r["vcpus"]), (1, 4))

    def test_missing_or_bad_fact_is_none(self):
        doc = boot_doc("eevdf")
        del doc["facts"]["ab_wakeup_p99_us"]
        doc["facts"]["ab_wakeup_p50_us"] = "n/a"
        by = {(r["workload"], r["metric"]): r["value"] for r in ab.rows(doc, "eevdf", 0, 2)}
        self.assertIsNone(by[("wakeup", "p99_us")])
        self.assertIsNone(by[("wakeup", "p50_us")])


class SummaryTest(unittest.TestCase):
    def setUp(self):
        self.configs = ["eevdf", "fifo", "rustland"]
        self.runs = []
        # Round 1 is twice as slow for everyone (a loaded host): paired ratios cancel it.
        for rnd, slow in ((0, 1), (1, 2), (2, 1)):
            self.runs += ab.rows(boot_doc("eevdf", hackbench=1.0 * slow, p99=100 * slow), "eevdf", rnd, 2)
            self.runs += ab.rows(boot_doc("fifo", hackbench=0.8 * slow, p99=300 * slow, share="1.0",
                                          metrics={"userspace_decisions": 5 + rnd}), "fifo", rnd, 2)
            self.runs += ab.rows(boot_doc("rustland", p99=200 * slow), "rustland", rnd, 2)
        self.summary = ab.summarize(self.runs, self.configs)

    def test_paired_ratio_median_and_spread(self):
        cell = self.summary[2]["hackbench_pipe/time_s"]["fifo"]
        self.assertEqual(cell["ratio"], 0.8)
        self.assertEqual(cell["ratio_spread"], [0.8, 0.8])
        self.assertEqual(cell["median"], 0.8)
        self.assertEqual(cell["spread"], [0.8, 1.6])
        self.assertEqual(cell["n"], 3)
        self.assertNotIn("ratio", self.summary[2]["hackbench_pipe/time_s"]["eevdf"])

    def test_fairness_against_weight_ratio(self):
        self.assertEqual(self.summary[2]["fairness/share_ratio"]["eevdf"]["off_weight_pct"], 0.1)
        self.assertEqual(self.summary[2]["fairness/share_ratio"]["fifo"]["off_weight_pct"], -67.3)

    def test_goals_say_by_how_much(self):
        g = {(x["config"], x["goal"]): x for x in ab.goals(self.summary, self.configs)}
        self.assertTrue(g[("fifo", "hackbench_pipe time <= 1.0x EEVDF")]["met"])
        p99 = g[("fifo", "wakeup p99 <= 1.5x EEVDF")]
        self.assertEqual((p99["value"], p99["met"]), (3.0, False))
        self.assertFalse(g[("fifo", "wakeup p99 <= scx_rustland's")]["met"])
        self.assertFalse(g[("fifo", "fairness within 10% of weight ratio")]["met"])
        self.assertNotIn("rustland", {x["config"] for x in g.values()})  # goals are ours only

    def test_charge_and_report(self):
        ch = ab.charge_summary(self.runs, self.configs)
        self.assertEqual(ch[2]["fifo"]["userspace_decisions"], 6)
        meta = {"command": "scripts/ab", "rounds": 3, "vcpus": [2], "quick": False,
                "started": "t", "notes": ["scx_rustland column not built: because"]}
        md = ab_report.markdown(meta, self.summary, ch, ab.goals(self.summary, self.configs),
                                self.configs, [{"vcpus": 2, "round": 0, "config": "fifo",
                                                "problem": "timed out"}], {2: "ab-2vcpu.svg"})
        self.assertIn("| hackbench_pipe | time_s | 1 [1–2] | 0.8 **×0.80** [0.80–0.80]", md)
        self.assertIn("TCG", md)
        self.assertIn("not built: because", md)
        self.assertIn("round 0, fifo: timed out", md)
        self.assertIn("| 2 | fifo | wakeup p99 <= 1.5x EEVDF | ×3.00 | **no** |", md)


if __name__ == "__main__":
    unittest.main()
