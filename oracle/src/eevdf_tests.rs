//! The EEVDF estimate on hand-computed cases (model/eevdf.py gives the same numbers; the
//! round-trip test compares the two on real traces). Spec constants: slice 1.5 ms, lag limit
//! 4 ms, so a nice-0 task's virtual slice is 1_500_000.

use super::eevdf::{Eevdf, Entity, View};

const NEW: bool = true;

fn estimate() -> Eevdf {
    Eevdf::new(1_500_000, 4_000_000, 0, true, true)
}

fn ent(x: &Eevdf, pid: i32) -> Entity {
    x.entity(pid).unwrap().clone()
}

fn view(x: &Eevdf, c: u32, now: i64) -> View {
    let mut v = View::default();
    x.view_into(c, now, 0, None, None, &mut v);
    v
}

/// (avg, [(pid, v, dl, w)] by pid, order).
type Seen = (i64, Vec<(i32, i64, i64, i64)>, Vec<i32>);

fn seen(v: &View, pids: &[i32]) -> Seen {
    let q = pids
        .iter()
        .map(|&p| v.get(p).map_or((p, -1, -1, -1), |q| (p, q.v, q.dl, q.w)))
        .collect();
    (v.avg, q, v.order().collect())
}

/// 1 and 2 woken new on CPU 0, 1 running from 0; at 3000 it sleeps while 2 takes the CPU.
/// 1 has run 3000 virtual ns to 2's 1000: above the average (2000), so it stays queued,
/// delayed.
fn one_sleeps_ineligible() -> Eevdf {
    let mut x = estimate();
    x.wakeup(1, 0, 0, NEW, None, None);
    x.switch(0, 0, 0, None, 1, None, None);
    x.wakeup(2, 0, 1000, NEW, None, None); // 1 charged to 1000; 2 placed at the average, half a slice
    assert_eq!((ent(&x, 2).v, ent(&x, 2).dl), (1000, 751_000));
    x.switch(0, 3000, 1, Some(b'S'), 2, None, None);
    let e = ent(&x, 1);
    assert_eq!(
        (e.v, e.dl, e.delayed, e.cpu),
        (3000, 750_000, true, Some(0))
    );
    x
}

#[test]
fn a_new_task_starts_at_the_average_with_half_a_slice() {
    let mut x = estimate();
    x.set_prio(3, 121); // nice 1: weight 820, virtual slice 1_536_000_000 / 820 = 1_873_170
    x.wakeup(3, 1, 0, NEW, None, None);
    let e = ent(&x, 3);
    assert_eq!((e.v, e.dl, e.w), (0, 936_585, 820));
}

#[test]
fn placement_scales_the_kept_lag_with_floored_division() {
    let mut x = one_sleeps_ineligible();
    x.set_prio(3, 121);
    x.wakeup(3, 1, 0, NEW, None, None); // CPU 1: 3 alone, weight 820, average 0
    // 1 wakes on CPU 1 while delayed on CPU 0. CPU 0 is charged first (2 has run 1000 more:
    // v 2000, average (3000 + 2000) / 2 = 2500), so 1 leaves with lag 2500 - 3000 = -500
    // (negative: DELAY_ZERO keeps it), placed on CPU 1 with that lag scaled by
    // (820 + 1024) / 820: -922_000 / 820 = -1124.4, floored to -1125 (not -1124).
    x.wakeup(1, 1, 4000, false, None, None);
    let e = ent(&x, 1);
    assert_eq!(
        (e.vlag, e.v, e.dl, e.cpu),
        (-500, 1125, 1125 + 1_500_000, Some(1))
    );
    assert_eq!(ent(&x, 2).v, 2000, "CPU 0 charged before 1 left it");
    // average (1024 x 1125) / 1844 = 624.7, floored; 3 is eligible, 1 is not.
    assert_eq!(
        seen(&view(&x, 1, 4000), &[1, 3]),
        (
            624,
            vec![(1, 1125, 1_501_125, 1024), (3, 0, 936_585, 820)],
            vec![3, 1]
        )
    );
    // CPU 0 kept 2 alone, charged in the view (not the state) for its 1000 ns more running.
    assert_eq!(
        seen(&view(&x, 0, 5000), &[2]),
        (3000, vec![(2, 3000, 751_000, 1024)], vec![2])
    );
    assert_eq!(ent(&x, 2).v, 2000, "a view changes nothing");
}

