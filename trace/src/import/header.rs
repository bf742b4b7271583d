//! The common line prefix of perf script and ftrace text:
//! `<who> [CPU] <flags>? <secs.frac>: <event>: <payload>`.
//! `<who>` is `comm tid` / `comm pid/tid` (perf) or `task-pid` / `task-pid (tgid)` (ftrace).

use super::fields::parse_ts;

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
    let mut from = 0;
    while let Some(off) = line[from..].iter().position(|&c| c == b'[') {
        let open = from + off;
        from = open + 1;
        if let Some(h) = try_at(line, open) {
            return Some(h);
        }
    }
    None
}

fn try_at(line: &[u8], open: usize) -> Option<Header<'_>> {
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
        if let Some(t) = tok.strip_suffix(b":").and_then(parse_ts) {
            ts = Some(t);
            i = end;
            break;
        }
        if tok.is_empty() || tok.len() > 8 || tok.contains(&b':') {
            return None;
        }
        i = skip_ws(line, end);
    }
    let ts_ns = ts?;
    // Event token; perf may put a numeric period before it.
    let mut j = skip_ws(line, i);
    loop {
        let end = token_end(line, j);
        let tok = &line[j..end];
        if tok.is_empty() {
            return Some(Header {
                who: &line[..open],
                cpu,
                ts_ns,
                event: b"",
                payload: b"",
            });
        }
        if let Some(name) = tok.strip_suffix(b":") {
            let short = name
                .iter()
                .rposition(|&c| c == b':')
                .map_or(name, |p| &name[p + 1..]);
            let payload = &line[skip_ws(line, end)..];
            return Some(Header {
                who: &line[..open],
                cpu,
                ts_ns,
                event: short,
                payload,
            });
        }
        if tok.iter().all(u8::is_ascii_digit) {
            j = skip_ws(line, end);
            continue;
        }
        // Not a tracepoint line (e.g. function tracer `do_sys_open <-sys_open`).
        return Some(Header {
            who: &line[..open],
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
        assert!(split(b"# tracer: nop").is_none());
        assert!(split(b"CPU:3 [LOST 12 EVENTS]").is_none());
    }
}
