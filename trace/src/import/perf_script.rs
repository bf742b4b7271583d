//! `perf sched script` / `perf script` text:
//! `comm tid [CPU] secs.frac: sched:sched_switch: payload` (also `comm pid/tid`).

use super::fields::{find_from, lost_count, parse_i32, trim};
use super::report::NO_CPU_OR_TIME;
use super::{header, payload, stack, Ctx, LineParser, Outcome};
use crate::event::Event;

pub struct PerfScript;

/// The payload without the `ip sym (dso)` columns that `perf script -F ...,ip,sym` prints after
/// it (`... next_prio=120 ffffffff82265908 __schedule`): cut at a token of 8 to 16 hex digits
/// that follows a number or `]` (where every payload ends), has more after it, and comes after
/// the payload's last `=`. Only the tokens after that `=` are looked at: this runs on every line.
fn without_ip_sym(p: &[u8]) -> &[u8] {
    let mut end = p.len();
    while let Some(sp) = p[..end].iter().rposition(|&c| c == b' ') {
        let tok = &p[sp + 1..end];
        if tok.contains(&b'=') {
            break;
        }
        let before = trim(&p[..sp]);
        if end < p.len()
            && (8..=16).contains(&tok.len())
            && tok.iter().all(u8::is_ascii_hexdigit)
            && matches!(before.last(), Some(c) if c.is_ascii_digit() || *c == b']')
        {
            return before;
        }
        end = sp;
    }
    p
}

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
        let Some(mut h) = header::split(line) else {
            if let Some(n) = lost_count(t) {
                return Outcome::Lost(n);
            }
            if let Some(why) = stack::frame(line) {
                return Outcome::Ignored(why);
            }
            if find_from(t, b"sched:sched_", 0).is_some() {
                return Outcome::Bad(NO_CPU_OR_TIME);
            }
            return Outcome::Bad("unrecognized_line");
        };
        h.payload = without_ip_sym(h.payload);
        payload::push(&h, who_ids(h.who), ctx, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_and_sym_after_the_payload() {
        let p: &[u8] = b"prev_comm=a b prev_pid=1 prev_prio=120 prev_state=S ==> next_comm=c next_pid=2 next_prio=120 ffffffff82265908 __schedule";
        assert!(without_ip_sym(p).ends_with(b"next_prio=120"));
        let p: &[u8] = b"comm=x pid=5 prio=120 target_cpu=000 ffffffff813b4b46 try_to_wake_up+0x1a ([kernel.kallsyms])";
        assert_eq!(without_ip_sym(p), b"comm=x pid=5 prio=120 target_cpu=000");
        let p: &[u8] = b"a:1 [120] S ==> b:2 [120] ffffffff82265908 __schedule";
        assert_eq!(without_ip_sym(p), b"a:1 [120] S ==> b:2 [120]");
        for kept in [
            &b"comm=deadbeef00 pid=5 prio=120 target_cpu=000"[..],
            b"prev_comm=x prev_pid=1 prev_prio=120 prev_state=S ==> next_comm=cafebabe12 next_pid=2 next_prio=120",
            b"prev_comm=1 deadbeef00 x prev_pid=1 prev_prio=120 prev_state=S ==> next_comm=y next_pid=2 next_prio=120",
        ] {
            assert_eq!(without_ip_sym(kept), kept);
        }
    }

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
