"""The EEVDF estimate on a hand-computed case; oracle/src/eevdf_tests.rs has the same one
(a_wakeup_charges_the_running_task_the_kernels_cpu_time), so both sides give these numbers."""
import unittest

from model.eevdf import Eevdf


class WakeupChargeTest(unittest.TestCase):
    def test_a_wakeup_charges_the_running_task_the_kernels_cpu_time(self):
        x = Eevdf({"eevdf_slice_ns": 1_500_000, "eevdf_lag_limit_ns": 4_000_000})
        x.wakeup(1, 0, 0, True)
        x.switch(0, 0, 0, None, 1, 5_000)
        x.wakeup(2, 0, 1000, True)
        x.switch(0, 3000, 1, "R", 2, 2_500)
        x.switch(0, 4000, 2, "R", 1, None)
        x.wakeup(3, 0, 14_000, True, 1, 6_500)
        self.assertEqual(x.ents[1].v, 7000)    # the clock would say 13_000
        self.assertEqual(x.ents[3].v, 4500)
        x.wakeup(4, 0, 15_000, True, 2, 99_999)   # not the running task: the clock
        self.assertEqual(x.ents[1].v, 8000)


if __name__ == "__main__":
    unittest.main()
