//! tracefs `trace` / `trace_pipe` text and `trace-cmd report` output:
//! `task-pid (tgid)? [CPU] flags? secs.frac: event: payload`, plus header comments,
//! `##### CPU N buffer started ####` and `CPU:N [LOST n EVENTS]` lines.

use super::fields::{find_from, lost_count, parse_i32, trim};
use super::{header, payload, Ctx, LineParser, Outcome};
use crate::event::Event;

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
    fn parse_line<'a>(
        &mut self,
        line: &'a [u8],
        ctx: &mut Ctx,
        out: &mut Vec<Event>,
    ) -> Outcome<'a> {
        let t = trim(line);
        if t.is_empty() {
            return Outcome::Ignored("blank");
        }
        if t.starts_with(b"#") {
            if find_from(t, b"buffer started", 0).is_some() {
                return Outcome::Ignored("cpu_buffer_started");
            }
            return Outcome::Ignored("comment");
        }
        let Some(h) = header::split(line) else {
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
}
