"""The stale-task rule (encoding_spec.json notes.stale) on hand-made events, with short limits:
1 ms after an idle pick, 5 ms in all. oracle/src/encoding_tests.rs has the same cases
(a_task_never_seen_again_leaves_the_queue_after_an_idle_pick,
a_busy_cpu_keeps_a_waiting_task_until_the_overall_limit,
a_task_taken_out_and_woken_again_waits_again); test_rust_side checks both encoders agree on a
real trace."""
import unittest

from model.encoding import Encoder, load_spec


def spec(**limits):
    return dict(load_spec(), candidates=4, recent_per_cpu=3, **limits)


STALE = spec(stale_after_idle_ns=1_000_000, stale_after_ns=5_000_000)


def wake(ts, pid, cpu=0):
    return dict(ts_ns=ts, cpu=cpu, event="wakeup", next_pid=pid, next_tgid=pid, next_comm="worker",
                next_prio=120, target_cpu=cpu)


def sw(ts, prev, state, nxt, cpu=0):
    return dict(ts_ns=ts, cpu=cpu, event="switch", prev_pid=prev, prev_tgid=prev, prev_prio=120,
                prev_comm="worker", prev_state=state, next_pid=nxt, next_tgid=nxt, next_prio=120,
                next_comm="worker")


def encode(events, sp):
    enc = Encoder(sp)
    return [s for s in map(enc.event, events) if s is not None], enc


def waiting(enc, step, pid):
    """Whether pid is a runnable candidate of the step."""
    if pid not in step.cand_pids:
        return False
    return step.cands[step.cand_pids.index(pid)][enc.ci["runnable"]] == 1.0


def at(steps, ts):
    return next(s for s in steps if s.ts >= ts)


class StaleTaskTest(unittest.TestCase):
    def test_a_task_never_seen_again_leaves_the_queue_after_an_idle_pick(self):
        events = [wake(0, 9), wake(0, 1), sw(100_000, 0, "R", 1), sw(400_000, 1, "S", 0)]
        t = 400_000
        for _ in range(6):
            t += 300_000
            events += [wake(t, 2), sw(t + 1, 0, "R", 2)]
            t += 300_000
            events.append(sw(t, 2, "S", 0))
        steps, enc = encode(events, STALE)
        self.assertTrue(waiting(enc, at(steps, 700_000), 9), "0.7 ms: still waiting")
        self.assertTrue(waiting(enc, at(steps, 1_300_000), 9), "checked after each switch")
        self.assertFalse(waiting(enc, at(steps, 1_400_000), 9), "over 1 ms, idle picked since")
        self.assertFalse(waiting(enc, steps[-1], 9))
        steps, enc = encode(events, spec())   # the spec's own limits (1 s, 2 s): it stays
        self.assertTrue(waiting(enc, steps[-1], 9))

    def test_a_busy_cpu_keeps_a_waiting_task_until_the_overall_limit(self):
        events = [wake(0, 9), wake(0, 1), wake(0, 2), sw(100_000, 0, "R", 1)]
        t, prev = 100_000, 1
        while t < 7_000_000:
            t += 500_000
            events.append(sw(t, prev, "R", 3 - prev))
            prev = 3 - prev
        steps, enc = encode(events, STALE)
        self.assertTrue(waiting(enc, at(steps, 4_600_000), 9), "no idle pick: 1 ms does not apply")
        self.assertFalse(waiting(enc, at(steps, 5_200_000), 9), "over 5 ms in all")
        self.assertTrue(all(waiting(enc, s, s.next_pid) for s in steps))

    def test_a_task_taken_out_and_woken_again_waits_again(self):
        events = [wake(0, 9), wake(0, 1), sw(100_000, 0, "R", 1), sw(200_000, 1, "S", 0),
                  wake(1_500_000, 1), sw(1_500_001, 0, "R", 1), sw(1_600_000, 1, "S", 0),
                  wake(1_700_000, 9), sw(1_800_000, 0, "R", 9)]
        steps, enc = encode(events, STALE)
        self.assertTrue(waiting(enc, steps[2], 9), "checked after a switch, not before")
        self.assertFalse(waiting(enc, steps[3], 9))
        self.assertTrue(waiting(enc, steps[4], 9), "woken again: waits again")
        self.assertGreater(steps[4].target, 0)


if __name__ == "__main__":
    unittest.main()
