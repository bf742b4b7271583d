//! Byte-line splitting with a length cap, so binary garbage without newlines cannot make
//! us buffer a whole file, and with knowledge of whether the line was terminated.

use std::io::{self, BufRead};

/// Longest line we parse; longer ones are reported as `line_too_long`.
pub const MAX_LINE: usize = 64 * 1024;

pub struct Line<'a> {
    pub text: &'a [u8],
    pub terminated: bool,
    pub too_long: bool,
}

pub struct Lines<R> {
    input: R,
    buf: Vec<u8>,
}

impl<R: BufRead> Lines<R> {
    pub fn new(input: R) -> Self {
        Lines {
            input,
            buf: Vec::with_capacity(512),
        }
    }

    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        self.buf.clear();
        let mut too_long = false;
        let mut terminated = false;
        let mut any = false;
        loop {
            let chunk = match self.input.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                break;
            }
            any = true;
            let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
                Some(p) => (p + 1, true),
                None => (chunk.len(), false),
            };
            let body = if done {
                &chunk[..take - 1]
            } else {
                &chunk[..take]
            };
            if self.buf.len() + body.len() > MAX_LINE {
                too_long = true;
                let room = MAX_LINE.saturating_sub(self.buf.len());
                self.buf.extend_from_slice(&body[..room.min(body.len())]);
            } else {
                self.buf.extend_from_slice(body);
            }
            self.input.consume(take);
            if done {
                terminated = true;
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        strip_ansi(&mut self.buf);
        Ok(Some(Line {
            text: &self.buf,
            terminated,
            too_long,
        }))
    }
}

/// Removes ANSI color sequences (`ESC [ ... letter`) that perf adds on a terminal.
fn strip_ansi(buf: &mut Vec<u8>) {
    if !buf.contains(&0x1b) {
        return;
    }
    let mut out = Vec::with_capacity(buf.len());
    let mut i = 0;
    while i < buf.len() {
        if buf[i] == 0x1b && buf.get(i + 1) == Some(&b'[') {
            let mut j = i + 2;
            while j < buf.len() && !buf[j].is_ascii_alphabetic() {
                j += 1;
            }
            i = j + 1;
        } else {
            out.push(buf[i]);
            i += 1;
        }
    }
    *buf = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8]) -> Vec<(Vec<u8>, bool, bool)> {
        let mut l = Lines::new(input);
        let mut v = Vec::new();
        while let Some(x) = l.next_line().unwrap() {
            v.push((x.text.to_vec(), x.terminated, x.too_long));
        }
        v
    }

    #[test]
    fn splits_and_flags() {
        let v = all(b"a\r\nb\n\nc");
        assert_eq!(v.len(), 4);
        assert_eq!(v[0], (b"a".to_vec(), true, false));
        assert_eq!(v[2], (b"".to_vec(), true, false));
        assert_eq!(v[3], (b"c".to_vec(), false, false));
        assert_eq!(all(b"\x1b[31mred\x1b[m\n")[0].0, b"red");
    }

    #[test]
    fn caps_long_lines() {
        let mut big = vec![b'x'; MAX_LINE * 3];
        big.extend_from_slice(b"\nok\n");
        let v = all(&big);
        assert_eq!(v.len(), 2);
        assert!(v[0].2 && v[0].0.len() == MAX_LINE);
        assert_eq!(v[1].0, b"ok");
    }
}
