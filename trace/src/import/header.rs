//! The common line prefix of perf script and ftrace text:
//! `<who> [CPU] <flags>? <secs.frac>: <event>: <payload>`.
//! `<who>` is `comm tid` / `comm pid/tid` (perf) or `task-pid` / `task-pid (tgid)` (ftrace).
//! ftrace's latency format (tracefs `options/latency-format`, `trace-cmd report -l`) glues the
//! CPU to the flags and has no brackets: `<task-pid> <CPU><flags> <secs.frac | N us[mark]>:`
//! (see [`split_latency`]).

use super::fields::{parse_int, parse_ts, parse_u32};

pub struct Header<'a> {
    pub who: &'a [u8],
    pub cpu: u32,
    pub ts_ns: u64,
    /// Event name without a subsystem prefix (`sched:sched_switch` -> `sched_switch`).
    pub event: &'a [u8],
    pub payload: &'a [u8],
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    i
}

fn token_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i] != b' ' && b[i] != b'\t' {
        i += 1;
    }
    i
}

/// Tries each `[digits]` in the line until one is followed by an optional flags column
/// and a `secs.frac:` timestamp; comm names may themselves contain brackets.
pub fn split(line: &[u8]) -> Option<Header<'_>> {
    split_with(line, parse_ts)
}

/// Whether a line that [`split`] refused is an ftrace event line whose timestamp is a bare
/// integer: tracefs prints the raw count for `trace_clock` x86-tsc and counter, which no
/// importer can turn into time without the clock's rate.
pub fn raw_counter_stamp(line: &[u8]) -> bool {
    let digits = |t: &[u8]| (!t.is_empty() && t.iter().all(u8::is_ascii_digit)).then_some(0);
    split_with(line, digits).is_some()
}

fn split_with(line: &[u8], stamp: fn(&[u8]) -> Option<u64>) -> Option<Header<'_>> {
    let mut from = 0;
    while let Some(off) = line[from..].iter().position(|&c| c == b'[') {
        let open = from + off;
        from = open + 1;
        if let Some(h) = try_at(line, open, stamp) {
            return Some(h);
        }
    }
    None
}

fn try_at(line: &[u8], open: usize, stamp: fn(&[u8]) -> Option<u64>) -> Option<Header<'_>> {
    let close = open + 1 + line[open + 1..].iter().position(|&c| c == b']')?;
    let digits = &line[open + 1..close];
    if digits.is_empty() || digits.len() > 6 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let cpu: u32 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    if !matches!(line.get(close + 1), Some(b' ' | b'\t')) {
        return None;
    }
    let mut i = skip_ws(line, close + 1);
    let mut ts = None;
    // Up to two tokens: an optional irq-flags column (`d..2.`, `....`) then the timestamp.
    for _ in 0..2 {
        let end = token_end(line, i);
        let tok = &line[i..end];
        if let Some(t) = tok.strip_suffix(b":").and_then(stamp) {
            ts = Some(t);
            i = end;
            break;
        }
        if tok.is_empty() || tok.len() > 8 || tok.contains(&b':') {
            return None;
        }
        i = skip_ws(line, end);
    }
    event_part(line, &line[..open], cpu, ts?, i)
}

/// A latency-format line: `task-pid  1dN.4. 61573.297228: event: payload` (`trace-cmd report
/// -l`) or `task-pid  0d..2. 16549us#: event: payload` (tracefs `options/latency-format`:
/// microseconds since the trace began, then a delay mark). The comm is cut to 8 bytes there;
/// the event payloads name tasks in full.
pub fn split_latency(line: &[u8]) -> Option<Header<'_>> {
    let mut i = 0;
    loop {
        let start = skip_ws(line, i);
        let end = token_end(line, start);
        if start == end {
            return None;
        }
        if let Some(cpu) = cpu_and_flags(&line[start..end]) {
            let ts_start = skip_ws(line, end);
            let mut ts_end = token_end(line, ts_start);
            let mut tok = &line[ts_start..ts_end];
            if let Some(t) = tok.strip_suffix(b":") {
                tok = t;
            } else if line.get(skip_ws(line, ts_end)) == Some(&b':') {
                ts_end = skip_ws(line, ts_end) + 1; // no delay mark: `7us : event:`
            } else {
                tok = b"";
            }
            if let Some(ts_ns) = parse_ts(tok).or_else(|| latency_us(tok)) {
                return event_part(line, &line[..start], cpu, ts_ns, ts_end);
            }
        }
        i = end;
    }
}

/// `1dN.4.` -> 1: CPU digits, then 4-5 flag characters (irqs-off, need-resched, hard/softirq,
/// preempt depth, and on newer kernels migrate-disable).
fn cpu_and_flags(tok: &[u8]) -> Option<u32> {
    let digits = tok.iter().take_while(|c| c.is_ascii_digit()).count();
    let flags = &tok[digits..];
    // flags[0] is not a digit: the CPU's digits were all taken.
    if digits == 0
        || digits > 6
        || !(4..=5).contains(&flags.len())
        || !flags.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'.')
    {
        return None;
    }
    parse_u32(&tok[..digits])
}

/// `16549us#` / `12us` -> ns: tracefs latency-format time, microseconds then an optional mark.
fn latency_us(tok: &[u8]) -> Option<u64> {
    let digits = tok.iter().take_while(|c| c.is_ascii_digit()).count();
    let rest = tok[digits..].strip_prefix(b"us")?;
    if digits == 0
        || digits > 15
        || rest.len() > 1
        || rest.first().is_some_and(|c| c.is_ascii_alphanumeric())
    {
        return None;
    }
    u64::try_from(parse_int(&tok[..digits])?).ok()?.checked_mul(1000)
}