#[test]
fn a_delayed_sleeper_is_queued_but_out_of_the_order() {
    let x = one_sleeps_ineligible();
    let v = view(&x, 0, 3000);
    assert_eq!(
        seen(&v, &[1, 2]),
        (
            2000,
            vec![(1, 3000, 750_000, 1024), (2, 1000, 751_000, 1024)],
            vec![2]
        )
    );
    assert!(v.get(1).unwrap().delayed && v.rank(1).is_none());
    assert_eq!(v.rank(2), Some(0));
}

#[test]
fn requeue_of_a_delayed_sleeper_zeroes_a_positive_lag() {
    // Woken at 3500: 2 has run to 1500, the average is 2250, 1 (3000) still owes: it is just
    // requeued where it is.
    let mut x = one_sleeps_ineligible();
    x.wakeup(1, 0, 3500, false, None, None);
    let e = ent(&x, 1);
    assert_eq!((e.v, e.dl, e.delayed, e.vlag), (3000, 750_000, false, 0));
    assert_eq!(view(&x, 0, 3500).order().collect::<Vec<_>>(), vec![2, 1]);
    // Woken at 7000: 2 has run to 5000, the average is 4000, 1 is owed 1000: DELAY_ZERO
    // places it again with no lag, at the average of the others (5000), a full slice.
    let mut x = one_sleeps_ineligible();
    x.wakeup(1, 0, 7000, false, None, None);
    let e = ent(&x, 1);
    assert_eq!(
        (e.v, e.dl, e.delayed, e.vlag, e.cpu),
        (5000, 1_505_000, false, 0, Some(0))
    );
    assert_eq!(seen(&view(&x, 0, 7000), &[]).0, 5000);
}

#[test]
fn a_delayed_sleeper_leaves_at_a_switch_once_eligible_with_no_positive_lag() {
    let mut x = one_sleeps_ineligible();
    // 2 runs to 5000 and is preempted (its slice renewed): average 4000 >= 1's 3000.
    x.switch(0, 7000, 2, Some(b'R'), 2, None, None);
    let e = ent(&x, 1);
    assert_eq!(
        (e.cpu, e.delayed, e.vlag),
        (None, false, 0),
        "lag 1000 zeroed"
    );
    let e = ent(&x, 2);
    assert_eq!((e.v, e.dl), (5000, 1_505_000));
    assert_eq!(seen(&view(&x, 0, 7000), &[1, 2]).0, 5000);
}

#[test]
fn migration_keeps_the_lag_and_the_relative_deadline() {
    let mut x = estimate();
    x.wakeup(1, 0, 0, NEW, None, None);
    x.switch(0, 0, 0, None, 1, None, None);
    x.wakeup(2, 0, 1000, NEW, None, None); // v 1000, deadline 751_000: 750_000 ahead
    x.wakeup(3, 1, 2000, NEW, None, None); // CPU 1: 3 alone at 0
                               // At 5000 1 has run to 5000, CPU 0's average is 3000: 2 leaves with lag 2000, placed on
                               // CPU 1 at 0 - 2000 x 2048 / 1024 = -4000, its deadline still 750_000 ahead.
    x.migrate(2, 1, 5000);
    let e = ent(&x, 2);
    assert_eq!(
        (e.vlag, e.v, e.dl, e.rel, e.cpu),
        (2000, -4000, 746_000, -1, Some(1))
    );
    assert_eq!(
        seen(&view(&x, 1, 5000), &[2, 3]),
        (
            -2000,
            vec![(2, -4000, 746_000, 1024), (3, 0, 750_000, 1024)],
            vec![2, 3]
        )
    );
    assert_eq!(
        seen(&view(&x, 0, 5000), &[1]),
        (5000, vec![(1, 5000, 750_000, 1024)], vec![1])
    );
    // the running task is not moved by a migrate event: its switch-out comes first
    x.migrate(1, 1, 6000);
    assert_eq!(ent(&x, 1).cpu, Some(0));
}

