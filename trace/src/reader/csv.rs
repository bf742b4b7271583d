//! CSV reader: metadata from the trailing `# key=value` block (read from the file's end, so
//! opening is cheap), rows streamed line by line.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

use super::ReadOptions;
use crate::event::{Event, EventKind, ShortStr};
use crate::format::{COLUMNS, COLUMNS_V1_0};
use crate::meta::TraceMeta;

/// Largest metadata trailer we look for at the end of the file.
const TAIL: u64 = 1 << 20;

pub struct CsvRows {
    path: PathBuf,
    lines: BufReader<File>,
    line_no: u64,
    buf: String,
    done: bool,
    /// Columns in this file: all of `COLUMNS`, or the first `COLUMNS_V1_0` (an older file).
    ncols: usize,
}

impl CsvRows {
    pub fn open(path: &Path, opts: ReadOptions) -> Result<(TraceMeta, CsvRows)> {
        let mut f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let pairs = read_trailer(&mut f)
            .with_context(|| format!("{}: reading metadata trailer", path.display()))?;
        let meta = if pairs.is_empty() && opts.accept_partial {
            TraceMeta::new("unknown")
        } else {
            TraceMeta::from_pairs(pairs)
                .with_context(|| format!("{}: bad metadata", path.display()))?
        };
        f.seek(SeekFrom::Start(0))?;
        let mut lines = BufReader::with_capacity(1 << 20, f);
        let mut header = String::new();
        lines
            .read_line(&mut header)
            .with_context(|| format!("{}: reading header", path.display()))?;
        let header = header.trim_end_matches(['\n', '\r']);
        let ncols = if header == COLUMNS.join(",") {
            COLUMNS.len()
        } else if header == COLUMNS[..COLUMNS_V1_0].join(",") {
            COLUMNS_V1_0
        } else {
            bail!(
                "{}:1: unexpected CSV header {header:?}; expected {:?}",
                path.display(),
                COLUMNS.join(",")
            );
        };
        Ok((
            meta,
            CsvRows {
                path: path.to_path_buf(),
                lines,
                line_no: 1,
                buf: String::new(),
                done: false,
                ncols,
            },
        ))
    }

    pub fn next(&mut self) -> Option<Result<Event>> {
        loop {
            if self.done {
                return None;
            }
            self.buf.clear();
            match self.lines.read_line(&mut self.buf) {
                Ok(0) => {
                    self.done = true;
                    return None;
                }
                Ok(_) => {}
                Err(e) => {
                    self.done = true;
                    return Some(Err(anyhow!(
                        "{}:{}: {e}",
                        self.path.display(),
                        self.line_no + 1
                    )));
                }
            }
            self.line_no += 1;
            let line = self.buf.trim_end_matches(['\n', '\r']);
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            return Some(
                parse_row(line, self.ncols)
                    .map_err(|e| anyhow!("{}:{}: {e}", self.path.display(), self.line_no)),
            );
        }
    }
}

/// Reads the contiguous block of `#` lines at the end of the file.
fn read_trailer(f: &mut File) -> Result<Vec<(String, String)>> {
    let len = f.metadata()?.len();
    let start = len.saturating_sub(TAIL);
    f.seek(SeekFrom::Start(start))?;
    let mut tail = Vec::new();
    f.take(TAIL).read_to_end(&mut tail)?;
    let text = String::from_utf8_lossy(&tail);
    let mut lines: Vec<&str> = text.split('\n').collect();
    if lines.last() == Some(&"") {
        lines.pop();
    } else {
        return Ok(vec![]); // cut mid-line: no (complete) trailer
    }
    let mut block = Vec::new();
    for (i, l) in lines.iter().enumerate().rev() {
        if !l.starts_with('#') {
            break;
        }
        if i == 0 && start > 0 {
            bail!("metadata trailer larger than {TAIL} bytes");
        }
        block.push(*l);
    }
    block.reverse();
    let mut pairs = Vec::new();
    for l in block {
        let body = l[1..].trim_start();
        if let Some((k, v)) = body.split_once('=') {
            pairs.push((k.trim().to_string(), unescape_meta_value(v)));
        }
    }
    Ok(pairs)
}