/// The rest of a line from just after its timestamp: the event name and its payload.
fn event_part<'a>(
    line: &'a [u8],
    who: &'a [u8],
    cpu: u32,
    ts_ns: u64,
    i: usize,
) -> Option<Header<'a>> {
    // Event token; perf may put a numeric period before it, trace-cmd --ts-diff a `(+N)`.
    let mut j = skip_ws(line, i);
    loop {
        let end = token_end(line, j);
        let tok = &line[j..end];
        if tok.is_empty() {
            return Some(Header {
                who,
                cpu,
                ts_ns,
                event: b"",
                payload: b"",
            });
        }
        // ftrace's stacktrace options: `<stack trace>`, `<user stack trace>` (no colon).
        if tok.starts_with(b"<") {
            if let Some(close) = line[j..].iter().position(|&c| c == b'>') {
                return Some(Header {
                    who,
                    cpu,
                    ts_ns,
                    event: &line[j..=j + close],
                    payload: &line[j + close + 1..],
                });
            }
        }
        if let Some(name) = tok.strip_suffix(b":") {
            let short = name
                .iter()
                .rposition(|&c| c == b':')
                .map_or(name, |p| &name[p + 1..]);
            let payload = &line[skip_ws(line, end)..];
            return Some(Header {
                who,
                cpu,
                ts_ns,
                event: short,
                payload,
            });
        }
        let ts_diff = tok.len() > 3 && tok.starts_with(b"(+") && tok.ends_with(b")");
        if tok.iter().all(u8::is_ascii_digit) || ts_diff {
            j = skip_ws(line, end);
            continue;
        }
        // Not a tracepoint line (e.g. function tracer `do_sys_open <-sys_open`).
        return Some(Header {
            who,
            cpu,
            ts_ns,
            event: tok,
            payload: &line[end..],
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perf_and_ftrace_prefixes() {
        let h = split(b"  swapper     0 [000]  1234.567890:       sched:sched_switch: prev_comm=x")
            .unwrap();
        assert_eq!(
            (h.cpu, h.ts_ns, h.event, h.payload),
            (
                0,
                1_234_567_890_000,
                &b"sched_switch"[..],
                &b"prev_comm=x"[..]
            )
        );
        assert_eq!(h.who, b"  swapper     0 ");
        let h = split(b"   Web [x]-12   [003] d..2. 5.000001: sched_switch: a").unwrap();
        assert_eq!(
            (h.cpu, h.ts_ns, h.event),
            (3, 5_000_001_000, &b"sched_switch"[..])
        );
        assert_eq!(h.who, b"   Web [x]-12   ");
        let h = split(b"bash-1 [001] 1.5: sched_wakeup: a").unwrap();
        assert_eq!(h.event, b"sched_wakeup");
        let h = split(b"perf 1 [001] 1.5: 1 sched:sched_wakeup: a").unwrap();
        assert_eq!(h.event, b"sched_wakeup");
        // trace-cmd report --ts-diff: the time since the CPU's last event, after the timestamp.
        let h = split(b"  hackbench-5681  [001] 61573.297237: (+9)     sched_switch: a").unwrap();
        assert_eq!(
            (h.ts_ns, h.event),
            (61_573_297_237_000, &b"sched_switch"[..])
        );
        assert!(split(b"# tracer: nop").is_none());
        assert!(split(b"CPU:3 [LOST 12 EVENTS]").is_none());
        // tracefs options/stacktrace: the event is named in angle brackets.
        let h = split(b"  bash-1234  [001] d..2. 1000.000201: <user stack trace>").unwrap();
        assert_eq!(h.event, b"<user stack trace>");
    }

    #[test]
    fn raw_counter_timestamps() {
        let tsc = b"  bash-1234  [001] d..3 4567890123456: sched_switch: prev_comm=bash";
        assert!(split(tsc).is_none());
        assert!(raw_counter_stamp(tsc));
        assert!(!raw_counter_stamp(b"  bash-1 [001] d..3 1.5: sched_switch: a"));
        assert!(!raw_counter_stamp(b"ffffffff81a0b1c1 __schedule+0x2f1 (k)"));
    }

    #[test]
    fn latency_format() {
        // trace-cmd report -l: absolute seconds.
        let h = split_latency(
            b"hackbenc-5681    1dN.4. 61573.297228: sched_wakeup:  migration/1:21 [0] CPU:001",
        )
        .unwrap();
        assert_eq!(
            (h.cpu, h.ts_ns, h.event),
            (1, 61_573_297_228_000, &b"sched_wakeup"[..])
        );
        assert_eq!(h.who, b"hackbenc-5681    ");
        assert_eq!(h.payload, b"migration/1:21 [0] CPU:001");
        // tracefs options/latency-format: microseconds since the start, then a delay mark.
        let h = split_latency(b"    bash-32388     0d..2. 16549us#: sched_switch: prev_comm=bash")
            .unwrap();
        assert_eq!(
            (h.cpu, h.ts_ns, h.event),
            (0, 16_549_000, &b"sched_switch"[..])
        );
        let h = split_latency(b" <idle>-0      12d.h1. 7us : sched_wakeup: comm=x").unwrap();
        assert_eq!((h.cpu, h.ts_ns), (12, 7_000));
        let h = split_latency(b"Web Cont-77    3.... 12us+: sched_waking: comm=y").unwrap();
        assert_eq!((h.cpu, h.who), (3, &b"Web Cont-77    "[..]));
        // Not latency format: no CPU+flags token, or no time after it.
        assert!(split_latency(b"# tracer: nop").is_none());
        assert!(split_latency(b"bash-1 0d..2. later: sched_switch: a").is_none());
        assert!(split_latency(b"cpus=4").is_none());
    }
}