#[test]
fn a_negative_average_floors() {
    // As above with 3 at nice 1 (weight 820): 2's lag 2000 scales to 2000 x 1844 / 820 =
    // 4497.6, floored to 4497; CPU 1's average is then 1024 x -4497 / 1844 = -2497.2, floored
    // to -2498 (truncation would say -2497).
    let mut x = estimate();
    x.wakeup(1, 0, 0, NEW, None, None);
    x.switch(0, 0, 0, None, 1, None, None);
    x.wakeup(2, 0, 1000, NEW, None, None);
    x.set_prio(3, 121);
    x.wakeup(3, 1, 2000, NEW, None, None);
    x.migrate(2, 1, 5000);
    let v = view(&x, 1, 5000);
    assert_eq!(
        seen(&v, &[2, 3]),
        (
            -2498,
            vec![(2, -4497, 745_503, 1024), (3, 0, 936_585, 820)],
            vec![2, 3]
        )
    );
}

#[test]
fn a_view_renews_a_used_up_deadline_as_charging_would() {
    let mut x = one_sleeps_ineligible();
    // 2 runs from 3000 with v 1000 and deadline 751_000: 750_000 ns later it has used it up
    let now = 3000 + 750_000;
    let v = view(&x, 0, now);
    assert_eq!(v.get(2).map(|q| (q.v, q.dl)), Some((751_000, 2_251_000)));
    assert_eq!(ent(&x, 2).dl, 751_000, "a view changes nothing");
    x.switch(0, now, 2, Some(b'S'), 0, None, None);
    assert_eq!(ent(&x, 2).dl, 2_251_000, "charging renews it the same way");
}

#[test]
fn the_kernels_charge_replaces_the_timestamps() {
    let mut x = estimate();
    x.wakeup(1, 0, 0, NEW, None, None);
    x.switch(0, 0, 0, None, 1, Some(5_000), None); // idle out; 1 in at v 0, its CPU time unknown
    x.wakeup(2, 0, 1000, NEW, None, None);
    // 1 preempted at 3000 having run 2500 ns in all: its first switch-out, so the time since
    // its switch-in charges it (3000), and from now on its CPU time is known.
    x.switch(0, 3000, 1, Some(b'R'), 2, Some(2_500), None);
    assert_eq!((ent(&x, 1).v, ent(&x, 1).runtime), (3000, 2500));
    // Preempted by 2, woken since 1 switched in, 3000 ns into its first deadline (half a
    // slice): it keeps that deadline.
    assert_eq!(ent(&x, 1).dl, 750_000, "a wakeup preemption keeps the deadline");
    // 1 back in, past the average of 1 (3000) and 2 (2000): put at 2500
    x.switch(0, 4000, 2, Some(b'R'), 1, Some(900), None);
    // 1 runs 10_000 ns by the clock but the kernel charged it 4_000: v 2500 + 4000
    x.switch(0, 14_000, 1, Some(b'S'), 2, Some(6_500), None);
    let e = ent(&x, 1);
    assert_eq!((e.v, e.runtime), (6500, 6500));
    // a CPU time that went backwards (another task's, a reused pid) is not believed
    x.switch(0, 15_000, 2, Some(b'S'), 1, Some(900), None);
    x.switch(0, 16_000, 1, Some(b'S'), 0, Some(10), None);
    assert_eq!((ent(&x, 1).v, ent(&x, 1).runtime), (7500, 10));
}