fn unescape_meta_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut it = v.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some(o) => out.push(o),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// One CSV field: `None` for an unquoted empty field (null).
fn split_fields(line: &str) -> Result<Vec<Option<String>>> {
    let mut out = Vec::with_capacity(COLUMNS.len());
    let b = line.as_bytes();
    let mut i = 0;
    loop {
        if b.get(i) == Some(&b'"') {
            let mut s = Vec::new();
            i += 1;
            loop {
                match b.get(i) {
                    None => bail!("unterminated quoted field"),
                    Some(b'"') if b.get(i + 1) == Some(&b'"') => {
                        s.push(b'"');
                        i += 2;
                    }
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(&c) => {
                        s.push(c);
                        i += 1;
                    }
                }
            }
            out.push(Some(
                String::from_utf8(s).map_err(|_| anyhow!("field is not UTF-8"))?,
            ));
            match b.get(i) {
                None => return Ok(out),
                Some(b',') => i += 1,
                Some(_) => bail!("garbage after quoted field at byte {i}"),
            }
        } else {
            let end = line[i..].find(',').map_or(b.len(), |p| i + p);
            let f = &line[i..end];
            out.push(if f.is_empty() {
                None
            } else {
                Some(f.to_string())
            });
            if end == b.len() {
                return Ok(out);
            }
            i = end + 1;
        }
    }
}

fn parse_row(line: &str, ncols: usize) -> Result<Event> {
    let f = split_fields(line)?;
    if f.len() != ncols {
        bail!("expected {ncols} fields, found {}", f.len());
    }
    fn req(f: &[Option<String>], i: usize) -> Result<&str> {
        f[i].as_deref()
            .ok_or_else(|| anyhow!("column {} must not be empty", COLUMNS[i]))
    }
    fn num<T: std::str::FromStr>(f: &[Option<String>], i: usize) -> Result<Option<T>> {
        f[i].as_deref()
            .map(|s| {
                s.parse::<T>()
                    .map_err(|_| anyhow!("column {}: bad number {s:?}", COLUMNS[i]))
            })
            .transpose()
    }
    fn text(f: &[Option<String>], i: usize) -> Result<Option<ShortStr>> {
        f[i].as_deref()
            .map(|s| ShortStr::from_escaped(s).map_err(|e| anyhow!("column {}: {e}", COLUMNS[i])))
            .transpose()
    }
    let kind: EventKind = req(&f, 2)?.parse().map_err(|e: String| anyhow!(e))?;
    let mut e = Event::new(
        req(&f, 0)?
            .parse()
            .map_err(|_| anyhow!("column ts_ns: bad number {:?}", f[0]))?,
        req(&f, 1)?
            .parse()
            .map_err(|_| anyhow!("column cpu: bad number {:?}", f[1]))?,
        kind,
    );
    e.prev_pid = num(&f, 3)?;
    e.prev_tgid = num(&f, 4)?;
    e.prev_comm = text(&f, 5)?;
    e.prev_prio = num(&f, 6)?;
    e.prev_state = text(&f, 7)?;
    e.next_pid = num(&f, 8)?;
    e.next_tgid = num(&f, 9)?;
    e.next_comm = text(&f, 10)?;
    e.next_prio = num(&f, 11)?;
    e.nr_running = num(&f, 12)?;
    e.target_cpu = num(&f, 13)?;
    if ncols > COLUMNS_V1_0 {
        e.prev_runtime_ns = num(&f, 14)?;
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_null_vs_empty_and_quotes() {
        let f = split_fields("1,,\"\",a,\"x,\"\"y\"\"\"").unwrap();
        assert_eq!(
            f,
            vec![
                Some("1".into()),
                None,
                Some("".into()),
                Some("a".into()),
                Some("x,\"y\"".into())
            ]
        );
        assert!(split_fields(r#""abc"#).is_err());
        assert!(split_fields(r#""a"b"#).is_err());
    }
}
