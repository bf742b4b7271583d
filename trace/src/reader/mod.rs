//! `TraceReader`: reads `.parquet` / `.csv` traces back into [`Event`]s.
//!
//! Files whose metadata lacks `complete=true` (crashed or unfinished writers, `.partial`
//! files) are refused with an error naming the file, unless `accept_partial` is set.

mod csv;
mod parquet;

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::event::Event;
use crate::format::{is_partial_path, partial_path, Format};
use crate::meta::TraceMeta;

/// How strict reading is.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadOptions {
    /// Read files without `complete=true` (e.g. `FILE.partial` after a crash). Their
    /// metadata may be missing; it is then synthesized with `source = "unknown"`.
    pub accept_partial: bool,
}

enum Inner {
    Parquet(parquet::ParquetRows),
    Csv(csv::CsvRows),
}

/// An opened trace: metadata is available immediately, rows are streamed.
pub struct TraceReader {
    meta: TraceMeta,
    path: PathBuf,
    inner: Inner,
}

impl TraceReader {
    /// Opens a complete trace (refuses unfinished ones).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, ReadOptions::default())
    }

    pub fn open_with(path: impl AsRef<Path>, opts: ReadOptions) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if !path.exists() {
            let p = partial_path(&path);
            if p.exists() {
                bail!(
                    "{}: not found, but {} exists: its writer never finished (crash or still running)",
                    path.display(),
                    p.display()
                );
            }
            bail!("{}: no such file", path.display());
        }
        let format = Format::from_path(&path)?;
        let (meta, inner) = match format {
            Format::Parquet => {
                let (m, r) = parquet::ParquetRows::open(&path, opts)?;
                (m, Inner::Parquet(r))
            }
            Format::Csv => {
                let (m, r) = csv::CsvRows::open(&path, opts)?;
                (m, Inner::Csv(r))
            }
        };
        if !meta.complete && !opts.accept_partial {
            let why = if is_partial_path(&path) {
                "a .partial file"
            } else {
                "metadata lacks complete=true"
            };
            bail!(
                "{}: incomplete trace ({why}): the writer did not finish, so rows may be missing; \
                 pass accept_partial (--accept-partial) to read it anyway",
                path.display()
            );
        }
        Ok(TraceReader { meta, path, inner })
    }

    pub fn meta(&self) -> &TraceMeta {
        &self.meta
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Streams the rows; each error names the file (and line for CSV).
    pub fn events(self) -> Events {
        Events { inner: self.inner }
    }

    pub fn read_all(self) -> Result<Vec<Event>> {
        self.events().collect()
    }
}

/// Iterator over a trace's rows.
pub struct Events {
    inner: Inner,
}

impl Iterator for Events {
    type Item = Result<Event>;
    fn next(&mut self) -> Option<Result<Event>> {
        match &mut self.inner {
            Inner::Parquet(r) => r.next(),
            Inner::Csv(r) => r.next(),
        }
    }
}

/// Reads a complete trace into memory.
pub fn read_trace(path: impl AsRef<Path>) -> Result<(TraceMeta, Vec<Event>)> {
    let r = TraceReader::open(path)?;
    let meta = r.meta().clone();
    Ok((meta, r.read_all()?))
}
