//! Reading a trace for encoding: all rows, stable-sorted by `ts_ns` (Python's `sorted` is
//! stable too, so events with equal timestamps keep their file order in both encoders).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use trace::{read_trace, Event, TraceMeta};

pub fn load_sorted(path: &Path) -> Result<(TraceMeta, Vec<Event>)> {
    let (meta, mut events) = read_trace(path)?;
    events.sort_by_key(|e| e.ts_ns);
    if let Some(e) = events.last().filter(|e| e.ts_ns > i64::MAX as u64) {
        bail!("{}: {}", path.display(), past_signed_ns(e.ts_ns));
    }
    Ok((meta, events))
}

/// Both encoders count time in signed 64-bit ns; a timestamp past that would wrap in one and
/// not the other (model/encoding.py: `read_events` says the same).
fn past_signed_ns(ts: u64) -> String {
    format!(
        "timestamp {ts} ns is past 2^63 - 1 ns (about 292 years): the encoders count time in \
         signed 64-bit nanoseconds; is ts_ns in nanoseconds since boot?"
    )
}

/// Expands trace arguments: a file as is, a directory as its `*.parquet` files, sorted.
pub fn expand_traces(args: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for a in args {
        if a.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(a)
                .with_context(|| format!("listing {}", a.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "parquet") && p.is_file())
                .collect();
            if found.is_empty() {
                bail!("{}: no *.parquet traces in this directory", a.display());
            }
            found.sort();
            out.extend(found);
        } else {
            out.push(a.clone());
        }
    }
    Ok(out)
}
