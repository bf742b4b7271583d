//! tracefs `trace` / `trace_pipe` text and `trace-cmd report` output:
//! `task-pid (tgid)? [CPU] flags? secs.frac: event: payload`, plus header comments,
//! `##### CPU N buffer started ####` and `CPU:N [LOST n EVENTS]` lines; also the latency
//! format (`options/latency-format`, `trace-cmd report -l`) and `trace-cmd report --ts-diff`.
//!
//! A `trace` file read after its ring filled up (tracefs overwrites the oldest events by
//! default) lost its start: the header's `entries-in-buffer/entries-written: A/B` says how
//! many (B - A), and a `buffer started` line marks each CPU whose events begin late. Both are
//! reported (events lost, and a warning per CPU), never passed over as comments.

use super::fields::{find_from, lost_count, parse_i32, parse_int, parse_u32, trim};
use super::report::{late_cpu_warning, NO_CONTEXT, RAW_COUNTER_STAMP, RING_OVERWROTE};
use super::{header, payload, stack, Ctx, LineParser, Outcome};
use crate::event::Event;

/// Events the ring overwrote, from `# entries-in-buffer/entries-written: A/B   #P:N`.
fn overwritten(comment: &[u8]) -> Option<u64> {
    const KEY: &[u8] = b"entries-written:";
    let rest = trim(&comment[find_from(comment, KEY, 0)? + KEY.len()..]);
    let end = rest
        .iter()
        .position(u8::is_ascii_whitespace)
        .unwrap_or(rest.len());
    let (held, written) = rest[..end].split_at(rest[..end].iter().position(|&c| c == b'/')?);
    u64::try_from(parse_int(&written[1..])? - parse_int(held)?).ok()
}

/// The CPU of `##### CPU 3 buffer started ####`.
fn late_cpu(comment: &[u8]) -> Option<u32> {
    let rest = &comment[find_from(comment, b"CPU ", 0)? + 4..];
    let end = rest
        .iter()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    parse_u32(&rest[..end])
}

/// `sched_switch: prev_comm=...`: an event line printed with `options/context-info` off.
fn context_free(t: &[u8]) -> bool {
    let Some(colon) = t.iter().position(|&c| c == b':') else {
        return false;
    };
    colon > 0
        && t[..colon]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'_')
        && t.get(colon + 1) == Some(&b' ')
        && t[colon..].contains(&b'=')
}

pub struct Ftrace;

/// `(pid, tgid)` from `task-pid` or `task-pid (tgid)`; the comm may contain `-` and spaces,
/// so the pid follows the last `-`. A tgid of `-------` is unknown.
fn who_ids(who: &[u8]) -> (Option<i32>, Option<i32>) {
    let mut w = trim(who);
    let mut tgid = None;
    if w.last() == Some(&b')') {
        if let Some(open) = w.iter().rposition(|&c| c == b'(') {
            tgid = parse_i32(&w[open + 1..w.len() - 1]);
            w = trim(&w[..open]);
        }
    }
    let pid = w
        .iter()
        .rposition(|&c| c == b'-')
        .and_then(|d| parse_i32(&w[d + 1..]));
    (pid, tgid)
}

impl LineParser for Ftrace {
    fn parse_line(&mut self, line: &[u8], ctx: &mut Ctx, out: &mut Vec<Event>) -> Outcome {
        let t = trim(line);
        if t.is_empty() {
            return Outcome::Ignored("blank");
        }
        if t.starts_with(b"#") {
            if find_from(t, b"buffer started", 0).is_some() {
                ctx.warn(&late_cpu_warning(late_cpu(t)));
                return Outcome::Ignored("cpu_buffer_started");
            }
            if let Some(n) = overwritten(t).filter(|&n| n > 0) {
                ctx.warn_n(RING_OVERWROTE, n);
                return Outcome::Lost(n);
            }
            return Outcome::Ignored("comment");
        }
        let Some(h) = header::split(line).or_else(|| header::split_latency(line)) else {
            if let Some(n) = lost_count(t) {
                return Outcome::Lost(n);
            }
            // trace-cmd report preamble: `cpus=4`, `version = 6`, `CPU 2 is empty`.
            if t.starts_with(b"cpus=")
                || t.starts_with(b"version =")
                || (t.starts_with(b"CPU ") && t.ends_with(b" is empty"))
            {
                return Outcome::Ignored("header");
            }
            if let Some(why) = stack::frame(line) {
                return Outcome::Ignored(why);
            }
            if header::raw_counter_stamp(line) {
                return Outcome::Bad(RAW_COUNTER_STAMP);
            }
            if context_free(t) {
                return Outcome::Bad(NO_CONTEXT);
            }
            return Outcome::Bad("unrecognized_line");
        };
        payload::push(&h, who_ids(h.who), ctx, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who() {
        assert_eq!(who_ids(b"   Web Content-1234  "), (Some(1234), None));
        assert_eq!(
            who_ids(b"kworker/u8:2-events_unbound-77 (   77)"),
            (Some(77), Some(77))
        );
        assert_eq!(who_ids(b"<idle>-0 (-------)"), (Some(0), None));
    }

    #[test]
    fn ring_header_and_late_cpus() {
        let h = b"# entries-in-buffer/entries-written: 50984/85540   #P:2";
        assert_eq!(overwritten(h), Some(34_556));
        assert_eq!(
            overwritten(b"# entries-in-buffer/entries-written: 15/15   #P:4"),
            Some(0)
        );
        assert_eq!(
            overwritten(b"# entries-in-buffer/entries-written: 15/x"),
            None
        );
        assert_eq!(overwritten(b"# tracer: nop"), None);
        assert_eq!(late_cpu(b"##### CPU 13 buffer started ####"), Some(13));
        assert_eq!(late_cpu(b"##### buffer started ####"), None);
    }

    #[test]
    fn lines_without_context() {
        assert!(context_free(
            b"sched_waking: comm=rcu_preempt pid=15 prio=120 target_cpu=000"
        ));
        assert!(!context_free(b"sh-1 [000] 1.0: sched_waking: comm=a pid=1"));
        assert!(!context_free(b"CPU 2 is empty"));
        assert!(!context_free(b"version: 6"));
    }
}
