//! `perf sched script` / `perf script` text:
//! `comm tid [CPU] secs.frac: sched:sched_switch: payload` (also `comm pid/tid`).

use super::fields::{lost_count, parse_i32, trim};
use super::{header, payload, stack, Ctx, LineParser, Outcome};
use crate::event::Event;

pub struct PerfScript;

/// `(tid, tgid)` from the `comm tid` or `comm pid/tid` prefix.
fn who_ids(who: &[u8]) -> (Option<i32>, Option<i32>) {
    let who = trim(who);
    let tok = who
        .rsplit(|&c| c == b' ' || c == b'\t')
        .next()
        .unwrap_or(b"");
    match tok.iter().position(|&c| c == b'/') {
        Some(s) => (parse_i32(&tok[s + 1..]), parse_i32(&tok[..s])),
        None => (parse_i32(tok), None),
    }
}

impl LineParser for PerfScript {
    fn parse_line(&mut self, line: &[u8], ctx: &mut Ctx, out: &mut Vec<Event>) -> Outcome {
        let t = trim(line);
        if let Some(o) = Outcome::blank_or_comment(t) {
            return o;
        }
        let Some(h) = header::split(line) else {
            if let Some(n) = lost_count(t) {
                return Outcome::Lost(n);
            }
            return stack::frame(line).map_or(Outcome::Bad("unrecognized_line"), Outcome::Ignored);
        };
        payload::push(&h, who_ids(h.who), ctx, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who() {
        assert_eq!(who_ids(b"  Web Content  1234 "), (Some(1234), None));
        assert_eq!(who_ids(b"perf 10/11"), (Some(11), Some(10)));
        assert_eq!(who_ids(b"x"), (None, None));
    }

    #[test]
    fn pid_tid_only_prefix_with_ns_timestamp() {
        // `perf script -F pid,tid,cpu,time,event,trace`: no comm column.
        let mut out = Vec::new();
        let line = b"4242/4243 [000] 1.000000001: sched:sched_switch: prev_comm=x y prev_pid=4243 prev_prio=120 prev_state=S ==> next_comm=z next_pid=9 next_prio=120";
        assert!(matches!(
            PerfScript.parse_line(line, &mut Ctx::default(), &mut out),
            Outcome::Events
        ));
        assert_eq!(
            (out[0].ts_ns, out[0].prev_pid, out[0].prev_tgid),
            (1_000_000_001, Some(4243), Some(4242))
        );
        assert_eq!(out[0].prev_comm.unwrap(), "x y");
    }
}
