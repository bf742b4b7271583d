//! Lossless text form of kernel byte strings (comm, task state).
//!
//! The kernel's `comm` is up to 15 arbitrary bytes: not necessarily UTF-8, and it may
//! contain spaces, commas, quotes or control bytes. Parquet STRING columns and CSV need
//! valid UTF-8, so we store an escaped form:
//! - `\` becomes `\\`;
//! - every byte of an invalid UTF-8 sequence, every ASCII control byte (0x00-0x1f, 0x7f)
//!   and every byte of a Unicode control character becomes `\xNN` (two lowercase hex digits);
//! - everything else (printable ASCII, printable non-ASCII UTF-8) is kept as is.
//!
//! `unescape(escape(b)) == b` for every byte string; plain comms (`bash`, `kworker/1:1`,
//! `Web Content`) are unchanged, which is what Python tooling sees almost always.

use std::fmt::Write as _;

/// Appends the escaped text form of `bytes` to `out`.
pub fn escape_into(bytes: &[u8], out: &mut String) {
    // Fast path: printable ASCII without backslash is its own escape.
    if bytes
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) && b != b'\\')
    {
        // SAFETY-free: all bytes are ASCII.
        out.push_str(std::str::from_utf8(bytes).expect("ascii"));
        return;
    }
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                push_str_escaped(s, out);
                return;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                push_str_escaped(std::str::from_utf8(good).expect("valid prefix"), out);
                let n = e.error_len().unwrap_or(bad.len());
                for b in &bad[..n] {
                    let _ = write!(out, "\\x{b:02x}");
                }
                rest = &bad[n..];
            }
        }
    }
}

fn push_str_escaped(s: &str, out: &mut String) {
    for c in s.chars() {
        if c == '\\' {
            out.push_str("\\\\");
        } else if c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "\\x{b:02x}");
            }
        } else {
            out.push(c);
        }
    }
}

/// The escaped text form of `bytes`.
pub fn escape(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    escape_into(bytes, &mut s);
    s
}

/// Inverse of [`escape`]. Errors name the offending position; a lone `\` or a bad
/// `\x` sequence is an error rather than being guessed at.
pub fn unescape(s: &str) -> Result<Vec<u8>, String> {
    let b = s.as_bytes();
    if !b.contains(&b'\\') {
        return Ok(b.to_vec());
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        match b.get(i + 1) {
            Some(b'\\') => {
                out.push(b'\\');
                i += 2;
            }
            Some(b'x') => {
                let hex = b
                    .get(i + 2..i + 4)
                    .ok_or_else(|| format!("truncated \\x escape at byte {i} in {s:?}"))?;
                let hex = std::str::from_utf8(hex)
                    .map_err(|_| format!("bad \\x escape at byte {i} in {s:?}"))?;
                let v = u8::from_str_radix(hex, 16)
                    .map_err(|_| format!("bad \\x escape at byte {i} in {s:?}"))?;
                out.push(v);
                i += 4;
            }
            _ => {
                return Err(format!(
                    "lone backslash at byte {i} in {s:?} (write \\\\ for a backslash)"
                ))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_is_unchanged() {
        for s in ["bash", "kworker/1:1", "Web Content", "a,b\"c", "", "ñandú"] {
            assert_eq!(escape(s.as_bytes()), s);
            assert_eq!(unescape(s).unwrap(), s.as_bytes());
        }
    }

    #[test]
    fn nasty_bytes_round_trip() {
        let cases: &[&[u8]] = &[
            b"a\\b",
            b"\xff\xfe",
            b"tab\there",
            b"nl\n",
            b"\x00x",
            b"\xc3",
            b"\xe2\x82",
            b"\x7f",
            b"\\x41",
        ];
        for &c in cases {
            let e = escape(c);
            assert!(e.bytes().all(|b| b >= 0x20 && b != 0x7f), "{e:?}");
            assert_eq!(unescape(&e).unwrap(), c, "{e:?}");
        }
        assert_eq!(escape(b"\xff"), "\\xff");
        assert_eq!(escape(b"a\\b"), "a\\\\b");
    }

    #[test]
    fn bad_escapes_error() {
        assert!(unescape("a\\").is_err());
        assert!(unescape("a\\x4").is_err());
        assert!(unescape("a\\xzz").is_err());
        assert!(unescape("a\\q").is_err());
    }
}