#[test]
fn a_real_time_task_ranks_first_outside_the_fair_sums() {
    let mut x = estimate();
    x.wakeup(1, 0, 0, NEW, None, None);
    x.switch(0, 0, 0, None, 1, None, None);
    x.set_prio(9, 98); // SCHED_FIFO
    x.wakeup(9, 0, 1000, false, None, None);
    let v = view(&x, 0, 1000);
    // first, at the average, which is 1's alone
    assert_eq!(v.order().collect::<Vec<_>>(), vec![9, 1]);
    assert_eq!((v.avg, v.get(9).map(|q| (q.v, q.dl))), (1000, Some((1000, 1000))));
    x.switch(0, 1000, 1, Some(b'R'), 9, None, None);
    x.switch(0, 50_000, 9, Some(b'S'), 1, None, None);
    assert_eq!(ent(&x, 9).cpu, None);
    let v = view(&x, 0, 50_000);
    assert_eq!(v.order().collect::<Vec<_>>(), vec![1]);
    assert_eq!(ent(&x, 1).v, 1000, "not charged while the real-time task ran");
}

#[test]
fn the_pick_sees_a_blocking_prev_gone_or_delayed() {
    let x = {
        let mut x = estimate();
        x.wakeup(1, 0, 0, NEW, None, None);
        x.switch(0, 0, 0, None, 1, None, None);
        x.wakeup(2, 0, 1000, NEW, None, None); // 2 at 1000
        x.wakeup(3, 0, 2000, NEW, None, None); // 3 at the average of 1 (2000) and 2 (1000): 1500
        x
    };
    let mut v = View::default();
    // at 2200 1 (v 2200) sleeps: not eligible (average (2200 + 1000 + 1500) / 3 = 1566):
    // it stays, delayed, out of the order
    x.view_into(0, 2200, 1, Some(b'S'), None, &mut v);
    assert_eq!(v.avg, 1566);
    assert!(v.get(1).unwrap().delayed);
    assert_eq!(v.order().collect::<Vec<_>>(), vec![2, 3]);
    // preempted instead, it stays in the order
    x.view_into(0, 2200, 1, Some(b'R'), None, &mut v);
    assert_eq!(v.order().collect::<Vec<_>>(), vec![2, 3, 1]);
    // exiting, it is gone from the queue and its average
    x.view_into(0, 2200, 1, Some(b'X'), None, &mut v);
    assert_eq!((v.avg, v.get(1)), (1250, None));
}

#[test]
fn a_wakeup_charges_the_running_task_the_kernels_cpu_time() {
    let mut x = estimate();
    x.wakeup(1, 0, 0, NEW, None, None);
    x.switch(0, 0, 0, None, 1, Some(5_000), None);
    x.wakeup(2, 0, 1000, NEW, None, None); // by the clock: 1 at 1000, 2 placed there
    x.switch(0, 3000, 1, Some(b'R'), 2, Some(2_500), None); // 1 at 3000, its CPU time now known
    // 2 at 2000 by the clock; 1 back in at 4000, past the average (2500), so put there
    x.switch(0, 4000, 2, Some(b'R'), 1, None, None);
    // 3 wakes at 14_000 while 1 runs: the record says 1 has had 6_500 ns of CPU in all, 4_000
    // since it came back, so 1 is at 6500 (the clock would say 12_500) and 3 is placed at the
    // average of 1 and 2, (6500 + 2000) / 2.
    x.wakeup(3, 0, 14_000, NEW, Some(1), Some(6_500));
    assert_eq!(ent(&x, 1).v, 6500);
    assert_eq!(ent(&x, 3).v, 4250);
    // A record about another task (not the one running here) is not believed: the clock, 1000 ns.
    x.wakeup(4, 0, 15_000, NEW, Some(2), Some(99_999));
    assert_eq!(ent(&x, 1).v, 7500);
}

