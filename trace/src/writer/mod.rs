//! `TraceWriter`: streams events into `FILE.partial`, then `finish` writes the metadata,
//! syncs and renames to `FILE`. A crash or an early return leaves only `FILE.partial`,
//! which readers refuse by default (no `complete=true`), so a cut trace never reads as whole.

mod csv;
mod intern;
mod parquet;

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::event::Event;
use crate::format::{partial_path, Format};
use crate::meta::{TraceMeta, SCHEMA_VERSION};

/// Tuning knobs; the defaults suit both tracers and importers.
#[derive(Clone, Debug)]
pub struct WriterOptions {
    /// Rows buffered per Parquet row group (bounds memory: ~100 bytes/row).
    pub row_group_rows: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            row_group_rows: 128 * 1024,
        }
    }
}

enum Sink {
    Parquet(Box<parquet::ParquetSink>),
    Csv(csv::CsvSink),
}

/// Streaming trace writer for `.parquet` or `.csv` (chosen by extension).
pub struct TraceWriter {
    sink: Option<Sink>,
    path: PathBuf,
    partial: PathBuf,
    events: u64,
}

impl TraceWriter {
    /// Creates `path.partial` (truncating any stale one).
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        Self::with_options(path, WriterOptions::default())
    }

    pub fn with_options(path: impl AsRef<Path>, opts: WriterOptions) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let format = Format::from_path(&path)?;
        let partial = partial_path(&path);
        let file =
            File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
        let out = BufWriter::with_capacity(1 << 20, file);
        let sink = match format {
            Format::Parquet => Sink::Parquet(Box::new(parquet::ParquetSink::new(
                out,
                opts.row_group_rows.max(1),
            )?)),
            Format::Csv => Sink::Csv(csv::CsvSink::new(out)?),
        };
        Ok(TraceWriter {
            sink: Some(sink),
            path,
            partial,
            events: 0,
        })
    }

    /// Final path (the file being written is `path().partial` until `finish`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows accepted so far.
    pub fn events_written(&self) -> u64 {
        self.events
    }

    #[inline]
    pub fn write(&mut self, ev: &Event) -> Result<()> {
        let r = match self.sink.as_mut().expect("writer used after finish") {
            Sink::Parquet(s) => s.push(ev),
            Sink::Csv(s) => s.push(ev),
        };
        r.with_context(|| format!("writing {}", self.partial.display()))?;
        self.events += 1;
        Ok(())
    }

    pub fn write_all<'a>(&mut self, evs: impl IntoIterator<Item = &'a Event>) -> Result<()> {
        evs.into_iter().try_for_each(|e| self.write(e))
    }

    /// Writes remaining rows and `meta` (with `events`, `schema_version` and `complete=true`
    /// filled in), syncs, and renames `FILE.partial` to `FILE`. Returns the stored metadata.
    pub fn finish(mut self, mut meta: TraceMeta) -> Result<TraceMeta> {
        meta.schema_version = SCHEMA_VERSION;
        meta.events = self.events;
        meta.complete = true;
        let file = match self.sink.take().expect("finish called twice") {
            Sink::Parquet(s) => s.finish(&meta),
            Sink::Csv(s) => s.finish(&meta),
        }
        .with_context(|| format!("finishing {}", self.partial.display()))?;
        file.sync_all()
            .with_context(|| format!("syncing {}", self.partial.display()))?;
        drop(file);
        std::fs::rename(&self.partial, &self.path).with_context(|| {
            format!(
                "renaming {} to {}",
                self.partial.display(),
                self.path.display()
            )
        })?;
        Ok(meta)
    }
}

impl TraceWriter {
    /// Gives up on this file: removes `FILE.partial` and leaves `FILE` as it was (absent, or
    /// an earlier complete trace). For a producer that found nothing worth writing.
    pub fn discard(mut self) -> Result<()> {
        drop(self.sink.take());
        std::fs::remove_file(&self.partial)
            .with_context(|| format!("removing {}", self.partial.display()))
    }
}

impl Drop for TraceWriter {
    fn drop(&mut self) {
        // Not finished: keep FILE.partial (readable with accept_partial for CSV) rather than
        // deleting data, but never rename it into place.
        if let Some(Sink::Csv(s)) = self.sink.as_mut() {
            let _ = s.flush();
        }
    }
}
