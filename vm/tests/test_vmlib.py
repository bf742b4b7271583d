"""Fast host-side tests of the harness (no QEMU): python3 -m unittest discover -s vm/tests"""
import base64
import gzip
import io
import json
import subprocess
import sys
import tarfile
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from vmlib import cpio, dmesg, kernel, results, scenarios  # noqa: E402
from vmlib.paths import HarnessError  # noqa: E402


def channel_text(files, noise="console noise\n"):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    b64 = base64.encodebytes(gzip.compress(buf.getvalue())).decode()
    return f"{noise}{results.BEGIN}\n{b64}{results.END}\n"


class ChannelTest(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(self.enterContext(tempfile.TemporaryDirectory()))

    def test_roundtrip_and_json(self):
        agent = {"ops": "oracle_x", "ejected": False, "exit_reason": "unregistered",
                 "metrics": {"userspace_decisions": 5, "direct_dispatches": 1, "drain_errors": 0}}
        files = {"./facts/state_while_running": b"enabled\n", "./facts/agent_exit_code": b"0\n",
                 "./facts/agent_cmd": b"/usr/bin/scx_oracle run\n",
                 "./facts/disable_s": b"0.25\n", "./facts/agent_alive_after_workload": b"yes\n",
                 "./agent.json": json.dumps(agent).encode(), "./params": b"duration=5\n",
                 "./dmesg.txt": b"[ 1.0] WARNING: CPU: 0 PID: 1 at foo\n"}
        (self.tmp / "ch").write_text(channel_text(files))
        res = self.tmp / "res"
        results.unpack_channel(self.tmp / "ch", res)
        doc = results.build({"scenario": "smoke"}, res, True, "", True)
        self.assertEqual(doc["state_while_running"], "enabled")
        self.assertEqual(doc["agent_exit_code"], 0)
        self.assertEqual(doc["facts"]["disable_s"], 0.25)
        self.assertIs(doc["facts"]["agent_alive_after_workload"], True)
        # Every metric of the agent, under its own name, at the top level and under metrics.
        self.assertEqual((doc["userspace_decisions"], doc["drain_errors"]), (5, 0))
        self.assertEqual(doc["metrics"], agent["metrics"])
        self.assertIs(doc["ejected"], False)
        self.assertEqual(doc["params"], {"duration": "5"})
        self.assertEqual(doc["dmesg_errors"], ["WARNING: CPU: 0 PID: 1 at foo"])
        self.assertIsNone(doc["error"])

    def test_metric_lines_of_stats_and_monitor(self):
        line = ("[    2.0s] at_s=2.001 userspace_decisions=10 decisions_per_s=5.0 drain_errors=0 "
                "pick_p99_us=0.511")
        files = {"./facts/agent_cmd": b"scx_oracle run\n", "./agent.json": b'{"metrics": {}}',
                 "./agent.log": f"scx_oracle: attached as 'oracle'\n{line}\n".encode(),
                 "./monitor.log": f"{line}\n{line}\n".encode()}
        (self.tmp / "ch").write_text(channel_text(files))
        res = self.tmp / "res"
        results.unpack_channel(self.tmp / "ch", res)
        doc = results.build({}, res, True, "", True)
        want = {"at_s": 2.001, "userspace_decisions": 10, "decisions_per_s": 5.0, "drain_errors": 0,
                "pick_p99_us": 0.511}
        self.assertEqual(doc["stats_lines"], [want])
        self.assertEqual(doc["monitor_lines"], [want, want])

    def test_missing_summary_sets_error_and_null_counters(self):
        (self.tmp / "ch").write_text(channel_text({"./facts/agent_cmd": b"scx_oracle run\n"}))
        res = self.tmp / "res"
        results.unpack_channel(self.tmp / "ch", res)
        doc = results.build({}, res, True, "", True)
        self.assertIsNone(doc["metrics"])
        self.assertNotIn("userspace_decisions", doc)
        self.assertIn("no summary", doc["error"])

    def test_scenario_that_skipped_the_agent_is_no_error(self):
        (self.tmp / "ch").write_text(channel_text({"./facts/baseline": b"yes\n"}))
        res = self.tmp / "res"
        results.unpack_channel(self.tmp / "ch", res)
        doc = results.build({}, res, True, "", True)
        self.assertIsNone(doc["error"])
        self.assertIs(doc["ejected"], False)

    def test_truncated_and_absent(self):
        full = channel_text({"./x": b"1"})
        (self.tmp / "t").write_text(full[: full.index(results.END)])
        with self.assertRaisesRegex(results.ChannelError, "truncated"):
            results.unpack_channel(self.tmp / "t", self.tmp / "r")
        (self.tmp / "n").write_text("only console\n")
        with self.assertRaisesRegex(results.ChannelError, "no begin marker"):
            results.unpack_channel(self.tmp / "n", self.tmp / "r")


class DmesgTest(unittest.TestCase):
    LOG = "\n".join([
        "[    3.6] clocksource: Watchdog remote CPU 1 read timed out",
        "[    4.0] NMI watchdog: Perf NMI watchdog permanently disabled",
        '[   10.0] sched_ext: BPF scheduler "oracle" enabled',
        '[   20.0] sched_ext: BPF scheduler "oracle" disabled (unregistered from user space)',
        '[   30.0] sched_ext: BPF scheduler "oracle" disabled (runnable task stall)',
        "[   31.0] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
    ])

    def test_patterns(self):
        errs = dmesg.errors(self.LOG)
        self.assertEqual(len(errs), 2, errs)
        self.assertTrue(errs[0].startswith('sched_ext: BPF scheduler "oracle" disabled (runnable'))

    def test_last_disable(self):
        ops, reason = dmesg.last_disable(self.LOG)
        self.assertEqual((ops, reason), ("oracle", "runnable task stall"))
        self.assertTrue(dmesg.is_error_exit(reason))
        self.assertFalse(dmesg.is_error_exit("unregistered from user space"))


class CodePatchRetryTest(unittest.TestCase):
    """scripts/vm-run boots once more only for the emulator's lost code patch."""
    OOPS = "\n".join([
        "[    6.1] Oops: int3: 0000 [#1] SMP NOPTI",
        "[    6.1] RIP: 0010:do_pick_task_scx+0x1f/0x2e0",
        "[    6.2] Kernel panic - not syncing: Fatal exception in interrupt",
    ])

    def test_only_an_int3_panic_without_results(self):
        died = {"kernel_panic": True, "results_received": False}
        self.assertTrue(results.died_on_a_code_patch(died, self.OOPS))
        self.assertFalse(results.died_on_a_code_patch(dict(died, results_received=True), self.OOPS),
                         "results came back: the scenario reported, judge it as it is")
        other = self.OOPS.replace("int3", "general protection fault")
        self.assertFalse(results.died_on_a_code_patch(died, other), "any other oops is ours to see")
        self.assertFalse(results.died_on_a_code_patch({"kernel_panic": False}, self.OOPS))


    def test_results_lost_on_the_wire_only_after_the_guest_sent_them(self):
        sent = "scx-init: done uptime=29.12, results sent; powering off\n"
        cut = {"error": "results from the guest are truncated (no end marker on ttyS1)",
               "results_received": False}
        self.assertTrue(results.lost_on_the_wire(cut, sent))
        self.assertFalse(results.lost_on_the_wire(cut, "scx-init: running /scenarios/smoke.sh\n"),
                         "the guest never said it sent them: whatever stopped it is ours to see")
        self.assertFalse(results.lost_on_the_wire(dict(cut, error="guest sent no results"), sent))
        self.assertFalse(results.lost_on_the_wire({"error": None, "results_received": True}, sent))

    def _vm_run_twice(self, first_console, first_channel=None):
        """scripts/vm-run itself, QEMU faked: the first boot ends with `first_console` (and
        `first_channel` on ttyS1), the second sends its results. -> (exit code, JSON, out dir)."""
        import importlib.machinery
        import importlib.util
        from unittest import mock
        from vmlib import initramfs, kernel, lock, qemu
        loader = importlib.machinery.SourceFileLoader(
            "vm_run", str(Path(__file__).resolve().parents[2] / "scripts/vm-run"))
        vm_run = importlib.util.module_from_spec(importlib.util.spec_from_loader("vm_run", loader))
        loader.exec_module(vm_run)
        tmp = Path(self.enterContext(tempfile.TemporaryDirectory()))
        good = "scx-init: start\n" + channel_text({"facts/ok": b"yes"})
        boots = [(first_console, first_channel), (good, good)]

        def fake_run(cmd, console_log, timeout_s, verbose):
            text, channel_text_ = boots.pop(0)
            Path(console_log).write_text(text)
            channel = Path(cmd[-1])   # the fake command's last word: the channel file
            if channel_text_ is not None:
                channel.write_text(channel_text_)
            return {"qemu_exit_code": 0, "timed_out": False, "wall_s": 1.0, "console": text,
                    "boot_s": 0.5 if "scx-init" in text else None}

        with mock.patch.object(kernel, "resolve", return_value={"kernel": "/k", "source": "test"}), \
                mock.patch.object(initramfs, "build", return_value="/initrd"), \
                mock.patch.object(lock, "hold", return_value=None), \
                mock.patch.object(qemu, "command", side_effect=lambda *a, **k: ["qemu", str(a[5])]), \
                mock.patch.object(qemu, "run", side_effect=fake_run):
            rc = vm_run.main(["smoke", "--out", str(tmp)])
        self.assertEqual(boots, [], "booted twice")
        return rc, json.loads((tmp / "smoke.json").read_text()), tmp

    def test_vm_run_boots_once_more_and_keeps_the_first_console(self):
        """The first boot dies on the int3, the second sends its results; the JSON is the
        second boot's and names the first console."""
        rc, doc, tmp = self._vm_run_twice(self.OOPS + "\n")
        self.assertEqual(rc, 0)
        self.assertTrue(doc["results_received"])
        self.assertFalse(doc["kernel_panic"])
        self.assertEqual(doc["retried_after"]["first_console_log"], str(tmp / "smoke.console.first.log"))
        self.assertIn("Oops: int3", (tmp / "smoke.console.first.log").read_text())

    def test_vm_run_boots_once_more_when_the_results_lost_their_end(self):
        whole = channel_text({"facts/ok": b"yes", "agent.log": bytes(range(256)) * 40})
        cut = whole[:whole.index(results.END) - 200]
        rc, doc, _ = self._vm_run_twice(
            "scx-init: start\nscx-init: done uptime=29.12, results sent; powering off\n", cut)
        self.assertEqual(rc, 0)
        self.assertTrue(doc["results_received"])
        self.assertEqual(doc["retried_after"]["reason"], "results truncated on ttyS1 after the guest sent them")


class CpioTest(unittest.TestCase):
    def test_newc_layout(self):
        buf = io.BytesIO()
        w = cpio.CpioWriter(buf)
        w.dir("bin")
        w.file("bin/x", b"abc", 0o755)
        w.symlink("bin/y", "x")
        w.chardev("dev/console", 5, 1)
        w.close()
        data = buf.getvalue()
        self.assertEqual(len(data) % 4, 0)
        self.assertEqual(data.count(b"070701"), 5)
        self.assertIn(b"TRAILER!!!\0", data)


class KernelTest(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(self.enterContext(tempfile.TemporaryDirectory()))

    def test_config_without_sched_ext_names_file(self):
        cfg = self.tmp / "config"
        cfg.write_text("# CONFIG_SCHED_CLASS_EXT is not set\nCONFIG_DEBUG_INFO_BTF=y\n")
        with self.assertRaisesRegex(HarnessError, str(cfg)):
            kernel.check_config(cfg)

    def test_missing_and_bogus_kernel(self):
        with self.assertRaisesRegex(HarnessError, "does not exist"):
            kernel.user_kernel(self.tmp / "nope")
        (self.tmp / "junk").write_bytes(b"x" * 1024)
        with self.assertRaisesRegex(HarnessError, "not a kernel image"):
            kernel.user_kernel(self.tmp / "junk")

    def test_user_kernel_with_config(self):
        img = self.tmp / "bzImage"
        img.write_bytes(b"\0" * 0x202 + b"HdrS" + b"\0" * 16)
        (self.tmp / "config").write_text("CONFIG_SCHED_CLASS_EXT=y\nCONFIG_DEBUG_INFO_BTF=y\n")
        info = kernel.user_kernel(img)
        self.assertTrue(info["sched_ext"] and info["btf"])

    def test_stock_pick_newest_of_its_series_only(self):
        names = ["linux-image-6.1.0-9-cloud-amd64", "linux-image-6.1.0-50-cloud-amd64",
                 "linux-image-6.1.0-50-cloud-amd64-unsigned", "linux-image-6.1.0-47-cloud-amd64-dbg",
                 "linux-image-6.12.57+deb13-cloud-amd64", "linux-image-6.12.117+deb12-cloud-amd64",
                 "linux-image-6.12.117+deb12-cloud-amd64-unsigned", "linux-image-cloud-amd64"]
        self.assertEqual(kernel.stock_pick(names, "6.1"), "6.1.0-50-cloud-amd64")
        self.assertEqual(kernel.stock_pick(names, "6.12"), "6.12.117+deb12-cloud-amd64")
        self.assertIsNone(kernel.stock_pick(names, "6.2"))

    def test_debian_series_must_be_a_series(self):
        with self.assertRaisesRegex(HarnessError, "debian:6.1"):
            kernel.resolve("debian:latest")


class ScenarioTest(unittest.TestCase):
    def test_catalogue(self):
        names = scenarios.names()
        for n in ("boot", "smoke", "stress", "kill", "demo", "bench"):
            self.assertIn(n, names)
        self.assertNotIn("lib", names)  # helpers have no scx-meta header
        self.assertNotIn("workloads", names)
        self.assertFalse(scenarios.meta("boot")["agent"])
        self.assertTrue(scenarios.meta("stress")["agent"])
        with self.assertRaisesRegex(HarnessError, "valid: ab, bench"):
            scenarios.meta("nope")

    def test_guest_scripts_parse(self):
        """busybox sh -n on /init, lib.sh and every scenario (what the guest will run)."""
        vm = Path(__file__).resolve().parent.parent
        shell = "/bin/busybox" if Path("/bin/busybox").exists() else "sh"
        for script in [vm / "guest" / "init", *sorted((vm / "scenarios").glob("*.sh"))]:
            r = subprocess.run([shell, "sh", "-n", str(script)] if shell.endswith("busybox")
                               else [shell, "-n", str(script)], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, f"{script}: {r.stderr}")


if __name__ == "__main__":
    unittest.main()