#[test]
fn a_picked_task_past_the_average_is_moved_to_it() {
    // model/tests/test_eevdf.py has the same case. 1 and 2 alternate on CPU 0 (CPU time by the
    // clock); at 41_000 the kernel picks 2 back although, in the estimate, 2 (30_000) is past
    // the average of 1 (11_000) and 2, 20_500. EEVDF picks only eligible tasks, so 2 is put at
    // 20_500, and the average follows: (11_000 + 20_500) / 2.
    let mut x = estimate();
    x.wakeup(1, 0, 0, NEW, None, None);
    x.switch(0, 0, 0, None, 1, None, None);
    x.wakeup(2, 0, 0, NEW, None, None);
    x.switch(0, 10_000, 1, Some(b'R'), 2, None, None);
    x.switch(0, 40_000, 2, Some(b'R'), 1, None, None); // 1 (10_000) is eligible: left alone
    assert_eq!(ent(&x, 1).v, 10_000);
    x.switch(0, 41_000, 1, Some(b'R'), 2, None, None);
    assert_eq!(ent(&x, 2).v, 20_500);
    assert_eq!(view(&x, 0, 41_000).avg, 15_750);
}

/// 1 runs on CPU 0 from 0, 2 wakes new at 0, 3 at 500 (each at the average, half a slice to its
/// deadline); at 1000 1 is preempted (charged to 1000, a new deadline) and the kernel picks 3.
fn three_picked_over_two(passed_over_max: usize) -> Eevdf {
    let mut x = Eevdf::new(1_500_000, 4_000_000, passed_over_max, true, true);
    x.wakeup(1, 0, 0, NEW, None, None);
    x.switch(0, 0, 0, None, 1, None, None);
    x.wakeup(2, 0, 0, NEW, None, None);
    x.wakeup(3, 0, 500, NEW, None, None);
    x.switch(0, 1000, 1, Some(b'R'), 3, None, None);
    x
}

#[test]
fn a_pick_splits_the_error_with_the_tasks_it_passed_over() {
    // model/tests/test_eevdf.py has the same case. Average (1000 + 0 + 250) / 3 = 416: 2 (v 0,
    // deadline 750_000) is eligible with an earlier deadline than the pick 3 (250, 750_250),
    // so EEVDF would have run 2. Allowed one correction, 2 moves half way to 3's deadline
    // ((750_250 + 1 - 750_000) / 2 = 125) and 3 moves back until it comes first (126).
    let pvd = |x: &Eevdf, p: i32| (ent(x, p).v, ent(x, p).dl);
    let x = three_picked_over_two(1);
    assert_eq!(pvd(&x, 2), (125, 750_125));
    assert_eq!(pvd(&x, 3), (124, 750_124));
    // 1, preempted by 3 (woken since 1 switched in) 1000 ns into its slice, keeps its deadline
    assert_eq!(pvd(&x, 1), (1000, 750_000), "not eligible: not passed over");
    assert_eq!(view(&x, 0, 1000).avg, 416);
    // Not allowed (the bound is 0): the estimate keeps its values.
    let x = three_picked_over_two(0);
    assert_eq!((pvd(&x, 2), pvd(&x, 3)), ((0, 750_000), (250, 750_250)));
}

/// [`one_sleeps_ineligible`] with the switch record's count at 3000 (`nr_running`), then 1
/// woken on CPU 0 at 4000: (delayed, cpu, vlag, average) after the switch, (v, dl, average)
/// after the wakeup.
fn counted(nr_running: Option<u32>, kernel_count: bool) -> ((bool, Option<u32>, i64, i64), (i64, i64, i64)) {
    let mut x = Eevdf::new(1_500_000, 4_000_000, 0, kernel_count, true);
    x.wakeup(1, 0, 0, NEW, None, None);
    x.switch(0, 0, 0, None, 1, None, None);
    x.wakeup(2, 0, 1000, NEW, None, None);
    x.switch(0, 3000, 1, Some(b'S'), 2, None, nr_running);
    let e = ent(&x, 1);
    let after_switch = (e.delayed, e.cpu, e.vlag, view(&x, 0, 3000).avg);
    x.wakeup(1, 0, 4000, false, None, None);
    let e = ent(&x, 1);
    (after_switch, (e.v, e.dl, view(&x, 0, 4000).avg))
}

