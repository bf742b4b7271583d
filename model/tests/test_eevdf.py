"""The EEVDF estimate on hand-computed cases; oracle/src/eevdf_tests.rs has the same ones
(a_wakeup_charges_the_running_task_the_kernels_cpu_time,
a_picked_task_past_the_average_is_moved_to_it), so both sides give these numbers."""
import unittest

from model.eevdf import Eevdf


class WakeupChargeTest(unittest.TestCase):
    def test_a_wakeup_charges_the_running_task_the_kernels_cpu_time(self):
        x = Eevdf({"eevdf_slice_ns": 1_500_000, "eevdf_lag_limit_ns": 4_000_000})
        x.wakeup(1, 0, 0, True)
        x.switch(0, 0, 0, None, 1, 5_000)
        x.wakeup(2, 0, 1000, True)
        x.switch(0, 3000, 1, "R", 2, 2_500)
        x.switch(0, 4000, 2, "R", 1, None)    # 1 past the average (2500): put there
        x.wakeup(3, 0, 14_000, True, 1, 6_500)
        self.assertEqual(x.ents[1].v, 6500)    # the clock would say 12_500
        self.assertEqual(x.ents[3].v, 4250)
        x.wakeup(4, 0, 15_000, True, 2, 99_999)   # not the running task: the clock
        self.assertEqual(x.ents[1].v, 7500)


class PickCorrectionTest(unittest.TestCase):
    def test_a_picked_task_past_the_average_is_moved_to_it(self):
        x = Eevdf({"eevdf_slice_ns": 1_500_000, "eevdf_lag_limit_ns": 4_000_000})
        x.wakeup(1, 0, 0, True)
        x.switch(0, 0, 0, None, 1)
        x.wakeup(2, 0, 0, True)
        x.switch(0, 10_000, 1, "R", 2)
        x.switch(0, 40_000, 2, "R", 1)      # 1 (10_000) is eligible: left alone
        self.assertEqual(x.ents[1].v, 10_000)
        x.switch(0, 41_000, 1, "R", 2)      # 2 (30_000) past the average (20_500): moved
        self.assertEqual(x.ents[2].v, 20_500)
        self.assertEqual(x.view(0, 41_000).avg, 15_750)


if __name__ == "__main__":
    unittest.main()
