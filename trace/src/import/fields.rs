//! Small byte-level parsing helpers shared by the importers.

use crate::event::ShortStr;

use super::Ctx;

/// `12345.678901` (seconds, 1..9 fractional digits) -> nanoseconds, without float rounding.
pub fn parse_ts(b: &[u8]) -> Option<u64> {
    let dot = b.iter().position(|&c| c == b'.')?;
    let (secs, frac) = (&b[..dot], &b[dot + 1..]);
    if secs.is_empty() || secs.len() > 11 || frac.is_empty() || frac.len() > 9 {
        return None;
    }
    if !secs.iter().chain(frac).all(u8::is_ascii_digit) {
        return None;
    }
    let s: u64 = std::str::from_utf8(secs).ok()?.parse().ok()?;
    let mut f: u64 = std::str::from_utf8(frac).ok()?.parse().ok()?;
    for _ in frac.len()..9 {
        f *= 10;
    }
    s.checked_mul(1_000_000_000)?.checked_add(f)
}

/// Trims ASCII whitespace on both ends.
pub fn trim(b: &[u8]) -> &[u8] {
    let s = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let e = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(s, |p| p + 1);
    &b[s..e.max(s)]
}

/// Signed decimal; tolerates surrounding spaces, leading zeros (`target_cpu=001`) and a
/// `[ns]` unit suffix.
pub fn parse_int(b: &[u8]) -> Option<i64> {
    let mut b = trim(b);
    if let Some(x) = b.strip_suffix(b"[ns]") {
        b = trim(x);
    }
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v: i64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(if neg { -v } else { v })
}

pub fn parse_i32(b: &[u8]) -> Option<i32> {
    parse_int(b).and_then(|v| i32::try_from(v).ok())
}

pub fn parse_u32(b: &[u8]) -> Option<u32> {
    parse_int(b).and_then(|v| u32::try_from(v).ok())
}

/// Comm bytes as printed (kept verbatim, spaces included); long names are truncated and
/// counted as a warning.
pub fn comm(b: &[u8], ctx: &mut Ctx) -> ShortStr {
    if ShortStr::would_truncate(b) {
        ctx.warn("comm_truncated");
    }
    ShortStr::from_bytes(b)
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > hay.len() || needle.len() > hay.len() - from {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

pub fn find_from(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    find(hay, needle, from)
}

/// Finds `key=` at the start of `p` or after a space, at or after `from`.
fn find_key(p: &[u8], key: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(pos) = find(p, key, at) {
        if p.get(pos + key.len()) == Some(&b'=') && (pos == 0 || p[pos - 1] == b' ') {
            return Some(pos);
        }
        at = pos + 1;
    }
    None
}

/// Extracts `key=value` fields that appear in the given order. A value runs up to the
/// space before the next present key, so values may contain spaces (`comm=Web Content`).
/// Optional keys (`true`) may be absent. Returns `None` if a required key is missing.
pub fn kv<'a, const N: usize>(
    p: &'a [u8],
    keys: [(&str, bool); N],
) -> Option<[Option<&'a [u8]>; N]> {
    let mut out: [Option<&'a [u8]>; N] = [None; N];
    let mut starts = [usize::MAX; N];
    let mut cursor = 0;
    let mut last: Option<usize> = None;
    for (i, (key, optional)) in keys.iter().enumerate() {
        match find_key(p, key.as_bytes(), cursor) {
            Some(pos) => {
                if let Some(j) = last {
                    out[j] = Some(&p[starts[j]..pos.saturating_sub(1).max(starts[j])]);
                }
                starts[i] = pos + key.len() + 1;
                cursor = starts[i];
                last = Some(i);
            }
            None if *optional => {}
            None => return None,
        }
    }
    if let Some(j) = last {
        let mut v = &p[starts[j]..];
        while let Some((&c, rest)) = v.split_last() {
            if c.is_ascii_whitespace() {
                v = rest;
            } else {
                break;
            }
        }
        out[j] = Some(v);
    }
    Some(out)
}

/// Count from a lost-events marker: `CPU:3 [LOST 123 EVENTS]`, `LOST 5 events!`.
pub fn lost_count(line: &[u8]) -> Option<u64> {
    let pos = find(line, b"LOST ", 0)?;
    let rest = &line[pos + 5..];
    let end = rest
        .iter()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    if end == 0 || !rest[end..].to_ascii_uppercase().starts_with(b" EVENTS") {
        return None;
    }
    std::str::from_utf8(&rest[..end]).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(parse_ts(b"1234.567890"), Some(1_234_567_890_000));
        assert_eq!(parse_ts(b"993552.887633"), Some(993_552_887_633_000));
        assert_eq!(parse_ts(b"1.123456789"), Some(1_123_456_789));
        assert_eq!(parse_ts(b"1.1234567890"), None);
        assert_eq!(parse_ts(b"12"), None);
        assert_eq!(parse_ts(b"1.2x"), None);
        assert_eq!(parse_ts(b"99999999999999999.1"), None);
    }

    #[test]
    fn ints() {
        assert_eq!(parse_int(b" 001"), Some(1));
        assert_eq!(parse_int(b"-1"), Some(-1));
        assert_eq!(parse_int(b"1234 [ns]"), Some(1234));
        assert_eq!(parse_int(b""), None);
        assert_eq!(parse_int(b"-"), None);
        assert_eq!(parse_i32(b"99999999999"), None);
        assert_eq!(parse_u32(b"-3"), None);
    }

    #[test]
    fn kv_with_spaces_and_optional_keys() {
        let p = b"comm=Web Content pid=12 prio=120 target_cpu=001";
        let [c, pid, prio, succ, t] = kv(
            p,
            [
                ("comm", false),
                ("pid", false),
                ("prio", false),
                ("success", true),
                ("target_cpu", false),
            ],
        )
        .unwrap();
        assert_eq!(c.unwrap(), b"Web Content");
        assert_eq!(pid.unwrap(), b"12");
        assert_eq!(prio.unwrap(), b"120");
        assert!(succ.is_none());
        assert_eq!(t.unwrap(), b"001");
        assert!(kv(b"comm=x prio=1", [("comm", false), ("pid", false)]).is_none());
        // "xpid=" must not match "pid=".
        let [a, b] = kv(b"comm=xpid=1 pid=2", [("comm", false), ("pid", false)]).unwrap();
        assert_eq!((a.unwrap(), b.unwrap()), (&b"xpid=1"[..], &b"2"[..]));
    }

    #[test]
    fn lost_markers() {
        assert_eq!(lost_count(b"CPU:3 [LOST 123 EVENTS]"), Some(123));
        assert_eq!(lost_count(b"LOST 5 events!"), Some(5));
        assert_eq!(lost_count(b"LOST x EVENTS"), None);
    }
}