#[test]
fn the_kernels_count_drops_a_delayed_sleeper_it_dequeued() {
    // model/tests/test_eevdf.py has the same case. 1 sleeps at 3000 past the average (3000 to
    // 2000): the estimate keeps it delayed. A count of 2 (1 delayed, 2 running) agrees; a count
    // of 1 says the kernel dequeued it, so it was eligible: it leaves with no lag, and its
    // wakeup places it at the average (2000) with a whole slice instead of requeueing it with
    // its lag of -500.
    let kept = ((true, Some(0), 0, 2000), (3000, 750_000, 2500));
    let dropped = ((false, None, 0, 1000), (2000, 1_502_000, 2000));
    assert_eq!(counted(None, true), kept);
    assert_eq!(counted(Some(2), true), kept);
    assert_eq!(counted(Some(1), true), dropped);
    assert_eq!(counted(Some(0), true), dropped, "2, just picked, is never dropped");
    assert_eq!(counted(Some(1), false), kept, "off where another scheduler ran");
}

/// 1 preempted on CPU 0 at 600 us by `nxt`, having run `runtime` ns in all: 1's (deadline,
/// CPU time when it was set) after its first preemption, then its (v, deadline).
fn preempted(nxt: i32, runtime: Option<u64>, keep: bool) -> ((i64, i64), i64, i64) {
    let mut x = Eevdf::new(1_500_000, 4_000_000, 0, true, keep);
    x.wakeup(1, 0, 0, NEW, None, None);
    x.wakeup(2, 0, 0, NEW, None, None);
    x.switch(0, 0, 0, None, 1, None, None);
    x.switch(0, 100_000, 1, Some(b'R'), 2, Some(100_000), None);
    let first = (ent(&x, 1).dl, ent(&x, 1).dl_run);
    x.wakeup(3, 0, 300_000, NEW, Some(2), None);
    x.switch(0, 300_000, 2, Some(b'R'), 3, Some(200_000), None);
    x.switch(0, 400_000, 3, Some(b'X'), 1, Some(100_000), None);
    x.wakeup(4, 0, 600_000, NEW, Some(1), Some(300_000));
    x.switch(0, 600_000, 1, Some(b'R'), nxt, runtime, None);
    let e = ent(&x, 1);
    (first, e.v, e.dl)
}

#[test]
fn a_wakeup_preemption_keeps_a_deadline_the_charges_say_is_not_used_up() {
    // model/tests/test_eevdf.py has the same case. At 100 us 2, woken before 1 switched in,
    // takes the CPU (the tick's preemption): 1 gets a new deadline (100 us + 1.5 ms), set at
    // 100 us of CPU time. At 600 us 1 has run 300 us in all, 200 us since then: 4, woken at
    // 600 us, preempts it and it keeps the deadline, also where the switch has no CPU time
    // (its time on the CPU by timestamps says the same); another task switched in or the rule
    // off (version 9) gives it a new one (300 us + 1.5 ms).
    let kept = ((1_600_000, 100_000), 300_000, 1_600_000);
    let renewed = ((1_600_000, 100_000), 300_000, 1_800_000);
    assert_eq!(preempted(4, Some(300_000), true), kept);
    assert_eq!(preempted(4, None, true), kept);
    assert_eq!(preempted(2, Some(300_000), true), renewed);
    assert_eq!(preempted(4, Some(300_000), false), renewed);
}
