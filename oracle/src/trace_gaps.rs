//! What a trace lacks that the model's features need, found before its score is believed.
//! `perf sched map` text has switches only (no wakeups, no `prev_state`); a tracer that
//! recorded neither `sched_waking` nor `sched_wakeup` has no wakeups. The model is still
//! scored on such a trace, but the eval says why its number means little there. Keys and
//! wording are the same in `model/trace_gaps.py`.

use trace::{Event, EventKind};

/// The trace gives no step to score: left out of the workloads and their mean.
pub const NO_STEPS: &str = "no_steps";
pub const NO_WAKEUPS: &str = "no_wakeups";
pub const NO_PREV_STATE: &str = "no_prev_state";

/// The gaps of a trace's events (`NO_STEPS` is decided by the caller, from its steps).
pub fn gaps(events: &[Event]) -> Vec<&'static str> {
    let (mut switches, mut wakeups, mut with_state) = (0u64, 0u64, 0u64);
    for e in events {
        match e.kind {
            EventKind::Switch => {
                switches += 1;
                with_state += u64::from(e.prev_state.is_some());
            }
            EventKind::Wakeup | EventKind::WakeupNew => wakeups += 1,
            _ => {}
        }
    }
    let mut out = Vec::new();
    if switches > 0 && wakeups == 0 {
        out.push(NO_WAKEUPS);
    }
    if switches > 0 && with_state == 0 {
        out.push(NO_PREV_STATE);
    }
    out
}

/// One line for a gap.
pub fn describe(gap: &str) -> &'static str {
    match gap {
        NO_STEPS => "no scheduling decision to score (no switch with a known next task): left out of the workloads and their mean",
        NO_WAKEUPS => "switches but no wakeup events (perf sched map, or neither sched_waking nor sched_wakeup recorded): the model's woken/runnable features are blank, so its score here says little; the identity baselines do not use them",
        NO_PREV_STATE => "no prev_state on any switch (perf sched map has none): a preempted task cannot be told from a sleeping one, so runnable tasks leave the candidate set and the model's score here says little",
        _ => "unknown gap",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: EventKind, state: Option<&str>) -> Event {
        let mut e = Event::new(1, 0, kind);
        e.prev_state = state.map(|s| trace::ShortStr::from_bytes(s.as_bytes()));
        e
    }

    #[test]
    fn switches_only_without_state_lack_both() {
        let map = [ev(EventKind::Switch, None), ev(EventKind::Switch, None)];
        assert_eq!(gaps(&map), [NO_WAKEUPS, NO_PREV_STATE]);
        let full = [
            ev(EventKind::Wakeup, None),
            ev(EventKind::Switch, Some("S")),
        ];
        assert!(gaps(&full).is_empty());
        let waking_only = [ev(EventKind::WakeupNew, None), ev(EventKind::Switch, None)];
        assert_eq!(gaps(&waking_only), [NO_PREV_STATE]);
        assert!(
            gaps(&[ev(EventKind::Wakeup, None)]).is_empty(),
            "no switch: nothing to say"
        );
    }
}
