//! CSV sink: header row, one line per event, then a trailing `# key=value` metadata block
//! (counts are only known at the end, and a trailer keeps writing single-pass; a file cut
//! before the trailer has no `complete=true` and is refused by readers).
//!
//! Nulls are empty fields; a present-but-empty string is `""`. Strings use the escaped form
//! of `crate::text` (never control bytes) and are quoted when they contain `,` `"`, leading
//! or trailing spaces, or are empty.

use std::fs::File;
use std::io::{BufWriter, Write};

use anyhow::{Context, Result};

use crate::event::{Event, ShortStr};
use crate::format::COLUMNS;
use crate::meta::TraceMeta;

pub struct CsvSink {
    out: BufWriter<File>,
    line: Vec<u8>,
    scratch: String,
}

impl CsvSink {
    pub fn new(mut out: BufWriter<File>) -> Result<Self> {
        out.write_all(COLUMNS.join(",").as_bytes())?;
        out.write_all(b"\n")?;
        Ok(CsvSink {
            out,
            line: Vec::with_capacity(256),
            scratch: String::new(),
        })
    }

    #[inline]
    pub fn push(&mut self, e: &Event) -> Result<()> {
        let l = &mut self.line;
        l.clear();
        push_int(l, e.ts_ns);
        l.push(b',');
        push_int(l, e.cpu);
        l.push(b',');
        l.extend_from_slice(e.kind.as_str().as_bytes());
        l.push(b',');
        push_opt(l, e.prev_pid);
        l.push(b',');
        push_opt(l, e.prev_tgid);
        l.push(b',');
        push_str(l, &mut self.scratch, e.prev_comm.as_ref());
        l.push(b',');
        push_opt(l, e.prev_prio);
        l.push(b',');
        push_str(l, &mut self.scratch, e.prev_state.as_ref());
        l.push(b',');
        push_opt(l, e.next_pid);
        l.push(b',');
        push_opt(l, e.next_tgid);
        l.push(b',');
        push_str(l, &mut self.scratch, e.next_comm.as_ref());
        l.push(b',');
        push_opt(l, e.next_prio);
        l.push(b',');
        push_opt(l, e.nr_running);
        l.push(b',');
        push_opt(l, e.target_cpu);
        l.push(b',');
        push_opt(l, e.prev_runtime_ns);
        l.push(b'\n');
        self.out.write_all(l)?;
        Ok(())
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    pub fn finish(mut self, meta: &TraceMeta) -> Result<File> {
        for (k, v) in meta.to_pairs() {
            writeln!(self.out, "# {k}={}", escape_meta_value(&v))?;
        }
        self.out
            .into_inner()
            .map_err(|e| e.into_error())
            .context("flushing csv buffer")
    }
}

/// Metadata values are single-line: `\` -> `\\`, newline -> `\n`, CR -> `\r`.
pub fn escape_meta_value(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

#[inline]
fn push_int<I: itoa::Integer>(l: &mut Vec<u8>, v: I) {
    l.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

#[inline]
fn push_opt<I: itoa::Integer>(l: &mut Vec<u8>, v: Option<I>) {
    if let Some(v) = v {
        push_int(l, v);
    }
}

fn push_str(l: &mut Vec<u8>, scratch: &mut String, v: Option<&ShortStr>) {
    let Some(s) = v else { return };
    scratch.clear();
    crate::text::escape_into(s.as_bytes(), scratch);
    let b = scratch.as_bytes();
    let quote = b.is_empty()
        || b.iter().any(|&c| c == b',' || c == b'"')
        || b.first() == Some(&b' ')
        || b.last() == Some(&b' ');
    if quote {
        l.push(b'"');
        for &c in b {
            if c == b'"' {
                l.push(b'"');
            }
            l.push(c);
        }
        l.push(b'"');
    } else {
        l.extend_from_slice(b);
    }
}
